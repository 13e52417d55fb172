/* RT_REDIS_URL: redis://[[user]:password@]host[:port][/db] (or a list of cluster seeds,
 * host1:port1,host2:port2,...), parsed without any I/O. */
#ifndef RT_REDIS_URL_H
#define RT_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define RT_REDIS_HOST_MAX 255
#define RT_REDIS_PASSWORD_MAX 255
#define RT_REDIS_DEFAULT_PORT 6379
#define RT_REDIS_SEEDS_MAX 16 /* seed nodes of a Redis Cluster in one RT_REDIS_URL */

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

/* Seed list of a Redis Cluster: redis://[[user]:password@]h1:p1,h2:p2,...[/db]. The password
 * is written once and copied into every seed; each host is what rt_redis_url_parse accepts
 * ([v6]:port included, port 6379 when left out). Fills out[0..*n) with at most cap seeds; a
 * single host gives *n = 1 and the same seed as rt_redis_url_parse. Returns 0, or -1 with
 * *n = 0 and a sentence naming RT_REDIS_URL in err (an empty seed, as in "h1,,h2" or a
 * trailing comma, is an invalid host). */
int rt_redis_seeds_parse(const char *url, struct rt_redis_url *out, size_t cap, size_t *n,
                         char *err, size_t err_cap);

#endif
