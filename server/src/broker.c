/* Publishing: standalone in-process fan-out (the cluster layer extends rt_broker_publish). */
#include "broker.h"

#include <utlist.h>

#include "app.h"
#include "cache.h"
#include "channel.h"
#include "cluster.h"
#include "conn.h"
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

void rt_broker_publish_cached(struct rt_app *app, const char *channel, const char *event,
                              const char *data, struct rt_frame *f, const char *except_socket_id)
{
    rt_cache_put(app, channel, event, data, f);
    rt_broker_deliver_local(app, channel, f, except_socket_id);
    rt_cluster_publish(app, channel, f, except_socket_id, true);
}
