/* rtadmin webhook add|list|remove: where an app's server-side events are POSTed; webhook
 * failures|retry: the requests servers gave up on (asked through a server's HTTP API). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_lookup.h"
#include "audit_record.h"
#include "db.h"
#include "output.h"
#include "rest_call.h"
#include "rt_alloc.h"
#include "servers.h"

#define WEBHOOK_URL_MAX 2048

static const char *const event_kinds[] = {
    "channel_occupied", "channel_vacated", "member_added",       "member_removed",
    "client_event",     "cache_miss",      "subscription_count", NULL,
};

static bool is_event_kind(const char *s, size_t n)
{
    for (const char *const *k = event_kinds; *k; k++)
        if (strlen(*k) == n && memcmp(*k, s, n) == 0) return true;
    return false;
}

/* Checks the URL with libcurl's parser: http or https, and a host. Returns 0 or CLI_USAGE. */
static int check_url(const struct cli_ctx *ctx, const char *url)
{
    if (strlen(url) > WEBHOOK_URL_MAX)
        return cli_usage(ctx, "webhook URL is longer than %d characters", WEBHOOK_URL_MAX);
    /* libcurl forgives "http:///path" by guessing a host; a webhook target must name one. */
    const char *authority = strstr(url, "://");
    if (!authority || !authority[3] || strchr("/?#", authority[3]) || strpbrk(url, " \t\r\n"))
        return cli_usage(ctx,
                         "'%s' is not a valid webhook URL (expected http://HOST/... or "
                         "https://HOST/...)",
                         url);
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = 0;
    if (!u) return cli_fail("out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        rc = cli_usage(ctx,
                       "'%s' is not a valid webhook URL (expected http://HOST/... or "
                       "https://HOST/...)",
                       url);
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = cli_usage(ctx, "webhook URL must start with http:// or https://, not %s://", scheme);
    /* The schema's CHECK wants the scheme in lowercase exactly as typed. */
    else if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        rc = cli_usage(ctx, "webhook URL must start with http:// or https:// in lowercase");
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* The URL for the audit log: a password in it (https://user:pass@host) is masked. */
static char *url_for_audit(const char *url)
{
    CURLU *u = curl_url();
    char *pass = NULL, *out = NULL, *copy = NULL;
    if (!u) return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_PASSWORD, "REDACTED", 0);
        if (curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) copy = rt_xstrdup(out);
    } else {
        copy = rt_xstrdup(url);
    }
    curl_free(pass);
    curl_free(out);
    curl_url_cleanup(u);
    return copy;
}

/* "a, b" -> the text[] literal body "a,b" after checking each kind; "" means every kind. */
static int parse_events(const struct cli_ctx *ctx, const char *in, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    while (in && *in) {
        while (*in == ' ')
            in++;
        const char *end = strchr(in, ',');
        size_t len = end ? (size_t)(end - in) : strlen(in);
        while (len > 0 && in[len - 1] == ' ')
            len--;
        if (len > 0) {
            if (!is_event_kind(in, len))
                return cli_usage(ctx,
                                 "unknown webhook event '%.*s' (expected some of: "
                                 "channel_occupied, channel_vacated, member_added, "
                                 "member_removed, client_event, cache_miss, "
                                 "subscription_count)",
                                 (int)len, in);
            if (n + len + 2 > cap) return cli_usage(ctx, "--events is too long");
            if (n > 0) out[n++] = ',';
            memcpy(out + n, in, len);
            n += len;
            out[n] = '\0';
        }
        if (!end) break;
        in = end + 1;
    }
    return 0;
}

/* An integer option from min to max into out (as text; "" when absent). Returns 0 or
 * CLI_USAGE. */
static int int_option(const struct cli_ctx *ctx, const char *name, long min, long max, char *out,
                      size_t cap)
{
    const char *in = cli_args_get(&ctx->args, name);
    out[0] = '\0';
    if (!in) return 0;
    char *end;
    long v = strtol(in, &end, 10);
    if (!*in || *end || v < min || v > max)
        return cli_usage(ctx, "--%s must be an integer from %ld to %ld, not '%s'", name, min, max,
                         in);
    snprintf(out, cap, "%ld", v);
    return 0;
}

