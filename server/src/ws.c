/* WebSocket edge: handshake checks, frame assembly, dispatch, writes, liveness timers. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "conn.h"
#include "handlers.h"
#include "log.h"
#include "rt_channel_name.h"
#include "rt_protocol.h"
#include "server.h"

#define SECOND_US ((lws_usec_t)1000000)
#define WRITES_PER_CALLBACK 16
/* lws's internal opcode for a close frame (enum value 4, between HTTP and PING; part of the
 * ABI though not named in the public header). */
#define RT_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

/* Returns true when origin is allowed by the app's list: exact match, "*" for any, or a
 * "*.example.com" wildcard matching any subdomain. An empty list allows every origin. */
static bool origin_allowed(const struct rt_app_config *cfg, const char *origin)
{
    if (cfg->n_allowed_origins == 0)
        return true;
    size_t olen = strlen(origin);
    for (size_t i = 0; i < cfg->n_allowed_origins; i++) {
        const char *a = cfg->allowed_origins[i];
        if (strcmp(a, "*") == 0 || strcmp(a, origin) == 0)
            return true;
        if (a[0] == '*' && a[1] == '.') {
            size_t alen = strlen(a + 1); /* ".example.com" */
            if (olen > alen && strcmp(origin + olen - alen, a + 1) == 0)
                return true;
        }
    }
    return false;
}

/* True when the client connected over TLS: directly, or (RT_TRUST_PROXY=1) through a proxy
 * that terminated TLS and said so with X-Forwarded-Proto: https. */
static bool came_over_tls(struct lws *wsi)
{
    if (lws_is_ssl(wsi))
        return true;
    if (!rt_srv.cfg.trust_proxy)
        return false;
    char proto[16];
    static const char name[] = "x-forwarded-proto:";
    if (lws_hdr_custom_copy(wsi, proto, sizeof proto, name, sizeof name - 1) <= 0)
        return false;
    return strcasecmp(proto, "https") == 0 || strcasecmp(proto, "wss") == 0;
}

/* Validates the `protocol` query parameter: missing is accepted as 7 (every surveyed server
 * does this); returns 0 or the Pusher close code. */
static int check_protocol(struct lws *wsi)
{
    char buf[32];
    if (!lws_get_urlarg_by_name(wsi, "protocol=", buf, sizeof buf))
        return 0;
    const char *v = buf + strlen("protocol=");
    if (!*v)
        return 4006;
    char *end;
    long p = strtol(v, &end, 10);
    if (*end != '\0')
        return 4006;
    return p >= 4 && p <= 7 ? 0 : 4007;
}

static void send_established(struct rt_conn *c)
{
    size_t len;
    char *text =
        rt_encode_connection_established(c->socket_id, rt_srv.cfg.activity_timeout, &len);
    rt_conn_send_text(c, text, len);
}

