/* Cluster-wide subscription state in Redis (see registry.h). Every key of an app shares the
 * hash tag {app id}, and every key about nodes the tag {nodes}, so each script touches one slot
 * (on a Redis Cluster, one master) and declares a key of it as KEYS[1], by which it is routed:
 *
 *   rt:{A}:c:CH      hash  "NODE:SOCKET" -> user id ("" outside presence)   every subscription
 *   rt:{A}:m:CH      hash  user id -> sockets                                presence members
 *   rt:{A}:i:CH      hash  user id -> user_info JSON                         presence members
 *   rt:{A}:v:CH      counter, bumped by every member change                  presence version
 *   rt:{A}:chans     hash  channel -> subscriptions (occupied channels only)
 *   rt:{A}:uc        hash  presence channel -> members
 *   rt:{A}:node:N    set   channels where node N has (had) sockets           for the reaper
 *   rt:{A}:u:USER    hash  "NODE:SOCKET" -> 1                                signed-in sockets
 *   rt:{A}:unode:N   set   users with sockets on node N                      for the reaper
 *   rt:{A}:conns     hash  node -> connections                               quota totals
 *   rt:{nodes}:hb      hash  node -> heartbeat (Redis time, ms)
 *   rt:{nodes}:clock   hash  last: the last heartbeat; since: heartbeats run without a gap
 *   rt:{nodes}:id:N    the claim of a node id (token, expires unless refreshed)
 *   rt:{nodes}:apps:N  set   apps node N has state in (sent by the node itself, not by the
 *                            per-app scripts: another slot), for the reaper
 *   rt:{nodes}:reap:N  lock  the survivor reaping dead node N
 *
 * Per-app scripts get KEYS[1] = "rt:{A}:", the prefix of every key they touch (P).
 * Scripts return what changed (first/last member, occupied/vacated, new totals); the node that
 * ran the script publishes the resulting events over the cluster bus, so each transition is
 * announced exactly once (never from Lua: on a cluster, a script's PUBLISH reaches only the
 * clients of the master running it). */
#include "registry.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>
#include <uthash.h>
#include <uv.h>

#include "app.h"
#include "channel.h"
#include "cluster.h"
#include "conn.h"
#include "handlers.h"
#include "log.h"
#include "rt_alloc.h"
#include "rt_protocol.h"
#include "rt_transition.h"
#include "rt_user_data.h"
#include "server.h"
#include "user.h"

#define HEARTBEAT_MS 1000
#define DEAD_AFTER_MS 5000 /* a node silent this long is reaped (within the 10 s bound) */
#define HEARTBEAT_GAP_MS 2000 /* no heartbeat ran for this long: Redis was away */
#define CLAIM_TTL_MS 15000
#define HEAL_AFTER_MS 3000 /* after this node's resync, for the other nodes' resyncs */
#define RT_STRINGIFY2(x) #x
#define RT_STRINGIFY(x) RT_STRINGIFY2(x)

/* ---- Lua ---------------------------------------------------------------------------------
 * Shared helpers: add/remove one socket of a channel and report the transitions. */
#define LUA_HELPERS                                                                                \
    "local P = KEYS[1]\n"                                                                          \
    "local function version(ch)\n"                                                                 \
    "  local k = P .. 'v:' .. ch\n"                                                                \
    "  local v = redis.call('INCR', k)\n"                                                          \
    "  redis.call('EXPIRE', k, 86400)\n"                                                           \
    "  return v\n"                                                                                 \
    "end\n"                                                                                        \
    "local function add(node, ch, skey, user, info, max)\n"                                        \
    "  local c = P .. 'c:' .. ch\n"                                                                \
    "  if redis.call('HEXISTS', c, skey) == 1 then return 2, 0, 0 end\n"                           \
    "  local first, v = 0, 0\n"                                                                    \
    "  if user ~= '' then\n"                                                                       \
    "    local m = P .. 'm:' .. ch\n"                                                              \
    "    if not redis.call('HGET', m, user) then\n"                                                \
    "      if max > 0 and redis.call('HLEN', m) >= max then return 1, 0, 0 end\n"                  \
    "      first = 1\n"                                                                            \
    "      redis.call('HSET', P .. 'i:' .. ch, user, info)\n"                                      \
    "    end\n"                                                                                    \
    "    redis.call('HINCRBY', m, user, 1)\n"                                                      \
    "    v = version(ch)\n"                                                                        \
    "    redis.call('HSET', P .. 'uc', ch, redis.call('HLEN', m))\n"                               \
    "  end\n"                                                                                      \
    "  redis.call('HSET', c, skey, user)\n"                                                        \
    "  redis.call('HSET', P .. 'chans', ch, redis.call('HLEN', c))\n"                              \
    "  redis.call('SADD', P .. 'node:' .. node, ch)\n"                                             \
    "  return 0, first, v\n"                                                                       \
    "end\n"                                                                                        \
    "local function remove(ch, skey)\n"                                                            \
    "  local c = P .. 'c:' .. ch\n"                                                                \
    "  local user = redis.call('HGET', c, skey)\n"                                                 \
    "  if not user then return nil, 0, 0 end\n"                                                    \
    "  redis.call('HDEL', c, skey)\n"                                                              \
    "  local total = redis.call('HLEN', c)\n"                                                      \
    "  if total == 0 then redis.call('HDEL', P .. 'chans', ch)\n"                                  \
    "  else redis.call('HSET', P .. 'chans', ch, total) end\n"                                     \
    "  local last, v = 0, 0\n"                                                                     \
    "  if user ~= '' then\n"                                                                       \
    "    local m = P .. 'm:' .. ch\n"                                                              \
    "    if redis.call('HINCRBY', m, user, -1) <= 0 then\n"                                        \
    "      redis.call('HDEL', m, user)\n"                                                          \
    "      redis.call('HDEL', P .. 'i:' .. ch, user)\n"                                            \
    "      last = 1\n"                                                                             \
    "    end\n"                                                                                    \
    "    v = version(ch)\n"                                                                        \
    "    local mc = redis.call('HLEN', m)\n"                                                       \
    "    if mc == 0 then redis.call('HDEL', P .. 'uc', ch)\n"                                      \
    "    else redis.call('HSET', P .. 'uc', ch, mc) end\n"                                         \
    "  end\n"                                                                                      \
    "  return user, last, v\n"                                                                     \
    "end\n"                                                                                        \
    "local function total(ch) return redis.call('HLEN', P .. 'c:' .. ch) end\n"

/* ARGV: app, node, channel, socket, user ("" = not presence), user_info, max members.
 * Returns {status (0 added, 1 presence full, 2 already), total, first, version, {user, info,
 * ...} when presence}. */
static const char lua_subscribe[] =
    LUA_HELPERS "local node, ch = ARGV[2], ARGV[3]\n"
                "local st, first, v = add(node, ch, node .. ':' .. ARGV[4], ARGV[5], ARGV[6], "
                "tonumber(ARGV[7]))\n"
                "local snap = {}\n"
                "if st ~= 1 and ARGV[5] ~= '' then\n"
                "  snap = redis.call('HGETALL', P .. 'i:' .. ch)\n"
                "  v = tonumber(redis.call('GET', P .. 'v:' .. ch) or '0')\n"
                "end\n"
                "return {st, total(ch), first, v, snap}\n";

