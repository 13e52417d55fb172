/* Redis fan-out between nodes: one PUBLISH connection, one SUBSCRIBE connection (hiredis on
 * the libuv loop). The message format is core/rt_cluster_wire.h.
 *
 * Interest-based routing: every channel has its own Redis channel ("rt:c:APP:CHANNEL", see
 * rt_cluster_route), and a node SUBSCRIBEs to it only while it has a local subscriber to the
 * channel (or, for "#server-to-user-ID", a local socket signed in as the user). So a node gets
 * none of the traffic of channels it has no subscriber for, and adding nodes adds delivery
 * capacity. Low-volume messages every node may need (watchlist changes, cache-channel values)
 * still go over the one channel every node subscribes to, "rt:fanout". */
#include "cluster.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#include "app.h"
#include "broker.h"
#include "cache.h"
#include "channel.h"
#include "conn.h"
#include "log.h"
#include "redis_cluster.h"
#include "redis_link.h"
#include "rt_alloc.h"
#include "rt_cluster_wire.h"
#include "rt_err.h"
#include "registry.h"
#include "rt_redis_url.h"
#include "rt_str.h"
#include "server.h"
#include "user.h"

#define FANOUT_CHANNEL "rt:fanout"
/* A Redis channel no local subscriber needs any more stays subscribed this long: a client
 * that leaves and comes back (a page reload, a reconnect) does not make the node unsubscribe
 * and subscribe again, and the window of a fresh SUBSCRIBE (docs/cluster.md) opens less. */
#define INTEREST_LINGER_MS 10000
/* At most this many routes linger: past it, a route whose last subscriber left is unsubscribed
 * at once, so clients churning through channel names cannot make the node hold (and Redis
 * keep) more than this many Redis subscriptions nobody needs. */
#define INTEREST_LINGER_MAX 4096
#define SUBSCRIBE_BATCH 512 /* Redis channels per SUBSCRIBE after a reconnect */
/* On shutdown, how long a clean disconnect may wait for the replies to the last commands. */
#define STOP_GRACE_MS 2000

/* A callback waiting until Redis confirmed a route's SUBSCRIBE (rt_cluster_route_pending). */
struct route_waiter {
    void (*fn)(void *arg);
    void *arg;
    struct route_waiter *next;
};

/* One Redis channel this node is interested in. refs counts the local channels and signed-in
 * users routed to it; at 0 it lingers (idle_since) and is then unsubscribed and freed. */
struct interest {
    char *name;
    unsigned refs;
    bool sent;      /* SUBSCRIBE sent on the current subscriber connection */
    bool confirmed; /* and Redis answered it: messages published from now on reach us */
    bool leaving;   /* UNSUBSCRIBE sent, its reply not yet in */
    uint64_t idle_since;
    struct route_waiter *waiters;
    UT_hash_handle hh;
};

_Static_assert(RT_CLUSTER_APP_ID_MAX == RT_APP_ID_MAX, "wire app id bound = app id bound");
_Static_assert(RT_CLUSTER_SOCKET_ID_MAX == RT_SOCKET_ID_MAX, "wire socket id bound");
_Static_assert(RT_CLUSTER_ROUTE_MAX == 5 + RT_APP_ID_MAX + 1 + RT_CHANNEL_NAME_MAX + 1,
               "route bound");

static struct {
    uv_loop_t *loop;
    struct rt_redis_url url;
    /* RT_REDIS_CLUSTER=1: the bus runs on redis_cluster.c's links (sharded pub/sub), and pub
     * and sub stay NULL. */
    bool cluster_mode;
    struct rt_redis_url seeds[RT_REDIS_SEEDS_MAX];
    size_t n_seeds;
    bool host_numeric; /* an IP literal: connect without a lookup */
    uv_getaddrinfo_t lookup;
    bool looking_up; /* one lookup at a time, on libuv's thread pool */
    redisAsyncContext *pub, *sub;
    bool pub_ready, sub_ready, stopping, warned;
    /* A connection was dropped for not being read (output cap): until Redis answers a PING
     * on a new command connection, the node stays degraded (a stopped Redis still accepts
     * TCP connections). */
    bool stalled;
    size_t max_output;         /* RT_REDIS_MAX_OUTPUT_KB in bytes */
    uint64_t write_timeout_ms; /* RT_REDIS_WRITE_TIMEOUT */
    uint64_t reply_timeout_ms; /* RT_REDIS_REPLY_TIMEOUT */
    bool probing;              /* a PING of the reply probe is unanswered, sent at probe_ms */
    uint64_t probe_ms;
    uv_timer_t dropper; /* drops connections given up on, on the next loop turn */
    unsigned long long output_overflows, write_timeouts, reply_timeouts;
    uv_timer_t retry;
    unsigned backoff_ms;
    char node[16];
    rt_cluster_pmessage_fn *on_pmessage;
    unsigned sub_generation;
    struct interest *interests; /* by Redis channel name */
    size_t n_subscribed;        /* Redis channels confirmed on the subscriber connection */
    size_t n_lingering;         /* routes without a local subscriber, still subscribed */
    uv_timer_t sweep;
    unsigned long long bus_in, bus_out; /* messages received from / published to Redis */
} cl;

bool rt_cluster_connected(void)
{
    return cl.pub_ready && cl.sub_ready;
}

/* ---- receiving ------------------------------------------------------------------------ */

