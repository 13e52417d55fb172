/* Listeners of channel transitions (rt_transition.h). */
#include "rt_transition.h"

static rt_transition_listener *listeners[RT_TRANSITION_LISTENERS_MAX];
static size_t n_listeners;

int rt_transition_listen(rt_transition_listener *fn)
{
    for (size_t i = 0; i < n_listeners; i++)
        if (listeners[i] == fn) return 0;
    if (n_listeners == RT_TRANSITION_LISTENERS_MAX) return -1;
    listeners[n_listeners++] = fn;
    return 0;
}

void rt_transition_unlisten(rt_transition_listener *fn)
{
    for (size_t i = 0; i < n_listeners; i++) {
        if (listeners[i] != fn) continue;
        for (size_t j = i + 1; j < n_listeners; j++)
            listeners[j - 1] = listeners[j];
        n_listeners--;
        return;
    }
}

void rt_transition_report(const struct rt_transition *t)
{
    for (size_t i = 0; i < n_listeners; i++)
        listeners[i](t);
}

void rt_transition_channel(enum rt_transition_kind kind, struct rt_app *app, const char *channel)
{
    rt_transition_report(&(struct rt_transition){.kind = kind, .app = app, .channel = channel});
}

void rt_transition_member(enum rt_transition_kind kind, struct rt_app *app, const char *channel,
                          const char *user_id)
{
    rt_transition_report(
        &(struct rt_transition){.kind = kind, .app = app, .channel = channel, .user_id = user_id});
}

void rt_transition_count(struct rt_app *app, const char *channel, size_t count)
{
    rt_transition_report(&(struct rt_transition){
        .kind = RT_TRANSITION_COUNT, .app = app, .channel = channel, .count = count});
}
