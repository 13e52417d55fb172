/* Tiny unit-test runner: ASSERT macros, a list of test functions, "N passed, M failed". */
#ifndef RT_TEST_H
#define RT_TEST_H

#include <stdio.h>
#include <string.h>

/* A failed ASSERT ends the current test function and marks it failed. Values are not printed:
 * some are signatures or secrets, which must never reach logs. */
static int rt_test_failures;

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: ASSERT(%s) failed\n", __FILE__, __LINE__, #cond);            \
            rt_test_failures++;                                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define ASSERT_TRUE(a) ASSERT(a)
#define ASSERT_FALSE(a) ASSERT(!(a))
#define ASSERT_EQ(a, b) ASSERT((a) == (b))
#define ASSERT_NE(a, b) ASSERT((a) != (b))
#define ASSERT_NULL(a) ASSERT((a) == NULL)
#define ASSERT_NOT_NULL(a) ASSERT((a) != NULL)
#define ASSERT_STR_EQ(a, b) ASSERT((a) != NULL && (b) != NULL && strcmp((a), (b)) == 0)
#define ASSERT_MEM_EQ(a, alen, b)                                                                  \
    ASSERT((a) != NULL && (alen) == strlen(b) && memcmp((a), (b), (alen)) == 0)

struct rt_test {
    const char *name;
    void (*fn)(void);
};

#define RT_TEST(fn)                                                                                \
    {                                                                                              \
#fn, fn                                                                                    \
    }

/* Runs every test, prints failures by name and the summary; returns the exit status. */
static inline int rt_test_run(const char *suite, const struct rt_test *tests, size_t n)
{
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = rt_test_failures;
        tests[i].fn();
        if (rt_test_failures != before) {
            fprintf(stderr, "FAIL %s.%s\n", suite, tests[i].name);
            failed++;
        } else {
            passed++;
        }
    }
    printf("%s: %zu passed, %zu failed\n", suite, passed, failed);
    return failed == 0 ? 0 : 1;
}

#define RT_TEST_MAIN(suite, list)                                                                  \
    int main(void)                                                                                 \
    {                                                                                              \
        return rt_test_run(suite, list, sizeof(list) / sizeof((list)[0]));                         \
    }

#endif