static void cache_from_frame(struct rt_app *app, const char *channel, struct rt_frame *f)
{
    json_t *root = json_loadb((const char *)f->payload, f->len, 0, NULL);
    const char *event = json_string_value(json_object_get(root, "event"));
    const char *data = json_string_value(json_object_get(root, "data"));
    if (event && data) rt_cache_put(app, channel, event, data, f);
    json_decref(root);
}

/* A message that does not decode is dropped: Redis is shared, and a node never trusts it
 * with more than a well-formed event for an app it knows. */
static void on_fanout(const char *buf, size_t len)
{
    struct rt_cluster_msg m;
    if (rt_cluster_msg_decode(buf, len, &m) != RT_OK) {
        rt_log_debug("cluster: dropped a malformed message of %zu bytes", len);
        return;
    }
    if (strcmp(m.node, cl.node) == 0) return; /* our own publish: already delivered locally */
    struct rt_app *app = rt_apps_by_id(m.app_id);
    if (!app) return;
    if (m.kind == RT_CLUSTER_WATCHLIST) {
        char what[16];
        snprintf(what, sizeof what, "%.*s", (int)m.payload_len, m.payload);
        if (strcmp(what, "online") == 0 || strcmp(what, "offline") == 0)
            rt_user_notify_watchers(app, m.channel, what);
        return;
    }
    if (m.kind == RT_CLUSTER_MEMBER_EVENT) {
        /* "<version>\n<frame>" */
        const char *nl = memchr(m.payload, '\n', m.payload_len);
        if (!nl || nl == m.payload) return;
        uint64_t version = strtoull(m.payload, NULL, 10);
        size_t off = (size_t)(nl + 1 - m.payload);
        struct rt_frame *f = rt_frame_new(nl + 1, m.payload_len - off);
        rt_registry_member_event(app, m.channel, version, f, m.except[0] ? m.except : NULL);
        rt_frame_unref(f);
        return;
    }
    if (m.kind == RT_CLUSTER_COUNT_CHANGED) {
        rt_channel_count_refresh(app, m.channel);
        return;
    }
    if (m.kind == RT_CLUSTER_TERMINATE_USER) {
        struct rt_user *u = rt_user_find(app, m.channel);
        struct rt_conn *c;
        if (u) DL_FOREACH2(u->conns, c, user_next)
        rt_conn_fail(c, 4009, "You got disconnected by the app");
        return;
    }
    struct rt_frame *f = rt_frame_new(m.payload, m.payload_len);
    if (m.kind == RT_CLUSTER_CACHE_EVENT) cache_from_frame(app, m.channel, f);
    rt_broker_deliver_local(app, m.channel, f, m.except[0] ? m.except : NULL);
    rt_frame_unref(f);
}

static void on_unsubscribed(const char *name, size_t len);
static void interest_free(struct interest *in);
static void interest_leave(struct interest *in);

/* No local subscriber any more, not yet unsubscribed (counted in cl.n_lingering). */
static bool lingering(const struct interest *in)
{
    return in->refs == 0 && !in->leaving;
}

static void run_waiters(struct interest *in)
{
    struct route_waiter *w = in->waiters;
    in->waiters = NULL;
    while (w) {
        struct route_waiter *next = w->next;
        w->fn(w->arg);
        free(w);
        w = next;
    }
}

static void on_subscribed(const char *name, size_t len)
{
    if (len == strlen(FANOUT_CHANNEL) && memcmp(name, FANOUT_CHANNEL, len) == 0) {
        if (cl.sub_ready) return; /* a cluster's re-subscribe after a failover of other masters */
        cl.sub_ready = true;
        cl.sub_generation++; /* the ingest lease holder re-subscribes its patterns */
        rt_log_info("cluster: subscribed to %s on %s:%d", FANOUT_CHANNEL, cl.url.host, cl.url.port);
        return;
    }
    struct interest *in = NULL;
    HASH_FIND(hh, cl.interests, name, len, in);
    if (!in || !in->sent || in->confirmed) return;
    in->confirmed = true;
    cl.n_subscribed++;
    run_waiters(in);
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)privdata;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
    redisReply *kind = reply->element[0], *payload = reply->element[2];
    redisReply *name = reply->element[1];
    if (name->type != REDIS_REPLY_STRING) return;
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "subscribe") == 0) {
        on_subscribed(name->str, name->len);
        return;
    }
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "unsubscribe") == 0) {
        on_unsubscribed(name->str, name->len);
        return;
    }
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "message") == 0 &&
        payload->type == REDIS_REPLY_STRING) {
        cl.bus_in++;
        on_fanout(payload->str, payload->len);
    }
}

/* ---- interest ------------------------------------------------------------------------------ */

