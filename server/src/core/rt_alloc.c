/* Allocation wrappers with one out-of-memory policy: log one line and abort. */
#include "rt_alloc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No allocation here: stderr is unbuffered and fprintf with %zu needs no heap. */
_Noreturn void rt_out_of_memory(const char *what, size_t size)
{
    fprintf(stderr, "out of memory: %s of %zu bytes failed, aborting\n", what, size);
    abort();
}

void *rt_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) rt_out_of_memory("malloc", size);
    return p;
}

void *rt_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) rt_out_of_memory("calloc", size && count > SIZE_MAX / size ? SIZE_MAX : count * size);
    return p;
}

void *rt_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) rt_out_of_memory("realloc", size);
    return p;
}

char *rt_xstrdup(const char *s)
{
    return rt_xstrndup(s, strlen(s));
}

char *rt_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = rt_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void rt_alloc_init(void)
{
    json_set_alloc_funcs(rt_xmalloc, free);
}