/* ARGV: app, node, channel, socket. Returns {removed (0/1), total, last, version, user}. */
static const char lua_unsubscribe[] =
    LUA_HELPERS "local node, ch = ARGV[2], ARGV[3]\n"
                "local user, last, v = remove(ch, node .. ':' .. ARGV[4])\n"
                "if not user then return {0} end\n"
                "return {1, total(ch), last, v, user}\n";

/* Makes node's part of app equal to what the node holds (after a Redis outage), or empty
 * (reaping a dead node). ARGV: app, node, then per channel: name, highest member-list version
 * the node has seen (the channel's version never goes below it, so that versions keep rising
 * when Redis restarts empty), n, n x (socket, user, info). Returns per channel {name, total
 * after, {'+'|'-', user, version, info}..., total before}. */
static const char lua_resync[] = LUA_HELPERS
    "local node = ARGV[2]\n"
    "local want, chans, order = {}, {}, {}\n"
    "local i = 3\n"
    "while i <= #ARGV do\n"
    "  local ch, seen, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])\n"
    "  local vk = P .. 'v:' .. ch\n"
    "  if seen > 0 and tonumber(redis.call('GET', vk) or '0') < seen then\n"
    "    redis.call('SET', vk, seen, 'EX', 86400)\n"
    "  end\n"
    "  want[ch] = {}\n"
    "  if not chans[ch] then chans[ch] = true; order[#order + 1] = ch end\n"
    "  for j = 0, n - 1 do\n"
    "    local b = i + 3 + j * 3\n"
    "    want[ch][node .. ':' .. ARGV[b]] = {ARGV[b + 1], ARGV[b + 2]}\n"
    "  end\n"
    "  i = i + 3 + n * 3\n"
    "end\n"
    "for _, ch in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do\n"
    "  if not chans[ch] then chans[ch] = true; order[#order + 1] = ch end\n"
    "end\n"
    "redis.call('DEL', P .. 'node:' .. node)\n"
    "local out = {}\n"
    "local prefix = node .. ':'\n"
    "for _, ch in ipairs(order) do\n"
    "  local changes = {}\n"
    "  local w = want[ch] or {}\n"
    "  local before = total(ch)\n"
    "  local have = redis.call('HGETALL', P .. 'c:' .. ch)\n"
    "  for k = 1, #have, 2 do\n"
    "    local skey = have[k]\n"
    "    if string.sub(skey, 1, #prefix) == prefix and not w[skey] then\n"
    "      local user, last, v = remove(ch, skey)\n"
    "      if user and last == 1 then changes[#changes + 1] = {'-', user, v, ''} end\n"
    "    end\n"
    "  end\n"
    "  for skey, m in pairs(w) do\n"
    "    local st, first, v = add(node, ch, skey, m[1], m[2], 0)\n"
    "    if st == 0 and first == 1 then changes[#changes + 1] = {'+', m[1], v, m[2]} end\n"
    "  end\n"
    "  out[#out + 1] = {ch, total(ch), changes, before}\n"
    "end\n"
    "return out\n";

/* ARGV: app, node, user, socket, on (1 sign-in / 0 sign-out). Returns 1 when the user came
 * online (first socket) or went offline (last socket) cluster-wide, else 0. */
static const char lua_user[] =
    "local P = KEYS[1]\n"
    "local node, user, skey = ARGV[2], ARGV[3], ARGV[2] .. ':' .. ARGV[4]\n"
    "local k = P .. 'u:' .. user\n"
    "if ARGV[5] == '1' then\n"
    "  if redis.call('HSET', k, skey, 1) == 0 then return 0 end\n"
    "  redis.call('SADD', P .. 'unode:' .. node, user)\n"
    "  return redis.call('HLEN', k) == 1 and 1 or 0\n"
    "end\n"
    "if redis.call('HDEL', k, skey) == 0 then return 0 end\n"
    "return redis.call('HLEN', k) == 0 and 1 or 0\n";

/* ARGV: app, node, then pairs (user, socket) the node holds. Returns {'online'|'offline',
 * user, ...} for users whose cluster-wide state changed. */
static const char lua_users_resync[] =
    "local node = ARGV[2]\n"
    "local P = KEYS[1]\n"
    "local prefix = node .. ':'\n"
    "local want, users = {}, {}\n"
    "for i = 3, #ARGV, 2 do\n"
    "  want[ARGV[i]] = want[ARGV[i]] or {}\n"
    "  want[ARGV[i]][prefix .. ARGV[i + 1]] = true\n"
    "  users[ARGV[i]] = true\n"
    "end\n"
    "for _, u in ipairs(redis.call('SMEMBERS', P .. 'unode:' .. node)) do users[u] = true end\n"
    "redis.call('DEL', P .. 'unode:' .. node)\n"
    "local out = {}\n"
    "for u, _ in pairs(users) do\n"
    "  local k = P .. 'u:' .. u\n"
    "  local before = redis.call('HLEN', k)\n"
    "  local have = redis.call('HKEYS', k)\n"
    "  for _, s in ipairs(have) do\n"
    "    if string.sub(s, 1, #prefix) == prefix and not (want[u] and want[u][s]) then\n"
    "      redis.call('HDEL', k, s)\n"
    "    end\n"
    "  end\n"
    "  for s, _ in pairs(want[u] or {}) do redis.call('HSET', k, s, 1) end\n"
    "  if want[u] then redis.call('SADD', P .. 'unode:' .. node, u) end\n"
    "  local after = redis.call('HLEN', k)\n"
    "  if before == 0 and after > 0 then out[#out + 1] = 'online'; out[#out + 1] = u end\n"
    "  if before > 0 and after == 0 then out[#out + 1] = 'offline'; out[#out + 1] = u end\n"
    "end\n"
    "return out\n";

/* KEYS: rt:{nodes}:hb, rt:{nodes}:id:N, rt:{nodes}:clock. ARGV: node, token. Claims or
 * refreshes the node id; records the heartbeat in Redis time. Returns {claimed (0/1), live
 * nodes, {dead node, ...}, 1 when the node had no heartbeat entry (first beat, or reaped
 * meanwhile)}.
 * A stale heartbeat means a dead node only while the others' heartbeats arrive: when Redis ran
 * none for HEARTBEAT_GAP_MS (it was stopped, unreachable, restarted, or a replica took over
 * with the old times), every node looks silent although they are alive, and reaping them would
 * tell every client they left until their resyncs bring them back. So the clock key keeps when
 * the last heartbeat ran and since when they have run without such a gap; nobody is taken for
 * dead until that has lasted DEAD_AFTER_MS, time for every live node to beat again (its
 * reconnect back-off is at most 2.5 s). */
