/* One Redis connection on libuv with hiredis's reply reader (see redis_link.h). */
#include "redis_link.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "rt_alloc.h"
#include "rt_redis_url.h"

#define READ_CHUNK 65536

/* A command's callback, waiting for its reply (replies come in the order commands went). */
struct waiter {
    rt_cluster_reply_fn *cb;
    void *privdata;
    struct waiter *prev, *next; /* utlist DL */
};

/* Output handed to the socket: what the commands of one loop turn appended. */
struct wreq {
    uv_write_t req;
    struct rt_redis_link *link;
    size_t len;
    char *data;
};

struct rt_redis_link {
    uv_loop_t *loop;
    uv_getaddrinfo_t lookup;
    uv_connect_t connect_req;
    uv_tcp_t tcp;
    char host[RT_REDIS_HOST_MAX + 1];
    int port;
    char password[RT_REDIS_PASSWORD_MAX + 1];
    bool push;
    const struct rt_redis_link_ops *ops;
    void *data;
    bool looking_up, ready, closed, auth_pending;
    int handles; /* libuv handles open (the socket, the flusher): freed when none is left */
    redisReader *reader;
    struct waiter *waiting; /* oldest first */
    /* Commands not yet handed to the socket: written once per loop turn (the flusher, a check
     * handle, runs after the turn's callbacks), so a burst of commands is one write, not one
     * system call each; held there until the link is connected. */
    char *obuf;
    size_t olen, ocap;
    uv_check_t flusher;
    size_t pending;       /* bytes not yet taken by the socket */
    uint64_t progress_ms; /* see rt_redis_link_write_progress */
    char *rbuf;
};

static void link_free(struct rt_redis_link *l)
{
    if (l->reader) redisReaderFree(l->reader);
    free(l->obuf);
    free(l->rbuf);
    free(l);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct rt_redis_link *l = h->data;
    if (--l->handles == 0 && !l->looking_up) link_free(l);
}

void rt_redis_link_close(struct rt_redis_link *l, const char *why)
{
    if (l->closed) return;
    l->closed = true;
    l->ready = false;
    l->olen = 0;
    l->pending = 0;
    struct waiter *q = l->waiting;
    l->waiting = NULL;
    while (q) {
        struct waiter *next = q->next;
        if (q->cb) q->cb(NULL, NULL, q->privdata);
        free(q);
        q = next;
    }
    l->ops->on_close(l, why);
    if (l->handles) {
        uv_close((uv_handle_t *)&l->flusher, on_handle_closed);
        uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
    } else if (!l->looking_up) {
        link_free(l);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct rt_redis_link *l = w->link;
    if (!l->closed) {
        l->pending -= w->len;
        l->progress_ms = uv_now(l->loop);
    }
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED && !l->closed)
        rt_redis_link_close(l, uv_strerror(status));
}

/* Hands everything appended so far to the socket, in one write. */
static void flush(struct rt_redis_link *l)
{
    if (!l->olen || !l->ready || l->closed) return;
    struct wreq *w = rt_xmalloc(sizeof *w);
    w->link = l;
    w->len = l->olen;
    w->data = l->obuf;
    l->obuf = NULL;
    l->olen = l->ocap = 0;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &buf, 1, on_written);
    if (rc < 0) {
        free(w->data);
        free(w);
        rt_redis_link_close(l, uv_strerror(rc));
    }
}

static void on_flush(uv_check_t *h)
{
    struct rt_redis_link *l = h->data;
    uv_check_stop(h);
    flush(l);
}

static void append(struct rt_redis_link *l, const char *data, size_t len)
{
    if (l->olen + len > l->ocap) {
        size_t cap = l->ocap ? l->ocap : 4096;
        while (cap < l->olen + len)
            cap *= 2;
        l->obuf = rt_xrealloc(l->obuf, cap);
        l->ocap = cap;
    }
    memcpy(l->obuf + l->olen, data, len);
    l->olen += len;
    if (l->pending == 0) l->progress_ms = uv_now(l->loop);
    l->pending += len;
    if (l->ready && !uv_is_active((uv_handle_t *)&l->flusher))
        uv_check_start(&l->flusher, on_flush);
}

static void enqueue_waiter(struct rt_redis_link *l, rt_cluster_reply_fn *cb, void *privdata)
{
    struct waiter *q = rt_xcalloc(1, sizeof *q);
    q->cb = cb;
    q->privdata = privdata;
    DL_APPEND(l->waiting, q);
}

int rt_redis_link_send(struct rt_redis_link *l, const char *cmd, size_t len,
                       rt_cluster_reply_fn *cb, void *privdata)
{
    if (l->closed) return -1;
    if (!l->push) enqueue_waiter(l, cb, privdata);
    append(l, cmd, len);
    return 0;
}

int rt_redis_link_format(char **out, size_t argc, const char **argv, const size_t *lens)
{
    size_t stack[64];
    size_t *argvlen = (size_t *)lens;
    if (!lens) {
        argvlen = argc <= 64 ? stack : rt_xmalloc(argc * sizeof *argvlen);
        for (size_t i = 0; i < argc; i++)
            argvlen[i] = strlen(argv[i]);
    }
    *out = NULL;
    int len = redisFormatCommandArgv(out, (int)argc, argv, argvlen);
    if (argvlen != lens && argvlen != stack) free(argvlen);
    return len;
}

int rt_redis_link_command(struct rt_redis_link *l, rt_cluster_reply_fn *cb, void *privdata,
                          size_t argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int len = rt_redis_link_format(&cmd, argc, argv, lens);
    if (len < 0) return -1;
    int rc = rt_redis_link_send(l, cmd, (size_t)len, cb, privdata);
    free(cmd);
    return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct rt_redis_link *l = h->data;
    if (!l->rbuf) l->rbuf = rt_xmalloc(READ_CHUNK);
    *buf = uv_buf_init(l->rbuf, READ_CHUNK);
}

