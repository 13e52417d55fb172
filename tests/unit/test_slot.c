/* Unit tests for rt_slot: CRC16 key slots, a command's key argument, MOVED/ASK parsing.
 * Every slot number below was read from a Redis 7.0 node with CLUSTER KEYSLOT. */
#include "rt_slot.h"

#include "rt_test.h"

static unsigned slot(const char *key)
{
    return rt_slot_of(key, strlen(key));
}

/* ---------------------------------------------------------------- key slots */

static void crc16_matches_the_cluster_spec_vector(void)
{
    ASSERT_EQ(rt_crc16("123456789", 9), 0x31C3);
    ASSERT_EQ(rt_crc16("", 0), 0);
}

static void slot_of_plain_keys_matches_redis(void)
{
    ASSERT_EQ(slot("foo"), 12182u);
    ASSERT_EQ(slot("bar"), 5061u);
    ASSERT_EQ(slot("hello"), 866u);
    ASSERT_EQ(slot("a"), 15495u);
    ASSERT_EQ(slot("123456789"), 12739u);
    ASSERT_EQ(slot(""), 0u);
}

static void slot_is_below_16384_for_any_key(void)
{
    char key[2] = {0, 0};
    for (int c = 0; c < 256; c++) {
        key[0] = (char)c;
        ASSERT_TRUE(rt_slot_of(key, 1) < RT_SLOTS);
    }
}

static void keys_with_the_same_hash_tag_share_a_slot(void)
{
    ASSERT_EQ(slot("{user1000}.following"), 3443u);
    ASSERT_EQ(slot("{user1000}.followers"), 3443u);
    ASSERT_EQ(slot("user1000"), 3443u);
    ASSERT_EQ(slot("{a}"), slot("a"));
}

static void an_empty_tag_hashes_the_whole_key(void)
{
    ASSERT_EQ(slot("foo{}{bar}"), 8363u);
    ASSERT_EQ(slot("foo{}{bar}"), rt_crc16("foo{}{bar}", 10) & 16383u);
    ASSERT_EQ(slot("{}"), 15257u);
    ASSERT_EQ(slot("x{}y}"), 1123u);
}

static void the_tag_runs_from_the_first_open_to_the_first_close_after_it(void)
{
    ASSERT_EQ(slot("foo{{bar}}zap"), 4015u);
    ASSERT_EQ(slot("foo{{bar}}zap"), slot("{bar"));
    ASSERT_EQ(slot("foo{bar}{zap}"), 5061u);
    ASSERT_EQ(slot("foo{bar}{zap}"), slot("bar"));
}

static void an_unclosed_brace_hashes_the_whole_key(void)
{
    ASSERT_EQ(slot("{"), 4092u);
    ASSERT_EQ(slot("}"), 12090u);
    ASSERT_EQ(slot("key:{"), 13199u);
}

static void only_len_bytes_are_read(void)
{
    /* "{ab}" cut after 3 bytes has no closing brace: the whole "{ab" is hashed. */
    ASSERT_EQ(rt_slot_of("{ab}", 3), rt_crc16("{ab", 3) & 16383u);
    ASSERT_EQ(rt_slot_of("foo-and-more", 3), 12182u);
}

static void our_app_keys_live_in_the_slot_of_the_app_id(void)
{
    ASSERT_EQ(slot("rt:{app1}:c:x"), 6469u);
    ASSERT_EQ(slot("rt:{app1}:c:x"), slot("app1"));
    ASSERT_EQ(slot("rt:{app1}:presence:private-y"), slot("app1"));
}

/* ---------------------------------------------------------------- key argument */

#define KEY_INDEX(...)                                                                             \
    rt_command_key_index(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),             \
                         (const char *const[]){__VA_ARGS__})

static void ordinary_commands_have_their_key_first(void)
{
    ASSERT_EQ(KEY_INDEX("GET", "k"), 1);
    ASSERT_EQ(KEY_INDEX("HSET", "k", "f", "v"), 1);
    ASSERT_EQ(KEY_INDEX("XADD", "s", "MAXLEN", "~", "10", "*", "f", "v"), 1);
    ASSERT_EQ(KEY_INDEX("XAUTOCLAIM", "s", "g", "c", "0", "0"), 1);
    ASSERT_EQ(KEY_INDEX("GET"), -1);
}

