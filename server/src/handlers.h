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

/* The state a successful sign-in leaves, shared by pusher:signin and connection tokens: c is
 * signed in as user_id (watchers told it came online) unless it already is, and takes
 * user_info and watchlist (ownership passes; NULL / 0 clear them). The caller has refused a
 * different user already signed in on c. */
void rt_signin_apply(struct rt_conn *c, const char *user_id, char *user_info, char **watchlist,
                     size_t watchlist_len);

/* Answers a sign-in with pusher:signin_success {user_data}. */
void rt_signin_send_success(struct rt_conn *c, const char *user_data, size_t len);

struct rt_sub;

/* Cluster mode: the answer to a presence join (registry.c). presence_json is the cluster's
 * member list ({"presence":{...}}), or NULL when Redis could not answer (the node's own list
 * is sent); full: the channel is at its member limit cluster-wide (LimitReached). */
void rt_handle_presence_joined(struct rt_conn *c, struct rt_sub *s, const char *presence_json,
                               bool full);

/* pusher:subscribe/unsubscribe refused with 4301 since start (for /metrics). */
extern unsigned long long rt_subscribe_rate_limited;

#endif
