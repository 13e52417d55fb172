/* rtadmin webhook add|list|remove: where an app's server-side events are POSTed. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_lookup.h"
#include "audit_record.h"
#include "db.h"
#include "output.h"
#include "rt_alloc.h"

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

static int webhook_add(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0), *url = cli_arg(ctx, 1);
    char events[512];
    int rc = check_url(ctx, url);
    if (rc == 0) rc = parse_events(ctx, cli_args_get(&ctx->args, "events"), events, sizeof events);
    if (rc != 0) return rc;

    json_t *row = NULL;
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if ((rc = app_require(ctx, app_id, true)) != 0) goto fail;
    const char *params[] = {app_id, url, events};
    if (db_json(ctx->db,
                "INSERT INTO app_webhooks (app_id, url, event_types)"
                " SELECT $1, $2, array(SELECT DISTINCT unnest(string_to_array($3, ',')) ORDER BY 1)"
                " RETURNING json_build_object('id', id, 'app_id', app_id, 'url', url,"
                " 'event_types', event_types, 'created_at', created_at)",
                3, params, &row) != 0 ||
        !row) {
        rc = CLI_FAIL;
        goto fail;
    }
    char *audit_url = url_for_audit(url);
    json_t *details =
        json_pack("{s:O, s:s, s:O}", "id", json_object_get(row, "id"), "url",
                  audit_url ? audit_url : "?", "event_types", json_object_get(row, "event_types"));
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
    {NULL, NULL, NULL},
};

const struct cli_command cmd_webhook_add = {
    .group = "webhook",
    .name = "add",
    .usage = "APP URL [--events KIND,KIND]",
    .summary = "Send an app's events to an http(s) URL",
    .details = "Example: rtadmin webhook add 1234567 https://example.com/hooks "
               "--events channel_occupied,channel_vacated",
    .opts = add_opts,
    .min_args = 2,
    .max_args = 2,
    .needs = CLI_NEEDS_DB,
    .run = webhook_add,
};

static int webhook_list(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    const char *params[] = {app_id};
    json_t *rows = NULL;
    if (app_require(ctx, app_id, false) != 0) return CLI_FAIL;
    if (db_json(ctx->db,
                "SELECT coalesce(json_agg(json_build_object('id', id, 'url', url,"
                " 'event_types', event_types, 'created_at', created_at) ORDER BY id), '[]')"
                " FROM app_webhooks WHERE app_id = $1",
                1, params, &rows) != 0)
        return CLI_FAIL;
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {
            {"ID", "id"}, {"URL", "url"}, {"EVENTS", "event_types"}, {"CREATED", "created_at"}};
        out_table(rows, cols, 4, "No webhooks. Add one with: rtadmin webhook add APP URL");
    }
    json_decref(rows);
    return CLI_OK;
}

const struct cli_command cmd_webhook_list = {
    .group = "webhook",
    .name = "list",
    .usage = "APP",
    .summary = "List an app's webhooks (EVENTS '-' means every kind)",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
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
