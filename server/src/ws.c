/* WebSocket edge: Pusher handshake checks, strict RFC 6455 frame parsing and message
 * reassembly, control frames, dispatch of Pusher events. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "conn.h"
#include "handlers.h"
#include "iplimit.h"
#include "registry.h"
#include "log.h"
#include "rt_alloc.h"
#include "rt_channel_name.h"
#include "rt_http.h"
#include "rt_protocol.h"
#include "rt_query.h"
#include "server.h"
#include "token.h"

#define RX_KEEP_MAX 4096 /* an idle socket keeps no receive buffer larger than this */

/* Returns true when origin is allowed by the app's list: exact match, "*" for any, or a
 * "*.example.com" wildcard matching any subdomain. An empty list allows every origin. */
static bool origin_allowed(const struct rt_app_config *cfg, const char *origin)
{
    if (cfg->n_allowed_origins == 0) return true;
    size_t olen = strlen(origin);
    for (size_t i = 0; i < cfg->n_allowed_origins; i++) {
        const char *a = cfg->allowed_origins[i];
        if (strcmp(a, "*") == 0 || strcmp(a, origin) == 0) return true;
        if (a[0] == '*' && a[1] == '.') {
            size_t alen = strlen(a + 1); /* ".example.com" */
            if (olen > alen && strcmp(origin + olen - alen, a + 1) == 0) return true;
        }
    }
    return false;
}

/* True when the client came over TLS: to this process (RT_TLS_CERT), or to a proxy that
 * terminated it and says so with X-Forwarded-Proto: https (RT_TRUST_PROXY=1). */
static bool came_over_tls(const struct rt_sock *s, const struct rt_http_req *req)
{
    if (s->tls) return true;
    if (!rt_srv.cfg.trust_proxy) return false;
    struct rt_str proto = rt_http_header(req, "x-forwarded-proto");
    return (proto.n == 5 && strncasecmp(proto.p, "https", 5) == 0) ||
           (proto.n == 3 && strncasecmp(proto.p, "wss", 3) == 0);
}

/* Validates the `protocol` query parameter: missing is accepted as 7 (every surveyed server
 * does this); returns 0 or the Pusher close code. */
static int check_protocol(const struct rt_query *q)
{
    const char *v = rt_query_get(q, "protocol");
    if (!v) return 0;
    if (!*v) return 4006;
    char *end;
    long p = strtol(v, &end, 10);
    if (*end != '\0') return 4006;
    return p >= 4 && p <= 7 ? 0 : 4007;
}

static void send_established(struct rt_conn *c)
{
    size_t len;
    char *text = rt_encode_connection_established(c->socket_id, rt_srv.cfg.activity_timeout, &len);
    rt_conn_send_text(c, text, len);
}

/* Copies the header called name into out (truncated to cap - 1), "" when absent. */
static void header_copy(const struct rt_http_req *req, const char *name, char *out, size_t cap)
{
    struct rt_str v = rt_http_header(req, name);
    snprintf(out, cap, "%.*s", (int)v.n, v.p ? v.p : "");
}

/* Applies the handshake checks of PROTOCOL.md §1.2 in order; returns 0 when the connection
 * is attached to its app, else it is already failing with the Pusher code. */
