/* Webhooks: what happens on channels becomes events, events become batched requests, requests
 * are POSTed with libcurl multi on the libuv loop, retried, and given up into dead letters.
 *
 * While the registry is active (cluster mode, Redis reachable) events go to the durable queue
 * of webhook_queue.h and this node delivers whatever requests it reads from it. Otherwise
 * (standalone, or Redis unreachable) the same steps run here in memory: the settle window, the
 * batch windows, the request queue and the dead letters, bounded and lost with the process.
 * Either way the requests in this process share the per-app queues, shares and caps that keep
 * one app's endpoint from starving the others. */
#include "webhook.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#include "app.h"
#include "conn.h"
#include "log.h"
#include "registry.h"
#include "rest.h"
#include "rt_alloc.h"
#include "rt_hmac.h"
#include "rt_ratelimit.h"
#include "rt_transition.h"
#include "rt_url.h"
#include "server.h"
#include "webhook_queue.h"

#define REQUEST_TIMEOUT_MS 5000L
#define CONNECT_TIMEOUT_MS 3000L
#define RETRY_CAP_MS 60000u
#define REPORT_INTERVAL_MS 10000u /* drop and give-up lines: at most one per app this often */
#define HOUSEKEEPING_MS 1000u
#define SWEEP_TICKS 60u /* idle state of deleted apps is freed every minute */
#define LOG_URL_MAX 256
#define FAILURES_DEFAULT 100

enum drop_reason { DROP_NODE_FULL, DROP_APP_FULL, DROP_RATE, DROP_REMOVED, DROP_REASONS };
static const char *const drop_reason_name[DROP_REASONS] = {"node_full", "app_full", "rate",
                                                           "removed"};

enum delivery_state { D_WAITING, D_IN_FLIGHT, D_RETRYING };

/* What one app, or the node, holds now. Each request is in exactly one of the first three;
 * held counts events in the settle window and batching events waiting for their batch window
 * (in-memory queue only); bytes covers all of them. */
struct pending {
    size_t waiting, in_flight, retrying, held, batching, bytes;
};

/* Upper bounds (seconds) of the delivery latency histogram: from queued to answered 2xx. */
static const double latency_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define LATENCY_BUCKETS (sizeof latency_bounds / sizeof latency_bounds[0])

/* Cumulative counts for /metrics. */
struct totals {
    unsigned long long delivered, retried, failed, dropped[DROP_REASONS];
    unsigned long long latency_count, latency_buckets[LATENCY_BUCKETS];
    double latency_sum;
};

/* The last outcome of one endpoint (in-memory queue; the durable queue keeps it in Redis). */
struct endpoint_status {
    long long wid;
    char *json;
    UT_hash_handle hh;
};

/* Per-app delivery state, keyed by app id. It outlives the app's requests (its totals are
 * counters) and is freed by the housekeeping sweep once idle and the app is deleted. */
struct app_state {
    char app_id[RT_APP_ID_MAX + 1];
    struct delivery *queue_head, *queue_tail; /* D_WAITING, oldest first */
    struct pending pending;
    struct totals totals;
    struct rt_bucket channel_events;
    size_t backlog; /* the durable queue's length as last seen (cluster mode) */
    /* Drops and give-ups not yet reported in the log, and when each was last reported. */
    unsigned long long unreported_drops[DROP_REASONS], unreported_failed;
    uint64_t drops_reported_ms, failed_reported_ms;
    char last_failure[LOG_URL_MAX + 96]; /* redacted URL and error of the latest give-up */
    /* In-memory queue only: dead letters (JSON records, newest last) and endpoint status. */
    char **dead;
    size_t n_dead;
    struct endpoint_status *status;
    bool ready; /* linked in wh.ready */
    struct app_state *ready_next, *ready_prev;
    UT_hash_handle hh;
};

/* One request: a batch of events for one endpoint, with fixed body and request id. */
struct delivery {
    struct app_state *app;
    enum delivery_state state;
    size_t bytes; /* counted against the caps */
    long long wid;
    char *body;
    char request_id[80];
    char entry[48];     /* its entry in the durable queue; "" = the in-memory queue */
    uint64_t queued_ms; /* unix ms it was queued: the retry window and the latency start */
    unsigned attempts;
    char url[LOG_URL_MAX]; /* redacted, for logs and status */
    CURL *easy;
    struct curl_slist *headers;
    uv_timer_t retry; /* waits before the next attempt */
    bool timer_open;
    struct delivery *next;                /* app queue */
    struct delivery *all_next, *all_prev; /* every live delivery, for shutdown */
};

/* A held channel_vacated / member_removed (in-memory queue), keyed
 * "v\x1f<app>\x1f<channel>" or "r\x1f<app>\x1f<channel>\x1f<user>". */
struct held {
    char *id;
    struct app_state *app;
    size_t bytes;
    json_t *event;
    uv_timer_t timer;
    UT_hash_handle hh;
};

/* Events waiting for one endpoint's batch window (in-memory queue), keyed "<app>\x1f<wid>". */
struct window {
    char key[RT_APP_ID_MAX + 24];
    struct app_state *app;
    long long wid;
    json_t *events;
    size_t bytes;
    uv_timer_t timer;
    UT_hash_handle hh;
};

struct limits {
    size_t max_pending, max_pending_bytes;
    size_t app_max_pending, app_max_pending_bytes, app_concurrency;
    double channel_events_per_second, channel_events_burst;
    uint64_t retry_ms, retry_base_ms;
    size_t dead_letters;
};

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sock_ctx *next, *prev;
};

static struct {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timeout, housekeeping;
    unsigned ticks;
    struct limits limits;
    struct pending pending;
    struct totals totals;
    struct app_state *apps;  /* uthash by app id */
    struct app_state *ready; /* apps with a delivery waiting and a free slot, served in turn */
    struct held *held;
    struct window *windows;
    struct delivery *all;
    struct sock_ctx *socks;
    bool started;
} wh;

static size_t pending_count(const struct pending *p)
{
    return p->waiting + p->in_flight + p->retrying + p->held + p->batching;
}

/* ---- curl multi on libuv -------------------------------------------------------------- */

static void check_done(void);

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock_ctx *ctx = h->data;
    int flags = 0, running;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(wh.multi, ctx->fd, flags, &running);
    check_done();
}

static void free_sock(uv_handle_t *h)
{
    free(h->data);
}

static int on_socket(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
    (void)easy;
    (void)userp;
    struct sock_ctx *ctx = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (ctx) {
            DL_DELETE(wh.socks, ctx);
            uv_poll_stop(&ctx->poll);
            uv_close((uv_handle_t *)&ctx->poll, free_sock);
            curl_multi_assign(wh.multi, s, NULL);
        }
        return 0;
    }
    if (!ctx) {
        ctx = rt_xcalloc(1, sizeof *ctx);
        if (uv_poll_init_socket(wh.loop, &ctx->poll, s) != 0) {
            free(ctx);
            return -1;
        }
        ctx->fd = s;
        ctx->poll.data = ctx;
        DL_APPEND(wh.socks, ctx);
        curl_multi_assign(wh.multi, s, ctx);
    }
    int events = 0;
    if (action != CURL_POLL_OUT) events |= UV_READABLE;
    if (action != CURL_POLL_IN) events |= UV_WRITABLE;
    uv_poll_start(&ctx->poll, events, on_poll);
    return 0;
}