static int webhook_add(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0), *url = cli_arg(ctx, 1);
    char events[512], window[16], max[16];
    int rc = check_url(ctx, url);
    if (rc == 0) rc = parse_events(ctx, cli_args_get(&ctx->args, "events"), events, sizeof events);
    if (rc == 0) rc = int_option(ctx, "batch-window-ms", 0, 10000, window, sizeof window);
    if (rc == 0) rc = int_option(ctx, "batch-max", 1, 1000, max, sizeof max);
    if (rc != 0) return rc;

    json_t *row = NULL;
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if ((rc = app_require(ctx, app_id, true)) != 0) goto fail;
    const char *params[] = {app_id, url, events, window, max};
    if (db_json(
            ctx->db,
            "INSERT INTO app_webhooks (app_id, url, event_types, batch_window_ms, batch_max)"
            " SELECT $1, $2, array(SELECT DISTINCT unnest(string_to_array($3, ',')) ORDER BY 1),"
            " coalesce(nullif($4, '')::int, 100), coalesce(nullif($5, '')::int, 50)"
            " RETURNING json_build_object('id', id, 'app_id', app_id, 'url', url,"
            " 'event_types', event_types, 'batch_window_ms', batch_window_ms,"
            " 'batch_max', batch_max, 'created_at', created_at)",
            5, params, &row) != 0 ||
        !row) {
        rc = CLI_FAIL;
        goto fail;
    }
    char *audit_url = url_for_audit(url);
    json_t *details =
        json_pack("{s:O, s:s, s:O, s:O, s:O}", "id", json_object_get(row, "id"), "url",
                  audit_url ? audit_url : "?", "event_types", json_object_get(row, "event_types"),
                  "batch_window_ms", json_object_get(row, "batch_window_ms"), "batch_max",
                  json_object_get(row, "batch_max"));
    free(audit_url);
    rc = audit_record(ctx, "webhook.add", app_id, details) ? CLI_FAIL : 0;
    json_decref(details);
    if (rc == 0) rc = db_commit(ctx->db) ? CLI_FAIL : 0;
    if (rc != 0) goto fail;

    if (ctx->json) {
        out_json(row);
    } else {
        char *kinds = out_text(json_object_get(row, "event_types"));
        printf("Added webhook %" JSON_INTEGER_FORMAT " to app %s: %s (%s)\n",
               json_integer_value(json_object_get(row, "id")), app_id, url,
               events[0] && kinds ? kinds : "all events");
        free(kinds);
    }
    json_decref(row);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    json_decref(row);
    return rc;
}

