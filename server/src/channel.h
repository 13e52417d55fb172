/* Channel state of one app: the two-way subscription index (channel -> connections,
 * connection -> channels), presence members by user id, and local fan-out. */
#ifndef RT_CHANNEL_H
#define RT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "frame.h"
#include "rt_channel_name.h"

struct rt_app;
struct rt_conn;

struct rt_member_entry {
    char *user_id;
    char *user_info; /* compact JSON or NULL */
    int sockets;     /* local sockets of this user in the channel */
    UT_hash_handle hh;
};

struct rt_sub {
    struct rt_channel *channel;
    struct rt_conn *conn;
    char *user_id; /* presence: the member this socket joined as */
    /* cluster mode: the version of the member list this socket was given; member events at or
     * below it are already in that list. pending: the list is still on its way from Redis. */
    uint64_t presence_version;
    bool pending;
    /* cluster mode, other channels: subscription_succeeded waits until Redis confirmed the
     * node's subscription to the channel's route (handle_subscribe.c) */
    bool awaiting_route;
    struct rt_sub *next, *prev; /* channel's list (utlist DL) */
    UT_hash_handle hh;          /* conn->subs keyed by channel->name */
};

struct rt_channel {
    char *name;
    struct rt_channel_kind kind;
    struct rt_app *app;
    struct rt_sub *subs;
    size_t sub_count;
    struct rt_member_entry *members;
    size_t member_count;
    bool occupied;              /* has had a subscriber: channel_vacated is due when freed */
    uint64_t last_cache_miss_ms; /* de-duplicates cache_miss webhooks */
    /* subscription_count coalescing: when the last broadcast went out (0 = never) and, while a
     * change waits for its window to end, the links of the node's pending list */
    uint64_t count_sent_ms;
    bool count_pending;
    bool count_local; /* cluster mode: the pending change is this node's to announce */
    struct rt_channel *count_next, *count_prev;
    struct rt_member_ring *recent; /* cluster mode: last member events, for pending joins */
    /* cluster mode, presence: the members this node's subscribers have been told about (their
     * member_added/member_removed so far), so that a re-announced member is not announced twice
     * and a heal after a Redis restart can send what changed; view_ready once the first member
     * list arrived. max_version: the highest member-list version seen, so versions keep rising
     * when Redis restarts empty. */
    struct rt_view_member *view;
    bool view_ready;
    uint64_t max_version;
    UT_hash_handle hh;
};

/* At most one pusher_internal:subscription_count (and subscription_count webhook) per channel
 * per window: a join storm of N sockets then costs O(N) frames, not O(N^2). */
#define RT_SUBSCRIPTION_COUNT_WINDOW_MS 1000

enum rt_sub_result {
    RT_SUB_ADDED = 0,
    RT_SUB_ALREADY = 1,       /* this socket was already subscribed: nothing changed */
};

/* Subscribes c to name (creating the channel). For presence channels user_id/user_info name
 * the member (user_info may be NULL; both are copied). *first_of_user is set when this socket
 * is the user's first in the channel (member_added is due). Returns RT_SUB_ADDED,
 * RT_SUB_ALREADY, or RT_ERR_LIMIT when the presence channel is full (allocation failure
 * aborts, rt_alloc.h). */
int rt_channel_subscribe(struct rt_app *app, struct rt_conn *c, const char *name,
                         struct rt_channel_kind kind, const char *user_id, const char *user_info,
                         int max_members, bool *first_of_user, struct rt_channel **out);

/* Removes a subscription. When it was the user's last socket in a presence channel, sends
 * member_removed to the remaining subscribers. Frees the channel when it becomes empty so
 * nobody can exhaust memory by touching millions of channel names. */
void rt_channel_unsubscribe(struct rt_sub *s);

struct rt_channel *rt_channel_find(struct rt_app *app, const char *name);

/* Queues f to every subscriber of ch except `except` (may be NULL). Returns the count. */
size_t rt_channel_deliver(struct rt_channel *ch, struct rt_frame *f, const struct rt_conn *except);

/* {"presence":{"count":N,"ids":[...],"hash":{...}}} as compact JSON text (malloc'd). */
char *rt_channel_presence_json(const struct rt_channel *ch);

/* Announces that ch's subscription count changed (when enabled for the app): the
 * pusher_internal:subscription_count broadcast and the webhook go out at once when ch has been
 * quiet for a window, otherwise once at the end of the window with the count of that moment.
 * A channel freed before then sends nothing. */
void rt_channel_count_changed(struct rt_channel *ch);

/* Cluster mode: a script of this node changed the channel's subscription total across nodes:
 * the coalesced pusher_internal:subscription_count goes to every node (at once when this node
 * has no subscriber of the channel to coalesce on). */
void rt_channel_cluster_count(struct rt_app *app, const char *name);

/* Cluster mode: another node changed the channel's subscriptions. This node reads the total
 * from Redis itself (coalesced as above) and gives it to its subscribers; the other node sends
 * the webhook. */
void rt_channel_count_refresh(struct rt_app *app, const char *name);

/* Cluster mode: the total Redis answered to this node's read, delivered to this node's
 * subscribers (the webhook and the other nodes are registry.c's part). */
void rt_channel_deliver_count(struct rt_app *app, const char *name, size_t total);

/* Cluster mode: keeps a member event (by reference) so that a join whose member list arrives
 * later can be given the events newer than that list. Bounded per channel. */
void rt_channel_remember_member_event(struct rt_channel *ch, uint64_t version,
                                      struct rt_frame *f, const char *except);

/* The same for the channel called name, when this node has it. */
void rt_channel_remember_member_event_by_name(struct rt_app *app, const char *name,
                                              uint64_t version, struct rt_frame *f,
                                              const char *except);

/* Cluster mode: the member view (see struct rt_channel). */

/* Records a member event in the view; true when it changes it (or the view is not ready yet:
 * then nobody has been told anything and the event is news). */
bool rt_channel_view_apply(struct rt_channel *ch, bool added, const char *user_id);

/* The first member list of the channel (from Redis at `version`, or this node's own members
 * when Redis is unreachable: ids == NULL): the view becomes that list plus the remembered
 * events newer than it. No-op once the view is ready. */
void rt_channel_view_load(struct rt_channel *ch, const char *const *ids, size_t n,
                          uint64_t version);

/* Whether user_id is in the view. */
bool rt_channel_view_has(const struct rt_channel *ch, const char *user_id);

/* Calls fn for every user in the view (fn may remove the current one via
 * rt_channel_view_apply). */
void rt_channel_view_each(struct rt_channel *ch, void (*fn)(struct rt_channel *, const char *,
                                                            void *),
                          void *ctx);

/* Parses a member event frame: *added (member_added or member_removed) and its user id (copied
 * into user, cap bytes). False for anything else. */
bool rt_member_event_parse(const struct rt_frame *f, bool *added, char *user, size_t cap);

/* Sends s's connection the remembered member events newer than s->presence_version. */
void rt_channel_replay_member_events(struct rt_sub *s);

/* subscription_count changes merged into a later broadcast since start (for /metrics). */
extern unsigned long long rt_subscription_counts_coalesced;

#endif
