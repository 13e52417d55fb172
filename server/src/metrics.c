/* Prometheus metrics: node gauges/counters and per-app series labelled by app id. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "channel.h"
#include "conn.h"
#include "server.h"
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
        return NULL;
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
    rt_webhooks_write_metrics(f);
    fprintf(f, "# TYPE rt_app_connections gauge\n# TYPE rt_app_channels gauge\n"
               "# TYPE rt_app_presence_members gauge\n# TYPE rt_app_users gauge\n"
               "# TYPE rt_app_messages_in_total counter\n"
               "# TYPE rt_app_messages_out_total counter\n"
               "# TYPE rt_app_rest_calls_total counter\n");
    rt_apps_each(app_series, f);
    fclose(f);
    return buf;
}
