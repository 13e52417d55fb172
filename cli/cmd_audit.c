/* rtadmin audit: reading the append-only audit log with filters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "output.h"

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT 100000

/* A time filter is either absolute (anything timestamptz accepts) or relative to now ("30m",
 * "2h", "7d"), which is what an operator types during an incident. */
struct time_filter {
    const char *absolute;
    char ago[48]; /* interval text, "" when absolute */
};

static int parse_time(const struct cli_ctx *ctx, const char *flag, const char *in,
                      struct time_filter *out)
{
    out->absolute = NULL;
    out->ago[0] = '\0';
    if (!in) return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(in, &end, 10);
    if (end != in && errno == 0 && n >= 0 && end[0] && !end[1] && strchr("smhdw", end[0])) {
        static const char *const units[] = {"seconds", "minutes", "hours", "days", "weeks"};
        snprintf(out->ago, sizeof out->ago, "%ld %s", n, units[strchr("smhdw", end[0]) - "smhdw"]);
        return 0;
    }
    const char *params[] = {in};
    struct db_error err;
    PGresult *res = db_query(ctx->db, "SELECT $1::timestamptz", 1, params, &err);
    if (!res) {
        if (strncmp(err.sqlstate, "22", 2) == 0)
            return cli_usage(ctx,
                             "--%s: cannot read '%s' as a time (use e.g. 2025-01-31, "
                             "'2025-01-31 14:00:00+00' or 30m, 2h, 7d)",
                             flag, in);
        return db_fail(&err);
    }
    PQclear(res);
    out->absolute = in;
    return 0;
}

static int audit(struct cli_ctx *ctx)
{
    const char *limit_text = cli_args_get(&ctx->args, "limit");
    char limit[24];
    struct time_filter since, until;
    long n = AUDIT_DEFAULT_LIMIT;
    if (limit_text) {
        char *end = NULL;
        errno = 0;
        n = strtol(limit_text, &end, 10);
        if (!*limit_text || *end || errno || n < 1 || n > AUDIT_MAX_LIMIT)
            return cli_usage(ctx, "--limit must be a number from 1 to %d, not '%s'",
                             AUDIT_MAX_LIMIT, limit_text);
    }
    snprintf(limit, sizeof limit, "%ld", n);
    int rc = parse_time(ctx, "since", cli_args_get(&ctx->args, "since"), &since);
    if (rc == 0) rc = parse_time(ctx, "until", cli_args_get(&ctx->args, "until"), &until);
    if (rc != 0) return rc;

    const char *params[] = {
        cli_args_get(&ctx->args, "app"),
        /* audit changes nothing, so the global --actor is free to mean "by this actor" */
        cli_args_get(&ctx->args, "actor"),
        cli_args_get(&ctx->args, "action"),
        since.absolute,
        since.ago[0] ? since.ago : NULL,
        until.absolute,
        until.ago[0] ? until.ago : NULL,
        limit,
    };
    json_t *rows = NULL;
    /* The newest `limit` entries, shown oldest first like a log. An --action without a dot
     * ("key") matches the whole family ("key.create", "key.revoke", ...). */
    if (db_json(ctx->db,
                "SELECT coalesce(json_agg(json_build_object('id', id, 'at', at, 'actor', actor,"
                " 'action', action, 'app_id', app_id, 'details', details) ORDER BY id), '[]')"
                " FROM (SELECT * FROM audit_log"
                "  WHERE ($1::text IS NULL OR app_id = $1)"
                "    AND ($2::text IS NULL OR actor = $2)"
                "    AND ($3::text IS NULL OR action = $3"
                "         OR (strpos($3, '.') = 0 AND split_part(action, '.', 1) = $3))"
                "    AND ($4::timestamptz IS NULL OR at >= $4::timestamptz)"
                "    AND ($5::interval IS NULL OR at >= now() - $5::interval)"
                "    AND ($6::timestamptz IS NULL OR at < $6::timestamptz)"
                "    AND ($7::interval IS NULL OR at < now() - $7::interval)"
                "  ORDER BY id DESC LIMIT $8::integer) newest",
                8, params, &rows) != 0)
        return CLI_FAIL;
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {
            {"ID", "id"},         {"AT", "at"},      {"ACTOR", "actor"},
            {"ACTION", "action"}, {"APP", "app_id"}, {"DETAILS", "details"},
        };
        out_table(rows, cols, 6, "No audit entries match.");
    }
    json_decref(rows);
    return CLI_OK;
}

static const struct cli_opt audit_opts[] = {
    {"app", "APP", "only entries about this app id"},
    {"actor", "NAME", "only entries made by this actor"},
    {"action", "ACTION", "only this action (app.update) or family (key)"},
    {"since", "TIME", "entries at or after TIME (2025-01-31, '2025-01-31 14:00Z', 30m, 2h, 7d)"},
    {"until", "TIME", "entries before TIME (same forms)"},
    {"limit", "N", "at most the N newest entries (default 100)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_audit = {
    .name = "audit",
    .usage = "[--app APP] [--actor NAME] [--action ACTION] [--since TIME] [--until TIME] "
             "[--limit N]",
    .summary = "Show the audit log (who changed what, when), oldest first",
    .details = "For this command --actor NAME filters by actor instead of naming you.\n"
               "Example: rtadmin audit --app 1234567 --action key --since 7d",
    .opts = audit_opts,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_DB,
    .run = audit,
};
