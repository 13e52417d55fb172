/* Redis fan-out between nodes: one PUBLISH connection, one SUBSCRIBE connection (hiredis on
 * the libuv loop). Message: "<kind>\n<node>\n<app>\n<channel>\n<except socket>\n<payload>". */
#include "cluster.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "app.h"
#include "broker.h"
#include "cache.h"
#include "conn.h"
#include "log.h"
#include "server.h"
#include "user.h"

#define FANOUT_CHANNEL "rt:fanout"

static struct {
    uv_loop_t *loop;
    char host[256];
    int port;
    char password[256];
    redisAsyncContext *pub, *sub;
    bool pub_ready, sub_ready, stopping, warned;
    uv_timer_t retry;
    unsigned backoff_ms;
    char node[16];
} cl;

bool rt_cluster_connected(void)
{
    return cl.pub_ready && cl.sub_ready;
}

/* redis://[:password@]host[:port][/db] (the db number is irrelevant to pub/sub). */
static int parse_url(const char *url, char *err, size_t err_cap)
{
    const char *p = url + strlen("redis://");
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        snprintf(cl.password, sizeof cl.password, "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof cl.host) {
        snprintf(err, err_cap, "RT_REDIS_URL has no host (expected redis://host:port)");
        return -1;
    }
    memcpy(cl.host, p, hlen);
    cl.host[hlen] = '\0';
    cl.port = 6379;
    if (p[hlen] == ':') {
        char *end;
        long port = strtol(p + hlen + 1, &end, 10);
        if (port < 1 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, err_cap, "RT_REDIS_URL has an invalid port (expected redis://host:port)");
            return -1;
        }
        cl.port = (int)port;
    }
    return 0;
}

/* ---- receiving ------------------------------------------------------------------------ */

/* Splits the next '\n'-terminated field off *p (len *n). */
static bool next_field(const char **p, size_t *n, char *out, size_t cap)
{
    const char *nl = memchr(*p, '\n', *n);
    if (!nl || (size_t)(nl - *p) >= cap)
        return false;
    size_t len = (size_t)(nl - *p);
    memcpy(out, *p, len);
    out[len] = '\0';
    *n -= len + 1;
    *p = nl + 1;
    return true;
}

static void cache_from_frame(struct rt_app *app, const char *channel, struct rt_frame *f)
{
    json_t *root = json_loadb((const char *)f->payload, f->len, 0, NULL);
    const char *event = json_string_value(json_object_get(root, "event"));
    const char *data = json_string_value(json_object_get(root, "data"));
    if (event && data)
        rt_cache_put(app, channel, event, data, f);
    json_decref(root);
}

static void on_fanout(const char *msg, size_t n)
{
    char kind[4], node[16], app_id[RT_APP_ID_MAX + 1], channel[256], except[RT_SOCKET_ID_MAX + 1];
    if (!next_field(&msg, &n, kind, sizeof kind) || !next_field(&msg, &n, node, sizeof node) ||
        !next_field(&msg, &n, app_id, sizeof app_id) ||
        !next_field(&msg, &n, channel, sizeof channel) ||
        !next_field(&msg, &n, except, sizeof except))
        return;
    if (strcmp(node, cl.node) == 0)
        return; /* our own publish: already delivered locally */
    struct rt_app *app = rt_apps_by_id(app_id);
    if (!app)
        return;
    if (kind[0] == 'T') {
        struct rt_user *u = rt_user_find(app, channel);
        struct rt_conn *c;
        if (u)
            DL_FOREACH2(u->conns, c, user_next)
            rt_conn_fail(c, 4009, "You got disconnected by the app");
        return;
    }
    struct rt_frame *f = rt_frame_new(msg, n);
    if (!f)
        return;
    if (kind[0] == 'C')
        cache_from_frame(app, channel, f);
    rt_broker_deliver_local(app, channel, f, except[0] ? except : NULL);
    rt_frame_unref(f);
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)privdata;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    redisReply *kind = reply->element[0], *payload = reply->element[2];
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "subscribe") == 0) {
        cl.sub_ready = true;
        rt_log_info("cluster: subscribed to %s on %s:%d", FANOUT_CHANNEL, cl.host, cl.port);
        return;
    }
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "message") == 0 &&
        payload->type == REDIS_REPLY_STRING)
        on_fanout(payload->str, payload->len);
}