/* clang-format off */
static const char lua_heartbeat[] =
    "local node, token = ARGV[1], ARGV[2]\n"
    "local cur = redis.call('GET', KEYS[2])\n"
    "if cur and cur ~= token then return {0, 0, {}} end\n"
    "redis.call('SET', KEYS[2], token, 'PX', " RT_STRINGIFY(CLAIM_TTL_MS) ")\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local last = tonumber(redis.call('HGET', KEYS[3], 'last') or '0')\n"
    "local since = tonumber(redis.call('HGET', KEYS[3], 'since') or '0')\n"
    "if now - last > " RT_STRINGIFY(HEARTBEAT_GAP_MS) " then\n"
    "  since = now\n"
    "  redis.call('HSET', KEYS[3], 'since', now)\n"
    "end\n"
    "redis.call('HSET', KEYS[3], 'last', now)\n"
    "local judging = now - since > " RT_STRINGIFY(DEAD_AFTER_MS) "\n"
    "local fresh = redis.call('HSET', KEYS[1], node, now)\n"
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "local live, dead = 0, {}\n"
    "for i = 1, #all, 2 do\n"
    "  if judging and now - tonumber(all[i + 1]) > " RT_STRINGIFY(DEAD_AFTER_MS) " then\n"
    "    dead[#dead + 1] = all[i]\n"
    "  else live = live + 1 end\n"
    "end\n"
    "return {1, live, dead, fresh}\n";
/* clang-format on */

/* The keys about nodes: one hash tag, one slot (one master of a Redis Cluster). */
#define NODES_HB_KEY "rt:{nodes}:hb"
#define NODES_CLOCK_KEY "rt:{nodes}:clock"
#define NODE_KEY_MAX 48

/* Writes "rt:{nodes}:<what>:<node>" (what: "id", "apps" or "reap") into out. */
static void node_key(char out[NODE_KEY_MAX], const char *what, const char *node)
{
    snprintf(out, NODE_KEY_MAX, "rt:{nodes}:%s:%s", what, node);
}

/* "rt:{APP}:", KEYS[1] of every per-app script: the prefix of each key it touches, so that the
 * script runs on the master of the app's slot. */
#define APP_PREFIX_MAX (RT_APP_ID_MAX + 8)

static void app_prefix(char out[APP_PREFIX_MAX], const char *app_id)
{
    snprintf(out, APP_PREFIX_MAX, "rt:{%s}:", app_id);
}

static int command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv);

/* ---- state --------------------------------------------------------------------------------- */

static struct {
    bool started, claimed, claim_reported;
    char node[16];
    char token[33];
    uv_timer_t heartbeat;
    uv_timer_t heal; /* after this node's resync: compare member views with Redis */
    uint64_t claim_started_ms;
    unsigned live_nodes;
    bool resync_due; /* Redis came back: re-publish this node's state */
} reg;

bool rt_registry_clustered(void)
{
    return rt_srv.cfg.redis_url != NULL;
}

bool rt_registry_active(void)
{
    return rt_registry_clustered() && rt_cluster_connected() && reg.claimed;
}

unsigned rt_registry_nodes(void)
{
    return rt_registry_active() && reg.live_nodes > 0 ? reg.live_nodes : 1;
}

/* ---- commands ---------------------------------------------------------------------------
 * Scripts go to Redis once per connection (SCRIPT LOAD, sent on the same connection before the
 * first EVALSHA that needs it, so it is always there in time; a restarted Redis gets them again
 * after the reconnect) and are then called by their SHA-1: a subscribe sends its arguments,
 * not 3 KB of Lua. */

static struct {
    const char *text;
    char sha[41];
    unsigned loaded_gen; /* connection generation it was loaded on */
} scripts[32];
static size_t n_scripts;
static unsigned conn_gen = 1;

int rt_registry_command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv)
{
    if (argc < 2 || strcmp(argv[0], "EVAL") != 0)
        return rt_cluster_command(cb, privdata, argc, argv);
    size_t i = 0;
    while (i < n_scripts && strcmp(scripts[i].text, argv[1]) != 0)
        i++;
    if (i == n_scripts) {
        if (n_scripts == sizeof scripts / sizeof scripts[0])
            return rt_cluster_command(cb, privdata, argc, argv); /* cannot happen: fixed set */
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(argv[1], strlen(argv[1]), md, &mdlen, EVP_sha1(), NULL);
        sodium_bin2hex(scripts[i].sha, sizeof scripts[i].sha, md, mdlen);
        scripts[i].text = argv[1];
        n_scripts++;
    }
    if (scripts[i].loaded_gen != conn_gen) {
        const char *load[] = {"SCRIPT", "LOAD", argv[1]};
        if (rt_cluster_command(NULL, NULL, 3, load) != 0) return -1;
        scripts[i].loaded_gen = conn_gen;
    }
    const char *stack[64];
    const char **v = argc <= 64 ? stack : rt_xmalloc(argc * sizeof *v);
    memcpy(v, argv, argc * sizeof *v);
    v[0] = "EVALSHA";
    v[1] = scripts[i].sha;
    int rc = rt_cluster_command(cb, privdata, argc, v);
    if (v != stack) free(v);
    return rc;
}

static int command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv)
{
    return rt_registry_command(cb, privdata, argc, argv);
}

/* ---- the apps this node has state in ------------------------------------------------------
 * rt:{nodes}:apps:N tells the reaper of this node which apps to clear. The node adds an app
 * itself (a per-app script cannot: another slot), sent before the first script that gives it
 * state there, once per app and Redis connection (a Redis restarted empty needs it again). */

struct noted_app {
    char id[RT_APP_ID_MAX + 1];
    UT_hash_handle hh;
};
static struct noted_app *noted_apps;
static unsigned noted_gen; /* connection generation the set was sent on */

static void noted_apps_clear(void)
{
    struct noted_app *n, *tmp;
    HASH_ITER(hh, noted_apps, n, tmp)
    {
        HASH_DEL(noted_apps, n);
        free(n);
    }
}

static void note_app(const char *app_id)
{
    if (!reg.started) return; /* stopping: nothing is reaped after this node any more */
    if (noted_gen != conn_gen) {
        noted_apps_clear();
        noted_gen = conn_gen;
    }
    struct noted_app *n;
    HASH_FIND_STR(noted_apps, app_id, n);
    if (n) return;
    char key[NODE_KEY_MAX];
    node_key(key, "apps", reg.node);
    const char *argv[] = {"SADD", key, app_id};
    if (command(NULL, NULL, 3, argv) != 0) return; /* not connected: no state is sent either */
    n = rt_xcalloc(1, sizeof *n);
    snprintf(n->id, sizeof n->id, "%s", app_id);
    HASH_ADD_STR(noted_apps, id, n);
}

/* ---- replies ---------------------------------------------------------------------------- */

static long long int_at(const redisReply *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements) return 0;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER) return e->integer;
    if (e->type == REDIS_REPLY_STRING) return atoll(e->str);
    return 0;
}

static const redisReply *at(const redisReply *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements) return NULL;
    return r->element[i];
}

