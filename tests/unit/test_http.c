/* Unit tests for rt_http: bounded request head parsing. */
#include "rt_http.h"

#include <stdlib.h>

#include "rt_test.h"

static long parse(const char *text, struct rt_http_req *req)
{
    size_t scanned = 0;
    return rt_http_parse_head(text, strlen(text), &scanned, req);
}

static bool str_is(struct rt_str s, const char *want)
{
    return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void request_line_and_fields_are_split(void)
{
    struct rt_http_req req;
    const char *text = "POST /apps/1/events?auth_key=k&x=%20 HTTP/1.1\r\nHost: a\r\n"
                       "Content-Length:  12 \r\nX-Empty:\r\n\r\nbody...";
    ASSERT_EQ(parse(text, &req), (long)(strstr(text, "body") - text));
    ASSERT_TRUE(str_is(req.method, "POST"));
    ASSERT_TRUE(str_is(req.path, "/apps/1/events"));
    ASSERT_TRUE(str_is(req.query, "auth_key=k&x=%20"));
    ASSERT_EQ(req.minor_version, 1);
    ASSERT_EQ(req.n_headers, 3u);
    ASSERT_TRUE(str_is(rt_http_header(&req, "content-length"), "12"));
    ASSERT_TRUE(str_is(rt_http_header(&req, "HOST"), "a"));
    ASSERT_EQ(rt_http_header(&req, "x-empty").n, 0u);
    ASSERT_NOT_NULL(rt_http_header(&req, "x-empty").p);
    ASSERT_NULL(rt_http_header(&req, "missing").p);
}

static void a_path_without_query_has_no_query(void)
{
    struct rt_http_req req;
    ASSERT_TRUE(parse("GET /health HTTP/1.0\r\n\r\n", &req) > 0);
    ASSERT_TRUE(str_is(req.path, "/health"));
    ASSERT_NULL(req.query.p);
    ASSERT_EQ(req.minor_version, 0);
}

static void bare_newlines_are_accepted(void)
{
    struct rt_http_req req;
    ASSERT_EQ(parse("GET / HTTP/1.1\nHost: x\n\n", &req), 24);
    ASSERT_TRUE(str_is(rt_http_header(&req, "host"), "x"));
}

static void an_incomplete_head_asks_for_more(void)
{
    struct rt_http_req req;
    const char *text = "GET /app/key HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t scanned = 0;
    for (size_t i = 0; i < strlen(text); i++)
        ASSERT_EQ(rt_http_parse_head(text, i, &scanned, &req), 0);
    ASSERT_EQ(rt_http_parse_head(text, strlen(text), &scanned, &req), (long)strlen(text));
}

static void a_head_over_the_limit_is_431(void)
{
    struct rt_http_req req;
    size_t n = RT_HTTP_MAX_HEAD + 10;
    char *big = malloc(n + 1);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', n - 19);
    big[n] = '\0';
    ASSERT_EQ(parse(big, &req), -431);
    free(big);
    /* too many fields */
    char many[4096] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < RT_HTTP_MAX_HEADERS + 1; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    ASSERT_EQ(parse(many, &req), -431);
}

static void malformed_heads_are_400_and_other_versions_505(void)
{
    struct rt_http_req req;
    ASSERT_EQ(parse("GET / HTTP/2.0\r\n\r\n", &req), -505);
    ASSERT_EQ(parse("GET /\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("GET http://x/ HTTP/1.1\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("GET / HTTP/1.1\r\n folded: x\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("GET / HTTP/1.1\r\nno colon\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("G(T / HTTP/1.1\r\n\r\n", &req), -400);
    ASSERT_EQ(parse("GET /a\x7f HTTP/1.1\r\n\r\n", &req), -400);
}

static void connection_tokens_are_matched_case_insensitively(void)
{
    ASSERT_TRUE(rt_http_has_token(rt_str_c("keep-alive, Upgrade"), "upgrade"));
    ASSERT_TRUE(rt_http_has_token(rt_str_c("close"), "close"));
    ASSERT_FALSE(rt_http_has_token(rt_str_c("keep-alive-ish"), "keep-alive"));
    ASSERT_FALSE(rt_http_has_token((struct rt_str){NULL, 0}, "close"));
}

static void content_length_is_digits_only(void)
{
    uint64_t v;
    ASSERT_EQ(rt_http_content_length(rt_str_c("1024"), &v), 0);
    ASSERT_EQ(v, 1024u);
    ASSERT_EQ(rt_http_content_length(rt_str_c("-1"), &v), -1);
    ASSERT_EQ(rt_http_content_length(rt_str_c("1e3"), &v), -1);
    ASSERT_EQ(rt_http_content_length(rt_str_c(""), &v), -1);
    ASSERT_EQ(rt_http_content_length(rt_str_c("9999999999999999999"), &v), -1);
}

static const struct rt_test tests[] = {
    RT_TEST(request_line_and_fields_are_split),
    RT_TEST(a_path_without_query_has_no_query),
    RT_TEST(bare_newlines_are_accepted),
    RT_TEST(an_incomplete_head_asks_for_more),
    RT_TEST(a_head_over_the_limit_is_431),
    RT_TEST(malformed_heads_are_400_and_other_versions_505),
    RT_TEST(connection_tokens_are_matched_case_insensitively),
    RT_TEST(content_length_is_digits_only),
};

RT_TEST_MAIN("http", tests)
