/* Pusher HTTP API: /apps/{id}/events, batch_events, channels, users, terminate_connections,
 * plus /health, /ready and /metrics. */
#include "rest.h"
#include "webhook.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utlist.h>

#include "app.h"
#include "broker.h"
#include "cache.h"
#include "channel.h"
#include "cluster.h"
#include "conn.h"
#include "metrics.h"
#include "rt_alloc.h"
#include "rt_channel_name.h"
#include "registry.h"
#include "rt_err.h"
#include "rt_protocol.h"
#include "rt_rest_auth.h"
#include "seclog.h"
#include "server.h"
#include "user.h"

/* Takes body. Every caller builds it from values that are valid UTF-8, so it is never NULL:
 * jansson only fails on invalid UTF-8 here, and allocation failure aborts (rt_alloc). */
static void respond_json(struct rt_rest_response *out, int status, json_t *body)
{
    out->status = status;
    out->content_type = "application/json";
    out->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
}

static void respond_error(struct rt_rest_response *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void respond_error(struct rt_rest_response *out, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A message may quote the request, e.g. a channel name cut at 64 bytes in the middle of
     * a UTF-8 sequence: jansson refuses such text, so non-ASCII bytes become '?'. */
    json_t *text = json_string(msg);
    if (!text) {
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        text = json_string(msg);
    }
    respond_json(out, status, json_pack("{s:o}", "error", text));
}

/* ---- validation shared by events and batch_events ---------------------------------- */

struct event_req {
    const char *name;
    char *data; /* owned: the string to deliver */
    size_t data_len;
    const char *channels[100];
    size_t n_channels;
    const char *socket_id;
    bool want_user_count, want_subscription_count;
};

/* Pusher's ^\d+\.\d+$. The length is checked separately (RT_SOCKET_ID_MAX): the cluster
 * fan-out carries at most that many characters and would drop the event for other nodes. */
static bool socket_id_format_valid(const char *s)
{
    const char *dot = strchr(s, '.');
    if (!dot || dot == s || !dot[1])
        return false;
    for (const char *p = s; *p; p++)
        if (p != dot && (*p < '0' || *p > '9'))
            return false;
    return true;
}

/* Parses one event object (from /events or a batch entry). Returns 0, or an HTTP status with
 * the message in err. */
static int parse_event(const struct rt_app_config *cfg, json_t *obj, bool batch,
                       struct event_req *ev, char *err, size_t err_cap)
{
    memset(ev, 0, sizeof *ev);
    if (!json_is_object(obj)) {
        snprintf(err, err_cap, "Each event must be a JSON object");
        return 400;
    }
    ev->name = json_string_value(json_object_get(obj, "name"));
    if (!ev->name || !*ev->name) {
        snprintf(err, err_cap, "Missing event name: \"name\" must be a non-empty string");
        return 400;
    }
    if (strlen(ev->name) > (size_t)cfg->max_event_name_length) {
        snprintf(err, err_cap, "Event name too long: at most %d characters",
                 cfg->max_event_name_length);
        return 400;
    }
    json_t *data = json_object_get(obj, "data");
    if (!data) {
        snprintf(err, err_cap, "Missing \"data\"");
        return 400;
    }
    /* Pusher requires a string; a non-string is serialised to compact JSON (tolerance). */
    ev->data = json_is_string(data) ? rt_xstrndup(json_string_value(data), json_string_length(data))
                                    : json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    ev->data_len = json_is_string(data) ? json_string_length(data) : strlen(ev->data);
    if (ev->data_len > (size_t)cfg->max_payload_bytes) {
        snprintf(err, err_cap, "Event data too large: %zu bytes, the limit is %d", ev->data_len,
                 cfg->max_payload_bytes);
        return 413;
    }
    json_t *channels = json_object_get(obj, "channels"), *channel = json_object_get(obj, "channel");
    if (batch && channels) {
        snprintf(err, err_cap, "Batch events take one \"channel\" each");
        return 400;
    }
    if (channels) {
        if (!json_is_array(channels) || json_array_size(channels) == 0) {
            snprintf(err, err_cap, "\"channels\" must be a non-empty array of channel names");
            return 400;
        }
        if (json_array_size(channels) > (size_t)cfg->max_channels_per_trigger) {
            snprintf(err, err_cap, "Too many channels: at most %d per event",
                     cfg->max_channels_per_trigger);
            return 400;
        }
        size_t i;
        json_t *c;
        json_array_foreach(channels, i, c) ev->channels[ev->n_channels++] = json_string_value(c);
    } else if (channel) {
        ev->channels[ev->n_channels++] = json_string_value(channel);
    } else {
        snprintf(err, err_cap, "Missing \"channels\" (array) or \"channel\" (string)");
        return 400;
    }
    bool encrypted = false;
    for (size_t i = 0; i < ev->n_channels; i++) {
        const char *name = ev->channels[i];
        if (!name || !rt_channel_name_valid(rt_str_c(name), (size_t)cfg->max_channel_name_length)) {
            snprintf(err, err_cap, "Invalid channel name %s%.64s%s", name ? "\"" : "",
                     name ? name : "(not a string)", name ? "\"" : "");
            return 400;
        }
        encrypted |= rt_channel_kind_of(rt_str_c(name)).type == RT_CHANNEL_ENCRYPTED;
    }
    if (encrypted && ev->n_channels > 1) {
        snprintf(err, err_cap, "Encrypted channels cannot be triggered together with others");
        return 400;
    }
    json_t *sid = json_object_get(obj, "socket_id");
    if (sid && !json_is_null(sid)) {
        ev->socket_id = json_string_value(sid);
        if (ev->socket_id && json_string_length(sid) > RT_SOCKET_ID_MAX) {
            snprintf(err, err_cap, "Invalid socket_id: at most %d characters (got %zu)",
                     RT_SOCKET_ID_MAX, json_string_length(sid));
            return 400;
        }
        if (!ev->socket_id || !socket_id_format_valid(ev->socket_id)) {
            snprintf(err, err_cap, "Invalid socket_id: expected digits.digits");
            return 400;
        }
    }
    const char *info = json_string_value(json_object_get(obj, "info"));
    if (info) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", info);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (strcmp(t, "user_count") == 0)
                ev->want_user_count = true;
            else if (strcmp(t, "subscription_count") == 0)
                ev->want_subscription_count = true;
            else {
                snprintf(err, err_cap, "Unknown info attribute \"%.32s\"", t);
                return 400;
            }
        }
    }
    return 0;
}