size_t rt_cluster_route(const char *app_id, const char *channel, char *out, size_t cap)
{
    int n = snprintf(out, cap, "rt:c:%s:%s", app_id, channel);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static bool output_full(redisAsyncContext *ac);

/* A subscriber connection is there to take SUBSCRIBEs (the cluster's links, in cluster mode). */
static bool sub_up(void)
{
    return cl.cluster_mode ? rt_redis_cluster_up() : cl.sub != NULL;
}

/* SUBSCRIBEs names[0..n) on the subscriber connection (replies: on_sub_reply), or SSUBSCRIBEs
 * each on its master in cluster mode (a cluster takes one slot per SSUBSCRIBE). */
static void send_subscribe(const char **names, size_t n)
{
    if (cl.cluster_mode) {
        for (size_t i = 0; i < n; i++)
            rt_redis_cluster_ssubscribe(names[i]);
        return;
    }
    if (!cl.sub || n == 0 || output_full(cl.sub)) return;
    const char *argv[SUBSCRIBE_BATCH + 1];
    size_t lens[SUBSCRIBE_BATCH + 1];
    argv[0] = "SUBSCRIBE";
    lens[0] = 9;
    for (size_t i = 0; i < n; i++) {
        argv[i + 1] = names[i];
        lens[i + 1] = strlen(names[i]);
    }
    redisAsyncCommandArgv(cl.sub, on_sub_reply, NULL, (int)n + 1, argv, lens);
}

/* After (re)connecting the subscriber: every route still wanted, in batches. */
static void resubscribe_all(void)
{
    const char *batch[SUBSCRIBE_BATCH];
    size_t n = 0;
    struct interest *in, *tmp;
    HASH_ITER(hh, cl.interests, in, tmp)
    {
        in->sent = true;
        batch[n++] = in->name;
        if (n == SUBSCRIBE_BATCH) {
            send_subscribe(batch, n);
            n = 0;
        }
    }
    send_subscribe(batch, n);
}

/* The subscriber connection is gone: nothing is subscribed any more, and whoever waits for a
 * confirmation goes ahead (Redis is unreachable; the registry's resync settles the rest). */
static void interests_lost(void)
{
    cl.n_subscribed = 0;
    struct interest *in, *tmp;
    HASH_ITER(hh, cl.interests, in, tmp)
    {
        in->sent = false;
        in->confirmed = false;
        run_waiters(in);
        if (in->leaving && !in->refs) {
            interest_free(in);
            continue;
        }
        in->leaving = false;
    }
}

void rt_cluster_interest(struct rt_app *app, const char *channel, bool add)
{
    if (!cl.loop || cl.stopping) return;
    char name[RT_CLUSTER_ROUTE_MAX];
    size_t len = rt_cluster_route(app->cfg->id, channel, name, sizeof name);
    if (!len) return;
    struct interest *in = NULL;
    HASH_FIND(hh, cl.interests, name, len, in);
    if (!add) {
        if (!in || !in->refs || --in->refs || in->leaving) return;
        in->idle_since = uv_now(cl.loop);
        cl.n_lingering++;
        if (cl.n_lingering > INTEREST_LINGER_MAX) interest_leave(in);
        return;
    }
    if (in && lingering(in)) cl.n_lingering--;
    if (!in) {
        in = rt_xcalloc(1, sizeof *in);
        in->name = rt_xstrdup(name);
        HASH_ADD_KEYPTR(hh, cl.interests, in->name, len, in);
    }
    in->refs++;
    if (!in->sent && !in->leaving && sub_up()) {
        const char *one = in->name;
        send_subscribe(&one, 1);
        in->sent = true;
    }
}

/* The channel's route when Redis has not confirmed it yet (but will, or the connection drops). */
static struct interest *unconfirmed(struct rt_app *app, const char *channel)
{
    char name[RT_CLUSTER_ROUTE_MAX];
    size_t len = rt_cluster_route(app->cfg->id, channel, name, sizeof name);
    struct interest *in = NULL;
    if (len) HASH_FIND(hh, cl.interests, name, len, in);
    if (!in || in->confirmed || !sub_up() || !(in->sent || in->leaving)) return NULL;
    return in;
}

bool rt_cluster_route_unconfirmed(struct rt_app *app, const char *channel)
{
    return unconfirmed(app, channel) != NULL;
}

bool rt_cluster_route_pending(struct rt_app *app, const char *channel, void (*fn)(void *arg),
                              void *arg)
{
    struct interest *in = unconfirmed(app, channel);
    if (!in) return false;
    struct route_waiter *w = rt_xcalloc(1, sizeof *w);
    w->fn = fn;
    w->arg = arg;
    LL_APPEND(in->waiters, w);
    return true;
}

static void interest_free(struct interest *in)
{
    if (lingering(in)) cl.n_lingering--;
    run_waiters(in);
    HASH_DEL(cl.interests, in);
    free(in->name);
    free(in);
}

/* Redis confirmed an UNSUBSCRIBE. A route wanted again meanwhile is subscribed anew only now:
 * hiredis drops a channel's reply callback when the "unsubscribe" reply arrives, so a
 * SUBSCRIBE sent before it would be answered into the void. */
static void on_unsubscribed(const char *name, size_t len)
{
    struct interest *in = NULL;
    HASH_FIND(hh, cl.interests, name, len, in);
    if (cl.cluster_mode && (!in || !in->leaving) &&
        (in || (len == strlen(FANOUT_CHANNEL) && memcmp(name, FANOUT_CHANNEL, len) == 0))) {
        /* Not asked for: the slot moved to another master, which takes the subscription
         * anew once the node has the new map. */
        rt_redis_cluster_reset("a subscribed slot moved to another master");
        return;
    }
    if (!in || !in->leaving) return;
    if (!in->refs) {
        interest_free(in);
        return;
    }
    in->leaving = false;
    in->sent = false;
    const char *one = in->name;
    send_subscribe(&one, 1);
    in->sent = true;
}

/* A lingering route is given up: UNSUBSCRIBE (freed when Redis confirms, on_unsubscribed), or
 * freed at once when it was never subscribed on this connection. */
static void interest_leave(struct interest *in)
{
    if (!in->sent || !sub_up()) {
        interest_free(in);
        return;
    }
    cl.n_lingering--;
    if (in->confirmed) cl.n_subscribed--;
    in->confirmed = false;
    in->leaving = true;
    if (cl.cluster_mode) {
        rt_redis_cluster_sunsubscribe(in->name);
        return;
    }
    if (output_full(cl.sub)) return; /* the connection is dropped: interests_lost frees it */
    const char *argv[] = {"UNSUBSCRIBE", in->name};
    size_t lens[] = {11, strlen(in->name)};
    redisAsyncCommandArgv(cl.sub, NULL, NULL, 2, argv, lens);
}

static void check_writing(redisAsyncContext *ac, uint64_t now);
static void check_replies(uint64_t now);

/* Once a second: routes without a local subscriber for INTEREST_LINGER_MS are given up, and
 * so are connections that could not write for RT_REDIS_WRITE_TIMEOUT or got no reply for
 * RT_REDIS_REPLY_TIMEOUT. */
static void on_sweep(uv_timer_t *t)
{
    (void)t;
    uint64_t now = uv_now(cl.loop);
    if (cl.cluster_mode) rt_redis_cluster_sweep(now);
    if (cl.pub) check_writing(cl.pub, now);
    if (cl.sub) check_writing(cl.sub, now);
    if (!cl.cluster_mode) check_replies(now);
    struct interest *in, *tmp;
    HASH_ITER(hh, cl.interests, in, tmp)
    {
        if (lingering(in) && now - in->idle_since >= INTEREST_LINGER_MS) interest_leave(in);
    }
}

void rt_cluster_stats(struct rt_cluster_stats *out)
{
    out->messages_in = cl.bus_in;
    out->messages_out = cl.bus_out;
    out->subscribed = cl.n_subscribed;
    out->routes = HASH_COUNT(cl.interests);
    out->output_overflows = cl.output_overflows;
    out->write_timeouts = cl.write_timeouts;
    out->reply_timeouts = cl.reply_timeouts;
    if (cl.cluster_mode) {
        struct rt_redis_cluster_stats rs;
        rt_redis_cluster_stats(&rs);
        out->output_overflows += rs.output_overflows;
        out->write_timeouts += rs.write_timeouts;
        out->reply_timeouts += rs.reply_timeouts;
        out->masters = rs.masters;
        out->redirects = rs.redirects;
        out->map_loads = rs.map_loads;
    }
}

/* ---- connections ------------------------------------------------------------------------
 * Every attempt first resolves the host name on libuv's thread pool (hiredis would call
 * getaddrinfo on the loop, freezing every client for as long as DNS takes, exactly when
 * things are failing) and then connects both contexts to the numeric address. */

static void schedule_retry(void);
static void stopped(void);

/* Logs once per outage; "reachable again" closes it. */
static void warn_unreachable(const char *why)
{
    if (cl.warned) return;
    if (cl.cluster_mode)
        rt_log_warn("cluster: Redis Cluster unreachable (%s); serving local clients only", why);
    else
        rt_log_warn("cluster: Redis %s:%d unreachable (%s); serving local clients only",
                    cl.url.host, cl.url.port, why);
    cl.warned = true;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    if (ac == cl.pub) {
        cl.pub = NULL;
        cl.pub_ready = false;
    } else if (ac == cl.sub) {
        cl.sub = NULL;
        cl.sub_ready = false;
        interests_lost();
    }
    if (cl.stopping) {
        stopped();
        return;
    }
    warn_unreachable(ac->errstr[0] ? ac->errstr : "connection closed");
    schedule_retry();
}

/* Commands may go: the registry re-sends this node's state. */
static void pub_ready_now(void)
{
    cl.pub_ready = true;
    rt_srv.redis_connects++;
    rt_registry_on_connected();
}

static void connected(void)
{
    if (cl.pub_ready && cl.warned) {
        if (cl.cluster_mode)
            rt_log_info("cluster: Redis Cluster reachable again");
        else
            rt_log_info("cluster: Redis %s:%d reachable again", cl.url.host, cl.url.port);
        cl.warned = false;
    }
    cl.backoff_ms = 0;
}

/* Redis answered the PING sent after a stall: it reads again. Any answer will do (an error
 * too: it is the same connection the commands go on). NULL: dropped before. */
static void on_pong(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    if (!r || ac != cl.pub) return;
    cl.stalled = false;
    pub_ready_now();
    connected();
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        on_disconnect(ac, status); /* hiredis frees the context after this callback */
        return;
    }
    if (ac == cl.pub && cl.stalled) {
        /* Connected is not reading: a stopped Redis's kernel completes the handshake. Taking
         * commands now would fill the buffer again and drop the connection every few
         * seconds, each time with events answered 200 and then lost. */
        redisAsyncCommand(cl.pub, on_pong, NULL, "PING");
        return;
    }
    if (ac == cl.pub) pub_ready_now();
    connected();
}

