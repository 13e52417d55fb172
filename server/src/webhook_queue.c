/* The durable webhook queue in Redis (webhook_queue.h): scripts that decide each step once
 * for the cluster, and the polling that feeds this node's deliveries (webhook.c). */
#include "webhook_queue.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "app.h"
#include "cluster.h"
#include "log.h"
#include "registry.h"
#include "rt_alloc.h"
#include "server.h"

#define SWEEP_MS 1000u
#define CLAIM_EVERY 3u /* sweeps: claim idle entries and refresh ours every 3 s */
#define GROUP "d"

/* ---- Lua ---------------------------------------------------------------------------------
 * KEYS[1] is the app's request stream (it names the app's slot); ARGV[1] is the app id. */
#define LUA_WH                                                                                     \
    "local P = 'rt:{' .. ARGV[1] .. '}:wh:'\n"                                                     \
    "local Q = P .. 'q'\n"                                                                         \
    "local t = redis.call('TIME')\n"                                                               \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                      \
    "local nows = string.format('%.0f', now)\n"                                                    \
    "local function flush(w)\n"                                                                    \
    "  local l = P .. 'e:' .. w\n"                                                                 \
    "  local sp = redis.call('HGET', P .. 'spec', w) or '0:50'\n"                                  \
    "  local max = tonumber(string.match(sp, ':(%d+)$')) or 50\n"                                  \
    "  local evs = redis.call('LRANGE', l, 0, max - 1)\n"                                          \
    "  if #evs > 0 then redis.call('LTRIM', l, #evs, -1) end\n"                                    \
    "  if redis.call('LLEN', l) == 0 then redis.call('HDEL', P .. 'first', w)\n"                   \
    "  else redis.call('HSET', P .. 'first', w, nows) end\n"                                       \
    "  if #evs == 0 then return 0 end\n"                                                           \
    "  redis.pcall('XGROUP', 'CREATE', Q, '" GROUP "', '0', 'MKSTREAM')\n"                         \
    "  redis.call('XADD', Q, '*', 'w', w, 't', nows, 'b',\n"                                       \
    "    '{\"time_ms\":' .. nows .. ',\"events\":[' .. table.concat(evs, ',') .. ']}')\n"          \
    "  return 1\n"                                                                                 \
    "end\n"                                                                                        \
    "local function push(ev, spec)\n"                                                              \
    "  local formed = 0\n"                                                                         \
    "  for w, win, max in string.gmatch(spec, '(%d+):(%d+):(%d+)') do\n"                           \
    "    local n = redis.call('RPUSH', P .. 'e:' .. w, ev)\n"                                      \
    "    redis.call('HSET', P .. 'spec', w, win .. ':' .. max)\n"                                  \
    "    if n == 1 then redis.call('HSET', P .. 'first', w, nows) end\n"                           \
    "    if n >= tonumber(max) or tonumber(win) == 0 then formed = formed + flush(w) end\n"        \
    "  end\n"                                                                                      \
    "  return formed\n"                                                                            \
    "end\n"                                                                                        \
    "local function waiting()\n"                                                                   \
    "  local n = redis.call('XLEN', Q) + redis.call('HLEN', P .. 'held')\n"                        \
    "  for _, w in ipairs(redis.call('HKEYS', P .. 'first')) do\n"                                 \
    "    n = n + redis.call('LLEN', P .. 'e:' .. w)\n"                                             \
    "  end\n"                                                                                      \
    "  return n\n"                                                                                 \
    "end\n"

/* ARGV: app, kind, hold id, settle ms, app max pending, event JSON, spec. Returns {status,
 * requests formed}: status -1 cancelled with its held pair, -2 refused (the app's queue is
 * full), 1 held, 0 queued (or, kind 'c', the same count as the last one queued: nothing). */
