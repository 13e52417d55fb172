/* Webhook delivery: libcurl multi driven by the libuv loop, signed bodies, retries, and the
 * per-app queues, shares and caps that keep one app's endpoint from starving the others. */
#include "webhook.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uthash.h>
#include <utlist.h>

#include "app.h"
#include "conn.h"
#include "log.h"
#include "rt_alloc.h"
#include "rt_hmac.h"
#include "rt_ratelimit.h"
#include "rt_url.h"
#include "server.h"

#define REQUEST_TIMEOUT_MS 5000L
#define CONNECT_TIMEOUT_MS 3000L
#define REPORT_INTERVAL_MS 10000u /* drop and give-up lines: at most one per app this often */
#define HOUSEKEEPING_MS 1000u
#define SWEEP_TICKS 60u /* idle state of deleted apps is freed every minute */
#define LOG_URL_MAX 256

enum drop_reason { DROP_NODE_FULL, DROP_APP_FULL, DROP_RATE, DROP_REASONS };
static const char *const drop_reason_name[DROP_REASONS] = {"node_full", "app_full", "rate"};

enum delivery_state { D_WAITING, D_IN_FLIGHT, D_RETRYING };

/* What one app, or the node, holds now. Each delivery is in exactly one of the first three;
 * bytes covers the deliveries and the held events. */
struct pending {
    size_t waiting, in_flight, retrying, held, bytes;
};

/* Cumulative counts for /metrics. */
struct totals {
    unsigned long long delivered, retried, failed, dropped[DROP_REASONS];
};

/* Per-app delivery state, keyed by app id. It outlives the app's deliveries (its totals are
 * counters) and is freed by the housekeeping sweep once idle and the app is deleted. */
struct app_state {
    char app_id[RT_APP_ID_MAX + 1];
    struct delivery *queue_head, *queue_tail; /* D_WAITING, oldest first */
    struct pending pending;
    struct totals totals;
    struct rt_bucket channel_events;
    /* Drops and give-ups not yet reported in the log, and when each was last reported. */
    unsigned long long unreported_drops[DROP_REASONS], unreported_failed;
    uint64_t drops_reported_ms, failed_reported_ms;
    char last_failure[LOG_URL_MAX + 96]; /* redacted URL and error of the latest give-up */
    bool ready;                          /* linked in wh.ready */
    struct app_state *ready_next, *ready_prev;
    UT_hash_handle hh;
};

struct delivery {
    struct app_state *app;
    enum delivery_state state;
    size_t bytes; /* counted against the caps */
    char *url;
    char *body;
    char key[RT_APP_KEY_MAX + 1];
    char signature[RT_SHA256_HEX_LEN + 1];
    uint64_t created_ms; /* monotonic, for the retry window */
    unsigned attempts;
    CURL *easy;
    struct curl_slist *headers;
    uv_timer_t retry; /* waits before the next attempt */
    bool timer_open;
    struct delivery *next;                /* app queue */
    struct delivery *all_next, *all_prev; /* every live delivery, for shutdown */
};

/* A held channel_vacated / member_removed, keyed "v\x1f<app>\x1f<channel>" or
 * "r\x1f<app>\x1f<channel>\x1f<user>". */
struct held {
    char *id;
    struct app_state *app;
    size_t bytes;
    char *channel, *user_id;
    uint64_t time_ms;
    uv_timer_t timer;
    UT_hash_handle hh;
};

struct limits {
    size_t max_pending, max_pending_bytes;
    size_t app_max_pending, app_max_pending_bytes, app_concurrency;
    double channel_events_per_second, channel_events_burst;
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
    struct delivery *all;
    struct sock_ctx *socks;
    bool started;
} wh;

static uint64_t unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

static size_t pending_count(const struct pending *p)
{
    return p->waiting + p->in_flight + p->retrying + p->held;
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

static unsigned long long unreported_drops(const struct app_state *st)
{
    const unsigned long long *u = st->unreported_drops;
    return u[DROP_NODE_FULL] + u[DROP_APP_FULL] + u[DROP_RATE];
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
        rt_log_warn("app=%s webhooks: dropped %llu deliveries since the last report "
                    "(app_full %llu, node_full %llu, rate %llu)",
                    st->app_id, drops, u[DROP_APP_FULL], u[DROP_NODE_FULL], u[DROP_RATE]);
        memset(st->unreported_drops, 0, sizeof st->unreported_drops);
        st->drops_reported_ms = now;
    }
    if (st->unreported_failed > 0 && due(st->failed_reported_ms, now)) {
        rt_log_warn("app=%s webhooks: gave up on %llu deliveries after 5 minutes of retries "
                    "(last: %s)",
                    st->app_id, st->unreported_failed, st->last_failure);
        st->unreported_failed = 0;
        st->failed_reported_ms = now;
    }
}