static void on_timeout_timer(uv_timer_t *t)
{
    (void)t;
    int running;
    curl_multi_socket_action(wh.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
}

static int on_curl_timeout(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    (void)userp;
    if (timeout_ms < 0)
        uv_timer_stop(&wh.timeout);
    else
        uv_timer_start(&wh.timeout, on_timeout_timer, timeout_ms ? (uint64_t)timeout_ms : 1, 0);
    return 0;
}

/* ---- per-app state, caps and reports --------------------------------------------------- */

/* Returns the state of app_id, created on first use; never NULL. */
static struct app_state *app_state(const char *app_id)
{
    struct app_state *st = NULL;
    HASH_FIND_STR(wh.apps, app_id, st);
    if (st) return st;
    st = rt_xcalloc(1, sizeof *st);
    snprintf(st->app_id, sizeof st->app_id, "%s", app_id);
    HASH_ADD_STR(wh.apps, app_id, st);
    return st;
}

static void app_state_free(struct app_state *st)
{
    for (size_t i = 0; i < st->n_dead; i++)
        free(st->dead[i]);
    free(st->dead);
    struct endpoint_status *e, *tmp;
    HASH_ITER(hh, st->status, e, tmp)
    {
        HASH_DEL(st->status, e);
        free(e->json);
        free(e);
    }
    free(st);
}

static size_t *state_count(struct pending *p, enum delivery_state s)
{
    switch (s) {
    case D_WAITING:
        return &p->waiting;
    case D_IN_FLIGHT:
        return &p->in_flight;
    case D_RETRYING:
        break;
    }
    return &p->retrying;
}

/* Moves d to state s in its app's and the node's counts. */
static void set_state(struct delivery *d, enum delivery_state s)
{
    --*state_count(&d->app->pending, d->state);
    --*state_count(&wh.pending, d->state);
    ++*state_count(&d->app->pending, s);
    ++*state_count(&wh.pending, s);
    d->state = s;
}

/* Returns true when st and the node have room for one more pending item of bytes, otherwise
 * false with the reason. The app's own cap comes first: an app over its share is the cause
 * even when the node is full too. */
static bool has_room(const struct app_state *st, size_t bytes, enum drop_reason *why)
{
    const struct limits *l = &wh.limits;
    if (pending_count(&st->pending) >= l->app_max_pending ||
        st->pending.bytes + bytes > l->app_max_pending_bytes) {
        *why = DROP_APP_FULL;
        return false;
    }
    if (pending_count(&wh.pending) >= l->max_pending ||
        wh.pending.bytes + bytes > l->max_pending_bytes) {
        *why = DROP_NODE_FULL;
        return false;
    }
    return true;
}

static void count_in(struct app_state *st, size_t *app_field, size_t *node_field, size_t bytes)
{
    ++*app_field;
    ++*node_field;
    st->pending.bytes += bytes;
    wh.pending.bytes += bytes;
}

static void count_out(struct app_state *st, size_t *app_field, size_t *node_field, size_t bytes)
{
    --*app_field;
    --*node_field;
    st->pending.bytes -= bytes;
    wh.pending.bytes -= bytes;
}

static unsigned long long unreported_drops(const struct app_state *st)
{
    unsigned long long n = 0;
    for (int r = 0; r < DROP_REASONS; r++)
        n += st->unreported_drops[r];
    return n;
}

/* True when st holds nothing and has nothing left to report. */
static bool idle(const struct app_state *st)
{
    return pending_count(&st->pending) == 0 && unreported_drops(st) == 0 &&
           st->unreported_failed == 0;
}

static bool due(uint64_t last_ms, uint64_t now)
{
    return last_ms == 0 || now - last_ms >= REPORT_INTERVAL_MS;
}

/* Logs st's unreported drops and give-ups, each kind at most once per REPORT_INTERVAL_MS;
 * what is not due yet is reported by a later housekeeping tick. */
static void report(struct app_state *st, uint64_t now)
{
    const unsigned long long *u = st->unreported_drops;
    unsigned long long drops = unreported_drops(st);
    if (drops > 0 && due(st->drops_reported_ms, now)) {
        rt_log_warn("app=%s webhooks: dropped %llu events since the last report "
                    "(app_full %llu, node_full %llu, rate %llu, removed %llu)",
                    st->app_id, drops, u[DROP_APP_FULL], u[DROP_NODE_FULL], u[DROP_RATE],
                    u[DROP_REMOVED]);
        memset(st->unreported_drops, 0, sizeof st->unreported_drops);
        st->drops_reported_ms = now;
    }
    if (st->unreported_failed > 0 && due(st->failed_reported_ms, now)) {
        rt_log_warn("app=%s webhooks: gave up on %llu requests (last: %s); see rtadmin webhook "
                    "failures %s",
                    st->app_id, st->unreported_failed, st->last_failure, st->app_id);
        st->unreported_failed = 0;
        st->failed_reported_ms = now;
    }
}

/* Counts n events (or requests) of st dropped for why. */
static void drop(struct app_state *st, enum drop_reason why, size_t n)
{
    if (n == 0) return;
    st->totals.dropped[why] += n;
    wh.totals.dropped[why] += n;
    st->unreported_drops[why] += n;
    report(st, rt_now_ms());
}

void rt_webhook_queue_full(const char *app_id, size_t n)
{
    if (wh.started) drop(app_state(app_id), DROP_APP_FULL, n);
}

void rt_webhook_backlog(const char *app_id, size_t n)
{
    if (wh.started) app_state(app_id)->backlog = n;
}

/* Reports what is due and, once a minute, frees the idle state of deleted apps. */
static void on_housekeeping(uv_timer_t *t)
{
    (void)t;
    uint64_t now = rt_now_ms();
    bool sweep = ++wh.ticks % SWEEP_TICKS == 0;
    struct app_state *st, *tmp;
    HASH_ITER(hh, wh.apps, st, tmp)
    {
        report(st, now);
        if (sweep && idle(st) && !rt_apps_by_id(st->app_id)) {
            HASH_DEL(wh.apps, st);
            app_state_free(st);
        }
    }
}

/* ---- scheduling ------------------------------------------------------------------------- */

/* Keeps st in the ready ring exactly when it has a delivery waiting and a free slot. */
static void update_ready(struct app_state *st)
{
    bool ready = st->queue_head && st->pending.in_flight < wh.limits.app_concurrency;
    if (ready == st->ready) return;
    if (ready)
        DL_APPEND2(wh.ready, st, ready_prev, ready_next);
    else
        DL_DELETE2(wh.ready, st, ready_prev, ready_next);
    st->ready = ready;
}

/* Appends a D_WAITING delivery to its app's queue. */
static void enqueue(struct delivery *d)
{
    struct app_state *st = d->app;
    d->next = NULL;
    if (st->queue_tail)
        st->queue_tail->next = d;
    else
        st->queue_head = d;
    st->queue_tail = d;
    update_ready(st);
}

static struct delivery *dequeue(struct app_state *st)
{
    struct delivery *d = st->queue_head;
    st->queue_head = d->next;
    if (!st->queue_head) st->queue_tail = NULL;
    d->next = NULL;
    return d;
}

static void attempt(struct delivery *d);

/* Starts waiting deliveries while the node has free slots, taking one from each ready app in
 * turn, so that an app whose endpoint hangs holds at most its own share of the slots. */
static void start_next(void)
{
    while (wh.ready && wh.pending.in_flight < RT_WEBHOOK_NODE_CONCURRENCY) {
        struct app_state *st = wh.ready;
        DL_DELETE2(wh.ready, st, ready_prev, ready_next);
        st->ready = false;
        attempt(dequeue(st));
        update_ready(st); /* back at the end of the ring when it has more */
    }
}

/* ---- requests ---------------------------------------------------------------------------- */

static const struct rt_webhook *find_webhook(const struct rt_app *app, long long wid)
{
    for (size_t i = 0; app && i < app->cfg->n_webhooks; i++)
        if (app->cfg->webhooks[i].id == wid) return &app->cfg->webhooks[i];
    return NULL;
}

static void delivery_free_cb(uv_handle_t *h)
{
    struct delivery *d = h->data;
    free(d->body);
    free(d);
}

/* Releases d from the counts and frees it. It must not be linked in an app queue. */
static void delivery_free(struct delivery *d)
{
    --*state_count(&d->app->pending, d->state);
    --*state_count(&wh.pending, d->state);
    d->app->pending.bytes -= d->bytes;
    wh.pending.bytes -= d->bytes;
    DL_DELETE2(wh.all, d, all_prev, all_next);
    if (d->timer_open) {
        uv_close((uv_handle_t *)&d->retry, delivery_free_cb);
        return;
    }
    free(d->body);
    free(d);
}

/* A new waiting request of st (ownership of body passes); counted, queued and started when a
 * slot is free. */
static void delivery_new(struct app_state *st, long long wid, char *body, const char *request_id,
                         const char *entry, uint64_t queued_ms)
{
    struct delivery *d = rt_xcalloc(1, sizeof *d);
    d->app = st;
    d->wid = wid;
    d->body = body;
    snprintf(d->request_id, sizeof d->request_id, "%s", request_id);
    snprintf(d->entry, sizeof d->entry, "%s", entry ? entry : "");
    d->queued_ms = queued_ms;
    d->bytes = sizeof *d + strlen(body) + 1;
    d->state = D_WAITING;
    count_in(st, &st->pending.waiting, &wh.pending.waiting, d->bytes);
    DL_APPEND2(wh.all, d, all_prev, all_next);
    enqueue(d);
}

static size_t discard_body(char *ptr, size_t size, size_t n, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * n;
}

static void on_retry(uv_timer_t *t)
{
    struct delivery *d = t->data;
    set_state(d, D_WAITING);
    enqueue(d);
    start_next();
}

/* The endpoint's last status as JSON text (malloc'd). */
static char *status_json(const struct delivery *d, bool ok, long status, const char *error,
                         bool retrying)
{
    json_t *s =
        json_pack("{s:b,s:I,s:s?,s:I,s:I,s:s,s:b}", "ok", ok, "status", (json_int_t)status, "error",
                  error, "at_ms", (json_int_t)(uint64_t)rt_unix_ms(), "attempts", (json_int_t)d->attempts,
                  "request_id", d->request_id, "retrying", retrying);
    char *text = s ? json_dumps(s, JSON_COMPACT) : NULL;
    json_decref(s);
    return text;
}

/* In-memory queue: remembers the endpoint's last status (takes json). */
static void set_status(struct app_state *st, long long wid, char *json)
{
    if (!json) return;
    struct endpoint_status *e = NULL;
    HASH_FIND(hh, st->status, &wid, sizeof wid, e);
    if (!e) {
        e = rt_xcalloc(1, sizeof *e);
        e->wid = wid;
        HASH_ADD(hh, st->status, wid, sizeof e->wid, e);
    }
    free(e->json);
    e->json = json;
}

/* In-memory queue: keeps record (JSON text, taken) as the newest dead letter of st. */
static void add_dead(struct app_state *st, char *record)
{
    if (!record) return;
    if (wh.limits.dead_letters == 0) {
        free(record);
        return;
    }
    if (st->n_dead == wh.limits.dead_letters) {
        free(st->dead[0]);
        memmove(st->dead, st->dead + 1, (st->n_dead - 1) * sizeof *st->dead);
        st->n_dead--;
    }
    if (!st->dead) st->dead = rt_xcalloc(wh.limits.dead_letters, sizeof *st->dead);
    st->dead[st->n_dead++] = record;
}

/* Gives d up: counted, logged (rate-limited) and kept in the app's dead letters. */
static void give_up(struct delivery *d, long status, const char *error)
{
    struct app_state *st = d->app;
    st->totals.failed++;
    wh.totals.failed++;
    st->unreported_failed++;
    snprintf(st->last_failure, sizeof st->last_failure, "%s after %u attempts, %s %ld", d->url,
             d->attempts, error, status);
    json_t *rec = json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:s,s:s}", "request_id", d->request_id,
                            "webhook_id", (json_int_t)d->wid, "url", d->url, "queued_at_ms",
                            (json_int_t)d->queued_ms, "failed_at_ms", (json_int_t)(uint64_t)rt_unix_ms(),
                            "attempts", (json_int_t)d->attempts, "error", error, "body", d->body);
    if (rec && status) json_object_set_new(rec, "status", json_integer(status));
    char *record = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    char *st_json = status_json(d, false, status, error, false);
    if (d->entry[0]) {
        if (record && st_json)
            rt_whq_dead(st->app_id, d->entry, d->wid, st_json, record, (int)wh.limits.dead_letters);
        free(record);
        free(st_json);
    } else {
        add_dead(st, record);
        set_status(st, d->wid, st_json);
    }
    report(st, rt_now_ms());
}

