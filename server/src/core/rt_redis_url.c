/* RT_REDIS_URL parsing: bounded host, port and password, no I/O. */
#include "rt_redis_url.h"

#include <stdio.h>
#include <string.h>

#define SCHEME "redis://"

static bool host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

static bool ipv6_char_ok(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

/* Copies the host at p (a name, or "[v6]") into out->host; returns the first byte after it,
 * or NULL when the host is empty, too long or has a character no host name has. */
static const char *parse_host(const char *p, struct rt_redis_url *out)
{
    bool bracketed = *p == '[';
    const char *start = bracketed ? p + 1 : p;
    size_t n = bracketed ? strcspn(start, "]") : strcspn(start, ":/");
    if (n == 0 || n > RT_REDIS_HOST_MAX || (bracketed && start[n] != ']')) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(bracketed ? ipv6_char_ok(start[i]) : host_char_ok(start[i]))) return NULL;
    memcpy(out->host, start, n);
    out->host[n] = '\0';
    return start + n + (bracketed ? 1 : 0);
}

/* Digits only, 1..65535, up to the path or the end; returns the byte after them or NULL. */
static const char *parse_port(const char *p, int *port)
{
    long v = 0;
    const char *q = p;
    for (; *q >= '0' && *q <= '9' && q - p < 5; q++)
        v = v * 10 + (*q - '0');
    if (q == p || v < 1 || v > 65535 || (*q && *q != '/')) return NULL;
    *port = (int)v;
    return q;
}

/* The password of "[user]:password@" or "password@" in [p, at) into out->password. */
static int parse_password(const char *p, const char *at, struct rt_redis_url *out, char *err,
                          size_t err_cap)
{
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    size_t n = (size_t)(at - pw);
    if (n > RT_REDIS_PASSWORD_MAX) {
        snprintf(err, err_cap, "RT_REDIS_URL has a password longer than %d bytes",
                 RT_REDIS_PASSWORD_MAX);
        return -1;
    }
    memcpy(out->password, pw, n);
    out->password[n] = '\0';
    return 0;
}

int rt_redis_url_parse(const char *url, struct rt_redis_url *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    out->port = RT_REDIS_DEFAULT_PORT;
    if (!url || strncmp(url, SCHEME, strlen(SCHEME)) != 0) {
        snprintf(err, err_cap, "RT_REDIS_URL must look like redis://host:port");
        return -1;
    }
    const char *p = url + strlen(SCHEME);
    const char *at = strrchr(p, '@');
    if (at) {
        if (parse_password(p, at, out, err, err_cap) < 0) return -1;
        p = at + 1;
    }
    p = parse_host(p, out);
    if (!p) {
        snprintf(err, err_cap, "RT_REDIS_URL has no valid host (expected redis://host:port)");
        return -1;
    }
    if (*p == ':' && !(p = parse_port(p + 1, &out->port))) {
        snprintf(err, err_cap, "RT_REDIS_URL has an invalid port (expected redis://host:port)");
        return -1;
    }
    if (*p && *p != '/') {
        snprintf(err, err_cap, "RT_REDIS_URL has an invalid host (expected redis://host:port)");
        return -1;
    }
    return 0;
}

/* Longest seed worth parsing: "[" host "]:" port; anything longer has an invalid host. */
#define SEED_MAX (RT_REDIS_HOST_MAX + 2 + 1 + 5)

int rt_redis_seeds_parse(const char *url, struct rt_redis_url *out, size_t cap, size_t *n,
                         char *err, size_t err_cap)
{
    *n = 0;
    if (cap == 0) {
        snprintf(err, err_cap, "RT_REDIS_URL: no room for any seed node");
        return -1;
    }
    if (!url || strncmp(url, SCHEME, strlen(SCHEME)) != 0)
        return rt_redis_url_parse(url, &out[0], err, err_cap);
    const char *p = url + strlen(SCHEME);
    const char *at = strrchr(p, '@');
    const char *list = at ? at + 1 : p;
    size_t list_len = strcspn(list, "/");
    if (!memchr(list, ',', list_len)) {
        if (rt_redis_url_parse(url, &out[0], err, err_cap) < 0) return -1;
        *n = 1;
        return 0;
    }

    struct rt_redis_url auth;
    memset(&auth, 0, sizeof auth);
    if (at && parse_password(p, at, &auth, err, err_cap) < 0) return -1;
    size_t count = 0;
    for (const char *seed = list, *end = list + list_len; seed <= end; count++) {
        const char *comma = memchr(seed, ',', (size_t)(end - seed));
        size_t len = (size_t)((comma ? comma : end) - seed);
        if (count == cap) {
            snprintf(err, err_cap, "RT_REDIS_URL lists more than %zu seed nodes", cap);
            return -1;
        }
        /* Each seed is parsed as its own URL so that it accepts exactly what a single host
         * does; an empty or overlong seed fails there as an invalid host. */
        char one[sizeof SCHEME + SEED_MAX], seed_err[160];
        if (len > SEED_MAX) {
            snprintf(seed_err, sizeof seed_err, "RT_REDIS_URL has no valid host");
        } else {
            snprintf(one, sizeof one, "%s%.*s", SCHEME, (int)len, seed);
            if (rt_redis_url_parse(one, &out[count], seed_err, sizeof seed_err) == 0) {
                memcpy(out[count].password, auth.password, sizeof auth.password);
                seed = comma ? comma + 1 : end + 1;
                continue;
            }
        }
        snprintf(err, err_cap, "RT_REDIS_URL seed %zu %s", count + 1,
                 seed_err + strlen("RT_REDIS_URL "));
        return -1;
    }
    *n = count;
    return 0;
}
