/* URL query strings: percent-decoding into a bounded list of key/value pairs. */
#ifndef RT_QUERY_H
#define RT_QUERY_H

#include <stddef.h>

#define RT_QUERY_MAX_PARAMS 64
#define RT_QUERY_MAX_LEN 8192

struct rt_query_param {
    char *key;   /* percent-decoded ('+' decodes to space), NUL-terminated */
    char *value; /* percent-decoded, NUL-terminated; "" when the pair has no '=' */
};

struct rt_query {
    struct rt_query_param params[RT_QUERY_MAX_PARAMS];
    size_t count;
};

/* Parses raw (without the leading '?'; may be NULL or empty) into q, which the caller then
 * releases with rt_query_free. Empty segments ("a=1&&b=2") are skipped. Returns 0,
 * RT_ERR_TOO_LARGE when raw is longer than RT_QUERY_MAX_LEN or has more than
 * RT_QUERY_MAX_PARAMS pairs, or RT_ERR_INVALID on a bad %-escape or a decoded NUL byte. On
 * error q is left empty (nothing to free). */
int rt_query_parse(const char *raw, size_t len, struct rt_query *q);

void rt_query_free(struct rt_query *q);

/* Value of the first parameter named key (exact match), or NULL. */
const char *rt_query_get(const struct rt_query *q, const char *key);

/* Decodes %XX and '+' in place-safe fashion from in[0..len) into out (capacity len+1).
 * Returns the decoded length, or -1 on a malformed escape or decoded NUL. */
long rt_url_decode(const char *in, size_t len, char *out);

/* Same for a URL path: only %XX is decoded, '+' stays a literal '+'. */
long rt_path_decode(const char *in, size_t len, char *out);

#endif