static void observe_latency(struct totals *t, double seconds)
{
    t->latency_sum += seconds;
    t->latency_count++;
    for (size_t i = 0; i < LATENCY_BUCKETS; i++)
        if (seconds <= latency_bounds[i]) t->latency_buckets[i]++;
}

/* Ends an attempt: a 2xx frees d; anything else retries it with exponential back-off from
 * RT_WEBHOOK_RETRY_BASE_MS (capped at 60 s, plus up to 25 % jitter) until
 * RT_WEBHOOK_RETRY_SECONDS after it was queued, and then gives it up. */
static void finish(struct delivery *d, long status, CURLcode rc)
{
    struct app_state *st = d->app;
    if (d->easy) {
        curl_multi_remove_handle(wh.multi, d->easy);
        curl_easy_cleanup(d->easy);
        d->easy = NULL;
    }
    curl_slist_free_all(d->headers);
    d->headers = NULL;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        st->totals.delivered++;
        wh.totals.delivered++;
        uint64_t now = (uint64_t)rt_unix_ms();
        double latency = now > d->queued_ms ? (double)(now - d->queued_ms) / 1000.0 : 0;
        observe_latency(&st->totals, latency);
        observe_latency(&wh.totals, latency);
        char *st_json = status_json(d, true, status, NULL, false);
        if (d->entry[0]) {
            if (st_json) rt_whq_delivered(st->app_id, d->entry, d->wid, st_json);
            free(st_json);
        } else {
            set_status(st, d->wid, st_json);
        }
        bool queued = d->entry[0] != '\0';
        delivery_free(d);
        update_ready(st);
        if (queued) rt_whq_kick(st->app_id);
        return;
    }
    const char *error = rc == CURLE_OK ? "HTTP" : curl_easy_strerror(rc);
    unsigned shift = d->attempts < 16 ? d->attempts - 1 : 15;
    uint64_t delay = wh.limits.retry_base_ms << shift;
    if (delay > RETRY_CAP_MS) delay = RETRY_CAP_MS;
    delay += randombytes_uniform((uint32_t)(delay / 4 + 1));
    if ((uint64_t)rt_unix_ms() + delay - d->queued_ms > wh.limits.retry_ms) {
        give_up(d, status, error);
        bool queued = d->entry[0] != '\0';
        delivery_free(d);
        update_ready(st);
        if (queued) rt_whq_kick(st->app_id);
        return;
    }
    rt_log_debug("app=%s webhook to %s failed (%s %ld); retry %u in %llu ms", st->app_id, d->url,
                 error, status, d->attempts, (unsigned long long)delay);
    char *st_json = status_json(d, false, status, error, true);
    if (d->entry[0]) {
        if (st_json) rt_whq_status(st->app_id, d->wid, st_json);
        free(st_json);
    } else {
        set_status(st, d->wid, st_json);
    }
    st->totals.retried++;
    wh.totals.retried++;
    set_state(d, D_RETRYING);
    update_ready(st);
    if (!d->timer_open) {
        uv_timer_init(wh.loop, &d->retry);
        d->retry.data = d;
        d->timer_open = true;
    }
    uv_timer_start(&d->retry, on_retry, delay, 0);
}

