/* Unit tests for rt_redis_url: RT_REDIS_URL into host, port and password. */
#include "rt_redis_url.h"

#include "rt_test.h"

static struct rt_redis_url u;
static char err[160];

static int parse(const char *url)
{
    err[0] = '\0';
    return rt_redis_url_parse(url, &u, err, sizeof err);
}

static void host_and_port(void)
{
    ASSERT_EQ(parse("redis://cache.internal:6380"), 0);
    ASSERT_STR_EQ(u.host, "cache.internal");
    ASSERT_EQ(u.port, 6380);
    ASSERT_STR_EQ(u.password, "");
}

static void port_defaults_to_6379_and_db_path_is_ignored(void)
{
    ASSERT_EQ(parse("redis://10.0.0.5"), 0);
    ASSERT_STR_EQ(u.host, "10.0.0.5");
    ASSERT_EQ(u.port, 6379);
    ASSERT_EQ(parse("redis://redis/3"), 0);
    ASSERT_STR_EQ(u.host, "redis");
    ASSERT_EQ(u.port, 6379);
    ASSERT_EQ(parse("redis://redis:7000/0"), 0);
    ASSERT_EQ(u.port, 7000);
}

static void password_with_or_without_user(void)
{
    ASSERT_EQ(parse("redis://:s3cret@db:6379"), 0);
    ASSERT_STR_EQ(u.password, "s3cret");
    ASSERT_STR_EQ(u.host, "db");
    ASSERT_EQ(parse("redis://default:pa:ss@db"), 0);
    ASSERT_STR_EQ(u.password, "pa:ss");
    ASSERT_EQ(parse("redis://tok@en@db"), 0);
    ASSERT_STR_EQ(u.password, "tok@en");
    ASSERT_STR_EQ(u.host, "db");
}

static void bracketed_ipv6_literal(void)
{
    ASSERT_EQ(parse("redis://[::1]:6390"), 0);
    ASSERT_STR_EQ(u.host, "::1");
    ASSERT_EQ(u.port, 6390);
    ASSERT_EQ(parse("redis://[::1"), -1);
    ASSERT_EQ(parse("redis://[fe80::1%eth0]"), -1);
}

static void scheme_is_required(void)
{
    ASSERT_EQ(parse("http://x"), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL must look like redis://host:port");
    ASSERT_EQ(parse(NULL), -1);
}

static void missing_or_invalid_host_is_rejected(void)
{
    ASSERT_EQ(parse("redis://"), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL has no valid host (expected redis://host:port)");
    ASSERT_EQ(parse("redis://:6379"), -1);
    ASSERT_EQ(parse("redis://pw@"), -1);
    ASSERT_EQ(parse("redis://bad host:1"), -1);
    ASSERT_EQ(parse("redis://a?b"), -1);
}

static void host_is_bounded_at_255(void)
{
    char url[400];
    memcpy(url, "redis://", 8);
    memset(url + 8, 'h', 255);
    url[8 + 255] = '\0';
    ASSERT_EQ(parse(url), 0);
    ASSERT_EQ(strlen(u.host), 255u);
    url[8 + 255] = 'h';
    url[8 + 256] = '\0';
    ASSERT_EQ(parse(url), -1);
}

static void password_is_bounded_at_255(void)
{
    char url[400];
    memcpy(url, "redis://:", 9);
    memset(url + 9, 'p', 255);
    memcpy(url + 9 + 255, "@h", 3);
    ASSERT_EQ(parse(url), 0);
    ASSERT_EQ(strlen(u.password), 255u);
    memset(url + 9, 'p', 256);
    memcpy(url + 9 + 256, "@h", 3);
    ASSERT_EQ(parse(url), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL has a password longer than 255 bytes");
}

static void port_must_be_1_to_65535_digits(void)
{
    ASSERT_EQ(parse("redis://h:65535"), 0);
    ASSERT_EQ(u.port, 65535);
    ASSERT_EQ(parse("redis://h:1"), 0);
    ASSERT_EQ(u.port, 1);
    const char *bad[] = {"redis://h:0",  "redis://h:65536", "redis://h:",       "redis://h:-1",
                         "redis://h:1x", "redis://h:+80",   "redis://h:0006379"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(parse(bad[i]), -1);
        ASSERT_STR_EQ(err, "RT_REDIS_URL has an invalid port (expected redis://host:port)");
    }
}

static const struct rt_test tests[] = {
    RT_TEST(host_and_port),
    RT_TEST(port_defaults_to_6379_and_db_path_is_ignored),
    RT_TEST(password_with_or_without_user),
    RT_TEST(bracketed_ipv6_literal),
    RT_TEST(scheme_is_required),
    RT_TEST(missing_or_invalid_host_is_rejected),
    RT_TEST(host_is_bounded_at_255),
    RT_TEST(password_is_bounded_at_255),
    RT_TEST(port_must_be_1_to_65535_digits),
};

RT_TEST_MAIN("redis_url", tests)
