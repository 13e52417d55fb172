/* Raw sockets from libwebsockets: dispatch to HTTP or WebSocket, direct writes, drops. */
#include "net.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "listen.h"
#include "rt_alloc.h"
#include "server.h"
#include "tls.h"

#define WRITEV_MAX 64 /* frames written by one writev() */

static size_t open_sockets; /* accepted and not yet closed, for listen.c's budget */

size_t rt_net_session_size(void)
{
    return sizeof(struct rt_sock);
}

/* ---- output queue ---------------------------------------------------------------------- */

static void outq_push(struct rt_outq *q, struct rt_frame *f, size_t offset)
{
    if (q->len == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 4;
        struct rt_frame **frames = rt_xmalloc(cap * sizeof *frames);
        for (uint32_t i = 0; i < q->len; i++)
            frames[i] = q->frames[(q->head + i) % q->cap];
        free(q->frames);
        q->frames = frames;
        q->cap = cap;
        q->head = 0;
    }
    q->frames[(q->head + q->len) % q->cap] = rt_frame_ref(f);
    if (q->len++ == 0) q->offset = offset;
    q->bytes += f->wire_len - offset;
}

static void outq_pop(struct rt_outq *q)
{
    rt_frame_unref(q->frames[q->head]);
    q->head = (q->head + 1) % q->cap;
    q->len--;
    q->offset = 0;
}

static void outq_clear(struct rt_outq *q)
{
    while (q->len)
        outq_pop(q);
    free(q->frames);
    memset(q, 0, sizeof *q);
}

/* Marks n written bytes off the front of the queue. */
static void outq_consume(struct rt_outq *q, size_t n)
{
    q->bytes -= n;
    while (n) {
        struct rt_frame *f = q->frames[q->head];
        size_t left = f->wire_len - q->offset;
        if (n < left) {
            q->offset += n;
            return;
        }
        n -= left;
        outq_pop(q);
    }
}

/* ---- sockets --------------------------------------------------------------------------- */

