/* WebSocket connections: output budgets, close handling, the socket-id index. */
#include "conn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utlist.h>
#include <uv.h>

#include "app.h"
#include "channel.h"
#include "iplimit.h"
#include "log.h"
#include "registry.h"
#include "net.h"
#include "rt_protocol.h"
#include "server.h"
#include "token.h"
#include "user.h"

static struct rt_conn *by_socket_id;
static size_t total;

uint64_t rt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t rt_unix_ms(void)
{
    uv_timeval64_t tv;
    (void)uv_gettimeofday(&tv); /* fails only for a NULL argument */
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
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
    rt_log_debug("app=%s socket=%s connected", app->cfg->id, c->socket_id);
}

/* Output over the hard limit, or over the soft limit for too long: the peer is not reading.
 * Its queue is freed at once; the close frame is tried, and the socket goes when it is out or
 * at the close deadline (a peer that reads nothing will not take it). */
static void close_slow_consumer(struct rt_conn *c, const char *why)
{
    struct rt_sock *s = c->sock;
    rt_srv.slow_consumer_closes++;
    rt_srv.ws_dropped_frames += s->out.len;
    rt_log_warn("app=%s socket=%s %s (%zu bytes queued): closing slow consumer",
                c->app ? c->app->cfg->id : "-", c->socket_id, why, s->out.bytes);
    rt_sock_discard_output(s);
    c->soft_since_ms = 0;
    rt_conn_close(c, RT_CLOSE_SLOW_CONSUMER, "Slow consumer: send queue full");
}

static size_t kb(int v)
{
    return (size_t)v * 1024;
}

/* Applies the output budget after something was queued. Returns -1 when it closed c. */
static int check_budget(struct rt_conn *c)
{
    const struct rt_outq *q = &c->sock->out;
    if (q->bytes > kb(rt_srv.cfg.send_buffer_hard_kb) ||
        q->len > (uint32_t)rt_srv.cfg.send_queue_max) {
        close_slow_consumer(c, "output over the hard limit");
        return -1;
    }
    if (q->bytes > kb(rt_srv.cfg.send_buffer_soft_kb) && !c->soft_since_ms) {
        c->soft_since_ms = rt_now_ms();
        rt_conn_check_deadlines(c);
    }
    return 0;
}

int rt_conn_send(struct rt_conn *c, struct rt_frame *f)
{
    if (!f || c->closing) return -1;
    if (rt_sock_send(c->sock, f) != 0) return -1;
    rt_srv.ws_frames_out++;
    rt_srv.ws_bytes_out += f->wire_len;
    return check_budget(c);
}

int rt_conn_send_text(struct rt_conn *c, char *text, size_t len)
{
    struct rt_frame *f = rt_frame_from_text(text, len);
    if (!f) return -1;
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

/* ---- deadlines ----------------------------------------------------------------------- */

static void on_timer(struct rt_timer *t)
{
    struct rt_sock *s = (struct rt_sock *)((char *)t - offsetof(struct rt_sock, timer));
    if (s->kind == RT_SOCK_WS && s->u.ws) rt_conn_check_deadlines(s->u.ws);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Liveness (PROTOCOL.md §3): after activity_timeout of silence a ping goes out; nothing back
 * within pong_timeout closes with 4201. Any inbound byte counts as activity. */
void rt_conn_check_deadlines(struct rt_conn *c)
{
    struct rt_sock *s = c->sock;
    if (s->dropping) return;
    uint64_t now = rt_now_ms();
    if (c->closing) {
        if (now >= c->close_by_ms)
            rt_sock_drop(s);
        else
            rt_timer_set(&s->timer, c->close_by_ms, on_timer);
        return;
    }
    uint64_t next = UINT64_MAX;
    if (c->soft_since_ms && s->out.bytes <= kb(rt_srv.cfg.send_buffer_soft_kb))
        c->soft_since_ms = 0;
    if (c->soft_since_ms) {
        uint64_t due = c->soft_since_ms + (uint64_t)rt_srv.cfg.send_buffer_soft_seconds * 1000;
        if (now >= due) {
            close_slow_consumer(c, "output over the soft limit for too long");
            return;
        }
        next = earliest(next, due);
    }
    if (c->authorize_by_ms && !c->authorized) {
        if (now >= c->authorize_by_ms) {
            rt_conn_fail(c, 4009, "Connection not authorized within timeout");
            return;
        }
        next = earliest(next, c->authorize_by_ms);
    }
    if (c->ping_sent_ms) {
        uint64_t due = c->ping_sent_ms + (uint64_t)rt_srv.cfg.pong_timeout * 1000;
        if (now >= due) {
            rt_conn_fail(c, 4201, "Pong reply not received");
            return;
        }
        next = earliest(next, due);
    } else {
        uint64_t due = c->last_rx_ms + (uint64_t)rt_srv.cfg.activity_timeout * 1000;
        if (now >= due) {
            c->ping_sent_ms = now;
            /* The ping carries a payload: some clients ignore empty ones. */
            struct rt_frame *f = rt_frame_ws(RT_WS_PING, "rt", 2);
            int rc = rt_conn_send(c, f);
            rt_frame_unref(f);
            if (rc != 0) return;
            due = now + (uint64_t)rt_srv.cfg.pong_timeout * 1000;
        }
        next = earliest(next, due);
    }
    if (s->timer.due_ms != next) rt_timer_set(&s->timer, next, on_timer);
}

void rt_conn_close(struct rt_conn *c, int code, const char *reason)
{
    if (c->closing) return;
    c->closing = true;
    rt_server_count_close(code);
    rt_log_debug("app=%s socket=%s closing with %d (%s)", c->app ? c->app->cfg->id : "-",
                 c->socket_id, code, reason);
    /* RFC 6455 allows 123 bytes of reason after the 2-byte code. */
    uint8_t payload[2 + 123];
    size_t rlen = strnlen(reason, 123);
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)(code & 0xff);
    memcpy(payload + 2, reason, rlen);
    struct rt_frame *f = rt_frame_ws(RT_WS_CLOSE, payload, 2 + rlen);
    rt_sock_send(c->sock, f);
    rt_frame_unref(f);
    c->close_by_ms = rt_now_ms() + (uint64_t)rt_srv.cfg.close_timeout * 1000;
    rt_conn_check_deadlines(c);
}

void rt_conn_auth_failed(struct rt_conn *c)
{
    if (c->ip) rt_ip_failure(rt_ip_address(c->ip));
}

void rt_conn_destroy(struct rt_conn *c)
{
    rt_ip_release(c->ip);
    c->ip = NULL;
    rt_token_free(c->token);
    c->token = NULL;
    struct rt_sub *s, *tmp;
    HASH_ITER(hh, c->subs, s, tmp)
    rt_channel_unsubscribe(s);
    if (c->user_id) {
        struct rt_app *app = c->app;
        char *uid = c->user_id;
        int went_offline = rt_user_detach(c);
        if (rt_registry_active())
            rt_registry_user_offline(app, uid, c->socket_id);
        else if (went_offline == 1)
            rt_user_notify_watchers(app, uid, "offline");
        free(uid);
        c->user_id = NULL;
    }
    free(c->user_info);
    for (size_t i = 0; i < c->watchlist_len; i++)
        free(c->watchlist[i]);
    free(c->watchlist);
    free(c->rx);
    rt_ws_message_reset(&c->msg);
    if (c->counted) {
        DL_DELETE2(c->app->conns, c, app_prev, app_next);
        c->app->conn_count--;
        total--;
        HASH_DEL(by_socket_id, c);
        c->counted = false;
    }
}