/* Counts n deliveries of st dropped for why. */
static void drop(struct app_state *st, enum drop_reason why, size_t n)
{
    if (n == 0) return;
    st->totals.dropped[why] += n;
    wh.totals.dropped[why] += n;
    st->unreported_drops[why] += n;
    report(st, rt_now_ms());
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
            free(st);
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

/* ---- deliveries ------------------------------------------------------------------------ */

static void delivery_free_cb(uv_handle_t *h)
{
    struct delivery *d = h->data;
    free(d->url);
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
    free(d->url);
    free(d->body);
    free(d);
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

/* Ends an attempt: a 2xx frees d; anything else retries it with exponential back-off from
 * 1 s, capped at 60 s, until 5 minutes after creation, and then gives up. */
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
        delivery_free(d);
        update_ready(st);
        return;
    }
    char url[LOG_URL_MAX];
    rt_url_redact(d->url, url, sizeof url);
    const char *error = rc == CURLE_OK ? "HTTP" : curl_easy_strerror(rc);
    uint64_t delay = 1000u << (d->attempts < 7 ? d->attempts - 1 : 6);
    if (delay > 60000) delay = 60000;
    if (rt_now_ms() + delay - d->created_ms > RT_WEBHOOK_RETRY_WINDOW_MS) {
        st->totals.failed++;
        wh.totals.failed++;
        st->unreported_failed++;
        snprintf(st->last_failure, sizeof st->last_failure, "%s after %u attempts, %s %ld", url,
                 d->attempts, error, status);
        delivery_free(d);
        update_ready(st);
        report(st, rt_now_ms());
        return;
    }
    rt_log_debug("app=%s webhook to %s failed (%s %ld); retry %u in %llu ms", st->app_id, url,
                 error, status, d->attempts, (unsigned long long)delay);
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

static void attempt(struct delivery *d)
{
    set_state(d, D_IN_FLIGHT);
    d->attempts++;
    d->easy = curl_easy_init();
    if (!d->easy) {
        finish(d, 0, CURLE_OUT_OF_MEMORY);
        return;
    }
    char sig_header[128], key_header[128];
    snprintf(sig_header, sizeof sig_header, "X-Pusher-Signature: %s", d->signature);
    snprintf(key_header, sizeof key_header, "X-Pusher-Key: %s", d->key);
    d->headers = curl_slist_append(NULL, "Content-Type: application/json");
    d->headers = curl_slist_append(d->headers, key_header);
    d->headers = curl_slist_append(d->headers, sig_header);
    d->headers = curl_slist_append(d->headers, "Expect:");
    curl_easy_setopt(d->easy, CURLOPT_URL, d->url);
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

/* Everything but client_event comes from channel and member churn, which a client can
 * produce at will by subscribing to new names: those pass the app's token bucket. */
static bool is_channel_event(const char *name)
{
    return strcmp(name, "client_event") != 0;
}

/* Queues one POST per interested URL of app for event (ownership of event passes), as far
 * as the rate limit and the caps allow. The body and its signature are fixed here, so every
 * retry sends the same bytes. */
static void emit(struct rt_app *app, json_t *event, uint64_t time_ms)
{
    const struct rt_app_config *cfg = app->cfg;
    /* A copy: the event (and the string inside it) is freed with root below. */
    char name[32];
    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(event, "name")) ?: "");
    size_t wanted = name[0] ? interested(cfg, name) : 0;
    struct app_state *st = wanted && wh.started && cfg->n_keys ? app_state(cfg->id) : NULL;
    if (!st) {
        json_decref(event);
        return;
    }
    if (is_channel_event(name) &&
        !rt_bucket_take(&st->channel_events, wh.limits.channel_events_per_second,
                        wh.limits.channel_events_burst, rt_now_ms())) {
        json_decref(event);
        drop(st, DROP_RATE, wanted);
        return;
    }
    json_t *root = json_pack("{s:I,s:[o]}", "time_ms", (json_int_t)time_ms, "events", event);
    char *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!body) return;
    size_t body_len = strlen(body);
    /* The oldest active key signs, as Pusher does when an app has several. */
    const struct rt_app_key *k = &cfg->keys[0];
    char signature[RT_SHA256_HEX_LEN + 1];
    rt_hmac_sha256_hex(k->secret, strlen(k->secret), body, body_len, signature);
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        if (!wants(&cfg->webhooks[i], name)) continue;
        size_t bytes = sizeof(struct delivery) + strlen(cfg->webhooks[i].url) + 1 + body_len + 1;
        enum drop_reason why;
        if (!has_room(st, bytes, &why)) {
            drop(st, why, 1);
            continue;
        }
        struct delivery *d = rt_xcalloc(1, sizeof *d);
        d->url = rt_xstrdup(cfg->webhooks[i].url);
        d->body = rt_xstrdup(body);
        memcpy(d->key, k->key, sizeof d->key);
        memcpy(d->signature, signature, sizeof d->signature);
        d->app = st;
        d->bytes = bytes;
        d->created_ms = rt_now_ms();
        d->state = D_WAITING;
        st->pending.waiting++;
        wh.pending.waiting++;
        st->pending.bytes += bytes;
        wh.pending.bytes += bytes;
        DL_APPEND2(wh.all, d, all_prev, all_next);
        enqueue(d);
    }
    free(body);
    start_next();
}

