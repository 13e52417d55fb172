/* Unit tests for rt_transition: listeners registered once, called in order, removable. */
#include "rt_transition.h"

#include "rt_test.h"

static char seen[64];
static size_t n_seen;

static void first(const struct rt_transition *t)
{
    seen[n_seen++] = (char)('a' + t->kind);
}

static void second(const struct rt_transition *t)
{
    seen[n_seen++] = t->user_id ? t->user_id[0] : '-';
}

static void reset_listener(const struct rt_transition *t)
{
    (void)t;
}

static void other_listener(const struct rt_transition *t)
{
    (void)t;
}

static void reset(void)
{
    rt_transition_unlisten(first);
    rt_transition_unlisten(second);
    n_seen = 0;
    seen[0] = '\0';
}

static void listeners_are_called_in_registration_order(void)
{
    reset();
    ASSERT_EQ(rt_transition_listen(first), 0);
    ASSERT_EQ(rt_transition_listen(second), 0);
    rt_transition_member(RT_TRANSITION_MEMBER_ADDED, NULL, "presence-x", "u");
    seen[n_seen] = '\0';
    ASSERT_STR_EQ(seen, "cu");
}

static void a_listener_registered_twice_is_called_once(void)
{
    reset();
    rt_transition_listen(first);
    rt_transition_listen(first);
    rt_transition_channel(RT_TRANSITION_VACATED, NULL, "x");
    ASSERT_EQ(n_seen, 1);
}

static void unlisten_stops_the_calls(void)
{
    reset();
    rt_transition_listen(first);
    rt_transition_listen(second);
    rt_transition_unlisten(first);
    rt_transition_count(NULL, "x", 3);
    seen[n_seen] = '\0';
    ASSERT_STR_EQ(seen, "-");
}

static size_t last_count;

static void counter(const struct rt_transition *t)
{
    if (t->kind == RT_TRANSITION_COUNT) last_count = t->count;
}

static void the_count_reaches_the_listener(void)
{
    reset();
    rt_transition_listen(counter);
    rt_transition_count(NULL, "x", 42);
    ASSERT_EQ(last_count, 42);
    rt_transition_unlisten(counter);
}

static void a_full_table_refuses_more_listeners(void)
{
    reset();
    ASSERT_EQ(RT_TRANSITION_LISTENERS_MAX, 4);
    rt_transition_listener *const fns[] = {first, second, counter, reset_listener};
    for (size_t i = 0; i < 4; i++)
        ASSERT_EQ(rt_transition_listen(fns[i]), 0);
    ASSERT_EQ(rt_transition_listen(other_listener), -1);
    rt_transition_unlisten(counter);
    ASSERT_EQ(rt_transition_listen(other_listener), 0);
    rt_transition_unlisten(other_listener);
    rt_transition_unlisten(reset_listener);
    reset();
}

static const struct rt_test tests[] = {
    RT_TEST(listeners_are_called_in_registration_order),
    RT_TEST(a_listener_registered_twice_is_called_once),
    RT_TEST(unlisten_stops_the_calls),
    RT_TEST(the_count_reaches_the_listener),
    RT_TEST(a_full_table_refuses_more_listeners),
};

RT_TEST_MAIN("transition", tests)
