/* Unit tests for rt_url_redact: URLs as they may appear in logs, without credentials. */
#include "rt_url.h"

#include "rt_test.h"

static char out[256];

static void plain_url_is_unchanged(void)
{
    ASSERT_EQ(rt_url_redact("https://example.com/pusher/webhook", out, sizeof out),
              strlen("https://example.com/pusher/webhook"));
    ASSERT_STR_EQ(out, "https://example.com/pusher/webhook");
}

static void userinfo_is_removed(void)
{
    rt_url_redact("http://user:pass@127.0.0.1:8080/hook", out, sizeof out);
    ASSERT_STR_EQ(out, "http://127.0.0.1:8080/hook");
}

static void user_without_password_is_removed(void)
{
    rt_url_redact("https://token@example.com/", out, sizeof out);
    ASSERT_STR_EQ(out, "https://example.com/");
}

static void query_is_replaced_by_an_ellipsis(void)
{
    rt_url_redact("https://example.com/hook?token=s3cret&x=1", out, sizeof out);
    ASSERT_STR_EQ(out, "https://example.com/hook?…");
}

static void userinfo_and_query_both_go(void)
{
    rt_url_redact("http://u:p@example.com:81/a/b?k=v#frag", out, sizeof out);
    ASSERT_STR_EQ(out, "http://example.com:81/a/b?…");
}

static void fragment_is_dropped(void)
{
    rt_url_redact("https://example.com/hook#secret", out, sizeof out);
    ASSERT_STR_EQ(out, "https://example.com/hook");
}

static void query_without_path_is_replaced(void)
{
    rt_url_redact("https://example.com?token=x", out, sizeof out);
    ASSERT_STR_EQ(out, "https://example.com?…");
}

static void at_sign_in_path_or_query_is_not_userinfo(void)
{
    rt_url_redact("https://example.com/users/@me?mail=a@b.c", out, sizeof out);
    ASSERT_STR_EQ(out, "https://example.com/users/@me?…");
}

static void password_with_at_sign_is_removed_to_the_last_one(void)
{
    rt_url_redact("http://user:p@ss@example.com/", out, sizeof out);
    ASSERT_STR_EQ(out, "http://example.com/");
}

static void ipv6_host_is_kept(void)
{
    rt_url_redact("http://a:b@[::1]:9000/h?q", out, sizeof out);
    ASSERT_STR_EQ(out, "http://[::1]:9000/h?…");
}

/* "http://u:p?x@host/" is ambiguous (is "p?x" a password or the start of a query?): nothing
 * after the scheme can be shown safely. */
static void ambiguous_authority_is_hidden_entirely(void)
{
    rt_url_redact("http://u:p?x@example.com/hook", out, sizeof out);
    ASSERT_STR_EQ(out, "http://…");
    rt_url_redact("http://example.com#a@b/c", out, sizeof out);
    ASSERT_STR_EQ(out, "http://…");
}

static void text_without_scheme_is_hidden(void)
{
    rt_url_redact("user:pass@example.com/x", out, sizeof out);
    ASSERT_STR_EQ(out, "…");
}

static void long_url_is_truncated_with_an_ellipsis(void)
{
    char small[16];
    size_t n = rt_url_redact("https://example.com/a/very/long/path", small, sizeof small);
    ASSERT_EQ(n, strlen(small));
    ASSERT_STR_EQ(small, "https://exam…");
}

static void tiny_buffer_gets_an_empty_string(void)
{
    char tiny[3] = "xx";
    ASSERT_EQ(rt_url_redact("https://example.com/", tiny, sizeof tiny), 0u);
    ASSERT_STR_EQ(tiny, "");
}

static const struct rt_test tests[] = {
    RT_TEST(plain_url_is_unchanged),
    RT_TEST(userinfo_is_removed),
    RT_TEST(user_without_password_is_removed),
    RT_TEST(query_is_replaced_by_an_ellipsis),
    RT_TEST(userinfo_and_query_both_go),
    RT_TEST(fragment_is_dropped),
    RT_TEST(query_without_path_is_replaced),
    RT_TEST(at_sign_in_path_or_query_is_not_userinfo),
    RT_TEST(password_with_at_sign_is_removed_to_the_last_one),
    RT_TEST(ipv6_host_is_kept),
    RT_TEST(ambiguous_authority_is_hidden_entirely),
    RT_TEST(text_without_scheme_is_hidden),
    RT_TEST(long_url_is_truncated_with_an_ellipsis),
    RT_TEST(tiny_buffer_gets_an_empty_string),
};

RT_TEST_MAIN("url", tests)