static const char lua_event[] =
    LUA_WH "local kind, hid, spec = ARGV[2], ARGV[3], ARGV[7]\n"
           "if kind == 'o' or kind == 'a' then\n"
           "  local pair = (kind == 'o' and 'v' or 'r') .. hid\n"
           "  if redis.call('HDEL', P .. 'held', pair) == 1 then\n"
           "    redis.call('ZREM', P .. 'due', pair)\n"
           "    return {-1, 0}\n"
           "  end\n"
           "end\n"
           "if kind == 'v' or kind == 'o' then redis.call('HDEL', P .. 'sc', hid) end\n"
           "if kind == 'c' then\n"
           "  if redis.call('HGET', P .. 'sc', hid) == ARGV[6] then return {0, 0} end\n"
           "  redis.call('HSET', P .. 'sc', hid, ARGV[6])\n"
           "end\n"
           "if spec == '' and kind ~= 'v' and kind ~= 'r' then return {0, 0} end\n"
           "if waiting() >= tonumber(ARGV[5]) then return {-2, 0} end\n"
           "if kind == 'v' or kind == 'r' then\n"
           "  redis.call('HSET', P .. 'held', kind .. hid, spec .. '\\n' .. ARGV[6])\n"
           "  redis.call('ZADD', P .. 'due', now + tonumber(ARGV[4]), kind .. hid)\n"
           "  return {1, 0}\n"
           "end\n"
           "return {0, push(ARGV[6], spec)}\n";

/* ARGV: app. Queues held events whose settle window has ended and forms the requests of
 * batch windows that have ended. Returns {requests queued, events waiting}. */
static const char lua_tick[] =
    LUA_WH "local due = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', now, 'LIMIT', 0, 500)\n"
           "for _, id in ipairs(due) do\n"
           "  redis.call('ZREM', P .. 'due', id)\n"
           "  local rec = redis.call('HGET', P .. 'held', id)\n"
           "  if rec then\n"
           "    redis.call('HDEL', P .. 'held', id)\n"
           "    local nl = string.find(rec, '\\n', 1, true)\n"
           "    push(string.sub(rec, nl + 1), string.sub(rec, 1, nl - 1))\n"
           "  end\n"
           "end\n"
           "local firsts = redis.call('HGETALL', P .. 'first')\n"
           "for i = 1, #firsts, 2 do\n"
           "  local w = firsts[i]\n"
           "  local sp = redis.call('HGET', P .. 'spec', w) or '0:50'\n"
           "  local win = tonumber(string.match(sp, '^(%d+)')) or 0\n"
           "  if tonumber(firsts[i + 1]) + win <= now then flush(w) end\n"
           "end\n"
           "local n = redis.call('XLEN', Q)\n"
           "return {n, waiting() - n}\n";

/* ARGV: app, entry, webhook id, status JSON ("" = none). A request answered (or discarded). */
static const char lua_done[] = "local P = 'rt:{' .. ARGV[1] .. '}:wh:'\n"
                               "redis.call('XACK', KEYS[1], '" GROUP "', ARGV[2])\n"
                               "redis.call('XDEL', KEYS[1], ARGV[2])\n"
                               "if ARGV[4] ~= '' then redis.call('HSET', P .. 'st', ARGV[3], "
                               "ARGV[4]) end\n"
                               "return 1\n";

/* ARGV: app, entry, webhook id, status JSON, record JSON, dead letters kept. */
static const char lua_dead[] = "local P = 'rt:{' .. ARGV[1] .. '}:wh:'\n"
                               "redis.call('XACK', KEYS[1], '" GROUP "', ARGV[2])\n"
                               "redis.call('XDEL', KEYS[1], ARGV[2])\n"
                               "redis.call('HSET', P .. 'st', ARGV[3], ARGV[4])\n"
                               "local keep = tonumber(ARGV[6])\n"
                               "if keep > 0 then\n"
                               "  redis.call('LPUSH', P .. 'dead', ARGV[5])\n"
                               "  redis.call('LTRIM', P .. 'dead', 0, keep - 1)\n"
                               "end\n"
                               "return 1\n";

/* ARGV: app. Moves every dead letter back into the queue, oldest first, with its request id
 * and body. Returns how many. */
static const char lua_requeue[] =
    LUA_WH "local n = 0\n"
           "redis.pcall('XGROUP', 'CREATE', Q, '" GROUP "', '0', 'MKSTREAM')\n"
           "while true do\n"
           "  local rec = redis.call('RPOP', P .. 'dead')\n"
           "  if not rec then break end\n"
           "  local ok, r = pcall(cjson.decode, rec)\n"
           "  if ok and type(r) == 'table' and r.body and r.request_id and r.webhook_id then\n"
           "    redis.call('XADD', Q, '*', 'w', string.format('%.0f', r.webhook_id), 't', nows,\n"
           "      'b', r.body, 'r', r.request_id)\n"
           "    n = n + 1\n"
           "  end\n"
           "end\n"
           "return n\n";

