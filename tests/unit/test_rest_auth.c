/* Unit tests for rt_rest_auth: canonical string, verification order and SDK-style signing. */
#include "rt_rest_auth.h"

#include <stdio.h>
#include <stdlib.h>

#include "rt_err.h"
#include "rt_test.h"

#define KEY "278d425bdf160c739803"
#define SECRET "7ad3773142a6692b25b8"
#define TS 1353088179
#define DOCS_BODY                                                                                  \
    "{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":\\\"data\\\"}\"}"
#define DOCS_MD5 "ec365a775a4cd0599faeb73354201b6f"
#define DOCS_SIG "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
#define DOCS_QUERY                                                                                 \
    "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0&body_md5=" DOCS_MD5               \
    "&auth_signature=" DOCS_SIG

static const char *secret_for(void *ctx, const char *key)
{
    (void)ctx;
    return strcmp(key, KEY) == 0 ? SECRET : NULL;
}

/* Parses query and verifies a request against it; returns the rt_rest_verify result. */
static int verify(const char *method, const char *path, const char *query, const char *body,
                  int64_t now, char *err, size_t err_cap)
{
    struct rt_query q;
    char key[64] = "";
    int rc = rt_query_parse(query, strlen(query), &q);
    if (rc != RT_OK) return rc;
    rc = rt_rest_verify(method, path, &q, body, body ? strlen(body) : 0, now, secret_for, NULL, key,
                        sizeof key, err, err_cap);
    rt_query_free(&q);
    return rc;
}

static void string_to_sign_matches_protocol_md_example(void)
{
    struct rt_query q;
    ASSERT_EQ(rt_query_parse(DOCS_QUERY, strlen(DOCS_QUERY), &q), RT_OK);
    char *s = rt_rest_string_to_sign("POST", "/apps/3/events", &q);
    rt_query_free(&q);
    ASSERT_STR_EQ(s, "POST\n/apps/3/events\nauth_key=" KEY
                     "&auth_timestamp=1353088179&auth_version=1.0&body_md5=" DOCS_MD5);
    free(s);
}

static void protocol_md_example_verifies(void)
{
    char err[128] = "";
    ASSERT_EQ(verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, TS, err, sizeof err), RT_OK);
}

static void verify_copies_key_used(void)
{
    struct rt_query q;
    char key[64] = "";
    ASSERT_EQ(rt_query_parse(DOCS_QUERY, strlen(DOCS_QUERY), &q), RT_OK);
    int rc = rt_rest_verify("POST", "/apps/3/events", &q, DOCS_BODY, strlen(DOCS_BODY), TS,
                            secret_for, NULL, key, sizeof key, NULL, 0);
    rt_query_free(&q);
    ASSERT_EQ(rc, RT_OK);
    ASSERT_STR_EQ(key, KEY);
}

static void keys_are_lowercased_and_sorted_and_values_not_reescaped(void)
{
    struct rt_query q;
    const char raw[] = "Zeta=1&name=Something%20else&Alpha=x+y";
    ASSERT_EQ(rt_query_parse(raw, strlen(raw), &q), RT_OK);
    char *s = rt_rest_string_to_sign("get", "/apps/3/channels", &q);
    rt_query_free(&q);
    ASSERT_STR_EQ(s, "GET\n/apps/3/channels\nalpha=x y&name=Something else&zeta=1");
    free(s);
}

static void repeated_keys_are_joined_with_commas_in_order(void)
{
    struct rt_query q;
    const char raw[] = "info=b&a=1&info=a&INFO=c";
    ASSERT_EQ(rt_query_parse(raw, strlen(raw), &q), RT_OK);
    char *s = rt_rest_string_to_sign("GET", "/p", &q);
    rt_query_free(&q);
    ASSERT_STR_EQ(s, "GET\n/p\na=1&info=b,a,c");
    free(s);
}

static void auth_signature_is_excluded_from_string_to_sign(void)
{
    struct rt_query q;
    const char raw[] = "auth_signature=x&b=2&AUTH_SIGNATURE=y";
    ASSERT_EQ(rt_query_parse(raw, strlen(raw), &q), RT_OK);
    char *s = rt_rest_string_to_sign("GET", "/p", &q);
    rt_query_free(&q);
    ASSERT_STR_EQ(s, "GET\n/p\nb=2");
    free(s);
}

static void empty_query_gives_trailing_newline(void)
{
    struct rt_query q = {.count = 0};
    char *s = rt_rest_string_to_sign("GET", "/p", &q);
    ASSERT_STR_EQ(s, "GET\n/p\n");
    free(s);
}

static void timestamp_600_seconds_off_is_accepted(void)
{
    ASSERT_EQ(verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, TS + 600, NULL, 0), RT_OK);
    ASSERT_EQ(verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, TS - 600, NULL, 0), RT_OK);
}

