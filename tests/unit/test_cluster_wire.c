/* Unit tests for rt_cluster_wire: the node-to-node message over Redis, both directions. */
#include "rt_cluster_wire.h"

#include <stdio.h>
#include <stdlib.h>

#include "rt_err.h"
#include "rt_test.h"

static int decode(const char *s, struct rt_cluster_msg *m)
{
    return rt_cluster_msg_decode(s, strlen(s), m);
}

/* "x" repeated n times, in a static buffer (n < 256). */
static const char *repeat(char c, size_t n)
{
    static char buf[256];
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void event_decodes_into_its_fields(void)
{
    struct rt_cluster_msg m;
    const char *s = "E\n100001\n42\nnews\n1000011.77\n{\"event\":\"e\"}";
    ASSERT_EQ(decode(s, &m), RT_OK);
    ASSERT_EQ(m.kind, RT_CLUSTER_EVENT);
    ASSERT_STR_EQ(m.node, "100001");
    ASSERT_STR_EQ(m.app_id, "42");
    ASSERT_STR_EQ(m.channel, "news");
    ASSERT_STR_EQ(m.except, "1000011.77");
    ASSERT_MEM_EQ(m.payload, m.payload_len, "{\"event\":\"e\"}");
    ASSERT_TRUE(m.payload == s + strlen(s) - m.payload_len);
}

static void payload_may_contain_newlines(void)
{
    struct rt_cluster_msg m;
    ASSERT_EQ(decode("C\n1\n7\ncache-x\n\nline1\nline2\n", &m), RT_OK);
    ASSERT_EQ(m.kind, RT_CLUSTER_CACHE_EVENT);
    ASSERT_STR_EQ(m.except, "");
    ASSERT_MEM_EQ(m.payload, m.payload_len, "line1\nline2\n");
}

/* A kind that carries only its target (kind 'T': a user id, 'N': a channel): decodes with an
 * empty payload, and is refused with an except socket or a payload. */
static void assert_bare(char kind, const char *target)
{
    char ok[160], with_except[160], with_payload[160];
    snprintf(ok, sizeof ok, "%c\n100002\n42\n%s\n\n", kind, target);
    snprintf(with_except, sizeof with_except, "%c\n100002\n42\n%s\n1.2\n", kind, target);
    snprintf(with_payload, sizeof with_payload, "%c\n100002\n42\n%s\n\n{}", kind, target);
    struct rt_cluster_msg m;
    ASSERT_EQ(decode(ok, &m), RT_OK);
    ASSERT_EQ(m.kind, (enum rt_cluster_kind)kind);
    ASSERT_STR_EQ(m.channel, target);
    ASSERT_EQ(m.payload_len, 0u);
    ASSERT_EQ(decode(with_except, &m), RT_ERR_INVALID);
    ASSERT_EQ(decode(with_payload, &m), RT_ERR_INVALID);
}

static void terminate_carries_a_user_id_and_nothing_else(void)
{
    assert_bare(RT_CLUSTER_TERMINATE_USER, "user@example.com");
}

static void count_changed_names_a_channel_and_nothing_else(void)
{
    assert_bare(RT_CLUSTER_COUNT_CHANGED, "presence-x");
    struct rt_cluster_msg m;
    ASSERT_EQ(decode("N\n100002\n42\nbad channel\n\n", &m), RT_ERR_INVALID);
    size_t n;
    char *buf = rt_cluster_msg_encode(RT_CLUSTER_COUNT_CHANGED, "1", "42", "news", NULL, "", 0, &n);
    ASSERT_NOT_NULL(buf);
    bool ok = n == strlen("N\n1\n42\nnews\n\n") && memcmp(buf, "N\n1\n42\nnews\n\n", n) == 0;
    free(buf);
    ASSERT_TRUE(ok);
}

static void encode_then_decode_round_trips(void)
{
    size_t n;
    char *buf = rt_cluster_msg_encode(RT_CLUSTER_EVENT, "100001", "42", "private-room", "1000011.5",
                                      "{\"a\":1}", 7, &n);
    ASSERT_NOT_NULL(buf);
    ASSERT_MEM_EQ(buf, n, "E\n100001\n42\nprivate-room\n1000011.5\n{\"a\":1}");
    struct rt_cluster_msg m;
    int rc = rt_cluster_msg_decode(buf, n, &m);
    bool same = rc == RT_OK && m.kind == RT_CLUSTER_EVENT && strcmp(m.node, "100001") == 0 &&
                strcmp(m.app_id, "42") == 0 && strcmp(m.channel, "private-room") == 0 &&
                strcmp(m.except, "1000011.5") == 0 && m.payload_len == 7 &&
                memcmp(m.payload, "{\"a\":1}", 7) == 0;
    free(buf);
    ASSERT_TRUE(same);
}

static void encode_treats_null_except_as_empty(void)
{
    size_t n;
    char *buf =
        rt_cluster_msg_encode(RT_CLUSTER_TERMINATE_USER, "100001", "42", "zed", NULL, NULL, 0, &n);
    ASSERT_NOT_NULL(buf);
    bool ok =
        n == strlen("T\n100001\n42\nzed\n\n") && memcmp(buf, "T\n100001\n42\nzed\n\n", n) == 0;
    free(buf);
    ASSERT_TRUE(ok);
}

static void server_to_user_channel_is_a_valid_channel(void)
{
    struct rt_cluster_msg m;
    ASSERT_EQ(decode("E\n1\n1\n#server-to-user-zed\n\n{}", &m), RT_OK);
    ASSERT_STR_EQ(m.channel, "#server-to-user-zed");
    ASSERT_EQ(decode("E\n1\n1\n#other\n\n{}", &m), RT_ERR_INVALID);
}

static void unknown_or_long_kind_is_rejected(void)
{
    struct rt_cluster_msg m;
    ASSERT_EQ(decode("X\n1\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("EE\n1\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("\n1\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("e\n1\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
}

static void node_must_be_1_to_10_digits(void)
{
    struct rt_cluster_msg m;
    ASSERT_EQ(decode("E\n1234567890\n1\nnews\n\n{}", &m), RT_OK);
    ASSERT_EQ(decode("E\n12345678901\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n12a\n1\nnews\n\n{}", &m), RT_ERR_INVALID);
}

static void app_id_is_bounded_at_24(void)
{
    struct rt_cluster_msg m;
    char s[512];
    snprintf(s, sizeof s, "E\n1\n%s\nnews\n\n{}", repeat('7', 24));
    ASSERT_EQ(decode(s, &m), RT_OK);
    ASSERT_STR_EQ(m.app_id, repeat('7', 24));
    snprintf(s, sizeof s, "E\n1\n%s\nnews\n\n{}", repeat('7', 25));
    ASSERT_EQ(decode(s, &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n\nnews\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n4 2\nnews\n\n{}", &m), RT_ERR_INVALID);
}

static void channel_is_bounded_at_200_valid_characters(void)
{
    struct rt_cluster_msg m;
    char s[512];
    snprintf(s, sizeof s, "E\n1\n1\n%s\n\n{}", repeat('c', 200));
    ASSERT_EQ(decode(s, &m), RT_OK);
    ASSERT_EQ(strlen(m.channel), 200u);
    snprintf(s, sizeof s, "E\n1\n1\n%s\n\n{}", repeat('c', 201));
    ASSERT_EQ(decode(s, &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\n\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nne ws\n\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nne\001ws\n\n{}", &m), RT_ERR_INVALID);
}

static void terminate_user_id_is_bounded_at_128(void)
{
    struct rt_cluster_msg m;
    char s[512];
    snprintf(s, sizeof s, "T\n1\n1\n%s\n\n", repeat('u', 128));
    ASSERT_EQ(decode(s, &m), RT_OK);
    snprintf(s, sizeof s, "T\n1\n1\n%s\n\n", repeat('u', 129));
    ASSERT_EQ(decode(s, &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("T\n1\n1\n#server-to-user-zed\n\n", &m), RT_ERR_INVALID);
}

static void except_is_empty_or_a_socket_id_of_at_most_31(void)
{
    struct rt_cluster_msg m;
    char s[512];
    /* 15 digits, '.', 15 digits = 31 */
    snprintf(s, sizeof s, "E\n1\n1\nnews\n%s.%s\n{}", "123456789012345", "123456789012345");
    ASSERT_EQ(decode(s, &m), RT_OK);
    ASSERT_EQ(strlen(m.except), 31u);
    snprintf(s, sizeof s, "E\n1\n1\nnews\n%s.%s\n{}", "1234567890123456", "123456789012345");
    ASSERT_EQ(decode(s, &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nnews\n12\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nnews\n.12\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nnews\n12.\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nnews\n1.2.3\n{}", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("E\n1\n1\nnews\n1.x\n{}", &m), RT_ERR_INVALID);
}

static void event_without_payload_is_rejected(void)
{
    struct rt_cluster_msg m;
    ASSERT_EQ(decode("E\n1\n1\nnews\n\n", &m), RT_ERR_INVALID);
    ASSERT_EQ(decode("C\n1\n1\ncache-x\n\n", &m), RT_ERR_INVALID);
}

static void truncated_headers_are_rejected(void)
{
    struct rt_cluster_msg m;
    const char *full = "E\n1\n1\nnews\n\n{}";
    size_t header = strlen("E\n1\n1\nnews\n\n");
    for (size_t n = 0; n < header; n++)
        ASSERT_EQ(rt_cluster_msg_decode(full, n, &m), RT_ERR_INVALID);
    ASSERT_EQ(rt_cluster_msg_decode(NULL, 0, &m), RT_ERR_INVALID);
}

static void nul_inside_a_header_field_is_rejected(void)
{
    struct rt_cluster_msg m;
    static const char s[] = "E\n1\n1\nne\0ws\n\n{}";
    ASSERT_EQ(rt_cluster_msg_decode(s, sizeof s - 1, &m), RT_ERR_INVALID);
}

static void member_and_watchlist_messages_round_trip(void)
{
    size_t n;
    struct rt_cluster_msg m;
    char *buf = rt_cluster_msg_encode(RT_CLUSTER_MEMBER_EVENT, "100001", "7", "presence-room",
                                      "1000011.42", "3\n{}", 4, &n);
    ASSERT_NOT_NULL(buf);
    ASSERT_EQ(rt_cluster_msg_decode(buf, n, &m), RT_OK);
    ASSERT_EQ(m.kind, RT_CLUSTER_MEMBER_EVENT);
    ASSERT_STR_EQ(m.except, "1000011.42");
    ASSERT_MEM_EQ(m.payload, m.payload_len, "3\n{}");
    free(buf);
    buf = rt_cluster_msg_encode(RT_CLUSTER_WATCHLIST, "100001", "7", "user@example.com", NULL,
                                "online", 6, &n);
    ASSERT_NOT_NULL(buf);
    ASSERT_EQ(rt_cluster_msg_decode(buf, n, &m), RT_OK);
    ASSERT_STR_EQ(m.channel, "user@example.com");
    free(buf);
    /* a watchlist change excludes nobody and always says which way it went */
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_WATCHLIST, "1", "7", "u", "1.2", "online", 6, &n));
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_WATCHLIST, "1", "7", "u", NULL, NULL, 0, &n));
}

static void encode_refuses_what_decode_would_reject(void)
{
    size_t n;
    ASSERT_NULL(rt_cluster_msg_encode('X', "1", "1", "news", NULL, "{}", 2, &n));
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1x", "1", "news", NULL, "{}", 2, &n));
    ASSERT_NULL(
        rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1", repeat('1', 25), "news", NULL, "{}", 2, &n));
    ASSERT_NULL(
        rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1", "1", repeat('c', 201), NULL, "{}", 2, &n));
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1", "1", "a\nb", NULL, "{}", 2, &n));
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1", "1", "news", "1.2\n", "{}", 2, &n));
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1", "1", "news", NULL, "", 0, &n));
    ASSERT_NULL(rt_cluster_msg_encode(RT_CLUSTER_EVENT, NULL, "1", "news", NULL, "{}", 2, &n));
    ASSERT_NULL(
        rt_cluster_msg_encode(RT_CLUSTER_TERMINATE_USER, "1", "1", "zed", "1.2", NULL, 0, &n));
}

static void payload_over_the_limit_is_too_large(void)
{
    size_t len = RT_CLUSTER_PAYLOAD_MAX + 1;
    const char *head = "E\n1\n1\nnews\n\n";
    char *buf = calloc(1, strlen(head) + len);
    ASSERT_NOT_NULL(buf);
    memcpy(buf, head, strlen(head));
    struct rt_cluster_msg m;
    int over = rt_cluster_msg_decode(buf, strlen(head) + len, &m);
    int at = rt_cluster_msg_decode(buf, strlen(head) + len - 1, &m);
    size_t n;
    char *enc = rt_cluster_msg_encode(RT_CLUSTER_EVENT, "1", "1", "news", NULL, buf, len, &n);
    free(buf);
    free(enc);
    ASSERT_EQ(over, RT_ERR_TOO_LARGE);
    ASSERT_EQ(at, RT_OK);
    ASSERT_NULL(enc);
}

static const struct rt_test tests[] = {
    RT_TEST(event_decodes_into_its_fields),
    RT_TEST(payload_may_contain_newlines),
    RT_TEST(terminate_carries_a_user_id_and_nothing_else),
    RT_TEST(count_changed_names_a_channel_and_nothing_else),
    RT_TEST(encode_then_decode_round_trips),
    RT_TEST(encode_treats_null_except_as_empty),
    RT_TEST(server_to_user_channel_is_a_valid_channel),
    RT_TEST(unknown_or_long_kind_is_rejected),
    RT_TEST(node_must_be_1_to_10_digits),
    RT_TEST(app_id_is_bounded_at_24),
    RT_TEST(channel_is_bounded_at_200_valid_characters),
    RT_TEST(terminate_user_id_is_bounded_at_128),
    RT_TEST(except_is_empty_or_a_socket_id_of_at_most_31),
    RT_TEST(event_without_payload_is_rejected),
    RT_TEST(truncated_headers_are_rejected),
    RT_TEST(nul_inside_a_header_field_is_rejected),
    RT_TEST(member_and_watchlist_messages_round_trip),
    RT_TEST(encode_refuses_what_decode_would_reject),
    RT_TEST(payload_over_the_limit_is_too_large),
};

RT_TEST_MAIN("cluster_wire", tests)