/* Drops d because its app, its webhook or the app's keys are gone. */
static void discard(struct delivery *d)
{
    struct app_state *st = d->app;
    drop(st, DROP_REMOVED, 1);
    if (d->entry[0]) rt_whq_delivered(st->app_id, d->entry, d->wid, NULL);
    delivery_free(d);
    update_ready(st);
}

static void attempt(struct delivery *d)
{
    struct rt_app *app = rt_apps_by_id(d->app->app_id);
    const struct rt_webhook *w = find_webhook(app, d->wid);
    if (!w || app->cfg->n_keys == 0) {
        discard(d);
        return;
    }
    set_state(d, D_IN_FLIGHT);
    d->attempts++;
    rt_url_redact(w->url, d->url, sizeof d->url);
    d->easy = curl_easy_init();
    if (!d->easy) {
        finish(d, 0, CURLE_OUT_OF_MEMORY);
        return;
    }
    /* The oldest active key signs, as Pusher does when an app has several. */
    const struct rt_app_key *k = &app->cfg->keys[0];
    char signature[RT_SHA256_HEX_LEN + 1];
    rt_hmac_sha256_hex(k->secret, strlen(k->secret), d->body, strlen(d->body), signature);
    char sig_header[128], key_header[128], id_header[128];
    snprintf(sig_header, sizeof sig_header, "X-Pusher-Signature: %s", signature);
    snprintf(key_header, sizeof key_header, "X-Pusher-Key: %s", k->key);
    snprintf(id_header, sizeof id_header, "X-Realtime-Webhook-Id: %s", d->request_id);
    d->headers = curl_slist_append(NULL, "Content-Type: application/json");
    d->headers = curl_slist_append(d->headers, key_header);
    d->headers = curl_slist_append(d->headers, sig_header);
    d->headers = curl_slist_append(d->headers, id_header);
    d->headers = curl_slist_append(d->headers, "Expect:");
    curl_easy_setopt(d->easy, CURLOPT_URL, w->url);
    curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "realtime-webhooks/1");
    curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
    if (curl_multi_add_handle(wh.multi, d->easy) != CURLM_OK) finish(d, 0, CURLE_FAILED_INIT);
}

static void check_done(void)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(wh.multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct delivery *d;
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        finish(d, status, msg->data.result);
    }
    start_next();
}

/* ---- requests read from the durable queue ------------------------------------------------ */

size_t rt_webhook_budget(const char *app_id)
{
    if (!wh.started || rt_srv.draining) return 0;
    struct app_state *st = app_state(app_id);
    const struct pending *a = &st->pending, *n = &wh.pending;
    size_t used = a->waiting + a->in_flight + a->retrying;
    size_t node_used = n->waiting + n->in_flight + n->retrying;
    if (used >= wh.limits.app_concurrency || node_used >= wh.limits.max_pending) return 0;
    size_t room = wh.limits.app_concurrency - used;
    return room < wh.limits.max_pending - node_used ? room : wh.limits.max_pending - node_used;
}

void rt_webhook_take(const char *app_id, const char *entry, long long wid, const char *request_id,
                     const char *body, uint64_t queued_ms)
{
    if (!wh.started) return;
    delivery_new(app_state(app_id), wid, rt_xstrdup(body), request_id, entry, queued_ms);
    start_next();
}

bool rt_webhook_holds(const char *app_id, const char *entry)
{
    struct delivery *d;
    DL_FOREACH2(wh.all, d, all_next)
    if (strcmp(d->entry, entry) == 0 && strcmp(d->app->app_id, app_id) == 0) return true;
    return false;
}

void rt_webhook_each_entry(const char *app_id, void (*fn)(const char *entry, void *ctx), void *ctx)
{
    struct delivery *d;
    DL_FOREACH2(wh.all, d, all_next)
    if (d->entry[0] && strcmp(d->app->app_id, app_id) == 0) fn(d->entry, ctx);
}

/* ---- in-memory batch windows --------------------------------------------------------------- */

static void random_request_id(char *out, size_t cap)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    char hex[2 * sizeof raw + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(out, cap, "m-%s", hex);
}

static void window_free_cb(uv_handle_t *h)
{
    free(h->data);
}

/* Turns the window's events into one request and closes the window. */
static void window_flush(struct window *win)
{
    struct app_state *st = win->app;
    size_t n = json_array_size(win->events);
    uint64_t now = (uint64_t)rt_unix_ms();
    json_t *root = json_pack("{s:I,s:o}", "time_ms", (json_int_t)now, "events", win->events);
    char *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    st->pending.batching -= n;
    wh.pending.batching -= n;
    st->pending.bytes -= win->bytes;
    wh.pending.bytes -= win->bytes;
    HASH_DEL(wh.windows, win);
    uv_timer_stop(&win->timer);
    long long wid = win->wid;
    uv_close((uv_handle_t *)&win->timer, window_free_cb);
    if (!body) return;
    char request_id[40];
    random_request_id(request_id, sizeof request_id);
    delivery_new(st, wid, body, request_id, NULL, now);
    start_next();
}

static void on_window(uv_timer_t *t)
{
    window_flush(t->data);
}

/* Adds event (borrowed) to w's window; the first event opens it for w->batch_window_ms, the
 * batch_max-th closes it at once. */
