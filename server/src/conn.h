/* A WebSocket connection: identity, send queue with back-pressure, subscriptions, user. */
#ifndef RT_CONN_H
#define RT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "frame.h"
#include "rt_ws.h"
#include "rt_ratelimit.h"

struct rt_app;
struct rt_sub;

#define RT_SOCKET_ID_MAX 31

/* Close codes we send besides the Pusher ones of PROTOCOL.md §4.3. */
#define RT_CLOSE_SLOW_CONSUMER 4100 /* output over its byte budget: reconnect after back-off */

struct rt_sock;
struct rt_ip;
struct rt_token;

struct rt_conn {
    struct rt_sock *sock; /* the socket (net.h): output queue and deadline timer */
    struct rt_app *app;   /* NULL until the handshake checks pass */
    struct rt_ip *ip;     /* the client address's slot (iplimit.h), NULL until attached */
    char socket_id[RT_SOCKET_ID_MAX + 1];
    char key[65];
    uint64_t last_rx_ms;
    uint64_t ping_sent_ms;    /* a ping went out at this time and nothing came back; 0 = none */
    uint64_t authorize_by_ms; /* authorized-connections apps: deadline, 0 = none */
    uint64_t soft_since_ms;   /* queued output above the soft limit since; 0 = below */
    uint64_t close_by_ms;     /* closing: the socket is dropped at this time whatever happens */
    bool authorized;          /* signed in or subscribed to a private/presence channel */
    bool closing;             /* our close frame is queued: no more frames are accepted */
    bool counted;             /* counted in app->conn_count and the socket-id index */
    /* inbound bytes of a frame not complete yet (bounded by the frame limit + one read) */
    uint8_t *rx;
    size_t rx_len, rx_cap;
    struct rt_ws_message msg; /* a fragmented message being reassembled */
    /* subscriptions: uthash by channel name (struct rt_sub.hh) */
    struct rt_sub *subs;
    size_t sub_count;
    /* sign-in (PROTOCOL.md §10) */
    char *user_id;
    char *user_info; /* compact JSON or NULL */
    char **watchlist;
    size_t watchlist_len;
    struct rt_conn *user_next, *user_prev;
    struct rt_token *token; /* the verified connection token (token.h), or NULL */
    struct rt_bucket client_events;
    struct rt_bucket subscribes; /* pusher:subscribe and pusher:unsubscribe */
    struct rt_conn *app_next, *app_prev;
    UT_hash_handle hh; /* socket-id index */
};

/* Sends f (written at once when the socket takes it, else a reference is queued). Returns 0,
 * or -1 when the connection is closing, or when its queued output went past the hard byte
 * limit or the frame limit: it is then closed with RT_CLOSE_SLOW_CONSUMER and its queue
 * freed at once. */
int rt_conn_send(struct rt_conn *c, struct rt_frame *f);

/* Wraps a malloc'd encoded text (ownership passes) into a frame and queues it. */
int rt_conn_send_text(struct rt_conn *c, char *text, size_t len);

/* Sends pusher:error {code (0 = null), message} with an optional channel. */
void rt_conn_send_error(struct rt_conn *c, int code, const char *message, const char *channel);

/* Sends pusher:error and then closes with the same code once queued frames are written. */
void rt_conn_fail(struct rt_conn *c, int code, const char *message);

/* Queues a close frame behind the frames already queued; the socket is dropped when the peer
 * answers it, or RT_CLOSE_TIMEOUT seconds later whatever the peer does. Idempotent: the first
 * code wins. */
void rt_conn_close(struct rt_conn *c, int code, const char *reason);

/* Re-evaluates the connection's deadlines (close, output soft limit, authorize, activity) and
 * re-arms its timer for the earliest. Acts on those that are due. */
void rt_conn_check_deadlines(struct rt_conn *c);

/* Records an authentication failure (bad channel or sign-in signature) against the client's
 * address (iplimit.h). */
void rt_conn_auth_failed(struct rt_conn *c);

/* Releases everything the connection holds (subscriptions, sign-in, indexes) but not the
 * struct. Called once when the socket closes. */
void rt_conn_destroy(struct rt_conn *c);

/* Registers an accepted connection with its app and the socket-id index. */
void rt_conn_attach(struct rt_conn *c, struct rt_app *app);

struct rt_conn *rt_conn_by_socket_id(const char *socket_id);

/* Node-wide count of attached connections. */
size_t rt_conn_total(void);

uint64_t rt_now_ms(void);

/* Wall-clock Unix time in milliseconds, exact to the call. time(NULL) reads the kernel's
 * coarse clock, which can still show the previous second for a few milliseconds after a
 * client's precise clock has moved on; that is enough to misjudge a timestamp bound. */
int64_t rt_unix_ms(void);

#endif
