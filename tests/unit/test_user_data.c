/* Unit tests for rt_user_data: presence channel_data and sign-in user_data (§7, §10, §12). */
#include "rt_user_data.h"

#include <stdio.h>
#include <stdlib.h>

#include "rt_err.h"
#include "rt_test.h"

static int member(const char *text, struct rt_member *m)
{
    return rt_member_parse(rt_str_c(text), 1024, m, NULL, 0);
}

static int signin(const char *text, struct rt_signin *s)
{
    return rt_signin_parse(rt_str_c(text), 1024, s, NULL, 0);
}

static void member_with_string_id_and_info(void)
{
    struct rt_member m;
    ASSERT_EQ(member("{\"user_id\":\"42\",\"user_info\":{\"name\": \"Ada\"}}", &m), RT_OK);
    ASSERT_STR_EQ(m.user_id, "42");
    ASSERT_STR_EQ(m.user_info, "{\"name\":\"Ada\"}");
    rt_member_clear(&m);
}

static void member_numeric_user_id_is_normalised_to_decimal_string(void)
{
    struct rt_member m;
    ASSERT_EQ(member("{\"user_id\":10}", &m), RT_OK);
    ASSERT_STR_EQ(m.user_id, "10");
    ASSERT_NULL(m.user_info);
    rt_member_clear(&m);
    ASSERT_EQ(member("{\"user_id\":9007199254740993}", &m), RT_OK);
    ASSERT_STR_EQ(m.user_id, "9007199254740993");
    rt_member_clear(&m);
}

static void member_real_number_user_id_is_invalid(void)
{
    struct rt_member m;
    ASSERT_EQ(member("{\"user_id\":4.5}", &m), RT_ERR_INVALID);
    ASSERT_EQ(member("{\"user_id\":1e3}", &m), RT_ERR_INVALID);
}

static void member_missing_empty_or_bad_user_id_is_invalid(void)
{
    struct rt_member m;
    char err[160] = "";
    ASSERT_EQ(rt_member_parse(rt_str_c("{\"user_info\":{}}"), 1024, &m, err, sizeof err),
              RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "channel_data.user_id must be a non-empty string of at most 128 "
                       "characters [A-Za-z0-9_-=@,.;]");
    ASSERT_EQ(member("{\"user_id\":\"\"}", &m), RT_ERR_INVALID);
    ASSERT_EQ(member("{\"user_id\":null}", &m), RT_ERR_INVALID);
    ASSERT_EQ(member("{\"user_id\":true}", &m), RT_ERR_INVALID);
    ASSERT_EQ(member("{\"user_id\":\"a b\"}", &m), RT_ERR_INVALID);
}

static void member_user_id_of_128_is_valid_and_129_is_not(void)
{
    char text[200];
    struct rt_member m;
    snprintf(text, sizeof text, "{\"user_id\":\"%0128d\"}", 0);
    ASSERT_EQ(member(text, &m), RT_OK);
    ASSERT_EQ(strlen(m.user_id), 128u);
    rt_member_clear(&m);
    snprintf(text, sizeof text, "{\"user_id\":\"%0129d\"}", 0);
    ASSERT_EQ(member(text, &m), RT_ERR_INVALID);
}

