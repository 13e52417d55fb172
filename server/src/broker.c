/* Publishing: standalone in-process fan-out (the cluster layer extends rt_broker_publish). */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <utlist.h>

#include "app.h"
#include "cache.h"
#include "channel.h"
#include "cluster.h"
#include "conn.h"
#include "rt_alloc.h"
#include "server.h"
#include "user.h"

size_t rt_broker_deliver_local(struct rt_app *app, const char *channel, struct rt_frame *f,
                               const char *except_socket_id)
{
    const struct rt_conn *except = except_socket_id ? rt_conn_by_socket_id(except_socket_id) : NULL;
    struct rt_str uid = rt_server_to_user_id(rt_str_c(channel));
    if (uid.p) {
        struct rt_user *u = rt_user_find(app, uid.p);
        size_t n = 0;
        struct rt_conn *c, *tmp;
        if (u)
            DL_FOREACH_SAFE2(u->conns, c, tmp, user_next)
            {
                if (c != except && rt_conn_send(c, f) == 0)
                    n++;
            }
        app->messages_out += n;
        return n;
    }
    struct rt_channel *ch = rt_channel_find(app, channel);
    return ch ? rt_channel_deliver(ch, f, except) : 0;
}

void rt_broker_publish(struct rt_app *app, const char *channel, struct rt_frame *f,
                       const char *except_socket_id)
{
    rt_broker_deliver_local(app, channel, f, except_socket_id);
    rt_cluster_publish(app, channel, f, except_socket_id, false);
}

/* ---- deferred publishes (HTTP API) ------------------------------------------------------ */

/* Holds the app by id, not by pointer: the app may be removed (PostgreSQL NOTIFY) before the
 * next loop turn. */
struct deferred {
    char app_id[RT_APP_ID_MAX + 1];
    char *channel;
    char except[RT_SOCKET_ID_MAX + 1];
    struct rt_frame *f;
    bool cached;
    struct deferred *next;
};

static struct {
    uv_idle_t idle;
    bool ready;
    struct deferred *head, *tail;
} soon;

static void run_deferred(void)
{
    struct deferred *d;
    while ((d = soon.head) != NULL) {
        soon.head = d->next;
        struct rt_app *app = rt_apps_by_id(d->app_id);
        if (app) {
            const char *except = d->except[0] ? d->except : NULL;
            rt_broker_deliver_local(app, d->channel, d->f, except);
            rt_cluster_publish(app, d->channel, d->f, except, d->cached);
        }
        rt_frame_unref(d->f);
        free(d->channel);
        free(d);
    }
    soon.tail = NULL;
}

static void on_idle(uv_idle_t *h)
{
    uv_idle_stop(h);
    run_deferred();
}

void rt_broker_publish_soon(struct rt_app *app, const char *channel, struct rt_frame *f,
                            const char *except_socket_id, bool cached, const char *event,
                            const char *data)
{
    if (cached)
        rt_cache_put(app, channel, event, data, f);
    if (!soon.ready) {
        uv_idle_init(rt_srv.loop, &soon.idle);
        soon.ready = true;
    }
    struct deferred *d = rt_xcalloc(1, sizeof *d);
    snprintf(d->app_id, sizeof d->app_id, "%s", app->cfg->id);
    d->channel = rt_xstrdup(channel);
    snprintf(d->except, sizeof d->except, "%s", except_socket_id ? except_socket_id : "");
    d->f = rt_frame_ref(f);
    d->cached = cached;
    if (soon.tail)
        soon.tail->next = d;
    else
        soon.head = d;
    soon.tail = d;
    uv_idle_start(&soon.idle, on_idle);
}

void rt_broker_flush(void)
{
    run_deferred();
}

void rt_broker_stop(void)
{
    run_deferred();
    if (soon.ready) {
        uv_close((uv_handle_t *)&soon.idle, NULL);
        soon.ready = false;
    }
}
