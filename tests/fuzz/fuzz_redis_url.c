/* libFuzzer target: rt_redis_url_parse on arbitrary strings; what parses is in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url) return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    struct rt_redis_url u;
    char err[160];
    if (rt_redis_url_parse(url, &u, err, sizeof err) == 0) {
        if (u.host[0] == '\0' || strlen(u.host) > RT_REDIS_HOST_MAX || u.port < 1 ||
            u.port > 65535 || strlen(u.password) > RT_REDIS_PASSWORD_MAX)
            abort();
    } else if (strncmp(err, "RT_REDIS_URL ", 13) != 0) {
        abort();
    }
    free(url);
    return 0;
}
