/* Publishing events to channels. Standalone: in-process fan-out. The cluster layer (Redis)
 * plugs in here: every publish goes through rt_broker_publish, every delivery through
 * rt_broker_deliver_local, so multi-node fan-out does not touch the protocol handlers. */
#ifndef RT_BROKER_H
#define RT_BROKER_H

#include "frame.h"

struct rt_app;

/* Delivers f (encoded once by the caller) to every subscriber of `channel` of app, on every
 * node; the socket whose id is except_socket_id (may be NULL) is skipped. For
 * "#server-to-user-{id}" channels delivers to every socket signed in as that user. */
void rt_broker_publish(struct rt_app *app, const char *channel, struct rt_frame *f,
                       const char *except_socket_id);

/* rt_broker_publish for an HTTP-API event on a cache channel: every node also stores it as
 * the channel's last event. */
void rt_broker_publish_cached(struct rt_app *app, const char *channel, const char *event,
                              const char *data, struct rt_frame *f, const char *except_socket_id);

/* Local half of a publish: what a node does when an event for channel arrives. Returns the
 * number of sockets the frame was queued to. */
size_t rt_broker_deliver_local(struct rt_app *app, const char *channel, struct rt_frame *f,
                               const char *except_socket_id);

#endif
