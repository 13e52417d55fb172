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

/* ---------------------------------------------------------------- seed lists */

static struct rt_redis_url seeds[4];
static size_t n_seeds;

static int parse_seeds(const char *url, size_t cap)
{
    err[0] = '\0';
    n_seeds = 99;
    return rt_redis_seeds_parse(url, seeds, cap, &n_seeds, err, sizeof err);
}

static void seed_list_gives_every_host_and_port(void)
{
    ASSERT_EQ(parse_seeds("redis://127.0.0.1:7001,127.0.0.1:7002,cache-3.internal:7003", 4), 0);
    ASSERT_EQ(n_seeds, 3u);
    ASSERT_STR_EQ(seeds[0].host, "127.0.0.1");
    ASSERT_EQ(seeds[0].port, 7001);
    ASSERT_STR_EQ(seeds[1].host, "127.0.0.1");
    ASSERT_EQ(seeds[1].port, 7002);
    ASSERT_STR_EQ(seeds[2].host, "cache-3.internal");
    ASSERT_EQ(seeds[2].port, 7003);
    ASSERT_STR_EQ(seeds[2].password, "");
}

static void seed_list_password_applies_to_every_seed(void)
{
    ASSERT_EQ(parse_seeds("redis://default:s3cret@a:1,b:2", 4), 0);
    ASSERT_EQ(n_seeds, 2u);
    ASSERT_STR_EQ(seeds[0].password, "s3cret");
    ASSERT_STR_EQ(seeds[1].password, "s3cret");
    ASSERT_STR_EQ(seeds[1].host, "b");
    ASSERT_EQ(parse_seeds("redis://:pa,ss@a,b", 4), 0); /* a comma in the password is no seed */
    ASSERT_EQ(n_seeds, 2u);
    ASSERT_STR_EQ(seeds[0].password, "pa,ss");
    ASSERT_STR_EQ(seeds[1].password, "pa,ss");
}

static void seed_list_defaults_ports_and_ignores_the_db_path(void)
{
    ASSERT_EQ(parse_seeds("redis://a,b:7000,c/0", 4), 0);
    ASSERT_EQ(n_seeds, 3u);
    ASSERT_EQ(seeds[0].port, 6379);
    ASSERT_EQ(seeds[1].port, 7000);
    ASSERT_STR_EQ(seeds[2].host, "c");
    ASSERT_EQ(seeds[2].port, 6379);
}

static void seed_list_accepts_bracketed_ipv6(void)
{
    ASSERT_EQ(parse_seeds("redis://[::1]:7001,[fe80::2]:7002,[::1]", 4), 0);
    ASSERT_EQ(n_seeds, 3u);
    ASSERT_STR_EQ(seeds[0].host, "::1");
    ASSERT_EQ(seeds[0].port, 7001);
    ASSERT_STR_EQ(seeds[1].host, "fe80::2");
    ASSERT_EQ(seeds[1].port, 7002);
    ASSERT_EQ(seeds[2].port, 6379);
}

static void a_single_host_is_one_seed_like_rt_redis_url_parse(void)
{
    const char *urls[] = {"redis://cache.internal:6380", "redis://:s3cret@db:6379",
                          "redis://[::1]:6390", "redis://redis/3", "redis://tok@en@db"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        ASSERT_EQ(parse(urls[i]), 0);
        ASSERT_EQ(parse_seeds(urls[i], 1), 0);
        ASSERT_EQ(n_seeds, 1u);
        ASSERT_EQ(memcmp(&seeds[0], &u, sizeof u), 0);
    }
    ASSERT_EQ(parse_seeds("redis://h:0", 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL has an invalid port (expected redis://host:port)");
    ASSERT_EQ(n_seeds, 0u);
    ASSERT_EQ(parse_seeds("http://a,b", 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL must look like redis://host:port");
}

static void a_single_host_url_still_refuses_a_comma(void)
{
    ASSERT_EQ(parse("redis://a:1,b:2"), -1);
    ASSERT_EQ(parse("redis://a,b"), -1);
}

static void seed_list_is_bounded_by_cap(void)
{
    ASSERT_EQ(parse_seeds("redis://a,b,c,d", 4), 0);
    ASSERT_EQ(n_seeds, 4u);
    ASSERT_EQ(parse_seeds("redis://a,b,c,d,e", 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL lists more than 4 seed nodes");
    ASSERT_EQ(n_seeds, 0u);
    ASSERT_EQ(parse_seeds("redis://a,b", 1), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL lists more than 1 seed nodes");
}

static void a_bad_seed_is_named_by_its_position(void)
{
    ASSERT_EQ(parse_seeds("redis://a:1,b:0,c:3", 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL seed 2 has an invalid port (expected redis://host:port)");
    ASSERT_EQ(n_seeds, 0u);
    ASSERT_EQ(parse_seeds("redis://a:1,bad host:2", 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL seed 2 has no valid host (expected redis://host:port)");
    ASSERT_EQ(parse_seeds("redis://a:1,b?:2", 4), -1);
    ASSERT_EQ(parse_seeds("redis://a:1,[::1:2", 4), -1);
}

static void empty_seeds_are_invalid_hosts(void)
{
    const char *bad[] = {"redis://a:1,,b:2", "redis://a:1,", "redis://,a:1", "redis://,",
                         "redis://pw@a,/0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(parse_seeds(bad[i], 4), -1);
        ASSERT_TRUE(strncmp(err, "RT_REDIS_URL seed ", 18) == 0);
        ASSERT_TRUE(strstr(err, "has no valid host") != NULL);
    }
}

static void seed_hosts_are_bounded_at_255(void)
{
    char url[600];
    memcpy(url, "redis://a,", 10);
    memset(url + 10, 'h', 255);
    url[10 + 255] = '\0';
    ASSERT_EQ(parse_seeds(url, 4), 0);
    ASSERT_EQ(strlen(seeds[1].host), 255u);
    memset(url + 10, 'h', 300);
    url[10 + 300] = '\0';
    ASSERT_EQ(parse_seeds(url, 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL seed 2 has no valid host");
}

static void seed_list_password_is_bounded_at_255(void)
{
    char url[400];
    memcpy(url, "redis://:", 9);
    memset(url + 9, 'p', 256);
    memcpy(url + 9 + 256, "@a,b", 5);
    ASSERT_EQ(parse_seeds(url, 4), -1);
    ASSERT_STR_EQ(err, "RT_REDIS_URL has a password longer than 255 bytes");
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
    RT_TEST(seed_list_gives_every_host_and_port),
    RT_TEST(seed_list_password_applies_to_every_seed),
    RT_TEST(seed_list_defaults_ports_and_ignores_the_db_path),
    RT_TEST(seed_list_accepts_bracketed_ipv6),
    RT_TEST(a_single_host_is_one_seed_like_rt_redis_url_parse),
    RT_TEST(a_single_host_url_still_refuses_a_comma),
    RT_TEST(seed_list_is_bounded_by_cap),
    RT_TEST(a_bad_seed_is_named_by_its_position),
    RT_TEST(empty_seeds_are_invalid_hosts),
    RT_TEST(seed_hosts_are_bounded_at_255),
    RT_TEST(seed_list_password_is_bounded_at_255),
};

RT_TEST_MAIN("redis_url", tests)