static const struct cli_opt add_opts[] = {
    {"events", "A,B",
     "event kinds to send (default: all): channel_occupied, channel_vacated, "
     "member_added, member_removed, client_event, cache_miss, "
     "subscription_count"},
    {"batch-window-ms", "MS",
     "events within MS of the first go in one request (0-10000, default 100; 0 = no wait)"},
    {"batch-max", "N", "events per request at most (1-1000, default 50)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_webhook_add = {
    .group = "webhook",
    .name = "add",
    .usage = "APP URL [--events KIND,KIND] [--batch-window-ms MS] [--batch-max N]",
    .summary = "Send an app's events to an http(s) URL",
    .details = "Example: rtadmin webhook add 1234567 https://example.com/hooks "
               "--events channel_occupied,channel_vacated",
    .opts = add_opts,
    .min_args = 2,
    .max_args = 2,
    .needs = CLI_NEEDS_DB,
    .run = webhook_add,
};

/* "YYYY-MM-DD HH:MM:SSZ" of a Unix time in milliseconds. */
static void ms_text(json_int_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* One line for an endpoint's last status: "200 at ...", "HTTP 500 at ... (retrying, 3
 * attempts)", "Couldn't connect to server at ... (gave up after 9 attempts)". */
static char *status_text(const json_t *last)
{
    if (!json_is_object(last)) return rt_xstrdup("-");
    char at[32], *text = NULL;
    ms_text(json_integer_value(json_object_get(last, "at_ms")), at, sizeof at);
    json_int_t status = json_integer_value(json_object_get(last, "status"));
    json_int_t attempts = json_integer_value(json_object_get(last, "attempts"));
    const char *error = json_string_value(json_object_get(last, "error"));
    if (json_is_true(json_object_get(last, "ok"))) {
        if (asprintf(&text, "%" JSON_INTEGER_FORMAT " at %s", status, at) < 0) text = NULL;
    } else {
        char what[160];
        if (error && strcmp(error, "HTTP") == 0)
            snprintf(what, sizeof what, "HTTP %" JSON_INTEGER_FORMAT, status);
        else
            snprintf(what, sizeof what, "%s", error ? error : "failed");
        bool retrying = json_is_true(json_object_get(last, "retrying"));
        if (asprintf(&text, "%s at %s (%s %" JSON_INTEGER_FORMAT " attempts)", what, at,
                     retrying ? "retrying after" : "gave up after", attempts) < 0)
            text = NULL;
    }
    return text ? text : rt_xstrdup("?");
}

/* GET path (+ query) of app_id on the first server into *out (parsed JSON). Returns 0, or
 * CLI_FAIL after printing. */
static int ask_server(struct cli_ctx *ctx, const char *app_id, const char *method, const char *path,
                      const char *query, json_t **out)
{
    char server[SERVER_URL_MAX];
    struct http_response r = {0};
    int rc = servers_first(ctx, server);
    if (rc != 0) return rc;
    struct rest_call call = {
        .server = server,
        .app_id = app_id,
        .method = method,
        .path = path,
        .query = query,
        .body = strcmp(method, "POST") == 0 ? "{}" : NULL,
        .timeout_seconds = 10,
    };
    if ((rc = rest_call(ctx, &call, &r)) != 0) {
        http_response_free(&r);
        return rc;
    }
    json_t *body = r.body ? json_loads(r.body, 0, NULL) : NULL;
    if (r.status < 200 || r.status > 299 || !body) {
        const char *msg = json_string_value(json_object_get(body, "error"));
        rc =
            cli_fail("%s answered HTTP %ld%s%s", server, r.status, msg ? ": " : "", msg ? msg : "");
        json_decref(body);
        http_response_free(&r);
        return rc;
    }
    http_response_free(&r);
    *out = body;
    return 0;
}

static int webhook_list(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    const char *params[] = {app_id};
    json_t *rows = NULL, *state = NULL;
    if (app_require(ctx, app_id, false) != 0) return CLI_FAIL;
    if (db_json(ctx->db,
                "SELECT coalesce(json_agg(json_build_object('id', id, 'url', url,"
                " 'event_types', event_types, 'batch_window_ms', batch_window_ms,"
                " 'batch_max', batch_max, 'created_at', created_at) ORDER BY id), '[]')"
                " FROM app_webhooks WHERE app_id = $1",
                1, params, &rows) != 0)
        return CLI_FAIL;
    /* The last status of each endpoint comes from a running server; without one the list
     * still prints, with the status unknown. */
    char path[96];
    snprintf(path, sizeof path, "/apps/%s/webhooks", app_id);
    if (json_array_size(rows) > 0 && !ctx->has_master_key)
        fprintf(stderr, "rtadmin: the last status of each webhook is unknown: set "
                        "RT_MASTER_KEY_FILE to ask a server\n");
    else if (json_array_size(rows) > 0 && ask_server(ctx, app_id, "GET", path, NULL, &state) != 0)
        fprintf(stderr, "rtadmin: the last status of each webhook is unknown (no server "
                        "answered; see --server)\n");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *last = NULL, *w;
        size_t j;
        json_array_foreach(json_object_get(state, "webhooks"), j, w)
        {
            if (json_equal(json_object_get(w, "id"), json_object_get(row, "id")))
                last = json_object_get(w, "last");
        }
        if (ctx->json) {
            json_object_set(row, "last_status", state ? (last ? last : json_null()) : json_null());
        } else {
            char *text = state ? status_text(last) : rt_xstrdup("?");
            char batch[48];
            snprintf(batch, sizeof batch, "%" JSON_INTEGER_FORMAT " ms / %" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "batch_window_ms")),
                     json_integer_value(json_object_get(row, "batch_max")));
            json_object_set_new(row, "last", json_string(text));
            json_object_set_new(row, "batch", json_string(batch));
            free(text);
        }
    }
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {
            {"ID", "id"},       {"URL", "url"},          {"EVENTS", "event_types"},
            {"BATCH", "batch"}, {"LAST STATUS", "last"}, {"CREATED", "created_at"}};
        out_table(rows, cols, 6, "No webhooks. Add one with: rtadmin webhook add APP URL");
        if (state && json_integer_value(json_object_get(state, "dead_letters")) > 0)
            printf("Dead letters: %" JSON_INTEGER_FORMAT " (rtadmin webhook failures %s)\n",
                   json_integer_value(json_object_get(state, "dead_letters")), app_id);
    }
    json_decref(rows);
    json_decref(state);
    return CLI_OK;
}

