/* Publishing events to channels. Standalone: in-process fan-out. The cluster layer (Redis)
 * plugs in here: every publish goes through rt_broker_publish, every delivery through
 * rt_broker_deliver_local, so multi-node fan-out does not touch the protocol handlers. */
#ifndef RT_BROKER_H
#define RT_BROKER_H

#include <stdbool.h>

#include "frame.h"

struct rt_app;

/* Delivers f (encoded once by the caller) to every subscriber of `channel` of app, on every
 * node; the socket whose id is except_socket_id (may be NULL) is skipped. For
 * "#server-to-user-{id}" channels delivers to every socket signed in as that user. */
void rt_broker_publish(struct rt_app *app, const char *channel, struct rt_frame *f,
                       const char *except_socket_id);

/* rt_broker_publish for the HTTP API: the fan-out runs on the
 * next loop turn, after the response to the backend has been written, so a publish to 5000
 * sockets answers in microseconds. Events keep their order. The cache value (cached = true)
 * is stored at once, so a read right after the publish sees it. */
void rt_broker_publish_soon(struct rt_app *app, const char *channel, struct rt_frame *f,
                            const char *except_socket_id, bool cached, const char *event,
                            const char *data);

/* Runs the deferred publishes now, in order (ingest.c: its XACK must follow the fan-out). */
void rt_broker_flush(void);

/* Closes the deferred-publish handle (at shutdown); what is still queued is delivered first. */
void rt_broker_stop(void);

/* Local half of a publish: what a node does when an event for channel arrives. Returns the
 * number of sockets the frame was queued to. */
size_t rt_broker_deliver_local(struct rt_app *app, const char *channel, struct rt_frame *f,
                               const char *except_socket_id);

#endif