static int check_handshake(struct rt_conn *c, const struct rt_http_req *req,
                           const char *client_ip)
{
    char path[512];
    struct rt_query q;
    if (req->path.n >= sizeof path || rt_path_decode(req->path.p, req->path.n, path) < 0)
        path[0] = '\0';
    if (rt_query_parse(req->query.p, req->query.n, &q) != 0) memset(&q, 0, sizeof q);
    const char *prefix = rt_srv.cfg.path_prefix;
    size_t plen = strlen(prefix);
    const char *key = NULL;
    int rc = -1;
    if (strncmp(path, prefix, plen) == 0 && strncmp(path + plen, "/app/", 5) == 0)
        key = path + plen + 5;
    if (!key || !*key || strchr(key, '/') || strlen(key) > RT_APP_KEY_MAX) {
        rt_conn_fail(c, 4005, "Path not found");
        goto done;
    }
    if (rt_srv.draining) {
        rt_conn_fail(c, 4200, "Server is restarting, reconnect immediately");
        goto done;
    }
    struct rt_app *app = rt_apps_by_key(key, NULL);
    if (!app) {
        rt_ip_failure(client_ip); /* probing for app keys */
        rt_conn_fail(c, 4001, "Application does not exist");
        goto done;
    }
    if (!app->cfg->enabled) {
        rt_conn_fail(c, 4003, "Application disabled");
        goto done;
    }
    if (app->cfg->require_tls && !came_over_tls(c->sock, req)) {
        rt_conn_fail(c, 4000, "Application only accepts SSL connections, reconnect using wss://");
        goto done;
    }
    int pcode = check_protocol(&q);
    if (pcode) {
        rt_conn_fail(c, pcode,
                     pcode == 4006 ? "Invalid version string format"
                                   : "Unsupported protocol version");
        goto done;
    }
    char origin[256];
    header_copy(req, "origin", origin, sizeof origin);
    if (!origin_allowed(app->cfg, origin)) {
        rt_conn_fail(c, 4009, "Origin not allowed");
        goto done;
    }
    /* Cluster-wide in a cluster: the other nodes' counts are at most a second old. */
    if (app->cfg->max_connections > 0 &&
        rt_registry_app_connections(app) >= (size_t)app->cfg->max_connections) {
        rt_conn_fail(c, 4004, "Application is over connection quota");
        goto done;
    }
    if (rt_srv.cfg.max_connections > 0 && (int)rt_conn_total() >= rt_srv.cfg.max_connections) {
        rt_srv.refused_capacity++;
        rt_conn_fail(c, 4100, "Over capacity");
        goto done;
    }
    /* Connection token (token.h): checked last, so that a bad one is refused with its own
     * reason only when everything else would have let the connection in. */
    if (rt_token_check_handshake(c, app, key, rt_query_get(&q, "token"), client_ip) != 0) goto done;
    c->ip = rt_ip_hold(client_ip);
    if (!c->ip) {
        rt_conn_fail(c, 4100, "Too many connections from this address");
        goto done;
    }
    snprintf(c->key, sizeof c->key, "%s", key);
    /* Fixed-width node id then a counter: unique across the cluster; the random part keeps
     * socket ids unguessable. */
    static unsigned long long counter;
    snprintf(c->socket_id, sizeof c->socket_id, "%06u%llu.%u", rt_srv.cfg.node_id, ++counter,
             1 + randombytes_uniform(999999999));
    rt_conn_attach(c, app);
    rt_token_sign_in_at_handshake(c);
    rc = 0;
done:
    rt_query_free(&q);
    return rc;
}

void rt_ws_open(struct rt_sock *s, const struct rt_http_req *req, const char *client_ip,
                uint8_t *rest, size_t rest_len)
{
    struct rt_conn *c = rt_xcalloc(1, sizeof *c);
    c->sock = s;
    s->u.ws = c;
    c->last_rx_ms = rt_now_ms();
    rt_srv.ws_opened++;
    if (check_handshake(c, req, client_ip) != 0) return;
    send_established(c);
    if (c->app->cfg->authorized_connections)
        c->authorize_by_ms = rt_now_ms() + (uint64_t)rt_srv.cfg.authorize_timeout * 1000u;
    rt_conn_check_deadlines(c);
    if (rest_len) rt_ws_input(s, rest, rest_len);
}

/* ---- inbound messages ----------------------------------------------------------------- */

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
        rt_conn_send_error(c, 0,
                           "Unsupported event: clients may send pusher:ping, "
                           "pusher:subscribe, pusher:unsubscribe, pusher:signin and client-*",
                           NULL);
    }
    rt_msg_free(&m);
}

/* Largest message accepted: the app payload limit, room for JSON escaping of it, and the
 * envelope; never above the codec's hard cap. Before the handshake checks pass nothing but
 * control frames is expected. */
static size_t rx_limit(const struct rt_conn *c)
{
    if (!c->app) return RT_WS_CONTROL_MAX;
    size_t limit = (size_t)c->app->cfg->max_payload_bytes * 2 + 4096;
    return limit < RT_FRAME_MAX ? limit : RT_FRAME_MAX;
}

/* A frame broke RFC 6455 or a limit: close with code and read nothing more from the socket. */
static void protocol_error(struct rt_conn *c, int code)
{
    rt_srv.ws_protocol_errors++;
    if (code == RT_WS_CLOSE_TOO_LARGE) {
        char msg[96];
        snprintf(msg, sizeof msg, "Message too large: the limit is %zu bytes", rx_limit(c));
        rt_conn_send_error(c, 0, msg, NULL);
        rt_conn_close(c, code, "Message too large");
    } else if (code == RT_WS_CLOSE_INVALID_DATA) {
        rt_conn_close(c, code, "Invalid UTF-8 in a text message");
    } else {
        rt_conn_close(c, code, "WebSocket protocol error");
    }
    c->rx_len = 0;
}

