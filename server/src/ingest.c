/* The Redis inlets (docs/ingest.md). Two ways in, one way out (rt_rest_trigger):
 * - Laravel's `redis` broadcaster: pub/sub gives every subscriber every message, so only the
 *   node holding the lease rt:ingest:leader subscribes to the apps' "<prefix>*" patterns.
 * - The stream rt:ingest:{APP_ID}: every node reads it in the consumer group "rt" under its
 *   node id, publishes, then XACKs; entries left pending by a dead node are XAUTOCLAIMed.
 * All Redis I/O goes through cluster.c's command and subscriber connections; nothing blocks. */
#include "ingest.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include "app.h"
#include "broker.h"
#include "cluster.h"
#include "conn.h"
#include "log.h"
#include "rest.h"
#include "rt_alloc.h"
#include "rt_ingest_parse.h"
#include "server.h"

#define LEASE_KEY "rt:ingest:leader"
#define LEASE_MS 3000
#define LEASE_RENEW_MS 1000
/* The lease is ours until this long before Redis would expire it, counted from when the
 * renewal was sent: a node steps down before another can take over. */
#define LEASE_MARGIN_MS 500
#define GROUP "rt"
#define POLL_MS 100
#define READ_BATCH 100
/* Stream entries requested from Redis and not yet handled, on this node (all apps). */
#define MAX_IN_FLIGHT 500
/* An entry pending this long belongs to a node that died (or stalled): another takes it. */
#define CLAIM_IDLE_MS 5000
#define CLAIM_EVERY_MS 2000
/* After an entry over the app's backend rate, the app's stream rests this long. */
#define BACKOFF_MS 1000
/* The dead-letter stream keeps about this many entries, each at most this long. */
#define DEAD_MAX_LEN "1000"
#define DEAD_ENTRY_MAX 2048

/* One app whose stream this node reads; found again by app id in every reply, so that an app
 * removed meanwhile is simply not found. */
struct inlet {
    char app_id[RT_APP_ID_MAX + 1];
    bool group_ready, group_pending, reading, claiming, seen;
    /* entries of ours were left pending by back-pressure: read them again first ("0"), in
     * order, before new ones (">") */
    bool replay;
    uint64_t next_claim_ms, resume_ms;
    char claim_cursor[48];
    UT_hash_handle hh;
};

/* A pattern this node is subscribed to (while it holds the lease). */
struct pattern {
    char pattern[RT_INGEST_PREFIX_MAX + 2]; /* "<prefix>*" */
    char app_id[RT_APP_ID_MAX + 1];
    bool seen;
    UT_hash_handle hh;
};

static struct {
    bool started;
    char node[16];
    char holder[64]; /* the lease value: node id and a random token */
    uv_timer_t lease_timer, poll_timer;
    bool leader, lease_pending;
    uint64_t lease_sent_ms, lease_until_ms;
    unsigned sub_generation;
    struct pattern *patterns;
    struct inlet *inlets;
    size_t in_flight;
    unsigned long long published[2], failed[2], deferred, claimed;
} ing;

enum source { SOURCE_PUBSUB, SOURCE_STREAM };
static const char *const source_names[] = {"pubsub", "stream"};

/* ---- shared ---------------------------------------------------------------------------- */

/* An app whose inlets are served: enabled and with an active key (a revoked app has none). */
static bool app_usable(const struct rt_app *app)
{
    return app && app->cfg->enabled && app->cfg->n_keys > 0;
}

static void stream_key(const char *app_id, char *out, size_t cap)
{
    snprintf(out, cap, "rt:ingest:{%s}", app_id);
}

static int command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv)
{
    return rt_cluster_command(cb, privdata, argc, argv);
}

/* Records what could not be published in the app's bounded dead-letter stream: where it came
 * from (ref: the stream entry id or the Redis channel), why, and the entry itself (cut). */