/* ARGV: app. Returns {last status hash, requests queued + events waiting, dead letters}. */
static const char lua_state[] = LUA_WH
    "return {redis.call('HGETALL', P .. 'st'), waiting(), redis.call('LLEN', P .. 'dead')}\n";

/* ---- state ---------------------------------------------------------------------------------- */

/* One app's polling state. */
struct qapp {
    char id[RT_APP_ID_MAX + 1];
    uv_timer_t tick; /* an early tick: a batch or settle window of this node ends */
    uint64_t tick_due;
    bool reading, claiming, seen;
    UT_hash_handle hh;
};

static struct {
    bool started;
    uv_loop_t *loop;
    uv_timer_t sweep;
    unsigned sweeps;
    char node[16];
    struct qapp *apps;
} q;

static void stream_key(const char *app_id, char *out, size_t cap)
{
    snprintf(out, cap, "rt:{%s}:wh:q", app_id);
}

static bool is_error(const redisReply *r)
{
    return !r || r->type == REDIS_REPLY_ERROR;
}

static long long int_of(const redisReply *r)
{
    if (!r) return 0;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return strtoll(r->str, NULL, 10);
    return 0;
}

/* The app's script call: argv = {"EVAL", lua, "1", stream, app, args...}. */
static int eval(const char *lua, const char *app_id, rt_cluster_reply_fn *cb, void *privdata,
                size_t argc, const char **args)
{
    char key[64];
    stream_key(app_id, key, sizeof key);
    const char *argv[16] = {"EVAL", lua, "1", key, app_id};
    size_t n = 5;
    for (size_t i = 0; i < argc && n < 16; i++)
        argv[n++] = args[i];
    return rt_registry_command(cb, privdata, n, argv);
}

static struct qapp *qapp_get(const char *app_id)
{
    struct qapp *a = NULL;
    HASH_FIND_STR(q.apps, app_id, a);
    if (a) return a;
    a = rt_xcalloc(1, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", app_id);
    uv_timer_init(q.loop, &a->tick);
    a->tick.data = a;
    HASH_ADD_STR(q.apps, id, a);
    return a;
}

static void qapp_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void qapp_free(struct qapp *a)
{
    HASH_DEL(q.apps, a);
    uv_timer_stop(&a->tick);
    uv_close((uv_handle_t *)&a->tick, qapp_free_cb);
}

/* ---- reading requests ---------------------------------------------------------------------- */

static void read_more(struct qapp *a);

/* Hands each entry of an XREADGROUP/XAUTOCLAIM entry list to webhook.c. Returns how many. */
static size_t take_entries(const char *app_id, const redisReply *entries)
{
    size_t n = 0;
    for (size_t i = 0; entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements;
         i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const char *id = e->element[0]->str;
        const redisReply *f = e->element[1];
        n++;
        if (f->type != REDIS_REPLY_ARRAY || rt_webhook_holds(app_id, id)) continue;
        const char *w = NULL, *t = NULL, *b = NULL, *r = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *name = f->element[k]->str, *v = f->element[k + 1]->str;
            if (!name || !v) continue;
            if (strcmp(name, "w") == 0) w = v;
            if (strcmp(name, "t") == 0) t = v;
            if (strcmp(name, "b") == 0) b = v;
            if (strcmp(name, "r") == 0) r = v;
        }
        if (!w || !t || !b) {
            /* Not ours to interpret: acknowledge it so that it does not come back forever. */
            rt_whq_delivered(app_id, id, 0, NULL);
            continue;
        }
        char request_id[80];
        if (r)
            snprintf(request_id, sizeof request_id, "%s", r);
        else
            snprintf(request_id, sizeof request_id, "%s:%s", app_id, id);
        rt_webhook_take(app_id, id, strtoll(w, NULL, 10), request_id, b,
                        (uint64_t)strtoull(t, NULL, 10));
    }
    return n;
}

static void on_read(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    char *app_id = privdata;
    redisReply *reply = r;
    struct qapp *a = NULL;
    HASH_FIND_STR(q.apps, app_id, a);
    if (a) a->reading = false;
    size_t got = 0;
    /* [[stream, [[id, [field, value, ...]], ...]]]; nil when nothing is new; NOGROUP while
     * the stream does not exist yet. */
    if (q.started && !is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
        const redisReply *s = reply->element[0];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2)
            got = take_entries(app_id, s->element[1]);
    }
    if (a && got > 0) read_more(a); /* there may be more, as far as the budget goes */
    free(app_id);
}

