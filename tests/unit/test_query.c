/* Unit tests for rt_query: percent-decoding and bounded query parsing. */
#include "rt_query.h"

#include <stdlib.h>

#include "rt_err.h"
#include "rt_test.h"

static int parse(const char *raw, struct rt_query *q)
{
    return rt_query_parse(raw, strlen(raw), q);
}

static void plus_and_percent_20_decode_to_space(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("name=Something+else&other=a%20b", &q), RT_OK);
    ASSERT_EQ(q.count, 2u);
    ASSERT_STR_EQ(rt_query_get(&q, "name"), "Something else");
    ASSERT_STR_EQ(rt_query_get(&q, "other"), "a b");
    rt_query_free(&q);
}

static void keys_are_decoded_too(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("a%5Bb%5D=1", &q), RT_OK);
    ASSERT_STR_EQ(q.params[0].key, "a[b]");
    rt_query_free(&q);
}

static void pair_without_equals_has_empty_value(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("flag&x=", &q), RT_OK);
    ASSERT_EQ(q.count, 2u);
    ASSERT_STR_EQ(rt_query_get(&q, "flag"), "");
    ASSERT_STR_EQ(rt_query_get(&q, "x"), "");
    rt_query_free(&q);
}

static void empty_segments_are_skipped(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("&a=1&&b=2&", &q), RT_OK);
    ASSERT_EQ(q.count, 2u);
    ASSERT_STR_EQ(q.params[0].key, "a");
    ASSERT_STR_EQ(q.params[1].key, "b");
    rt_query_free(&q);
}

static void null_or_empty_query_has_no_params(void)
{
    struct rt_query q;
    ASSERT_EQ(rt_query_parse(NULL, 0, &q), RT_OK);
    ASSERT_EQ(q.count, 0u);
    ASSERT_EQ(rt_query_parse("", 0, &q), RT_OK);
    ASSERT_EQ(q.count, 0u);
}

static void value_keeps_equals_after_the_first(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("k=a=b", &q), RT_OK);
    ASSERT_STR_EQ(rt_query_get(&q, "k"), "a=b");
    rt_query_free(&q);
}

static void get_returns_first_of_repeated_key_and_is_case_sensitive(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("a=1&a=2&A=3", &q), RT_OK);
    ASSERT_STR_EQ(rt_query_get(&q, "a"), "1");
    ASSERT_STR_EQ(rt_query_get(&q, "A"), "3");
    ASSERT_NULL(rt_query_get(&q, "b"));
    rt_query_free(&q);
}

static void bad_percent_escapes_are_invalid(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("a=%zz", &q), RT_ERR_INVALID);
    ASSERT_EQ(q.count, 0u);
    ASSERT_EQ(parse("a=%4", &q), RT_ERR_INVALID);
    ASSERT_EQ(parse("a=%", &q), RT_ERR_INVALID);
    ASSERT_EQ(parse("a=1&b%g1=2", &q), RT_ERR_INVALID);
    ASSERT_EQ(q.count, 0u);
}

static void decoded_nul_is_invalid(void)
{
    struct rt_query q;
    ASSERT_EQ(parse("a=x%00y", &q), RT_ERR_INVALID);
    ASSERT_EQ(rt_query_parse("a=x\0y", 5, &q), RT_ERR_INVALID);
}

static void query_longer_than_max_len_is_too_large(void)
{
    struct rt_query q;
    char *raw = malloc(RT_QUERY_MAX_LEN + 2);
    ASSERT_NOT_NULL(raw);
    memset(raw, 'a', RT_QUERY_MAX_LEN + 1);
    raw[0] = 'k';
    raw[1] = '=';
    int at_max = rt_query_parse(raw, RT_QUERY_MAX_LEN, &q);
    rt_query_free(&q);
    int over = rt_query_parse(raw, RT_QUERY_MAX_LEN + 1, &q);
    free(raw);
    ASSERT_EQ(at_max, RT_OK);
    ASSERT_EQ(over, RT_ERR_TOO_LARGE);
}

static void more_than_max_params_is_too_large(void)
{
    char raw[RT_QUERY_MAX_PARAMS * 4 + 8] = "";
    struct rt_query q;
    for (int i = 0; i < RT_QUERY_MAX_PARAMS; i++)
        strcat(raw, "a=1&");
    ASSERT_EQ(parse(raw, &q), RT_OK);
    ASSERT_EQ(q.count, (size_t)RT_QUERY_MAX_PARAMS);
    rt_query_free(&q);
    strcat(raw, "b=2");
    ASSERT_EQ(parse(raw, &q), RT_ERR_TOO_LARGE);
    ASSERT_EQ(q.count, 0u);
}

static void url_decode_handles_mixed_case_hex_and_utf8(void)
{
    char out[32];
    ASSERT_EQ(rt_url_decode("caf%C3%a9+x", 11, out), 7);
    ASSERT_STR_EQ(out, "caf\xc3\xa9 x");
}

static void path_decode_keeps_plus(void)
{
    char out[32];
    ASSERT_EQ(rt_path_decode("/a+b%2Fc", 8, out), 6);
    ASSERT_STR_EQ(out, "/a+b/c");
    ASSERT_EQ(rt_path_decode("/%", 2, out), -1);
}

static const struct rt_test tests[] = {
    RT_TEST(plus_and_percent_20_decode_to_space),
    RT_TEST(keys_are_decoded_too),
    RT_TEST(pair_without_equals_has_empty_value),
    RT_TEST(empty_segments_are_skipped),
    RT_TEST(null_or_empty_query_has_no_params),
    RT_TEST(value_keeps_equals_after_the_first),
    RT_TEST(get_returns_first_of_repeated_key_and_is_case_sensitive),
    RT_TEST(bad_percent_escapes_are_invalid),
    RT_TEST(decoded_nul_is_invalid),
    RT_TEST(query_longer_than_max_len_is_too_large),
    RT_TEST(more_than_max_params_is_too_large),
    RT_TEST(url_decode_handles_mixed_case_hex_and_utf8),
    RT_TEST(path_decode_keeps_plus),
};

RT_TEST_MAIN("query", tests)
