/* HTTP/1.1 on the one port: request heads and bodies read under deadlines and byte caps,
 * REST requests handed to rest.c, WebSocket upgrades handed to ws.c, keep-alive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "conn.h"
#include "iplimit.h"
#include "log.h"
#include "rest.h"
#include "rt_alloc.h"
#include "rt_http.h"
#include "rt_err.h"
#include "rt_query.h"
#include "rt_ws.h"
#include "server.h"

#define READ_SLACK 16384 /* one read (lws pt_serv_buf_size in main.c) past what is needed */

enum phase { PHASE_IDLE, PHASE_HEAD, PHASE_BODY, PHASE_RESPONDING };

struct rt_http {
    char *buf; /* the current request's head and body, then any pipelined bytes */
    size_t len, cap;
    size_t scanned;         /* how far the blank line was looked for (rt_http_parse_head) */
    long head_len;          /* > 0 once the head is parsed */
    struct rt_http_req req; /* points into buf */
    uint64_t body_len;      /* declared Content-Length */
    uint64_t inflight;      /* bytes counted against the in-flight body caps */
    enum phase phase;
    bool keep_alive;
    bool head_only; /* a HEAD request: the response has no body */
    int minor_version;
    struct rt_sock *sock;
    uint64_t request_id; /* the request waiting for a late answer (rest.c), 0 = none */
    UT_hash_handle hh;   /* waiting: by request_id */
    char peer[48]; /* the socket's peer address */
    char ip[48];   /* the client's address: the peer, or behind a trusted proxy the one it saw */
};

/* Bytes of request bodies being read, node-wide and per client address: a client announcing
 * large bodies and sending them slowly holds at most its share, refused before reading. */
struct ip_inflight {
    char ip[48];
    uint64_t bytes;
    UT_hash_handle hh;
};

static struct ip_inflight *by_ip;
static struct rt_http *waiting; /* requests whose answer comes later, by request_id */
static uint64_t next_request_id;
static uint64_t node_inflight;

static struct rt_sock *sock_of_timer(struct rt_timer *t)
{
    return (struct rt_sock *)((char *)t - offsetof(struct rt_sock, timer));
}

/* ---- in-flight body caps -------------------------------------------------------------- */

static int inflight_take(struct rt_http *h, uint64_t bytes)
{
    if (node_inflight + bytes > (uint64_t)rt_srv.cfg.http_body_inflight_kb * 1024) {
        rt_srv.http_refused.inflight_node++;
        return 503;
    }
    struct ip_inflight *e = NULL;
    HASH_FIND_STR(by_ip, h->ip, e);
    uint64_t held = e ? e->bytes : 0;
    if (held + bytes > (uint64_t)rt_srv.cfg.http_body_inflight_per_ip_kb * 1024) {
        rt_srv.http_refused.inflight_ip++;
        return 429;
    }
    if (!e) {
        e = rt_xcalloc(1, sizeof *e);
        snprintf(e->ip, sizeof e->ip, "%s", h->ip);
        HASH_ADD_STR(by_ip, ip, e);
    }
    e->bytes += bytes;
    node_inflight += bytes;
    h->inflight = bytes;
    return 0;
}

static void inflight_release(struct rt_http *h)
{
    if (!h->inflight) return;
    struct ip_inflight *e = NULL;
    HASH_FIND_STR(by_ip, h->ip, e);
    if (e) {
        e->bytes -= h->inflight;
        if (e->bytes == 0) {
            HASH_DEL(by_ip, e);
            free(e);
        }
    }
    node_inflight -= h->inflight;
    h->inflight = 0;
}

/* ---- responses ------------------------------------------------------------------------- */

static void process(struct rt_sock *s);
static void consume_request(struct rt_http *h);

/* The response went out: wait for the next request on a keep-alive connection. */
static void response_done(struct rt_sock *s)
{
    struct rt_http *h = s->u.http;
    h->phase = PHASE_IDLE;
    rt_timer_set(&s->timer, rt_now_ms() + (uint64_t)rt_srv.cfg.http_keepalive_timeout * 1000,
                 s->timer.fn);
    process(s);
}

