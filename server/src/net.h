/* Sockets of the one port: libwebsockets accepts them as raw sockets and we speak HTTP/1.1 and
 * WebSocket on them ourselves (http.c, ws.c). Writes go straight to the socket while it takes
 * them; only the rest of a short write is queued (by reference) until it is writeable. */
#ifndef RT_NET_H
#define RT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "timer.h"

struct lws;
struct rt_conn;
struct rt_http;

enum rt_sock_kind { RT_SOCK_NEW = 0, RT_SOCK_HTTP, RT_SOCK_WS };

/* Bytes waiting for the socket: a ring of frame references, the first partly written. */
struct rt_outq {
    struct rt_frame **frames;
    uint32_t head, len, cap;
    size_t offset; /* bytes of frames[head] already written */
    size_t bytes;  /* unsent bytes in all queued frames */
};

/* lws's per-session storage of every accepted socket. */
struct rt_sock {
    struct lws *wsi;
    int fd;
    uint8_t kind;          /* enum rt_sock_kind */
    bool dropping;         /* being closed: no more input is read, no more output queued */
    bool drop_after_flush; /* close the socket once the queue is empty */
    bool tls;              /* TLS through lws: every write goes through lws_write */
    struct rt_timer timer; /* the owner's deadlines (http.c, ws.c) */
    struct rt_outq out;
    union {
        struct rt_http *http;
        struct rt_conn *ws;
    } u;
};

/* Writes f (a reference is kept while any of it is unsent). Returns 0, or -1 when the socket
 * is being dropped or the write failed (the socket is then dropped). */
int rt_sock_send(struct rt_sock *s, struct rt_frame *f);

/* Closes the socket without writing anything more (queued output is discarded). Safe to call
 * repeatedly; the owner's state is released in the close callback, not here. */
void rt_sock_drop(struct rt_sock *s);

/* Closes the socket once queued output is written (or when the owner's deadline drops it). */
void rt_sock_drop_after_flush(struct rt_sock *s);

/* Discards queued output (after a slow-consumer decision). */
void rt_sock_discard_output(struct rt_sock *s);

/* The client's address as text (IPv4/IPv6), "" when unknown. */
void rt_sock_peer(const struct rt_sock *s, char *out, size_t cap);

/* The lws protocol callback for the port. */
int rt_net_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);

size_t rt_net_session_size(void);

#endif
