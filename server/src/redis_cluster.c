/* Redis Cluster mode of the bus (see redis_cluster.h). */
#include "redis_cluster.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utlist.h>

#include "log.h"
#include "redis_link.h"
#include "rt_alloc.h"
#include "rt_slot.h"

#define MAX_MASTERS 64
#define MAX_HOPS 5          /* MOVED/ASK/NOSCRIPT redirects one command may take */
#define REFRESH_MIN_MS 100  /* first retry of the slot map while down; doubles... */
#define REFRESH_MAX_MS 1000 /* ...up to this */
#define STOP_POLL_MS 20
/* A command answered TRYAGAIN (its slot half moved), or a script answered ASK, goes again
 * after AGAIN_MS, up to AGAIN_MAX times: for 2 s, while the keys of the slot are migrated. */
#define AGAIN_MS 50
#define AGAIN_MAX 40
/* A master's links not connected, or a slot map not answered, this long: given up, so that a
 * host that drops packets (no refusal) does not hold the node for the kernel's 2 minutes. */
#define CONNECT_TIMEOUT_MS 5000

/* One master: a command link and a sharded-subscriber link. */
struct shard {
    char host[RT_REDIS_HOST_MAX + 1];
    int port;
    struct rt_redis_link *cmd, *sub;
    bool listed;   /* a master in the last slot map */
    bool drop;     /* given up (cap, timeouts): its links close on the next loop turn */
    bool removing; /* its links are being closed on purpose: on_close is not a failure */
    bool probing;
    uint64_t probe_ms;
    uint64_t opened_ms; /* when a link of it was last opened */
};

/* A command on its way, kept whole so that a redirect can send it again. */
struct req {
    rt_cluster_reply_fn *cb;
    void *privdata;
    int slot;                /* of its key; -1: none */
    unsigned tries;          /* TRYAGAIN answers so far */
    bool script;             /* EVAL/EVALSHA */
    struct req *prev, *next; /* waiting to be sent again (TRYAGAIN; utlist DL) */
    struct shard *via;       /* the master it was last sent to (alive while a reply can come) */
    unsigned hops;
    size_t len;
    char *cmd; /* as redisFormatCommandArgv made it */
};

/* Every SCRIPT LOAD sent, formatted, so that a master found without the scripts (NOSCRIPT:
 * one that joined and took slots, or whose scripts were flushed) gets them before the command
 * is sent again. The scripts are a small fixed set. */
#define MAX_SCRIPTS 64
static struct {
    char *cmd;
    size_t len;
} scripts[MAX_SCRIPTS];
static size_t n_scripts;

static void remember_script(const char *cmd, size_t len)
{
    for (size_t i = 0; i < n_scripts; i++)
        if (scripts[i].len == len && memcmp(scripts[i].cmd, cmd, len) == 0) return;
    if (n_scripts == MAX_SCRIPTS) return;
    scripts[n_scripts].cmd = rt_xmalloc(len);
    memcpy(scripts[n_scripts].cmd, cmd, len);
    scripts[n_scripts++].len = len;
}

static struct {
    uv_loop_t *loop;
    struct rt_redis_url seeds[RT_REDIS_SEEDS_MAX];
    size_t n_seeds, next_seed;
    struct rt_redis_cluster_limits lim;
    const struct rt_redis_cluster_ops *ops;
    struct shard *shards[MAX_MASTERS];
    size_t n_shards;
    struct shard *slot_of[RT_SLOTS];
    bool map_ok, up, loading, stopping;
    uint64_t loading_ms;             /* when the slot map was asked for */
    struct rt_redis_link *seed_link; /* asked for the map when no master link is up */
    uv_timer_t refresh, dropper, stop_timer, again_timer;
    struct req *again; /* answered TRYAGAIN: sent again shortly, in order */
    unsigned backoff_ms;
    uint64_t stop_deadline;
    struct rt_redis_cluster_stats stats;
} rc;

static struct shard *new_slots[RT_SLOTS]; /* the map being read */

static void schedule_refresh(unsigned delay_ms);
static void open_links(struct shard *s);