static void dispatch(struct rt_redis_link *l, redisReply *reply)
{
    if (l->auth_pending) {
        l->auth_pending = false;
        if (reply->type == REDIS_REPLY_ERROR) {
            char why[160];
            snprintf(why, sizeof why, "AUTH refused: %.120s", reply->str);
            rt_redis_link_close(l, why);
            return;
        }
        if (!l->push) { /* the AUTH's own waiter */
            struct waiter *q = l->waiting;
            DL_DELETE(l->waiting, q);
            free(q);
        }
        return;
    }
    if (l->push) {
        l->ops->on_push(l, reply);
        return;
    }
    struct waiter *q = l->waiting;
    if (!q) {
        rt_redis_link_close(l, "a reply nobody asked for");
        return;
    }
    DL_DELETE(l->waiting, q);
    if (q->cb) q->cb(NULL, reply, q->privdata);
    free(q);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct rt_redis_link *l = s->data;
    if (l->closed) return;
    if (n < 0) {
        rt_redis_link_close(l, n == UV_EOF ? "connection closed" : uv_strerror((int)n));
        return;
    }
    if (n == 0) return;
    if (redisReaderFeed(l->reader, l->rbuf, (size_t)n) != REDIS_OK) {
        rt_redis_link_close(l, "protocol error");
        return;
    }
    while (!l->closed) {
        void *reply = NULL;
        if (redisReaderGetReply(l->reader, &reply) != REDIS_OK) {
            rt_redis_link_close(l, "protocol error");
            return;
        }
        if (!reply) break;
        dispatch(l, reply);
        freeReplyObject(reply);
    }
}

/* ---- connecting --------------------------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
    struct rt_redis_link *l = req->data;
    if (l->closed) return;
    if (status < 0) {
        rt_redis_link_close(l, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
    if (rc < 0) {
        rt_redis_link_close(l, uv_strerror(rc));
        return;
    }
    l->ready = true;
    if (l->password[0]) { /* AUTH goes before everything held: its reply comes first */
        const char *argv[] = {"AUTH", l->password};
        char *cmd = NULL;
        int len = redisFormatCommandArgv(&cmd, 2, argv, NULL);
        char *held = l->obuf;
        size_t held_len = l->olen;
        l->obuf = NULL;
        l->olen = l->ocap = 0;
        l->pending = 0;
        append(l, cmd, (size_t)len);
        free(cmd);
        if (held_len) append(l, held, held_len);
        free(held);
        l->auth_pending = true;
        if (!l->push) { /* ...and its waiter goes to the front */
            struct waiter *q = rt_xcalloc(1, sizeof *q);
            DL_PREPEND(l->waiting, q);
        }
    }
    flush(l);
    if (!l->closed) l->ops->on_ready(l);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct rt_redis_link *l = req->data;
    l->looking_up = false;
    if (l->closed) {
        uv_freeaddrinfo(res);
        link_free(l); /* closed before any handle was opened */
        return;
    }
    const struct addrinfo *a = res;
    while (a && a->ai_family != AF_INET && a->ai_family != AF_INET6)
        a = a->ai_next;
    if (status < 0 || !a) {
        uv_freeaddrinfo(res);
        char why[128];
        snprintf(why, sizeof why, "cannot resolve the host: %s",
                 status < 0 ? uv_strerror(status) : "no IPv4 or IPv6 address");
        rt_redis_link_close(l, why);
        return;
    }
    uv_tcp_init(l->loop, &l->tcp);
    l->tcp.data = l;
    uv_check_init(l->loop, &l->flusher);
    l->flusher.data = l;
    l->handles = 2;
    l->connect_req.data = l;
    int rc = uv_tcp_connect(&l->connect_req, &l->tcp, a->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc < 0) rt_redis_link_close(l, uv_strerror(rc));
}

struct rt_redis_link *rt_redis_link_open(uv_loop_t *loop, const char *host, int port,
                                         const char *password, bool push,
                                         const struct rt_redis_link_ops *ops, void *data)
{
    struct rt_redis_link *l = rt_xcalloc(1, sizeof *l);
    l->loop = loop;
    snprintf(l->host, sizeof l->host, "%s", host);
    l->port = port;
    snprintf(l->password, sizeof l->password, "%s", password ? password : "");
    l->push = push;
    l->ops = ops;
    l->data = data;
    l->reader = redisReaderCreate();
    l->lookup.data = l;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    l->looking_up = true;
    int rc = uv_getaddrinfo(loop, &l->lookup, on_resolved, l->host, service, &hints);
    if (rc < 0) { /* bad arguments or no memory: nothing started, nothing to report */
        link_free(l);
        return NULL;
    }
    return l;
}

bool rt_redis_link_ready(const struct rt_redis_link *l)
{
    return l->ready && !l->closed;
}

bool rt_redis_link_waiting(const struct rt_redis_link *l)
{
    return l->waiting != NULL;
}

size_t rt_redis_link_pending(const struct rt_redis_link *l)
{
    return l->pending;
}

uint64_t rt_redis_link_write_progress(const struct rt_redis_link *l)
{
    return l->progress_ms;
}

void *rt_redis_link_data(const struct rt_redis_link *l)
{
    return l->data;
}

const char *rt_redis_link_host(const struct rt_redis_link *l)
{
    return l->host;
}

int rt_redis_link_port(const struct rt_redis_link *l)
{
    return l->port;
}