/* ---- hiredis on the libuv loop ------------------------------------------------------------
 * Our own event hooks instead of hiredis 0.14's libuv adapter: that one ignores a poll error,
 * so a connection attempt to a Redis that is down (refused) never completes and the node
 * never retries. Here an error lets hiredis read or write, which surfaces the socket's error
 * and ends the attempt through the connect callback. */

struct redis_poll {
    uv_poll_t handle;
    redisAsyncContext *ac; /* NULL once hiredis let go of the context */
    int events;
    bool over; /* given up (output cap, write timeout): takes no command, dropped on the next
                  loop turn */
    uint64_t waiting_since; /* output pending and nothing written since; 0 = none */
};

static void on_redis_io(uv_poll_t *h, int status, int events)
{
    struct redis_poll *p = h->data;
    if (status < 0) events = p->events;
    if (p->ac && (events & UV_READABLE)) redisAsyncHandleRead(p->ac);
    if (status == 0 && (events & UV_WRITABLE))
        p->waiting_since = 0; /* the socket takes output again */
    if (p->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->ac);
}

static void redis_poll_update(void *data, int add, int del)
{
    struct redis_poll *p = data;
    int events = (p->events | add) & ~del;
    if (events == p->events) return;
    p->events = events;
    if (events)
        uv_poll_start(&p->handle, events, on_redis_io);
    else
        uv_poll_stop(&p->handle);
}

