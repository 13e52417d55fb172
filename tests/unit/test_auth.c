/* Unit tests for rt_auth: channel and user-signin signatures (PROTOCOL.md §6). */
#include "rt_auth.h"

#include "rt_err.h"
#include "rt_test.h"

static const struct rt_str SECRET = RT_STR_LIT("7ad3773142a6692b25b8");
static const struct rt_str SOCKET = RT_STR_LIT("1234.1234");
static const struct rt_str NO_DATA = {NULL, 0};
static const char FOOBAR_SIG[] = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4";

static void private_channel_signature_matches_protocol_md_example(void)
{
    char out[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_channel(SECRET, SOCKET, rt_str_c("private-foobar"), NO_DATA, out);
    ASSERT_STR_EQ(out, FOOBAR_SIG);
}

static void private_channel_signature_verifies(void)
{
    ASSERT_TRUE(rt_auth_verify_channel(SECRET, SOCKET, rt_str_c("private-foobar"), NO_DATA,
                                       rt_str_c(FOOBAR_SIG)));
}

static void signature_for_other_channel_or_socket_is_rejected(void)
{
    ASSERT_FALSE(rt_auth_verify_channel(SECRET, SOCKET, rt_str_c("private-foobaz"), NO_DATA,
                                        rt_str_c(FOOBAR_SIG)));
    ASSERT_FALSE(rt_auth_verify_channel(SECRET, rt_str_c("1234.1235"), rt_str_c("private-foobar"),
                                        NO_DATA, rt_str_c(FOOBAR_SIG)));
    ASSERT_FALSE(rt_auth_verify_channel(rt_str_c("wrong"), SOCKET, rt_str_c("private-foobar"),
                                        NO_DATA, rt_str_c(FOOBAR_SIG)));
}

static void truncated_or_uppercase_signature_is_rejected(void)
{
    char upper[65];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)(FOOBAR_SIG[i] >= 'a' && FOOBAR_SIG[i] <= 'f' ? FOOBAR_SIG[i] - 32
                                                                       : FOOBAR_SIG[i]);
    ASSERT_FALSE(rt_auth_verify_channel(SECRET, SOCKET, rt_str_c("private-foobar"), NO_DATA,
                                        (struct rt_str){FOOBAR_SIG, 63}));
    ASSERT_FALSE(rt_auth_verify_channel(SECRET, SOCKET, rt_str_c("private-foobar"), NO_DATA,
                                        rt_str_c(upper)));
    ASSERT_FALSE(
        rt_auth_verify_channel(SECRET, SOCKET, rt_str_c("private-foobar"), NO_DATA, rt_str_c("")));
}

static void presence_signature_covers_channel_data_bytes(void)
{
    /* Independently: printf '%s' '1234.1234:presence-foobar:{"user_id":10,"user_info":
     * {"name":"Mr. Channels"}}' | openssl dgst -sha256 -hmac 7ad3773142a6692b25b8 */
    const char data[] = "{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Channels\"}}";
    char out[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_channel(SECRET, SOCKET, rt_str_c("presence-foobar"), rt_str_c(data), out);
    ASSERT_STR_EQ(out, "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80");
}

static void presence_signature_fails_when_channel_data_is_reserialised(void)
{
    const char spaced[] = "{\"user_id\": 10, \"user_info\": {\"name\": \"Mr. Channels\"}}";
    ASSERT_FALSE(rt_auth_verify_channel(
        SECRET, SOCKET, rt_str_c("presence-foobar"), rt_str_c(spaced),
        rt_str_c("31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80")));
}

static void private_channel_with_channel_data_signs_three_parts(void)
{
    char out[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_channel(SECRET, SOCKET, rt_str_c("private-foobar"),
                         rt_str_c("{\"user_id\":\"42\"}"), out);
    ASSERT_STR_EQ(out, "241fe1799a55e972b343c63050ae910dc0a56cfb8df23e3d3ac6b72dfc43834b");
}

static void empty_channel_data_still_adds_separator(void)
{
    char with_empty[RT_SHA256_HEX_LEN + 1], expected[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_channel(SECRET, SOCKET, rt_str_c("presence-x"), rt_str_c(""), with_empty);
    rt_hmac_sha256_hex(SECRET.p, SECRET.n, "1234.1234:presence-x:", 21, expected);
    ASSERT_STR_EQ(with_empty, expected);
}

static void user_signin_signature_matches_openssl(void)
{
    const char data[] =
        "{\"id\":\"42\",\"user_info\":{\"name\":\"Ada\"},\"watchlist\":[\"7\",\"9\"]}";
    char out[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_user(SECRET, SOCKET, rt_str_c(data), out);
    ASSERT_STR_EQ(out, "f642a84e33d7f5d9d1a1701db1b72827d7cf2c013b2c9641486693b0c56cf1a6");
    ASSERT_TRUE(rt_auth_verify_user(SECRET, SOCKET, rt_str_c(data), rt_str_c(out)));
    ASSERT_FALSE(rt_auth_verify_user(SECRET, rt_str_c("1.1"), rt_str_c(data), rt_str_c(out)));
}

static void split_separates_key_and_signature_at_first_colon(void)
{
    struct rt_str key, sig;
    ASSERT_EQ(rt_auth_split(rt_str_c("278d425bdf160c739803:abc"), &key, &sig), RT_OK);
    ASSERT_MEM_EQ(key.p, key.n, "278d425bdf160c739803");
    ASSERT_MEM_EQ(sig.p, sig.n, "abc");
}

static void split_of_docs_signin_format_leaves_colons_in_signature(void)
{
    struct rt_str key, sig;
    ASSERT_EQ(rt_auth_split(rt_str_c("key::user::abc"), &key, &sig), RT_OK);
    ASSERT_MEM_EQ(key.p, key.n, "key");
    ASSERT_MEM_EQ(sig.p, sig.n, ":user::abc");
}

static void split_rejects_missing_colon_empty_key_or_empty_signature(void)
{
    struct rt_str key, sig;
    ASSERT_EQ(rt_auth_split(rt_str_c("nocolon"), &key, &sig), RT_ERR_INVALID);
    ASSERT_EQ(rt_auth_split(rt_str_c(":abc"), &key, &sig), RT_ERR_INVALID);
    ASSERT_EQ(rt_auth_split(rt_str_c("key:"), &key, &sig), RT_ERR_INVALID);
    ASSERT_EQ(rt_auth_split(rt_str_c(""), &key, &sig), RT_ERR_INVALID);
    ASSERT_EQ(rt_auth_split((struct rt_str){NULL, 0}, &key, &sig), RT_ERR_INVALID);
}

static const struct rt_test tests[] = {
    RT_TEST(private_channel_signature_matches_protocol_md_example),
    RT_TEST(private_channel_signature_verifies),
    RT_TEST(signature_for_other_channel_or_socket_is_rejected),
    RT_TEST(truncated_or_uppercase_signature_is_rejected),
    RT_TEST(presence_signature_covers_channel_data_bytes),
    RT_TEST(presence_signature_fails_when_channel_data_is_reserialised),
    RT_TEST(private_channel_with_channel_data_signs_three_parts),
    RT_TEST(empty_channel_data_still_adds_separator),
    RT_TEST(user_signin_signature_matches_openssl),
    RT_TEST(split_separates_key_and_signature_at_first_colon),
    RT_TEST(split_of_docs_signin_format_leaves_colons_in_signature),
    RT_TEST(split_rejects_missing_colon_empty_key_or_empty_signature),
};

RT_TEST_MAIN("auth", tests)