/* Reads new requests of a, as many as this node takes for the app now. */
static void read_more(struct qapp *a)
{
    size_t budget = rt_webhook_budget(a->id);
    if (!q.started || a->reading || budget == 0 || !rt_registry_active()) return;
    char key[64], count[24];
    stream_key(a->id, key, sizeof key);
    snprintf(count, sizeof count, "%zu", budget);
    const char *argv[] = {"XREADGROUP", "GROUP",   GROUP, q.node, "COUNT",
                          count,        "STREAMS", key,   ">"};
    char *ref = rt_xstrdup(a->id); /* the qapp may be gone by the reply */
    if (rt_registry_command(on_read, ref, 9, argv) != 0) {
        free(ref);
        return;
    }
    a->reading = true;
}

void rt_whq_kick(const char *app_id)
{
    if (q.started) read_more(qapp_get(app_id));
}

static void on_claim(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    char *app_id = privdata;
    redisReply *reply = r;
    struct qapp *a = NULL;
    HASH_FIND_STR(q.apps, app_id, a);
    if (a) a->claiming = false;
    /* [next cursor, [[id, fields], ...], [deleted ids]] */
    size_t got = 0;
    if (q.started && !is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2)
        got = take_entries(app_id, reply->element[1]);
    if (got > 0)
        rt_log_info("app=%s webhooks: took over %zu requests of a node that stopped", app_id, got);
    free(app_id);
}

/* Takes requests other nodes read but have not touched for WHQ_CLAIM_IDLE_MS: their node
 * died (a live node refreshes its own every CLAIM_EVERY sweeps). */
static void claim(struct qapp *a)
{
    size_t budget = rt_webhook_budget(a->id);
    if (a->claiming || budget == 0) return;
    char key[64], count[24], idle[24];
    stream_key(a->id, key, sizeof key);
    snprintf(count, sizeof count, "%zu", budget);
    snprintf(idle, sizeof idle, "%u", WHQ_CLAIM_IDLE_MS);
    const char *argv[] = {"XAUTOCLAIM", key, GROUP, q.node, idle, "0-0", "COUNT", count};
    char *ref = rt_xstrdup(a->id); /* the qapp may be gone by the reply */
    if (rt_registry_command(on_claim, ref, 8, argv) != 0) {
        free(ref);
        return;
    }
    a->claiming = true;
}

struct touch {
    const char **argv;
    size_t n, cap;
};

static void add_entry(const char *entry, void *ctx)
{
    struct touch *t = ctx;
    if (t->n == t->cap) {
        t->cap *= 2;
        t->argv = rt_xrealloc(t->argv, t->cap * sizeof *t->argv);
    }
    t->argv[t->n++] = entry;
}

/* Resets the idle time of the requests this node holds (waiting for a retry), so that no other
 * node claims them. */
static void touch(struct qapp *a)
{
    char key[64];
    stream_key(a->id, key, sizeof key);
    struct touch t = {.cap = 16};
    t.argv = rt_xmalloc(t.cap * sizeof *t.argv);
    const char *head[] = {"XCLAIM", key, GROUP, q.node, "0"};
    for (size_t i = 0; i < 5; i++)
        add_entry(head[i], &t);
    rt_webhook_each_entry(a->id, add_entry, &t);
    if (t.n > 5) {
        add_entry("JUSTID", &t);
        rt_registry_command(NULL, NULL, t.n, t.argv);
    }
    free(t.argv);
}

/* ---- ticks ------------------------------------------------------------------------------------
 */

static void on_tick(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    char *app_id = privdata;
    redisReply *reply = r;
    struct qapp *a = NULL;
    HASH_FIND_STR(q.apps, app_id, a);
    if (q.started && !is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
        long long queued = int_of(reply->element[0]), events = int_of(reply->element[1]);
        rt_webhook_backlog(app_id, (size_t)(queued + events));
        if (a && queued > 0) read_more(a);
    }
    free(app_id);
}

static void tick(struct qapp *a)
{
    char *ref = rt_xstrdup(a->id); /* the qapp may be gone by the reply */
    if (eval(lua_tick, a->id, on_tick, ref, 0, NULL) != 0) free(ref);
}

