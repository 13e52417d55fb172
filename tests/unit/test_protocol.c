/* Unit tests for rt_protocol: client frame parsing and server frame encoding (§2). */
#include "rt_protocol.h"

#include <stdlib.h>

#include "rt_err.h"
#include "rt_test.h"

static int parse(const char *text, struct rt_msg *msg, char *err, size_t err_cap)
{
    return rt_msg_parse(text, strlen(text), msg, err, err_cap);
}

static void subscribe_with_object_data_exposes_data_obj(void)
{
    struct rt_msg m;
    ASSERT_EQ(parse("{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"private-x\","
                    "\"auth\":\"k:s\"}}",
                    &m, NULL, 0),
              RT_OK);
    ASSERT_STR_EQ(m.event, "pusher:subscribe");
    ASSERT_NULL(m.channel);
    ASSERT_EQ(m.data_owned, 0);
    ASSERT_STR_EQ(rt_json_str(m.data_obj, "channel", NULL), "private-x");
    rt_msg_free(&m);
}

static void subscribe_with_string_data_is_parsed_to_object(void)
{
    struct rt_msg m;
    size_t len = 0;
    ASSERT_EQ(
        parse("{\"event\":\"pusher:subscribe\",\"data\":\"{\\\"channel\\\":\\\"presence-r\\\","
              "\\\"channel_data\\\":\\\"{}\\\"}\"}",
              &m, NULL, 0),
        RT_OK);
    ASSERT_EQ(m.data_owned, 1);
    ASSERT_TRUE(json_is_string(m.data));
    ASSERT_STR_EQ(rt_json_str(m.data_obj, "channel", NULL), "presence-r");
    ASSERT_STR_EQ(rt_json_str(m.data_obj, "channel_data", &len), "{}");
    ASSERT_EQ(len, 2u);
    rt_msg_free(&m);
}

static void pusher_event_with_non_object_string_data_has_no_data_obj(void)
{
    struct rt_msg m;
    ASSERT_EQ(parse("{\"event\":\"pusher:subscribe\",\"data\":\"[1,2]\"}", &m, NULL, 0), RT_OK);
    ASSERT_NULL(m.data_obj);
    ASSERT_EQ(m.data_owned, 0);
    rt_msg_free(&m);
    ASSERT_EQ(parse("{\"event\":\"pusher:subscribe\",\"data\":\"not json\"}", &m, NULL, 0), RT_OK);
    ASSERT_NULL(m.data_obj);
    rt_msg_free(&m);
}

static void client_event_keeps_data_verbatim_without_data_obj(void)
{
    struct rt_msg m;
    ASSERT_EQ(
        parse("{\"event\":\"client-typing\",\"channel\":\"private-x\",\"data\":\"{\\\"a\\\":1}\"}",
              &m, NULL, 0),
        RT_OK);
    ASSERT_STR_EQ(m.channel, "private-x");
    ASSERT_STR_EQ(json_string_value(m.data), "{\"a\":1}");
    ASSERT_NULL(m.data_obj);
    rt_msg_free(&m);
}

static void ping_without_data_parses(void)
{
    struct rt_msg m;
    ASSERT_EQ(parse("{\"event\":\"pusher:ping\"}", &m, NULL, 0), RT_OK);
    ASSERT_NULL(m.data);
    ASSERT_NULL(m.data_obj);
    rt_msg_free(&m);
}