/* The peer's close frame: echo its code (RFC 6455 §5.5.1) unless ours went out already, and
 * drop the socket once the echo is written. */
static void on_peer_close(struct rt_conn *c, const struct rt_ws_frame *f)
{
    int code = RT_WS_CLOSE_NORMAL;
    if (f->len == 1)
        code = RT_WS_CLOSE_PROTOCOL;
    else if (f->len >= 2)
        code = f->payload[0] << 8 | f->payload[1];
    if (!c->closing) rt_conn_close(c, code, "");
    rt_sock_drop_after_flush(c->sock);
}

static void on_frame(struct rt_conn *c, const struct rt_ws_frame *f)
{
    switch (f->opcode) {
    case RT_WS_PING: {
        struct rt_frame *pong = rt_frame_ws(RT_WS_PONG, f->payload, f->len);
        rt_conn_send(c, pong); /* counts against the output budget: a ping flood that never
                                  reads its pongs is a slow consumer */
        rt_frame_unref(pong);
        return;
    }
    case RT_WS_PONG:
        return;
    case RT_WS_CLOSE:
        on_peer_close(c, f);
        return;
    default:
        break;
    }
    uint8_t opcode;
    const uint8_t *data;
    size_t len;
    int rc = rt_ws_message_feed(&c->msg, f, rx_limit(c), &opcode, &data, &len);
    if (rc < 0) {
        protocol_error(c, -rc);
        return;
    }
    if (rc == 0) return;
    if (!c->app) return;
    if (opcode == RT_WS_BINARY)
        rt_conn_send_error(c, 0, "Binary frames are not supported: send JSON text frames", NULL);
    else
        dispatch(c, (const char *)data, len);
}

/* Parses and handles the whole frames in buf[0..len); returns the bytes used. Stops at an
 * incomplete frame (*need: its full size when known) or when the connection starts closing on
 * a protocol error (everything after the bad frame is ignored). */
static size_t consume_frames(struct rt_conn *c, uint8_t *buf, size_t len, size_t *need)
{
    size_t off = 0;
    *need = 0;
    while (off < len && !c->sock->dropping) {
        struct rt_ws_frame f;
        long rc = rt_ws_parse_frame(buf + off, len - off, rx_limit(c), &f, need);
        if (rc == 0) break;
        if (rc < 0) {
            if (!c->closing)
                protocol_error(c, (int)-rc);
            else
                rt_sock_drop(c->sock);
            return len;
        }
        off += (size_t)rc;
        /* Once closing, only the peer's close frame matters. */
        if (!c->closing || f.opcode == RT_WS_CLOSE) on_frame(c, &f);
    }
    return off;
}

/* Makes room for len bytes of an incomplete frame, growing with what actually arrives, never
 * to a size merely announced by a header. Capacity is tracked in the connection and checked
 * here whatever the app's limit is now. */
static void reserve_rx(struct rt_conn *c, size_t len)
{
    if (len <= c->rx_cap) return;
    size_t cap = c->rx_cap ? c->rx_cap : 256;
    while (cap < len)
        cap *= 2;
    c->rx = rt_xrealloc(c->rx, cap);
    c->rx_cap = cap;
}

void rt_ws_input(struct rt_sock *s, uint8_t *in, size_t len)
{
    struct rt_conn *c = s->u.ws;
    c->last_rx_ms = rt_now_ms();
    c->ping_sent_ms = 0;
    size_t need, used;
    if (c->rx_len == 0) {
        /* The common case: whole frames straight from the read buffer, no copy. */
        used = consume_frames(c, in, len, &need);
        if (used < len && !s->dropping) {
            reserve_rx(c, len - used);
            memcpy(c->rx, in + used, len - used);
            c->rx_len = len - used;
        }
    } else {
        size_t total = c->rx_len + len;
        reserve_rx(c, total);
        memcpy(c->rx + c->rx_len, in, len);
        used = consume_frames(c, c->rx, total, &need);
        c->rx_len = 0;
        if (used < total && !s->dropping) {
            memmove(c->rx, c->rx + used, total - used);
            c->rx_len = total - used;
        }
    }
    if (c->rx_len == 0 && c->rx_cap > RX_KEEP_MAX) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
}

void rt_ws_written(struct rt_sock *s)
{
    struct rt_conn *c = s->u.ws;
    if (c && c->soft_since_ms) rt_conn_check_deadlines(c);
}

void rt_ws_closed(struct rt_sock *s)
{
    struct rt_conn *c = s->u.ws;
    if (!c) return;
    rt_srv.ws_closed++;
    rt_conn_destroy(c);
    free(c);
    s->u.ws = NULL;
}
