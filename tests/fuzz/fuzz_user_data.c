/* libFuzzer target: presence channel_data and sign-in user_data parsing. */
#include <stdint.h>

#include "rt_user_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_str text = {(const char *)data, size};
    struct rt_member m;
    struct rt_signin s;
    char err[160];
    if (rt_member_parse(text, 1024, &m, err, sizeof err) == 0) rt_member_clear(&m);
    if (rt_signin_parse(text, 1024, &s, err, sizeof err) == 0) {
        if (s.watchlist_len > RT_WATCHLIST_MAX) __builtin_trap();
        rt_signin_clear(&s);
    }
    return 0;
}