/* The delay before the next slot map while down: doubling up to REFRESH_MAX_MS (a failover
 * takes seconds; nodes need not ask more than once a second meanwhile). */
static unsigned next_backoff(void)
{
    rc.backoff_ms = rc.backoff_ms ? rc.backoff_ms * 2 : REFRESH_MIN_MS;
    if (rc.backoff_ms > REFRESH_MAX_MS) rc.backoff_ms = REFRESH_MAX_MS;
    return rc.backoff_ms;
}

bool rt_redis_cluster_up(void)
{
    return rc.up;
}

/* A link that is there and connected (links close on failure; a closed one is gone). */
static bool connected(const struct rt_redis_link *l)
{
    return l && rt_redis_link_ready(l);
}

static void go_down(const char *why)
{
    if (!rc.up) return;
    rc.up = false;
    rc.ops->on_down(why);
}

/* Up once the map covers every slot and every master's two links are connected. */
static void recheck_up(void)
{
    if (rc.up || rc.stopping || !rc.map_ok) return;
    size_t masters = 0;
    for (size_t i = 0; i < rc.n_shards; i++) {
        struct shard *s = rc.shards[i];
        if (!s->listed) continue;
        if (!connected(s->cmd) || !connected(s->sub) || s->drop) return;
        masters++;
    }
    rc.up = true;
    rc.backoff_ms = 0;
    rt_log_info("cluster: Redis Cluster up, %zu masters", masters);
    rc.ops->on_up();
}

/* ---- links ---------------------------------------------------------------------------- */

static void on_link_ready(struct rt_redis_link *l)
{
    struct shard *s = rt_redis_link_data(l);
    if (!s) return; /* the seed link: its CLUSTER SLOTS is already queued */
    recheck_up();
}

static void on_link_close(struct rt_redis_link *l, const char *why)
{
    struct shard *s = rt_redis_link_data(l);
    if (!s) {
        if (l != rc.seed_link) return;
        rc.seed_link = NULL;
        if (!rc.up && !rc.stopping && strcmp(why, "map read") != 0) { /* said once an outage */
            char msg[RT_REDIS_HOST_MAX + 200];
            snprintf(msg, sizeof msg, "seed %s:%d: %s", rt_redis_link_host(l),
                     rt_redis_link_port(l), why);
            rc.ops->on_down(msg);
        }
        return;
    }
    if (l == s->cmd) {
        s->cmd = NULL;
        s->probing = false;
    }
    if (l == s->sub) s->sub = NULL;
    if (s->removing || rc.stopping) return;
    char msg[RT_REDIS_HOST_MAX + 200];
    snprintf(msg, sizeof msg, "master %s:%d: %s", s->host, s->port, why);
    go_down(msg);
    schedule_refresh(next_backoff());
}

static void on_push(struct rt_redis_link *l, redisReply *r)
{
    (void)l;
    if (r->type == REDIS_REPLY_ERROR) {
        /* a subscription sent to a master that no longer has the slot */
        rt_log_debug("cluster: subscriber link answered %s", r->str);
        rt_redis_cluster_reset("a subscription was refused by its master");
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ARRAY) return;
    const redisReply *kind = r->element[0], *a = r->element[1], *b = r->element[2];
    if (kind->type != REDIS_REPLY_STRING || a->type != REDIS_REPLY_STRING) return;
    if (strcmp(kind->str, "smessage") == 0 && b->type == REDIS_REPLY_STRING)
        rc.ops->on_message(b->str, b->len);
    else if (strcmp(kind->str, "ssubscribe") == 0)
        rc.ops->on_subscribed(a->str, a->len);
    else if (strcmp(kind->str, "sunsubscribe") == 0)
        rc.ops->on_unsubscribed(a->str, a->len);
    else if (strcmp(kind->str, "pmessage") == 0 && r->elements == 4 &&
             b->type == REDIS_REPLY_STRING && r->element[3]->type == REDIS_REPLY_STRING)
        rc.ops->on_pmessage(a->str, a->len, b->str, b->len, r->element[3]->str, r->element[3]->len);
}

static const struct rt_redis_link_ops link_ops = {
    .on_ready = on_link_ready, .on_push = on_push, .on_close = on_link_close};

