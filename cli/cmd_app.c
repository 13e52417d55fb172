/* rtadmin app create|list|show|update|enable|disable|delete: the tenants themselves. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_fields.h"
#include "app_lookup.h"
#include "audit_record.h"
#include "db.h"
#include "keys.h"
#include "output.h"
#include "rt_str.h"

#define APP_ID_DIGITS 7
#define APP_ID_ATTEMPTS 20
#define SQL_CAP 4096

/* `enabled` is changed only by app enable/disable, so it is not one of the update flags. */
static const struct app_field enabled_field = {"enabled", "enabled", NULL,     APP_FIELD_BOOL,
                                               0,         0,         "enabled"};

static void sql_append(char *sql, const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(sql);
    snprintf(sql + n, SQL_CAP - n, fmt, a, b);
}

static bool is_app_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* Human view of one app: every setting, then its keys and webhooks. A PEM key is shown as its
 * type and size, not as its lines. */
static void print_app(json_t *app)
{
    json_t *pem = json_object_get(app, "jwt_public_key");
    if (json_is_string(pem)) {
        char *summary = app_field_display("jwt_public_key", pem);
        json_object_set_new(app, "jwt_public_key", json_string(summary));
        free(summary);
    }
    const char *keys[64];
    int n = 0;
    keys[n++] = "id";
    for (int i = 0; i < app_field_count && n < 60; i++) {
        keys[n++] = app_fields[i].column;
        if (i == 0) keys[n++] = "enabled";
    }
    keys[n++] = "created_at";
    keys[n++] = "updated_at";
    out_fields(app, keys, n, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* app create                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Inserts the app; with a generated id, retries on collision. Returns the new row or NULL
 * after printing. */
static json_t *insert_app(struct cli_ctx *ctx, const char *given_id,
                          const struct app_field_value *values, int nvalues)
{
    char sql[SQL_CAP] = "INSERT INTO apps (id";
    char expr[64];
    const char *params[64];
    for (int i = 0; i < nvalues; i++)
        sql_append(sql, ", %s%s", values[i].field->column, "");
    sql_append(sql, ") VALUES ($1%s%s", "", "");
    for (int i = 0; i < nvalues; i++) {
        app_field_sql_value(values[i].field, i + 2, expr, sizeof expr);
        sql_append(sql, ", %s%s", expr, "");
        params[i + 1] = app_field_param(&values[i]);
    }
    sql_append(sql, ") ON CONFLICT (id) DO NOTHING RETURNING row_to_json(apps)%s%s", "", "");

    for (int attempt = 0; attempt < APP_ID_ATTEMPTS; attempt++) {
        char id[APP_ID_DIGITS + 1];
        if (!given_id) rt_random_digits(id, APP_ID_DIGITS);
        params[0] = given_id ? given_id : id;
        json_t *row = NULL;
        if (db_json(ctx->db, sql, nvalues + 1, params, &row) != 0) return NULL;
        if (row) return row;
        if (given_id) {
            cli_fail("an app with id %s already exists (see: rtadmin app show %s)", given_id,
                     given_id);
            return NULL;
        }
    }
    cli_fail("could not find a free app id after %d attempts; pass --id", APP_ID_ATTEMPTS);
    return NULL;
}

static int app_create(struct cli_ctx *ctx)
{
    static struct app_field_value values[32];
    const char *given_id = cli_args_get(&ctx->args, "id");
    const char *label = cli_args_get(&ctx->args, "label");
    if (!cli_args_has(&ctx->args, "name")) return cli_usage(ctx, "app create needs --name NAME");
    if (given_id && !is_app_id(given_id))
        return cli_usage(ctx, "--id must be 1 to 20 digits, not '%s'", given_id);
    if (key_label_check(ctx, label) != 0) return CLI_USAGE;
    int nvalues = app_fields_collect(ctx, values);
    if (nvalues < 0) return CLI_USAGE;

    char key[2 * KEY_HEX_BYTES + 1], secret[2 * SECRET_HEX_BYTES + 1];
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    json_t *row = insert_app(ctx, given_id, values, nvalues);
    if (!row) goto fail;
    const char *id = json_string_value(json_object_get(row, "id"));
    if (key_insert(ctx, id, label, key, secret) != 0) goto fail;

    json_t *after = json_object();
    app_fields_copy(row, after);
    json_object_set(after, "enabled", json_object_get(row, "enabled"));
    json_t *details =
        json_pack("{s:o, s:s, s:s}", "after", after, "key", key, "label", label ? label : "");
    int rc = audit_record(ctx, "app.create", id, details);
    json_decref(details);
    if (rc != 0 || db_commit(ctx->db) != 0) goto fail;

    if (ctx->json) {
        json_t *out = json_pack("{s:O, s:s, s:s}", "id", json_object_get(row, "id"), "key", key,
                                "secret", secret);
        json_object_update(out, row);
        out_json(out);
        json_decref(out);
    } else {
        printf("Created app %s (%s)\n", id, json_string_value(json_object_get(row, "name")));
        printf("  app id  %s\n  key     %s\n  secret  %s\n", id, key, secret);
        printf("The secret is stored encrypted; show it again with: rtadmin key show-secret %s\n",
               key);
    }
    sodium_memzero(secret, sizeof secret);
    json_decref(row);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    sodium_memzero(secret, sizeof secret);
    json_decref(row);
    return CLI_FAIL;
}

static const struct cli_opt create_opts[] = {
    {"id", "ID", "numeric app id (default: 7 random digits)"},
    {"label", "LABEL", "label of the first key"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_app_create = {
    .group = "app",
    .name = "create",
    .usage = "--name NAME [--id ID] [settings...]",
    .summary = "Create an app and its first key; prints id, key and secret",
    .details = "The secret is printed once and stored only encrypted with the master key.\n"
               "Example: rtadmin app create --name chat --client-events --max-payload-kb 20",
    .opts = create_opts,
    .more_opts = app_field_opts_create,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = app_create,
};

/* ---------------------------------------------------------------------------------------- */
/* app list / app show                                                                        */
/* ---------------------------------------------------------------------------------------- */

static int app_list(struct cli_ctx *ctx)
{
    json_t *rows = NULL;
    if (db_json(ctx->db,
                "SELECT coalesce(json_agg(json_build_object("
                " 'id', a.id, 'name', a.name, 'enabled', a.enabled,"
                " 'active_keys', (SELECT count(*) FROM app_keys k"
                "                 WHERE k.app_id = a.id AND k.status = 'active'),"
                " 'webhooks', (SELECT count(*) FROM app_webhooks w WHERE w.app_id = a.id),"
                " 'created_at', a.created_at) ORDER BY a.created_at, a.id), '[]')"
                " FROM apps a",
                0, NULL, &rows) != 0)
        return CLI_FAIL;
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {
            {"ID", "id"},
            {"NAME", "name"},
            {"ENABLED", "enabled"},
            {"KEYS", "active_keys"},
            {"WEBHOOKS", "webhooks"},
            {"CREATED", "created_at"},
        };
        out_table(rows, cols, 6, "No apps yet. Create one with: rtadmin app create --name NAME");
    }
    json_decref(rows);
    return CLI_OK;
}

const struct cli_command cmd_app_list = {
    .group = "app",
    .name = "list",
    .usage = "",
    .summary = "List apps with their number of active keys and webhooks",
    .needs = CLI_NEEDS_DB,
    .run = app_list,
};

static int app_show(struct cli_ctx *ctx)
{
    const char *id = cli_arg(ctx, 0);
    const char *params[] = {id};
    json_t *all = NULL;
    if (db_json(ctx->db,
                "SELECT json_build_object('app', row_to_json(a),"
                " 'keys', (SELECT coalesce(json_agg(json_build_object('key', k.key,"
                "   'label', k.label, 'status', k.status, 'created_at', k.created_at,"
                "   'revoked_at', k.revoked_at) ORDER BY k.created_at, k.key), '[]')"
                "   FROM app_keys k WHERE k.app_id = a.id),"
                " 'webhooks', (SELECT coalesce(json_agg(json_build_object('id', w.id,"
                "   'url', w.url, 'event_types', w.event_types, 'created_at', w.created_at)"
                "   ORDER BY w.id), '[]') FROM app_webhooks w WHERE w.app_id = a.id))"
                " FROM apps a WHERE a.id = $1",
                1, params, &all) != 0)
        return CLI_FAIL;
    if (!all) return app_unknown(id);
    json_t *app = json_object_get(all, "app");
    json_object_set(app, "keys", json_object_get(all, "keys"));
    json_object_set(app, "webhooks", json_object_get(all, "webhooks"));
    if (ctx->json) {
        out_json(app);
    } else {
        static const struct out_col key_cols[] = {
            {"KEY", "key"},
            {"LABEL", "label"},
            {"STATUS", "status"},
            {"CREATED", "created_at"},
            {"REVOKED", "revoked_at"},
        };
        static const struct out_col hook_cols[] = {
            {"ID", "id"}, {"URL", "url"}, {"EVENTS", "event_types"}, {"CREATED", "created_at"}};
        print_app(app);
        puts("\nKeys:");
        out_table(json_object_get(app, "keys"), key_cols, 5, "(none)");
        puts("\nWebhooks:");
        out_table(json_object_get(app, "webhooks"), hook_cols, 4, "(none)");
    }
    json_decref(all);
    return CLI_OK;
}

const struct cli_command cmd_app_show = {
    .group = "app",
    .name = "show",
    .usage = "APP",
    .summary = "Show an app's settings, keys (never secrets) and webhooks",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = app_show,
};

/* ---------------------------------------------------------------------------------------- */
/* app update / enable / disable                                                              */
/* ---------------------------------------------------------------------------------------- */

/* Applies values to app `id` and audits the fields that really changed, with their old and
 * new values. Setting a field to its current value changes nothing and is not audited. */
static int update_app(struct cli_ctx *ctx, const char *id, const struct app_field_value *values,
                      int nvalues, const char *action)
{
    const char *params[64] = {id};
    char sql[SQL_CAP] = "UPDATE apps SET updated_at = now()";
    char expr[64];
    json_t *before = NULL, *after = NULL;
    for (int i = 0; i < nvalues; i++) {
        app_field_sql_value(values[i].field, i + 2, expr, sizeof expr);
        sql_append(sql, ", %s = %s", values[i].field->column, expr);
        params[i + 1] = app_field_param(&values[i]);
    }
    sql_append(sql, " WHERE id = $1 RETURNING row_to_json(apps)%s%s", "", "");

    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if (db_json(ctx->db, "SELECT row_to_json(a) FROM apps a WHERE id = $1 FOR UPDATE", 1, params,
                &before) != 0)
        goto fail;
    if (!before) {
        db_rollback(ctx->db);
        return app_unknown(id);
    }
    if (db_json(ctx->db, sql, nvalues + 1, params, &after) != 0 || !after) goto fail;

    json_t *old = json_object(), *new = json_object();
    for (int i = 0; i < nvalues; i++) {
        const char *col = values[i].field->column;
        json_t *a = json_object_get(before, col), *b = json_object_get(after, col);
        if (json_equal(a, b)) continue;
        json_object_set(old, col, a);
        json_object_set(new, col, b);
    }
    size_t changed = json_object_size(new);
    json_t *details = json_pack("{s:o, s:o}", "before", old, "after", new);
    int rc = 0;
    if (changed > 0) rc = audit_record(ctx, action, id, details);
    if (rc != 0) {
        json_decref(details);
        goto fail;
    }
    /* Nothing changed: roll back so updated_at and the NOTIFY to servers stay untouched. */
    if (changed == 0)
        db_rollback(ctx->db);
    else if (db_commit(ctx->db) != 0) {
        json_decref(details);
        goto fail;
    }

    if (ctx->json) {
        out_json(changed ? after : before);
    } else if (changed == 0) {
        printf("App %s unchanged (already as requested)\n", id);
    } else {
        printf("Updated app %s:\n", id);
        const char *col;
        json_t *v;
        json_object_foreach(json_object_get(details, "after"), col, v)
        {
            char *from =
                app_field_display(col, json_object_get(json_object_get(details, "before"), col));
            char *to = app_field_display(col, v);
            printf("  %s: %s -> %s\n", col, from ? from : "?", to ? to : "?");
            free(from);
            free(to);
        }
    }
    json_decref(details);
    json_decref(before);
    json_decref(after);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    json_decref(before);
    json_decref(after);
    return CLI_FAIL;
}

static int app_update(struct cli_ctx *ctx)
{
    static struct app_field_value values[32];
    int nvalues = app_fields_collect(ctx, values);
    if (nvalues < 0) return CLI_USAGE;
    if (nvalues == 0) return cli_usage(ctx, "app update needs at least one setting to change");
    return update_app(ctx, cli_arg(ctx, 0), values, nvalues, "app.update");
}

const struct cli_command cmd_app_update = {
    .group = "app",
    .name = "update",
    .usage = "APP [settings...]",
    .summary = "Change an app's name, flags or limits",
    .details = "Only the settings given change. Example:\n"
               "  rtadmin app update 1234567 --no-client-events --max-connections 500",
    .more_opts = app_field_opts_update,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = app_update,
};

static int set_enabled(struct cli_ctx *ctx, bool enabled)
{
    struct app_field_value v = {.field = &enabled_field};
    snprintf(v.text, sizeof v.text, "%s", enabled ? "true" : "false");
    return update_app(ctx, cli_arg(ctx, 0), &v, 1, enabled ? "app.enable" : "app.disable");
}

static int app_enable(struct cli_ctx *ctx)
{
    return set_enabled(ctx, true);
}

static int app_disable(struct cli_ctx *ctx)
{
    return set_enabled(ctx, false);
}

const struct cli_command cmd_app_enable = {
    .group = "app",
    .name = "enable",
    .usage = "APP",
    .summary = "Let an app accept connections and API calls again",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = app_enable,
};

const struct cli_command cmd_app_disable = {
    .group = "app",
    .name = "disable",
    .usage = "APP",
    .summary = "Refuse an app's connections and API calls (settings are kept)",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = app_disable,
};

/* ---------------------------------------------------------------------------------------- */
/* app delete                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static int app_delete(struct cli_ctx *ctx)
{
    const char *id = cli_arg(ctx, 0);
    const char *params[] = {id};
    json_t *before = NULL, *counts = NULL;
    if (!cli_args_has(&ctx->args, "yes"))
        return cli_usage(ctx,
                         "app delete removes app %s with its keys and webhooks for good; "
                         "add --yes to confirm",
                         id);
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if (db_json(ctx->db, "SELECT row_to_json(a) FROM apps a WHERE id = $1 FOR UPDATE", 1, params,
                &before) != 0)
        goto fail;
    if (!before) {
        db_rollback(ctx->db);
        return app_unknown(id);
    }
    if (db_json(ctx->db,
                "SELECT json_build_object("
                " 'keys', (SELECT count(*) FROM app_keys WHERE app_id = $1),"
                " 'webhooks', (SELECT count(*) FROM app_webhooks WHERE app_id = $1))",
                1, params, &counts) != 0)
        goto fail;
    PGresult *res = db_run(ctx->db, "DELETE FROM apps WHERE id = $1", 1, params);
    if (!res) goto fail;
    PQclear(res);

    json_t *old = json_object();
    app_fields_copy(before, old);
    json_object_set(old, "enabled", json_object_get(before, "enabled"));
    json_t *details =
        json_pack("{s:o, s:O, s:O}", "before", old, "keys_deleted", json_object_get(counts, "keys"),
                  "webhooks_deleted", json_object_get(counts, "webhooks"));
    int rc = audit_record(ctx, "app.delete", id, details);
    json_decref(details);
    if (rc != 0 || db_commit(ctx->db) != 0) goto fail;

    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:b, s:O, s:O}", "id", id, "deleted", 1, "keys_deleted",
                                json_object_get(counts, "keys"), "webhooks_deleted",
                                json_object_get(counts, "webhooks"));
        out_json(out);
        json_decref(out);
    } else {
        printf("Deleted app %s (%" JSON_INTEGER_FORMAT " keys, %" JSON_INTEGER_FORMAT
               " webhooks)\n",
               id, json_integer_value(json_object_get(counts, "keys")),
               json_integer_value(json_object_get(counts, "webhooks")));
    }
    json_decref(before);
    json_decref(counts);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    json_decref(before);
    json_decref(counts);
    return CLI_FAIL;
}

static const struct cli_opt delete_opts[] = {
    {"yes", NULL, "confirm: the app, its keys and webhooks are removed for good"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_app_delete = {
    .group = "app",
    .name = "delete",
    .usage = "APP --yes",
    .summary = "Delete an app with its keys and webhooks (the audit log keeps its history)",
    .opts = delete_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = app_delete,
};