static void window_add(struct app_state *st, const struct rt_webhook *w, json_t *event,
                       size_t bytes)
{
    char key[sizeof((struct window *)0)->key];
    snprintf(key, sizeof key, "%s\x1f%lld", st->app_id, w->id);
    struct window *win = NULL;
    HASH_FIND_STR(wh.windows, key, win);
    if (!win) {
        win = rt_xcalloc(1, sizeof *win);
        memcpy(win->key, key, sizeof key);
        win->app = st;
        win->wid = w->id;
        win->events = json_array();
        uv_timer_init(wh.loop, &win->timer);
        win->timer.data = win;
        HASH_ADD_STR(wh.windows, key, win);
    }
    json_array_append(win->events, event);
    win->bytes += bytes;
    count_in(st, &st->pending.batching, &wh.pending.batching, bytes);
    size_t n = json_array_size(win->events);
    if (w->batch_window_ms <= 0 || n >= (size_t)(w->batch_max > 0 ? w->batch_max : 1))
        window_flush(win);
    else if (n == 1)
        uv_timer_start(&win->timer, on_window, (uint64_t)w->batch_window_ms, 0);
}

static bool wants(const struct rt_webhook *w, const char *name)
{
    if (w->n_event_types == 0) return true;
    for (size_t i = 0; i < w->n_event_types; i++)
        if (strcmp(w->event_types[i], name) == 0) return true;
    return false;
}

/* Number of the app's webhook URLs that take events called name. */
static size_t interested(const struct rt_app_config *cfg, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_webhooks; i++)
        n += wants(&cfg->webhooks[i], name);
    return n;
}

/* In-memory queue: puts event (borrowed) in the window of every webhook of app that wants it,
 * as far as the caps allow. */
static void emit_local(struct rt_app *app, struct app_state *st, json_t *event, const char *name)
{
    char *text = json_dumps(event, JSON_COMPACT);
    size_t bytes = text ? strlen(text) + 64 : 64;
    free(text);
    for (size_t i = 0; i < app->cfg->n_webhooks; i++) {
        const struct rt_webhook *w = &app->cfg->webhooks[i];
        if (!wants(w, name)) continue;
        enum drop_reason why;
        if (!has_room(st, bytes, &why)) {
            drop(st, why, 1);
            continue;
        }
        window_add(st, w, event, bytes);
    }
}

/* ---- in-memory settle window for vacated / member_removed ---------------------------------- */

static char *held_id(char kind, const char *app_id, const char *hold_id)
{
    char *id = NULL;
    if (asprintf(&id, "%c\x1f%s\x1f%s", kind, app_id, hold_id) < 0) rt_out_of_memory("asprintf", 0);
    return id;
}

static void held_free_cb(uv_handle_t *h)
{
    struct held *e = h->data;
    free(e->id);
    json_decref(e->event);
    free(e);
}

static void held_drop(struct held *e)
{
    HASH_DEL(wh.held, e);
    count_out(e->app, &e->app->pending.held, &wh.pending.held, e->bytes);
    uv_timer_stop(&e->timer);
    uv_close((uv_handle_t *)&e->timer, held_free_cb);
}

static void on_held(uv_timer_t *t)
{
    struct held *e = t->data;
    struct rt_app *app = rt_apps_by_id(e->app->app_id);
    struct app_state *st = e->app;
    json_t *ev = json_incref(e->event);
    held_drop(e); /* first, so that the event has the room it held */
    const char *name = json_string_value(json_object_get(ev, "name"));
    if (app && name) emit_local(app, st, ev, name);
    json_decref(ev);
}

/* Holds event (taken) for the settle window; held events count against the caps. */
static void hold(struct app_state *st, char kind, const char *hold_id, json_t *event)
{
    char *id = held_id(kind, st->app_id, hold_id);
    struct held *old = NULL;
    HASH_FIND_STR(wh.held, id, old);
    if (old) held_drop(old);
    size_t bytes = sizeof(struct held) + strlen(id) + 1 + strlen(hold_id) + 64;
    enum drop_reason why;
    if (!has_room(st, bytes, &why)) {
        free(id);
        json_decref(event);
        drop(st, why, 1);
        return;
    }
    struct held *e = rt_xcalloc(1, sizeof *e);
    e->id = id;
    e->app = st;
    e->bytes = bytes;
    e->event = event;
    count_in(st, &st->pending.held, &wh.pending.held, bytes);
    uv_timer_init(wh.loop, &e->timer);
    e->timer.data = e;
    uv_timer_start(&e->timer, on_held, RT_WEBHOOK_SETTLE_MS, 0);
    HASH_ADD_KEYPTR(hh, wh.held, e->id, strlen(e->id), e);
}

/* Cancels a held event of that identity; returns true when one was pending (the pair is then
 * dropped: the client came back within the settle window). */
static bool unhold(struct app_state *st, char kind, const char *hold_id)
{
    char *id = held_id(kind, st->app_id, hold_id);
    struct held *e = NULL;
    HASH_FIND_STR(wh.held, id, e);
    free(id);
    if (!e) return false;
    held_drop(e);
    return true;
}

/* ---- events ----------------------------------------------------------------------------- */

/* Durable queue: hands event (borrowed) to webhook_queue.c with the webhooks that want it.
 * Returns -1 when it could not be sent. */
static int queue_event(struct rt_app *app, char kind, const char *hold_id, json_t *event,
                       const char *name)
{
    char spec[1024];
    size_t len = 0;
    int min_window = 0;
    spec[0] = '\0';
    for (size_t i = 0; i < app->cfg->n_webhooks; i++) {
        const struct rt_webhook *w = &app->cfg->webhooks[i];
        if (!wants(w, name)) continue;
        int n = snprintf(spec + len, sizeof spec - len, "%s%lld:%d:%d", len ? "," : "", w->id,
                         w->batch_window_ms, w->batch_max);
        if (n < 0 || (size_t)n >= sizeof spec - len) break; /* dozens of webhooks: the rest */
        len += (size_t)n;
        if (w->batch_window_ms > 0 && (min_window == 0 || w->batch_window_ms < min_window))
            min_window = w->batch_window_ms;
    }
    char *text = json_dumps(event, JSON_COMPACT);
    if (!text) return 0; /* cannot happen: jansson allocates through rt_xmalloc */
    int rc = rt_whq_event(app->cfg->id, kind, hold_id, text, spec, min_window, RT_WEBHOOK_SETTLE_MS,
                          wh.limits.app_max_pending);
    free(text);
    return rc;
}

/* Everything but client_event comes from channel and member churn, which a client can
 * produce at will by subscribing to new names: those pass the app's token bucket. */
static bool is_channel_event(const char *name)
{
    return strcmp(name, "client_event") != 0;
}

/* One event of app (ownership of event passes). kind: 'o' occupied and 'a' member added
 * cancel a held 'v' vacated / 'r' member removed of the same hold_id (channel, or channel
 * 0x1f user); 'c' is a subscription_count (de-duplicated in the durable queue), 'x' any other
 * kind. */
