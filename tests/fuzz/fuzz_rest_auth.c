/* libFuzzer target: rt_query_parse + rt_rest_verify with a fixed secret. The input is split at
 * the first '\n' into query string and body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_rest_auth.h"

static const char *secret_for(void *ctx, const char *key)
{
    (void)ctx;
    return strcmp(key, "278d425bdf160c739803") == 0 ? "7ad3773142a6692b25b8" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t query_len = nl ? (size_t)(nl - text) : size;
    const char *body = nl ? nl + 1 : NULL;
    size_t body_len = nl ? size - query_len - 1 : 0;

    struct rt_query q;
    if (rt_query_parse(text, query_len, &q) != 0) return 0;
    char key[64], err[128];
    (void)rt_rest_verify("POST", "/apps/3/events", &q, body, body_len, 1353088179, secret_for, NULL,
                         key, sizeof key, err, sizeof err);
    (void)rt_rest_verify("GET", "/apps/3/channels/a%40b", &q, NULL, 0, 1353088179, secret_for, NULL,
                         NULL, 0, NULL, 0);
    free(rt_rest_string_to_sign("GET", "/p", &q));
    rt_query_free(&q);
    return 0;
}
