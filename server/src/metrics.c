/* Prometheus metrics: node gauges/counters and per-app series labelled by app id. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channel.h"
#include "cluster.h"
#include "conn.h"
#include "ingest.h"
#include "iplimit.h"
#include "log.h"
#include "handlers.h"
#include "net.h"
#include "rt_alloc.h"
#include "seclog.h"
#include "server.h"
#include "token.h"
#include "user.h"
#include "webhook.h"

/* ---- REST requests by route class ------------------------------------------------------ */

static const char *const route_names[] = {"other",         "health",       "ready",    "metrics",
                                          "events",        "batch_events", "channels", "channel",
                                          "channel_users", "users"};
#define ROUTES (int)(sizeof route_names / sizeof route_names[0])
/* Upper bounds of the latency buckets, seconds (then +Inf). */
static const double latency_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,   0.25,   0.5,   1,    2.5,   5};
#define BUCKETS (int)(sizeof latency_le / sizeof latency_le[0])
#define STATUS_SLOTS 64

static struct {
    struct {
        unsigned long long buckets[BUCKETS + 1], count;
        double sum;
    } latency[ROUTES];
    struct {
        int route, status;
        unsigned long long n;
    } by_status[STATUS_SLOTS];
    uv_timer_t lag_timer;
    bool lag_started;
    uint64_t lag_expected_ns;
    double lag_last, lag_max, lag_max_prev; /* seconds; max in this and the previous minute */
    uint64_t lag_window_start_ns;
} m;

int rt_metrics_route(const char *path)
{
    if (strcmp(path, "/health") == 0) return 1;
    if (strcmp(path, "/ready") == 0) return 2;
    if (strcmp(path, "/metrics") == 0) return 3;
    if (strncmp(path, "/apps/", 6) != 0) return 0;
    const char *rest = strchr(path + 6, '/');
    if (!rest) return 0;
    if (strcmp(rest, "/events") == 0) return 4;
    if (strcmp(rest, "/batch_events") == 0) return 5;
    if (strcmp(rest, "/channels") == 0) return 6;
    if (strncmp(rest, "/channels/", 10) == 0) {
        const char *slash = strchr(rest + 10, '/');
        return !slash ? 7 : strcmp(slash, "/users") == 0 ? 8 : 0;
    }
    if (strncmp(rest, "/users/", 7) == 0) return 9;
    return 0;
}

void rt_metrics_rest(uint64_t request_id, int route, int status, uint64_t duration_us)
{
    if (route < 0 || route >= ROUTES) route = 0;
    double s = (double)duration_us / 1e6;
    rt_log_debug("request=%llu route=%s status=%d in %.3f ms", (unsigned long long)request_id,
                 route_names[route], status, s * 1000);
    int b = 0;
    while (b < BUCKETS && s > latency_le[b])
        b++;
    m.latency[route].buckets[b]++;
    m.latency[route].count++;
    m.latency[route].sum += s;
    for (int i = 0; i < STATUS_SLOTS; i++) {
        if (m.by_status[i].n == 0 ||
            (m.by_status[i].route == route && m.by_status[i].status == status)) {
            m.by_status[i].route = route;
            m.by_status[i].status = status;
            m.by_status[i].n++;
            return;
        }
    }
    /* Table full (64 route/status pairs): counted under the last slot's pair would lie, so
     * such requests show in the latency histogram only. */
}