static void event(struct rt_app *app, char kind, const char *hold_id, json_t *event)
{
    const struct rt_app_config *cfg = app->cfg;
    const char *name = json_string_value(json_object_get(event, "name"));
    if (!wh.started || cfg->n_webhooks == 0 || cfg->n_keys == 0 || !name) {
        json_decref(event);
        return;
    }
    /* The other half of a hold/cancel pair: whether anyone wants it decides whether to hold. */
    const char *pair = kind == 'v'   ? "channel_occupied"
                       : kind == 'r' ? "member_added"
                       : kind == 'o' ? "channel_vacated"
                       : kind == 'a' ? "member_removed"
                                     : NULL;
    size_t wanted = interested(cfg, name);
    if (wanted == 0 && !(pair && interested(cfg, pair))) {
        json_decref(event);
        return;
    }
    struct app_state *st = app_state(cfg->id);
    if (is_channel_event(name) &&
        !rt_bucket_take(&st->channel_events, wh.limits.channel_events_per_second,
                        wh.limits.channel_events_burst, rt_now_ms())) {
        json_decref(event);
        drop(st, DROP_RATE, wanted ? wanted : 1);
        return;
    }
    if (rt_registry_active() && queue_event(app, kind, hold_id, event, name) == 0) {
        json_decref(event);
        return;
    }
    if ((kind == 'o' && unhold(st, 'v', hold_id)) || (kind == 'a' && unhold(st, 'r', hold_id))) {
        json_decref(event);
        return;
    }
    if (kind == 'v' || kind == 'r') {
        hold(st, kind, hold_id, event);
        return;
    }
    emit_local(app, st, event, name);
    json_decref(event);
}

static char *member_hold_id(const char *channel, const char *user_id)
{
    char *id = NULL;
    if (asprintf(&id, "%s\x1f%s", channel, user_id) < 0) rt_out_of_memory("asprintf", 0);
    return id;
}

static void channel_occupied(struct rt_app *app, const char *channel)
{
    event(app, 'o', channel,
          json_pack("{s:s,s:s}", "name", "channel_occupied", "channel", channel));
}

static void channel_vacated(struct rt_app *app, const char *channel)
{
    event(app, 'v', channel, json_pack("{s:s,s:s}", "name", "channel_vacated", "channel", channel));
}

static void member_added(struct rt_app *app, const char *channel, const char *user_id)
{
    char *id = member_hold_id(channel, user_id);
    event(
        app, 'a', id,
        json_pack("{s:s,s:s,s:s}", "name", "member_added", "channel", channel, "user_id", user_id));
    free(id);
}

static void member_removed(struct rt_app *app, const char *channel, const char *user_id)
{
    char *id = member_hold_id(channel, user_id);
    event(app, 'r', id,
          json_pack("{s:s,s:s,s:s}", "name", "member_removed", "channel", channel, "user_id",
                    user_id));
    free(id);
}

static void subscription_count(struct rt_app *app, const char *channel, size_t count)
{
    if (!app->cfg->subscription_count || count == 0) return;
    /* Several nodes may broadcast the same cluster total: the queue keeps one ('c'). */
    event(app, 'c', channel,
          json_pack("{s:s,s:s,s:I}", "name", "subscription_count", "channel", channel,
                    "subscription_count", (json_int_t)count));
}

static void cache_miss(struct rt_app *app, const char *channel)
{
    event(app, 'x', channel, json_pack("{s:s,s:s}", "name", "cache_miss", "channel", channel));
}

static void client_event(struct rt_app *app, const char *channel, const char *name,
                         const json_t *data, const char *socket_id, const char *user_id)
{
    if (!wh.started || app->cfg->n_webhooks == 0) return;
    char *text = json_is_string(data) ? rt_xstrdup(json_string_value(data))
                                      : json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "client_event", "channel", channel,
                           "event", name, "data", text ? text : "null", "socket_id", socket_id);
    free(text);
    if (ev && user_id) json_object_set_new(ev, "user_id", json_string(user_id));
    if (ev) event(app, 'x', channel, ev);
}

/* The listener of channel transitions (rt_transition.h). */
static void on_transition(const struct rt_transition *t)
{
    switch (t->kind) {
    case RT_TRANSITION_OCCUPIED:
        channel_occupied(t->app, t->channel);
        break;
    case RT_TRANSITION_VACATED:
        channel_vacated(t->app, t->channel);
        break;
    case RT_TRANSITION_MEMBER_ADDED:
        member_added(t->app, t->channel, t->user_id);
        break;
    case RT_TRANSITION_MEMBER_REMOVED:
        member_removed(t->app, t->channel, t->user_id);
        break;
    case RT_TRANSITION_COUNT:
        subscription_count(t->app, t->channel, t->count);
        break;
    case RT_TRANSITION_CACHE_MISS:
        cache_miss(t->app, t->channel);
        break;
    case RT_TRANSITION_CLIENT_EVENT:
        client_event(t->app, t->channel, t->event, t->data, t->socket_id, t->user_id);
        break;
    }
}

size_t rt_webhooks_flush(void)
{
    struct held *e, *tmp;
    HASH_ITER(hh, wh.held, e, tmp)
    on_held(&e->timer);
    struct window *w, *wtmp;
    HASH_ITER(hh, wh.windows, w, wtmp)
    window_flush(w);
    /* Requests of the durable queue that wait here stay pending in Redis when this process
     * exits: another node claims them. Only the in-memory ones and requests in flight count. */
    size_t n = wh.pending.held + wh.pending.batching;
    struct delivery *d;
    DL_FOREACH2(wh.all, d, all_next)
    n += !d->entry[0] || d->state == D_IN_FLIGHT;
    return n;
}

/* ---- the webhook routes of the HTTP API ---------------------------------------------------- */

/* A failure record as the API shows it: the request's events instead of its body. Takes rec. */
static json_t *failure_view(json_t *rec)
{
    json_t *body = json_loads(json_string_value(json_object_get(rec, "body")) ?: "", 0, NULL);
    json_t *events = json_object_get(body, "events");
    json_object_set(rec, "events", json_is_array(events) ? events : json_array());
    json_object_del(rec, "body");
    json_decref(body);
    return rec;
}

static void answer(uint64_t request_id, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    rt_http_answer(request_id, status, text ? text : rt_xstrdup("{}"));
}

static void set_response(struct rt_rest_response *out, int status, json_t *body)
{
    out->status = status;
    out->content_type = "application/json";
    out->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
}

static void set_error(struct rt_rest_response *out, int status, const char *msg)
{
    set_response(out, status, json_pack("{s:s}", "error", msg));
}

/* {"webhooks":[{"id","url","last"}],"queued","dead_letters"} from last ({W: status text or
 * object}, borrowed). */
static json_t *state_view(const struct rt_app *app, json_t *last, size_t queued, size_t dead)
{
    json_t *list = json_array();
    for (size_t i = 0; app && i < app->cfg->n_webhooks; i++) {
        const struct rt_webhook *w = &app->cfg->webhooks[i];
        char wid[24], url[LOG_URL_MAX];
        snprintf(wid, sizeof wid, "%lld", w->id);
        rt_url_redact(w->url, url, sizeof url);
        json_t *s = json_object_get(last, wid);
        json_t *status =
            json_is_string(s) ? json_loads(json_string_value(s), 0, NULL) : json_incref(s);
        json_array_append_new(list, json_pack("{s:I,s:s,s:o}", "id", (json_int_t)w->id, "url", url,
                                              "last", status ? status : json_null()));
    }
    return json_pack("{s:o,s:I,s:I}", "webhooks", list, "queued", (json_int_t)queued,
                     "dead_letters", (json_int_t)dead);
}