/* Applies the handshake checks of PROTOCOL.md §1.2 in order. */
static void on_established(struct lws *wsi, struct rt_conn *c)
{
    c->wsi = wsi;
    c->last_rx_ms = rt_now_ms();
    rt_srv.ws_opened++;
    char uri[512];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
        uri[0] = '\0';
    const char *prefix = rt_srv.cfg.path_prefix;
    size_t plen = strlen(prefix);
    const char *key = NULL;
    if (strncmp(uri, prefix, plen) == 0 && strncmp(uri + plen, "/app/", 5) == 0)
        key = uri + plen + 5;
    if (!key || !*key || strchr(key, '/') || strlen(key) > RT_APP_KEY_MAX) {
        rt_conn_fail(c, 4005, "Path not found");
        return;
    }
    if (rt_srv.draining) {
        rt_conn_fail(c, 4200, "Server is restarting, reconnect immediately");
        return;
    }
    struct rt_app *app = rt_apps_by_key(key, NULL);
    if (!app) {
        rt_conn_fail(c, 4001, "Application does not exist");
        return;
    }
    if (!app->cfg->enabled) {
        rt_conn_fail(c, 4003, "Application disabled");
        return;
    }
    if (app->cfg->require_tls && !came_over_tls(wsi)) {
        rt_conn_fail(c, 4000, "Application only accepts SSL connections, reconnect using wss://");
        return;
    }
    int pcode = check_protocol(wsi);
    if (pcode) {
        rt_conn_fail(c, pcode, pcode == 4006 ? "Invalid version string format"
                                             : "Unsupported protocol version");
        return;
    }
    char origin[256] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0)
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    if (!origin_allowed(app->cfg, origin)) {
        rt_conn_fail(c, 4009, "Origin not allowed");
        return;
    }
    if (app->cfg->max_connections > 0 && (int)app->conn_count >= app->cfg->max_connections) {
        rt_conn_fail(c, 4004, "Application is over connection quota");
        return;
    }
    if (rt_srv.cfg.max_connections > 0 && (int)rt_conn_total() >= rt_srv.cfg.max_connections) {
        rt_srv.refused_capacity++;
        rt_conn_fail(c, 4100, "Over capacity");
        return;
    }
    snprintf(c->key, sizeof c->key, "%s", key);
    /* Fixed-width node id then a counter: unique across the cluster; the random part keeps
     * socket ids unguessable. */
    snprintf(c->socket_id, sizeof c->socket_id, "%06u%llu.%u", rt_srv.cfg.node_id,
             ++rt_srv.socket_counter, 1 + (unsigned)(random() % 999999999));
    rt_conn_attach(c, app);
    send_established(c);
    lws_usec_t first_timer = rt_srv.cfg.activity_timeout * SECOND_US;
    if (app->cfg->authorized_connections) {
        /* One lws timer per socket: it fires at the earlier deadline and on_timer sorts out
         * which one it was. */
        c->authorize_by_ms = rt_now_ms() + (uint64_t)rt_srv.cfg.authorize_timeout * 1000u;
        if (rt_srv.cfg.authorize_timeout * SECOND_US < first_timer)
            first_timer = rt_srv.cfg.authorize_timeout * SECOND_US;
    }
    lws_set_timer_usecs(wsi, first_timer);
}

static void dispatch(struct rt_conn *c, const char *buf, size_t len)
{
    struct rt_msg m;
    char err[128];
    c->app->messages_in++;
    if (rt_msg_parse(buf, len, &m, err, sizeof err) != 0) {
        rt_conn_send_error(c, 0, err, NULL);
        return;
    }
    if (strcmp(m.event, "pusher:ping") == 0) {
        size_t n;
        char *pong = rt_encode_event("pusher:pong", NULL, RT_STR_LIT("{}"), NULL, &n);
        rt_conn_send_text(c, pong, n);
    } else if (strcmp(m.event, "pusher:pong") == 0) {
        /* activity already recorded */
    } else if (strcmp(m.event, "pusher:subscribe") == 0) {
        rt_handle_subscribe(c, &m);
    } else if (strcmp(m.event, "pusher:unsubscribe") == 0) {
        rt_handle_unsubscribe(c, &m);
    } else if (strcmp(m.event, "pusher:signin") == 0) {
        rt_handle_signin(c, &m);
    } else if (strncmp(m.event, "client-", 7) == 0) {
        rt_handle_client_event(c, &m);
    } else {
        rt_conn_send_error(c, 0, "Unsupported event: clients may send pusher:ping, "
                                 "pusher:subscribe, pusher:unsubscribe, pusher:signin and client-*",
                           NULL);
    }
    rt_msg_free(&m);
}

/* Largest text message accepted: the app payload limit, room for JSON escaping of it, and
 * the envelope; never above the codec's hard cap. */
static size_t rx_limit(const struct rt_conn *c)
{
    size_t limit = (size_t)c->app->cfg->max_payload_bytes * 2 + 4096;
    return limit < RT_FRAME_MAX ? limit : RT_FRAME_MAX;
}