/* ---- settle window for vacated / member_removed -------------------------------------- */

static char *held_id(char kind, const char *app_id, const char *channel, const char *user_id)
{
    char *id = NULL;
    if (asprintf(&id, "%c\x1f%s\x1f%s\x1f%s", kind, app_id, channel, user_id ? user_id : "") < 0)
        rt_out_of_memory("asprintf", 0);
    return id;
}

static void held_free_cb(uv_handle_t *h)
{
    struct held *e = h->data;
    free(e->id);
    free(e->channel);
    free(e->user_id);
    free(e);
}

static void held_drop(struct held *e)
{
    HASH_DEL(wh.held, e);
    e->app->pending.held--;
    wh.pending.held--;
    e->app->pending.bytes -= e->bytes;
    wh.pending.bytes -= e->bytes;
    uv_timer_stop(&e->timer);
    uv_close((uv_handle_t *)&e->timer, held_free_cb);
}

static void on_held(uv_timer_t *t)
{
    struct held *e = t->data;
    struct rt_app *app = rt_apps_by_id(e->app->app_id);
    json_t *ev = NULL;
    if (app)
        ev = e->user_id ? json_pack("{s:s,s:s,s:s}", "name", "member_removed", "channel",
                                    e->channel, "user_id", e->user_id)
                        : json_pack("{s:s,s:s}", "name", "channel_vacated", "channel", e->channel);
    uint64_t time_ms = e->time_ms;
    held_drop(e); /* first, so that the event it becomes has the room it held */
    if (ev) emit(app, ev, time_ms);
}

/* Holds the event for the settle window, when anyone wants it or the occupied/added it would
 * cancel; held events count against the caps like deliveries. */
static void hold(struct rt_app *app, char kind, const char *channel, const char *user_id)
{
    const char *name = kind == 'v' ? "channel_vacated" : "member_removed";
    const char *cancels = kind == 'v' ? "channel_occupied" : "member_added";
    size_t wanted = interested(app->cfg, name);
    if (wanted == 0 && interested(app->cfg, cancels) == 0) return;
    struct app_state *st = app_state(app->cfg->id);
    char *id = held_id(kind, app->cfg->id, channel, user_id);
    struct held *old = NULL;
    HASH_FIND_STR(wh.held, id, old);
    if (old) held_drop(old);
    size_t bytes = sizeof(struct held) + strlen(id) + 1 + strlen(channel) + 1 +
                   (user_id ? strlen(user_id) + 1 : 0);
    enum drop_reason why;
    if (!has_room(st, bytes, &why)) {
        free(id);
        drop(st, why, wanted);
        return;
    }
    struct held *e = rt_xcalloc(1, sizeof *e);
    e->channel = rt_xstrdup(channel);
    if (user_id) e->user_id = rt_xstrdup(user_id);
    e->id = id;
    e->app = st;
    e->bytes = bytes;
    e->time_ms = unix_ms();
    st->pending.held++;
    wh.pending.held++;
    st->pending.bytes += bytes;
    wh.pending.bytes += bytes;
    uv_timer_init(wh.loop, &e->timer);
    e->timer.data = e;
    uv_timer_start(&e->timer, on_held, RT_WEBHOOK_SETTLE_MS, 0);
    HASH_ADD_KEYPTR(hh, wh.held, e->id, strlen(e->id), e);
}

/* Cancels a held event of that identity; returns true when one was pending (the pair is then
 * dropped: the client came back within the settle window). */
static bool unhold(struct rt_app *app, char kind, const char *channel, const char *user_id)
{
    char *id = held_id(kind, app->cfg->id, channel, user_id);
    struct held *e = NULL;
    HASH_FIND_STR(wh.held, id, e);
    free(id);
    if (!e) return false;
    held_drop(e);
    return true;
}