static const char *password(void)
{
    return rc.seeds[0].password;
}

static void open_links(struct shard *s)
{
    if (!s->cmd || !s->sub) s->opened_ms = uv_now(rc.loop);
    if (!s->cmd)
        s->cmd = rt_redis_link_open(rc.loop, s->host, s->port, password(), false, &link_ops, s);
    if (!s->sub)
        s->sub = rt_redis_link_open(rc.loop, s->host, s->port, password(), true, &link_ops, s);
}

static struct shard *shard_find(const char *host, int port)
{
    for (size_t i = 0; i < rc.n_shards; i++)
        if (rc.shards[i]->port == port && strcmp(rc.shards[i]->host, host) == 0)
            return rc.shards[i];
    return NULL;
}

/* The master at host:port, known or new (its links opening). NULL past MAX_MASTERS. */
static struct shard *shard_get(const char *host, int port)
{
    struct shard *s = shard_find(host, port);
    if (s) return s;
    if (rc.n_shards == MAX_MASTERS) return NULL;
    s = rt_xcalloc(1, sizeof *s);
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    rc.shards[rc.n_shards++] = s;
    open_links(s);
    return s;
}

static void shard_remove(size_t i)
{
    struct shard *s = rc.shards[i];
    s->removing = true;
    if (s->cmd) rt_redis_link_close(s->cmd, "no longer a master");
    if (s->sub) rt_redis_link_close(s->sub, "no longer a master");
    for (size_t k = 0; k < RT_SLOTS; k++)
        if (rc.slot_of[k] == s) rc.slot_of[k] = NULL;
    rc.shards[i] = rc.shards[--rc.n_shards];
    free(s);
}

/* Links given up on (give_up) close here, on the turn after: the caller that found the link
 * over its cap may be inside one of its callbacks. */
static void on_dropper(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < rc.n_shards; i++) {
        struct shard *s = rc.shards[i];
        if (!s->drop) continue;
        s->drop = false;
        if (s->cmd) rt_redis_link_close(s->cmd, "given up");
        if (s->sub) rt_redis_link_close(s->sub, "given up");
    }
}

static void give_up(struct shard *s, unsigned long long *counter, const char *why)
{
    if (s->drop) return;
    (*counter)++;
    s->drop = true;
    char msg[RT_REDIS_HOST_MAX + 200];
    snprintf(msg, sizeof msg, "master %s:%d: %s", s->host, s->port, why);
    go_down(msg);
    uv_timer_start(&rc.dropper, on_dropper, 0, 0);
}

/* True when l must not take more: its master is being dropped, or the output waiting on l is
 * over the cap (then the master is given up, counted). */
static bool output_full(struct shard *s, struct rt_redis_link *l)
{
    if (s->drop) return true;
    size_t pending = rt_redis_link_pending(l);
    if (pending <= rc.lim.max_output) return false;
    char why[160];
    snprintf(why, sizeof why,
             "%zu KB of commands not taken, over RT_REDIS_MAX_OUTPUT_KB=%zu; connection dropped",
             pending / 1024, rc.lim.max_output / 1024);
    give_up(s, &rc.stats.output_overflows, why);
    return true;
}

/* ---- the slot map ---------------------------------------------------------------------- */