/* Queues one whole response. close: the connection ends after it. */
static void respond(struct rt_sock *s, int status, const char *content_type, const char *body,
                    bool close)
{
    struct rt_http *h = s->u.http;
    inflight_release(h);
    if (!h->keep_alive) close = true;
    bool head_only = h->head_only;
    size_t blen = body ? strlen(body) : 0;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nServer: realtime\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nAccess-Control-Allow-Origin: *\r\n%s\r\n",
                     status, rt_http_reason(status), content_type, blen,
                     close                   ? "Connection: close\r\n"
                     : h->minor_version == 0 ? "Connection: keep-alive\r\n"
                                             : "");
    size_t total = (size_t)n + (head_only ? 0 : blen);
    char *out = rt_xmalloc(total);
    memcpy(out, head, (size_t)n);
    if (!head_only && blen) memcpy(out + n, body, blen);
    struct rt_frame *f = rt_frame_raw(out, total);
    free(out);
    h->phase = PHASE_RESPONDING;
    rt_sock_send(s, f);
    rt_frame_unref(f);
    /* A response the peer does not read holds the socket no longer than an idle one. */
    rt_timer_set(&s->timer, rt_now_ms() + (uint64_t)rt_srv.cfg.http_keepalive_timeout * 1000,
                 s->timer.fn);
    if (close) {
        /* Unread body bytes or pipelined requests must not be taken for the next request. */
        rt_sock_drop_after_flush(s);
        return;
    }
    if (s->out.len == 0 && !s->dropping) response_done(s);
}

static void respond_error(struct rt_sock *s, int status, const char *json, bool close)
{
    respond(s, status, "application/json", json, close);
}

void rt_http_written(struct rt_sock *s)
{
    struct rt_http *h = s->u.http;
    if (h && h->phase == PHASE_RESPONDING && s->out.len == 0) response_done(s);
}

/* ---- requests -------------------------------------------------------------------------- */

static bool method_is(const struct rt_http_req *req, const char *m)
{
    return req->method.n == strlen(m) && memcmp(req->method.p, m, req->method.n) == 0;
}

/* Checks an upgrade request against RFC 6455 §4.2.1 and hands the socket to ws.c. */
static void upgrade(struct rt_sock *s)
{
    struct rt_http *h = s->u.http;
    const struct rt_http_req *req = &h->req;
    struct rt_str version = rt_http_header(req, "sec-websocket-version");
    struct rt_str key = rt_http_header(req, "sec-websocket-key");
    char accept[29];
    if (!method_is(req, "GET") || req->minor_version < 1 ||
        !rt_http_has_token(rt_http_header(req, "connection"), "upgrade")) {
        rt_srv.http_refused.bad_request++;
        respond_error(s, 400, "{\"error\":\"Invalid WebSocket upgrade request\"}", true);
        return;
    }
    if (version.n != 2 || memcmp(version.p, "13", 2) != 0) {
        rt_srv.http_refused.bad_request++;
        respond_error(s, 426, "{\"error\":\"Unsupported WebSocket version: use 13\"}", true);
        return;
    }
    if (!key.p || rt_ws_accept_key(key.p, key.n, accept) != 0) {
        rt_srv.http_refused.bad_request++;
        respond_error(s, 400, "{\"error\":\"Invalid Sec-WebSocket-Key\"}", true);
        return;
    }
    char resp[160];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    struct rt_frame *f = rt_frame_raw(resp, (size_t)n);
    rt_sock_send(s, f);
    rt_frame_unref(f);
    if (s->dropping) return;
    rt_timer_cancel(&s->timer);
    s->u.http = NULL;
    s->kind = RT_SOCK_WS;
    size_t used = (size_t)h->head_len;
    rt_ws_open(s, req, h->ip, (uint8_t *)h->buf + used, h->len - used);
    free(h->buf);
    free(h);
}

