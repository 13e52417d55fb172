/* Webhook delivery: libcurl multi driven by the libuv loop, signed bodies, retries. */
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
#include "rt_hmac.h"
#include "server.h"

#define MAX_QUEUED 10000  /* deliveries held per node; more are dropped with a warning */
#define MAX_IN_FLIGHT 32  /* concurrent HTTP requests (main.c keeps fds back for them) */
#define REQUEST_TIMEOUT_MS 5000L

struct delivery {
    char *url;
    char *body;
    char key[RT_APP_KEY_MAX + 1];
    char signature[RT_SHA256_HEX_LEN + 1];
    char app_id[RT_APP_ID_MAX + 1];
    uint64_t created_ms;  /* monotonic, for the retry window */
    unsigned attempts;
    CURL *easy;
    struct curl_slist *headers;
    uv_timer_t retry;     /* waits before the next attempt */
    bool timer_open;
    struct delivery *next;             /* waiting queue */
    struct delivery *all_next, *all_prev; /* every live delivery, for shutdown */
};

/* A held channel_vacated / member_removed, keyed "v\x1f<app>\x1f<channel>" or
 * "r\x1f<app>\x1f<channel>\x1f<user>". */
struct held {
    char *id;
    char app_id[RT_APP_ID_MAX + 1];
    char *channel, *user_id;
    uint64_t time_ms;
    uv_timer_t timer;
    UT_hash_handle hh;
};

static struct {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timeout;
    struct delivery *queue_head, *queue_tail;
    size_t queued, in_flight, total;
    struct held *held;
    struct delivery *all;
    struct sock_ctx *socks;
    bool started;
} wh;

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sock_ctx *next, *prev;
};

static uint64_t unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

size_t rt_webhooks_pending(void)
{
    return wh.total;
}

/* ---- curl multi on libuv -------------------------------------------------------------- */

static void check_done(void);

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock_ctx *ctx = h->data;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
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
        ctx = calloc(1, sizeof *ctx);
        if (!ctx || uv_poll_init_socket(wh.loop, &ctx->poll, s) != 0) {
            free(ctx);
            return -1;
        }
        ctx->fd = s;
        ctx->poll.data = ctx;
        DL_APPEND(wh.socks, ctx);
        curl_multi_assign(wh.multi, s, ctx);
    }
    int events = 0;
    if (action != CURL_POLL_OUT)
        events |= UV_READABLE;
    if (action != CURL_POLL_IN)
        events |= UV_WRITABLE;
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

/* ---- deliveries ------------------------------------------------------------------------ */

static void delivery_free_cb(uv_handle_t *h)
{
    struct delivery *d = h->data;
    free(d->url);
    free(d->body);
    free(d);
}

static void delivery_free(struct delivery *d)
{
    wh.total--;
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

static void start_next(void);

static void attempt(struct delivery *d)
{
    d->easy = curl_easy_init();
    if (!d->easy) {
        delivery_free(d);
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
    curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
    d->attempts++;
    wh.in_flight++;
    curl_multi_add_handle(wh.multi, d->easy);
}

static void on_retry(uv_timer_t *t)
{
    struct delivery *d = t->data;
    if (wh.in_flight >= MAX_IN_FLIGHT) {
        uv_timer_start(&d->retry, on_retry, 100, 0);
        return;
    }
    attempt(d);
}

/* Exponential back-off from 1 s, capped at 60 s, until 5 minutes after creation. */
static void finish(struct delivery *d, long status, CURLcode rc)
{
    curl_multi_remove_handle(wh.multi, d->easy);
    curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    d->easy = NULL;
    d->headers = NULL;
    wh.in_flight--;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        delivery_free(d);
        return;
    }
    uint64_t delay = 1000u << (d->attempts < 7 ? d->attempts - 1 : 6);
    if (delay > 60000)
        delay = 60000;
    if (rt_now_ms() + delay - d->created_ms > RT_WEBHOOK_RETRY_WINDOW_MS) {
        rt_log_warn("app=%s webhook to %s dropped after %u attempts (last: %s %ld)", d->app_id,
                    d->url, d->attempts, rc == CURLE_OK ? "HTTP" : curl_easy_strerror(rc), status);
        delivery_free(d);
        return;
    }
    rt_log_info("app=%s webhook to %s failed (%s %ld); retry %u in %llu ms", d->app_id, d->url,
                rc == CURLE_OK ? "HTTP" : curl_easy_strerror(rc), status, d->attempts,
                (unsigned long long)delay);
    if (!d->timer_open) {
        uv_timer_init(wh.loop, &d->retry);
        d->retry.data = d;
        d->timer_open = true;
    }
    uv_timer_start(&d->retry, on_retry, delay, 0);
}

static void check_done(void)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(wh.multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct delivery *d;
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        finish(d, status, msg->data.result);
    }
    start_next();
}

