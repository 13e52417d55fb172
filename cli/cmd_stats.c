/* rtadmin stats: live per-app numbers from running servers' /metrics, summed over the nodes,
 * next to each node's own totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_lookup.h"
#include "db.h"
#include "http.h"
#include "metrics_text.h"
#include "output.h"
#include "rt_alloc.h"
#include "servers.h"

#define METRICS_TIMEOUT 3L /* seconds per server */

/* What one /metrics answer adds to: the app rows (by id) and this server's totals row. */
struct tally {
    json_t *apps_by_id; /* borrowed: id -> row object of the apps array */
    json_t *node;       /* this server's row */
};

static void add_to(json_t *row, const char *field, long long value)
{
    json_t *v = json_object_get(row, field);
    json_object_set_new(row, field, json_integer(json_integer_value(v) + (json_int_t)value));
}

/* Counts only apps that exist in the database (and match APP): a deleted app's leftover
 * series would show up as noise. */
static void tally_sample(void *arg, const char *app, enum app_stat stat, long long value)
{
    struct tally *t = arg;
    json_t *row = json_object_get(t->apps_by_id, app);
    if (!row) return;
    add_to(row, app_stat_names[stat].field, value);
    add_to(t->node, app_stat_names[stat].field, value);
}

/* A row with every numeric field at zero, after the given identifying member. */
static json_t *zero_row(const char *id_field, const char *id)
{
    json_t *row = json_pack("{s:s}", id_field, id);
    for (int i = 0; i < APP_STAT_COUNT; i++)
        json_object_set_new(row, app_stat_names[i].field, json_integer(0));
    return row;
}

/* The apps to report (one, or all in `app list` order) as rows with zeroed numbers. */
static int load_apps(struct cli_ctx *ctx, const char *app_id, json_t **apps)
{
    const char *params[] = {app_id};
    if (app_id && app_require(ctx, app_id, false) != 0) return CLI_FAIL;
    if (db_json(ctx->db,
                "SELECT coalesce(json_agg(json_build_object('app_id', id, 'name', name)"
                " ORDER BY created_at, id), '[]') FROM apps WHERE $1::text IS NULL OR id = $1",
                1, params, apps) != 0)
        return CLI_FAIL;
    size_t i;
    json_t *row;
    json_array_foreach(*apps, i, row)
    {
        for (int s = 0; s < APP_STAT_COUNT; s++)
            json_object_set_new(row, app_stat_names[s].field, json_integer(0));
    }
    return 0;
}

/* Fetches one server's /metrics and adds it up. Returns 0 or CLI_FAIL after printing. */
static int scrape(const char *server, json_t *apps_by_id, json_t *node)
{
    char url[SERVER_URL_MAX + 16], err[HTTP_ERROR_MAX];
    struct http_response r;
    snprintf(url, sizeof url, "%s/metrics", server);
    if (http_request("GET", url, NULL, METRICS_TIMEOUT, &r, err, sizeof err) != 0) {
        http_response_free(&r);
        return cli_fail("cannot reach server %s: %s", server, err);
    }
    int rc = 0;
    struct tally t = {apps_by_id, node};
    if (r.status != 200)
        rc = cli_fail("server %s answered HTTP %ld to GET /metrics: %s", server, r.status,
                      http_body_line(&r));
    else if (!metrics_text_parse(r.body ? r.body : "", tally_sample, &t))
        rc = cli_fail("%s/metrics has no rt_connections gauge; is %s an rtserver?", server, server);
    http_response_free(&r);
    return rc;
}

static void print_tables(json_t *apps, json_t *nodes)
{
    struct out_col cols[2 + APP_STAT_COUNT] = {{"APP", "app_id"}, {"NAME", "name"}};
    for (int i = 0; i < APP_STAT_COUNT; i++)
        cols[2 + i] = (struct out_col){app_stat_names[i].header, app_stat_names[i].field};
    out_table(apps, cols, 2 + APP_STAT_COUNT, "No apps. Create one with: rtadmin app create");
    putchar('\n');
    /* The node table has the same numbers; only the first two columns differ. */
    cols[1] = (struct out_col){"SERVER", "server"};
    out_table(nodes, cols + 1, 1 + APP_STAT_COUNT, NULL);
}

static int stats(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    json_t *apps = NULL, *nodes = json_array(), *by_id = json_object();
    struct server_list *servers = rt_xmalloc(sizeof *servers);
    int rc = servers_all(ctx, servers);
    if (rc == 0) rc = load_apps(ctx, app_id, &apps);
    if (rc != 0) goto done;

    size_t i;
    json_t *row;
    json_array_foreach(apps, i, row)
        json_object_set(by_id, json_string_value(json_object_get(row, "app_id")), row);
    for (int s = 0; s < servers->count && rc == 0; s++) {
        json_t *node = zero_row("server", servers->url[s]);
        json_array_append_new(nodes, node);
        rc = scrape(servers->url[s], by_id, node);
    }
    if (rc != 0) goto done;
    if (ctx->json) {
        json_t *out = json_pack("{s:O, s:O}", "apps", apps, "servers", nodes);
        out_json(out);
        json_decref(out);
    } else {
        print_tables(apps, nodes);
    }
done:
    json_decref(apps);
    json_decref(nodes);
    json_decref(by_id);
    free(servers);
    return rc;
}

static const struct cli_opt stats_opts[] = {
    {"server", "URL",
     "rtserver base URL; repeat for several nodes (default: $RT_SERVER_URL, a comma-separated "
     "list, else " SERVER_DEFAULT_URL ")"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_stats = {
    .name = "stats",
    .usage = "[APP] [--server URL ...]",
    .summary = "Live connections, channels and message counts per app, from running servers",
    .details = "Reads GET /metrics of every server (3 s timeout each) and sums the numbers per\n"
               "app; a second table shows each server's share. Apps without live series show\n"
               "zeros. Counters (MESSAGES_IN, MESSAGES_OUT, REST_CALLS) count since each\n"
               "server started; a channel occupied on two servers counts on both. Example:\n"
               "  rtadmin stats 1234567 --server http://rt1:6001 --server http://rt2:6001",
    .opts = stats_opts,
    .min_args = 0,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = stats,
};
