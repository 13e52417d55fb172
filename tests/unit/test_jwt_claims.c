/* Unit tests for rt_jwt_claims: claim checks of connection tokens and channel grants. */
#include "rt_jwt_claims.h"

#include <stdio.h>
#include <stdlib.h>

#include "rt_test.h"

#define NOW 1700000000LL

static const struct rt_jwt_expect want = {
    .app_id = "1234567", .app_key = "0a1b2c3d4e5f60718293", .now = NOW, .max_info_bytes = 64};

static char err[200];

static enum rt_jwt_reject parse(const char *payload, struct rt_jwt_claims *c)
{
    err[0] = '\0';
    return rt_jwt_claims_parse(rt_str_c(payload), &want, c, err, sizeof err);
}

/* A valid payload with the given extra members spliced in before the closing brace. */
static const char *valid(const char *extra)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"sub\":\"u1\",\"aud\":\"0a1b2c3d4e5f60718293\",\"iat\":%lld,\"exp\":%lld%s}", NOW,
             NOW + 300, extra);
    return buf;
}

static void valid_token_fills_sub_exp_and_nothing_else(void)
{
    struct rt_jwt_claims c;
    ASSERT_EQ(parse(valid(""), &c), RT_JWT_OK);
    ASSERT_STR_EQ(c.sub, "u1");
    ASSERT_EQ(c.exp, NOW + 300);
    ASSERT_NULL(c.user_info);
    ASSERT_EQ(c.n_channels, 0);
    ASSERT_EQ(c.watchlist_len, 0);
    rt_jwt_claims_clear(&c);
}

static void exp_is_required_and_must_be_a_number(void)
{
    struct rt_jwt_claims c;
    ASSERT_EQ(parse("{\"sub\":\"u1\",\"aud\":\"1234567\"}", &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token has no exp claim");
    ASSERT_EQ(parse("{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":\"soon\"}", &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token exp must be a number of seconds");
}

static void expired_only_after_the_30_second_leeway(void)
{
    struct rt_jwt_claims c;
    char p[200];
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld}", NOW - 30);
    ASSERT_EQ(parse(p, &c), RT_JWT_OK);
    rt_jwt_claims_clear(&c);
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld}", NOW - 31);
    ASSERT_EQ(parse(p, &c), RT_JWT_EXPIRED);
    ASSERT_STR_EQ(err, "Token expired");
}

static void real_number_exp_counts_by_its_whole_seconds(void)
{
    struct rt_jwt_claims c;
    char p[200];
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld.9}", NOW + 10);
    ASSERT_EQ(parse(p, &c), RT_JWT_OK);
    ASSERT_EQ(c.exp, NOW + 10);
    rt_jwt_claims_clear(&c);
}

static void nbf_or_iat_in_the_future_is_not_yet_valid(void)
{
    struct rt_jwt_claims c;
    char p[200];
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld,\"nbf\":%lld}",
             NOW + 600, NOW + 31);
    ASSERT_EQ(parse(p, &c), RT_JWT_NOT_YET_VALID);
    ASSERT_STR_EQ(err, "Token not valid yet (nbf is in the future)");
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 600, NOW + 31);
    ASSERT_EQ(parse(p, &c), RT_JWT_NOT_YET_VALID);
    ASSERT_STR_EQ(err, "Token not valid yet (iat is in the future)");
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld,\"nbf\":%lld}",
             NOW + 600, NOW + 30);
    ASSERT_EQ(parse(p, &c), RT_JWT_OK);
    rt_jwt_claims_clear(&c);
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":\"1234567\",\"exp\":%lld,\"nbf\":true}",
             NOW + 600);
    ASSERT_EQ(parse(p, &c), RT_JWT_CLAIMS);
}

static void audience_is_the_app_key_or_the_app_id_or_an_array_holding_one(void)
{
    struct rt_jwt_claims c;
    char p[300];
    const char *ok[] = {"\"1234567\"", "\"0a1b2c3d4e5f60718293\"", "[\"other\",\"1234567\"]"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":%s,\"exp\":%lld}", ok[i], NOW + 60);
        ASSERT_EQ(parse(p, &c), RT_JWT_OK);
        rt_jwt_claims_clear(&c);
    }
    const char *bad[] = {"\"7654321\"", "[]", "[\"x\"]", "1234567", "null"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "{\"sub\":\"u1\",\"aud\":%s,\"exp\":%lld}", bad[i], NOW + 60);
        ASSERT_EQ(parse(p, &c), RT_JWT_AUDIENCE);
        ASSERT_STR_EQ(err, "Token audience is not this app: aud must be the app key or the app id");
    }
    snprintf(p, sizeof p, "{\"sub\":\"u1\",\"exp\":%lld}", NOW + 60);
    ASSERT_EQ(parse(p, &c), RT_JWT_AUDIENCE);
    ASSERT_STR_EQ(err, "Token has no aud claim");
}