static const struct cli_opt server_opts[] = {
    {"server", "URL", "rtserver base URL (default: $RT_SERVER_URL, else " SERVER_DEFAULT_URL ")"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_webhook_list = {
    .group = "webhook",
    .name = "list",
    .usage = "APP [--server URL]",
    .summary = "List an app's webhooks (EVENTS '-' means every kind) with their last status",
    .details = "LAST STATUS comes from a running server (the first of --server /\n"
               "$RT_SERVER_URL): the answer of the endpoint's latest request, or '?' when no\n"
               "server answered.",
    .opts = server_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_WANTS_MASTER_KEY,
    .run = webhook_list,
};

static int webhook_remove(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0), *id = cli_arg(ctx, 1);
    const char *params[] = {app_id, id};
    json_t *row = NULL;
    int rc = CLI_FAIL;
    if (strspn(id, "0123456789") != strlen(id) || strlen(id) == 0 || strlen(id) > 18)
        return cli_usage(ctx, "webhook ID must be a number, not '%s'", id);
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if ((rc = app_require(ctx, app_id, true)) != 0) goto fail;
    rc = CLI_FAIL;
    if (db_json(ctx->db,
                "DELETE FROM app_webhooks WHERE app_id = $1 AND id = $2::bigint"
                " RETURNING json_build_object('id', id, 'url', url, 'event_types', event_types)",
                2, params, &row) != 0)
        goto fail;
    if (!row) {
        cli_fail("app %s has no webhook %s (see: rtadmin webhook list %s)", app_id, id, app_id);
        goto fail;
    }
    char *audit_url = url_for_audit(json_string_value(json_object_get(row, "url")));
    json_t *details =
        json_pack("{s:O, s:{s:s, s:O}}", "id", json_object_get(row, "id"), "before", "url",
                  audit_url ? audit_url : "?", "event_types", json_object_get(row, "event_types"));
    free(audit_url);
    int arc = audit_record(ctx, "webhook.remove", app_id, details);
    json_decref(details);
    if (arc != 0 || db_commit(ctx->db) != 0) goto fail;
    if (ctx->json) {
        json_object_set_new(row, "removed", json_true());
        out_json(row);
    } else {
        printf("Removed webhook %s from app %s\n", id, app_id);
    }
    json_decref(row);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    json_decref(row);
    return rc;
}

const struct cli_command cmd_webhook_remove = {
    .group = "webhook",
    .name = "remove",
    .usage = "APP ID",
    .summary = "Remove one of an app's webhooks",
    .min_args = 2,
    .max_args = 2,
    .needs = CLI_NEEDS_DB,
    .run = webhook_remove,
};

static int webhook_failures(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    char limit[16], query[32], path[96];
    int rc = int_option(ctx, "limit", 1, 1000, limit, sizeof limit);
    if (rc != 0) return rc;
    if (strlen(app_id) > 20) return app_unknown(app_id);
    if ((rc = app_require(ctx, app_id, false)) != 0) return rc;
    snprintf(query, sizeof query, "limit=%s", limit[0] ? limit : "100");
    snprintf(path, sizeof path, "/apps/%s/webhooks/failures", app_id);
    json_t *r = NULL;
    if ((rc = ask_server(ctx, app_id, "GET", path, query, &r)) != 0) return rc;
    json_t *list = json_object_get(r, "failures");
    if (ctx->json) {
        out_json(list);
        json_decref(r);
        return CLI_OK;
    }
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        char at[32], events[256] = "";
        ms_text(json_integer_value(json_object_get(f, "failed_at_ms")), at, sizeof at);
        size_t j, n = 0;
        json_t *e;
        json_array_foreach(json_object_get(f, "events"), j, e)
        {
            const char *name = json_string_value(json_object_get(e, "name"));
            if (name && n + strlen(name) + 2 < sizeof events)
                n += (size_t)snprintf(events + n, sizeof events - n, "%s%s", n ? "," : "", name);
        }
        json_object_set_new(f, "failed", json_string(at));
        json_object_set_new(f, "event_names", json_string(events));
    }
    static const struct out_col cols[] = {
        {"FAILED", "failed"},      {"WEBHOOK", "webhook_id"},   {"URL", "url"},
        {"ATTEMPTS", "attempts"},  {"ERROR", "error"},          {"STATUS", "status"},
        {"EVENTS", "event_names"}, {"REQUEST ID", "request_id"}};
    out_table(list, cols, 8, "No failed webhook requests.");
    json_decref(r);
    return CLI_OK;
}

