/* Process-wide state shared by the I/O modules: configuration, loop, lws context, counters. */
#ifndef RT_SERVER_H
#define RT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <libwebsockets.h>
#include <uv.h>

#include "config.h"

struct rt_server {
    struct rt_config cfg;
    uv_loop_t *loop;
    struct lws_context *lws;
    int fd_limit;               /* connections lws may hold (RLIMIT_NOFILE minus a reserve) */
    bool draining;              /* SIGTERM received: refuse new sockets with 4200 */
    bool db_connected;
    unsigned long long socket_counter;
    unsigned long long refused_capacity; /* connections refused at the node limit */
    unsigned long long ws_opened, ws_closed;
    unsigned long long http_requests;
};

extern struct rt_server rt_srv;

/* lws protocol callback for both WebSocket (ws.c) and HTTP (http.c) on the one port. */
int rt_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* Called by rt_lws_callback for WebSocket reasons; returns what lws expects. */
int rt_ws_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);
/* Called by rt_lws_callback for HTTP reasons. */
int rt_http_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);

/* Size of the per-session storage lws allocates for each connection. */
size_t rt_session_size(void);

#endif