static bool is_error(const redisReply *r)
{
    if (!r) return true;
    if (r->type == REDIS_REPLY_ERROR) {
        rt_log_warn("cluster: Redis script error: %.200s", r->str);
        return true;
    }
    return false;
}

/* Identifies an async operation by value: a reply may arrive after the connection, the
 * channel or even the app is gone (architecture note: no raw pointers across a round trip). */
struct pending_op {
    char app_id[RT_APP_ID_MAX + 1];
    char channel[RT_CHANNEL_NAME_MAX + 1];
    char socket_id[RT_SOCKET_ID_MAX + 1];
    char user_id[RT_USER_ID_MAX + 1];
    bool presence;
    bool reap;       /* a resync for a dead node (not this node's own) */
    bool announce;   /* count reads: a change of this node's (webhook, other nodes told) */
    char *user_info; /* presence joins: the member's info, for member_added */
    int max_members; /* presence joins: the app's member limit */
    uint64_t ctx;
    rt_registry_done done;
};

static void op_free(struct pending_op *op)
{
    free(op->user_info);
    free(op);
}

static struct pending_op *op_new(const struct rt_app *app, const char *channel,
                                 const char *socket_id)
{
    struct pending_op *op = rt_xcalloc(1, sizeof *op);
    snprintf(op->app_id, sizeof op->app_id, "%s", app->cfg->id);
    if (channel) snprintf(op->channel, sizeof op->channel, "%s", channel);
    if (socket_id) snprintf(op->socket_id, sizeof op->socket_id, "%s", socket_id);
    return op;
}

/* Growable argv for commands with many arguments. */
struct argv_buf {
    const char **v;
    size_t n, cap;
    char **owned; /* strings to free afterwards */
    size_t n_owned, cap_owned;
};

static void argv_push(struct argv_buf *a, const char *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = rt_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = s;
}

static const char *argv_own(struct argv_buf *a, char *s)
{
    if (a->n_owned == a->cap_owned) {
        a->cap_owned = a->cap_owned ? a->cap_owned * 2 : 16;
        a->owned = rt_xrealloc(a->owned, a->cap_owned * sizeof *a->owned);
    }
    a->owned[a->n_owned++] = s;
    return s;
}

static void argv_free(struct argv_buf *a)
{
    for (size_t i = 0; i < a->n_owned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->v);
}

/* ---- events decided here ---------------------------------------------------------------- */

/* pusher_internal:member_added (with user_info, compact JSON or NULL) or member_removed. */
static struct rt_frame *member_frame(const char *channel, bool added, const char *user_id,
                                     const char *user_info)
{
    json_t *data;
    if (added) {
        json_t *info = user_info && *user_info ? json_loads(user_info, 0, NULL) : NULL;
        data = json_pack("{s:s,s:o}", "user_id", user_id, "user_info", info ? info : json_null());
    } else {
        data = json_pack("{s:s}", "user_id", user_id);
    }
    return rt_frame_json_event(
        added ? "pusher_internal:member_added" : "pusher_internal:member_removed", channel, data);
}

/* Publishes a member event decided by a script. local: this node's subscribers are told too
 * (false after this node's own resync: they already saw the change, with local semantics,
 * while Redis was unreachable). */
static void announce_member_to(struct rt_app *app, const char *channel, bool added,
                               const char *user_id, const char *user_info, uint64_t version,
                               const char *except, bool local)
{
    struct rt_frame *f = member_frame(channel, added, user_id, user_info);
    if (!f) return;
    if (local)
        rt_registry_member_event(app, channel, version, f, except);
    else
        rt_channel_remember_member_event_by_name(app, channel, version, f, except);
    rt_cluster_publish_member(app, channel, except, version, f);
    rt_frame_unref(f);
    if (added)
        rt_transition_member(RT_TRANSITION_MEMBER_ADDED, app, channel, user_id);
    else
        rt_transition_member(RT_TRANSITION_MEMBER_REMOVED, app, channel, user_id);
}

static void announce_member(struct rt_app *app, const char *channel, bool added,
                            const char *user_id, const char *user_info, uint64_t version,
                            const char *except)
{
    announce_member_to(app, channel, added, user_id, user_info, version, except, true);
}

/* A new cluster total for a channel: occupied/vacated webhooks (decided once: only the node
 * whose script saw the transition gets here with it) and the subscription_count broadcast. */
static void announce_total(struct rt_app *app, const char *channel, long long total, bool occupied,
                           bool vacated, bool presence)
{
    if (occupied) rt_transition_channel(RT_TRANSITION_OCCUPIED, app, channel);
    if (vacated) rt_transition_channel(RT_TRANSITION_VACATED, app, channel);
    if (presence || total <= 0) return;
    rt_channel_cluster_count(app, channel);
}

/* ---- channels ----------------------------------------------------------------------------- */

static void on_subscribed(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    struct rt_conn *c = rt_conn_by_socket_id(op->socket_id);
    struct rt_sub *s = NULL;
    if (c && c->app == app) HASH_FIND_STR(c->subs, op->channel, s);
    if (!app || is_error(reply)) {
        /* Redis went away mid-join: answer from this node's own state (degraded). */
        if (s && s->pending) rt_handle_presence_joined(c, s, NULL, false);
        op_free(op);
        return;
    }
    long long status = int_at(reply, 0), total = int_at(reply, 1), first = int_at(reply, 2);
    uint64_t version = (uint64_t)int_at(reply, 3);
    if (status == 1) { /* presence channel full, cluster-wide */
        if (s && s->pending) rt_handle_presence_joined(c, s, NULL, true);
        op_free(op);
        return;
    }
    if (status == 0) announce_total(app, op->channel, total, total == 1, false, op->presence);
    if (op->presence && s && s->pending) {
        /* The member list as of `version`: later events are delivered on top of it. */
        const redisReply *snap = at(reply, 4);
        json_t *ids = json_array(), *hash = json_object();
        size_t n = snap ? snap->elements / 2 : 0;
        const char **view = rt_xcalloc(n + 1, sizeof *view);
        for (size_t i = 0; snap && i + 1 < snap->elements; i += 2) {
            const char *uid = snap->element[i]->str, *info = snap->element[i + 1]->str;
            view[i / 2] = uid;
            json_array_append_new(ids, json_string(uid));
            json_t *v = info && *info ? json_loads(info, 0, NULL) : NULL;
            json_object_set_new(hash, uid, v ? v : json_null());
        }
        json_t *root = json_pack("{s:{s:I,s:o,s:o}}", "presence", "count",
                                 (json_int_t)json_array_size(ids), "ids", ids, "hash", hash);
        char *text = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        rt_channel_view_load(s->channel, view, n, version);
        free(view);
        s->presence_version = version;
        rt_handle_presence_joined(c, s, text, false);
        free(text);
    }
    if (status == 0 && op->presence && first)
        announce_member(app, op->channel, true, op->user_id, op->user_info, version, op->socket_id);
    op_free(op);
}