static void redis_add_read(void *data)
{
    redis_poll_update(data, UV_READABLE, 0);
}
static void redis_del_read(void *data)
{
    redis_poll_update(data, 0, UV_READABLE);
}
static void redis_add_write(void *data)
{
    redis_poll_update(data, UV_WRITABLE, 0);
}
static void redis_del_write(void *data)
{
    redis_poll_update(data, 0, UV_WRITABLE);
}

static void redis_poll_free(uv_handle_t *h)
{
    free(h->data);
}

/* hiredis frees the context: stop watching its socket before hiredis closes it. */
static void redis_cleanup(void *data)
{
    struct redis_poll *p = data;
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, redis_poll_free);
}

static int redis_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct redis_poll *p = rt_xcalloc(1, sizeof *p);
    if (uv_poll_init_socket(loop, &p->handle, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    p->handle.data = p;
    p->ac = ac;
    ac->ev.data = p;
    ac->ev.addRead = redis_add_read;
    ac->ev.delRead = redis_del_read;
    ac->ev.addWrite = redis_add_write;
    ac->ev.delWrite = redis_del_write;
    ac->ev.cleanup = redis_cleanup;
    return 0;
}

/* ---- output cap and write timeout -------------------------------------------------------------
 * hiredis appends every command to the context's output buffer and writes it out as the socket
 * takes it: a Redis that accepts the connection but does not read (stopped, stalled, a network
 * black hole) would make that buffer grow without bound. */

/* Drops a connection given up on (give_up), as if Redis had closed it (callbacks get NULL,
 * on_disconnect schedules the reconnect). hiredis calls on_disconnect only for a connected
 * context; one still connecting is let go of here. */
static void drop_if_over(redisAsyncContext *ac)
{
    if (!ac || !((struct redis_poll *)ac->ev.data)->over) return;
    if (!(ac->c.flags & REDIS_CONNECTED)) on_disconnect(ac, REDIS_ERR);
    redisAsyncFree(ac);
}

static void on_dropper(uv_timer_t *t)
{
    (void)t;
    drop_if_over(cl.pub);
    drop_if_over(cl.sub);
}

/* Redis does not read ac: the node treats it as gone, degraded at once, the connection
 * dropped on the next loop turn (hiredis may be inside a callback of this very context now),
 * one warning per outage. */
static void give_up(redisAsyncContext *ac, const char *why)
{
    ((struct redis_poll *)ac->ev.data)->over = true;
    cl.stalled = true;
    if (ac == cl.pub) cl.pub_ready = false;
    if (ac == cl.sub) cl.sub_ready = false;
    warn_unreachable(why);
    uv_timer_start(&cl.dropper, on_dropper, 0, 0);
}

/* True when ac must not take another command: it is being dropped, or more than
 * RT_REDIS_MAX_OUTPUT_KB already waits to be written (so one command larger than the cap, a
 * resync of a big node, still goes when the buffer is short); then it is given up, counted. */
static bool output_full(redisAsyncContext *ac)
{
    struct redis_poll *p = ac->ev.data;
    if (p->over) return true;
    size_t pending = sdslen(ac->c.obuf);
    if (pending <= cl.max_output) return false;
    cl.output_overflows++;
    char why[160];
    snprintf(why, sizeof why,
             "%zu KB of commands not taken, over RT_REDIS_MAX_OUTPUT_KB=%zu; connection dropped",
             pending / 1024, cl.max_output / 1024);
    give_up(ac, why);
    return true;
}

/* Gives ac up, counted, when output has been waiting for RT_REDIS_WRITE_TIMEOUT without the
 * socket taking a byte: a Redis that reads nothing under a light load (the kernel buffers full,
 * the cap far away), or a connection attempt into a black hole once commands wait for it. */
static void check_writing(redisAsyncContext *ac, uint64_t now)
{
    struct redis_poll *p = ac->ev.data;
    if (p->over || sdslen(ac->c.obuf) == 0) {
        p->waiting_since = 0;
        return;
    }
    if (!p->waiting_since) {
        p->waiting_since = now;
        return;
    }
    if (now - p->waiting_since < cl.write_timeout_ms) return;
    cl.write_timeouts++;
    char why[160];
    snprintf(why, sizeof why,
             "nothing written for RT_REDIS_WRITE_TIMEOUT=%llu s with %zu KB waiting; connection "
             "dropped",
             (unsigned long long)cl.write_timeout_ms / 1000, sdslen(ac->c.obuf) / 1024);
    give_up(ac, why);
}

static void on_probe(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)r;
    (void)privdata;
    cl.probing = false; /* answered, or the connection is gone (NULL) */
}

/* Redis answers in order, so a PING unanswered for RT_REDIS_REPLY_TIMEOUT means it stopped
 * processing this connection's commands, even when everything still fits in the kernel's
 * buffers (a stall under light load, which neither the cap nor the write timeout sees): the
 * node then treats Redis as gone rather than accepting events it cannot pass on. */
