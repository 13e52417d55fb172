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

/* pusher:subscribe/unsubscribe refused with 4301 since start (for /metrics). */
extern unsigned long long rt_subscribe_rate_limited;

#endif