static void command_names_are_case_insensitive(void)
{
    ASSERT_EQ(KEY_INDEX("get", "k"), 1);
    ASSERT_EQ(KEY_INDEX("pInG"), -1);
    ASSERT_EQ(KEY_INDEX("ping", "hello"), -1);
    ASSERT_EQ(KEY_INDEX("eval", "return 1", "1", "k"), 3);
    ASSERT_EQ(KEY_INDEX("xread", "streams", "s", "0"), 2);
}

static void keyless_commands_return_minus_one(void)
{
    ASSERT_EQ(KEY_INDEX("PING"), -1);
    ASSERT_EQ(KEY_INDEX("AUTH", "secret"), -1);
    ASSERT_EQ(KEY_INDEX("AUTH", "user", "secret"), -1);
    ASSERT_EQ(KEY_INDEX("SCRIPT", "LOAD", "return 1"), -1);
    ASSERT_EQ(KEY_INDEX("CLUSTER", "SLOTS"), -1);
    ASSERT_EQ(KEY_INDEX("PUBLISH", "ch", "msg"), -1);
    ASSERT_EQ(KEY_INDEX("SUBSCRIBE", "ch"), -1);
    ASSERT_EQ(KEY_INDEX("UNSUBSCRIBE", "ch"), -1);
    ASSERT_EQ(KEY_INDEX("PSUBSCRIBE", "rt:*"), -1);
    ASSERT_EQ(KEY_INDEX("PUNSUBSCRIBE", "rt:*"), -1);
    ASSERT_EQ(KEY_INDEX("INFO", "server"), -1);
    ASSERT_EQ(KEY_INDEX("SELECT", "1"), -1);
    ASSERT_EQ(KEY_INDEX("HELLO", "3"), -1);
}

static void eval_takes_its_first_key_when_numkeys_is_positive(void)
{
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "1", "k"), 3);
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "2", "k1", "k2", "arg"), 3);
    ASSERT_EQ(KEY_INDEX("EVALSHA", "abc", "1", "k"), 3);
    ASSERT_EQ(KEY_INDEX("EVAL_RO", "return 1", "1", "k"), 3);
    ASSERT_EQ(KEY_INDEX("FCALL", "f", "1", "k"), 3);
    ASSERT_EQ(KEY_INDEX("FCALL_RO", "f", "12", "k"), 3);
}

static void eval_without_keys_or_with_a_bad_numkeys_has_no_key(void)
{
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "0"), -1);
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "0", "arg"), -1);
    ASSERT_EQ(KEY_INDEX("EVALSHA", "abc", "-1", "k"), -1);
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "x", "k"), -1);
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "1x", "k"), -1);
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "", "k"), -1);
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1", "1"), -1); /* numkeys 1 but no key given */
    ASSERT_EQ(KEY_INDEX("EVAL", "return 1"), -1);
}