static void on_body_complete(struct rt_sock *s)
{
    struct rt_http *h = s->u.http;
    const struct rt_http_req *req = &h->req;
    char *path = rt_xmalloc(req->path.n + 1);
    struct rt_query q;
    if (rt_path_decode(req->path.p, req->path.n, path) < 0) {
        free(path);
        consume_request(h);
        respond_error(s, 400, "{\"error\":\"Invalid percent-encoding in the path\"}", false);
        return;
    }
    int qrc = rt_query_parse(req->query.p, req->query.n, &q);
    if (qrc != 0) {
        free(path);
        consume_request(h);
        respond_error(s, 400,
                      qrc == RT_ERR_TOO_LARGE ? "{\"error\":\"Too many query parameters\"}"
                                              : "{\"error\":\"Invalid query string\"}",
                      false);
        return;
    }
    const char *p = path;
    size_t plen = strlen(rt_srv.cfg.path_prefix);
    if (plen && strncmp(p, rt_srv.cfg.path_prefix, plen) == 0) p += plen;
    char method[16];
    snprintf(method, sizeof method, "%.*s", (int)req->method.n, req->method.p);
    struct rt_rest_response resp;
    const char *body = h->buf + h->head_len;
    /* rest.c reads the body as a string: terminate it (the buffer has room, see append). */
    char saved = h->buf[h->head_len + h->body_len];
    h->buf[h->head_len + h->body_len] = '\0';
    uint64_t id = ++next_request_id;
    rt_rest_handle(method, p, &q, body, (size_t)h->body_len, id, &resp);
    if (resp.status == 401)
        rt_ip_failure(h->ip);
    h->buf[h->head_len + h->body_len] = saved;
    rt_query_free(&q);
    free(path);
    /* Forget the request before answering: answering may go on to a pipelined one. */
    consume_request(h);
    if (resp.pending) {
        /* rest.c answers later (rt_http_answer); the socket waits in PHASE_RESPONDING, its
         * keep-alive deadline bounding the wait. */
        h->request_id = id;
        HASH_ADD(hh, waiting, request_id, sizeof h->request_id, h);
        rt_timer_set(&s->timer,
                     rt_now_ms() + (uint64_t)rt_srv.cfg.http_keepalive_timeout * 1000,
                     s->timer.fn);
        return;
    }
    respond(s, resp.status, resp.content_type ? resp.content_type : "application/json",
            resp.body ? resp.body : "", false);
    free(resp.body);
}

/* Decides what a parsed head asks for: an upgrade, a refusal, or a body to read. */
/* The client's address: the peer's, or with RT_TRUST_PROXY the last X-Forwarded-For entry
 * (the one the trusted proxy appended; earlier ones are the client's word). */
static void client_address(struct rt_http *h)
{
    snprintf(h->ip, sizeof h->ip, "%s", h->peer);
    if (!rt_srv.cfg.trust_proxy)
        return;
    struct rt_str xff = rt_http_header(&h->req, "x-forwarded-for");
    if (!xff.p || !xff.n)
        return;
    const char *last = memrchr(xff.p, ',', xff.n);
    struct rt_str v = last ? (struct rt_str){last + 1, xff.n - (size_t)(last + 1 - xff.p)} : xff;
    while (v.n && (*v.p == ' ' || *v.p == '\t')) {
        v.p++;
        v.n--;
    }
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
        v.n--;
    if (v.n && v.n < sizeof h->ip)
        snprintf(h->ip, sizeof h->ip, "%.*s", (int)v.n, v.p);
}

/* Per-address admission (iplimit.c): returns true when the request was refused. */
static bool refused_by_address(struct rt_sock *s, bool websocket)
{
    switch (rt_ip_admit(s->u.http->ip, websocket)) {
    case RT_IP_RATE:
        respond_error(s, 429, "{\"error\":\"Too many new connections from this address, retry later\"}",
                      true);
        return true;
    case RT_IP_BACKOFF:
        respond_error(s, 429,
                      "{\"error\":\"Too many authentication failures from this address, retry "
                      "later\"}",
                      true);
        return true;
    default:
        return false;
    }
}