static void dead_letter(const char *app_id, enum source source, const char *ref, const char *reason,
                        const char *entry, size_t entry_len)
{
    char key[64], at[24];
    snprintf(key, sizeof key, "rt:ingest:{%s}:dead", app_id);
    snprintf(at, sizeof at, "%llu", (unsigned long long)rt_unix_ms());
    char *cut = rt_xstrndup(entry, entry_len > DEAD_ENTRY_MAX ? DEAD_ENTRY_MAX : entry_len);
    const char *argv[] = {"XADD",
                          key,
                          "MAXLEN",
                          "~",
                          DEAD_MAX_LEN,
                          "*",
                          "source",
                          source_names[source],
                          source == SOURCE_STREAM ? "id" : "channel",
                          ref,
                          "reason",
                          reason,
                          "entry",
                          cut,
                          "at",
                          at};
    command(NULL, NULL, sizeof argv / sizeof argv[0], argv);
    free(cut);
    ing.failed[source]++;
    /* debug: a backend over its rate could otherwise fill the log; the metric counts */
    rt_log_debug("ingest: app=%s %s %s not published: %s", app_id, source_names[source], ref,
                 reason);
}

/* ---- Laravel's redis broadcaster (pub/sub, the lease holder only) ---------------------- */

/* The subscribed pattern whose prefix is the longest that channel starts with: that app owns
 * the message (migration 005 keeps prefixes from starting with one another; this holds even
 * if a database was edited by hand). */
static struct pattern *owner_of(const char *channel)
{
    struct pattern *best = NULL, *p, *tmp;
    size_t best_len = 0;
    HASH_ITER(hh, ing.patterns, p, tmp)
    {
        size_t n = strlen(p->pattern) - 1;
        if (n > best_len && strncmp(channel, p->pattern, n) == 0) {
            best = p;
            best_len = n;
        }
    }
    return best;
}

/* A message matching several of our patterns arrives once per pattern: only the owner's
 * pattern handles it. */
static void on_pmessage(const char *pattern, const char *channel, const char *payload, size_t len)
{
    if (!ing.leader) return; /* arrived after the step-down: the next holder has it */
    struct pattern *p = owner_of(channel);
    if (!p || strcmp(p->pattern, pattern) != 0) return;
    struct rt_app *app = rt_apps_by_id(p->app_id);
    if (!app_usable(app) || !app->cfg->ingest_redis_prefix) return;
    const char *name = channel + strlen(p->pattern) - 1;
    char err[256];
    json_t *event = rt_ingest_laravel_event(name, payload, len, err, sizeof err);
    int status = event ? rt_rest_trigger(app, event, err, sizeof err) : 400;
    json_decref(event);
    if (status == 0) {
        ing.published[SOURCE_PUBSUB]++;
        return;
    }
    /* Pub/sub cannot be retried: over the rate or without the bus, the message is lost like
     * one published while no node holds the lease, and recorded. */
    dead_letter(p->app_id, SOURCE_PUBSUB, channel, err, payload, len);
}

static void unsubscribe_all(bool send)
{
    struct pattern *p, *tmp;
    HASH_ITER(hh, ing.patterns, p, tmp)
    {
        if (send) rt_cluster_punsubscribe(p->pattern);
        HASH_DEL(ing.patterns, p);
        free(p);
    }
}

static void mark_wanted(struct rt_app *app, void *ctx)
{
    (void)ctx;
    const char *prefix = app->cfg->ingest_redis_prefix;
    if (!app_usable(app) || !prefix || !rt_ingest_prefix_valid(prefix)) return;
    char pattern[RT_INGEST_PREFIX_MAX + 2];
    snprintf(pattern, sizeof pattern, "%s*", prefix);
    struct pattern *p;
    HASH_FIND_STR(ing.patterns, pattern, p);
    if (p && strcmp(p->app_id, app->cfg->id) != 0) {
        /* the prefix moved to another app: subscribe anew under its owner */
        snprintf(p->app_id, sizeof p->app_id, "%s", app->cfg->id);
    }
    if (!p) {
        if (rt_cluster_psubscribe(pattern) != 0) return;
        p = rt_xcalloc(1, sizeof *p);
        snprintf(p->pattern, sizeof p->pattern, "%s", pattern);
        snprintf(p->app_id, sizeof p->app_id, "%s", app->cfg->id);
        HASH_ADD_STR(ing.patterns, pattern, p);
    }
    p->seen = true;
}

