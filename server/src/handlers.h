/* Handlers for client -> server Pusher events (one file per verb, like mosquitto). */
#ifndef RT_HANDLERS_H
#define RT_HANDLERS_H

#include "conn.h"
#include "rt_protocol.h"

/* pusher:subscribe / pusher:unsubscribe; both draw on the socket's RT_SUBSCRIBE_RATE bucket and
 * answer 4301 past it. */
void rt_handle_subscribe(struct rt_conn *c, const struct rt_msg *m);
void rt_handle_unsubscribe(struct rt_conn *c, const struct rt_msg *m);
void rt_handle_client_event(struct rt_conn *c, const struct rt_msg *m);
void rt_handle_signin(struct rt_conn *c, const struct rt_msg *m);

struct rt_sub;

/* Cluster mode: the answer to a presence join (registry.c). presence_json is the cluster's
 * member list ({"presence":{...}}), or NULL when Redis could not answer (the node's own list
 * is sent); full: the channel is at its member limit cluster-wide (LimitReached). */
void rt_handle_presence_joined(struct rt_conn *c, struct rt_sub *s, const char *presence_json,
                               bool full);

/* pusher:subscribe/unsubscribe refused with 4301 since start (for /metrics). */
extern unsigned long long rt_subscribe_rate_limited;

#endif