void rt_sock_drop(struct rt_sock *s)
{
    if (s->dropping) return;
    s->dropping = true;
    rt_timer_cancel(&s->timer);
    outq_clear(&s->out);
    /* lws closes it from its own loop turn; the owner is released in LWS_CALLBACK_RAW_CLOSE. */
    /* The kernel sends what it already holds, then FIN, and reports the socket readable at
     * end-of-file, so lws closes it on its next poll even when the peer reads nothing (no
     * writeable callback would ever come then). The writeable request and lws's own async
     * kill are the other two ways it ends; whichever comes first wins. */
    shutdown(s->fd, SHUT_RDWR);
    lws_callback_on_writable(s->wsi);
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Nothing left to write: our queue is empty and lws holds no rest of a TLS record. */
static bool flushed(const struct rt_sock *s)
{
    return s->out.len == 0 && !(s->tls && lws_partial_buffered(s->wsi));
}

void rt_sock_drop_after_flush(struct rt_sock *s)
{
    if (flushed(s)) {
        rt_sock_drop(s);
        return;
    }
    s->drop_after_flush = true;
    lws_callback_on_writable(s->wsi);
}

void rt_sock_discard_output(struct rt_sock *s)
{
    outq_clear(&s->out);
}

static bool would_block(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

int rt_sock_send(struct rt_sock *s, struct rt_frame *f)
{
    if (s->dropping) return -1;
    if (s->tls) {
        /* OpenSSL writes whole records from the writeable callback (flush_tls). */
        outq_push(&s->out, f, 0);
        if (s->out.len == 1) lws_callback_on_writable(s->wsi);
        return 0;
    }
    size_t written = 0;
    if (s->out.len == 0) {
        /* Nothing queued: the kernel usually takes it all and no poll re-arm is needed. */
        ssize_t n = send(s->fd, f->wire, f->wire_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && !would_block()) {
            rt_sock_drop(s);
            return -1;
        }
        written = n > 0 ? (size_t)n : 0;
        if (written == f->wire_len) return 0;
        outq_push(&s->out, f, written);
        lws_callback_on_writable(s->wsi);
        return 0;
    }
    outq_push(&s->out, f, 0);
    return 0;
}

/* Writes as much of the queue as the socket takes. Returns 0, or -1 on a socket error. */
static int flush(struct rt_sock *s)
{
    struct rt_outq *q = &s->out;
    while (q->len) {
        struct iovec iov[WRITEV_MAX];
        int n = 0;
        size_t total = 0;
        for (uint32_t i = 0; i < q->len && n < WRITEV_MAX; i++, n++) {
            struct rt_frame *f = q->frames[(q->head + i) % q->cap];
            size_t skip = i == 0 ? q->offset : 0;
            iov[n].iov_base = f->wire + skip;
            iov[n].iov_len = f->wire_len - skip;
            total += iov[n].iov_len;
        }
        ssize_t w = writev(s->fd, iov, n);
        if (w < 0) return would_block() ? 0 : -1;
        outq_consume(q, (size_t)w);
        if ((size_t)w < total)
            return 0; /* the socket is full: wait for the next writeable callback */
    }
    return 0;
}

/* TLS: hands whole frames to lws_write while the connection takes them. lws keeps what the
 * socket did not take of the last one and writes it before anything else, so at most one
 * frame sits in lws; the rest stays counted in our queue. */
static int flush_tls(struct rt_sock *s)
{
    struct rt_outq *q = &s->out;
    while (q->len && !lws_send_pipe_choked(s->wsi)) {
        struct rt_frame *f = q->frames[q->head];
        if (lws_write(s->wsi, f->wire, f->wire_len, LWS_WRITE_RAW) < 0)
            return -1;
        outq_consume(q, f->wire_len);
    }
    return 0;
}

static void on_writeable(struct rt_sock *s)
{
    size_t before = s->out.bytes;
    if ((s->tls ? flush_tls(s) : flush(s)) != 0) {
        rt_sock_drop(s);
        return;
    }
    if (s->out.len) {
        lws_callback_on_writable(s->wsi);
        if (s->out.bytes == before) return;
    }
    if (s->drop_after_flush) {
        if (flushed(s))
            rt_sock_drop(s);
        else if (!s->out.len)
            lws_callback_on_writable(s->wsi); /* lws still holds the end of a TLS record */
        return;
    }
    if (s->kind == RT_SOCK_WS)
        rt_ws_written(s);
    else if (s->kind == RT_SOCK_HTTP)
        rt_http_written(s);
}

void rt_sock_peer(const struct rt_sock *s, char *out, size_t cap)
{
    out[0] = '\0';
    if (cap && s->wsi) lws_get_peer_simple(s->wsi, out, cap);
}

int rt_net_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
    struct rt_sock *s = user;
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        rt_tls_adopt_ctx(user);
        return 0;
    case LWS_CALLBACK_RAW_ADOPT:
        memset(s, 0, sizeof *s);
        s->wsi = wsi;
        s->fd = lws_get_socket_fd(wsi);
        s->kind = RT_SOCK_HTTP;
        s->tls = rt_srv.cfg.tls_cert != NULL; /* every vhost serves TLS then */
        rt_listen_sockets_changed(++open_sockets);
        rt_http_open(s);
        return 0;
    case LWS_CALLBACK_RAW_RX:
        if (!s || s->dropping || !len) return 0;
        if (s->kind == RT_SOCK_WS)
            rt_ws_input(s, in, len);
        else if (s->kind == RT_SOCK_HTTP)
            rt_http_input(s, in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (s && !s->dropping) on_writeable(s);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE:
        if (!s || !s->wsi) return 0;
        rt_timer_cancel(&s->timer);
        if (s->kind == RT_SOCK_WS)
            rt_ws_closed(s);
        else if (s->kind == RT_SOCK_HTTP)
            rt_http_closed(s);
        outq_clear(&s->out);
        s->wsi = NULL;
        s->kind = RT_SOCK_NEW;
        rt_listen_sockets_changed(--open_sockets);
        return 0;
    default:
        return 0;
    }
}