/* {"user_count":N,"subscription_count":M} as requested and applicable to the channel:
 * user_count on presence channels only; subscription_count (connections) on every kind,
 * presence included (PROTOCOL.md §17.14), when the app has the feature, else left out. */
/* Counts of a channel: from the cluster's answer (counts: {name:{"subscription_count":N,
 * "user_count":M}}), or this node's own state when counts is NULL. */
static void channel_counts(struct rt_app *app, const char *name, const json_t *counts,
                           json_int_t *subs, json_int_t *users)
{
    if (counts) {
        const json_t *c = json_object_get(counts, name);
        *subs = json_integer_value(json_object_get(c, "subscription_count"));
        *users = json_integer_value(json_object_get(c, "user_count"));
        return;
    }
    struct rt_channel *ch = rt_channel_find(app, name);
    *subs = ch ? (json_int_t)ch->sub_count : 0;
    *users = ch ? (json_int_t)ch->member_count : 0;
}

static json_t *channel_attributes(struct rt_app *app, const char *name, bool user_count,
                                  bool subscription_count, const json_t *counts)
{
    json_t *o = json_object();
    json_int_t subs, users;
    channel_counts(app, name, counts, &subs, &users);
    bool presence = rt_channel_kind_of(rt_str_c(name)).type == RT_CHANNEL_PRESENCE;
    if (user_count && presence)
        json_object_set_new(o, "user_count", json_integer(users));
    if (subscription_count && app->cfg->subscription_count)
        json_object_set_new(o, "subscription_count", json_integer(subs));
    return o;
}