static void on_receive(struct lws *wsi, struct rt_conn *c, const char *in, size_t len)
{
    c->last_rx_ms = rt_now_ms();
    c->ping_sent = false;
    if (!c->app || c->closing)
        return;
    if (lws_is_first_fragment(wsi)) {
        c->rx_len = 0;
        c->rx_discard = false;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    bool done = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (!c->rx_discard && !c->rx_binary) {
        if (c->rx_len + len > rx_limit(c)) {
            c->rx_discard = true;
        } else {
            if (!c->rx) {
                c->rx = malloc(rx_limit(c) + 1);
                if (!c->rx) {
                    rt_conn_close(c, 1011, "Out of memory");
                    return;
                }
            }
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!done)
        return;
    if (c->rx_binary) {
        rt_conn_send_error(c, 0, "Binary frames are not supported: send JSON text frames", NULL);
    } else if (c->rx_discard) {
        char msg[96];
        snprintf(msg, sizeof msg, "Message too large: the limit is %zu bytes", rx_limit(c));
        rt_conn_send_error(c, 0, msg, NULL);
    } else {
        dispatch(c, c->rx, c->rx_len);
    }
    c->rx_len = 0;
    /* Don't keep a large assembly buffer around for idle sockets. */
    if (c->rx && rx_limit(c) > 16384) {
        free(c->rx);
        c->rx = NULL;
    }
}

static int on_writeable(struct lws *wsi, struct rt_conn *c)
{
    if (c->want_ping) {
        /* lws 4.1 swallows empty pongs without telling us, so the ping carries a payload
         * that the pong echoes. */
        unsigned char buf[LWS_PRE + 2] = {0};
        memcpy(buf + LWS_PRE, "rt", 2);
        c->want_ping = false;
        if (lws_write(wsi, buf + LWS_PRE, 2, LWS_WRITE_PING) < 0)
            return -1;
        if (c->q_len > 0 || c->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    /* Write several queued frames per callback while the socket takes them: one callback per
     * frame costs a poll re-arm (epoll_ctl) per message under fan-out. Bounded, so one busy
     * socket cannot hold the loop. */
    if (c->q_len > 0) {
        for (int budget = WRITES_PER_CALLBACK; budget > 0 && c->q_len > 0; budget--) {
            struct rt_frame *f = rt_conn_next_frame(c);
            int n = lws_write(wsi, f->payload, f->len, LWS_WRITE_TEXT);
            rt_frame_unref(f);
            if (n < 0)
                return -1;
            if (lws_send_pipe_choked(wsi))
                break;
        }
        if (c->q_len > 0 || c->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->closing && !c->close_sent) {
        /* Write the close frame ourselves: with the libuv event loop, lws 4.1 drops the socket
         * without the frame when a callback returns -1 after lws_close_reason(). The peer's
         * answering close (or the timeout) then ends the connection. */
        unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
        size_t rlen = strlen(c->close_reason);
        buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
        buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
        memcpy(buf + LWS_PRE + 2, c->close_reason, rlen);
        c->close_sent = true;
        if (lws_write(wsi, buf + LWS_PRE, 2 + rlen, RT_LWS_WRITE_CLOSE) < 0)
            return -1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
        return 0;
    }
    return 0;
}

/* Liveness (PROTOCOL.md §3): after activity_timeout of silence send a protocol ping; if
 * nothing arrives within pong_timeout, close with 4201. */
static void on_timer(struct lws *wsi, struct rt_conn *c)
{
    if (c->closing)
        return;
    if (c->authorize_by_ms && !c->authorized && rt_now_ms() >= c->authorize_by_ms) {
        rt_conn_fail(c, 4009, "Connection not authorized within timeout");
        return;
    }
    uint64_t idle = rt_now_ms() - c->last_rx_ms;
    uint64_t timeout = (uint64_t)rt_srv.cfg.activity_timeout * 1000u;
    if (c->ping_sent) {
        rt_conn_fail(c, 4201, "Pong reply not received");
        return;
    }
    if (idle < timeout) {
        uint64_t next = timeout - idle;
        if (c->authorize_by_ms && !c->authorized && c->authorize_by_ms - rt_now_ms() < next)
            next = c->authorize_by_ms - rt_now_ms();
        lws_set_timer_usecs(wsi, (lws_usec_t)next * 1000);
        return;
    }
    c->ping_sent = true;
    c->want_ping = true;
    lws_callback_on_writable(wsi);
    lws_set_timer_usecs(wsi, rt_srv.cfg.pong_timeout * SECOND_US);
}

int rt_ws_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
    struct rt_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        on_established(wsi, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        on_receive(wsi, c, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* Our close frame already went out: don't echo the peer's, just drop the socket. */
        return c->close_sent ? -1 : 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        c->last_rx_ms = rt_now_ms();
        c->ping_sent = false;
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, c);
    case LWS_CALLBACK_TIMER:
        on_timer(wsi, c);
        return 0;
    case LWS_CALLBACK_CLOSED:
        rt_srv.ws_closed++;
        rt_conn_destroy(c);
        return 0;
    default:
        return 0;
    }
}