static const struct cli_opt failures_opts[] = {
    {"limit", "N", "show the newest N (1-1000, default 100)"},
    {"server", "URL", "rtserver base URL (default: $RT_SERVER_URL, else " SERVER_DEFAULT_URL ")"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_webhook_failures = {
    .group = "webhook",
    .name = "failures",
    .usage = "APP [--limit N] [--server URL]",
    .summary =
        "Show the webhook requests servers gave up on (the app's dead letters), newest first",
    .details = "Asks a running server (the first of --server / $RT_SERVER_URL). In a cluster the\n"
               "dead letters are shared; a standalone server keeps its own in memory.",
    .opts = failures_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = webhook_failures,
};

static int webhook_retry(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    char path[96];
    int rc;
    if (strlen(app_id) > 20) return app_unknown(app_id);
    if ((rc = app_require(ctx, app_id, false)) != 0) return rc;
    snprintf(path, sizeof path, "/apps/%s/webhooks/retry", app_id);
    json_t *r = NULL;
    if ((rc = ask_server(ctx, app_id, "POST", path, NULL, &r)) != 0) return rc;
    json_int_t n = json_integer_value(json_object_get(r, "requeued"));
    json_t *details = json_pack("{s:I}", "requeued", n);
    if (db_begin(ctx->db) == 0 && audit_record(ctx, "webhook.retry", app_id, details) == 0)
        db_commit(ctx->db);
    else
        db_rollback(ctx->db);
    json_decref(details);
    if (ctx->json)
        out_json(r);
    else
        printf("Re-queued %" JSON_INTEGER_FORMAT " webhook requests of app %s\n", n, app_id);
    json_decref(r);
    return CLI_OK;
}

const struct cli_command cmd_webhook_retry = {
    .group = "webhook",
    .name = "retry",
    .usage = "APP [--server URL]",
    .summary = "Queue every given-up webhook request of an app again (same body and request id)",
    .opts = server_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = webhook_retry,
};