/* ---- answers that need the cluster's state ------------------------------------------------
 * In a cluster the counts and member lists live in Redis (registry.c): the request is answered
 * when Redis replies. The job keeps the request's parameters by value; http.c drops the answer
 * if the client went away meanwhile. */

static uint64_t current_request; /* the request rt_rest_handle is handling */

enum job_kind { JOB_CHANNELS, JOB_CHANNEL, JOB_USERS, JOB_EVENTS, JOB_BATCH };

struct rest_job {
    enum job_kind kind;
    uint64_t request;
    char app_id[RT_APP_ID_MAX + 1];
    bool uc, sc, cache;
    char *prefix; /* JOB_CHANNELS filter, or NULL */
    char *name;   /* JOB_CHANNEL */
    json_t *wants; /* JOB_EVENTS / JOB_BATCH: [[channel, user_count?, subscription_count?]...] */
};

static struct rest_job *job_new(enum job_kind kind, struct rt_app *app,
                                struct rt_rest_response *out)
{
    struct rest_job *j = rt_xcalloc(1, sizeof *j);
    j->kind = kind;
    j->request = current_request;
    snprintf(j->app_id, sizeof j->app_id, "%s", app->cfg->id);
    out->pending = true;
    return j;
}

static void job_free(struct rest_job *j)
{
    free(j->prefix);
    free(j->name);
    json_decref(j->wants);
    free(j);
}

static json_t *want_names(const json_t *wants)
{
    json_t *names = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(wants, i, w) json_array_append(names, json_array_get(w, 0));
    return names;
}

static json_t *want_attributes(struct rt_app *app, const json_t *w, const json_t *counts)
{
    return channel_attributes(app, json_string_value(json_array_get(w, 0)),
                              json_is_true(json_array_get(w, 1)),
                              json_is_true(json_array_get(w, 2)), counts);
}

static void cache_attribute(struct rt_app *app, const char *name, json_t *resp);

static void job_done(uint64_t ctx, json_t *result)
{
    struct rest_job *j = (struct rest_job *)(uintptr_t)ctx;
    struct rt_app *app = rt_apps_by_id(j->app_id);
    struct rt_rest_response out = {0};
    if (!app || !result) {
        respond_error(&out, 503, "Cluster state unavailable (Redis did not answer): retry");
    } else if (j->kind == JOB_CHANNELS) {
        json_t *chans = json_object(), *all = json_object_get(result, "channels");
        const char *name;
        json_t *v;
        json_object_foreach(all, name, v)
        {
            if (j->prefix && strncmp(name, j->prefix, strlen(j->prefix)) != 0)
                continue;
            json_object_set_new(chans, name, channel_attributes(app, name, j->uc, j->sc, all));
        }
        respond_json(&out, 200, json_pack("{s:o}", "channels", chans));
    } else if (j->kind == JOB_CHANNEL) {
        json_t *resp = channel_attributes(app, j->name, j->uc, j->sc, result);
        json_int_t subs, users;
        channel_counts(app, j->name, result, &subs, &users);
        json_object_set_new(resp, "occupied", json_boolean(subs > 0));
        if (j->cache)
            cache_attribute(app, j->name, resp);
        respond_json(&out, 200, resp);
    } else if (j->kind == JOB_USERS) {
        respond_json(&out, 200, json_incref(result));
    } else if (j->kind == JOB_EVENTS) {
        json_t *chans = json_object();
        size_t i;
        json_t *w;
        json_array_foreach(j->wants, i, w)
            json_object_set_new(chans, json_string_value(json_array_get(w, 0)),
                                want_attributes(app, w, result));
        respond_json(&out, 200, json_pack("{s:o}", "channels", chans));
    } else {
        json_t *batch = json_array();
        size_t i;
        json_t *w;
        json_array_foreach(j->wants, i, w) json_array_append_new(batch, want_attributes(app, w, result));
        respond_json(&out, 200, json_pack("{s:o}", "batch", batch));
    }
    json_decref(result);
    rt_http_answer(j->request, out.status, out.body);
    job_free(j);
}

