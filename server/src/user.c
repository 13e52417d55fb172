/* Signed-in users: user id -> sockets, and watchlist online/offline events (§10, §12). */
#include "user.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "app.h"
#include "cluster.h"
#include "conn.h"
#include "registry.h"
#include "rt_alloc.h"
#include "rt_protocol.h"

struct rt_user *rt_user_find(struct rt_app *app, const char *id)
{
    struct rt_user *u = NULL;
    HASH_FIND_STR(app->users, id, u);
    return u;
}

/* A node receives a user's "#server-to-user-ID" events and terminations while one of the
 * user's sockets is signed in here (cluster.h, interest). */
static void user_interest(struct rt_app *app, const char *user_id, bool add)
{
    char channel[RT_CHANNEL_NAME_MAX + 1];
    int n = snprintf(channel, sizeof channel, RT_SERVER_TO_USER_PREFIX "%s", user_id);
    if (n > 0 && (size_t)n < sizeof channel) rt_cluster_interest(app, channel, add);
}

int rt_user_attach(struct rt_app *app, struct rt_conn *c, const char *user_id)
{
    struct rt_user *u = rt_user_find(app, user_id);
    int came_online = 0;
    if (!u) {
        u = rt_xcalloc(1, sizeof *u);
        u->id = rt_xstrdup(user_id);
        HASH_ADD_KEYPTR(hh, app->users, u->id, strlen(u->id), u);
        user_interest(app, u->id, true);
        came_online = 1;
    }
    DL_APPEND2(u->conns, c, user_prev, user_next);
    u->conn_count++;
    c->user_id = rt_xstrdup(user_id);
    return came_online;
}

int rt_user_detach(struct rt_conn *c)
{
    if (!c->user_id || !c->app)
        return 0;
    struct rt_user *u = rt_user_find(c->app, c->user_id);
    if (!u)
        return 0;
    DL_DELETE2(u->conns, c, user_prev, user_next);
    if (--u->conn_count > 0)
        return 0;
    HASH_DEL(c->app->users, u);
    user_interest(c->app, u->id, false);
    free(u->id);
    free(u);
    return 1;
}

/* pusher_internal:watchlist_events carrying events (borrowed). */
static struct rt_frame *watchlist_frame(json_t *events)
{
    return rt_frame_json_event("pusher_internal:watchlist_events", NULL,
                               json_pack("{s:O}", "events", events));
}

/* Linear in the app's signed-in sockets times their watchlists (<= 100 each); fine for the
 * sizes Pusher allows. A reverse index (watched id -> watchers) is the next step if profiles
 * show this. */
void rt_user_notify_watchers(struct rt_app *app, const char *user_id, const char *event_name)
{
    json_t *events = json_pack("[{s:s,s:[s]}]", "name", event_name, "user_ids", user_id);
    struct rt_frame *f = watchlist_frame(events);
    json_decref(events);
    if (!f)
        return;
    struct rt_user *u, *utmp;
    HASH_ITER(hh, app->users, u, utmp)
    {
        struct rt_conn *c;
        DL_FOREACH2(u->conns, c, user_next)
        {
            for (size_t i = 0; i < c->watchlist_len; i++) {
                if (strcmp(c->watchlist[i], user_id) == 0) {
                    rt_conn_send(c, f);
                    break;
                }
            }
        }
    }
    rt_frame_unref(f);
}

void rt_user_send_watchlist_lists(struct rt_conn *c, json_t *online, json_t *offline)
{
    json_t *events = json_array();
    if (json_array_size(online))
        json_array_append_new(events, json_pack("{s:s,s:O}", "name", "online", "user_ids", online));
    if (json_array_size(offline))
        json_array_append_new(events,
                              json_pack("{s:s,s:O}", "name", "offline", "user_ids", offline));
    struct rt_frame *f = watchlist_frame(events);
    if (f) {
        rt_conn_send(c, f);
        rt_frame_unref(f);
    }
    json_decref(events);
}

void rt_user_send_watchlist_state(struct rt_conn *c)
{
    if (c->watchlist_len == 0)
        return;
    if (rt_registry_active()) { /* online anywhere in the cluster */
        rt_registry_watchlist_state(c);
        return;
    }
    json_t *online = json_array(), *offline = json_array();
    for (size_t i = 0; i < c->watchlist_len; i++)
        json_array_append_new(rt_user_find(c->app, c->watchlist[i]) ? online : offline,
                              json_string(c->watchlist[i]));
    rt_user_send_watchlist_lists(c, online, offline);
    json_decref(online);
    json_decref(offline);
}
