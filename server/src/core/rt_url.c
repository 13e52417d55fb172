/* URLs shown to operators: webhook targets with their credentials taken out. */
#include "rt_url.h"

#include <stdbool.h>
#include <string.h>

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, three bytes */

struct piece {
    const char *p;
    size_t n;
};

/* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool valid_scheme(const char *p, size_t n)
{
    if (n == 0 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))) return false;
    return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") >= n;
}

/* Copies the pieces to out; when they do not fit, cuts and ends with the ellipsis. */
static size_t join(const struct piece *pieces, size_t count, char *out, size_t cap)
{
    const size_t ellipsis_len = sizeof ELLIPSIS - 1;
    if (cap == 0) return 0;
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += pieces[i].n;
    bool cut = total > cap - 1;
    if (cut && cap - 1 < ellipsis_len) {
        out[0] = '\0';
        return 0;
    }
    size_t room = cut ? cap - 1 - ellipsis_len : total, len = 0;
    for (size_t i = 0; i < count && len < room; i++) {
        size_t n = pieces[i].n < room - len ? pieces[i].n : room - len;
        memcpy(out + len, pieces[i].p, n);
        len += n;
    }
    if (cut) {
        memcpy(out + len, ELLIPSIS, ellipsis_len);
        len += ellipsis_len;
    }
    out[len] = '\0';
    return len;
}

size_t rt_url_redact(const char *url, char *out, size_t cap)
{
    const struct piece hidden = {ELLIPSIS, sizeof ELLIPSIS - 1};
    const char *sep = strstr(url, "://");
    if (!sep || !valid_scheme(url, (size_t)(sep - url))) return join(&hidden, 1, out, cap);
    const char *authority = sep + 3;
    /* Userinfo may not hold '/', so the last '@' before the first '/' ends it; an '@' after
     * a '?' or '#' there leaves it unclear where the host is. */
    size_t to_slash = strcspn(authority, "/");
    size_t authority_len = strcspn(authority, "/?#");
    const char *at = memrchr(authority, '@', to_slash);
    struct piece pieces[5];
    size_t n = 0;
    pieces[n++] = (struct piece){url, (size_t)(authority - url)};
    if (at && at >= authority + authority_len) {
        pieces[n++] = hidden;
        return join(pieces, n, out, cap);
    }
    const char *host = at ? at + 1 : authority;
    const char *path = authority + authority_len;
    size_t path_len = strcspn(path, "?#");
    pieces[n++] = (struct piece){host, (size_t)(path - host)};
    pieces[n++] = (struct piece){path, path_len};
    if (path[path_len] == '?') {
        pieces[n++] = (struct piece){"?", 1};
        pieces[n++] = hidden;
    }
    return join(pieces, n, out, cap);
}