/* Starts the counts query for a trigger/batch that asked for info. */
static void counts_job(struct rt_app *app, enum job_kind kind, json_t *wants,
                       struct rt_rest_response *out)
{
    struct rest_job *j = job_new(kind, app, out);
    j->wants = wants;
    json_t *names = want_names(wants);
    rt_registry_query_counts(app, names, (uint64_t)(uintptr_t)j, job_done);
    json_decref(names);
}

static void publish_event(struct rt_app *app, struct event_req *ev)
{
    for (size_t i = 0; i < ev->n_channels; i++) {
        size_t len;
        char *text = rt_encode_event(ev->name, ev->channels[i],
                                     (struct rt_str){ev->data, ev->data_len}, NULL, &len);
        struct rt_frame *f = rt_frame_from_text(text, len);
        if (!f)
            continue;
        if (rt_channel_kind_of(rt_str_c(ev->channels[i])).cache)
            rt_broker_publish_soon(app, ev->channels[i], f, ev->socket_id, true, ev->name,
                                   ev->data);
        else
            rt_broker_publish_soon(app, ev->channels[i], f, ev->socket_id, false, NULL, NULL);
        rt_frame_unref(f);
    }
}

/* A node's share of an app's rate may be below one per second (2/s over 3 nodes): the bucket
 * still holds one whole token, refilled at the share's pace. */
static double burst_of(double rate)
{
    return rate < 1 ? 1 : rate;
}

static bool take_backend_tokens(struct rt_app *app, size_t n)
{
    /* In a cluster each live node takes its share of the app's rate. */
    double rate = (double)app->cfg->backend_events_per_second / rt_registry_nodes();
    if (rate <= 0)
        return true;
    uint64_t now = rt_now_ms();
    /* all-or-nothing for a batch: check first by taking one at a time and refund on failure */
    struct rt_bucket saved = app->backend_bucket;
    for (size_t i = 0; i < n; i++) {
        if (!rt_bucket_take(&app->backend_bucket, rate, burst_of(rate), now)) {
            app->backend_bucket = saved;
            return false;
        }
    }
    return true;
}

int rt_rest_trigger(struct rt_app *app, json_t *event, char *err, size_t err_cap)
{
    struct event_req ev;
    int status = parse_event(app->cfg, event, false, &ev, err, err_cap);
    if (status) {
        /* err holds parse_event's message */
    } else if (!take_backend_tokens(app, ev.n_channels)) {
        snprintf(err, err_cap, "Rate limit exceeded: at most %d events per second",
                 app->cfg->backend_events_per_second);
        status = 429;
    } else if (rt_registry_clustered() && !rt_cluster_connected()) {
        snprintf(err, err_cap, "Cluster bus unavailable: the event was not delivered");
        status = 503;
    } else {
        publish_event(app, &ev);
    }
    free(ev.data);
    return status;
}