static void on_head(struct rt_sock *s)
{
    struct rt_http *h = s->u.http;
    const struct rt_http_req *req = &h->req;
    rt_srv.http_requests++;
    client_address(h);
    h->head_only = method_is(req, "HEAD");
    h->minor_version = req->minor_version;
    struct rt_str conn = rt_http_header(req, "connection");
    h->keep_alive = req->minor_version >= 1 ? !rt_http_has_token(conn, "close")
                                            : rt_http_has_token(conn, "keep-alive");
    bool websocket = rt_http_has_token(rt_http_header(req, "upgrade"), "websocket");
    if (refused_by_address(s, websocket))
        return;
    if (websocket) {
        upgrade(s);
        return;
    }
    h->body_len = 0;
    if (rt_http_header(req, "transfer-encoding").p) {
        /* Every Pusher SDK sends Content-Length; a chunked body is refused, not guessed at. */
        respond_error(s, 411, "{\"error\":\"Content-Length is required\"}", true);
        return;
    }
    struct rt_str clen = rt_http_header(req, "content-length");
    if (clen.p && rt_http_content_length(clen, &h->body_len) != 0) {
        rt_srv.http_refused.bad_request++;
        respond_error(s, 400, "{\"error\":\"Invalid Content-Length\"}", true);
        return;
    }
    if (h->body_len > (uint64_t)rt_srv.cfg.max_http_body_kb * 1024) {
        respond_error(s, 413, "{\"error\":\"Request body too large\"}", true);
        return;
    }
    if (h->body_len > (uint64_t)(h->len - (size_t)h->head_len)) {
        int status = inflight_take(h, h->body_len);
        if (status == 503) {
            respond_error(s, 503,
                          "{\"error\":\"Server busy: too many request bodies in flight, retry "
                          "later\"}",
                          true);
            return;
        }
        if (status == 429) {
            respond_error(s, 429,
                          "{\"error\":\"Too many request bodies in flight from this address\"}",
                          true);
            return;
        }
        h->phase = PHASE_BODY;
        rt_timer_set(&s->timer, rt_now_ms() + (uint64_t)rt_srv.cfg.http_body_timeout * 1000,
                     s->timer.fn);
    }
}

/* Drops the bytes of the request just answered, keeping what was pipelined after it. */
static void consume_request(struct rt_http *h)
{
    size_t used = (size_t)h->head_len + (size_t)h->body_len;
    if (used > h->len) used = h->len;
    memmove(h->buf, h->buf + used, h->len - used);
    h->len -= used;
    h->head_len = 0;
    h->scanned = 0;
    h->body_len = 0;
    memset(&h->req, 0, sizeof h->req);
}

static void process(struct rt_sock *s)
{
    while (!s->dropping && s->kind == RT_SOCK_HTTP) {
        struct rt_http *h = s->u.http;
        if (h->phase == PHASE_RESPONDING) return;
        if (h->head_len == 0) {
            if (h->len == 0) return;
            if (h->phase == PHASE_IDLE) {
                h->phase = PHASE_HEAD;
                rt_timer_set(&s->timer,
                             rt_now_ms() + (uint64_t)rt_srv.cfg.http_header_timeout * 1000,
                             s->timer.fn);
            }
            long rc = rt_http_parse_head(h->buf, h->len, &h->scanned, &h->req);
            if (rc == 0) return;
            if (rc < 0) {
                if (rc == -431) {
                    rt_srv.http_refused.header_too_large++;
                    respond_error(s, 431, "{\"error\":\"Request head too large\"}", true);
                } else {
                    rt_srv.http_refused.bad_request++;
                    respond_error(s, (int)-rc,
                                  rc == -505 ? "{\"error\":\"HTTP version not supported\"}"
                                             : "{\"error\":\"Malformed HTTP request\"}",
                                  true);
                }
                return;
            }
            h->head_len = rc;
            on_head(s);
            if (s->dropping || s->kind != RT_SOCK_HTTP || h->phase == PHASE_RESPONDING) continue;
        }
        if (h->len - (size_t)h->head_len < h->body_len) return; /* body still arriving */
        h->phase = PHASE_RESPONDING;
        on_body_complete(s);
    }
}