static long long int_of(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

/* CLUSTER SLOTS: [[start, end, [host, port, id, ...], replicas...], ...]. asked is the host
 * of the link that answered, for a master listed without one. */
static void on_slots(struct redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    struct rt_redis_link *asked = privdata;
    redisReply *r = reply;
    rc.loading = false;
    if (rc.stopping) return;
    bool from_seed = asked == rc.seed_link;
    char asked_host[RT_REDIS_HOST_MAX + 1] = "";
    int asked_port = 0;
    if (r) {
        snprintf(asked_host, sizeof asked_host, "%s", rt_redis_link_host(asked));
        asked_port = rt_redis_link_port(asked);
    }
    if (from_seed && r) rt_redis_link_close(asked, "map read");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r && !rc.up) { /* said once an outage (a single Redis answers ERR ...disabled) */
            char msg[RT_REDIS_HOST_MAX + 300];
            snprintf(msg, sizeof msg, "%s:%d answered CLUSTER SLOTS with \"%.200s\"", asked_host,
                     asked_port, r->type == REDIS_REPLY_ERROR ? r->str : "no map");
            rc.ops->on_down(msg);
        }
        schedule_refresh(next_backoff());
        return;
    }
    memset(new_slots, 0, sizeof new_slots);
    for (size_t i = 0; i < rc.n_shards; i++)
        rc.shards[i]->listed = false;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) continue;
        long long lo = int_of(e->element[0]), hi = int_of(e->element[1]);
        const redisReply *m = e->element[2];
        if (lo < 0 || hi >= RT_SLOTS || lo > hi || m->type != REDIS_REPLY_ARRAY ||
            m->elements < 2 || m->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const char *host = m->element[0]->str[0] ? m->element[0]->str : asked_host;
        long long port = int_of(m->element[1]);
        if (port <= 0 || port > 65535 || strcmp(host, "?") == 0) continue;
        struct shard *s = shard_get(host, (int)port);
        if (!s) continue;
        s->listed = true;
        for (long long k = lo; k <= hi; k++)
            new_slots[k] = s;
    }
    for (size_t i = rc.n_shards; i-- > 0;)
        if (!rc.shards[i]->listed) shard_remove(i);
    memcpy(rc.slot_of, new_slots, sizeof rc.slot_of);
    rc.stats.map_loads++;
    rc.map_ok = true;
    for (size_t k = 0; k < RT_SLOTS && rc.map_ok; k++)
        if (!rc.slot_of[k]) rc.map_ok = false;
    for (size_t i = 0; i < rc.n_shards; i++)
        open_links(rc.shards[i]);
    if (!rc.map_ok) { /* a failover under way: ask again */
        go_down("slots without a master");
        schedule_refresh(next_backoff());
        return;
    }
    recheck_up();
}

/* Asks a connected master for the map, or else the next seed. */
static void load_map(void)
{
    if (rc.loading || rc.stopping) return;
    struct rt_redis_link *l = NULL;
    for (size_t i = 0; i < rc.n_shards && !l; i++)
        if (connected(rc.shards[i]->cmd) && !rc.shards[i]->drop) l = rc.shards[i]->cmd;
    if (!l) {
        if (rc.seed_link) rt_redis_link_close(rc.seed_link, "replaced");
        const struct rt_redis_url *seed = &rc.seeds[rc.next_seed++ % rc.n_seeds];
        rc.seed_link = rt_redis_link_open(rc.loop, seed->host, seed->port, seed->password, false,
                                          &link_ops, NULL);
        l = rc.seed_link;
        if (!l) {
            schedule_refresh(REFRESH_MAX_MS);
            return;
        }
    }
    const char *argv[] = {"CLUSTER", "SLOTS"};
    if (rt_redis_link_command(l, on_slots, l, 2, argv, NULL) == 0) {
        rc.loading = true;
        rc.loading_ms = uv_now(rc.loop);
    }
}

static void on_refresh(uv_timer_t *t)
{
    (void)t;
    load_map();
}

static void schedule_refresh(unsigned delay_ms)
{
    if (rc.stopping || uv_is_active((uv_handle_t *)&rc.refresh)) return;
    uv_timer_start(&rc.refresh, on_refresh, delay_ms, 0);
}

void rt_redis_cluster_reset(const char *why)
{
    go_down(why);
    schedule_refresh(0);
}

/* ---- commands --------------------------------------------------------------------------- */

static struct shard *shard_for(int slot)
{
    if (slot >= 0) return rc.slot_of[slot];
    for (size_t i = 0; i < rc.n_shards; i++)
        if (rc.shards[i]->listed && connected(rc.shards[i]->cmd)) return rc.shards[i];
    return NULL;
}

static void finish(struct req *q, struct redisAsyncContext *ac, void *reply)
{
    if (q->cb) q->cb(ac, reply, q->privdata);
    free(q->cmd);
    free(q);
}

static void on_req_reply(struct redisAsyncContext *ac, void *reply, void *privdata);

/* Sends the commands answered TRYAGAIN again, to their slot's master now; one that cannot be
 * sent gets NULL, as for a dropped connection. */