/* ---- connections ------------------------------------------------------------------------ */

static void schedule_retry(void);

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    if (ac == cl.pub) {
        cl.pub = NULL;
        cl.pub_ready = false;
    } else if (ac == cl.sub) {
        cl.sub = NULL;
        cl.sub_ready = false;
    }
    if (cl.stopping)
        return;
    if (!cl.warned) {
        rt_log_warn("cluster: Redis %s:%d unreachable (%s); serving local clients only",
                    cl.host, cl.port, ac->errstr[0] ? ac->errstr : "connection closed");
        cl.warned = true;
    }
    schedule_retry();
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        on_disconnect(ac, status); /* hiredis frees the context after this callback */
        return;
    }
    if (ac == cl.pub)
        cl.pub_ready = true;
    if (cl.pub_ready && cl.warned) {
        rt_log_info("cluster: Redis %s:%d reachable again", cl.host, cl.port);
        cl.warned = false;
    }
    cl.backoff_ms = 0;
}

static redisAsyncContext *connect_one(void)
{
    redisAsyncContext *ac = redisAsyncConnect(cl.host, cl.port);
    if (!ac)
        return NULL;
    if (ac->err) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisLibuvAttach(ac, cl.loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (cl.password[0])
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", cl.password);
    return ac;
}

static void connect_all(void)
{
    if (!cl.pub)
        cl.pub = connect_one();
    if (!cl.sub) {
        cl.sub = connect_one();
        if (cl.sub)
            redisAsyncCommand(cl.sub, on_sub_reply, NULL, "SUBSCRIBE %s", FANOUT_CHANNEL);
    }
    if (!cl.pub || !cl.sub)
        schedule_retry();
}

static void on_retry(uv_timer_t *t)
{
    (void)t;
    connect_all();
}

static void schedule_retry(void)
{
    if (uv_is_active((uv_handle_t *)&cl.retry))
        return;
    cl.backoff_ms = cl.backoff_ms ? cl.backoff_ms * 2 : 250;
    if (cl.backoff_ms > 5000)
        cl.backoff_ms = 5000;
    uv_timer_start(&cl.retry, on_retry, cl.backoff_ms, 0);
}

int rt_cluster_start(uv_loop_t *loop, const char *url, char *err, size_t err_cap)
{
    cl.loop = loop;
    if (parse_url(url, err, err_cap) != 0)
        return -1;
    snprintf(cl.node, sizeof cl.node, "%06u", rt_srv.cfg.node_id);
    uv_timer_init(loop, &cl.retry);
    connect_all();
    return 0;
}

void rt_cluster_stop(void)
{
    if (!cl.loop)
        return;
    cl.stopping = true;
    uv_timer_stop(&cl.retry);
    uv_close((uv_handle_t *)&cl.retry, NULL);
    if (cl.pub)
        redisAsyncDisconnect(cl.pub);
    if (cl.sub)
        redisAsyncDisconnect(cl.sub);
}

/* ---- sending ---------------------------------------------------------------------------- */

static void publish(char kind, struct rt_app *app, const char *channel, const char *except,
                    const char *payload, size_t len)
{
    if (!cl.pub_ready)
        return;
    char head[512];
    int hn = snprintf(head, sizeof head, "%c\n%s\n%s\n%s\n%s\n", kind, cl.node, app->cfg->id,
                      channel, except ? except : "");
    if (hn < 0 || (size_t)hn >= sizeof head)
        return;
    char *msg = malloc((size_t)hn + len);
    if (!msg)
        return;
    memcpy(msg, head, (size_t)hn);
    memcpy(msg + hn, payload, len);
    redisAsyncCommand(cl.pub, NULL, NULL, "PUBLISH %s %b", FANOUT_CHANNEL, msg,
                      (size_t)hn + len);
    free(msg);
}

void rt_cluster_publish(struct rt_app *app, const char *channel, const struct rt_frame *f,
                        const char *except_socket_id, bool cache)
{
    publish(cache ? 'C' : 'E', app, channel, except_socket_id, (const char *)f->payload, f->len);
}

void rt_cluster_terminate_user(struct rt_app *app, const char *user_id)
{
    publish('T', app, user_id, NULL, "", 0);
}