static void send_subscribed(struct rt_conn *c, struct rt_sub *s, struct pending_op *op)
{
    char max[16], prefix[APP_PREFIX_MAX];
    snprintf(max, sizeof max, "%d", op->max_members);
    app_prefix(prefix, c->app->cfg->id);
    note_app(c->app->cfg->id);
    const char *argv[] = {"EVAL",
                          lua_subscribe,
                          "1",
                          prefix,
                          c->app->cfg->id,
                          reg.node,
                          s->channel->name,
                          c->socket_id,
                          op->presence ? s->user_id : "",
                          op->user_info ? op->user_info : "",
                          max};
    bool presence = op->presence;
    if (command(on_subscribed, op, sizeof argv / sizeof argv[0], argv) != 0) {
        op_free(op);
        if (presence) rt_handle_presence_joined(c, s, NULL, false);
        return;
    }
    if (presence) s->pending = true;
}

/* The channel's route is subscribed (or Redis went away): the join reads the member list only
 * now, so every member event published after that list reaches this node (cluster.h). */
static void subscribe_when_routed(void *arg)
{
    struct pending_op *op = arg;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    struct rt_conn *c = rt_conn_by_socket_id(op->socket_id);
    struct rt_sub *s = NULL;
    if (c && c->app == app) HASH_FIND_STR(c->subs, op->channel, s);
    if (!s || !s->pending) { /* left while waiting */
        op_free(op);
        return;
    }
    send_subscribed(c, s, op);
}

void rt_registry_subscribed(struct rt_conn *c, struct rt_sub *s, const char *user_info,
                            int max_members)
{
    bool presence = s->user_id != NULL;
    struct pending_op *op = op_new(c->app, s->channel->name, c->socket_id);
    op->presence = presence;
    op->max_members = max_members;
    if (presence) {
        snprintf(op->user_id, sizeof op->user_id, "%s", s->user_id);
        op->user_info = user_info ? rt_xstrdup(user_info) : NULL;
        if (rt_cluster_route_pending(c->app, s->channel->name, subscribe_when_routed, op)) {
            s->pending = true;
            return;
        }
    }
    send_subscribed(c, s, op);
}

static void on_unsubscribed(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    if (app && !is_error(reply) && int_at(reply, 0) == 1) {
        long long total = int_at(reply, 1), last = int_at(reply, 2);
        uint64_t version = (uint64_t)int_at(reply, 3);
        const redisReply *user = at(reply, 4);
        announce_total(app, op->channel, total, false, total == 0, op->presence);
        if (last && user && user->type == REDIS_REPLY_STRING && user->len)
            announce_member(app, op->channel, false, user->str, NULL, version, NULL);
    }
    op_free(op);
}

void rt_registry_unsubscribed(struct rt_app *app, const char *channel, const char *socket_id,
                              bool presence)
{
    struct pending_op *op = op_new(app, channel, socket_id);
    op->presence = presence;
    char prefix[APP_PREFIX_MAX];
    app_prefix(prefix, app->cfg->id);
    const char *argv[] = {"EVAL",       lua_unsubscribe, "1",     prefix,
                          app->cfg->id, reg.node,        channel, socket_id};
    if (command(on_unsubscribed, op, sizeof argv / sizeof argv[0], argv) != 0)
        op_free(op); /* the resync after the outage settles it */
}

/* ---- subscription counts ------------------------------------------------------------------ */

/* Every node reads the total itself: a total sent from node to node could be overtaken by an
 * older one from another node and stay the last one shown in a quiet channel. The other nodes
 * are told only after this node's read has run, so each of their reads comes later in Redis's
 * order and sees at least this change. */
static void on_count(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    if (app && !is_error(reply) && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        if (op->announce) {
            rt_transition_count(app, op->channel, (size_t)reply->integer);
            rt_cluster_publish_count_changed(app, op->channel);
        }
        rt_channel_deliver_count(app, op->channel, (size_t)reply->integer);
    }
    op_free(op);
}

void rt_registry_read_count(struct rt_app *app, const char *channel, bool announce)
{
    char key[APP_PREFIX_MAX + RT_CHANNEL_NAME_MAX + 2];
    snprintf(key, sizeof key, "rt:{%s}:c:%s", app->cfg->id, channel);
    struct pending_op *op = op_new(app, channel, NULL);
    op->announce = announce;
    const char *argv[] = {"HLEN", key};
    if (command(on_count, op, 2, argv) != 0) op_free(op);
}

/* ---- member events on this node ------------------------------------------------------------ */

void rt_registry_member_event(struct rt_app *app, const char *channel, uint64_t version,
                              struct rt_frame *f, const char *except)
{
    struct rt_channel *ch = rt_channel_find(app, channel);
    if (!ch) return;
    rt_channel_remember_member_event(ch, version, f, except);
    /* Joined subscribers hear only what changes the view: a member re-announced by a node's
     * resync after a Redis restart is not news to them. Pending joins replay from the ring. */
    bool added;
    char user[RT_USER_ID_MAX + 1];
    if (rt_member_event_parse(f, &added, user, sizeof user) &&
        !rt_channel_view_apply(ch, added, user))
        return;
    struct rt_sub *s;
    DL_FOREACH(ch->subs, s)
    {
        if (s->pending || (version && version <= s->presence_version)) continue;
        if (except && strcmp(s->conn->socket_id, except) == 0) continue;
        rt_conn_send(s->conn, f);
    }
}

/* ---- users -------------------------------------------------------------------------------- */

static void on_user(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    if (app && !is_error(reply) && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        const char *what = op->presence ? "online" : "offline";
        rt_user_notify_watchers(app, op->user_id, what);
        rt_cluster_publish_watchlist(app, op->user_id, what);
    }
    op_free(op);
}

static void user_change(struct rt_app *app, const char *user_id, const char *socket_id, bool online)
{
    struct pending_op *op = op_new(app, NULL, socket_id);
    snprintf(op->user_id, sizeof op->user_id, "%s", user_id);
    op->presence = online; /* reused: which way */
    char prefix[APP_PREFIX_MAX];
    app_prefix(prefix, app->cfg->id);
    if (online) note_app(app->cfg->id);
    const char *argv[] = {"EVAL",  lua_user,     "1",
                          prefix,  app->cfg->id, reg.node,
                          user_id, socket_id,    online ? "1" : "0"};
    if (command(on_user, op, sizeof argv / sizeof argv[0], argv) != 0) op_free(op);
}

void rt_registry_user_online(struct rt_conn *c)
{
    user_change(c->app, c->user_id, c->socket_id, true);
}

void rt_registry_user_offline(struct rt_app *app, const char *user_id, const char *socket_id)
{
    user_change(app, user_id, socket_id, false);
}

static void on_watchlist(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_conn *c = rt_conn_by_socket_id(op->socket_id);
    if (c && !is_error(reply) && reply->type == REDIS_REPLY_ARRAY) {
        json_t *online = json_array(), *offline = json_array();
        for (size_t i = 0; i + 1 < reply->elements; i += 2)
            json_array_append_new(int_at(reply, i + 1) > 0 ? online : offline,
                                  json_string(reply->element[i]->str));
        rt_user_send_watchlist_lists(c, online, offline);
        json_decref(online);
        json_decref(offline);
    }
    op_free(op);
}

