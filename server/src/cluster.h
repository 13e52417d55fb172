/* Multi-node fan-out over Redis pub/sub (RT_REDIS_URL). Every node publishes what it delivers
 * locally to one Redis channel and delivers what the other nodes publish; a node that loses
 * Redis keeps serving its own clients and reconnects with back-off. */
#ifndef RT_CLUSTER_H
#define RT_CLUSTER_H

#include <stdbool.h>
#include <uv.h>

#include "frame.h"

struct rt_app;

/* Parses url (rt_redis_url_parse) and starts connecting; each attempt resolves the host on
 * libuv's thread pool first. Returns 0, or -1 with a message in err for a bad URL. */
int rt_cluster_start(uv_loop_t *loop, const char *url, char *err, size_t err_cap);
void rt_cluster_stop(void);
bool rt_cluster_connected(void);

/* Sends an event frame to the other nodes (no-op when standalone or disconnected). cache
 * marks an HTTP-API event on a cache channel, which the other nodes also store. */
void rt_cluster_publish(struct rt_app *app, const char *channel, const struct rt_frame *f,
                        const char *except_socket_id, bool cache);

/* Asks the other nodes to close user_id's connections (terminate_connections). */
void rt_cluster_terminate_user(struct rt_app *app, const char *user_id);

#endif