static bool active(const struct rt_app *app)
{
    return wh.started && app->cfg->n_webhooks > 0;
}

void rt_webhook_channel_occupied(struct rt_app *app, const char *channel)
{
    if (!active(app) || unhold(app, 'v', channel, NULL)) return;
    emit(app, json_pack("{s:s,s:s}", "name", "channel_occupied", "channel", channel), unix_ms());
}

void rt_webhook_channel_vacated(struct rt_app *app, const char *channel)
{
    if (active(app)) hold(app, 'v', channel, NULL);
}

void rt_webhook_member_added(struct rt_app *app, const char *channel, const char *user_id)
{
    if (!active(app) || unhold(app, 'r', channel, user_id)) return;
    emit(app,
         json_pack("{s:s,s:s,s:s}", "name", "member_added", "channel", channel, "user_id", user_id),
         unix_ms());
}

void rt_webhook_member_removed(struct rt_app *app, const char *channel, const char *user_id)
{
    if (active(app)) hold(app, 'r', channel, user_id);
}

void rt_webhook_subscription_count(struct rt_app *app, const char *channel, size_t count)
{
    if (!active(app) || !app->cfg->subscription_count || count == 0) return;
    emit(app,
         json_pack("{s:s,s:s,s:I}", "name", "subscription_count", "channel", channel,
                   "subscription_count", (json_int_t)count),
         unix_ms());
}

void rt_webhook_cache_miss(struct rt_app *app, const char *channel)
{
    if (active(app))
        emit(app, json_pack("{s:s,s:s}", "name", "cache_miss", "channel", channel), unix_ms());
}

void rt_webhook_client_event(struct rt_app *app, const char *channel, const char *event,
                             const json_t *data, const char *socket_id, const char *user_id)
{
    if (!active(app)) return;
    char *text = json_is_string(data) ? rt_xstrdup(json_string_value(data))
                                      : json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "client_event", "channel", channel,
                           "event", event, "data", text, "socket_id", socket_id);
    free(text);
    if (ev && user_id) json_object_set_new(ev, "user_id", json_string(user_id));
    if (ev) emit(app, ev, unix_ms());
}

/* ---- metrics ---------------------------------------------------------------------------- */

void rt_webhooks_write_metrics(FILE *f)
{
    const struct pending *p = &wh.pending;
    const struct totals *t = &wh.totals;
    fprintf(f, "# TYPE rt_webhooks_queued gauge\nrt_webhooks_queued %zu\n",
            p->waiting + p->retrying);
    fprintf(f, "# TYPE rt_webhooks_in_flight gauge\nrt_webhooks_in_flight %zu\n", p->in_flight);
    fprintf(f, "# TYPE rt_webhooks_held gauge\nrt_webhooks_held %zu\n", p->held);
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
    fprintf(f, "# TYPE rt_app_webhooks_queued gauge\n# TYPE rt_app_webhooks_in_flight gauge\n"
               "# TYPE rt_app_webhooks_held gauge\n# TYPE rt_app_webhooks_pending_bytes gauge\n"
               "# TYPE rt_app_webhooks_delivered_total counter\n"
               "# TYPE rt_app_webhooks_retried_total counter\n"
               "# TYPE rt_app_webhooks_failed_total counter\n"
               "# TYPE rt_app_webhooks_dropped_total counter\n");
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
    fprintf(f, "rt_app_webhooks_held{app=\"%s\"} %zu\n", app_id, p->held);
    fprintf(f, "rt_app_webhooks_pending_bytes{app=\"%s\"} %zu\n", app_id, p->bytes);
    fprintf(f, "rt_app_webhooks_delivered_total{app=\"%s\"} %llu\n", app_id, t->delivered);
    fprintf(f, "rt_app_webhooks_retried_total{app=\"%s\"} %llu\n", app_id, t->retried);
    fprintf(f, "rt_app_webhooks_failed_total{app=\"%s\"} %llu\n", app_id, t->failed);
    for (int r = 0; r < DROP_REASONS; r++)
        fprintf(f, "rt_app_webhooks_dropped_total{app=\"%s\",reason=\"%s\"} %llu\n", app_id,
                drop_reason_name[r], t->dropped[r]);
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
    return 0;
}

/* Drops what is still queued or held: webhooks are at-least-once while the process lives,
 * not durable across restarts (documented in docs/webhooks.md). */
void rt_webhooks_stop(void)
{
    if (!wh.started) return;
    wh.started = false;
    struct held *e, *tmp;
    HASH_ITER(hh, wh.held, e, tmp)
    held_drop(e);
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
        free(st);
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
