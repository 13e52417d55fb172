/* Unit tests for rt_alloc: the wrappers behave like the libc calls, and a failed allocation
 * ends the process with one line on stderr and SIGABRT instead of returning NULL. */
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_alloc.h"
#include "rt_test.h"

static void xstrndup_copies_at_most_n_bytes_and_terminates(void)
{
    char *s = rt_xstrndup("abcdef", 3);
    ASSERT_STR_EQ(s, "abc");
    free(s);
    s = rt_xstrndup("ab", 10);
    ASSERT_STR_EQ(s, "ab");
    free(s);
    s = rt_xstrdup("");
    ASSERT_STR_EQ(s, "");
    free(s);
}

static void xcalloc_zeroes_and_xrealloc_keeps_the_contents(void)
{
    unsigned char *p = rt_xcalloc(16, 4);
    for (int i = 0; i < 64; i++)
        ASSERT_EQ(p[i], 0);
    memcpy(p, "0123456789", 10);
    p = rt_xrealloc(p, 4096);
    ASSERT(memcmp(p, "0123456789", 10) == 0);
    free(p);
}

static void zero_sized_requests_return_a_freeable_pointer(void)
{
    void *a = rt_xmalloc(0), *b = rt_xcalloc(0, 8), *c = rt_xrealloc(NULL, 0);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_NOT_NULL(c);
    free(a);
    free(b);
    free(c);
}

static void alloc_init_routes_jansson_through_the_wrapper(void)
{
    rt_alloc_init();
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    ASSERT(m == rt_xmalloc);
    ASSERT(f == free);
    json_t *o = json_pack("{s:s}", "a", "b");
    ASSERT_NOT_NULL(o);
    json_decref(o);
}

/* Runs fn in a child with stderr captured; returns the wait status and the text. */
static int run_child(void (*fn)(void), char *text, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* the abort is expected: no core file */
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], text + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    text[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static void huge_malloc(void)
{
    volatile size_t size = SIZE_MAX;
    free(rt_xmalloc(size));
}

static void huge_calloc(void)
{
    volatile size_t count = SIZE_MAX / 2;
    free(rt_xcalloc(count, 4));
}

static void failed_malloc_aborts_with_one_line(void)
{
    char text[256];
    int status = run_child(huge_malloc, text, sizeof text);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    ASSERT_STR_EQ(text, "out of memory: malloc of 18446744073709551615 bytes failed, aborting\n");
}

static void failed_calloc_aborts_and_reports_an_overflowing_size_as_the_maximum(void)
{
    char text[256];
    int status = run_child(huge_calloc, text, sizeof text);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    ASSERT_STR_EQ(text, "out of memory: calloc of 18446744073709551615 bytes failed, aborting\n");
}

static const struct rt_test tests[] = {
    RT_TEST(xstrndup_copies_at_most_n_bytes_and_terminates),
    RT_TEST(xcalloc_zeroes_and_xrealloc_keeps_the_contents),
    RT_TEST(zero_sized_requests_return_a_freeable_pointer),
    RT_TEST(alloc_init_routes_jansson_through_the_wrapper),
    RT_TEST(failed_malloc_aborts_with_one_line),
    RT_TEST(failed_calloc_aborts_and_reports_an_overflowing_size_as_the_maximum),
};

RT_TEST_MAIN("alloc", tests)