static void on_again(uv_timer_t *t)
{
    (void)t;
    struct req *q = rc.again;
    rc.again = NULL;
    while (q) {
        struct req *next = q->next;
        struct shard *s = shard_for(q->slot);
        if (rc.stopping || !s || !s->cmd || s->drop ||
            rt_redis_link_send(s->cmd, q->cmd, q->len, on_req_reply, q) != 0)
            finish(q, NULL, NULL);
        else
            q->via = s;
        q = next;
    }
}

static void on_req_reply(struct redisAsyncContext *ac, void *reply, void *privdata)
{
    struct req *q = privdata;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR && q->hops < MAX_HOPS && !rc.stopping) {
        unsigned slot = 0;
        int port = 0;
        char host[RT_REDIS_HOST_MAX + 1];
        int kind = rt_redirect_parse(r->str, r->len, &slot, host, sizeof host, &port);
        struct shard *s = kind && host[0] && slot < RT_SLOTS ? shard_get(host, port) : NULL;
        /* A script declares one key in its app's slot (registry.c), not every key it touches:
         * followed to the importing master it would write there keys the old master still
         * has. It waits instead, as for TRYAGAIN, until the slot has moved whole (MOVED). */
        if (kind == RT_REDIRECT_ASK && q->script) s = NULL;
        if (s && s->cmd && !s->drop) {
            rc.stats.redirects++;
            q->hops++;
            q->via = s;
            if (kind == RT_REDIRECT_MOVED) { /* MOVED: the slot has a new master; the rest of the
                                                map may too */
                rc.slot_of[slot] = s;
                schedule_refresh(0);
            } else {
                const char *asking[] = {"ASKING"};
                rt_redis_link_command(s->cmd, NULL, NULL, 1, asking, NULL);
            }
            if (rt_redis_link_send(s->cmd, q->cmd, q->len, on_req_reply, q) == 0) return;
        }
    }
    struct shard *v = q->via;
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
        q->hops < MAX_HOPS && !rc.stopping && v->cmd && !v->drop) {
        /* On the same link, so the scripts are there when the command comes again. Commands
         * sent meanwhile failed the same way and come again in the order they went. */
        q->hops++;
        for (size_t i = 0; i < n_scripts; i++)
            rt_redis_link_send(v->cmd, scripts[i].cmd, scripts[i].len, NULL, NULL);
        if (rt_redis_link_send(v->cmd, q->cmd, q->len, on_req_reply, q) == 0) return;
    }
    bool ask = r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ASK ", 4) == 0;
    if (r && r->type == REDIS_REPLY_ERROR &&
        (strncmp(r->str, "TRYAGAIN", 8) == 0 || (ask && q->script)) && q->tries < AGAIN_MAX &&
        !rc.stopping) {
        /* The keys of a multi-key command or script are split between two masters while their
         * slot moves: try again in a moment, as Redis asks. */
        q->tries++;
        rc.stats.redirects++;
        DL_APPEND(rc.again, q);
        if (!uv_is_active((uv_handle_t *)&rc.again_timer))
            uv_timer_start(&rc.again_timer, on_again, AGAIN_MS, 0);
        return;
    }
    finish(q, ac, reply);
}

#define SLOT_OF_KEY (-2) /* send_command: find the slot from the command's key */

