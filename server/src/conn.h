/* A WebSocket connection: identity, send queue with back-pressure, subscriptions, user. */
#ifndef RT_CONN_H
#define RT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "frame.h"
#include "rt_ratelimit.h"

struct lws;
struct rt_app;
struct rt_sub;

#define RT_SOCKET_ID_MAX 31

/* Close codes we send besides the Pusher ones of PROTOCOL.md §4.3. */
#define RT_CLOSE_SLOW_CONSUMER 4100 /* send queue full: reconnect after back-off */

struct rt_conn {
    struct lws *wsi;
    struct rt_app *app; /* NULL until the handshake checks pass */
    char socket_id[RT_SOCKET_ID_MAX + 1];
    char key[65];
    uint64_t last_rx_ms;
    bool ping_sent; /* a ping went out and nothing has come back yet */
    bool authorized; /* signed in or subscribed to a private/presence channel */
    uint64_t authorize_by_ms; /* authorized-connections apps: deadline, 0 = none */
    bool want_ping; /* write a protocol ping at the next writeable callback */
    bool closing;   /* no more frames accepted; close after the queue drains */
    bool close_sent; /* our close frame is written; waiting for the peer's */
    bool counted;   /* counted in app->conn_count and the socket-id index */
    int close_code;
    char close_reason[124]; /* RFC 6455 allows 123 bytes of reason */
    /* bounded ring of frames waiting for LWS_CALLBACK_SERVER_WRITEABLE */
    struct rt_frame **queue;
    uint32_t q_head, q_len, q_cap;
    /* a message arriving in several fragments is assembled here (bounded) */
    char *rx;
    size_t rx_len;
    bool rx_discard;
    bool rx_binary;
    /* subscriptions: uthash by channel name (struct rt_sub.hh) */
    struct rt_sub *subs;
    size_t sub_count;
    /* sign-in (PROTOCOL.md §10) */
    char *user_id;
    char *user_info; /* compact JSON or NULL */
    char **watchlist;
    size_t watchlist_len;
    struct rt_conn *user_next, *user_prev;
    struct rt_bucket client_events;
    struct rt_bucket subscribes; /* pusher:subscribe and pusher:unsubscribe */
    struct rt_conn *app_next, *app_prev;
    UT_hash_handle hh; /* socket-id index */
};

/* Queues a reference to f. Returns 0, or -1 when the connection is closing or its queue is
 * full (the connection is then closed with RT_CLOSE_SLOW_CONSUMER). */
int rt_conn_send(struct rt_conn *c, struct rt_frame *f);

/* Wraps a malloc'd encoded text (ownership passes) into a frame and queues it. */
int rt_conn_send_text(struct rt_conn *c, char *text, size_t len);

/* Sends pusher:error {code (0 = null), message} with an optional channel. */
void rt_conn_send_error(struct rt_conn *c, int code, const char *message, const char *channel);

/* Sends pusher:error and then closes with the same code once queued frames are written. */
void rt_conn_fail(struct rt_conn *c, int code, const char *message);

/* Closes after the queued frames are written. Idempotent: the first code wins. */
void rt_conn_close(struct rt_conn *c, int code, const char *reason);

/* Pops the next frame to write (caller unrefs it after lws_write), or NULL. */
struct rt_frame *rt_conn_next_frame(struct rt_conn *c);

/* Releases everything the connection holds (subscriptions, sign-in, queue, indexes). Called
 * once from LWS_CALLBACK_CLOSED. */
void rt_conn_destroy(struct rt_conn *c);

/* Registers an accepted connection with its app and the socket-id index. */
void rt_conn_attach(struct rt_conn *c, struct rt_app *app);

struct rt_conn *rt_conn_by_socket_id(const char *socket_id);

/* Node-wide count of attached connections. */
size_t rt_conn_total(void);

/* Queue depth bound for every connection (from RT_SEND_QUEUE_MAX). */
void rt_conn_set_queue_max(uint32_t max);

uint64_t rt_now_ms(void);

#endif
