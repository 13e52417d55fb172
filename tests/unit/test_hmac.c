/* Unit tests for rt_hmac: HMAC-SHA256 / MD5 hex and constant-time digest comparison. */
#include "rt_hmac.h"

#include "rt_test.h"

static void hmac_sha256_matches_rfc4231_case_2(void)
{
    char out[RT_SHA256_HEX_LEN + 1];
    const char msg[] = "what do ya want for nothing?";
    rt_hmac_sha256_hex("Jefe", 4, msg, sizeof msg - 1, out);
    ASSERT_STR_EQ(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void hmac_sha256_of_protocol_md_private_channel_example(void)
{
    char out[RT_SHA256_HEX_LEN + 1];
    const char msg[] = "1234.1234:private-foobar";
    rt_hmac_sha256_hex("7ad3773142a6692b25b8", 20, msg, sizeof msg - 1, out);
    ASSERT_STR_EQ(out, "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4");
}

static void hmac_sha256_parts_equals_whole_message(void)
{
    char whole[RT_SHA256_HEX_LEN + 1], split[RT_SHA256_HEX_LEN + 1];
    const char *parts[] = {"1234.1234", ":", "", "private-foobar"};
    const size_t lens[] = {9, 1, 0, 14};
    rt_hmac_sha256_hex("7ad3773142a6692b25b8", 20, "1234.1234:private-foobar", 24, whole);
    rt_hmac_sha256_hex_parts("7ad3773142a6692b25b8", 20, parts, lens, 4, split);
    ASSERT_STR_EQ(whole, split);
}

static void hmac_sha256_accepts_key_longer_than_block(void)
{
    /* RFC 4231 case 6: 131-byte key of 0xaa. */
    char key[131], out[RT_SHA256_HEX_LEN + 1];
    const char msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    memset(key, 0xaa, sizeof key);
    rt_hmac_sha256_hex(key, sizeof key, msg, sizeof msg - 1, out);
    ASSERT_STR_EQ(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void md5_of_protocol_md_event_body(void)
{
    char out[RT_MD5_HEX_LEN + 1];
    const char body[] = "{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":"
                        "\\\"data\\\"}\"}";
    rt_md5_hex(body, sizeof body - 1, out);
    ASSERT_STR_EQ(out, "ec365a775a4cd0599faeb73354201b6f");
}

static void md5_of_empty_input(void)
{
    char out[RT_MD5_HEX_LEN + 1];
    rt_md5_hex("", 0, out);
    ASSERT_STR_EQ(out, "d41d8cd98f00b204e9800998ecf8427e");
    rt_md5_hex(NULL, 0, out);
    ASSERT_STR_EQ(out, "d41d8cd98f00b204e9800998ecf8427e");
}

static const char DIGEST[] = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4";

static void digest_equal_accepts_identical_digest(void)
{
    ASSERT_TRUE(rt_digest_equal(DIGEST, DIGEST, 64));
}

static void digest_equal_rejects_one_changed_char(void)
{
    char given[65];
    memcpy(given, DIGEST, sizeof given);
    given[63] = '5';
    ASSERT_FALSE(rt_digest_equal(DIGEST, given, 64));
}

static void digest_equal_rejects_wrong_length_and_null(void)
{
    ASSERT_FALSE(rt_digest_equal(DIGEST, DIGEST, 63));
    ASSERT_FALSE(rt_digest_equal(DIGEST, "", 0));
    ASSERT_FALSE(rt_digest_equal(DIGEST, NULL, 64));
}

static void digest_equal_is_case_sensitive(void)
{
    char upper[65];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)(DIGEST[i] >= 'a' && DIGEST[i] <= 'f' ? DIGEST[i] - 32 : DIGEST[i]);
    ASSERT_FALSE(rt_digest_equal(DIGEST, upper, 64));
}

static void hex_equal_never_matches_empty_expected(void)
{
    ASSERT_FALSE(rt_hex_equal("", 0, "", 0));
    ASSERT_TRUE(rt_hex_equal("abc", 3, "abc", 3));
    ASSERT_FALSE(rt_hex_equal("abc", 3, "abcd", 4));
}

static const struct rt_test tests[] = {
    RT_TEST(hmac_sha256_matches_rfc4231_case_2),
    RT_TEST(hmac_sha256_of_protocol_md_private_channel_example),
    RT_TEST(hmac_sha256_parts_equals_whole_message),
    RT_TEST(hmac_sha256_accepts_key_longer_than_block),
    RT_TEST(md5_of_protocol_md_event_body),
    RT_TEST(md5_of_empty_input),
    RT_TEST(digest_equal_accepts_identical_digest),
    RT_TEST(digest_equal_rejects_one_changed_char),
    RT_TEST(digest_equal_rejects_wrong_length_and_null),
    RT_TEST(digest_equal_is_case_sensitive),
    RT_TEST(hex_equal_never_matches_empty_expected),
};

RT_TEST_MAIN("hmac", tests)
