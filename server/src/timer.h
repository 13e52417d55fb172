/* Deadlines for every socket in O(1): a hashed timing wheel driven by one libuv timer.
 * Replaces per-socket libwebsockets timers, whose sorted list costs O(sockets) per insert. */
#ifndef RT_TIMER_H
#define RT_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define RT_TIMER_TICK_MS 100 /* resolution: a deadline fires at most one tick late */

struct rt_timer {
    uint64_t due_ms; /* rt_now_ms() clock; 0 = not armed */
    struct rt_timer *prev, *next;
    void (*fn)(struct rt_timer *t); /* called once when due; may re-arm or free the owner */
};

int rt_timers_start(uv_loop_t *loop);
void rt_timers_stop(void);

/* Arms (or moves) t to fire at due_ms with fn. */
void rt_timer_set(struct rt_timer *t, uint64_t due_ms, void (*fn)(struct rt_timer *t));

/* Disarms t; harmless when it is not armed. Must be called before the owner is freed. */
void rt_timer_cancel(struct rt_timer *t);

static inline bool rt_timer_armed(const struct rt_timer *t)
{
    return t->due_ms != 0;
}

#endif