struct admin_job {
    uint64_t request_id;
    char app_id[RT_APP_ID_MAX + 1];
};

static void on_state(uint64_t ctx, json_t *r)
{
    struct admin_job *j = (struct admin_job *)(uintptr_t)ctx;
    if (!r) {
        answer(j->request_id, 503, json_pack("{s:s}", "error", "Cluster bus unavailable"));
    } else {
        json_t *view = state_view(rt_apps_by_id(j->app_id), json_object_get(r, "last"),
                                  (size_t)json_integer_value(json_object_get(r, "queued")),
                                  (size_t)json_integer_value(json_object_get(r, "dead_letters")));
        json_decref(r);
        answer(j->request_id, 200, view);
    }
    free(j);
}

static void on_failures(uint64_t ctx, json_t *r)
{
    struct admin_job *j = (struct admin_job *)(uintptr_t)ctx;
    if (!r) {
        answer(j->request_id, 503, json_pack("{s:s}", "error", "Cluster bus unavailable"));
    } else {
        size_t i;
        json_t *rec;
        json_array_foreach(json_object_get(r, "failures"), i, rec) failure_view(rec);
        answer(j->request_id, 200, r);
    }
    free(j);
}

static void on_requeue(uint64_t ctx, json_t *r)
{
    struct admin_job *j = (struct admin_job *)(uintptr_t)ctx;
    if (!r)
        answer(j->request_id, 503, json_pack("{s:s}", "error", "Cluster bus unavailable"));
    else
        answer(j->request_id, 200, r);
    free(j);
}

/* In-memory queue: the routes answered from this process. */
static void local_route(struct rt_app *app, int route, int limit, struct rt_rest_response *out)
{
    struct app_state *st = app_state(app->cfg->id);
    if (route == 0) {
        json_t *last = json_object();
        struct endpoint_status *e, *tmp;
        HASH_ITER(hh, st->status, e, tmp)
        {
            char wid[24];
            snprintf(wid, sizeof wid, "%lld", e->wid);
            json_object_set_new(last, wid, json_string(e->json));
        }
        const struct pending *p = &st->pending;
        set_response(out, 200,
                     state_view(app, last, p->waiting + p->in_flight + p->retrying, st->n_dead));
        json_decref(last);
    } else if (route == 1) {
        json_t *list = json_array();
        for (size_t i = st->n_dead; i > 0 && json_array_size(list) < (size_t)limit; i--) {
            json_t *rec = json_loads(st->dead[i - 1], 0, NULL);
            if (rec) json_array_append_new(list, failure_view(rec));
        }
        set_response(out, 200, json_pack("{s:o}", "failures", list));
    } else {
        size_t n = st->n_dead;
        for (size_t i = 0; i < n; i++) {
            json_t *rec = json_loads(st->dead[i], 0, NULL);
            const char *body = json_string_value(json_object_get(rec, "body"));
            const char *rid = json_string_value(json_object_get(rec, "request_id"));
            if (body && rid)
                delivery_new(st, json_integer_value(json_object_get(rec, "webhook_id")),
                             rt_xstrdup(body), rid, NULL, (uint64_t)rt_unix_ms());
            json_decref(rec);
            free(st->dead[i]);
        }
        st->n_dead = 0;
        start_next();
        set_response(out, 200, json_pack("{s:I}", "requeued", (json_int_t)n));
    }
}

bool rt_webhooks_route(struct rt_app *app, const char *method, const char *rest,
                       const struct rt_query *q, uint64_t request_id, struct rt_rest_response *out)
{
    int route;
    if (strcmp(rest, "/webhooks") == 0)
        route = 0;
    else if (strcmp(rest, "/webhooks/failures") == 0)
        route = 1;
    else if (strcmp(rest, "/webhooks/retry") == 0)
        route = 2;
    else
        return false;
    if (strcmp(method, route == 2 ? "POST" : "GET") != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "Method %s not allowed on %s", method, rest);
        set_error(out, 405, msg);
        return true;
    }
    int limit = FAILURES_DEFAULT;
    const char *l = q ? rt_query_get(q, "limit") : NULL;
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > 1000) {
            set_error(out, 400, "limit must be an integer from 1 to 1000");
            return true;
        }
        limit = (int)v;
    }
    if (!wh.started) {
        set_error(out, 503, "Webhooks are not running on this server");
        return true;
    }
    if (!rt_registry_clustered()) {
        local_route(app, route, limit, out);
        return true;
    }
    if (!rt_registry_active()) {
        set_error(out, 503, "Cluster bus unavailable");
        return true;
    }
    struct admin_job *j = rt_xcalloc(1, sizeof *j);
    j->request_id = request_id;
    snprintf(j->app_id, sizeof j->app_id, "%s", app->cfg->id);
    uint64_t ctx = (uint64_t)(uintptr_t)j;
    int rc = route == 0   ? rt_whq_state(app->cfg->id, ctx, on_state)
             : route == 1 ? rt_whq_failures(app->cfg->id, limit, ctx, on_failures)
                          : rt_whq_requeue(app->cfg->id, ctx, on_requeue);
    if (rc != 0) {
        free(j);
        set_error(out, 503, "Cluster bus unavailable");
        return true;
    }
    out->pending = true;
    return true;
}

/* ---- metrics ---------------------------------------------------------------------------- */

/* The _bucket, _sum and _count series of a latency histogram; labels is "" or "k=\"v\",". */
static void write_latency(FILE *f, const char *name, const char *labels, const struct totals *t)
{
    for (size_t i = 0; i < LATENCY_BUCKETS; i++)
        fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, latency_bounds[i],
                t->latency_buckets[i]);
    fprintf(f, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, t->latency_count);
    size_t n = strlen(labels);
    if (n) /* "app=\"X\"," -> {app="X"} */
        fprintf(f, "%s_sum{%.*s} %.3f\n%s_count{%.*s} %llu\n", name, (int)n - 1, labels,
                t->latency_sum, name, (int)n - 1, labels, t->latency_count);
    else
        fprintf(f, "%s_sum %.3f\n%s_count %llu\n", name, t->latency_sum, name, t->latency_count);
}

