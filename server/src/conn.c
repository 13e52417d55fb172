/* WebSocket connections: bounded send queues, close handling, the socket-id index. */
#include "conn.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utlist.h>

#include "app.h"
#include "channel.h"
#include "log.h"
#include "rt_protocol.h"
#include "user.h"

static struct rt_conn *by_socket_id;
static size_t total;
static uint32_t queue_max = 1024;

uint64_t rt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void rt_conn_set_queue_max(uint32_t max)
{
    queue_max = max;
}

size_t rt_conn_total(void)
{
    return total;
}

struct rt_conn *rt_conn_by_socket_id(const char *socket_id)
{
    struct rt_conn *c = NULL;
    HASH_FIND_STR(by_socket_id, socket_id, c);
    return c;
}

void rt_conn_attach(struct rt_conn *c, struct rt_app *app)
{
    c->app = app;
    c->counted = true;
    DL_APPEND2(app->conns, c, app_prev, app_next);
    app->conn_count++;
    total++;
    HASH_ADD_STR(by_socket_id, socket_id, c);
}

/* Grows the ring geometrically up to queue_max so idle sockets stay small. */
static int queue_grow(struct rt_conn *c)
{
    uint32_t cap = c->q_cap ? c->q_cap * 2 : 4;
    if (cap > queue_max)
        cap = queue_max;
    if (cap <= c->q_cap)
        return -1;
    struct rt_frame **q = malloc(cap * sizeof *q);
    if (!q)
        return -1;
    for (uint32_t i = 0; i < c->q_len; i++)
        q[i] = c->queue[(c->q_head + i) % c->q_cap];
    free(c->queue);
    c->queue = q;
    c->q_cap = cap;
    c->q_head = 0;
    return 0;
}

static int enqueue(struct rt_conn *c, struct rt_frame *f)
{
    if (c->q_len == c->q_cap && queue_grow(c) != 0)
        return -1;
    c->queue[(c->q_head + c->q_len) % c->q_cap] = rt_frame_ref(f);
    /* A non-empty queue always has a writeable callback pending (on_writeable asks again
     * while frames remain), so only the first frame needs to ask. */
    if (c->q_len++ == 0)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int rt_conn_send(struct rt_conn *c, struct rt_frame *f)
{
    if (!f || c->closing)
        return -1;
    if (enqueue(c, f) != 0) {
        rt_log_warn("app=%s socket=%s send queue full (%u frames): closing slow consumer",
                    c->app ? c->app->cfg->id : "-", c->socket_id, c->q_len);
        rt_conn_close(c, RT_CLOSE_SLOW_CONSUMER, "Slow consumer: send queue full");
        return -1;
    }
    return 0;
}

int rt_conn_send_text(struct rt_conn *c, char *text, size_t len)
{
    struct rt_frame *f = rt_frame_from_text(text, len);
    if (!f)
        return -1;
    int rc = rt_conn_send(c, f);
    rt_frame_unref(f);
    return rc;
}

void rt_conn_send_error(struct rt_conn *c, int code, const char *message, const char *channel)
{
    size_t len;
    char *text = rt_encode_error(code, message, channel, &len);
    rt_conn_send_text(c, text, len);
}

void rt_conn_fail(struct rt_conn *c, int code, const char *message)
{
    rt_conn_send_error(c, code, message, NULL);
    rt_conn_close(c, code, message);
}

void rt_conn_close(struct rt_conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    lws_callback_on_writable(c->wsi);
}

struct rt_frame *rt_conn_next_frame(struct rt_conn *c)
{
    if (c->q_len == 0)
        return NULL;
    struct rt_frame *f = c->queue[c->q_head];
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_len--;
    return f;
}

void rt_conn_destroy(struct rt_conn *c)
{
    struct rt_sub *s, *tmp;
    HASH_ITER(hh, c->subs, s, tmp)
    rt_channel_unsubscribe(s);
    if (c->user_id) {
        struct rt_app *app = c->app;
        char *uid = c->user_id;
        if (rt_user_detach(c) == 1)
            rt_user_notify_watchers(app, uid, "offline");
        free(uid);
        c->user_id = NULL;
    }
    free(c->user_info);
    for (size_t i = 0; i < c->watchlist_len; i++)
        free(c->watchlist[i]);
    free(c->watchlist);
    while (c->q_len > 0)
        rt_frame_unref(rt_conn_next_frame(c));
    free(c->queue);
    free(c->rx);
    if (c->counted) {
        DL_DELETE2(c->app->conns, c, app_prev, app_next);
        c->app->conn_count--;
        total--;
        HASH_DEL(by_socket_id, c);
        c->counted = false;
    }
}
