/* Unit tests for rt_ws: strict client frame parsing, reassembly, headers, accept key, UTF-8. */
#include "rt_ws.h"

#include <stdlib.h>

#include "rt_test.h"

/* Builds a client frame into out: masked unless mask is false. Returns its size. */
static size_t client_frame(uint8_t *out, uint8_t first_byte, const char *payload, size_t len,
                           bool mask)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    size_t n = 0;
    out[n++] = first_byte;
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (mask) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[n + i] = (uint8_t)(payload[i] ^ (mask ? key[i & 3] : 0));
    return n + len;
}

static void masked_text_frame_is_unmasked_in_place(void)
{
    uint8_t buf[64];
    size_t n = client_frame(buf, 0x81, "hello", 5, true);
    struct rt_ws_frame f;
    size_t need;
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), (long)n);
    ASSERT_TRUE(f.fin);
    ASSERT_EQ(f.opcode, RT_WS_TEXT);
    ASSERT_MEM_EQ((const char *)f.payload, f.len, "hello");
}

static void unmasked_client_frame_is_a_protocol_error(void)
{
    uint8_t buf[64];
    size_t n = client_frame(buf, 0x81, "hello", 5, false);
    struct rt_ws_frame f;
    size_t need;
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), -RT_WS_CLOSE_PROTOCOL);
    /* decided from the first two bytes already */
    ASSERT_EQ(rt_ws_parse_frame(buf, 2, 1024, &f, &need), -RT_WS_CLOSE_PROTOCOL);
}

static void reserved_bits_and_unknown_opcodes_are_protocol_errors(void)
{
    uint8_t buf[64];
    struct rt_ws_frame f;
    size_t need;
    const uint8_t bad[] = {0xC1, 0xA1, 0x91, 0x83, 0x87, 0x8B, 0x8F};
    for (size_t i = 0; i < sizeof bad; i++) {
        size_t n = client_frame(buf, bad[i], "x", 1, true);
        ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), -RT_WS_CLOSE_PROTOCOL);
    }
}

static void fragmented_or_long_control_frames_are_protocol_errors(void)
{
    uint8_t buf[300];
    char big[126];
    memset(big, 'p', sizeof big);
    struct rt_ws_frame f;
    size_t need;
    size_t n = client_frame(buf, 0x09 /* ping without FIN */, "x", 1, true);
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), -RT_WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x89, big, sizeof big, true);
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), -RT_WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x89, big, 125, true);
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), (long)n);
}

static void announced_length_over_the_limit_is_refused_from_the_header(void)
{
    /* 100 MiB announced; only the 10-byte header and the mask are present. */
    uint8_t buf[14] = {0x81, 0xFF, 0, 0, 0, 0, 0x06, 0x40, 0, 0, 1, 2, 3, 4};
    struct rt_ws_frame f;
    size_t need;
    ASSERT_EQ(rt_ws_parse_frame(buf, 10, 1 << 20, &f, &need), -RT_WS_CLOSE_TOO_LARGE);
    /* at the limit: fine, more bytes needed, the full size is reported */
    uint8_t ok[8] = {0x81, 0xFE, 0x04, 0x00, 1, 2, 3, 4};
    ASSERT_EQ(rt_ws_parse_frame(ok, sizeof ok, 1024, &f, &need), 0);
    ASSERT_EQ(need, 8u + 1024u);
    ASSERT_EQ(rt_ws_parse_frame(ok, sizeof ok, 1023, &f, &need), -RT_WS_CLOSE_TOO_LARGE);
}

static void sixty_four_bit_length_with_top_bit_is_a_protocol_error(void)
{
    uint8_t buf[14] = {0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    struct rt_ws_frame f;
    size_t need;
    ASSERT_EQ(rt_ws_parse_frame(buf, sizeof buf, (size_t)-1, &f, &need), -RT_WS_CLOSE_PROTOCOL);
}

static void partial_frames_ask_for_more(void)
{
    uint8_t buf[64];
    size_t n = client_frame(buf, 0x81, "hello", 5, true);
    struct rt_ws_frame f;
    size_t need;
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(rt_ws_parse_frame(buf, i, 1024, &f, &need), 0);
}

static void fragments_are_reassembled_within_the_limit(void)
{
    struct rt_ws_message m = {0};
    uint8_t buf[64];
    struct rt_ws_frame f;
    size_t need, len;
    uint8_t op;
    const uint8_t *data;
    size_t n = client_frame(buf, 0x01, "hel", 3, true);
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), (long)n);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), 0);
    n = client_frame(buf, 0x80, "lo", 2, true);
    ASSERT_EQ(rt_ws_parse_frame(buf, n, 1024, &f, &need), (long)n);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), 1);
    ASSERT_EQ(op, RT_WS_TEXT);
    ASSERT_MEM_EQ((const char *)data, len, "hello");
    rt_ws_message_reset(&m);
}

/* The buffer's capacity is the message's own: a limit raised between fragments (app reload)
 * can never make a write past it. */