static void sub_must_be_a_valid_user_id_string(void)
{
    struct rt_jwt_claims c;
    char p[400];
    const char *bad[] = {"", ",\"sub\":\"\"", ",\"sub\":42", ",\"sub\":\"a b\"",
                         ",\"sub\":[\"u1\"]"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "{\"aud\":\"1234567\",\"exp\":%lld%s}", NOW + 60, bad[i]);
        ASSERT_EQ(parse(p, &c), RT_JWT_CLAIMS);
        ASSERT_STR_EQ(err, "Token sub must be a user id: 1-128 characters [A-Za-z0-9_-=@,.;]");
    }
    char long_id[130];
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    snprintf(p, sizeof p, "{\"aud\":\"1234567\",\"exp\":%lld,\"sub\":\"%s\"}", NOW + 60, long_id);
    ASSERT_EQ(parse(p, &c), RT_JWT_CLAIMS);
}

static void payload_that_is_not_a_json_object_is_malformed(void)
{
    struct rt_jwt_claims c;
    ASSERT_EQ(parse("[1]", &c), RT_JWT_MALFORMED);
    ASSERT_EQ(parse("{\"sub\":", &c), RT_JWT_MALFORMED);
    ASSERT_EQ(parse("{\"sub\":\"a\",\"sub\":\"b\"}", &c), RT_JWT_MALFORMED);
    ASSERT_STR_EQ(err, "Token payload must be a JSON object");
    ASSERT_EQ(rt_jwt_claims_parse((struct rt_str){NULL, 0}, &want, &c, NULL, 0), RT_JWT_MALFORMED);
}

static void channels_are_kept_in_order(void)
{
    struct rt_jwt_claims c;
    ASSERT_EQ(parse(valid(",\"channels\":[\"private-a\",\"presence-room-*\","
                          "\"private-encrypted-*\"]"),
                    &c),
              RT_JWT_OK);
    ASSERT_EQ(c.n_channels, 3);
    ASSERT_STR_EQ(c.channels[0], "private-a");
    ASSERT_STR_EQ(c.channels[1], "presence-room-*");
    ASSERT_STR_EQ(c.channels[2], "private-encrypted-*");
    rt_jwt_claims_clear(&c);
    ASSERT_EQ(parse(valid(",\"channels\":[]"), &c), RT_JWT_OK);
    ASSERT_EQ(c.n_channels, 0);
    rt_jwt_claims_clear(&c);
}

