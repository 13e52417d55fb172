/* URLs shown to operators: webhook targets with their credentials taken out. */
#ifndef RT_URL_H
#define RT_URL_H

#include <stddef.h>

/* Writes url to out (capacity cap, NUL-terminated) without what may carry a secret: the
 * userinfo ("user:pass@") is removed, a query string becomes "?…" and a fragment is dropped.
 * When the authority cannot be told apart from a query or fragment ("http://u:p?x@host/")
 * everything after "scheme://" becomes "…"; text without a scheme becomes "…". A result
 * longer than cap - 1 is cut and ends in "…"; a cap below 4 gives "". Returns strlen(out). */
size_t rt_url_redact(const char *url, char *out, size_t cap);

#endif
