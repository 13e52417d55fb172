/* libFuzzer target: claims of a connection token (rt_jwt_claims) and channel glob matching. */
#include <stdint.h>
#include <string.h>

#include "rt_jwt_claims.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_str text = {(const char *)data, size};
    const struct rt_jwt_expect want = {.app_id = "1234567",
                                       .app_key = "0a1b2c3d4e5f60718293",
                                       .now = 1700000000,
                                       .max_info_bytes = 1024};
    struct rt_jwt_claims c;
    char err[200];
    if (rt_jwt_claims_parse(text, &want, &c, err, sizeof err) == RT_JWT_OK) {
        if (c.n_channels > RT_JWT_CHANNELS_MAX || c.watchlist_len > RT_WATCHLIST_MAX ||
            c.sub[0] == '\0')
            __builtin_trap();
        for (size_t i = 0; i < c.n_channels; i++)
            rt_jwt_channel_granted(c.channels, c.n_channels, rt_str_c(c.channels[i]));
        rt_jwt_claims_clear(&c);
    }
    /* The input split at its first newline as pattern and name. */
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl) {
        size_t plen = (size_t)(nl - data);
        rt_jwt_glob_match((struct rt_str){(const char *)data, plen},
                          (struct rt_str){(const char *)nl + 1, size - plen - 1});
    }
    return 0;
}