/* Makes the subscriptions match the apps (the leader) or none (everyone else). Run on every
 * lease tick, so an app changed with rtadmin is followed within a second. */
static void sync_patterns(void)
{
    unsigned generation = rt_cluster_sub_generation();
    if (generation != ing.sub_generation) {
        unsubscribe_all(false); /* they went with the previous subscriber connection */
        ing.sub_generation = generation;
        /* Redis may have restarted empty meanwhile, and another node taken the lease: hold
         * it again (the next renewal, this tick) before subscribing. */
        ing.leader = false;
    }
    if (!ing.leader) {
        unsubscribe_all(true);
        return;
    }
    struct pattern *p, *tmp;
    HASH_ITER(hh, ing.patterns, p, tmp) p->seen = false;
    rt_apps_each(mark_wanted, NULL);
    HASH_ITER(hh, ing.patterns, p, tmp)
    {
        if (p->seen) continue;
        rt_cluster_punsubscribe(p->pattern);
        HASH_DEL(ing.patterns, p);
        free(p);
    }
}

static void step_down(void)
{
    if (ing.leader) rt_log_info("ingest: node %s no longer handles the Laravel inlet", ing.node);
    ing.leader = false;
    sync_patterns();
}

/* KEYS[1] the lease, ARGV: holder, ttl ms. Takes or renews the lease; 1 when it is ours. */
static const char lua_lease[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0\n";

static const char lua_release[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

static void on_lease(struct redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)privdata;
    redisReply *reply = r;
    ing.lease_pending = false;
    if (!ing.started) return;
    if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer != 1) {
        step_down();
        return;
    }
    ing.lease_until_ms = ing.lease_sent_ms + LEASE_MS - LEASE_MARGIN_MS;
    if (!ing.leader) rt_log_info("ingest: node %s handles the Laravel inlet", ing.node);
    ing.leader = true;
    sync_patterns();
}

static void lease_tick(uv_timer_t *t)
{
    (void)t;
    if (!rt_cluster_connected() || (ing.leader && rt_now_ms() >= ing.lease_until_ms)) {
        step_down();
    } else {
        sync_patterns();
    }
    if (!rt_cluster_connected() || ing.lease_pending) return;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", LEASE_MS);
    const char *argv[] = {"EVAL", lua_lease, "1", LEASE_KEY, ing.holder, ttl};
    ing.lease_sent_ms = rt_now_ms();
    if (command(on_lease, NULL, 6, argv) == 0) ing.lease_pending = true;
}

/* ---- the stream (every node) ----------------------------------------------------------- */

struct read_job {
    char app_id[RT_APP_ID_MAX + 1];
    size_t count; /* entries asked for: in flight until the reply is handled */
    bool claim, replay;
};

static struct inlet *inlet_find(const char *app_id)
{
    struct inlet *in;
    HASH_FIND_STR(ing.inlets, app_id, in);
    return in;
}

/* Handles one entry [id, [field, value, ...]]. Returns false when the app is over its backend
 * rate or the bus is down: the entry stays pending (XAUTOCLAIM brings it back later). An entry
 * that cannot be published as a REST trigger could not goes to the dead-letter stream; either
 * way it is acknowledged (its id is appended to ack). */
