/* Prometheus metrics: node gauges/counters and per-app series labelled by app id. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "channel.h"
#include "conn.h"
#include "iplimit.h"
#include "handlers.h"
#include "rt_alloc.h"
#include "seclog.h"
#include "server.h"
#include "token.h"
#include "user.h"
#include "webhook.h"

static void app_series(struct rt_app *app, void *ctx)
{
    FILE *f = ctx;
    const char *id = app->cfg->id;
    fprintf(f, "rt_app_connections{app=\"%s\"} %zu\n", id, app->conn_count);
    fprintf(f, "rt_app_channels{app=\"%s\"} %u\n", id, HASH_COUNT(app->channels));
    size_t members = 0;
    struct rt_channel *ch, *tmp;
    HASH_ITER(hh, app->channels, ch, tmp)
    members += ch->member_count;
    fprintf(f, "rt_app_presence_members{app=\"%s\"} %zu\n", id, members);
    fprintf(f, "rt_app_users{app=\"%s\"} %u\n", id, HASH_COUNT(app->users));
    fprintf(f, "rt_app_messages_in_total{app=\"%s\"} %llu\n", id, app->messages_in);
    fprintf(f, "rt_app_messages_out_total{app=\"%s\"} %llu\n", id, app->messages_out);
    fprintf(f, "rt_app_rest_calls_total{app=\"%s\"} %llu\n", id, app->rest_calls);
    rt_webhooks_write_app_metrics(f, id);
}

char *rt_metrics_render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        rt_out_of_memory("open_memstream", 0);
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
    rt_token_write_metrics(f);
    rt_seclog_write_metrics(f);
    fprintf(f, "# TYPE rt_app_connections gauge\n# TYPE rt_app_channels gauge\n"
               "# TYPE rt_app_presence_members gauge\n# TYPE rt_app_users gauge\n"
               "# TYPE rt_app_messages_in_total counter\n"
               "# TYPE rt_app_messages_out_total counter\n"
               "# TYPE rt_app_rest_calls_total counter\n");
    rt_apps_each(app_series, f);
    /* A write that ran out of memory shows only here, as a failed flush. */
    if (fclose(f) != 0)
        rt_out_of_memory("open_memstream", len);
    return buf;
}