static void check_replies(uint64_t now)
{
    if (!cl.pub || !cl.pub_ready) {
        cl.probing = false;
        return;
    }
    if (cl.probing) {
        if (now - cl.probe_ms < cl.reply_timeout_ms) return;
        cl.reply_timeouts++;
        cl.probing = false;
        char why[160];
        snprintf(why, sizeof why, "no reply for RT_REDIS_REPLY_TIMEOUT=%llu s; connection dropped",
                 (unsigned long long)cl.reply_timeout_ms / 1000);
        give_up(cl.pub, why);
        return;
    }
    if (output_full(cl.pub)) return;
    if (redisAsyncCommand(cl.pub, on_probe, NULL, "PING") != REDIS_OK) return;
    cl.probing = true;
    cl.probe_ms = now;
}

/* addr is numeric, so hiredis's own getaddrinfo does no lookup. */
static redisAsyncContext *connect_one(const char *addr)
{
    redisAsyncContext *ac = redisAsyncConnect(addr, cl.url.port);
    if (!ac) return NULL;
    if (ac->err) {
        warn_unreachable(ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    if (redis_attach(ac, cl.loop) != 0) {
        warn_unreachable("cannot watch the socket");
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (cl.url.password[0]) redisAsyncCommand(ac, NULL, NULL, "AUTH %s", cl.url.password);
    return ac;
}

static void connect_missing(const char *addr)
{
    if (!cl.pub) cl.pub = connect_one(addr);
    if (!cl.sub) {
        cl.sub = connect_one(addr);
        if (cl.sub) {
            redisAsyncCommand(cl.sub, on_sub_reply, NULL, "SUBSCRIBE %s", FANOUT_CHANNEL);
            resubscribe_all();
        }
    }
    if (!cl.pub || !cl.sub) schedule_retry();
}

/* The first IPv4 or IPv6 address of res as text into out (INET6_ADDRSTRLEN bytes); false
 * when res has none. getaddrinfo has already ordered res by preference (RFC 6724). */
static bool first_address(const struct addrinfo *res, char *out)
{
    for (; res; res = res->ai_next) {
        if (res->ai_family == AF_INET &&
            uv_ip4_name((const struct sockaddr_in *)res->ai_addr, out, INET6_ADDRSTRLEN) == 0)
            return true;
        if (res->ai_family == AF_INET6 &&
            uv_ip6_name((const struct sockaddr_in6 *)res->ai_addr, out, INET6_ADDRSTRLEN) == 0)
            return true;
    }
    return false;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    (void)req;
    cl.looking_up = false;
    char addr[INET6_ADDRSTRLEN];
    bool found = status == 0 && first_address(res, addr);
    uv_freeaddrinfo(res);
    if (cl.stopping) return;
    if (!found) {
        char why[128];
        snprintf(why, sizeof why, "cannot resolve the host: %s",
                 status ? uv_strerror(status) : "no IPv4 or IPv6 address");
        warn_unreachable(why);
        schedule_retry();
        return;
    }
    connect_missing(addr);
}

static void connect_all(void)
{
    if ((cl.pub && cl.sub) || cl.looking_up) return;
    if (cl.host_numeric) {
        connect_missing(cl.url.host);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(cl.loop, &cl.lookup, on_resolved, cl.url.host, NULL, &hints);
    if (rc != 0) {
        warn_unreachable(uv_strerror(rc));
        schedule_retry();
        return;
    }
    cl.looking_up = true;
}

static void on_retry(uv_timer_t *t)
{
    (void)t;
    connect_all();
}

static void schedule_retry(void)
{
    if (uv_is_active((uv_handle_t *)&cl.retry)) return;
    cl.backoff_ms = cl.backoff_ms ? cl.backoff_ms * 2 : 250;
    if (cl.backoff_ms > 2000) /* Redis back within 2 s of a restart: state heals fast */
        cl.backoff_ms = 2000;
    /* Jitter (0..25 %): nodes that lost Redis together do not all reconnect in one instant. */
    uint64_t delay = cl.backoff_ms + randombytes_uniform(cl.backoff_ms / 4 + 1);
    uv_timer_start(&cl.retry, on_retry, delay, 0);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return uv_inet_pton(AF_INET, host, buf) == 0 || uv_inet_pton(AF_INET6, host, buf) == 0;
}

/* ---- Redis Cluster mode (redis_cluster.c) -------------------------------------------------- */

/* Every slot has a master again: commands go, the registry re-sends this node's state (which
 * also heals what a promoted replica had not received), every route is subscribed anew. */
static void on_cluster_up(void)
{
    pub_ready_now();
    connected();
    const char *fanout = FANOUT_CHANNEL;
    send_subscribe(&fanout, 1);
    resubscribe_all();
}

static void on_cluster_down(const char *why)
{
    cl.pub_ready = false;
    cl.sub_ready = false;
    interests_lost();
    if (!cl.stopping) warn_unreachable(why);
}

static void on_cluster_message(const char *payload, size_t len)
{
    cl.bus_in++;
    on_fanout(payload, len);
}

static void on_cluster_pmessage(const char *pattern, size_t plen, const char *channel, size_t clen,
                                const char *payload, size_t len)
{
    if (strlen(channel) != clen || strlen(pattern) != plen || !cl.on_pmessage)
        return; /* a NUL byte in a name: no channel of ours */
    cl.on_pmessage(pattern, channel, payload, len);
}

static const struct rt_redis_cluster_ops cluster_ops = {
    .on_up = on_cluster_up,
    .on_down = on_cluster_down,
    .on_subscribed = on_subscribed,
    .on_unsubscribed = on_unsubscribed,
    .on_message = on_cluster_message,
    .on_pmessage = on_cluster_pmessage,
};

static int start_cluster_mode(const char *url, char *err, size_t err_cap)
{
    if (rt_redis_seeds_parse(url, cl.seeds, RT_REDIS_SEEDS_MAX, &cl.n_seeds, err, err_cap) != 0)
        return -1;
    cl.url = cl.seeds[0]; /* for log lines */
    struct rt_redis_cluster_limits lim = {.max_output = cl.max_output,
                                          .write_timeout_ms = cl.write_timeout_ms,
                                          .reply_timeout_ms = cl.reply_timeout_ms};
    rt_redis_cluster_start(cl.loop, cl.seeds, cl.n_seeds, &lim, &cluster_ops);
    return 0;
}

int rt_cluster_start(uv_loop_t *loop, const char *url, char *err, size_t err_cap)
{
    cl.loop = loop;
    cl.cluster_mode = rt_srv.cfg.redis_cluster;
    if (!cl.cluster_mode && rt_redis_url_parse(url, &cl.url, err, err_cap) != 0) return -1;
    cl.host_numeric = is_ip_literal(cl.url.host);
    snprintf(cl.node, sizeof cl.node, "%06u", rt_srv.cfg.node_id);
    cl.max_output = (size_t)rt_srv.cfg.redis_max_output_kb * 1024;
    cl.write_timeout_ms = (uint64_t)rt_srv.cfg.redis_write_timeout * 1000;
    cl.reply_timeout_ms = (uint64_t)rt_srv.cfg.redis_reply_timeout * 1000;
    uv_timer_init(loop, &cl.retry);
    uv_timer_init(loop, &cl.dropper);
    uv_timer_init(loop, &cl.sweep);
    uv_timer_start(&cl.sweep, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&cl.sweep);
    if (cl.cluster_mode) return start_cluster_mode(url, err, err_cap);
    connect_all();
    return 0;
}

/* A clean disconnect waits for the replies to what was sent (the registry giving the node id
 * back); one Redis does not read (over the cap, waiting for the PING after a stall, or not
 * even connected) is let go of at once. *slot is cleared when hiredis will not call
 * on_disconnect for it. */
static void close_connection(redisAsyncContext **slot)
{
    redisAsyncContext *ac = *slot;
    struct redis_poll *p = ac->ev.data;
    if (p->over || (ac == cl.pub && cl.stalled) || !(ac->c.flags & REDIS_CONNECTED)) {
        *slot = NULL;
        redisAsyncFree(ac);
        return;
    }
    redisAsyncDisconnect(ac);
}

/* The clean disconnects are over (both connections gone): nothing of cluster.c is left on the
 * loop. */
static void stopped(void)
{
    if (cl.pub || cl.sub || uv_is_closing((uv_handle_t *)&cl.dropper)) return;
    uv_timer_stop(&cl.dropper);
    uv_close((uv_handle_t *)&cl.dropper, NULL);
}

/* STOP_GRACE_MS after rt_cluster_stop: a Redis that stopped answering (stopped, stalled) would
 * keep a clean disconnect, and with it the process, waiting for ever. */
static void on_stop_deadline(uv_timer_t *t)
{
    (void)t;
    redisAsyncContext *pub = cl.pub, *sub = cl.sub;
    cl.pub = cl.sub = NULL; /* on_disconnect, if hiredis calls it, finds neither */
    if (pub) redisAsyncFree(pub);
    if (sub) redisAsyncFree(sub);
    stopped();
}

/* A lookup already running on the thread pool cannot be cancelled: its callback still runs
 * on the loop (main runs it until nothing is left) and only frees the result. */
void rt_cluster_stop(void)
{
    if (!cl.loop) return;
    cl.stopping = true;
    if (cl.looking_up) uv_cancel((uv_req_t *)&cl.lookup);
    uv_timer_stop(&cl.retry);
    uv_close((uv_handle_t *)&cl.retry, NULL);
    uv_timer_stop(&cl.sweep);
    uv_close((uv_handle_t *)&cl.sweep, NULL);
    cl.pub_ready = false; /* presence joins still waiting for a route answer from local state */
    struct interest *in, *tmp;
    HASH_ITER(hh, cl.interests, in, tmp)
    {
        interest_free(in);
    }
    if (cl.cluster_mode) rt_redis_cluster_stop(STOP_GRACE_MS);
    uv_timer_start(&cl.dropper, on_stop_deadline, STOP_GRACE_MS, 0); /* before: may close it */
    if (cl.pub) close_connection(&cl.pub);
    if (cl.sub) close_connection(&cl.sub);
    stopped();
}

/* ---- sending ---------------------------------------------------------------------------- */

/* The Redis channel a message goes to: the channel's route for events, member events and
 * terminations (the user's "#server-to-user-ID" route: nodes where the user is signed in);
 * "rt:fanout" for watchlist changes and cache-channel values, which every node may need. */
static bool target_of(enum rt_cluster_kind kind, const char *app_id, const char *channel, char *out,
                      size_t cap)
{
    if (kind == RT_CLUSTER_WATCHLIST || kind == RT_CLUSTER_CACHE_EVENT) {
        snprintf(out, cap, "%s", FANOUT_CHANNEL);
        return true;
    }
    if (kind == RT_CLUSTER_TERMINATE_USER) {
        char user_channel[RT_CHANNEL_NAME_MAX + 1];
        int n = snprintf(user_channel, sizeof user_channel, RT_SERVER_TO_USER_PREFIX "%s", channel);
        if (n < 0 || (size_t)n >= sizeof user_channel) return false;
        return rt_cluster_route(app_id, user_channel, out, cap) > 0;
    }
    return rt_cluster_route(app_id, channel, out, cap) > 0;
}

static void publish(enum rt_cluster_kind kind, struct rt_app *app, const char *channel,
                    const char *except, const char *payload, size_t len)
{
    if (!cl.pub_ready || (!cl.cluster_mode && output_full(cl.pub))) return;
    size_t n;
    char target[RT_CLUSTER_ROUTE_MAX];
    char *msg =
        rt_cluster_msg_encode(kind, cl.node, app->cfg->id, channel, except, payload, len, &n);
    if (!msg || !target_of(kind, app->cfg->id, channel, target, sizeof target)) {
        rt_log_warn("cluster: app=%s channel=%s not published to other nodes (over a wire "
                    "limit)",
                    app->cfg->id, channel);
        free(msg);
        return;
    }
    if (cl.cluster_mode)
        rt_redis_cluster_spublish(target, msg, n);
    else
        redisAsyncCommand(cl.pub, NULL, NULL, "PUBLISH %s %b", target, msg, n);
    cl.bus_out++;
    free(msg);
}

/* The REST API accepts any "<digits>.<digits>" socket_id; one longer than ours names no
 * connection on any node, so the event goes out without an exclusion rather than not at all. */
void rt_cluster_publish(struct rt_app *app, const char *channel, const struct rt_frame *f,
                        const char *except_socket_id, bool cache)
{
    if (except_socket_id && strlen(except_socket_id) > RT_CLUSTER_SOCKET_ID_MAX)
        except_socket_id = NULL;
    publish(cache ? RT_CLUSTER_CACHE_EVENT : RT_CLUSTER_EVENT, app, channel, except_socket_id,
            (const char *)f->payload, f->len);
}

void rt_cluster_publish_count_changed(struct rt_app *app, const char *channel)
{
    publish(RT_CLUSTER_COUNT_CHANGED, app, channel, NULL, "", 0);
}

void rt_cluster_terminate_user(struct rt_app *app, const char *user_id)
{
    publish(RT_CLUSTER_TERMINATE_USER, app, user_id, NULL, "", 0);
}

void rt_cluster_publish_member(struct rt_app *app, const char *channel, const char *except,
                               uint64_t version, const struct rt_frame *f)
{
    char head[32];
    int hn = snprintf(head, sizeof head, "%llu\n", (unsigned long long)version);
    char *payload = rt_xmalloc((size_t)hn + f->len);
    memcpy(payload, head, (size_t)hn);
    memcpy(payload + hn, f->payload, f->len);
    publish(RT_CLUSTER_MEMBER_EVENT, app, channel, except, payload, (size_t)hn + f->len);
    free(payload);
}

void rt_cluster_publish_watchlist(struct rt_app *app, const char *user_id, const char *what)
{
    publish(RT_CLUSTER_WATCHLIST, app, user_id, NULL, what, strlen(what));
}

/* ---- pattern subscriptions ------------------------------------------------------------- */

/* hiredis keeps one callback per pattern and calls it for "psubscribe", every "pmessage" and
 * the final "punsubscribe". */
static void on_psub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)privdata;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) return;
    redisReply *kind = reply->element[0], *pattern = reply->element[1],
               *channel = reply->element[2], *payload = reply->element[3];
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "pmessage") != 0 ||
        pattern->type != REDIS_REPLY_STRING || channel->type != REDIS_REPLY_STRING ||
        payload->type != REDIS_REPLY_STRING || !cl.on_pmessage)
        return;
    if (strlen(channel->str) != channel->len || strlen(pattern->str) != pattern->len)
        return; /* a NUL byte in a name: no channel of ours */
    cl.on_pmessage(pattern->str, channel->str, payload->str, payload->len);
}