static void xread_takes_the_first_stream_after_streams(void)
{
    ASSERT_EQ(KEY_INDEX("XREAD", "STREAMS", "s", "0"), 2);
    ASSERT_EQ(KEY_INDEX("XREAD", "COUNT", "10", "BLOCK", "0", "STREAMS", "s1", "s2", "0", "0"), 6);
    ASSERT_EQ(KEY_INDEX("XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "STREAMS", "s", ">"), 7);
    ASSERT_EQ(KEY_INDEX("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "s", ">"), 6);
}

static void xread_option_values_named_streams_are_not_the_keyword(void)
{
    ASSERT_EQ(KEY_INDEX("XREADGROUP", "GROUP", "streams", "streams", "STREAMS", "s", ">"), 5);
    ASSERT_EQ(KEY_INDEX("XREAD", "COUNT", "STREAMS", "STREAMS", "s", "0"), 4);
}

static void xread_without_streams_has_no_key(void)
{
    ASSERT_EQ(KEY_INDEX("XREAD", "COUNT", "10"), -1);
    ASSERT_EQ(KEY_INDEX("XREAD", "STREAMS"), -1);
    ASSERT_EQ(KEY_INDEX("XREADGROUP", "GROUP", "g"), -1);
}

static void sharded_pubsub_routes_by_its_channel(void)
{
    ASSERT_EQ(KEY_INDEX("SPUBLISH", "rt:{app1}:bus", "msg"), 1);
    ASSERT_EQ(KEY_INDEX("SSUBSCRIBE", "rt:{app1}:bus"), 1);
    ASSERT_EQ(KEY_INDEX("SUNSUBSCRIBE", "rt:{app1}:bus"), 1);
    ASSERT_EQ(KEY_INDEX("SUNSUBSCRIBE"), -1);
}

static void subcommand_first_commands_take_the_key_after_it(void)
{
    ASSERT_EQ(KEY_INDEX("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), 2);
    ASSERT_EQ(KEY_INDEX("XINFO", "STREAM", "s"), 2);
    ASSERT_EQ(KEY_INDEX("OBJECT", "ENCODING", "k"), 2);
    ASSERT_EQ(KEY_INDEX("MEMORY", "USAGE", "k"), 2);
    ASSERT_EQ(KEY_INDEX("XGROUP", "HELP"), -1);
}

static void no_command_has_no_key(void)
{
    ASSERT_EQ(rt_command_key_index(0, NULL), -1);
    const char *argv[] = {NULL, "k"};
    ASSERT_EQ(rt_command_key_index(2, argv), -1);
}

/* ---------------------------------------------------------------- MOVED / ASK */

static unsigned r_slot;
static char r_host[64];
static int r_port;

static int redirect(const char *err)
{
    r_slot = 99999;
    r_port = -1;
    strcpy(r_host, "untouched");
    return rt_redirect_parse(err, strlen(err), &r_slot, r_host, sizeof r_host, &r_port);
}

static void moved_gives_slot_host_and_port(void)
{
    ASSERT_EQ(redirect("MOVED 3999 127.0.0.1:6381"), RT_REDIRECT_MOVED);
    ASSERT_EQ(RT_REDIRECT_MOVED, 1);
    ASSERT_EQ(r_slot, 3999u);
    ASSERT_STR_EQ(r_host, "127.0.0.1");
    ASSERT_EQ(r_port, 6381);
}

static void ask_gives_slot_host_and_port(void)
{
    ASSERT_EQ(redirect("ASK 0 redis-2.internal:7000"), RT_REDIRECT_ASK);
    ASSERT_EQ(RT_REDIRECT_ASK, 2);
    ASSERT_EQ(r_slot, 0u);
    ASSERT_STR_EQ(r_host, "redis-2.internal");
    ASSERT_EQ(r_port, 7000);
    ASSERT_EQ(redirect("ASK 16383 10.0.0.1:65535"), RT_REDIRECT_ASK);
    ASSERT_EQ(r_slot, 16383u);
    ASSERT_EQ(r_port, 65535);
}

static void an_ipv6_host_ends_at_the_last_colon(void)
{
    ASSERT_EQ(redirect("ASK 1 ::1:7000"), RT_REDIRECT_ASK);
    ASSERT_STR_EQ(r_host, "::1");
    ASSERT_EQ(r_port, 7000);
    ASSERT_EQ(redirect("MOVED 2 fe80::1:2:6379"), RT_REDIRECT_MOVED);
    ASSERT_STR_EQ(r_host, "fe80::1:2");
    ASSERT_EQ(r_port, 6379);
    ASSERT_EQ(redirect("MOVED 2 [::1]:7001"), RT_REDIRECT_MOVED);
    ASSERT_STR_EQ(r_host, "::1");
    ASSERT_EQ(r_port, 7001);
}

static void an_empty_host_means_the_host_asked(void)
{
    ASSERT_EQ(redirect("MOVED 1 :7000"), RT_REDIRECT_MOVED);
    ASSERT_STR_EQ(r_host, "");
    ASSERT_EQ(r_port, 7000);
}

static void only_len_bytes_of_the_error_are_read(void)
{
    const char *err = "MOVED 12 h:6380999";
    ASSERT_EQ(rt_redirect_parse(err, strlen(err) - 3, &r_slot, r_host, sizeof r_host, &r_port),
              RT_REDIRECT_MOVED);
    ASSERT_EQ(r_port, 6380);
}

static void other_errors_are_not_redirects(void)
{
    const char *other[] = {"ERR unknown command",
                           "CLUSTERDOWN The cluster is down",
                           "TRYAGAIN Multiple keys request during rehashing of slot",
                           "moved 1 h:1",
                           "MOVED",
                           "ASK",
                           "MOVEDX 1 h:1",
                           ""};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        ASSERT_EQ(redirect(other[i]), RT_REDIRECT_NONE);
        ASSERT_STR_EQ(r_host, "untouched");
        ASSERT_EQ(r_port, -1);
        ASSERT_EQ(r_slot, 99999u);
    }
}

static void malformed_redirects_return_zero(void)
{
    const char *bad[] = {
        "MOVED ",           "MOVED 1",         "MOVED 1 ",        "MOVED 1 h",
        "MOVED 1 h:",       "MOVED 1 h:0",     "MOVED 1 h:65536", "MOVED 1 h:123456",
        "MOVED 1 h:-1",     "MOVED 1 h:80x",   "MOVED 1 h:80 ",   "MOVED 1 h:80\r\n",
        "MOVED 16384 h:1",  "MOVED 99999 h:1", "MOVED -1 h:1",    "MOVED x h:1",
        "MOVED  1 h:1",     "MOVED 1  h:1",    "MOVED 1 h h:1",   "MOVED 1 bad/host:1",
        "ASK 1 [::1:7000",  "ASK 1 ::1]:7000", "ASK  h:1",        "MOVED 1 h:1 extra",
        "MOVED 000001 h:1", "ASK 1 \x01h:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (redirect(bad[i]) != RT_REDIRECT_NONE) fprintf(stderr, "  accepted: %s\n", bad[i]);
        ASSERT_EQ(redirect(bad[i]), RT_REDIRECT_NONE);
        ASSERT_STR_EQ(r_host, "untouched");
    }
}

static void a_host_longer_than_the_buffer_is_refused(void)
{
    char small[4];
    ASSERT_EQ(rt_redirect_parse("MOVED 1 abc:1", 13, &r_slot, small, sizeof small, &r_port),
              RT_REDIRECT_MOVED);
    ASSERT_STR_EQ(small, "abc");
    ASSERT_EQ(rt_redirect_parse("MOVED 1 abcd:1", 14, &r_slot, small, sizeof small, &r_port),
              RT_REDIRECT_NONE);
    ASSERT_EQ(rt_redirect_parse("MOVED 1 a:1", 11, &r_slot, small, 0, &r_port), RT_REDIRECT_NONE);
    ASSERT_EQ(rt_redirect_parse(NULL, 0, &r_slot, small, sizeof small, &r_port), RT_REDIRECT_NONE);
}

static const struct rt_test tests[] = {
    RT_TEST(crc16_matches_the_cluster_spec_vector),
    RT_TEST(slot_of_plain_keys_matches_redis),
    RT_TEST(slot_is_below_16384_for_any_key),
    RT_TEST(keys_with_the_same_hash_tag_share_a_slot),
    RT_TEST(an_empty_tag_hashes_the_whole_key),
    RT_TEST(the_tag_runs_from_the_first_open_to_the_first_close_after_it),
    RT_TEST(an_unclosed_brace_hashes_the_whole_key),
    RT_TEST(only_len_bytes_are_read),
    RT_TEST(our_app_keys_live_in_the_slot_of_the_app_id),
    RT_TEST(ordinary_commands_have_their_key_first),
    RT_TEST(command_names_are_case_insensitive),
    RT_TEST(keyless_commands_return_minus_one),
    RT_TEST(eval_takes_its_first_key_when_numkeys_is_positive),
    RT_TEST(eval_without_keys_or_with_a_bad_numkeys_has_no_key),
    RT_TEST(xread_takes_the_first_stream_after_streams),
    RT_TEST(xread_option_values_named_streams_are_not_the_keyword),
    RT_TEST(xread_without_streams_has_no_key),
    RT_TEST(sharded_pubsub_routes_by_its_channel),
    RT_TEST(subcommand_first_commands_take_the_key_after_it),
    RT_TEST(no_command_has_no_key),
    RT_TEST(moved_gives_slot_host_and_port),
    RT_TEST(ask_gives_slot_host_and_port),
    RT_TEST(an_ipv6_host_ends_at_the_last_colon),
    RT_TEST(an_empty_host_means_the_host_asked),
    RT_TEST(only_len_bytes_of_the_error_are_read),
    RT_TEST(other_errors_are_not_redirects),
    RT_TEST(malformed_redirects_return_zero),
    RT_TEST(a_host_longer_than_the_buffer_is_refused),
};

RT_TEST_MAIN("slot", tests)