static void channels_must_be_private_or_presence_names_or_patterns(void)
{
    struct rt_jwt_claims c;
    const char *bad[] = {",\"channels\":\"private-a\"",     ",\"channels\":[\"*\"]",
                         ",\"channels\":[\"public\"]",      ",\"channels\":[\"*-private-a\"]",
                         ",\"channels\":[\"private-a b\"]", ",\"channels\":[\"#server-to-user-1\"]",
                         ",\"channels\":[\"private-a\",7]", ",\"channels\":[\"priv*\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(parse(valid(bad[i]), &c), RT_JWT_CLAIMS);
    ASSERT_EQ(parse(valid(",\"channels\":[\"private-a\",\"cache-x\"]"), &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token channels[1] must be a private-, presence- or private-encrypted- "
                       "channel name (with * as a wildcard)");
}

static void channels_over_the_limit_are_refused(void)
{
    struct rt_jwt_claims c;
    char extra[4096] = ",\"channels\":[";
    for (int i = 0; i <= RT_JWT_CHANNELS_MAX; i++)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s\"private-%d\"",
                 i ? "," : "", i);
    strcat(extra, "]");
    ASSERT_EQ(parse(valid(extra), &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token channels has more than 100 entries");
}

static void user_info_must_be_an_object_within_the_size_limit(void)
{
    struct rt_jwt_claims c;
    ASSERT_EQ(parse(valid(",\"user_info\":{\"name\": \"Ada\"}"), &c), RT_JWT_OK);
    ASSERT_STR_EQ(c.user_info, "{\"name\":\"Ada\"}");
    rt_jwt_claims_clear(&c);
    ASSERT_EQ(parse(valid(",\"user_info\":\"Ada\""), &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token user_info must be a JSON object");
    /* 64 bytes is the limit of `want`: {"n":"<57 digits>"} is 65 bytes */
    char extra[128];
    snprintf(extra, sizeof extra, ",\"user_info\":{\"n\":\"%057d\"}", 0);
    ASSERT_EQ(parse(valid(extra), &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token user_info is larger than 64 bytes");
    snprintf(extra, sizeof extra, ",\"user_info\":{\"n\":\"%056d\"}", 0);
    ASSERT_EQ(parse(valid(extra), &c), RT_JWT_OK);
    rt_jwt_claims_clear(&c);
}

static void watchlist_is_an_array_of_user_ids(void)
{
    struct rt_jwt_claims c;
    ASSERT_EQ(parse(valid(",\"watchlist\":[\"a\",\"b\"]"), &c), RT_JWT_OK);
    ASSERT_EQ(c.watchlist_len, 2);
    ASSERT_STR_EQ(c.watchlist[1], "b");
    rt_jwt_claims_clear(&c);
    ASSERT_EQ(parse(valid(",\"watchlist\":[\"a\",\"\"]"), &c), RT_JWT_CLAIMS);
    ASSERT_STR_EQ(err, "Token watchlist has an invalid user id");
    ASSERT_EQ(parse(valid(",\"watchlist\":\"a\""), &c), RT_JWT_CLAIMS);
}

static void expiry_is_reported_before_a_bad_sub(void)
{
    struct rt_jwt_claims c;
    char p[200];
    snprintf(p, sizeof p, "{\"sub\":\"\",\"aud\":\"nope\",\"exp\":%lld}", NOW - 100);
    ASSERT_EQ(parse(p, &c), RT_JWT_EXPIRED);
}

static bool glob(const char *pattern, const char *name)
{
    return rt_jwt_glob_match(rt_str_c(pattern), rt_str_c(name));
}

static void glob_star_matches_any_run_within_the_name(void)
{
    ASSERT_TRUE(glob("presence-room-*", "presence-room-42"));
    ASSERT_TRUE(glob("presence-room-*", "presence-room-"));
    ASSERT_TRUE(glob("private-*-orders", "private-shop-7-orders"));
    ASSERT_TRUE(glob("private-*-*-x", "private-a-b-c-x"));
    ASSERT_TRUE(glob("private-a", "private-a"));
    ASSERT_FALSE(glob("private-a", "private-ab"));
    ASSERT_FALSE(glob("presence-room-*", "presence-roo"));
    ASSERT_FALSE(glob("private-*-orders", "private-shop-orders-x"));
    ASSERT_FALSE(glob("private-*", "presence-x"));
}

static void glob_with_many_stars_on_a_long_name_finishes(void)
{
    char pattern[201], name[201];
    for (int i = 0; i < 200; i++) {
        pattern[i] = i % 2 ? '*' : 'a';
        name[i] = 'a';
    }
    pattern[199] = 'a'; /* "a*a*...*a" against "aa...ab" */
    pattern[200] = name[200] = '\0';
    name[199] = 'b';
    ASSERT_FALSE(glob(pattern, name));
}

static void channel_granted_by_name_or_pattern(void)
{
    char *grants[] = {"private-a", "presence-room-*"};
    ASSERT_TRUE(rt_jwt_channel_granted(grants, 2, rt_str_c("private-a")));
    ASSERT_TRUE(rt_jwt_channel_granted(grants, 2, rt_str_c("presence-room-1")));
    ASSERT_FALSE(rt_jwt_channel_granted(grants, 2, rt_str_c("private-b")));
    ASSERT_FALSE(rt_jwt_channel_granted(grants, 0, rt_str_c("private-a")));
}

static void reject_names_are_the_metric_labels(void)
{
    ASSERT_STR_EQ(rt_jwt_reject_name(RT_JWT_EXPIRED), "expired");
    ASSERT_STR_EQ(rt_jwt_reject_name(RT_JWT_UNKNOWN_KEY), "unknown_key");
    ASSERT_STR_EQ(rt_jwt_reject_name(RT_JWT_NOT_YET_VALID), "not_yet_valid");
    ASSERT_STR_EQ(rt_jwt_reject_name(RT_JWT_MISSING), "missing");
    ASSERT_STR_EQ(rt_jwt_reject_name(RT_JWT_REJECT_COUNT), "unknown");
}

static const struct rt_test tests[] = {
    RT_TEST(valid_token_fills_sub_exp_and_nothing_else),
    RT_TEST(exp_is_required_and_must_be_a_number),
    RT_TEST(expired_only_after_the_30_second_leeway),
    RT_TEST(real_number_exp_counts_by_its_whole_seconds),
    RT_TEST(nbf_or_iat_in_the_future_is_not_yet_valid),
    RT_TEST(audience_is_the_app_key_or_the_app_id_or_an_array_holding_one),
    RT_TEST(sub_must_be_a_valid_user_id_string),
    RT_TEST(payload_that_is_not_a_json_object_is_malformed),
    RT_TEST(channels_are_kept_in_order),
    RT_TEST(channels_must_be_private_or_presence_names_or_patterns),
    RT_TEST(channels_over_the_limit_are_refused),
    RT_TEST(user_info_must_be_an_object_within_the_size_limit),
    RT_TEST(watchlist_is_an_array_of_user_ids),
    RT_TEST(expiry_is_reported_before_a_bad_sub),
    RT_TEST(glob_star_matches_any_run_within_the_name),
    RT_TEST(glob_with_many_stars_on_a_long_name_finishes),
    RT_TEST(channel_granted_by_name_or_pattern),
    RT_TEST(reject_names_are_the_metric_labels),
};

RT_TEST_MAIN("jwt_claims", tests)