/* Sends argv to the master of slot (-1: any master; SLOT_OF_KEY: the slot of its key). */
static int send_command(int slot, rt_cluster_reply_fn *cb, void *privdata, size_t argc,
                        const char **argv, const size_t *lens)
{
    if (!rc.up) return -1;
    if (slot == SLOT_OF_KEY) {
        int key = rt_command_key_index(argc, (const char *const *)argv);
        slot = key < 0 ? -1 : (int)rt_slot_of(argv[key], lens ? lens[key] : strlen(argv[key]));
    }
    struct shard *s = shard_for(slot);
    if (!s || !s->cmd || output_full(s, s->cmd)) return -1;
    char *cmd = NULL;
    int len = rt_redis_link_format(&cmd, argc, argv, lens);
    if (len < 0) return -1;
    struct req *q = rt_xmalloc(sizeof *q);
    q->cb = cb;
    q->privdata = privdata;
    q->hops = 0;
    q->tries = 0;
    q->script = strcasecmp(argv[0], "EVAL") == 0 || strcasecmp(argv[0], "EVALSHA") == 0;
    q->slot = slot;
    q->via = s;
    q->len = (size_t)len;
    q->cmd = cmd;
    if (rt_redis_link_send(s->cmd, q->cmd, q->len, on_req_reply, q) != 0) {
        free(q->cmd);
        free(q);
        return -1;
    }
    if (argc == 3 && strcasecmp(argv[0], "SCRIPT") == 0 && strcasecmp(argv[1], "LOAD") == 0) {
        remember_script(q->cmd, q->len); /* every master may run it: */
        for (size_t i = 0; i < rc.n_shards; i++) {
            struct shard *o = rc.shards[i];
            if (o != s && o->listed && o->cmd && !output_full(o, o->cmd))
                rt_redis_link_send(o->cmd, q->cmd, q->len, NULL, NULL);
        }
    }
    return 0;
}

int rt_redis_cluster_command(rt_cluster_reply_fn *cb, void *privdata, size_t argc,
                             const char **argv, const size_t *lens)
{
    return send_command(SLOT_OF_KEY, cb, privdata, argc, argv, lens);
}

/* Every event goes this way: the slot is the channel's, no need to look for the key. */
int rt_redis_cluster_spublish(const char *channel, const char *msg, size_t len)
{
    size_t clen = strlen(channel);
    const char *argv[] = {"SPUBLISH", channel, msg};
    size_t lens[] = {8, clen, len};
    return send_command((int)rt_slot_of(channel, clen), NULL, NULL, 3, argv, lens);
}

static int subscriber_command(struct shard *s, const char *verb, const char *name)
{
    if (!rc.up || !s || !s->sub || output_full(s, s->sub)) return -1;
    const char *argv[] = {verb, name};
    return rt_redis_link_command(s->sub, NULL, NULL, 2, argv, NULL);
}

int rt_redis_cluster_ssubscribe(const char *channel)
{
    return subscriber_command(rc.slot_of[rt_slot_of(channel, strlen(channel))], "SSUBSCRIBE",
                              channel);
}

int rt_redis_cluster_sunsubscribe(const char *channel)
{
    return subscriber_command(rc.slot_of[rt_slot_of(channel, strlen(channel))], "SUNSUBSCRIBE",
                              channel);
}

int rt_redis_cluster_psubscribe(const char *pattern, bool on)
{
    return subscriber_command(rc.slot_of[0], on ? "PSUBSCRIBE" : "PUNSUBSCRIBE", pattern);
}

/* ---- health ---------------------------------------------------------------------------- */

static void on_probe(struct redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    (void)reply;
    struct shard *s = privdata;
    s->probing = false; /* answered, or the link is gone (then s is still alive: links close
                           before their shard is freed) */
}

static void check_writing(struct shard *s, struct rt_redis_link *l, uint64_t now)
{
    if (!connected(l) || !rt_redis_link_pending(l)) return;
    if (now - rt_redis_link_write_progress(l) < rc.lim.write_timeout_ms) return;
    char why[160];
    snprintf(why, sizeof why,
             "nothing written for RT_REDIS_WRITE_TIMEOUT=%llu s with %zu KB waiting; connection "
             "dropped",
             (unsigned long long)rc.lim.write_timeout_ms / 1000, rt_redis_link_pending(l) / 1024);
    give_up(s, &rc.stats.write_timeouts, why);
}

