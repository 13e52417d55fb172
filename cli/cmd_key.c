/* rtadmin key create|list|revoke|rotate|show-secret: an app's API keys and their secrets. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_lookup.h"
#include "audit_record.h"
#include "db.h"
#include "keys.h"
#include "output.h"

static const struct cli_opt label_opts[] = {
    {"label", "LABEL", "free text to recognise the key by, e.g. \"backend 2025\""},
    {NULL, NULL, NULL},
};

/* Prints a freshly created key with its secret; the only moment the secret is shown without
 * key show-secret. revoked (the keys a rotation revoked, with or without disconnecting them)
 * may be NULL. */
static void print_new_key(const struct cli_ctx *ctx, const char *app_id, const char *key,
                          const char *secret, const char *label, json_t *revoked, bool disconnect)
{
    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "app_id", app_id, "key", key, "secret",
                                secret, "label", label);
        if (revoked) {
            json_object_set(out, "revoked", revoked);
            json_object_set_new(out, "disconnect", json_boolean(disconnect));
        }
        out_json(out);
        json_decref(out);
        return;
    }
    printf("Created key for app %s\n  key     %s\n  secret  %s\n", app_id, key, secret);
    size_t i;
    json_t *k;
    json_array_foreach(revoked, i, k)
        printf("Revoked key %s%s\n", json_string_value(k),
               disconnect ? "; servers close its live connections" : "");
}

static int key_create(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    const char *label = cli_args_get(&ctx->args, "label");
    char key[2 * KEY_HEX_BYTES + 1], secret[2 * SECRET_HEX_BYTES + 1] = "";
    if (!label) label = "";
    if (key_label_check(ctx, label) != 0) return CLI_USAGE;
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    int rc = app_require(ctx, app_id, true);
    if (rc == 0) rc = key_insert(ctx, app_id, label, key, secret);
    if (rc == 0) {
        json_t *details = json_pack("{s:s, s:s}", "key", key, "label", label);
        rc = audit_record(ctx, "key.create", app_id, details) ? CLI_FAIL : 0;
        json_decref(details);
    }
    if (rc == 0) rc = db_commit(ctx->db) ? CLI_FAIL : 0;
    if (rc != 0) {
        db_rollback(ctx->db);
        return rc;
    }
    print_new_key(ctx, app_id, key, secret, label, NULL, false);
    sodium_memzero(secret, sizeof secret);
    return CLI_OK;
}

const struct cli_command cmd_key_create = {
    .group = "key",
    .name = "create",
    .usage = "APP [--label LABEL]",
    .summary = "Add a key to an app; prints the key and its secret once",
    .opts = label_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = key_create,
};

static int key_list(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    const char *params[] = {app_id};
    json_t *rows = NULL;
    if (app_require(ctx, app_id, false) != 0) return CLI_FAIL;
    if (db_json(ctx->db,
                "SELECT coalesce(json_agg(json_build_object('key', key, 'label', label,"
                " 'status', status, 'created_at', created_at, 'revoked_at', revoked_at)"
                " ORDER BY created_at, key), '[]') FROM app_keys WHERE app_id = $1",
                1, params, &rows) != 0)
        return CLI_FAIL;
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {
            {"KEY", "key"},
            {"LABEL", "label"},
            {"STATUS", "status"},
            {"CREATED", "created_at"},
            {"REVOKED", "revoked_at"},
        };
        out_table(rows, cols, 5, "No keys. Create one with: rtadmin key create APP");
    }
    json_decref(rows);
    return CLI_OK;
}

const struct cli_command cmd_key_list = {
    .group = "key",
    .name = "list",
    .usage = "APP",
    .summary = "List an app's keys and their status (secrets are never listed)",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = key_list,
};