static void on_early_tick(uv_timer_t *t)
{
    struct qapp *a = t->data;
    a->tick_due = 0;
    tick(a);
}

/* Ticks a in delay_ms, unless a tick is due sooner. */
static void tick_in(struct qapp *a, uint64_t delay_ms)
{
    uint64_t at = uv_now(q.loop) + delay_ms;
    if (a->tick_due && a->tick_due <= at) return;
    a->tick_due = at;
    uv_timer_start(&a->tick, on_early_tick, delay_ms, 0);
}

static void sweep_app(struct rt_app *app, void *ctx)
{
    bool claim_now = *(bool *)ctx;
    if (app->cfg->n_webhooks == 0) return;
    struct qapp *a = qapp_get(app->cfg->id);
    a->seen = true;
    tick(a);
    read_more(a);
    if (claim_now) {
        touch(a);
        claim(a);
    }
}

/* Every second: each app with webhooks is ticked (orphaned windows of nodes that died, held
 * events whose settle window ended) and read; every CLAIM_EVERY seconds idle requests are
 * claimed and ours refreshed. Apps without webhooks any more are forgotten. */
static void on_sweep(uv_timer_t *t)
{
    (void)t;
    if (!rt_registry_active()) return;
    bool claim_now = ++q.sweeps % CLAIM_EVERY == 0;
    struct qapp *a, *tmp;
    HASH_ITER(hh, q.apps, a, tmp)
    a->seen = false;
    rt_apps_each(sweep_app, &claim_now);
    HASH_ITER(hh, q.apps, a, tmp)
    if (!a->seen && !a->reading && !a->claiming) qapp_free(a);
}

/* ---- events --------------------------------------------------------------------------------- */

struct event_ctx {
    char app_id[RT_APP_ID_MAX + 1];
    int min_window_ms, settle_ms;
    size_t hooks;
};

static void on_event(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct event_ctx *e = privdata;
    redisReply *reply = r;
    if (!q.started || is_error(reply) || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        if (q.started && reply)
            rt_log_warn("app=%s webhooks: Redis refused an event: %s", e->app_id,
                        reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        free(e);
        return;
    }
    long long status = int_of(reply->element[0]), formed = int_of(reply->element[1]);
    struct qapp *a = qapp_get(e->app_id);
    if (status == -2) rt_webhook_queue_full(e->app_id, e->hooks ? e->hooks : 1);
    if (status == 1) tick_in(a, (uint64_t)e->settle_ms + 5);
    if (status == 0 && e->min_window_ms > 0) tick_in(a, (uint64_t)e->min_window_ms + 5);
    if (formed > 0) read_more(a);
    free(e);
}

int rt_whq_event(const char *app_id, char kind, const char *hold_id, const char *event_json,
                 const char *spec, int min_window_ms, int settle_ms, size_t app_max_pending)
{
    if (!q.started) return -1;
    struct event_ctx *e = rt_xcalloc(1, sizeof *e);
    snprintf(e->app_id, sizeof e->app_id, "%s", app_id);
    e->min_window_ms = min_window_ms;
    e->settle_ms = settle_ms;
    e->hooks = spec[0] ? 1 : 0;
    for (const char *p = spec; *p; p++)
        e->hooks += *p == ',';
    char k[2] = {kind, '\0'}, settle[16], maxp[24];
    snprintf(settle, sizeof settle, "%d", settle_ms);
    snprintf(maxp, sizeof maxp, "%zu", app_max_pending);
    const char *args[] = {k, hold_id, settle, maxp, event_json, spec};
    if (eval(lua_event, app_id, on_event, e, 6, args) != 0) {
        free(e);
        return -1;
    }
    return 0;
}

/* ---- outcomes ------------------------------------------------------------------------------ */

void rt_whq_delivered(const char *app_id, const char *entry, long long wid, const char *status)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", wid);
    const char *args[] = {entry, w, status ? status : ""};
    eval(lua_done, app_id, NULL, NULL, 3, args);
}

void rt_whq_dead(const char *app_id, const char *entry, long long wid, const char *status,
                 const char *record, int keep)
{
    char w[24], k[16];
    snprintf(w, sizeof w, "%lld", wid);
    snprintf(k, sizeof k, "%d", keep);
    const char *args[] = {entry, w, status, record, k};
    eval(lua_dead, app_id, NULL, NULL, 5, args);
}

