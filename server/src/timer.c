/* Hashed timing wheel: WHEEL_SLOTS lists of RT_TIMER_TICK_MS each. A deadline further away
 * than one turn sits in its slot and is skipped until its turn comes, so arming, moving and
 * cancelling are O(1) and a tick visits one slot. */
#include "timer.h"

#include <utlist.h>

#include "conn.h"

#define WHEEL_SLOTS 1024 /* one turn = 102.4 s */

static struct {
    uv_timer_t tick;
    struct rt_timer *slots[WHEEL_SLOTS];
    uint64_t cursor_ms; /* start of the next slot to visit */
    bool started;
} wheel;

static size_t slot_of(uint64_t due_ms)
{
    return (size_t)((due_ms / RT_TIMER_TICK_MS) % WHEEL_SLOTS);
}

void rt_timer_cancel(struct rt_timer *t)
{
    if (!t->due_ms) return;
    struct rt_timer **head = &wheel.slots[slot_of(t->due_ms)];
    DL_DELETE(*head, t);
    t->due_ms = 0;
    t->prev = t->next = NULL;
}

void rt_timer_set(struct rt_timer *t, uint64_t due_ms, void (*fn)(struct rt_timer *t))
{
    rt_timer_cancel(t);
    /* A deadline in the past fires at the next tick (never in the slot being visited). */
    if (due_ms < wheel.cursor_ms) due_ms = wheel.cursor_ms;
    if (due_ms == 0) due_ms = 1;
    t->due_ms = due_ms;
    t->fn = fn;
    DL_APPEND(wheel.slots[slot_of(due_ms)], t);
}

/* Fires what is due in one slot. Every entry stays in the slot's list until it fires, so a
 * callback may arm, move or cancel any timer (this slot's included) without corrupting the
 * walk: entries not yet due rotate to the back, and the walk ends after as many steps as the
 * slot held when it began. */
static void visit(size_t slot, uint64_t now)
{
    struct rt_timer **head = &wheel.slots[slot], *t;
    size_t n;
    DL_COUNT(*head, t, n);
    while (n-- > 0 && (t = *head) != NULL) {
        DL_DELETE(*head, t);
        if (t->due_ms <= now) {
            t->due_ms = 0;
            t->prev = t->next = NULL;
            t->fn(t);
        } else {
            DL_APPEND(*head, t);
        }
    }
}

static void on_tick(uv_timer_t *h)
{
    (void)h;
    uint64_t now = rt_now_ms();
    /* A slot is visited once its whole interval has passed, so everything in it that belongs to
     * this turn is due. Catch up slot by slot after a stall, but never more than one turn. */
    int budget = WHEEL_SLOTS;
    while (wheel.cursor_ms + RT_TIMER_TICK_MS <= now && budget-- > 0) {
        visit(slot_of(wheel.cursor_ms), now);
        wheel.cursor_ms += RT_TIMER_TICK_MS;
    }
    if (wheel.cursor_ms + RT_TIMER_TICK_MS <= now) wheel.cursor_ms = now - now % RT_TIMER_TICK_MS;
}

int rt_timers_start(uv_loop_t *loop)
{
    uint64_t now = rt_now_ms();
    wheel.cursor_ms = now - now % RT_TIMER_TICK_MS;
    uv_timer_init(loop, &wheel.tick);
    uv_unref((uv_handle_t *)&wheel.tick);
    wheel.started = true;
    return uv_timer_start(&wheel.tick, on_tick, RT_TIMER_TICK_MS, RT_TIMER_TICK_MS);
}

void rt_timers_stop(void)
{
    if (!wheel.started) return;
    wheel.started = false;
    uv_timer_stop(&wheel.tick);
    uv_close((uv_handle_t *)&wheel.tick, NULL);
}