void rt_registry_watchlist_state(struct rt_conn *c)
{
    static const char lua[] = "local out = {}\n"
                              "for i = 2, #ARGV do\n"
                              "  out[#out + 1] = ARGV[i]\n"
                              "  out[#out + 1] = redis.call('HLEN', KEYS[1] .. 'u:' .. ARGV[i])\n"
                              "end\n"
                              "return out\n";
    char prefix[APP_PREFIX_MAX];
    app_prefix(prefix, c->app->cfg->id);
    struct argv_buf a = {0};
    argv_push(&a, "EVAL");
    argv_push(&a, lua);
    argv_push(&a, "1");
    argv_push(&a, prefix);
    argv_push(&a, c->app->cfg->id);
    for (size_t i = 0; i < c->watchlist_len; i++)
        argv_push(&a, c->watchlist[i]);
    struct pending_op *op = op_new(c->app, NULL, c->socket_id);
    if (command(on_watchlist, op, a.n, a.v) != 0) op_free(op);
    argv_free(&a);
}

/* ---- heal after an outage ---------------------------------------------------------------- */

/* ARGV: app, channel. Returns {version, {user, info, ...}}: the member list and its version,
 * read in one step. */
static const char lua_members[] =
    "local P = KEYS[1]\n"
    "return {tonumber(redis.call('GET', P .. 'v:' .. ARGV[2]) or '0'),\n"
    "        redis.call('HGETALL', P .. 'i:' .. ARGV[2])}\n";

/* Sends f to the channel's subscribers that have their member list (a pending join gets the
 * cluster's list when it arrives). */
static void deliver_to_joined(struct rt_channel *ch, struct rt_frame *f)
{
    struct rt_sub *s;
    DL_FOREACH(ch->subs, s)
    {
        if (!s->pending) rt_conn_send(s->conn, f);
    }
}

static void collect_view(struct rt_channel *ch, const char *user_id, void *ctx)
{
    (void)ch;
    json_array_append_new(ctx, json_string(user_id));
}

static void on_heal_members(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    struct rt_channel *ch = app ? rt_channel_find(app, op->channel) : NULL;
    const redisReply *list = at(reply, 1);
    /* A member event newer than this list already reached the view: the list is stale. */
    if (!ch || !ch->view_ready || is_error(reply) || !list || list->type != REDIS_REPLY_ARRAY ||
        (uint64_t)int_at(reply, 0) < ch->max_version) {
        op_free(op);
        return;
    }
    json_t *now = json_object(), *told = json_array();
    for (size_t i = 0; i + 1 < list->elements; i += 2)
        json_object_set_new(now, list->element[i]->str, json_string(list->element[i + 1]->str));
    rt_channel_view_each(ch, collect_view, told);
    size_t i, gone = 0, came = 0;
    json_t *id;
    json_array_foreach(told, i, id)
    {
        const char *uid = json_string_value(id);
        if (json_object_get(now, uid)) continue;
        rt_channel_view_apply(ch, false, uid);
        struct rt_frame *f = member_frame(ch->name, false, uid, NULL);
        deliver_to_joined(ch, f);
        rt_frame_unref(f);
        gone++;
    }
    const char *uid;
    json_t *info;
    json_object_foreach(now, uid, info)
    {
        if (!rt_channel_view_apply(ch, true, uid)) continue;
        struct rt_frame *f = member_frame(ch->name, true, uid, json_string_value(info));
        deliver_to_joined(ch, f);
        rt_frame_unref(f);
        came++;
    }
    if (gone || came)
        rt_log_info("cluster: healed %s/%s after the outage: %zu member(s) removed, %zu added",
                    app->cfg->id, ch->name, gone, came);
    json_decref(now);
    json_decref(told);
    op_free(op);
}

static void heal_app(struct rt_app *app, void *ctx)
{
    (void)ctx;
    struct rt_channel *ch, *tmp;
    HASH_ITER(hh, app->channels, ch, tmp)
    {
        if (ch->kind.type != RT_CHANNEL_PRESENCE || !ch->view_ready) continue;
        struct pending_op *op = op_new(app, ch->name, NULL);
        char prefix[APP_PREFIX_MAX];
        app_prefix(prefix, app->cfg->id);
        const char *argv[] = {"EVAL", lua_members, "1", prefix, app->cfg->id, ch->name};
        if (command(on_heal_members, op, 6, argv) != 0) op_free(op);
    }
}

static void heal_all(uv_timer_t *t)
{
    (void)t;
    if (rt_registry_active()) rt_apps_each(heal_app, NULL);
}

/* ---- resync and reaping ------------------------------------------------------------------- */

/* Applies what a resync script reports: member events, totals, webhooks. */
static void on_resynced(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    if (!app || is_error(reply) || reply->type != REDIS_REPLY_ARRAY) {
        op_free(op);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        const redisReply *name = at(e, 0), *changes = at(e, 2);
        if (!name || name->type != REDIS_REPLY_STRING) continue;
        long long total = int_at(e, 1);
        bool presence = rt_channel_kind_of(rt_str_c(name->str)).type == RT_CHANNEL_PRESENCE;
        for (size_t k = 0; changes && k < changes->elements; k++) {
            const redisReply *ch = changes->element[k];
            const redisReply *sign = at(ch, 0), *user = at(ch, 1), *info = at(ch, 3);
            if (!sign || !user || sign->type != REDIS_REPLY_STRING) continue;
            announce_member_to(app, name->str, sign->str[0] == '+', user->str,
                               info && info->type == REDIS_REPLY_STRING ? info->str : NULL,
                               (uint64_t)int_at(ch, 2), NULL, op->reap);
        }
        /* Only what this resync changed is announced (occupied/vacated once, as ever). */
        long long before = int_at(e, 3);
        if (before != total)
            announce_total(app, name->str, total, before == 0 && total > 0,
                           before > 0 && total == 0, presence);
    }
    /* The other nodes resync too, each as its connection comes back: once they have, compare
     * what this node's subscribers were told with the cluster's member lists. */
    if (!op->reap) uv_timer_start(&reg.heal, heal_all, HEAL_AFTER_MS, 0);
    op_free(op);
}

static void on_users_resynced(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    for (size_t i = 0;
         app && !is_error(reply) && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
         i += 2) {
        const char *what = reply->element[i]->str, *user = reply->element[i + 1]->str;
        if (op->reap) /* after its own resync, this node's watchers already know */
            rt_user_notify_watchers(app, user, what);
        rt_cluster_publish_watchlist(app, user, what);
    }
    op_free(op);
}

/* Sends node's view of app's channels and users (node = this node: what it holds; another
 * node: nothing, i.e. reap it). */
