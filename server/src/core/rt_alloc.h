/* One out-of-memory policy for the whole process: allocation wrappers that never return NULL.
 * Like Redis' zmalloc, a failed allocation logs one line to stderr and aborts, instead of
 * hundreds of untested "if (!p)" branches that each leave some state half-changed. */
#ifndef RT_ALLOC_H
#define RT_ALLOC_H

#include <stddef.h>

/* malloc/calloc/realloc/strdup/strndup that abort() on failure. rt_xmalloc(0) and
 * rt_xrealloc(p, 0) return a valid pointer to free(). Memory is released with free(). */
void *rt_xmalloc(size_t size);
void *rt_xcalloc(size_t count, size_t size);
void *rt_xrealloc(void *ptr, size_t size);
char *rt_xstrdup(const char *s);
char *rt_xstrndup(const char *s, size_t n);

/* The same one line and abort(), for the few other allocating calls (open_memstream). */
_Noreturn void rt_out_of_memory(const char *what, size_t size);

/* Makes jansson allocate through rt_xmalloc, so a json_* call fails only on bad input, never
 * on memory. Call once at start, before the first json_* call (rtserver and rtadmin do). */
void rt_alloc_init(void);

#endif