static bool handle_entry(struct rt_app *app, const redisReply *entry, json_t *ack)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return true;
    const char *id = entry->element[0]->str;
    const redisReply *fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY) {
        json_array_append_new(ack, json_string(id)); /* deleted meanwhile (XAUTOCLAIM) */
        return true;
    }
    const char *f[2 * RT_INGEST_FIELDS_MAX + 2];
    size_t lens[2 * RT_INGEST_FIELDS_MAX + 2], n = 0;
    bool strings = true;
    for (size_t i = 0; i < fields->elements && n < sizeof f / sizeof f[0]; i++) {
        strings &= fields->element[i]->type == REDIS_REPLY_STRING;
        f[n] = fields->element[i]->str;
        lens[n++] = fields->element[i]->len;
    }
    char err[256];
    json_t *event = NULL;
    if (!strings)
        snprintf(err, sizeof err, "not a stream entry of strings");
    else if (fields->elements > 2 * RT_INGEST_FIELDS_MAX)
        snprintf(err, sizeof err, "more than %d fields", RT_INGEST_FIELDS_MAX);
    else
        event = rt_ingest_stream_event(f, lens, n, err, sizeof err);
    int status = event ? rt_rest_trigger(app, event, err, sizeof err) : 400;
    json_decref(event);
    if (status == 429 || status == 503) {
        ing.deferred++;
        return false;
    }
    if (status == 0) {
        ing.published[SOURCE_STREAM]++;
    } else {
        json_t *raw = json_object();
        for (size_t i = 0; strings && i + 1 < n; i += 2) {
            char name[40];
            snprintf(name, sizeof name, "%.*s", (int)(lens[i] < 32 ? lens[i] : 32), f[i]);
            json_object_set_new(raw, name, json_stringn(f[i + 1], lens[i + 1]));
        }
        char *text = json_dumps(raw, JSON_COMPACT);
        json_decref(raw);
        dead_letter(app->cfg->id, SOURCE_STREAM, id, err, text ? text : "{}",
                    text ? strlen(text) : 2);
        free(text);
    }
    json_array_append_new(ack, json_string(id));
    return true;
}

/* One XACK for the entries handled, queued on the command connection after the fan-out of
 * their events (rt_broker_flush): a node killed in between has at worst published an entry
 * still pending (claimed and published again), never acknowledged one it did not publish. */
static void send_ack(const char *app_id, json_t *ack)
{
    size_t n = json_array_size(ack);
    if (n == 0) return;
    char key[64];
    stream_key(app_id, key, sizeof key);
    const char **argv = rt_xcalloc(n + 3, sizeof *argv);
    argv[0] = "XACK";
    argv[1] = key;
    argv[2] = GROUP;
    for (size_t i = 0; i < n; i++)
        argv[3 + i] = json_string_value(json_array_get(ack, i));
    command(NULL, NULL, n + 3, (const char **)argv);
    free(argv);
}

static void read_stream(struct inlet *in);

/* Handles entries[]: stops at the first the app cannot take now (back-pressure). Returns the
 * number handled. */
static size_t handle_entries(struct inlet *in, const redisReply *entries)
{
    struct rt_app *app = rt_apps_by_id(in->app_id);
    if (!app_usable(app) || !app->cfg->ingest_stream)
        return 0; /* left pending: claimed again if the app is served again */
    json_t *ack = json_array();
    size_t i = 0;
    for (; i < entries->elements; i++) {
        if (!handle_entry(app, entries->element[i], ack)) {
            in->resume_ms = rt_now_ms() + BACKOFF_MS;
            in->replay = true;
            break;
        }
    }
    rt_broker_flush();
    send_ack(in->app_id, ack);
    json_decref(ack);
    return i;
}

static bool is_error(const redisReply *reply, const char *code)
{
    return reply && reply->type == REDIS_REPLY_ERROR &&
           strncmp(reply->str, code, strlen(code)) == 0;
}

static void on_read(struct redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    redisReply *reply = r;
    struct read_job *job = privdata;
    ing.in_flight -= job->count;
    struct inlet *in = inlet_find(job->app_id);
    if (!in) {
        free(job);
        return;
    }
    if (job->claim)
        in->claiming = false;
    else
        in->reading = false;
    if (is_error(reply, "NOGROUP")) {
        in->group_ready = false; /* Redis restarted empty, or the stream was deleted */
    } else if (job->claim && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
               reply->element[0]->type == REDIS_REPLY_STRING &&
               reply->element[1]->type == REDIS_REPLY_ARRAY) {
        snprintf(in->claim_cursor, sizeof in->claim_cursor, "%s", reply->element[0]->str);
        ing.claimed += reply->element[1]->elements;
        handle_entries(in, reply->element[1]);
    } else if (!job->claim && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
               reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2 &&
               reply->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *entries = reply->element[0]->element[1];
        if (job->replay && entries->elements == 0)
            in->replay = false; /* nothing of ours left pending: new entries next */
        size_t handled = handle_entries(in, entries);
        /* A full batch, all taken (or the replay done): more is probably waiting, read again
         * at once. */
        if ((handled == job->count && entries->elements == job->count) ||
            (job->replay && !in->replay))
            read_stream(in);
    }
    free(job);
}