static void start_next(void)
{
    while (wh.queue_head && wh.in_flight < MAX_IN_FLIGHT) {
        struct delivery *d = wh.queue_head;
        wh.queue_head = d->next;
        if (!wh.queue_head)
            wh.queue_tail = NULL;
        wh.queued--;
        attempt(d);
    }
}

static bool wants(const struct rt_webhook *w, const char *name)
{
    if (w->n_event_types == 0)
        return true;
    for (size_t i = 0; i < w->n_event_types; i++)
        if (strcmp(w->event_types[i], name) == 0)
            return true;
    return false;
}

/* Queues one POST per interested URL of app for event (ownership of event passes). The
 * body and its signature are fixed here, so every retry sends the same bytes. */
static void emit(struct rt_app *app, json_t *event, uint64_t time_ms)
{
    const struct rt_app_config *cfg = app->cfg;
    /* A copy: the event (and the string inside it) is freed with root below. */
    char name[32];
    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(event, "name")) ?: "");
    if (!wh.started || cfg->n_webhooks == 0 || cfg->n_keys == 0 || !name[0]) {
        json_decref(event);
        return;
    }
    json_t *root = json_pack("{s:I,s:[o]}", "time_ms", (json_int_t)time_ms, "events", event);
    char *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!body)
        return;
    /* The oldest active key signs, as Pusher does when an app has several. */
    const struct rt_app_key *k = &cfg->keys[0];
    char signature[RT_SHA256_HEX_LEN + 1];
    rt_hmac_sha256_hex(k->secret, strlen(k->secret), body, strlen(body), signature);
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        if (!wants(&cfg->webhooks[i], name))
            continue;
        if (wh.queued >= MAX_QUEUED) {
            rt_log_warn("app=%s webhook queue full (%d): dropping %s", cfg->id, MAX_QUEUED, name);
            break;
        }
        struct delivery *d = calloc(1, sizeof *d);
        if (!d || !(d->url = strdup(cfg->webhooks[i].url)) || !(d->body = strdup(body))) {
            if (d)
                free(d->url);
            free(d);
            break;
        }
        memcpy(d->key, k->key, sizeof d->key);
        memcpy(d->signature, signature, sizeof d->signature);
        snprintf(d->app_id, sizeof d->app_id, "%s", cfg->id);
        d->created_ms = rt_now_ms();
        if (wh.queue_tail)
            wh.queue_tail->next = d;
        else
            wh.queue_head = d;
        wh.queue_tail = d;
        wh.queued++;
        wh.total++;
        DL_APPEND2(wh.all, d, all_prev, all_next);
    }
    free(body);
    start_next();
}

/* ---- settle window for vacated / member_removed -------------------------------------- */

static char *held_id(char kind, const char *app_id, const char *channel, const char *user_id)
{
    char *id = NULL;
    if (asprintf(&id, "%c\x1f%s\x1f%s\x1f%s", kind, app_id, channel, user_id ? user_id : "") < 0)
        return NULL;
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
    uv_timer_stop(&e->timer);
    uv_close((uv_handle_t *)&e->timer, held_free_cb);
}

static void on_held(uv_timer_t *t)
{
    struct held *e = t->data;
    struct rt_app *app = rt_apps_by_id(e->app_id);
    if (app) {
        json_t *ev = e->user_id ? json_pack("{s:s,s:s,s:s}", "name", "member_removed", "channel",
                                            e->channel, "user_id", e->user_id)
                                : json_pack("{s:s,s:s}", "name", "channel_vacated", "channel",
                                            e->channel);
        if (ev)
            emit(app, ev, e->time_ms);
    }
    held_drop(e);
}