static void resync_app(struct rt_app *app, const char *node, bool mine)
{
    char prefix[APP_PREFIX_MAX];
    app_prefix(prefix, app->cfg->id);
    struct argv_buf a = {0};
    argv_push(&a, "EVAL");
    argv_push(&a, lua_resync);
    argv_push(&a, "1");
    argv_push(&a, prefix);
    argv_push(&a, app->cfg->id);
    argv_push(&a, node);
    const size_t head = a.n; /* arguments past it: state this node holds */
    struct rt_channel *ch, *tmp;
    HASH_ITER(hh, app->channels, ch, tmp)
    {
        if (!mine || ch->kind.type == RT_CHANNEL_SERVER_TO_USER) continue;
        argv_push(&a, ch->name);
        char *seen = NULL;
        if (asprintf(&seen, "%llu", (unsigned long long)ch->max_version) < 0)
            rt_out_of_memory("asprintf", 24);
        argv_push(&a, argv_own(&a, seen));
        char *n = NULL;
        if (asprintf(&n, "%zu", ch->sub_count) < 0) rt_out_of_memory("asprintf", 24);
        argv_push(&a, argv_own(&a, n));
        struct rt_sub *s;
        DL_FOREACH(ch->subs, s)
        {
            argv_push(&a, s->conn->socket_id);
            argv_push(&a, s->user_id ? s->user_id : "");
            struct rt_member_entry *m = NULL;
            if (s->user_id) HASH_FIND_STR(ch->members, s->user_id, m);
            argv_push(&a, m && m->user_info ? m->user_info : "");
        }
    }
    struct argv_buf u = {0};
    argv_push(&u, "EVAL");
    argv_push(&u, lua_users_resync);
    argv_push(&u, "1");
    argv_push(&u, prefix);
    argv_push(&u, app->cfg->id);
    argv_push(&u, node);
    if (mine) {
        struct rt_user *usr, *utmp;
        HASH_ITER(hh, app->users, usr, utmp)
        {
            struct rt_conn *c;
            DL_FOREACH2(usr->conns, c, user_next)
            {
                argv_push(&u, usr->id);
                argv_push(&u, c->socket_id);
            }
        }
    }
    if (a.n > head || u.n > head) note_app(app->cfg->id);
    struct pending_op *op = op_new(app, NULL, NULL);
    op->reap = !mine;
    if (command(on_resynced, op, a.n, a.v) != 0) op_free(op);
    argv_free(&a);
    op = op_new(app, NULL, NULL);
    op->reap = !mine;
    if (command(on_users_resynced, op, u.n, u.v) != 0) op_free(op);
    argv_free(&u);
}

static void resync_one(struct rt_app *app, void *ctx)
{
    (void)ctx;
    resync_app(app, reg.node, true);
}

/* Reaps a dead node: every app it touched. */
static void on_dead_apps(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    char *node = privdata;
    redisReply *reply = r;
    if (!is_error(reply) && reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements; i++) {
            struct rt_app *app = rt_apps_by_id(reply->element[i]->str);
            if (!app) continue;
            resync_app(app, node, false);
            char conns[64];
            snprintf(conns, sizeof conns, "rt:{%s}:conns", app->cfg->id);
            const char *hdel_conns[] = {"HDEL", conns, node};
            command(NULL, NULL, 3, hdel_conns);
        }
        rt_log_info("cluster: node %s stopped heartbeating; its sockets were removed from "
                    "%zu apps",
                    node, reply->elements);
        char apps[NODE_KEY_MAX];
        node_key(apps, "apps", node);
        const char *del_apps[] = {"DEL", apps};
        command(NULL, NULL, 2, del_apps);
        const char *hdel[] = {"HDEL", NODES_HB_KEY, node};
        command(NULL, NULL, 3, hdel);
    }
    free(node);
}

static void on_reap_lock(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    char *node = privdata;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_STATUS) { /* another node reaps it */
        free(node);
        return;
    }
    char apps[NODE_KEY_MAX];
    node_key(apps, "apps", node);
    const char *argv[] = {"SMEMBERS", apps};
    if (command(on_dead_apps, node, 2, argv) != 0) free(node);
}

static void on_heartbeat(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)privdata;
    redisReply *reply = r;
    if (is_error(reply) || reply->type != REDIS_REPLY_ARRAY) return;
    if (int_at(reply, 0) != 1) {
        /* Another live node holds our id: two nodes would mix their sockets' state. */
        if (!reg.claimed && rt_now_ms() - reg.claim_started_ms > CLAIM_TTL_MS + 1000) {
            fprintf(stderr, "rtserver: RT_NODE_ID %s is already used by another live node\n",
                    reg.node);
            exit(2);
        }
        if (!reg.claim_reported) {
            rt_log_warn("cluster: node id %s is held by another node; waiting for it to expire",
                        reg.node);
            reg.claim_reported = true;
        }
        return;
    }
    bool was = reg.claimed;
    reg.claimed = true;
    reg.live_nodes = (unsigned)int_at(reply, 1);
    /* Our entry was gone: another node took this one for dead (its loop stood still longer
     * than DEAD_AFTER_MS) and reaped it, its apps set included: the apps are sent again. */
    if (was && int_at(reply, 3) == 1) noted_apps_clear();
    if (!was || reg.resync_due) {
        reg.resync_due = false;
        rt_apps_each(resync_one, NULL);
    }
    const redisReply *dead = at(reply, 2);
    for (size_t i = 0; dead && i < dead->elements; i++) {
        const char *node = dead->element[i]->str;
        if (strcmp(node, reg.node) == 0) continue;
        char key[NODE_KEY_MAX];
        node_key(key, "reap", node);
        const char *argv[] = {"SET", key, reg.node, "NX", "PX", "30000"};
        char *copy = rt_xstrdup(node);
        if (command(on_reap_lock, copy, 6, argv) != 0) free(copy);
    }
}

/* ---- connection totals -------------------------------------------------------------------- */

static void on_conns(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    struct rt_app *app = rt_apps_by_id(op->app_id);
    if (app && !is_error(reply) && reply->type == REDIS_REPLY_ARRAY) {
        size_t others = 0;
        for (size_t i = 0; i + 1 < reply->elements; i += 2)
            if (strcmp(reply->element[i]->str, reg.node) != 0)
                others += (size_t)atoll(reply->element[i + 1]->str);
        app->cluster_conns_others = others;
    }
    op_free(op);
}

static void refresh_conns(struct rt_app *app, void *ctx)
{
    (void)ctx;
    char key[64], n[24];
    snprintf(key, sizeof key, "rt:{%s}:conns", app->cfg->id);
    snprintf(n, sizeof n, "%zu", app->conn_count);
    if (app->conn_count) {
        note_app(app->cfg->id); /* so that a reaper clears this count */
        const char *set[] = {"HSET", key, reg.node, n};
        command(NULL, NULL, 4, set);
    } else {
        const char *del[] = {"HDEL", key, reg.node};
        command(NULL, NULL, 3, del);
    }
    const char *get[] = {"HGETALL", key};
    struct pending_op *op = op_new(app, NULL, NULL);
    if (command(on_conns, op, 2, get) != 0) op_free(op);
}

size_t rt_registry_app_connections(const struct rt_app *app)
{
    return app->conn_count + (rt_registry_active() ? app->cluster_conns_others : 0);
}