void rt_webhooks_write_metrics(FILE *f)
{
    const struct pending *p = &wh.pending;
    const struct totals *t = &wh.totals;
    fprintf(f, "# TYPE rt_webhooks_queued gauge\nrt_webhooks_queued %zu\n",
            p->waiting + p->retrying);
    fprintf(f, "# TYPE rt_webhooks_in_flight gauge\nrt_webhooks_in_flight %zu\n", p->in_flight);
    fprintf(f, "# TYPE rt_webhooks_held gauge\nrt_webhooks_held %zu\n", p->held + p->batching);
    fprintf(f, "# TYPE rt_webhooks_pending_bytes gauge\nrt_webhooks_pending_bytes %zu\n", p->bytes);
    fprintf(f, "# TYPE rt_webhooks_delivered_total counter\nrt_webhooks_delivered_total %llu\n",
            t->delivered);
    fprintf(f, "# TYPE rt_webhooks_retried_total counter\nrt_webhooks_retried_total %llu\n",
            t->retried);
    fprintf(f, "# TYPE rt_webhooks_failed_total counter\nrt_webhooks_failed_total %llu\n",
            t->failed);
    fprintf(f, "# TYPE rt_webhooks_dropped_total counter\n");
    for (int r = 0; r < DROP_REASONS; r++)
        fprintf(f, "rt_webhooks_dropped_total{reason=\"%s\"} %llu\n", drop_reason_name[r],
                t->dropped[r]);
    fprintf(f, "# TYPE rt_webhooks_latency_seconds histogram\n");
    write_latency(f, "rt_webhooks_latency_seconds", "", t);
    fprintf(f, "# TYPE rt_app_webhooks_queued gauge\n# TYPE rt_app_webhooks_in_flight gauge\n"
               "# TYPE rt_app_webhooks_held gauge\n# TYPE rt_app_webhooks_pending_bytes gauge\n"
               "# TYPE rt_app_webhooks_backlog gauge\n"
               "# TYPE rt_app_webhooks_delivered_total counter\n"
               "# TYPE rt_app_webhooks_retried_total counter\n"
               "# TYPE rt_app_webhooks_failed_total counter\n"
               "# TYPE rt_app_webhooks_dropped_total counter\n"
               "# TYPE rt_app_webhooks_latency_seconds histogram\n");
}

void rt_webhooks_write_app_metrics(FILE *f, const char *app_id)
{
    static const struct app_state none;
    const struct app_state *st = NULL;
    HASH_FIND_STR(wh.apps, app_id, st);
    if (!st) st = &none;
    const struct pending *p = &st->pending;
    const struct totals *t = &st->totals;
    fprintf(f, "rt_app_webhooks_queued{app=\"%s\"} %zu\n", app_id, p->waiting + p->retrying);
    fprintf(f, "rt_app_webhooks_in_flight{app=\"%s\"} %zu\n", app_id, p->in_flight);
    fprintf(f, "rt_app_webhooks_held{app=\"%s\"} %zu\n", app_id, p->held + p->batching);
    fprintf(f, "rt_app_webhooks_pending_bytes{app=\"%s\"} %zu\n", app_id, p->bytes);
    fprintf(f, "rt_app_webhooks_backlog{app=\"%s\"} %zu\n", app_id, st->backlog);
    fprintf(f, "rt_app_webhooks_delivered_total{app=\"%s\"} %llu\n", app_id, t->delivered);
    fprintf(f, "rt_app_webhooks_retried_total{app=\"%s\"} %llu\n", app_id, t->retried);
    fprintf(f, "rt_app_webhooks_failed_total{app=\"%s\"} %llu\n", app_id, t->failed);
    for (int r = 0; r < DROP_REASONS; r++)
        fprintf(f, "rt_app_webhooks_dropped_total{app=\"%s\",reason=\"%s\"} %llu\n", app_id,
                drop_reason_name[r], t->dropped[r]);
    char labels[RT_APP_ID_MAX + 16];
    snprintf(labels, sizeof labels, "app=\"%s\",", app_id);
    write_latency(f, "rt_app_webhooks_latency_seconds", labels, t);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static size_t or_default(int v, size_t fallback)
{
    return v > 0 ? (size_t)v : fallback;
}

int rt_webhooks_start(uv_loop_t *loop)
{
    const struct rt_config *c = &rt_srv.cfg;
    wh.limits = (struct limits){
        .max_pending = or_default(c->webhook_max_pending, 10000),
        .max_pending_bytes = or_default(c->webhook_max_pending_kb, 65536) * 1024,
        .app_max_pending = or_default(c->webhook_app_max_pending, 1000),
        .app_max_pending_bytes = or_default(c->webhook_app_max_pending_kb, 8192) * 1024,
        .app_concurrency = or_default(c->webhook_app_concurrency, 4),
        .channel_events_per_second = c->webhook_app_channel_events_per_second,
        .channel_events_burst = (double)or_default(c->webhook_app_channel_events_burst, 1000),
        .retry_ms = (uint64_t)or_default(c->webhook_retry_seconds, 300) * 1000u,
        .retry_base_ms = or_default(c->webhook_retry_base_ms, 1000),
        .dead_letters = c->webhook_dead_letters >= 0 ? (size_t)c->webhook_dead_letters : 1000,
    };
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
    wh.loop = loop;
    wh.multi = curl_multi_init();
    if (!wh.multi) return -1;
    uv_timer_init(loop, &wh.timeout);
    uv_timer_init(loop, &wh.housekeeping);
    uv_timer_start(&wh.housekeeping, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    uv_unref((uv_handle_t *)&wh.housekeeping);
    curl_multi_setopt(wh.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(wh.multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    /* Idle keep-alive connections count against the descriptors main.c keeps back too. */
    curl_multi_setopt(wh.multi, CURLMOPT_MAXCONNECTS, (long)RT_WEBHOOK_NODE_CONCURRENCY);
    wh.started = true;
    rt_transition_listen(on_transition);
    if (c->redis_url) rt_whq_start(loop);
    return 0;
}

/* Drops what this process holds. The in-memory queue is lost (documented in
 * docs/webhooks.md); requests of the durable queue stay pending in Redis, where another node
 * (or this one, restarted) claims them. */
void rt_webhooks_stop(void)
{
    if (!wh.started) return;
    wh.started = false;
    rt_transition_unlisten(on_transition);
    rt_whq_stop();
    struct held *e, *tmp;
    HASH_ITER(hh, wh.held, e, tmp)
    held_drop(e);
    struct window *w, *wtmp;
    HASH_ITER(hh, wh.windows, w, wtmp)
    {
        HASH_DEL(wh.windows, w);
        json_decref(w->events);
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, window_free_cb);
    }
    struct delivery *d, *dtmp;
    DL_FOREACH_SAFE2(wh.all, d, dtmp, all_next)
    {
        if (d->easy) {
            curl_multi_remove_handle(wh.multi, d->easy);
            curl_easy_cleanup(d->easy);
            curl_slist_free_all(d->headers);
        }
        if (d->timer_open) uv_timer_stop(&d->retry);
        delivery_free(d);
    }
    struct app_state *st, *stmp;
    HASH_ITER(hh, wh.apps, st, stmp)
    {
        report(st, rt_now_ms() + REPORT_INTERVAL_MS); /* what was not reported yet */
        HASH_DEL(wh.apps, st);
        app_state_free(st);
    }
    wh.ready = NULL;
    curl_multi_cleanup(wh.multi);
    struct sock_ctx *sc, *sctmp;
    DL_FOREACH_SAFE(wh.socks, sc, sctmp)
    {
        DL_DELETE(wh.socks, sc);
        uv_poll_stop(&sc->poll);
        uv_close((uv_handle_t *)&sc->poll, free_sock);
    }
    wh.multi = NULL;
    uv_timer_stop(&wh.timeout);
    uv_close((uv_handle_t *)&wh.timeout, NULL);
    uv_timer_stop(&wh.housekeeping);
    uv_close((uv_handle_t *)&wh.housekeeping, NULL);
    curl_global_cleanup();
}