/* Most a request may have buffered: its head (a read past it may already hold its body) and
 * declared body, plus one read of slack for pipelined bytes. */
static size_t buffer_limit(const struct rt_http *h)
{
    if (h->head_len == 0) return RT_HTTP_MAX_HEAD + READ_SLACK;
    return (size_t)h->head_len + (size_t)h->body_len + RT_HTTP_MAX_HEAD + READ_SLACK;
}

void rt_http_input(struct rt_sock *s, uint8_t *in, size_t len)
{
    struct rt_http *h = s->u.http;
    if (h->len + len > buffer_limit(h) && !(h->head_len == 0 && h->len <= RT_HTTP_MAX_HEAD)) {
        /* More than the request can need: a head past the limit is answered below; pipelining
         * further ahead than one request is not served. */
        if (h->head_len == 0 && h->phase != PHASE_RESPONDING) {
            rt_srv.http_refused.header_too_large++;
            respond_error(s, 431, "{\"error\":\"Request head too large\"}", true);
        } else {
            rt_sock_drop(s);
        }
        return;
    }
    if (h->len + len + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 1024;
        while (cap < h->len + len + 1)
            cap *= 2;
        h->buf = rt_xrealloc(h->buf, cap);
        h->cap = cap;
        /* The parsed head points into the old buffer: parse it again at its new place. */
        if (h->head_len > 0) {
            size_t scanned = 0;
            rt_http_parse_head(h->buf, h->len, &scanned, &h->req);
        }
    }
    memcpy(h->buf + h->len, in, len);
    h->len += len;
    process(s);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void on_timer(struct rt_timer *t)
{
    struct rt_sock *s = sock_of_timer(t);
    struct rt_http *h = s->u.http;
    switch (h->phase) {
    case PHASE_BODY:
        rt_srv.http_refused.body_timeout++;
        respond_error(s, 408, "{\"error\":\"Request body timeout\"}", true);
        /* A peer that does not read either must not hold the socket past the close timeout. */
        if (!s->dropping)
            rt_timer_set(t, rt_now_ms() + (uint64_t)rt_srv.cfg.close_timeout * 1000, on_timer);
        return;
    case PHASE_HEAD:
        rt_srv.http_refused.header_timeout++;
        rt_sock_drop(s);
        return;
    default:
        /* idle keep-alive, or a response the peer does not read */
        rt_sock_drop(s);
        return;
    }
}

void rt_http_open(struct rt_sock *s)
{
    struct rt_http *h = rt_xcalloc(1, sizeof *h);
    s->u.http = h;
    h->sock = s;
    h->phase = PHASE_HEAD;
    rt_sock_peer(s, h->peer, sizeof h->peer);
    snprintf(h->ip, sizeof h->ip, "%s", h->peer);
    /* The first request head must arrive within the header timeout of the connection. */
    rt_timer_set(&s->timer, rt_now_ms() + (uint64_t)rt_srv.cfg.http_header_timeout * 1000,
                 on_timer);
}

void rt_http_answer(uint64_t request_id, int status, char *body)
{
    struct rt_http *h = NULL;
    HASH_FIND(hh, waiting, &request_id, sizeof request_id, h);
    if (!h) {
        free(body);
        return;
    }
    HASH_DEL(waiting, h);
    h->request_id = 0;
    respond(h->sock, status, "application/json", body ? body : "{}", false);
    free(body);
}

void rt_http_closed(struct rt_sock *s)
{
    struct rt_http *h = s->u.http;
    if (!h) return;
    if (h->request_id) HASH_DEL(waiting, h);
    inflight_release(h);
    free(h->buf);
    free(h);
    s->u.http = NULL;
}
