/* rtadmin ingest failures: what an app's Redis inlets could not publish (docs/ingest.md). The
 * servers keep it in the dead-letter stream rt:ingest:{APP_ID}:dead, so rtadmin reads Redis
 * directly (RT_REDIS_URL, the one the servers use) with hiredis's blocking API: a CLI may
 * wait, and no server has to be reachable to see why events went missing. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "app_lookup.h"
#include "output.h"
#include "rt_redis_url.h"
#include "rt_slot.h"

#define FAILURES_DEFAULT_LIMIT 20
#define FAILURES_MAX_LIMIT 1000

/* Connects to host:port and authenticates. Returns NULL, after printing what went wrong (never
 * the password) when report is set. */
static redisContext *redis_connect(const char *host, int port, const char *password, bool report)
{
    struct timeval timeout = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, port, timeout);
    if (!c || c->err) {
        if (report)
            cli_fail("cannot connect to Redis at %s:%d (RT_REDIS_URL): %s", host, port,
                     c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, timeout);
    if (password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok && report)
            cli_fail("Redis at %s:%d refused the password of RT_REDIS_URL%s%s", host, port,
                     r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "");
        freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

/* The first host of RT_REDIS_URL that answers (a Redis Cluster's URL lists several seeds);
 * its password goes to *seed for later connections. NULL after printing why. */
static redisContext *redis_open(const char *url_text, struct rt_redis_url *seed)
{
    struct rt_redis_url seeds[RT_REDIS_SEEDS_MAX];
    size_t n = 0;
    char err[256];
    if (rt_redis_seeds_parse(url_text, seeds, RT_REDIS_SEEDS_MAX, &n, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        redisContext *c =
            redis_connect(seeds[i].host, seeds[i].port, seeds[i].password, i + 1 == n);
        if (c) {
            *seed = seeds[i];
            return c;
        }
    }
    return NULL;
}

/* One dead-letter entry [id, [field, value, ...]] as {"at", "source", "ref", "reason",
 * "entry"}; ref is the stream entry id or the Redis channel the message came on. */
static json_t *failure_row(const redisReply *e)
{
    json_t *row = json_object();
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return row;
    json_object_set_new(row, "dead_id", json_stringn(e->element[0]->str, e->element[0]->len));
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *name = f->element[i]->str;
        json_t *v = json_stringn(f->element[i + 1]->str, f->element[i + 1]->len);
        if (!v) v = json_string("(not UTF-8)");
        if (strcmp(name, "id") == 0 || strcmp(name, "channel") == 0) name = "ref";
        if (strcmp(name, "at") == 0) {
            /* milliseconds since the epoch, shown as UTC time */
            time_t secs = (time_t)(strtoll(json_string_value(v), NULL, 10) / 1000);
            char at[32];
            struct tm tm;
            gmtime_r(&secs, &tm);
            strftime(at, sizeof at, "%Y-%m-%d %H:%M:%SZ", &tm);
            json_decref(v);
            v = json_string(at);
        }
        json_object_set_new(row, name, v);
    }
    return row;
}

static int ingest_failures(struct cli_ctx *ctx)
{
    const char *id = cli_arg(ctx, 0);
    long limit = FAILURES_DEFAULT_LIMIT;
    const char *limit_text = cli_args_get(&ctx->args, "limit");
    if (limit_text) {
        char *end = NULL;
        errno = 0;
        limit = strtol(limit_text, &end, 10);
        if (!*limit_text || *end || errno || limit < 1 || limit > FAILURES_MAX_LIMIT)
            return cli_usage(ctx, "--limit must be a number from 1 to %d, not '%s'",
                             FAILURES_MAX_LIMIT, limit_text);
    }
    const char *url = cli_args_get(&ctx->args, "redis-url");
    if (!url) url = getenv("RT_REDIS_URL");
    if (!url || !*url)
        return cli_fail("RT_REDIS_URL is not set: the inlets and their failures live in the "
                        "servers' Redis (e.g. redis://127.0.0.1:6379); set it or pass "
                        "--redis-url");
    int rc = app_require(ctx, id, false);
    if (rc != 0) return rc;
    struct rt_redis_url seed;
    redisContext *c = redis_open(url, &seed);
    if (!c) return CLI_FAIL;
    char key[64], count[16];
    snprintf(key, sizeof key, "rt:ingest:{%s}:dead", id);
    snprintf(count, sizeof count, "%ld", limit);
    redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT %s", key, count);
    /* In a Redis Cluster the key lives on the master of its slot: follow the MOVED. */
    unsigned slot;
    char host[RT_REDIS_HOST_MAX + 1];
    int port;
    if (r && r->type == REDIS_REPLY_ERROR &&
        rt_redirect_parse(r->str, r->len, &slot, host, sizeof host, &port) == RT_REDIRECT_MOVED) {
        freeReplyObject(r);
        redisFree(c);
        c = redis_connect(host[0] ? host : seed.host, port, seed.password, true);
        if (!c) return CLI_FAIL;
        r = redisCommand(c, "XREVRANGE %s + - COUNT %s", key, count);
    }
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        cli_fail("reading %s from Redis failed: %s", key,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        freeReplyObject(r);
        redisFree(c);
        return CLI_FAIL;
    }
    /* newest first from Redis; shown oldest first, like a log */
    json_t *rows = json_array();
    for (size_t i = r->elements; i-- > 0;)
        json_array_append_new(rows, failure_row(r->element[i]));
    freeReplyObject(r);
    redisFree(c);
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {
            {"AT", "at"},         {"SOURCE", "source"}, {"REF", "ref"},
            {"REASON", "reason"}, {"ENTRY", "entry"},
        };
        out_table(rows, cols, 5, "No ingest failures recorded for this app.");
    }
    json_decref(rows);
    return CLI_OK;
}

static const struct cli_opt failures_opts[] = {
    {"redis-url", "URL", "the servers' Redis (default: $RT_REDIS_URL)"},
    {"limit", "N", "at most the N newest failures (default 20, at most 1000)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_ingest_failures = {
    .group = "ingest",
    .name = "failures",
    .usage = "APP [--limit N] [--redis-url URL]",
    .summary = "Show what an app's Redis inlets could not publish, and why",
    .details = "Reads the dead-letter stream rt:ingest:{APP}:dead in the servers' Redis\n"
               "(RT_REDIS_URL), oldest first. Example: rtadmin ingest failures 1234567",
    .opts = failures_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = ingest_failures,
};