static void handle_events(struct rt_app *app, const char *body, size_t body_len,
                          struct rt_rest_response *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, body_len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        respond_error(out, 400, "Invalid JSON body: expected an object with name, data, channels");
        return;
    }
    struct event_req ev;
    char err[200];
    int status = parse_event(app->cfg, root, false, &ev, err, sizeof err);
    if (status) {
        respond_error(out, status, "%s", err);
    } else if (!take_backend_tokens(app, ev.n_channels)) {
        respond_error(out, 429, "Rate limit exceeded: at most %d events per second",
                      app->cfg->backend_events_per_second);
    } else if (rt_registry_clustered() && !rt_cluster_connected()) {
        /* Delivering here only would be a silent partial delivery: refuse, nothing is sent, and
         * the backend's retry cannot duplicate it. */
        respond_error(out, 503, "Cluster bus unavailable: the event was not delivered");
    } else if (rt_registry_active() && (ev.want_user_count || ev.want_subscription_count)) {
        publish_event(app, &ev);
        json_t *wants = json_array();
        for (size_t i = 0; i < ev.n_channels; i++)
            json_array_append_new(wants, json_pack("[s,b,b]", ev.channels[i], ev.want_user_count,
                                                   ev.want_subscription_count));
        counts_job(app, JOB_EVENTS, wants, out);
    } else {
        publish_event(app, &ev);
        json_t *resp = json_object();
        if (ev.want_user_count || ev.want_subscription_count) {
            json_t *chans = json_object();
            for (size_t i = 0; i < ev.n_channels; i++)
                json_object_set_new(chans, ev.channels[i],
                                    channel_attributes(app, ev.channels[i], ev.want_user_count,
                                                       ev.want_subscription_count, NULL));
            json_object_set_new(resp, "channels", chans);
        }
        respond_json(out, 200, resp);
    }
    free(ev.data);
    json_decref(root);
}

static void handle_batch(struct rt_app *app, const char *body, size_t body_len,
                         struct rt_rest_response *out)
{
    json_t *root = json_loadb(body, body_len, 0, NULL);
    json_t *batch = json_object_get(root, "batch");
    if (!json_is_array(batch)) {
        json_decref(root);
        respond_error(out, 400, "Invalid JSON body: expected {\"batch\":[...]}");
        return;
    }
    size_t n = json_array_size(batch);
    if (n > (size_t)app->cfg->max_batch_size) {
        json_decref(root);
        respond_error(out, 400, "Batch too large: at most %d events", app->cfg->max_batch_size);
        return;
    }
    struct event_req *evs = rt_xcalloc(n + 1, sizeof *evs);
    char err[200];
    int status = 0;
    bool any_info = false;
    size_t parsed = 0;
    /* Validate every event before publishing any. */
    for (; !status && parsed < n; parsed++) {
        status = parse_event(app->cfg, json_array_get(batch, parsed), true, &evs[parsed], err,
                             sizeof err);
        any_info |= evs[parsed].want_user_count || evs[parsed].want_subscription_count;
        if (status)
            snprintf(err + strlen(err), sizeof err - strlen(err), " (batch[%zu])", parsed);
    }
    if (status) {
        respond_error(out, status, "%s", err);
    } else if (!take_backend_tokens(app, n)) {
        respond_error(out, 429, "Rate limit exceeded: at most %d events per second",
                      app->cfg->backend_events_per_second);
    } else if (rt_registry_clustered() && !rt_cluster_connected()) {
        respond_error(out, 503, "Cluster bus unavailable: the event was not delivered");
    } else if (rt_registry_active() && any_info) {
        json_t *wants = json_array();
        for (size_t i = 0; i < n; i++) {
            publish_event(app, &evs[i]);
            json_array_append_new(wants, json_pack("[s,b,b]", evs[i].channels[0],
                                                   evs[i].want_user_count,
                                                   evs[i].want_subscription_count));
        }
        counts_job(app, JOB_BATCH, wants, out);
    } else {
        json_t *infos = json_array();
        for (size_t i = 0; i < n; i++) {
            publish_event(app, &evs[i]);
            json_array_append_new(infos, channel_attributes(app, evs[i].channels[0],
                                                            evs[i].want_user_count,
                                                            evs[i].want_subscription_count, NULL));
        }
        json_t *resp = json_object();
        if (any_info)
            json_object_set(resp, "batch", infos);
        json_decref(infos);
        respond_json(out, 200, resp);
    }
    for (size_t i = 0; i < parsed; i++)
        free(evs[i].data);
    free(evs);
    json_decref(root);
}

/* Parses the `info` query parameter of the channel routes. Returns false on an unknown
 * attribute. */
static bool parse_info(const char *info, bool *user_count, bool *subscription_count, bool *cache)
{
    *user_count = *subscription_count = *cache = false;
    if (!info || !*info)
        return true;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", info);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "user_count") == 0)
            *user_count = true;
        else if (strcmp(t, "subscription_count") == 0)
            *subscription_count = true;
        else if (strcmp(t, "cache") == 0 && cache)
            *cache = true;
        else
            return false;
    }
    return true;
}

