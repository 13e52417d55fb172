/* Process-wide state shared by the I/O modules: configuration, loop, lws context, counters. */
#ifndef RT_SERVER_H
#define RT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "net.h"

struct lws_context;
struct rt_http_req;

/* Counters of WebSocket closes by code (small fixed table: codes are few and ours). */
#define RT_CLOSE_CODES_MAX 48

struct rt_server {
    struct rt_config cfg;
    uv_loop_t *loop;
    struct lws_context *lws;
    int fd_limit;  /* connections lws may hold (RLIMIT_NOFILE minus a reserve) */
    bool draining; /* SIGTERM received: refuse new sockets with 4200 */
    int worker;    /* RT_WORKERS: this process's index (0 when single) */
    bool db_connected;
    unsigned long long refused_capacity; /* connections refused at the node limit */
    unsigned long long ws_opened, ws_closed;
    unsigned long long http_requests;
    unsigned long long slow_consumer_closes;
    unsigned long long ws_protocol_errors; /* frames that broke RFC 6455 (1002, 1007, 1009) */
    struct {
        unsigned long long inflight_node, inflight_ip, header_timeout, body_timeout,
            header_too_large, bad_request;
    } http_refused;
    struct {
        int code;
        unsigned long long count;
    } closes[RT_CLOSE_CODES_MAX];
};

extern struct rt_server rt_srv;

/* Counts one WebSocket close with code (for /metrics). */
void rt_server_count_close(int code);

/* ---- the edge: net.c calls these for sockets of each kind ---- */

/* http.c: a new socket (every socket starts as HTTP), its input, output written, its end. */
void rt_http_open(struct rt_sock *s);
void rt_http_input(struct rt_sock *s, uint8_t *in, size_t len);
void rt_http_written(struct rt_sock *s);
void rt_http_closed(struct rt_sock *s);

/* ws.c: takes over a socket whose upgrade request passed the RFC 6455 checks (the 101 is
 * already queued); rest holds bytes that followed the request head. client_ip is the
 * client's address (see iplimit.h). */
void rt_ws_open(struct rt_sock *s, const struct rt_http_req *req, const char *client_ip,
                uint8_t *rest, size_t rest_len);
void rt_ws_input(struct rt_sock *s, uint8_t *in, size_t len);
void rt_ws_written(struct rt_sock *s);
void rt_ws_closed(struct rt_sock *s);

#endif