void rt_redis_cluster_sweep(uint64_t now)
{
    if (rc.stopping) return;
    if (rc.loading && rc.seed_link && now - rc.loading_ms >= CONNECT_TIMEOUT_MS)
        rt_redis_link_close(rc.seed_link, "no slot map in time"); /* on to the next seed */
    for (size_t i = 0; i < rc.n_shards; i++) {
        struct shard *s = rc.shards[i];
        if (s->drop) continue;
        if ((!connected(s->cmd) || !connected(s->sub)) &&
            now - s->opened_ms >= CONNECT_TIMEOUT_MS) {
            s->drop = true; /* reconnected after the next slot map, if still a master */
            uv_timer_start(&rc.dropper, on_dropper, 0, 0);
            continue;
        }
        check_writing(s, s->cmd, now);
        check_writing(s, s->sub, now);
        if (s->drop || !connected(s->cmd)) continue;
        if (s->probing) {
            if (now - s->probe_ms < rc.lim.reply_timeout_ms) continue;
            char why[160];
            snprintf(why, sizeof why,
                     "no reply for RT_REDIS_REPLY_TIMEOUT=%llu s; connection dropped",
                     (unsigned long long)rc.lim.reply_timeout_ms / 1000);
            give_up(s, &rc.stats.reply_timeouts, why);
            continue;
        }
        const char *ping[] = {"PING"};
        if (output_full(s, s->cmd)) continue;
        if (rt_redis_link_command(s->cmd, on_probe, s, 1, ping, NULL) == 0) {
            s->probing = true;
            s->probe_ms = now;
        }
    }
    if (!rc.up) schedule_refresh(next_backoff());
}

void rt_redis_cluster_stats(struct rt_redis_cluster_stats *out)
{
    *out = rc.stats;
    out->masters = 0;
    for (size_t i = 0; i < rc.n_shards; i++)
        if (rc.shards[i]->listed) out->masters++;
}

/* ---- start and stop ------------------------------------------------------------------- */

void rt_redis_cluster_start(uv_loop_t *loop, const struct rt_redis_url *seeds, size_t n,
                            const struct rt_redis_cluster_limits *limits,
                            const struct rt_redis_cluster_ops *ops)
{
    rc.loop = loop;
    rc.n_seeds = n < RT_REDIS_SEEDS_MAX ? n : RT_REDIS_SEEDS_MAX;
    memcpy(rc.seeds, seeds, rc.n_seeds * sizeof *seeds);
    rc.lim = *limits;
    rc.ops = ops;
    uv_timer_init(loop, &rc.refresh);
    uv_timer_init(loop, &rc.dropper);
    uv_timer_init(loop, &rc.stop_timer);
    uv_timer_init(loop, &rc.again_timer);
    load_map();
}

static void close_all(void)
{
    uv_timer_stop(&rc.stop_timer);
    uv_close((uv_handle_t *)&rc.stop_timer, NULL);
    if (rc.seed_link) rt_redis_link_close(rc.seed_link, "stopping");
    while (rc.n_shards) {
        struct shard *s = rc.shards[--rc.n_shards];
        s->removing = true;
        if (s->cmd) rt_redis_link_close(s->cmd, "stopping");
        if (s->sub) rt_redis_link_close(s->sub, "stopping");
        free(s);
    }
    memset(rc.slot_of, 0, sizeof rc.slot_of);
    for (size_t i = 0; i < n_scripts; i++)
        free(scripts[i].cmd);
    n_scripts = 0;
}

static void on_stop_poll(uv_timer_t *t)
{
    (void)t;
    bool waiting = false;
    for (size_t i = 0; i < rc.n_shards && !waiting; i++)
        if (connected(rc.shards[i]->cmd) && !rc.shards[i]->drop &&
            rt_redis_link_waiting(rc.shards[i]->cmd))
            waiting = true;
    if (waiting && uv_now(rc.loop) < rc.stop_deadline) return;
    close_all();
}

void rt_redis_cluster_stop(uint64_t grace_ms)
{
    if (!rc.loop || rc.stopping) return;
    rc.stopping = true;
    rc.up = false;
    uv_timer_stop(&rc.refresh);
    uv_close((uv_handle_t *)&rc.refresh, NULL);
    uv_timer_stop(&rc.dropper);
    uv_close((uv_handle_t *)&rc.dropper, NULL);
    uv_timer_stop(&rc.again_timer);
    on_again(&rc.again_timer); /* stopping: each gets NULL */
    uv_close((uv_handle_t *)&rc.again_timer, NULL);
    rc.stop_deadline = uv_now(rc.loop) + grace_ms;
    uv_timer_start(&rc.stop_timer, on_stop_poll, 0, STOP_POLL_MS);
}
