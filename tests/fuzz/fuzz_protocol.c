/* libFuzzer target: rt_msg_parse on arbitrary frames, then the encoders on the parsed values. */
#include <stdint.h>
#include <stdlib.h>

#include "rt_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_msg msg;
    char err[128];
    if (rt_msg_parse((const char *)data, size, &msg, err, sizeof err) != 0) return 0;

    size_t len = 0;
    const char *data_str = json_is_string(msg.data) ? json_string_value(msg.data) : NULL;
    size_t data_len = data_str ? json_string_length(msg.data) : 0;
    const char *channel = rt_json_str(msg.data_obj, "channel", NULL);
    free(rt_encode_event(msg.event, msg.channel, (struct rt_str){data_str, data_len},
                         rt_json_str(msg.data_obj, "user_id", NULL), &len));
    free(rt_encode_event_json(msg.event, msg.channel, msg.data, NULL, &len));
    free(rt_encode_error(4301, msg.event, msg.channel, &len));
    free(rt_encode_subscription_error(channel ? channel : msg.event, "AuthError", msg.event, 401,
                                      &len));
    free(rt_encode_connection_established(msg.event, 120, &len));
    rt_msg_free(&msg);
    return 0;
}
