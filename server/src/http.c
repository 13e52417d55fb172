/* HTTP edge on the WebSocket port: reads requests (bounded bodies), hands them to rest.c,
 * writes JSON responses with keep-alive. Also routes lws callbacks to ws.c. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "rest.h"
#include "rt_err.h"
#include "server.h"

struct rt_http {
    char method[8];
    char path[1024];
    struct rt_query query;
    char *body;
    size_t body_len;
    size_t body_limit;
    bool too_large;
    bool responding;
    struct rt_rest_response resp;
};

/* lws gives every connection one zeroed block of this size; an HTTP request that upgrades to
 * a WebSocket reuses it, so the two views share it. */
struct rt_session {
    int kind; /* 0 unset, 1 http, 2 ws */
    union {
        struct rt_conn ws;
        struct rt_http http;
    } u;
};

size_t rt_session_size(void)
{
    return sizeof(struct rt_session);
}

static void http_reset(struct rt_http *h)
{
    rt_query_free(&h->query);
    free(h->body);
    free(h->resp.body);
    memset(h, 0, sizeof *h);
}

static const char *method_of(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},        {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_PUT_URI, "PUT"},        {WSI_TOKEN_DELETE_URI, "DELETE"},
        {WSI_TOKEN_PATCH_URI, "PATCH"},    {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
            return methods[i].name;
    return "GET";
}

/* Appends ";" + text to a parameter value (see read_query). */
static int append_to_value(struct rt_query_param *p, const char *text)
{
    size_t a = strlen(p->value), b = strlen(text);
    char *v = realloc(p->value, a + b + 2);
    if (!v)
        return RT_ERR_NOMEM;
    v[a] = ';';
    memcpy(v + a + 1, text, b + 1);
    p->value = v;
    return 0;
}

/* lws has already percent-decoded the query and split it into fragments at every raw '&'
 * AND raw ';'. Channel names may contain ';' and the Node SDK sends it unescaped, so a
 * fragment without '=' (every Pusher API parameter has one) is glued back onto the previous
 * value with the ';' lws removed. */
static int read_query(struct lws *wsi, struct rt_query *q)
{
    char frag[1024];
    memset(q, 0, sizeof *q);
    for (int i = 0; q->count < RT_QUERY_MAX_PARAMS; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            return 0;
        char *eq = strchr(frag, '=');
        if (!eq && q->count > 0) {
            if (append_to_value(&q->params[q->count - 1], frag) != 0)
                return RT_ERR_NOMEM;
            continue;
        }
        if (n == 0)
            continue;
        struct rt_query_param *p = &q->params[q->count];
        p->key = eq ? strndup(frag, (size_t)(eq - frag)) : strdup(frag);
        p->value = strdup(eq ? eq + 1 : "");
        if (!p->key || !p->value) {
            free(p->key);
            free(p->value);
            return RT_ERR_NOMEM;
        }
        q->count++;
    }
    return RT_ERR_TOO_LARGE;
}

static void prepare_response(struct lws *wsi, struct rt_http *h)
{
    const char *path = h->path;
    size_t plen = strlen(rt_srv.cfg.path_prefix);
    if (plen && strncmp(path, rt_srv.cfg.path_prefix, plen) == 0)
        path += plen;
    rt_rest_handle(h->method, path, &h->query, h->body ? h->body : "", h->body_len, &h->resp);
    h->responding = true;
    lws_callback_on_writable(wsi);
}

static void set_error(struct lws *wsi, struct rt_http *h, int status, const char *body)
{
    h->resp.status = status;
    h->resp.content_type = "application/json";
    h->resp.body = strdup(body);
    h->responding = true;
    lws_callback_on_writable(wsi);
}

static int on_http(struct lws *wsi, struct rt_http *h, const char *uri)
{
    http_reset(h);
    rt_srv.http_requests++;
    snprintf(h->method, sizeof h->method, "%s", method_of(wsi));
    snprintf(h->path, sizeof h->path, "%s", uri);
    h->body_limit = (size_t)rt_srv.cfg.max_http_body_kb * 1024;
    if (read_query(wsi, &h->query) != 0) {
        set_error(wsi, h, 400, "{\"error\":\"Too many query parameters\"}");
        return 0;
    }
    if (strcmp(h->method, "POST") != 0 && strcmp(h->method, "PUT") != 0) {
        prepare_response(wsi, h);
        return 0;
    }
    /* Refuse a declared oversized body before reading any of it. */
    char clen[32];
    if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        strtoull(clen, NULL, 10) > h->body_limit) {
        h->too_large = true;
        set_error(wsi, h, 413, "{\"error\":\"Request body too large\"}");
        return 0;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        /* lws does not decode chunked request bodies: ask for a length instead of waiting for
         * a body that never arrives. Every Pusher SDK sends Content-Length. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
            h->too_large = true; /* close after answering: the body is still on the wire */
            set_error(wsi, h, 411, "{\"error\":\"Content-Length is required\"}");
        } else {
            prepare_response(wsi, h); /* no body */
        }
    }
    return 0;
}

static void on_body(struct rt_http *h, const char *in, size_t len)
{
    if (h->too_large || h->body_len + len > h->body_limit) {
        h->too_large = true;
        return;
    }
    char *b = realloc(h->body, h->body_len + len + 1);
    if (!b) {
        h->too_large = true;
        return;
    }
    memcpy(b + h->body_len, in, len);
    h->body = b;
    h->body_len += len;
    h->body[h->body_len] = '\0';
}

static int on_writeable(struct lws *wsi, struct rt_http *h)
{
    if (!h->responding)
        return 0;
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t blen = h->resp.body ? strlen(h->resp.body) : 0;
    if (lws_add_http_common_headers(wsi, (unsigned)h->resp.status, h->resp.content_type,
                                    (lws_filepos_t)blen, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
                                    (const unsigned char *)"*", 1, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (blen) {
        unsigned char *out = malloc(LWS_PRE + blen);
        if (!out)
            return -1;
        memcpy(out + LWS_PRE, h->resp.body, blen);
        int n = lws_write(wsi, out + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL);
        free(out);
        if (n < 0)
            return -1;
    }
    bool close = h->too_large;
    http_reset(h);
    /* An unread oversized body would be parsed as the next request: close instead. */
    if (close || lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

int rt_http_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
    struct rt_session *s = user;
    if (!s)
        return 0;
    struct rt_http *h = &s->u.http;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        s->kind = 1;
        return on_http(wsi, h, in);
    case LWS_CALLBACK_HTTP_BODY:
        if (s->kind == 1)
            on_body(h, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (s->kind != 1 || h->responding)
            return 0;
        if (h->too_large)
            set_error(wsi, h, 413, "{\"error\":\"Request body too large\"}");
        else
            prepare_response(wsi, h);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return s->kind == 1 ? on_writeable(wsi, h) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s->kind == 1)
            http_reset(h);
        s->kind = 0;
        return 0;
    default:
        return 0;
    }
}

int rt_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct rt_session *s = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (s->kind == 1)
            http_reset(&s->u.http);
        s->kind = 2;
        /* fallthrough */
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_TIMER:
    case LWS_CALLBACK_CLOSED:
        if (!s || s->kind != 2)
            return 0;
        return rt_ws_callback(wsi, (int)reason, &s->u.ws, in, len);
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_CLOSED_HTTP:
        return rt_http_callback(wsi, (int)reason, user, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
