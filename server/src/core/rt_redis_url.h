/* RT_REDIS_URL: redis://[[user]:password@]host[:port][/db], parsed without any I/O. */
#ifndef RT_REDIS_URL_H
#define RT_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define RT_REDIS_HOST_MAX 255
#define RT_REDIS_PASSWORD_MAX 255
#define RT_REDIS_DEFAULT_PORT 6379

struct rt_redis_url {
    char host[RT_REDIS_HOST_MAX + 1]; /* without the brackets of an IPv6 literal */
    int port;
    char password[RT_REDIS_PASSWORD_MAX + 1]; /* "" = no AUTH */
};

/* Parses url into out. The user name is ignored (AUTH takes the password only) and so is
 * the path: the db number is irrelevant to pub/sub. The password is taken as written (no
 * %-decoding) and runs to the last '@'. host is a name of [A-Za-z0-9.-_] or an IPv6 literal
 * in brackets. Returns 0, or -1 with a sentence naming RT_REDIS_URL in err. */
int rt_redis_url_parse(const char *url, struct rt_redis_url *out, char *err, size_t err_cap);

#endif