static void on_group(struct redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    redisReply *reply = r;
    char *app_id = privdata;
    struct inlet *in = inlet_find(app_id);
    free(app_id);
    if (!in) return;
    in->group_pending = false;
    if (reply && (reply->type == REDIS_REPLY_STATUS || is_error(reply, "BUSYGROUP")))
        in->group_ready = true;
}

/* KEYS[1] the stream, ARGV: group. XGROUP CREATE answered as itself (OK, or the BUSYGROUP
 * error), from a script so that it is routed by its declared key: a Redis Cluster router looks
 * for a command's key in its second word, and XGROUP CREATE has it in its third. */
static const char lua_create_group[] =
    "return redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')\n";

/* Creates the group at the start of the stream ("0"): what the backend added before any node
 * read it is delivered too. */
static void create_group(struct inlet *in)
{
    char key[64];
    stream_key(in->app_id, key, sizeof key);
    const char *argv[] = {"EVAL", lua_create_group, "1", key, GROUP};
    if (command(on_group, rt_xstrdup(in->app_id), 5, argv) == 0) in->group_pending = true;
}

static size_t room(void)
{
    size_t free_slots = MAX_IN_FLIGHT - ing.in_flight;
    return free_slots < READ_BATCH ? free_slots : READ_BATCH;
}

static void send_read(struct inlet *in, bool claim)
{
    size_t count = room();
    if (count == 0) return;
    char key[64], count_text[24], idle[16];
    stream_key(in->app_id, key, sizeof key);
    snprintf(count_text, sizeof count_text, "%zu", count);
    snprintf(idle, sizeof idle, "%d", CLAIM_IDLE_MS);
    struct read_job *job = rt_xcalloc(1, sizeof *job);
    snprintf(job->app_id, sizeof job->app_id, "%s", in->app_id);
    job->count = count;
    job->claim = claim;
    job->replay = in->replay;
    int rc;
    if (claim) {
        const char *argv[] = {"XAUTOCLAIM",     key,     GROUP,     ing.node, idle,
                              in->claim_cursor, "COUNT", count_text};
        rc = command(on_read, job, 8, argv);
    } else {
        const char *argv[] = {"XREADGROUP", "GROUP", GROUP,
                              ing.node,     "COUNT", count_text,
                              "STREAMS",    key,     in->replay ? "0" : ">"};
        rc = command(on_read, job, 9, argv);
    }
    if (rc != 0) {
        free(job);
        return;
    }
    ing.in_flight += count;
    if (claim)
        in->claiming = true;
    else
        in->reading = true;
}

static void read_stream(struct inlet *in)
{
    /* one request per stream at a time: a claim and a read never return the same entry */
    if (!in->reading && !in->claiming && in->group_ready && rt_now_ms() >= in->resume_ms)
        send_read(in, false);
}

/* Entries pending longer than CLAIM_IDLE_MS (a dead node's, or ours left by back-pressure),
 * and the stream cut to the app's length. */
static void claim_and_trim(struct rt_app *app, struct inlet *in)
{
    in->next_claim_ms = rt_now_ms() + CLAIM_EVERY_MS;
    if (!in->claiming && !in->reading && rt_now_ms() >= in->resume_ms) send_read(in, true);
    char key[64], max[16];
    stream_key(in->app_id, key, sizeof key);
    snprintf(max, sizeof max, "%d", app->cfg->ingest_stream_max_length);
    const char *argv[] = {"XTRIM", key, "MAXLEN", "~", max};
    command(NULL, NULL, 5, argv);
}