static void write_rest(FILE *f)
{
    fprintf(f, "# TYPE rt_rest_requests_total counter\n");
    for (int i = 0; i < STATUS_SLOTS && m.by_status[i].n; i++)
        fprintf(f, "rt_rest_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                route_names[m.by_status[i].route], m.by_status[i].status, m.by_status[i].n);
    fprintf(f, "# TYPE rt_rest_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTES; r++) {
        if (!m.latency[r].count) continue;
        unsigned long long cum = 0;
        for (int b = 0; b <= BUCKETS; b++) {
            cum += m.latency[r].buckets[b];
            if (b < BUCKETS)
                fprintf(f, "rt_rest_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                        route_names[r], latency_le[b], cum);
            else
                fprintf(f,
                        "rt_rest_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                        route_names[r], cum);
        }
        fprintf(f, "rt_rest_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
                m.latency[r].sum);
        fprintf(f, "rt_rest_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
                m.latency[r].count);
    }
}

/* ---- event-loop lag: a timer every LAG_INTERVAL_MS measures how late it runs ---------- */

#define LAG_INTERVAL_MS 250
#define LAG_WINDOW_NS (60ull * 1000000000ull)

static void on_lag_sample(uv_timer_t *t)
{
    (void)t;
    uint64_t now = uv_hrtime();
    double lag = now > m.lag_expected_ns ? (double)(now - m.lag_expected_ns) / 1e9 : 0;
    m.lag_last = lag;
    if (now - m.lag_window_start_ns >= LAG_WINDOW_NS) {
        m.lag_max_prev = m.lag_max;
        m.lag_max = 0;
        m.lag_window_start_ns = now;
    }
    if (lag > m.lag_max) m.lag_max = lag;
    m.lag_expected_ns = now + (uint64_t)LAG_INTERVAL_MS * 1000000u;
}

void rt_metrics_start(uv_loop_t *loop)
{
    uv_timer_init(loop, &m.lag_timer);
    uv_unref((uv_handle_t *)&m.lag_timer);
    m.lag_window_start_ns = uv_hrtime();
    m.lag_expected_ns = m.lag_window_start_ns + (uint64_t)LAG_INTERVAL_MS * 1000000u;
    uv_timer_start(&m.lag_timer, on_lag_sample, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
    m.lag_started = true;
}

void rt_metrics_stop(void)
{
    if (!m.lag_started) return;
    m.lag_started = false;
    uv_timer_stop(&m.lag_timer);
    uv_close((uv_handle_t *)&m.lag_timer, NULL);
}

/* ---- per-app series, bounded: the RT_METRICS_APPS_MAX apps with most connections -------- */

struct app_sums {
    size_t conns, channels, members, users;
    unsigned long long in, out, rest;
};

static void app_sums(const struct rt_app *app, struct app_sums *a)
{
    a->conns += app->conn_count;
    a->channels += HASH_COUNT(app->channels);
    struct rt_channel *ch, *tmp;
    HASH_ITER(hh, app->channels, ch, tmp)
    a->members += ch->member_count;
    a->users += HASH_COUNT(app->users);
    a->in += app->messages_in;
    a->out += app->messages_out;
    a->rest += app->rest_calls;
}

static void write_app(FILE *f, const char *id, const struct app_sums *a)
{
    fprintf(f, "rt_app_connections{app=\"%s\"} %zu\n", id, a->conns);
    fprintf(f, "rt_app_channels{app=\"%s\"} %zu\n", id, a->channels);
    fprintf(f, "rt_app_presence_members{app=\"%s\"} %zu\n", id, a->members);
    fprintf(f, "rt_app_users{app=\"%s\"} %zu\n", id, a->users);
    fprintf(f, "rt_app_messages_in_total{app=\"%s\"} %llu\n", id, a->in);
    fprintf(f, "rt_app_messages_out_total{app=\"%s\"} %llu\n", id, a->out);
    fprintf(f, "rt_app_rest_calls_total{app=\"%s\"} %llu\n", id, a->rest);
}

struct app_list {
    struct rt_app **v;
    size_t n, cap;
};

static void collect_app(struct rt_app *app, void *ctx)
{
    struct app_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = rt_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = app;
}

static int by_connections(const void *a, const void *b)
{
    const struct rt_app *x = *(struct rt_app *const *)a, *y = *(struct rt_app *const *)b;
    if (x->conn_count != y->conn_count) return x->conn_count > y->conn_count ? -1 : 1;
    return strcmp(x->cfg->id, y->cfg->id);
}

/* The apps in /metrics order, most connections first: the first `shown` have their own series,
 * the rest are summed as app="_other". Computed once per scrape, so that every per-app family
 * (rt_app_*, the security counters) names the same apps. */
struct app_ranking {
    struct app_list l;
    size_t shown;
    struct rt_app **own; /* the shown apps by address, for own_series() */
};

static int by_address(const void *a, const void *b)
{
    const struct rt_app *x = *(struct rt_app *const *)a, *y = *(struct rt_app *const *)b;
    return x < y ? -1 : x > y;
}

static void rank_apps(struct app_ranking *r)
{
    rt_apps_each(collect_app, &r->l);
    if (r->l.n) qsort(r->l.v, r->l.n, sizeof *r->l.v, by_connections);
    size_t max = (size_t)rt_srv.cfg.metrics_apps_max;
    r->shown = r->l.n < max ? r->l.n : max;
    r->own = rt_xmalloc((r->shown ? r->shown : 1) * sizeof *r->own);
    if (!r->shown) return; /* no apps: r->l.v is NULL */
    memcpy(r->own, r->l.v, r->shown * sizeof *r->own);
    qsort(r->own, r->shown, sizeof *r->own, by_address);
}

static void ranking_free(struct app_ranking *r)
{
    free(r->l.v);
    free(r->own);
}

/* True when app_id has its own series in this scrape; false for an id no longer in the
 * registry (a deleted app's counters then go to "_other"). */
static bool own_series(const char *app_id, void *ctx)
{
    const struct app_ranking *r = ctx;
    struct rt_app *app = rt_apps_by_id(app_id);
    return app && bsearch(&app, r->own, r->shown, sizeof *r->own, by_address) != NULL;
}

static void write_apps(FILE *f, const struct app_ranking *r)
{
    struct app_sums other = {0};
    for (size_t i = 0; i < r->l.n; i++) {
        if (i < r->shown) {
            struct app_sums a = {0};
            app_sums(r->l.v[i], &a);
            write_app(f, r->l.v[i]->cfg->id, &a);
            rt_webhooks_write_app_metrics(f, r->l.v[i]->cfg->id);
        } else {
            app_sums(r->l.v[i], &other);
        }
    }
    /* The rest as one series: the totals stay right, the label set stays bounded. */
    if (r->l.n > r->shown) write_app(f, "_other", &other);
    fprintf(f, "# TYPE rt_apps gauge\nrt_apps %zu\n", r->l.n);
}

/* ---- node totals computed at scrape ------------------------------------------------------ */

struct out_totals {
    unsigned long long messages_out;
    size_t queued_bytes, queued_max;
};

static void node_out(struct rt_app *app, void *ctx)
{
    struct out_totals *t = ctx;
    t->messages_out += app->messages_out;
    for (struct rt_conn *c = app->conns; c; c = c->app_next) {
        size_t b = c->sock ? c->sock->out.bytes : 0;
        t->queued_bytes += b;
        if (b > t->queued_max) t->queued_max = b;
    }
}

char *rt_metrics_render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) rt_out_of_memory("open_memstream", 0);
    fprintf(f, "# TYPE rt_node_info gauge\nrt_node_info{node=\"%06u\",worker=\"%d\"} 1\n",
            rt_srv.cfg.node_id, rt_srv.worker);
    fprintf(f, "# TYPE rt_connections gauge\nrt_connections %zu\n", rt_conn_total());
    fprintf(f, "# TYPE rt_connections_opened_total counter\nrt_connections_opened_total %llu\n",
            rt_srv.ws_opened);
    fprintf(f, "# TYPE rt_connections_closed_total counter\nrt_connections_closed_total %llu\n",
            rt_srv.ws_closed);
    fprintf(f, "# TYPE rt_connections_refused_total counter\nrt_connections_refused_total %llu\n",
            rt_srv.refused_capacity);
    fprintf(f, "# TYPE rt_http_requests_total counter\nrt_http_requests_total %llu\n",
            rt_srv.http_requests);
    fprintf(f, "# TYPE rt_database_connected gauge\nrt_database_connected %d\n",
            rt_srv.db_connected ? 1 : 0);
    fprintf(f, "# TYPE rt_database_reconnects_total counter\nrt_database_reconnects_total %llu\n",
            rt_srv.db_connects > 1 ? rt_srv.db_connects - 1 : 0);
    fprintf(f, "# TYPE rt_redis_connected gauge\nrt_redis_connected %d\n",
            rt_srv.cfg.redis_url && rt_cluster_connected() ? 1 : 0);
    fprintf(f, "# TYPE rt_redis_reconnects_total counter\nrt_redis_reconnects_total %llu\n",
            rt_srv.redis_connects > 1 ? rt_srv.redis_connects - 1 : 0);
    struct rt_cluster_stats bus = {0};
    rt_cluster_stats(&bus);
    fprintf(f,
            "# TYPE rt_redis_output_overflows_total counter\n"
            "rt_redis_output_overflows_total %llu\n"
            "# TYPE rt_redis_write_timeouts_total counter\n"
            "rt_redis_write_timeouts_total %llu\n"
            "# TYPE rt_redis_reply_timeouts_total counter\n"
            "rt_redis_reply_timeouts_total %llu\n",
            bus.output_overflows, bus.write_timeouts, bus.reply_timeouts);
    fprintf(f,
            "# TYPE rt_redis_cluster_masters gauge\nrt_redis_cluster_masters %zu\n"
            "# TYPE rt_redis_cluster_redirects_total counter\n"
            "rt_redis_cluster_redirects_total %llu\n"
            "# TYPE rt_redis_cluster_map_loads_total counter\n"
            "rt_redis_cluster_map_loads_total %llu\n",
            bus.masters, bus.redirects, bus.map_loads);
    fprintf(f,
            "# TYPE rt_cluster_bus_messages_in_total counter\n"
            "rt_cluster_bus_messages_in_total %llu\n"
            "# TYPE rt_cluster_bus_messages_out_total counter\n"
            "rt_cluster_bus_messages_out_total %llu\n"
            "# TYPE rt_cluster_bus_routes gauge\nrt_cluster_bus_routes %zu\n",
            bus.messages_in, bus.messages_out, bus.subscribed);
    fprintf(f, "# TYPE rt_draining gauge\nrt_draining %d\n", rt_srv.draining ? 1 : 0);
    struct out_totals out = {0};
    rt_apps_each(node_out, &out);
    fprintf(f, "# TYPE rt_messages_out_total counter\nrt_messages_out_total %llu\n",
            out.messages_out);
    fprintf(f, "# TYPE rt_ws_frames_out_total counter\nrt_ws_frames_out_total %llu\n",
            rt_srv.ws_frames_out);
    fprintf(f, "# TYPE rt_ws_bytes_out_total counter\nrt_ws_bytes_out_total %llu\n",
            rt_srv.ws_bytes_out);
    fprintf(f, "# TYPE rt_ws_dropped_frames_total counter\nrt_ws_dropped_frames_total %llu\n",
            rt_srv.ws_dropped_frames);
    fprintf(f, "# TYPE rt_ws_send_queue_bytes gauge\nrt_ws_send_queue_bytes %zu\n",
            out.queued_bytes);
    fprintf(f, "# TYPE rt_ws_send_queue_max_bytes gauge\nrt_ws_send_queue_max_bytes %zu\n",
            out.queued_max);
    fprintf(f, "# TYPE rt_event_loop_lag_seconds gauge\nrt_event_loop_lag_seconds %.6f\n",
            m.lag_last);
    fprintf(f, "# TYPE rt_event_loop_lag_max_seconds gauge\nrt_event_loop_lag_max_seconds %.6f\n",
            m.lag_max > m.lag_max_prev ? m.lag_max : m.lag_max_prev);
    write_rest(f);
    fprintf(f, "# TYPE rt_slow_consumer_closes_total counter\nrt_slow_consumer_closes_total %llu\n",
            rt_srv.slow_consumer_closes);
    fprintf(f, "# TYPE rt_ws_protocol_errors_total counter\nrt_ws_protocol_errors_total %llu\n",
            rt_srv.ws_protocol_errors);
    fprintf(f, "# TYPE rt_ws_closes_total counter\n");
    for (int i = 0; i < RT_CLOSE_CODES_MAX && rt_srv.closes[i].code; i++)
        fprintf(f, "rt_ws_closes_total{code=\"%d\"} %llu\n", rt_srv.closes[i].code,
                rt_srv.closes[i].count);
    const struct {
        const char *reason;
        unsigned long long n;
    } refused[] = {
        {"inflight_node", rt_srv.http_refused.inflight_node},
        {"inflight_ip", rt_srv.http_refused.inflight_ip},
        {"header_timeout", rt_srv.http_refused.header_timeout},
        {"body_timeout", rt_srv.http_refused.body_timeout},
        {"header_too_large", rt_srv.http_refused.header_too_large},
        {"bad_request", rt_srv.http_refused.bad_request},
    };
    struct rt_ip_stats ip;
    rt_ip_stats(&ip);
    fprintf(f,
            "# TYPE rt_ip_refused_total counter\nrt_ip_refused_total{reason=\"rate\"} %llu\n"
            "rt_ip_refused_total{reason=\"concurrent\"} %llu\n"
            "rt_ip_refused_total{reason=\"backoff\"} %llu\n"
            "# TYPE rt_ip_backoffs_total counter\nrt_ip_backoffs_total %llu\n"
            "# TYPE rt_ip_tracked gauge\nrt_ip_tracked %zu\n",
            ip.refused_rate, ip.refused_concurrent, ip.refused_backoff, ip.backoffs, ip.tracked);
    fprintf(f, "# TYPE rt_http_refused_total counter\n");
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        fprintf(f, "rt_http_refused_total{reason=\"%s\"} %llu\n", refused[i].reason, refused[i].n);
    fprintf(f,
            "# TYPE rt_subscribe_rate_limited_total counter\n"
            "rt_subscribe_rate_limited_total %llu\n",
            rt_subscribe_rate_limited);
    fprintf(f,
            "# TYPE rt_subscription_count_coalesced_total counter\n"
            "rt_subscription_count_coalesced_total %llu\n",
            rt_subscription_counts_coalesced);
    rt_webhooks_write_metrics(f);
    rt_ingest_write_metrics(f);
    rt_token_write_metrics(f);
    struct app_ranking ranking = {0};
    rank_apps(&ranking);
    rt_seclog_write_metrics(f, own_series, &ranking);
    fprintf(f, "# TYPE rt_app_connections gauge\n# TYPE rt_app_channels gauge\n"
               "# TYPE rt_app_presence_members gauge\n# TYPE rt_app_users gauge\n"
               "# TYPE rt_app_messages_in_total counter\n"
               "# TYPE rt_app_messages_out_total counter\n"
               "# TYPE rt_app_rest_calls_total counter\n");
    write_apps(f, &ranking);
    ranking_free(&ranking);
    /* A write that ran out of memory shows only here, as a failed flush. */
    if (fclose(f) != 0) rt_out_of_memory("open_memstream", len);
    return buf;
}