static void member_non_object_channel_data_is_invalid(void)
{
    struct rt_member m;
    char err[64] = "";
    ASSERT_EQ(rt_member_parse(rt_str_c("\"42\""), 1024, &m, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "channel_data must be a JSON object");
    ASSERT_EQ(member("not json", &m), RT_ERR_INVALID);
    ASSERT_EQ(rt_member_parse((struct rt_str){NULL, 0}, 1024, &m, NULL, 0), RT_ERR_INVALID);
}

static void member_null_info_is_absent_and_scalar_info_is_kept(void)
{
    struct rt_member m;
    ASSERT_EQ(member("{\"user_id\":\"1\",\"user_info\":null}", &m), RT_OK);
    ASSERT_NULL(m.user_info);
    rt_member_clear(&m);
    ASSERT_EQ(member("{\"user_id\":\"1\",\"user_info\":\"vip\"}", &m), RT_OK);
    ASSERT_STR_EQ(m.user_info, "\"vip\"");
    rt_member_clear(&m);
}

static void member_info_over_limit_is_too_large(void)
{
    struct rt_member m;
    /* compact {"n":"xx"} is 10 bytes */
    ASSERT_EQ(rt_member_parse(rt_str_c("{\"user_id\":\"1\",\"user_info\":{\"n\": \"xx\"}}"), 10, &m,
                              NULL, 0),
              RT_OK);
    rt_member_clear(&m);
    ASSERT_EQ(rt_member_parse(rt_str_c("{\"user_id\":\"1\",\"user_info\":{\"n\":\"xxx\"}}"), 10, &m,
                              NULL, 0),
              RT_ERR_TOO_LARGE);
    ASSERT_NULL(m.user_info);
}

static void signin_with_watchlist(void)
{
    struct rt_signin s;
    ASSERT_EQ(
        signin("{\"id\":\"42\",\"user_info\":{\"name\":\"Ada\"},\"watchlist\":[\"7\",\"9\"]}", &s),
        RT_OK);
    ASSERT_STR_EQ(s.user.user_id, "42");
    ASSERT_STR_EQ(s.user.user_info, "{\"name\":\"Ada\"}");
    ASSERT_EQ(s.watchlist_len, 2u);
    ASSERT_STR_EQ(s.watchlist[0], "7");
    ASSERT_STR_EQ(s.watchlist[1], "9");
    ASSERT_FALSE(s.watchlist_truncated);
    rt_signin_clear(&s);
}

static void signin_numeric_id_is_invalid(void)
{
    struct rt_signin s;
    char err[160] = "";
    ASSERT_EQ(rt_signin_parse(rt_str_c("{\"id\":42}"), 1024, &s, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "user_data.id must be a non-empty string of at most 128 characters "
                       "[A-Za-z0-9_-=@,.;]");
    ASSERT_EQ(signin("{\"id\":\"\"}", &s), RT_ERR_INVALID);
    ASSERT_EQ(signin("{\"user_id\":\"42\"}", &s), RT_ERR_INVALID);
}

static void signin_without_watchlist_has_empty_list(void)
{
    struct rt_signin s;
    ASSERT_EQ(signin("{\"id\":\"42\"}", &s), RT_OK);
    ASSERT_EQ(s.watchlist_len, 0u);
    ASSERT_NULL(s.watchlist);
    ASSERT_NULL(s.user.user_info);
    rt_signin_clear(&s);
}

static void signin_watchlist_over_100_keeps_first_100_and_flags_truncation(void)
{
    char text[2048] = "{\"id\":\"u\",\"watchlist\":[";
    for (int i = 0; i < 150; i++) {
        char item[16];
        snprintf(item, sizeof item, "%s\"%d\"", i ? "," : "", i);
        strcat(text, item);
    }
    strcat(text, "]}");
    struct rt_signin s;
    ASSERT_EQ(signin(text, &s), RT_OK);
    ASSERT_EQ(s.watchlist_len, 100u);
    ASSERT_TRUE(s.watchlist_truncated);
    ASSERT_STR_EQ(s.watchlist[0], "0");
    ASSERT_STR_EQ(s.watchlist[99], "99");
    rt_signin_clear(&s);
}

static void signin_watchlist_of_exactly_100_is_not_truncated(void)
{
    char text[2048] = "{\"id\":\"u\",\"watchlist\":[";
    for (int i = 0; i < 100; i++) {
        char item[16];
        snprintf(item, sizeof item, "%s\"%d\"", i ? "," : "", i);
        strcat(text, item);
    }
    strcat(text, "]}");
    struct rt_signin s;
    ASSERT_EQ(signin(text, &s), RT_OK);
    ASSERT_EQ(s.watchlist_len, 100u);
    ASSERT_FALSE(s.watchlist_truncated);
    rt_signin_clear(&s);
}

static void signin_invalid_watchlist_entry_fails(void)
{
    struct rt_signin s;
    ASSERT_EQ(signin("{\"id\":\"42\",\"watchlist\":[\"7\",7]}", &s), RT_ERR_INVALID);
    ASSERT_EQ(s.watchlist_len, 0u);
    ASSERT_NULL(s.watchlist);
    ASSERT_EQ(signin("{\"id\":\"42\",\"watchlist\":[\"a b\"]}", &s), RT_ERR_INVALID);
    ASSERT_EQ(signin("{\"id\":\"42\",\"watchlist\":\"7\"}", &s), RT_ERR_INVALID);
}

static void signin_info_over_limit_is_too_large(void)
{
    struct rt_signin s;
    ASSERT_EQ(rt_signin_parse(rt_str_c("{\"id\":\"1\",\"user_info\":[1,2,3]}"), 6, &s, NULL, 0),
              RT_ERR_TOO_LARGE);
}

static const struct rt_test tests[] = {
    RT_TEST(member_with_string_id_and_info),
    RT_TEST(member_numeric_user_id_is_normalised_to_decimal_string),
    RT_TEST(member_real_number_user_id_is_invalid),
    RT_TEST(member_missing_empty_or_bad_user_id_is_invalid),
    RT_TEST(member_user_id_of_128_is_valid_and_129_is_not),
    RT_TEST(member_non_object_channel_data_is_invalid),
    RT_TEST(member_null_info_is_absent_and_scalar_info_is_kept),
    RT_TEST(member_info_over_limit_is_too_large),
    RT_TEST(signin_with_watchlist),
    RT_TEST(signin_numeric_id_is_invalid),
    RT_TEST(signin_without_watchlist_has_empty_list),
    RT_TEST(signin_watchlist_over_100_keeps_first_100_and_flags_truncation),
    RT_TEST(signin_watchlist_of_exactly_100_is_not_truncated),
    RT_TEST(signin_invalid_watchlist_entry_fails),
    RT_TEST(signin_info_over_limit_is_too_large),
};

RT_TEST_MAIN("user_data", tests)