void rt_cluster_set_pmessage_handler(rt_cluster_pmessage_fn *fn)
{
    cl.on_pmessage = fn;
}

unsigned rt_cluster_sub_generation(void)
{
    return cl.sub_generation;
}

int rt_cluster_psubscribe(const char *pattern)
{
    if (cl.cluster_mode) return cl.sub_ready ? rt_redis_cluster_psubscribe(pattern, true) : -1;
    if (!cl.sub_ready || output_full(cl.sub)) return -1;
    return redisAsyncCommand(cl.sub, on_psub_reply, NULL, "PSUBSCRIBE %s", pattern) == REDIS_OK
               ? 0
               : -1;
}

int rt_cluster_punsubscribe(const char *pattern)
{
    if (cl.cluster_mode) return cl.sub_ready ? rt_redis_cluster_psubscribe(pattern, false) : -1;
    if (!cl.sub_ready || output_full(cl.sub)) return -1;
    return redisAsyncCommand(cl.sub, on_psub_reply, NULL, "PUNSUBSCRIBE %s", pattern) == REDIS_OK
               ? 0
               : -1;
}

int rt_cluster_command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv)
{
    if (cl.cluster_mode)
        return cl.pub_ready ? rt_redis_cluster_command(cb, privdata, argc, argv, NULL) : -1;
    if (!cl.pub_ready || output_full(cl.pub)) return -1;
    char *cmd = NULL;
    int len = rt_redis_link_format(&cmd, argc, argv, NULL);
    if (len < 0) return -1;
    int rc = redisAsyncFormattedCommand(cl.pub, (redisCallbackFn *)cb, privdata, cmd, (size_t)len);
    free(cmd);
    return rc == REDIS_OK ? 0 : -1;
}