static void hold(struct rt_app *app, char kind, const char *channel, const char *user_id)
{
    struct held *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->id = held_id(kind, app->cfg->id, channel, user_id);
    e->channel = strdup(channel);
    e->user_id = user_id ? strdup(user_id) : NULL;
    if (!e->id || !e->channel || (user_id && !e->user_id)) {
        free(e->id);
        free(e->channel);
        free(e->user_id);
        free(e);
        return;
    }
    snprintf(e->app_id, sizeof e->app_id, "%s", app->cfg->id);
    e->time_ms = unix_ms();
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
    if (!id)
        return false;
    struct held *e = NULL;
    HASH_FIND_STR(wh.held, id, e);
    free(id);
    if (!e)
        return false;
    held_drop(e);
    return true;
}

static bool active(const struct rt_app *app)
{
    return wh.started && app->cfg->n_webhooks > 0;
}

void rt_webhook_channel_occupied(struct rt_app *app, const char *channel)
{
    if (!active(app) || unhold(app, 'v', channel, NULL))
        return;
    emit(app, json_pack("{s:s,s:s}", "name", "channel_occupied", "channel", channel), unix_ms());
}

void rt_webhook_channel_vacated(struct rt_app *app, const char *channel)
{
    if (active(app))
        hold(app, 'v', channel, NULL);
}

void rt_webhook_member_added(struct rt_app *app, const char *channel, const char *user_id)
{
    if (!active(app) || unhold(app, 'r', channel, user_id))
        return;
    emit(app,
         json_pack("{s:s,s:s,s:s}", "name", "member_added", "channel", channel, "user_id", user_id),
         unix_ms());
}

void rt_webhook_member_removed(struct rt_app *app, const char *channel, const char *user_id)
{
    if (active(app))
        hold(app, 'r', channel, user_id);
}

void rt_webhook_subscription_count(struct rt_app *app, const char *channel, size_t count)
{
    if (!active(app) || !app->cfg->subscription_count || count == 0)
        return;
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
    if (!active(app))
        return;
    char *text = json_is_string(data) ? strdup(json_string_value(data))
                                      : json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "client_event", "channel", channel,
                           "event", event, "data", text, "socket_id", socket_id);
    free(text);
    if (ev && user_id)
        json_object_set_new(ev, "user_id", json_string(user_id));
    if (ev)
        emit(app, ev, unix_ms());
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int rt_webhooks_start(uv_loop_t *loop)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    wh.loop = loop;
    wh.multi = curl_multi_init();
    if (!wh.multi)
        return -1;
    uv_timer_init(loop, &wh.timeout);
    curl_multi_setopt(wh.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(wh.multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    wh.started = true;
    return 0;
}

/* Drops what is still queued or held: webhooks are at-least-once while the process lives,
 * not durable across restarts (documented in docs/webhooks.md). */
void rt_webhooks_stop(void)
{
    if (!wh.started)
        return;
    wh.started = false;
    struct held *e, *tmp;
    HASH_ITER(hh, wh.held, e, tmp)
    held_drop(e);
    wh.queue_head = wh.queue_tail = NULL;
    wh.queued = 0;
    struct delivery *d, *dtmp;
    DL_FOREACH_SAFE2(wh.all, d, dtmp, all_next)
    {
        if (d->easy) {
            curl_multi_remove_handle(wh.multi, d->easy);
            curl_easy_cleanup(d->easy);
            curl_slist_free_all(d->headers);
        }
        if (d->timer_open)
            uv_timer_stop(&d->retry);
        delivery_free(d);
    }
    curl_multi_cleanup(wh.multi);
    struct sock_ctx *sc, *stmp;
    DL_FOREACH_SAFE(wh.socks, sc, stmp)
    {
        DL_DELETE(wh.socks, sc);
        uv_poll_stop(&sc->poll);
        uv_close((uv_handle_t *)&sc->poll, free_sock);
    }
    wh.multi = NULL;
    uv_timer_stop(&wh.timeout);
    uv_close((uv_handle_t *)&wh.timeout, NULL);
    curl_global_cleanup();
}