static void poll_app(struct rt_app *app, void *ctx)
{
    (void)ctx;
    if (!app_usable(app) || !app->cfg->ingest_stream) return;
    struct inlet *in = inlet_find(app->cfg->id);
    if (!in) {
        in = rt_xcalloc(1, sizeof *in);
        snprintf(in->app_id, sizeof in->app_id, "%s", app->cfg->id);
        snprintf(in->claim_cursor, sizeof in->claim_cursor, "0-0");
        /* spread the claims of many apps over the period */
        in->next_claim_ms = rt_now_ms() + randombytes_uniform(CLAIM_EVERY_MS);
        HASH_ADD_STR(ing.inlets, app_id, in);
    }
    in->seen = true;
    if (!in->group_ready) {
        if (!in->group_pending) create_group(in);
        return;
    }
    if (rt_now_ms() >= in->next_claim_ms) claim_and_trim(app, in);
    read_stream(in);
}

static void poll_tick(uv_timer_t *t)
{
    (void)t;
    if (!rt_cluster_connected()) return;
    struct inlet *in, *tmp;
    HASH_ITER(hh, ing.inlets, in, tmp) in->seen = false;
    rt_apps_each(poll_app, NULL);
    /* Apps no longer read: forget them (a reply still on its way finds nothing). */
    HASH_ITER(hh, ing.inlets, in, tmp)
    {
        if (in->seen) continue;
        HASH_DEL(ing.inlets, in);
        free(in);
    }
}

/* ---- life cycle ------------------------------------------------------------------------ */

void rt_ingest_start(void)
{
    if (!rt_srv.cfg.redis_url || ing.started) return;
    ing.started = true;
    snprintf(ing.node, sizeof ing.node, "%06u", rt_srv.cfg.node_id);
    unsigned char token[8];
    char hex[2 * sizeof token + 1];
    randombytes_buf(token, sizeof token);
    sodium_bin2hex(hex, sizeof hex, token, sizeof token);
    snprintf(ing.holder, sizeof ing.holder, "%s:%s", ing.node, hex);
    rt_cluster_set_pmessage_handler(on_pmessage);
    uv_timer_init(rt_srv.loop, &ing.lease_timer);
    uv_timer_start(&ing.lease_timer, lease_tick, 0, LEASE_RENEW_MS);
    uv_timer_init(rt_srv.loop, &ing.poll_timer);
    uv_timer_start(&ing.poll_timer, poll_tick, POLL_MS, POLL_MS);
}

void rt_ingest_stop(void)
{
    if (!ing.started) return;
    ing.started = false;
    if (ing.leader && rt_cluster_connected()) {
        const char *argv[] = {"EVAL", lua_release, "1", LEASE_KEY, ing.holder};
        command(NULL, NULL, 5, argv);
    }
    ing.leader = false;
    unsubscribe_all(rt_cluster_connected());
    struct inlet *in, *tmp;
    HASH_ITER(hh, ing.inlets, in, tmp)
    {
        HASH_DEL(ing.inlets, in);
        free(in);
    }
    uv_timer_stop(&ing.lease_timer);
    uv_close((uv_handle_t *)&ing.lease_timer, NULL);
    uv_timer_stop(&ing.poll_timer);
    uv_close((uv_handle_t *)&ing.poll_timer, NULL);
}

void rt_ingest_write_metrics(FILE *f)
{
    fprintf(f, "# TYPE rt_ingest_published_total counter\n");
    for (int s = 0; s < 2; s++)
        fprintf(f, "rt_ingest_published_total{source=\"%s\"} %llu\n", source_names[s],
                ing.published[s]);
    fprintf(f, "# TYPE rt_ingest_failed_total counter\n");
    for (int s = 0; s < 2; s++)
        fprintf(f, "rt_ingest_failed_total{source=\"%s\"} %llu\n", source_names[s], ing.failed[s]);
    fprintf(f,
            "# TYPE rt_ingest_deferred_total counter\nrt_ingest_deferred_total %llu\n"
            "# TYPE rt_ingest_claimed_total counter\nrt_ingest_claimed_total %llu\n"
            "# TYPE rt_ingest_leader gauge\nrt_ingest_leader %d\n"
            "# TYPE rt_ingest_in_flight gauge\nrt_ingest_in_flight %zu\n",
            ing.deferred, ing.claimed, ing.leader ? 1 : 0, ing.in_flight);
}
