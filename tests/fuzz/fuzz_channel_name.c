/* libFuzzer target: channel-name validation, classification and server-to-user id extraction. */
#include <stdint.h>
#include <string.h>

#include "rt_channel_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_str name = {(const char *)data, size};
    bool valid = rt_channel_name_valid(name, RT_CHANNEL_NAME_MAX);
    struct rt_channel_kind kind = rt_channel_kind_of(name);
    struct rt_str id = rt_server_to_user_id(name);
    (void)rt_channel_needs_auth(kind.type);
    (void)rt_user_id_valid(name, 128);
    if (valid && size > RT_CHANNEL_NAME_MAX) __builtin_trap();
    if (valid && kind.type == RT_CHANNEL_SERVER_TO_USER && id.p == NULL) __builtin_trap();
    if (valid && memchr(data, '#', size) != NULL && kind.type != RT_CHANNEL_SERVER_TO_USER)
        __builtin_trap();
    return 0;
}