static void handle_channels(struct rt_app *app, const struct rt_query *q,
                            struct rt_rest_response *out)
{
    const char *prefix = rt_query_get(q, "filter_by_prefix");
    bool uc, sc, cache;
    if (!parse_info(rt_query_get(q, "info"), &uc, &sc, &cache) || cache) {
        respond_error(out, 400, "info may be user_count or subscription_count");
        return;
    }
    if (uc && (!prefix || strncmp(prefix, "presence-", 9) != 0)) {
        respond_error(out, 400,
                      "info=user_count needs filter_by_prefix=presence- (presence channels only)");
        return;
    }
    if (rt_registry_active()) {
        struct rest_job *j = job_new(JOB_CHANNELS, app, out);
        j->uc = uc;
        j->sc = sc;
        j->prefix = prefix ? rt_xstrdup(prefix) : NULL;
        rt_registry_query_channels(app, (uint64_t)(uintptr_t)j, job_done);
        return;
    }
    json_t *chans = json_object();
    struct rt_channel *ch, *tmp;
    HASH_ITER(hh, app->channels, ch, tmp)
    {
        if (ch->kind.type == RT_CHANNEL_SERVER_TO_USER)
            continue;
        if (prefix && strncmp(ch->name, prefix, strlen(prefix)) != 0)
            continue;
        json_object_set_new(chans, ch->name, channel_attributes(app, ch->name, uc, sc, NULL));
    }
    respond_json(out, 200, json_pack("{s:o}", "channels", chans));
}

static void handle_channel(struct rt_app *app, const char *name, const struct rt_query *q,
                           struct rt_rest_response *out)
{
    if (!rt_channel_name_valid(rt_str_c(name), (size_t)app->cfg->max_channel_name_length)) {
        respond_error(out, 400, "Invalid channel name");
        return;
    }
    bool uc, sc, cache;
    if (!parse_info(rt_query_get(q, "info"), &uc, &sc, &cache)) {
        respond_error(out, 400, "info may be user_count, subscription_count or cache");
        return;
    }
    struct rt_channel_kind kind = rt_channel_kind_of(rt_str_c(name));
    if (uc && kind.type != RT_CHANNEL_PRESENCE) {
        respond_error(out, 400, "info=user_count is only available for presence channels");
        return;
    }
    if (rt_registry_active()) {
        struct rest_job *j = job_new(JOB_CHANNEL, app, out);
        j->uc = uc;
        j->sc = sc;
        j->cache = cache && kind.cache;
        j->name = rt_xstrdup(name);
        json_t *names = json_pack("[s]", name);
        rt_registry_query_counts(app, names, (uint64_t)(uintptr_t)j, job_done);
        json_decref(names);
        return;
    }
    struct rt_channel *ch = rt_channel_find(app, name);
    json_t *resp = channel_attributes(app, name, uc, sc, NULL);
    json_object_set_new(resp, "occupied", json_boolean(ch && ch->sub_count > 0));
    if (cache && kind.cache)
        cache_attribute(app, name, resp);
    respond_json(out, 200, resp);
}

/* Adds the cache channel's last event ({"event","data","ttl"}) to resp when it has one. */
static void cache_attribute(struct rt_app *app, const char *name, json_t *resp)
{
    struct rt_cache_entry *e = rt_cache_get(app, name);
    if (!e)
        return;
    uint64_t now = rt_now_ms();
    json_object_set_new(resp, "cache",
                        json_pack("{s:s,s:s,s:I}", "event", e->event, "data", e->data, "ttl",
                                  (json_int_t)((e->expires_ms - now) / 1000)));
}