static void tick(uv_timer_t *t)
{
    (void)t;
    if (!rt_cluster_connected()) {
        reg.resync_due = reg.claimed;
        return;
    }
    char id[NODE_KEY_MAX];
    node_key(id, "id", reg.node);
    const char *argv[] = {"EVAL", lua_heartbeat,   "3",      NODES_HB_KEY,
                          id,     NODES_CLOCK_KEY, reg.node, reg.token};
    command(on_heartbeat, NULL, 8, argv);
    if (reg.claimed) rt_apps_each(refresh_conns, NULL);
}

void rt_registry_on_connected(void)
{
    conn_gen++; /* scripts are loaded again on this connection */
    if (!reg.started) return;
    reg.resync_due = true;
    if (!reg.claim_started_ms) reg.claim_started_ms = rt_now_ms();
    tick(&reg.heartbeat);
}

void rt_registry_start(void)
{
    if (!rt_registry_clustered() || reg.started) return;
    reg.started = true;
    snprintf(reg.node, sizeof reg.node, "%06u", rt_srv.cfg.node_id);
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(reg.token, sizeof reg.token, raw, sizeof raw);
    uv_timer_init(rt_srv.loop, &reg.heartbeat);
    uv_timer_start(&reg.heartbeat, tick, HEARTBEAT_MS, HEARTBEAT_MS);
    uv_timer_init(rt_srv.loop, &reg.heal);
}

/* KEYS: rt:{nodes}:id:N. ARGV: token. Gives the node id back if this process holds it. */
static const char lua_release[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

void rt_registry_stop(void)
{
    if (!reg.started) return;
    /* A clean stop gives the node id back at once, so that the node restarted with the same
     * RT_NODE_ID (a rolling upgrade) is ready without waiting for the claim to expire. Sent
     * before the cluster links close: hiredis waits for the reply before disconnecting. Its
     * heartbeat entry stays: if any of its sockets are still registered, they are reaped. */
    if (reg.claimed && rt_cluster_connected()) {
        char id[NODE_KEY_MAX];
        node_key(id, "id", reg.node);
        const char *argv[] = {"EVAL", lua_release, "1", id, reg.token};
        command(NULL, NULL, 5, argv);
    }
    noted_apps_clear();
    reg.started = false;
    uv_timer_stop(&reg.heartbeat);
    uv_close((uv_handle_t *)&reg.heartbeat, NULL);
    uv_timer_stop(&reg.heal);
    uv_close((uv_handle_t *)&reg.heal, NULL);
}

/* ---- REST queries ------------------------------------------------------------------------- */

static void on_channels(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    json_t *out = NULL;
    if (!is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
        const redisReply *subs = reply->element[0], *users = reply->element[1];
        json_t *chans = json_object();
        for (size_t i = 0; subs->type == REDIS_REPLY_ARRAY && i + 1 < subs->elements; i += 2)
            json_object_set_new(chans, subs->element[i]->str,
                                json_pack("{s:I}", "subscription_count",
                                          (json_int_t)atoll(subs->element[i + 1]->str)));
        for (size_t i = 0; users->type == REDIS_REPLY_ARRAY && i + 1 < users->elements; i += 2) {
            json_t *c = json_object_get(chans, users->element[i]->str);
            if (c)
                json_object_set_new(c, "user_count",
                                    json_integer(atoll(users->element[i + 1]->str)));
        }
        out = json_pack("{s:o}", "channels", chans);
    }
    op->done(op->ctx, out);
    op_free(op);
}

static void query(struct rt_app *app, uint64_t ctx, rt_registry_done done, redisCallbackFn *cb,
                  int argc, const char **argv)
{
    struct pending_op *op = op_new(app, NULL, NULL);
    op->ctx = ctx;
    op->done = done;
    if (command(cb, op, (size_t)argc, argv) != 0) {
        op_free(op);
        done(ctx, NULL);
    }
}

void rt_registry_query_channels(struct rt_app *app, uint64_t ctx, rt_registry_done done)
{
    static const char lua[] =
        "return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}";
    char k1[64], k2[64];
    snprintf(k1, sizeof k1, "rt:{%s}:chans", app->cfg->id);
    snprintf(k2, sizeof k2, "rt:{%s}:uc", app->cfg->id);
    const char *argv[] = {"EVAL", lua, "2", k1, k2};
    query(app, ctx, done, on_channels, 5, argv);
}

static void on_counts(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    json_t *out = NULL;
    if (!is_error(reply) && reply->type == REDIS_REPLY_ARRAY) {
        out = json_object();
        for (size_t i = 0; i + 2 < reply->elements; i += 3) {
            const char *name = reply->element[i]->str;
            json_t *o = json_pack("{s:I}", "subscription_count", (json_int_t)int_at(reply, i + 1));
            if (rt_channel_kind_of(rt_str_c(name)).type == RT_CHANNEL_PRESENCE)
                json_object_set_new(o, "user_count", json_integer(int_at(reply, i + 2)));
            json_object_set_new(out, name, o);
        }
    }
    op->done(op->ctx, out);
    op_free(op);
}

void rt_registry_query_counts(struct rt_app *app, json_t *names, uint64_t ctx,
                              rt_registry_done done)
{
    static const char lua[] = "local P = KEYS[1]\n"
                              "local out = {}\n"
                              "for i = 2, #ARGV do\n"
                              "  out[#out + 1] = ARGV[i]\n"
                              "  out[#out + 1] = redis.call('HLEN', P .. 'c:' .. ARGV[i])\n"
                              "  out[#out + 1] = redis.call('HLEN', P .. 'm:' .. ARGV[i])\n"
                              "end\n"
                              "return out\n";
    char prefix[APP_PREFIX_MAX];
    app_prefix(prefix, app->cfg->id);
    struct argv_buf a = {0};
    argv_push(&a, "EVAL");
    argv_push(&a, lua);
    argv_push(&a, "1");
    argv_push(&a, prefix);
    argv_push(&a, app->cfg->id);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) argv_push(&a, json_string_value(n));
    struct pending_op *op = op_new(app, NULL, NULL);
    op->ctx = ctx;
    op->done = done;
    if (command(on_counts, op, a.n, a.v) != 0) {
        op_free(op);
        done(ctx, NULL);
    }
    argv_free(&a);
}

static void on_users(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending_op *op = privdata;
    redisReply *reply = r;
    json_t *out = NULL;
    if (!is_error(reply) && reply->type == REDIS_REPLY_ARRAY) {
        json_t *users = json_array();
        for (size_t i = 0; i < reply->elements; i++)
            json_array_append_new(users, json_pack("{s:s}", "id", reply->element[i]->str));
        out = json_pack("{s:o}", "users", users);
    }
    op->done(op->ctx, out);
    op_free(op);
}

void rt_registry_query_users(struct rt_app *app, const char *channel, uint64_t ctx,
                             rt_registry_done done)
{
    char key[300];
    snprintf(key, sizeof key, "rt:{%s}:m:%s", app->cfg->id, channel);
    const char *argv[] = {"HKEYS", key};
    query(app, ctx, done, on_users, 2, argv);
}