static void timestamp_601_seconds_off_is_expired(void)
{
    char err[128] = "";
    ASSERT_EQ(verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, TS + 601, err, sizeof err),
              RT_ERR_EXPIRED);
    ASSERT_STR_EQ(err, "auth_timestamp is more than 600 s from server time; check the client "
                       "clock");
    ASSERT_EQ(verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, TS - 601, NULL, 0),
              RT_ERR_EXPIRED);
}

static void non_integer_timestamp_is_invalid(void)
{
    char q[512];
    snprintf(q, sizeof q,
             "auth_key=" KEY "&auth_timestamp=1353088179.5&auth_version=1.0"
             "&body_md5=" DOCS_MD5 "&auth_signature=" DOCS_SIG);
    ASSERT_EQ(verify("POST", "/apps/3/events", q, DOCS_BODY, TS, NULL, 0), RT_ERR_INVALID);
    snprintf(q, sizeof q,
             "auth_key=" KEY "&auth_timestamp=-5&auth_version=1.0"
             "&body_md5=" DOCS_MD5 "&auth_signature=" DOCS_SIG);
    ASSERT_EQ(verify("POST", "/apps/3/events", q, DOCS_BODY, TS, NULL, 0), RT_ERR_INVALID);
}

static void body_md5_mismatch_is_bad_signature(void)
{
    char err[128] = "";
    ASSERT_EQ(
        verify("POST", "/apps/3/events", DOCS_QUERY, "{\"name\":\"bar\"}", TS, err, sizeof err),
        RT_ERR_BAD_SIGNATURE);
    ASSERT_STR_EQ(err, "body_md5 does not match the request body");
}