static void handle_users(struct rt_app *app, const char *name, struct rt_rest_response *out)
{
    if (!rt_channel_name_valid(rt_str_c(name), (size_t)app->cfg->max_channel_name_length) ||
        rt_channel_kind_of(rt_str_c(name)).type != RT_CHANNEL_PRESENCE) {
        respond_error(out, 400, "Users can only be listed for presence channels");
        return;
    }
    if (rt_registry_active()) {
        struct rest_job *j = job_new(JOB_USERS, app, out);
        rt_registry_query_users(app, name, (uint64_t)(uintptr_t)j, job_done);
        return;
    }
    json_t *users = json_array();
    struct rt_channel *ch = rt_channel_find(app, name);
    if (ch) {
        struct rt_member_entry *m, *tmp;
        HASH_ITER(hh, ch->members, m, tmp)
        json_array_append_new(users, json_pack("{s:s}", "id", m->user_id));
    }
    respond_json(out, 200, json_pack("{s:o}", "users", users));
}

static void handle_terminate(struct rt_app *app, const char *user_id,
                             struct rt_rest_response *out)
{
    if (!rt_user_id_valid(rt_str_c(user_id), 128)) {
        respond_error(out, 400, "Invalid user id");
        return;
    }
    struct rt_user *u = rt_user_find(app, user_id);
    if (u) {
        struct rt_conn *c;
        DL_FOREACH2(u->conns, c, user_next)
        rt_conn_fail(c, 4009, "You got disconnected by the app");
    }
    rt_cluster_terminate_user(app, user_id);
    respond_json(out, 200, json_object());
}

/* ---- routing ----------------------------------------------------------------------- */

static const char *secret_for(void *ctx, const char *key)
{
    return rt_app_secret(ctx, key);
}

/* Splits "/apps/{id}/rest" into id and rest (rest starts with '/' or is ""). */
static bool split_app_path(const char *path, char *id, size_t id_cap, const char **rest)
{
    if (strncmp(path, "/apps/", 6) != 0)
        return false;
    const char *p = path + 6, *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= id_cap)
        return false;
    memcpy(id, p, n);
    id[n] = '\0';
    *rest = p + n;
    return true;
}

/* True for the paths the API serves (any method), so that a typo is 404 and a wrong method
 * on a real route is 405. */
static bool known_route(const char *rest)
{
    if (strcmp(rest, "/events") == 0 || strcmp(rest, "/batch_events") == 0 ||
        strcmp(rest, "/channels") == 0)
        return true;
    if (strncmp(rest, "/channels/", 10) == 0) {
        const char *name = rest + 10, *slash = strchr(name, '/');
        return *name && (!slash || strcmp(slash, "/users") == 0);
    }
    if (strncmp(rest, "/users/", 7) == 0) {
        const char *tail = strchr(rest + 7, '/');
        return tail && tail != rest + 7 && strcmp(tail, "/terminate_connections") == 0;
    }
    return false;
}

static bool is_write(const char *rest)
{
    return strcmp(rest, "/events") == 0 || strcmp(rest, "/batch_events") == 0 ||
           (strncmp(rest, "/users/", 7) == 0);
}

/* The reason class of a failed rt_rest_verify for the security log and metric. */
static const char *rest_failure_reason(int rc)
{
    switch (rc) {
    case RT_ERR_UNKNOWN_KEY:
        return "unknown_key";
    case RT_ERR_EXPIRED:
        return "expired";
    case RT_ERR_BAD_SIGNATURE:
        return "bad_signature"; /* or a body_md5 that does not match the body */
    default:
        return "malformed";
    }
}

