/* What happens on channels, reported once per occurrence to the modules that listen (webhooks
 * today): channel.c reports standalone and while Redis is unreachable, the registry reports
 * the cluster-wide transitions its scripts decide, the handlers report cache misses and client
 * events. Producers do not know their listeners, so channel and registry code depend on this
 * header only, not on webhooks (ARCHITECTURE.md "Transitions are events, not calls"). */
#ifndef RT_TRANSITION_H
#define RT_TRANSITION_H

#include <stddef.h>

struct rt_app;
struct json_t;

enum rt_transition_kind {
    RT_TRANSITION_OCCUPIED,       /* the channel's first subscriber */
    RT_TRANSITION_VACATED,        /* its last subscriber left */
    RT_TRANSITION_MEMBER_ADDED,   /* a user's first socket joined a presence channel */
    RT_TRANSITION_MEMBER_REMOVED, /* the user's last socket left it */
    RT_TRANSITION_COUNT,          /* a new subscription count was broadcast */
    RT_TRANSITION_CACHE_MISS,     /* a subscriber found a cache channel empty */
    RT_TRANSITION_CLIENT_EVENT,   /* a client event was relayed */
};

/* Borrowed for the duration of the call. */
struct rt_transition {
    enum rt_transition_kind kind;
    struct rt_app *app;
    const char *channel;
    const char *user_id;       /* member events; client events on presence channels */
    size_t count;              /* RT_TRANSITION_COUNT */
    const char *event;         /* RT_TRANSITION_CLIENT_EVENT: its name, */
    const struct json_t *data; /* its data as received, */
    const char *socket_id;     /* and the sender */
};

typedef void rt_transition_listener(const struct rt_transition *t);

#define RT_TRANSITION_LISTENERS_MAX 4

/* Adds fn (once; at most RT_TRANSITION_LISTENERS_MAX). Returns 0, or -1 when full. */
int rt_transition_listen(rt_transition_listener *fn);
void rt_transition_unlisten(rt_transition_listener *fn);

/* Tells every listener, in the order they registered. */
void rt_transition_report(const struct rt_transition *t);

/* Shorthands: occupied, vacated, cache miss (channel only); member events; counts. */
void rt_transition_channel(enum rt_transition_kind kind, struct rt_app *app, const char *channel);
void rt_transition_member(enum rt_transition_kind kind, struct rt_app *app, const char *channel,
                          const char *user_id);
void rt_transition_count(struct rt_app *app, const char *channel, size_t count);

#endif
