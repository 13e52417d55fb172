/* Unit tests for rt_ratelimit: token bucket refill, burst and unlimited rates. */
#include "rt_ratelimit.h"

#include "rt_test.h"

static void fresh_bucket_allows_a_full_burst_then_refuses(void)
{
    struct rt_bucket b = {0};
    for (int i = 0; i < 10; i++)
        ASSERT_TRUE(rt_bucket_take(&b, 10, 10, 1000));
    ASSERT_FALSE(rt_bucket_take(&b, 10, 10, 1000));
}

static void bucket_refills_one_token_per_100ms_at_10_per_second(void)
{
    struct rt_bucket b = {0};
    for (int i = 0; i < 10; i++)
        ASSERT_TRUE(rt_bucket_take(&b, 10, 10, 1000));
    ASSERT_FALSE(rt_bucket_take(&b, 10, 10, 1099));
    ASSERT_TRUE(rt_bucket_take(&b, 10, 10, 1100));
    ASSERT_FALSE(rt_bucket_take(&b, 10, 10, 1100));
}

static void refill_is_capped_at_burst(void)
{
    struct rt_bucket b = {0};
    ASSERT_TRUE(rt_bucket_take(&b, 10, 3, 1000));
    int taken = 0;
    while (rt_bucket_take(&b, 10, 3, 60000))
        taken++;
    ASSERT_EQ(taken, 3);
}

static void refused_take_consumes_nothing(void)
{
    struct rt_bucket b = {0};
    ASSERT_TRUE(rt_bucket_take(&b, 1, 1, 5000));
    ASSERT_FALSE(rt_bucket_take(&b, 1, 1, 5500));
    ASSERT_FALSE(rt_bucket_take(&b, 1, 1, 5900));
    ASSERT_TRUE(rt_bucket_take(&b, 1, 1, 6000));
}

static void clock_going_backwards_refills_nothing(void)
{
    struct rt_bucket b = {0};
    ASSERT_TRUE(rt_bucket_take(&b, 10, 1, 10000));
    ASSERT_FALSE(rt_bucket_take(&b, 10, 1, 5000));
    ASSERT_EQ(b.last_ms, 10000u);
    ASSERT_FALSE(rt_bucket_take(&b, 10, 1, 10050));
    ASSERT_TRUE(rt_bucket_take(&b, 10, 1, 10100));
}

static void zero_or_negative_rate_is_unlimited(void)
{
    struct rt_bucket b = {0};
    for (int i = 0; i < 1000; i++)
        ASSERT_TRUE(rt_bucket_take(&b, 0, 1, 1000));
    ASSERT_TRUE(rt_bucket_take(&b, -1, 0, 1000));
}

static void burst_below_one_never_yields(void)
{
    struct rt_bucket b = {0};
    ASSERT_FALSE(rt_bucket_take(&b, 10, 0.5, 1000));
}

static void time_zero_is_not_mistaken_for_a_fresh_bucket(void)
{
    struct rt_bucket b = {0};
    ASSERT_TRUE(rt_bucket_take(&b, 1, 1, 0));
    ASSERT_FALSE(rt_bucket_take(&b, 1, 1, 0));
}

static const struct rt_test tests[] = {
    RT_TEST(fresh_bucket_allows_a_full_burst_then_refuses),
    RT_TEST(bucket_refills_one_token_per_100ms_at_10_per_second),
    RT_TEST(refill_is_capped_at_burst),
    RT_TEST(refused_take_consumes_nothing),
    RT_TEST(clock_going_backwards_refills_nothing),
    RT_TEST(zero_or_negative_rate_is_unlimited),
    RT_TEST(burst_below_one_never_yields),
    RT_TEST(time_zero_is_not_mistaken_for_a_fresh_bucket),
};

RT_TEST_MAIN("ratelimit", tests)
