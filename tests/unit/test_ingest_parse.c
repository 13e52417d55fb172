/* Unit tests for rt_ingest_parse: Laravel redis-broadcaster messages and stream entries into
 * the event objects a REST trigger takes. */
#include "rt_ingest_parse.h"

#include <stdlib.h>

#include "rt_test.h"

static char err[256];

/* The event as compact JSON text with sorted keys (caller frees), or NULL. */
static char *dump(json_t *event)
{
    char *s = event ? json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(event);
    return s;
}

static char *laravel(const char *channel, const char *payload)
{
    err[0] = '\0';
    return dump(rt_ingest_laravel_event(channel, payload, strlen(payload), err, sizeof err));
}

static char *stream(const char *const *fields, size_t n)
{
    size_t lens[32];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(fields[i]);
    err[0] = '\0';
    return dump(rt_ingest_stream_event(fields, lens, n, err, sizeof err));
}

static void prefix_is_a_plain_name_of_at_most_64_characters(void)
{
    ASSERT_TRUE(rt_ingest_prefix_valid("laravel_database_"));
    ASSERT_TRUE(rt_ingest_prefix_valid("shop-1.prod:"));
    ASSERT_TRUE(
        rt_ingest_prefix_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    ASSERT_FALSE(rt_ingest_prefix_valid(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    ASSERT_FALSE(rt_ingest_prefix_valid(""));
    ASSERT_FALSE(rt_ingest_prefix_valid(NULL));
    const char *globs[] = {"app*", "app?", "app[x]", "app\\", "a b", "é_"};
    for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++)
        ASSERT_FALSE(rt_ingest_prefix_valid(globs[i]));
}

/* json_encode(['event' => ..., 'data' => $payload, 'socket' => Arr::pull($payload, 'socket')])
 * leaves "socket" inside data too; the pusher driver sends data without it. */
static void laravel_message_becomes_a_trigger_without_socket_in_data(void)
{
    char *s =
        laravel("private-orders.42",
                "{\"event\":\"App\\\\Events\\\\OrderShipped\",\"data\":{\"order\":{\"id\":42},"
                "\"url\":\"https:\\/\\/x\\/y\",\"socket\":\"123.456\"},\"socket\":\"123.456\"}");
    ASSERT_STR_EQ(s,
                  "{\"channel\":\"private-orders.42\",\"data\":\"{\\\"order\\\":{\\\"id\\\":42},"
                  "\\\"url\\\":\\\"https://x/y\\\"}\",\"name\":\"App\\\\Events\\\\OrderShipped\","
                  "\"socket_id\":\"123.456\"}");
    free(s);
}

static void laravel_null_socket_excludes_nobody(void)
{
    char *s = laravel("news", "{\"event\":\"Posted\",\"data\":{\"socket\":null},\"socket\":null}");
    ASSERT_STR_EQ(s, "{\"channel\":\"news\",\"data\":\"{}\",\"name\":\"Posted\"}");
    free(s);
}

/* PHP encodes an empty payload array as [] */
static void laravel_empty_payload_is_an_empty_array(void)
{
    char *s = laravel("news", "{\"event\":\"Ping\",\"data\":[],\"socket\":null}");
    ASSERT_STR_EQ(s, "{\"channel\":\"news\",\"data\":\"[]\",\"name\":\"Ping\"}");
    free(s);
}

static void laravel_string_data_is_taken_as_is(void)
{
    char *s = laravel("news", "{\"event\":\"Raw\",\"data\":\"hello\"}");
    ASSERT_STR_EQ(s, "{\"channel\":\"news\",\"data\":\"hello\",\"name\":\"Raw\"}");
    free(s);
}

static void malformed_laravel_messages_name_the_problem(void)
{
    ASSERT_NULL(laravel("news", "not json"));
    ASSERT_STR_EQ(err, "not a JSON object (expected {\"event\",\"data\",\"socket\"})");
    ASSERT_NULL(laravel("news", "[1]"));
    ASSERT_STR_EQ(err, "not a JSON object (expected {\"event\",\"data\",\"socket\"})");
    ASSERT_NULL(laravel("news", "{\"data\":{}}"));
    ASSERT_STR_EQ(err, "\"event\" must be a string");
    ASSERT_NULL(laravel("news", "{\"event\":\"E\"}"));
    ASSERT_STR_EQ(err, "\"data\" must be an object, an array or a string");
    ASSERT_NULL(laravel("news", "{\"event\":\"E\",\"data\":5}"));
    ASSERT_STR_EQ(err, "\"data\" must be an object, an array or a string");
    ASSERT_NULL(laravel("news", "{\"event\":\"E\",\"data\":{},\"socket\":5}"));
    ASSERT_STR_EQ(err, "\"socket\" must be a socket id string or null");
    ASSERT_NULL(laravel("news", "{\"event\":\"E\",\"event\":\"F\",\"data\":{}}"));
    ASSERT_NULL(laravel("bad\xff", "{\"event\":\"E\",\"data\":{}}"));
    ASSERT_STR_EQ(err, "channel name is not UTF-8");
}

static void stream_entry_with_one_channel(void)
{
    const char *f[] = {"name", "order-shipped", "channel",   "orders",
                       "data", "{\"id\":1}",    "socket_id", "1.2"};
    char *s = stream(f, 8);
    ASSERT_STR_EQ(s,
                  "{\"channel\":\"orders\",\"data\":\"{\\\"id\\\":1}\",\"name\":\"order-shipped\","
                  "\"socket_id\":\"1.2\"}");
    free(s);
}

static void stream_entry_with_a_json_array_of_channels(void)
{
    const char *f[] = {"channels", "[\"a\",\"b\"]", "name", "e", "data", "x"};
    char *s = stream(f, 6);
    ASSERT_STR_EQ(s, "{\"channels\":[\"a\",\"b\"],\"data\":\"x\",\"name\":\"e\"}");
    free(s);
}

static void malformed_stream_entries_name_the_problem(void)
{
    const char *missing_data[] = {"name", "e", "channel", "c"};
    ASSERT_NULL(stream(missing_data, 4));
    ASSERT_STR_EQ(err, "missing field \"data\"");
    const char *missing_name[] = {"data", "d", "channel", "c"};
    ASSERT_NULL(stream(missing_name, 4));
    ASSERT_STR_EQ(err, "missing field \"name\"");
    const char *no_channel[] = {"name", "e", "data", "d"};
    ASSERT_NULL(stream(no_channel, 4));
    ASSERT_STR_EQ(err, "give exactly one of \"channel\" and \"channels\"");
    const char *both[] = {"name", "e", "data", "d", "channel", "c", "channels", "[\"c\"]"};
    ASSERT_NULL(stream(both, 8));
    ASSERT_STR_EQ(err, "give exactly one of \"channel\" and \"channels\"");
    const char *unknown[] = {"name", "e", "data", "d", "channel", "c", "colour", "red"};
    ASSERT_NULL(stream(unknown, 8));
    ASSERT_STR_EQ(err, "unknown field \"colour\"");
    const char *twice[] = {"name", "e", "name", "f", "data", "d", "channel", "c"};
    ASSERT_NULL(stream(twice, 8));
    ASSERT_STR_EQ(err, "field \"name\" given twice");
    const char *not_array[] = {"name", "e", "data", "d", "channels", "\"c\""};
    ASSERT_NULL(stream(not_array, 6));
    ASSERT_STR_EQ(err, "\"channels\" must be a JSON array of channel names");
    const char *not_utf8[] = {"name", "e", "data", "\xc3\x28", "channel", "c"};
    ASSERT_NULL(stream(not_utf8, 6));
    ASSERT_STR_EQ(err, "field \"data\" is not UTF-8 text");
    const char *odd[] = {"name", "e", "data"};
    ASSERT_NULL(stream(odd, 3));
    ASSERT_STR_EQ(err, "expected name, data and channel or channels fields");
    ASSERT_NULL(stream(odd, 0));
    ASSERT_STR_EQ(err, "expected name, data and channel or channels fields");
}

static void a_nul_byte_in_a_value_is_malformed(void)
{
    const char *f[] = {"name", "e", "data", "a\0b", "channel", "c"};
    size_t lens[] = {4, 1, 4, 3, 7, 1};
    ASSERT_NULL(rt_ingest_stream_event(f, lens, 6, err, sizeof err));
    ASSERT_STR_EQ(err, "field \"data\" is not UTF-8 text");
}

static const struct rt_test tests[] = {
    RT_TEST(prefix_is_a_plain_name_of_at_most_64_characters),
    RT_TEST(laravel_message_becomes_a_trigger_without_socket_in_data),
    RT_TEST(laravel_null_socket_excludes_nobody),
    RT_TEST(laravel_empty_payload_is_an_empty_array),
    RT_TEST(laravel_string_data_is_taken_as_is),
    RT_TEST(malformed_laravel_messages_name_the_problem),
    RT_TEST(stream_entry_with_one_channel),
    RT_TEST(stream_entry_with_a_json_array_of_channels),
    RT_TEST(malformed_stream_entries_name_the_problem),
    RT_TEST(a_nul_byte_in_a_value_is_malformed),
};

RT_TEST_MAIN("ingest_parse", tests)
