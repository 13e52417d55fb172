/* Signed-in users of one app (PROTOCOL.md §10): user id -> sockets, and watchlist events. */
#ifndef RT_USER_H
#define RT_USER_H

#include <stddef.h>
#include <uthash.h>

struct rt_app;
struct rt_conn;

struct rt_user {
    char *id;
    struct rt_conn *conns; /* utlist DL via conn->user_next/user_prev */
    size_t conn_count;
    UT_hash_handle hh;
};

/* Signs c (not signed in yet) in as user_id: adds it to the user's sockets and only then sets
 * c->user_id, so that nothing is half-done if this ever learns to fail. Allocation failure
 * aborts (rt_alloc). Returns 1 when the user just came online, else 0. */
int rt_user_attach(struct rt_app *app, struct rt_conn *c, const char *user_id);

/* Removes c from its user (no-op if not signed in). Returns 1 when the user went offline. */
int rt_user_detach(struct rt_conn *c);

struct rt_user *rt_user_find(struct rt_app *app, const char *id);

/* Sends online/offline watchlist events about user_id to every signed-in socket of the app
 * that watches it. */
void rt_user_notify_watchers(struct rt_app *app, const char *user_id, const char *event_name);

/* Sends c the initial watchlist state: which of its watched ids are online / offline (in a
 * cluster: on any node, answered asynchronously). */
void rt_user_send_watchlist_state(struct rt_conn *c);

/* Sends c pusher_internal:watchlist_events with these lists of user ids (borrowed). */
struct json_t;
void rt_user_send_watchlist_lists(struct rt_conn *c, struct json_t *online, struct json_t *offline);

#endif