void rt_rest_handle(const char *method, const char *path, const struct rt_query *q,
                    const char *body, size_t body_len, uint64_t request_id,
                    struct rt_rest_response *out)
{
    memset(out, 0, sizeof *out);
    current_request = request_id;
    if (strcmp(path, "/health") == 0 || strcmp(path, "/ready") == 0) {
        /* A cluster node without Redis serves its own clients only: degraded, not ready. */
        /* Not ready until the node has joined the cluster (connected and its id claimed). */
        bool degraded = rt_registry_clustered() && !rt_registry_active();
        respond_json(out, 200,
                     json_pack("{s:s,s:b,s:s,s:b,s:I,s:I}", "status", degraded ? "degraded" : "ok",
                               "database",
                               rt_srv.db_connected, "redis",
                               !rt_srv.cfg.redis_url       ? "standalone"
                               : rt_cluster_connected()    ? "connected"
                                                           : "disconnected",
                               "draining", rt_srv.draining, "connections",
                               (json_int_t)rt_conn_total(), "apps", (json_int_t)rt_apps_count()));
        /* Which process answered (RT_WORKERS: several share the port). */
        char node[16];
        snprintf(node, sizeof node, "%06u", rt_srv.cfg.node_id);
        json_t *health = json_loads(out->body, 0, NULL);
        if (health) {
            json_object_set_new(health, "node", json_string(node));
            json_object_set_new(health, "worker", json_integer(rt_srv.worker));
            json_object_set_new(health, "pid", json_integer(getpid()));
            free(out->body);
            out->body = json_dumps(health, JSON_COMPACT);
            json_decref(health);
        }
        if (strcmp(path, "/ready") == 0 && (rt_srv.draining || degraded))
            out->status = 503;
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        out->status = 200;
        out->content_type = "text/plain; version=0.0.4";
        out->body = rt_metrics_render();
        return;
    }
    char id[RT_APP_ID_MAX + 1];
    const char *rest;
    if (!split_app_path(path, id, sizeof id, &rest)) {
        respond_error(out, 404, "Not found: the API lives under /apps/{app_id}/");
        return;
    }
    struct rt_app *app = rt_apps_by_id(id);
    if (!app || app->cfg->n_keys == 0) {
        respond_error(out, 404, "Unknown app %s", id);
        return;
    }
    char key[72], err[200];
    int rc = rt_rest_verify(method, path, q, body, body_len, rt_unix_ms() / 1000, secret_for, app,
                            key, sizeof key, err, sizeof err);
    if (rc != 0) {
        rt_seclog(app->cfg->id, RT_SEC_REST_AUTH_FAILURE, rest_failure_reason(rc));
        respond_error(out, 401, "%s", err);
        return;
    }
    if (!app->cfg->enabled) {
        respond_error(out, 403, "Application disabled");
        return;
    }
    app->rest_calls++;
    if (rt_webhooks_route(app, method, rest, q, request_id, out))
        return;
    if (!known_route(rest)) {
        respond_error(out, 404, "Not found: no route %s", rest);
        return;
    }
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    if (is_write(rest) ? !post : !get) {
        respond_error(out, 405, "Method %s not allowed on %s", method, rest);
        return;
    }
    double read_rate = (double)app->cfg->read_requests_per_second / rt_registry_nodes();
    if (get && read_rate > 0 &&
        !rt_bucket_take(&app->read_bucket, read_rate, burst_of(read_rate), rt_now_ms())) {
        respond_error(out, 429, "Rate limit exceeded: at most %d read requests per second",
                      app->cfg->read_requests_per_second);
        return;
    }
    if (strcmp(rest, "/events") == 0) {
        handle_events(app, body, body_len, out);
    } else if (strcmp(rest, "/batch_events") == 0) {
        handle_batch(app, body, body_len, out);
    } else if (strcmp(rest, "/channels") == 0) {
        handle_channels(app, q, out);
    } else if (strncmp(rest, "/channels/", 10) == 0) {
        /* known_route() guaranteed "/channels/{name}" or "/channels/{name}/users". */
        const char *name = rest + 10, *slash = strchr(name, '/');
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s", slash ? (int)(slash - name) : (int)strlen(name), name);
        if (slash)
            handle_users(app, buf, out);
        else
            handle_channel(app, buf, q, out);
    } else {
        /* "/users/{id}/terminate_connections" */
        const char *uid = rest + 7;
        char buf[160];
        snprintf(buf, sizeof buf, "%.*s", (int)(strchr(uid, '/') - uid), uid);
        handle_terminate(app, buf, out);
    }
}