static void raising_the_limit_between_fragments_stays_in_bounds(void)
{
    struct rt_ws_message m = {0};
    uint8_t buf[300];
    char chunk[200];
    memset(chunk, 'a', sizeof chunk);
    struct rt_ws_frame f;
    size_t need, len;
    uint8_t op;
    const uint8_t *data;
    size_t n = client_frame(buf, 0x01, chunk, 100, true);
    rt_ws_parse_frame(buf, n, 4096, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 128, &op, &data, &len), 0);
    ASSERT_TRUE(m.cap <= 128);
    n = client_frame(buf, 0x00, chunk, 200, true);
    rt_ws_parse_frame(buf, n, 4096, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 100000, &op, &data, &len), 0);
    ASSERT_TRUE(m.cap >= 300);
    n = client_frame(buf, 0x80, chunk, 200, true);
    rt_ws_parse_frame(buf, n, 4096, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 100000, &op, &data, &len), 1);
    ASSERT_EQ(len, 500u);
    rt_ws_message_reset(&m);
}

static void fragments_past_the_limit_are_too_large(void)
{
    struct rt_ws_message m = {0};
    uint8_t buf[64];
    struct rt_ws_frame f;
    size_t need, len;
    uint8_t op;
    const uint8_t *data;
    size_t n = client_frame(buf, 0x01, "0123456789", 10, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), 0);
    n = client_frame(buf, 0x80, "0123456789", 10, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), -RT_WS_CLOSE_TOO_LARGE);
    rt_ws_message_reset(&m);
}

static void continuation_without_start_and_interleaved_messages_are_protocol_errors(void)
{
    struct rt_ws_message m = {0};
    uint8_t buf[64];
    struct rt_ws_frame f;
    size_t need, len;
    uint8_t op;
    const uint8_t *data;
    size_t n = client_frame(buf, 0x80, "x", 1, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), -RT_WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x01, "x", 1, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), 0);
    n = client_frame(buf, 0x81, "y", 1, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), -RT_WS_CLOSE_PROTOCOL);
    rt_ws_message_reset(&m);
}

static void invalid_utf8_text_is_invalid_data(void)
{
    struct rt_ws_message m = {0};
    uint8_t buf[64];
    struct rt_ws_frame f;
    size_t need, len;
    uint8_t op;
    const uint8_t *data;
    size_t n = client_frame(buf, 0x81, "{\xff\xfe}", 4, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), -RT_WS_CLOSE_INVALID_DATA);
    /* binary payloads are not text */
    n = client_frame(buf, 0x82, "{\xff\xfe}", 4, true);
    rt_ws_parse_frame(buf, n, 1024, &f, &need);
    ASSERT_EQ(rt_ws_message_feed(&m, &f, 16, &op, &data, &len), 1);
    ASSERT_EQ(op, RT_WS_BINARY);
}

static void utf8_validation_follows_rfc_3629(void)
{
    ASSERT_TRUE(rt_utf8_valid((const uint8_t *)"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    ASSERT_FALSE(rt_utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong */
    ASSERT_FALSE(rt_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));     /* overlong */
    ASSERT_FALSE(rt_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
    ASSERT_FALSE(rt_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    ASSERT_FALSE(rt_utf8_valid((const uint8_t *)"\xe2\x82", 2));         /* truncated */
    ASSERT_FALSE(rt_utf8_valid((const uint8_t *)"\x80", 1));             /* lone continuation */
    ASSERT_TRUE(rt_utf8_valid((const uint8_t *)"", 0));
}

static void server_headers_use_the_shortest_length_form(void)
{
    uint8_t h[RT_WS_MAX_SERVER_HEADER];
    ASSERT_EQ(rt_ws_frame_header(h, RT_WS_TEXT, 125), 2u);
    ASSERT_EQ(h[0], 0x81);
    ASSERT_EQ(h[1], 125);
    ASSERT_EQ(rt_ws_frame_header(h, RT_WS_TEXT, 126), 4u);
    ASSERT_EQ(h[1], 126);
    ASSERT_EQ(h[2], 0);
    ASSERT_EQ(h[3], 126);
    ASSERT_EQ(rt_ws_frame_header(h, RT_WS_CLOSE, 65536), 10u);
    ASSERT_EQ(h[0], 0x88);
    ASSERT_EQ(h[1], 127);
    ASSERT_EQ(h[7], 1);
    ASSERT_EQ(h[9], 0);
}

static void accept_key_matches_rfc_6455_example(void)
{
    char out[29];
    ASSERT_EQ(rt_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    ASSERT_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ASSERT_EQ(rt_ws_accept_key("short", 5, out), -1);
    ASSERT_EQ(rt_ws_accept_key("!!!!!!!!!!!!!!!!!!!!!!==", 24, out), -1);
}

static const struct rt_test tests[] = {
    RT_TEST(masked_text_frame_is_unmasked_in_place),
    RT_TEST(unmasked_client_frame_is_a_protocol_error),
    RT_TEST(reserved_bits_and_unknown_opcodes_are_protocol_errors),
    RT_TEST(fragmented_or_long_control_frames_are_protocol_errors),
    RT_TEST(announced_length_over_the_limit_is_refused_from_the_header),
    RT_TEST(sixty_four_bit_length_with_top_bit_is_a_protocol_error),
    RT_TEST(partial_frames_ask_for_more),
    RT_TEST(fragments_are_reassembled_within_the_limit),
    RT_TEST(raising_the_limit_between_fragments_stays_in_bounds),
    RT_TEST(fragments_past_the_limit_are_too_large),
    RT_TEST(continuation_without_start_and_interleaved_messages_are_protocol_errors),
    RT_TEST(invalid_utf8_text_is_invalid_data),
    RT_TEST(utf8_validation_follows_rfc_3629),
    RT_TEST(server_headers_use_the_shortest_length_form),
    RT_TEST(accept_key_matches_rfc_6455_example),
};

RT_TEST_MAIN("ws", tests)