static void missing_body_md5_with_body_is_invalid(void)
{
    const char q[] = "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0"
                     "&auth_signature=" DOCS_SIG;
    char err[128] = "";
    ASSERT_EQ(verify("POST", "/apps/3/events", q, DOCS_BODY, TS, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Missing body_md5 in query string");
}

static void body_md5_present_with_empty_body_must_match_empty_md5(void)
{
    ASSERT_EQ(verify("POST", "/apps/3/events", DOCS_QUERY, "", TS, NULL, 0), RT_ERR_BAD_SIGNATURE);
}

static void missing_auth_key_is_invalid(void)
{
    char err[128] = "";
    ASSERT_EQ(verify("GET", "/p", "auth_timestamp=1353088179&auth_version=1.0", NULL, TS, err,
                     sizeof err),
              RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Missing auth_key in query string");
}

static void unknown_key_is_unknown_key(void)
{
    char err[128] = "";
    ASSERT_EQ(verify("GET", "/p", "auth_key=nope&auth_timestamp=1353088179&auth_version=1.0", NULL,
                     TS, err, sizeof err),
              RT_ERR_UNKNOWN_KEY);
    ASSERT_STR_EQ(err, "Unknown auth_key");
}

static void missing_timestamp_version_or_signature_is_invalid(void)
{
    ASSERT_EQ(verify("GET", "/p", "auth_key=" KEY "&auth_version=1.0&auth_signature=x", NULL, TS,
                     NULL, 0),
              RT_ERR_INVALID);
    ASSERT_EQ(verify("GET", "/p", "auth_key=" KEY "&auth_timestamp=1353088179&auth_signature=x",
                     NULL, TS, NULL, 0),
              RT_ERR_INVALID);
    char err[128] = "";
    ASSERT_EQ(verify("GET", "/p", "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0",
                     NULL, TS, err, sizeof err),
              RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Missing auth_signature in query string");
}

static void wrong_auth_version_is_invalid(void)
{
    char err[128] = "";
    ASSERT_EQ(verify("GET", "/p",
                     "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=2.0&auth_signature=x",
                     NULL, TS, err, sizeof err),
              RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "Unsupported auth_version (expected 1.0)");
}

static void repeated_auth_parameter_is_invalid(void)
{
    char q[512];
    snprintf(q, sizeof q, "%s&auth_timestamp=1353088179", DOCS_QUERY);
    ASSERT_EQ(verify("POST", "/apps/3/events", q, DOCS_BODY, TS, NULL, 0), RT_ERR_INVALID);
}

static void wrong_signature_is_bad_signature_and_not_echoed(void)
{
    const char q[] =
        "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0&body_md5=" DOCS_MD5
        "&auth_signature=0000000000000000000000000000000000000000000000000000000000000000";
    char err[256] = "";
    ASSERT_EQ(verify("POST", "/apps/3/events", q, DOCS_BODY, TS, err, sizeof err),
              RT_ERR_BAD_SIGNATURE);
    ASSERT_STR_EQ(err, "Invalid auth_signature");
}

static void signature_for_other_path_or_method_is_rejected(void)
{
    ASSERT_EQ(verify("POST", "/apps/4/events", DOCS_QUERY, DOCS_BODY, TS, NULL, 0),
              RT_ERR_BAD_SIGNATURE);
    ASSERT_EQ(verify("PUT", "/apps/3/events", DOCS_QUERY, DOCS_BODY, TS, NULL, 0),
              RT_ERR_BAD_SIGNATURE);
}

static void extra_param_not_signed_is_rejected(void)
{
    char q[512];
    snprintf(q, sizeof q, "%s&info=user_count", DOCS_QUERY);
    ASSERT_EQ(verify("POST", "/apps/3/events", q, DOCS_BODY, TS, NULL, 0), RT_ERR_BAD_SIGNATURE);
}

static void percent_encoded_path_also_verifies_decoded(void)
{
    /* Signed over the decoded path, received encoded. */
    char *query =
        rt_rest_sign("GET", "/apps/3/channels/presence-a@b", KEY, SECRET, NULL, 0, TS, NULL);
    ASSERT_NOT_NULL(query);
    int rc = verify("GET", "/apps/3/channels/presence-a%40b", query, NULL, TS, NULL, 0);
    free(query);
    ASSERT_EQ(rc, RT_OK);
}

static void key_longer_than_key_cap_is_unknown(void)
{
    struct rt_query q;
    char key[8];
    ASSERT_EQ(rt_query_parse(DOCS_QUERY, strlen(DOCS_QUERY), &q), RT_OK);
    int rc = rt_rest_verify("POST", "/apps/3/events", &q, DOCS_BODY, strlen(DOCS_BODY), TS,
                            secret_for, NULL, key, sizeof key, NULL, 0);
    rt_query_free(&q);
    ASSERT_EQ(rc, RT_ERR_UNKNOWN_KEY);
}

static void sign_reproduces_protocol_md_example(void)
{
    char *query =
        rt_rest_sign("POST", "/apps/3/events", KEY, SECRET, DOCS_BODY, strlen(DOCS_BODY), TS, NULL);
    ASSERT_STR_EQ(query, DOCS_QUERY);
    free(query);
}

static void sign_without_body_omits_body_md5_and_appends_extra(void)
{
    char *query = rt_rest_sign("GET", "/apps/3/channels", KEY, SECRET, NULL, 0, TS,
                               "filter_by_prefix=presence-&info=user_count");
    ASSERT_NOT_NULL(query);
    ASSERT_NULL(strstr(query, "body_md5"));
    const char prefix[] = "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0"
                          "&auth_signature=";
    ASSERT_EQ(strncmp(query, prefix, sizeof prefix - 1), 0);
    ASSERT_NOT_NULL(strstr(query, "&filter_by_prefix=presence-&info=user_count"));
    int rc = verify("GET", "/apps/3/channels", query, NULL, TS, NULL, 0);
    free(query);
    ASSERT_EQ(rc, RT_OK);
}

static void sign_rejects_malformed_extra_query(void)
{
    ASSERT_NULL(rt_rest_sign("GET", "/p", KEY, SECRET, NULL, 0, TS, "a=%zz"));
}

static const struct rt_test tests[] = {
    RT_TEST(string_to_sign_matches_protocol_md_example),
    RT_TEST(protocol_md_example_verifies),
    RT_TEST(verify_copies_key_used),
    RT_TEST(keys_are_lowercased_and_sorted_and_values_not_reescaped),
    RT_TEST(repeated_keys_are_joined_with_commas_in_order),
    RT_TEST(auth_signature_is_excluded_from_string_to_sign),
    RT_TEST(empty_query_gives_trailing_newline),
    RT_TEST(timestamp_600_seconds_off_is_accepted),
    RT_TEST(timestamp_601_seconds_off_is_expired),
    RT_TEST(non_integer_timestamp_is_invalid),
    RT_TEST(body_md5_mismatch_is_bad_signature),
    RT_TEST(missing_body_md5_with_body_is_invalid),
    RT_TEST(body_md5_present_with_empty_body_must_match_empty_md5),
    RT_TEST(missing_auth_key_is_invalid),
    RT_TEST(unknown_key_is_unknown_key),
    RT_TEST(missing_timestamp_version_or_signature_is_invalid),
    RT_TEST(wrong_auth_version_is_invalid),
    RT_TEST(repeated_auth_parameter_is_invalid),
    RT_TEST(wrong_signature_is_bad_signature_and_not_echoed),
    RT_TEST(signature_for_other_path_or_method_is_rejected),
    RT_TEST(extra_param_not_signed_is_rejected),
    RT_TEST(percent_encoded_path_also_verifies_decoded),
    RT_TEST(key_longer_than_key_cap_is_unknown),
    RT_TEST(sign_reproduces_protocol_md_example),
    RT_TEST(sign_without_body_omits_body_md5_and_appends_extra),
    RT_TEST(sign_rejects_malformed_extra_query),
};

RT_TEST_MAIN("rest_auth", tests)