static void array_frame_is_invalid(void)
{
    struct rt_msg m;
    char err[64] = "";
    ASSERT_EQ(parse("[{\"event\":\"pusher:ping\"}]", &m, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Frame must be a JSON object");
    ASSERT_NULL(m.root);
}

static void string_frame_is_invalid(void)
{
    struct rt_msg m;
    char err[64] = "";
    ASSERT_EQ(parse("\"pusher:ping\"", &m, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Frame must be a JSON object");
}

static void missing_or_non_string_or_empty_event_is_invalid(void)
{
    struct rt_msg m;
    char err[64] = "";
    ASSERT_EQ(parse("{\"data\":{}}", &m, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Missing or non-string event");
    ASSERT_EQ(parse("{\"event\":42}", &m, NULL, 0), RT_ERR_INVALID);
    ASSERT_EQ(parse("{\"event\":\"\"}", &m, NULL, 0), RT_ERR_INVALID);
}

static void non_string_channel_is_invalid_but_null_is_absent(void)
{
    struct rt_msg m;
    char err[64] = "";
    ASSERT_EQ(parse("{\"event\":\"client-x\",\"channel\":7}", &m, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "channel must be a string");
    ASSERT_EQ(parse("{\"event\":\"pusher:ping\",\"channel\":null}", &m, NULL, 0), RT_OK);
    ASSERT_NULL(m.channel);
    rt_msg_free(&m);
}

static void malformed_json_is_invalid(void)
{
    struct rt_msg m;
    char err[64] = "";
    ASSERT_EQ(parse("{\"event\":", &m, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Invalid JSON");
    ASSERT_EQ(parse("", &m, NULL, 0), RT_ERR_INVALID);
    ASSERT_EQ(parse("{\"event\":\"a\"} trailing", &m, NULL, 0), RT_ERR_INVALID);
}

static void duplicate_keys_are_invalid(void)
{
    struct rt_msg m;
    ASSERT_EQ(parse("{\"event\":\"pusher:ping\",\"event\":\"client-x\"}", &m, NULL, 0),
              RT_ERR_INVALID);
}

static void embedded_nul_in_event_is_invalid(void)
{
    struct rt_msg m;
    ASSERT_EQ(parse("{\"event\":\"pusher:ping\\u0000x\"}", &m, NULL, 0), RT_ERR_INVALID);
}

static void frame_over_256k_is_too_large(void)
{
    struct rt_msg m;
    char err[64] = "";
    char *big = malloc(RT_FRAME_MAX + 1);
    ASSERT_NOT_NULL(big);
    memset(big, ' ', RT_FRAME_MAX + 1);
    memcpy(big, "{\"event\":\"pusher:ping\"}", 23);
    int at_max = rt_msg_parse(big, RT_FRAME_MAX, &m, NULL, 0);
    if (at_max == RT_OK) rt_msg_free(&m);
    int over = rt_msg_parse(big, RT_FRAME_MAX + 1, &m, err, sizeof err);
    free(big);
    ASSERT_EQ(at_max, RT_OK);
    ASSERT_EQ(over, RT_ERR_TOO_LARGE);
    ASSERT_STR_EQ(err, "Frame too large");
    ASSERT_NULL(m.root);
}

static void json_str_returns_null_for_missing_or_non_string(void)
{
    json_t *obj = json_pack("{s:s, s:i}", "a", "x", "n", 1);
    size_t len = 99;
    ASSERT_STR_EQ(rt_json_str(obj, "a", &len), "x");
    ASSERT_EQ(len, 1u);
    ASSERT_NULL(rt_json_str(obj, "n", NULL));
    ASSERT_NULL(rt_json_str(obj, "missing", NULL));
    ASSERT_NULL(rt_json_str(NULL, "a", NULL));
    json_decref(obj);
}

static void encode_event_double_encodes_data_string(void)
{
    size_t len = 0;
    char *out = rt_encode_event("order.shipped", "private-b", rt_str_c("{\"id\":1}"), NULL, &len);
    ASSERT_STR_EQ(out, "{\"event\":\"order.shipped\",\"channel\":\"private-b\","
                       "\"data\":\"{\\\"id\\\":1}\"}");
    ASSERT_EQ(len, strlen(out));
    free(out);
}

static void encode_event_adds_user_id_and_omits_null_channel(void)
{
    char *out = rt_encode_event("client-x", NULL, rt_str_c("hi"), "42", NULL);
    ASSERT_STR_EQ(out, "{\"event\":\"client-x\",\"data\":\"hi\",\"user_id\":\"42\"}");
    free(out);
}

static void encode_event_rejects_invalid_utf8_data(void)
{
    ASSERT_NULL(rt_encode_event("e", NULL, rt_str_c("\xff\xfe"), NULL, NULL));
}

static void encode_event_json_embeds_object_as_is(void)
{
    json_t *data = json_pack("{s:s}", "text", "hi");
    char *out = rt_encode_event_json("client-msg", "presence-r", data, "7", NULL);
    json_decref(data);
    ASSERT_STR_EQ(out, "{\"event\":\"client-msg\",\"channel\":\"presence-r\","
                       "\"data\":{\"text\":\"hi\"},\"user_id\":\"7\"}");
    free(out);
}

static void encode_error_with_code(void)
{
    char *out = rt_encode_error(4001, "Application does not exist", NULL, NULL);
    ASSERT_STR_EQ(out, "{\"event\":\"pusher:error\",\"data\":{\"code\":4001,"
                       "\"message\":\"Application does not exist\"}}");
    free(out);
}

static void encode_error_with_zero_code_is_null_and_carries_channel(void)
{
    char *out = rt_encode_error(0, "Existing subscription to channel x", "x", NULL);
    ASSERT_STR_EQ(out, "{\"event\":\"pusher:error\",\"channel\":\"x\",\"data\":{\"code\":null,"
                       "\"message\":\"Existing subscription to channel x\"}}");
    free(out);
}

static void encode_subscription_error_shape(void)
{
    char *out =
        rt_encode_subscription_error("private-x", "AuthError", "Invalid signature", 401, NULL);
    ASSERT_STR_EQ(out, "{\"event\":\"pusher:subscription_error\",\"channel\":\"private-x\","
                       "\"data\":{\"type\":\"AuthError\",\"error\":\"Invalid signature\","
                       "\"status\":401}}");
    free(out);
}

static void encode_connection_established_data_is_a_string(void)
{
    char *out = rt_encode_connection_established("123456.7890123", 120, NULL);
    ASSERT_STR_EQ(out,
                  "{\"event\":\"pusher:connection_established\",\"data\":"
                  "\"{\\\"socket_id\\\":\\\"123456.7890123\\\",\\\"activity_timeout\\\":120}\"}");
    free(out);
}

/* How handle_signin.c builds pusher:signin_success: data is an object (§2.1, §17.6). */
static void encode_event_json_gives_signin_success_an_object_data(void)
{
    json_t *data = json_pack("{s:s}", "user_data", "{\"id\":\"42\"}");
    char *out = rt_encode_event_json("pusher:signin_success", NULL, data, NULL, NULL);
    json_decref(data);
    ASSERT_STR_EQ(out, "{\"event\":\"pusher:signin_success\",\"data\":"
                       "{\"user_data\":\"{\\\"id\\\":\\\"42\\\"}\"}}");
    free(out);
}

static const struct rt_test tests[] = {
    RT_TEST(subscribe_with_object_data_exposes_data_obj),
    RT_TEST(subscribe_with_string_data_is_parsed_to_object),
    RT_TEST(pusher_event_with_non_object_string_data_has_no_data_obj),
    RT_TEST(client_event_keeps_data_verbatim_without_data_obj),
    RT_TEST(ping_without_data_parses),
    RT_TEST(array_frame_is_invalid),
    RT_TEST(string_frame_is_invalid),
    RT_TEST(missing_or_non_string_or_empty_event_is_invalid),
    RT_TEST(non_string_channel_is_invalid_but_null_is_absent),
    RT_TEST(malformed_json_is_invalid),
    RT_TEST(duplicate_keys_are_invalid),
    RT_TEST(embedded_nul_in_event_is_invalid),
    RT_TEST(frame_over_256k_is_too_large),
    RT_TEST(json_str_returns_null_for_missing_or_non_string),
    RT_TEST(encode_event_double_encodes_data_string),
    RT_TEST(encode_event_adds_user_id_and_omits_null_channel),
    RT_TEST(encode_event_rejects_invalid_utf8_data),
    RT_TEST(encode_event_json_embeds_object_as_is),
    RT_TEST(encode_error_with_code),
    RT_TEST(encode_error_with_zero_code_is_null_and_carries_channel),
    RT_TEST(encode_subscription_error_shape),
    RT_TEST(encode_connection_established_data_is_a_string),
    RT_TEST(encode_event_json_gives_signin_success_an_object_data),
};

RT_TEST_MAIN("protocol", tests)
