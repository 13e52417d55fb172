/* App keys and their sealed secrets: generation, storage and opening. */
#include "keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "rt_alloc.h"
#include "rt_str.h"

int key_label_check(const struct cli_ctx *ctx, const char *label)
{
    if (label && strlen(label) > KEY_LABEL_MAX)
        return cli_usage(ctx, "--label must be at most %d characters", KEY_LABEL_MAX);
    return 0;
}

int key_insert(struct cli_ctx *ctx, const char *app_id, const char *label, char *key_out,
               char *secret_out)
{
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    rt_random_hex(key_out, KEY_HEX_BYTES);
    rt_random_hex(secret_out, SECRET_HEX_BYTES);
    if (rt_secret_seal(ctx->master_key, key_out, secret_out, &sealed, &sealed_len) != 0)
        return cli_fail("cannot seal the new secret");

    char *hex = rt_xmalloc(2 * sealed_len + 1);
    rt_hex_encode(sealed, sealed_len, hex);
    free(sealed);
    const char *params[] = {key_out, app_id, hex, label ? label : ""};
    PGresult *res = db_run(ctx->db,
                           "INSERT INTO app_keys (key, app_id, secret_enc, label) "
                           "VALUES ($1, $2, decode($3, 'hex'), $4)",
                           4, params);
    free(hex);
    if (!res) return CLI_FAIL;
    PQclear(res);
    return 0;
}

int key_open_secret(struct cli_ctx *ctx, const char *key, char *app_id_out, size_t app_id_cap,
                    char secret_out[RT_SECRET_MAX + 1])
{
    const char *params[] = {key};
    PGresult *res =
        db_run(ctx->db, "SELECT app_id, encode(secret_enc, 'hex') FROM app_keys WHERE key = $1", 1,
               params);
    if (!res) return CLI_FAIL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return cli_fail("no key '%s' (see: rtadmin key list APP)", key);
    }
    snprintf(app_id_out, app_id_cap, "%s", PQgetvalue(res, 0, 0));
    const char *hex = PQgetvalue(res, 0, 1);
    size_t hex_len = strlen(hex), bin_len = 0;
    uint8_t *bin = rt_xmalloc(hex_len / 2 + 1);
    int rc = sodium_hex2bin(bin, hex_len / 2 + 1, hex, hex_len, NULL, &bin_len, NULL);
    PQclear(res);
    if (rc == 0) rc = rt_secret_open(ctx->master_key, key, bin, bin_len, secret_out);
    free(bin);
    if (rc != 0)
        return cli_fail("RT_MASTER_KEY cannot decrypt the secret of key %s (wrong master key?)",
                        key);
    return 0;
}

int key_pick_active(struct cli_ctx *ctx, const char *app_id, const char *wanted, char *key_out,
                    size_t key_cap)
{
    const char *params[] = {app_id, wanted};
    PGresult *res = db_run(ctx->db,
                           "SELECT key FROM app_keys WHERE app_id = $1 AND status = 'active'"
                           " AND ($2::text IS NULL OR key = $2)"
                           " ORDER BY created_at DESC, key LIMIT 1",
                           2, params);
    if (!res) return CLI_FAIL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        if (wanted) return cli_fail("%s is not an active key of app %s", wanted, app_id);
        return cli_fail("app %s has no active key (create one with: rtadmin key create %s)", app_id,
                        app_id);
    }
    snprintf(key_out, key_cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}