void rt_whq_status(const char *app_id, long long wid, const char *status)
{
    char key[64], w[24];
    snprintf(key, sizeof key, "rt:{%s}:wh:st", app_id);
    snprintf(w, sizeof w, "%lld", wid);
    const char *argv[] = {"HSET", key, w, status};
    rt_registry_command(NULL, NULL, 4, argv);
}

/* ---- answers for the HTTP API -------------------------------------------------------------- */

struct query {
    uint64_t ctx;
    rt_whq_done *done;
};

static int ask(const char *lua, const char *app_id, rt_cluster_reply_fn *cb, uint64_t ctx,
               rt_whq_done *done, size_t argc, const char **args)
{
    struct query *qr = rt_xcalloc(1, sizeof *qr);
    qr->ctx = ctx;
    qr->done = done;
    int rc = lua ? eval(lua, app_id, cb, qr, argc, args) : rt_registry_command(cb, qr, argc, args);
    if (rc != 0) free(qr);
    return rc;
}

static void on_state(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct query *qr = privdata;
    redisReply *reply = r;
    json_t *out = NULL;
    if (!is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
        json_t *last = json_object();
        const redisReply *h = reply->element[0];
        for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
            if (h->element[i]->str && h->element[i + 1]->str)
                json_object_set_new(last, h->element[i]->str, json_string(h->element[i + 1]->str));
        out = json_pack("{s:o,s:I,s:I}", "last", last, "queued",
                        (json_int_t)int_of(reply->element[1]), "dead_letters",
                        (json_int_t)int_of(reply->element[2]));
    }
    qr->done(qr->ctx, out);
    free(qr);
}

int rt_whq_state(const char *app_id, uint64_t ctx, rt_whq_done *done)
{
    return ask(lua_state, app_id, on_state, ctx, done, 0, NULL);
}

static void on_failures(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct query *qr = privdata;
    redisReply *reply = r;
    json_t *out = NULL;
    if (!is_error(reply) && reply->type == REDIS_REPLY_ARRAY) {
        json_t *list = json_array();
        for (size_t i = 0; i < reply->elements; i++) {
            json_t *rec =
                reply->element[i]->str ? json_loads(reply->element[i]->str, 0, NULL) : NULL;
            if (json_is_object(rec))
                json_array_append_new(list, rec);
            else
                json_decref(rec);
        }
        out = json_pack("{s:o}", "failures", list);
    }
    qr->done(qr->ctx, out);
    free(qr);
}

int rt_whq_failures(const char *app_id, int limit, uint64_t ctx, rt_whq_done *done)
{
    char key[64], stop[16];
    snprintf(key, sizeof key, "rt:{%s}:wh:dead", app_id);
    snprintf(stop, sizeof stop, "%d", limit - 1);
    const char *argv[] = {"LRANGE", key, "0", stop};
    return ask(NULL, app_id, on_failures, ctx, done, 4, argv);
}

static void on_requeue(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct query *qr = privdata;
    redisReply *reply = r;
    json_t *out = NULL;
    if (!is_error(reply) && reply->type == REDIS_REPLY_INTEGER)
        out = json_pack("{s:I}", "requeued", (json_int_t)reply->integer);
    qr->done(qr->ctx, out);
    free(qr);
}

int rt_whq_requeue(const char *app_id, uint64_t ctx, rt_whq_done *done)
{
    int rc = ask(lua_requeue, app_id, on_requeue, ctx, done, 0, NULL);
    if (rc == 0) rt_whq_kick(app_id);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

void rt_whq_start(uv_loop_t *loop)
{
    if (q.started) return;
    q.loop = loop;
    snprintf(q.node, sizeof q.node, "%06u", rt_srv.cfg.node_id);
    uv_timer_init(loop, &q.sweep);
    uv_timer_start(&q.sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_unref((uv_handle_t *)&q.sweep);
    q.started = true;
}

void rt_whq_stop(void)
{
    if (!q.started) return;
    q.started = false;
    uv_timer_stop(&q.sweep);
    uv_close((uv_handle_t *)&q.sweep, NULL);
    struct qapp *a, *tmp;
    HASH_ITER(hh, q.apps, a, tmp)
    qapp_free(a);
}