/* Counts the app's active keys inside the current transaction; -1 on error. */
static long active_key_count(struct cli_ctx *ctx, const char *app_id)
{
    const char *params[] = {app_id};
    PGresult *res =
        db_run(ctx->db, "SELECT count(*) FROM app_keys WHERE app_id = $1 AND status = 'active'", 1,
               params);
    if (!res) return -1;
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* Audit details of a revocation; "disconnect" appears only when it was asked for. */
static json_t *revoke_details(const char *key, bool disconnect)
{
    json_t *details = json_pack("{s:s, s:{s:s}, s:{s:s}}", "key", key, "before", "status", "active",
                                "after", "status", "revoked");
    if (disconnect) json_object_set_new(details, "disconnect", json_true());
    return details;
}

static int key_revoke(struct cli_ctx *ctx)
{
    const char *key = cli_arg(ctx, 0);
    bool disconnect = cli_args_has(&ctx->args, "disconnect");
    const char *params[] = {key, disconnect ? "true" : "false"};
    char app_id[32];
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    PGresult *res =
        db_run(ctx->db, "SELECT app_id, status FROM app_keys WHERE key = $1 FOR UPDATE", 1, params);
    if (!res) goto fail;
    if (PQntuples(res) == 0) {
        PQclear(res);
        db_rollback(ctx->db);
        return cli_fail("no key '%s' (see: rtadmin key list APP)", key);
    }
    snprintf(app_id, sizeof app_id, "%s", PQgetvalue(res, 0, 0));
    bool revoked = strcmp(PQgetvalue(res, 0, 1), "revoked") == 0;
    PQclear(res);
    if (revoked) {
        db_rollback(ctx->db);
        return cli_fail("key %s is already revoked", key);
    }
    /* One statement, so the NOTIFY servers get already carries the disconnect request. */
    res = db_run(ctx->db,
                 "UPDATE app_keys SET status = 'revoked', revoked_at = now(),"
                 " disconnect_on_revoke = $2::boolean WHERE key = $1",
                 2, params);
    if (!res) goto fail;
    PQclear(res);
    json_t *details = revoke_details(key, disconnect);
    int rc = audit_record(ctx, "key.revoke", app_id, details);
    json_decref(details);
    long left = rc == 0 ? active_key_count(ctx, app_id) : -1;
    if (left < 0 || db_commit(ctx->db) != 0) goto fail;

    if (ctx->json) {
        json_t *out =
            json_pack("{s:s, s:s, s:s, s:I, s:b}", "key", key, "app_id", app_id, "status",
                      "revoked", "active_keys", (json_int_t)left, "disconnect", disconnect);
        out_json(out);
        json_decref(out);
    } else if (disconnect) {
        printf("Revoked key %s of app %s; servers close its live connections\n", key, app_id);
    } else {
        printf("Revoked key %s of app %s\n", key, app_id);
    }
    if (left == 0)
        fprintf(stderr,
                "rtadmin: warning: app %s has no active key left; clients cannot connect "
                "until you run: rtadmin key create %s\n",
                app_id, app_id);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    return CLI_FAIL;
}

static const struct cli_opt revoke_opts[] = {
    {"disconnect", NULL, "also close the live connections opened with the key (code 4001)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_key_revoke = {
    .group = "key",
    .name = "revoke",
    .usage = "KEY [--disconnect]",
    .summary = "Revoke a key: servers stop accepting it at once",
    .details = "Connections already open with the key stay up unless --disconnect is given;\n"
               "then servers close them with 4001 \"Application key revoked\" within a second.",
    .opts = revoke_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = key_revoke,
};

static int key_rotate(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    const char *label = cli_args_get(&ctx->args, "label");
    bool revoke_old = cli_args_has(&ctx->args, "revoke-old");
    bool disconnect = cli_args_has(&ctx->args, "disconnect");
    char key[2 * KEY_HEX_BYTES + 1], secret[2 * SECRET_HEX_BYTES + 1] = "";
    json_t *revoked = json_array();
    if (!label) label = "";
    if (disconnect && !revoke_old) {
        json_decref(revoked);
        return cli_usage(ctx, "--disconnect needs --revoke-old (only revoked keys are "
                              "disconnected)");
    }
    if (key_label_check(ctx, label) != 0) {
        json_decref(revoked);
        return CLI_USAGE;
    }
    if (db_begin(ctx->db) != 0) goto fail;
    int rc = app_require(ctx, app_id, true);
    if (rc != 0) {
        db_rollback(ctx->db);
        json_decref(revoked);
        return rc;
    }
    if (key_insert(ctx, app_id, label, key, secret) != 0) goto fail;
    if (revoke_old) {
        const char *params[] = {app_id, key, disconnect ? "true" : "false"};
        PGresult *res = db_run(ctx->db,
                               "UPDATE app_keys SET status = 'revoked', revoked_at = now(),"
                               " disconnect_on_revoke = $3::boolean"
                               " WHERE app_id = $1 AND status = 'active' AND key <> $2"
                               " RETURNING key",
                               3, params);
        if (!res) goto fail;
        for (int i = 0; i < PQntuples(res); i++)
            json_array_append_new(revoked, json_string(PQgetvalue(res, i, 0)));
        PQclear(res);
    }
    json_t *details = json_pack("{s:s, s:s, s:O}", "key", key, "label", label, "revoked", revoked);
    if (disconnect) json_object_set_new(details, "disconnect", json_true());
    rc = audit_record(ctx, "key.rotate", app_id, details);
    json_decref(details);
    if (rc != 0 || db_commit(ctx->db) != 0) goto fail;
    print_new_key(ctx, app_id, key, secret, label, revoked, disconnect);
    if (!revoke_old && !ctx->json)
        printf("Old keys stay active; revoke them when clients have moved: "
               "rtadmin key revoke KEY\n");
    sodium_memzero(secret, sizeof secret);
    json_decref(revoked);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    sodium_memzero(secret, sizeof secret);
    json_decref(revoked);
    return CLI_FAIL;
}

static const struct cli_opt rotate_opts[] = {
    {"label", "LABEL", "label of the new key"},
    {"revoke-old", NULL, "revoke every previously active key of the app in the same step"},
    {"disconnect", NULL, "with --revoke-old: also close the old keys' live connections (4001)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_key_rotate = {
    .group = "key",
    .name = "rotate",
    .usage = "APP [--label LABEL] [--revoke-old [--disconnect]]",
    .summary = "Create a new key for an app, optionally revoking the old ones",
    .opts = rotate_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = key_rotate,
};

/* Reading a secret back is itself audited: whoever sees it could act as the app. */
static int key_show_secret(struct cli_ctx *ctx)
{
    const char *key = cli_arg(ctx, 0);
    char app_id[32], secret[RT_SECRET_MAX + 1];
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if (key_open_secret(ctx, key, app_id, sizeof app_id, secret) != 0) {
        db_rollback(ctx->db);
        return CLI_FAIL;
    }
    json_t *details = json_pack("{s:s}", "key", key);
    int rc = audit_record(ctx, "key.show_secret", app_id, details);
    json_decref(details);
    if (rc != 0 || db_commit(ctx->db) != 0) {
        db_rollback(ctx->db);
        sodium_memzero(secret, sizeof secret);
        return CLI_FAIL;
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:s, s:s}", "app_id", app_id, "key", key, "secret", secret);
        out_json(out);
        json_decref(out);
    } else {
        puts(secret);
    }
    sodium_memzero(secret, sizeof secret);
    return CLI_OK;
}

const struct cli_command cmd_key_show_secret = {
    .group = "key",
    .name = "show-secret",
    .usage = "KEY",
    .summary = "Decrypt and print a key's secret (recorded in the audit log)",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = key_show_secret,
};
