/* App keys and their sealed secrets: generation, storage and opening. */
#ifndef RTADMIN_KEYS_H
#define RTADMIN_KEYS_H

#include "cli.h"

#define KEY_HEX_BYTES 10    /* key = 20 lowercase hex characters */
#define SECRET_HEX_BYTES 16 /* secret = 32 lowercase hex characters */
#define KEY_LABEL_MAX 200

/* Generates a key and secret for app_id, stores the secret sealed under the master key with
 * the key as associated data, inside the caller's transaction. key_out needs 21 bytes and
 * secret_out 33. Returns 0 or CLI_FAIL after printing. */
int key_insert(struct cli_ctx *ctx, const char *app_id, const char *label, char *key_out,
               char *secret_out);

/* Reads and opens the secret of `key`. app_id_out (cap >= 21) receives the key's app. Returns
 * 0, or CLI_FAIL after printing (unknown key, or a master key that cannot open it). */
int key_open_secret(struct cli_ctx *ctx, const char *key, char *app_id_out, size_t app_id_cap,
                    char secret_out[RT_SECRET_MAX + 1]);

/* The app's newest active key, or `wanted` when given (it must be an active key of the app),
 * copied into key_out. Returns 0, or CLI_FAIL after printing how to fix it (e.g. the app has
 * only revoked keys). */
int key_pick_active(struct cli_ctx *ctx, const char *app_id, const char *wanted, char *key_out,
                    size_t key_cap);

/* Checks a --label value; returns 0 or CLI_USAGE after printing. */
int key_label_check(const struct cli_ctx *ctx, const char *label);

#endif
