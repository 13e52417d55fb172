/* rtadmin token: issues a connection token (an HS256 JWT signed with the secret of the app's
 * newest active key, kid = that key) for a user, as a backend would. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_lookup.h"
#include "audit_record.h"
#include "db.h"
#include "keys.h"
#include "output.h"
#include "rt_alloc.h"
#include "rt_jwt_claims.h"

#define TTL_DEFAULT 300
#define TTL_MAX 86400

/* base64url without padding of in[0..n), appended to out at *len (cap includes the NUL). */
static void append_b64url(char *out, size_t cap, size_t *len, const void *in, size_t n)
{
    sodium_bin2base64(out + *len, cap - *len, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *len += strlen(out + *len);
}

/* header.payload.signature, or NULL when it does not fit RT_JWT_TOKEN_MAX. Caller frees. */
static char *sign_hs256(const char *secret, const char *kid, const char *payload)
{
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "typ", "JWT", "kid", kid);
    char *header_text = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(header);
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t cap = RT_JWT_TOKEN_MAX + 1, len = 0;
    size_t need = sodium_base64_ENCODED_LEN(strlen(header_text), variant) +
                  sodium_base64_ENCODED_LEN(strlen(payload), variant) +
                  sodium_base64_ENCODED_LEN(EVP_MAX_MD_SIZE, variant) + 2;
    if (need > cap) {
        free(header_text);
        return NULL;
    }
    char *token = rt_xmalloc(cap);
    append_b64url(token, cap, &len, header_text, strlen(header_text));
    token[len++] = '.';
    append_b64url(token, cap, &len, payload, strlen(payload));
    free(header_text);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)token, len, mac,
         &mac_len);
    token[len++] = '.';
    append_b64url(token, cap, &len, mac, mac_len);
    sodium_memzero(mac, sizeof mac);
    return token;
}

/* Builds the claims from the options; returns the payload object or NULL after printing a
 * usage error (*rc set). */
static json_t *build_claims(struct cli_ctx *ctx, const char *app_id, long long now, long ttl,
                            int *rc)
{
    const char *user = cli_args_get(&ctx->args, "user");
    const char *channels = cli_args_get(&ctx->args, "channels");
    const char *user_info = cli_args_get(&ctx->args, "user-info");
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I}", "sub", user, "aud", app_id, "iat",
                               (json_int_t)now, "exp", (json_int_t)(now + ttl));
    if (channels && *channels) {
        json_t *list = json_array();
        const char *p = channels;
        while (*p) {
            size_t n = strcspn(p, ",");
            const char *s = p, *e = p + n;
            while (s < e && *s == ' ')
                s++;
            while (e > s && e[-1] == ' ')
                e--;
            if (e > s) json_array_append_new(list, json_stringn(s, (size_t)(e - s)));
            p += n + (p[n] == ',');
        }
        json_object_set_new(claims, "channels", list);
    }
    if (user_info) {
        json_error_t jerr;
        json_t *info = json_loads(user_info, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(info)) {
            json_decref(info);
            json_decref(claims);
            *rc = cli_usage(ctx, "--user-info must be a JSON object, e.g. '{\"name\":\"Ada\"}'");
            return NULL;
        }
        json_object_set_new(claims, "user_info", info);
    }
    return claims;
}

/* The claims pass exactly the checks the server makes, so a token rtadmin prints is accepted
 * (until it expires); a bad option is reported here, naming the claim. */
static int check_claims(struct cli_ctx *ctx, const char *app_id, const char *key, long long now,
                        const char *payload)
{
    const char *params[] = {app_id};
    PGresult *res =
        db_run(ctx->db, "SELECT max_presence_info_bytes FROM apps WHERE id = $1", 1, params);
    if (!res) return CLI_FAIL;
    size_t max_info = PQntuples(res) ? strtoul(PQgetvalue(res, 0, 0), NULL, 10) : 1024;
    PQclear(res);
    struct rt_jwt_expect want = {
        .app_id = app_id, .app_key = key, .now = now, .max_info_bytes = max_info};
    struct rt_jwt_claims claims;
    char err[200];
    if (rt_jwt_claims_parse(rt_str_c(payload), &want, &claims, err, sizeof err) != RT_JWT_OK) {
        const char *flag = strncmp(err, "Token sub", 9) == 0         ? "--user"
                           : strncmp(err, "Token channels", 14) == 0 ? "--channels"
                                                                     : "--user-info";
        return cli_usage(ctx, "%s: %s", flag, err);
    }
    rt_jwt_claims_clear(&claims);
    return 0;
}

static int parse_ttl(struct cli_ctx *ctx, long *ttl)
{
    const char *text = cli_args_get(&ctx->args, "ttl");
    *ttl = TTL_DEFAULT;
    if (!text) return 0;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > TTL_MAX)
        return cli_usage(ctx, "--ttl must be a whole number of seconds from 1 to %d, not '%s'",
                         TTL_MAX, text);
    *ttl = v;
    return 0;
}

/* Issuing a token uses the secret, so it is audited like key show-secret (the token itself is
 * not recorded: it is a credential until it expires). */
static int token_issue(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0);
    const char *user = cli_args_get(&ctx->args, "user");
    char key[72], owner[32], secret[RT_SECRET_MAX + 1];
    long ttl;
    int rc;
    if (!user) return cli_usage(ctx, "token needs --user ID");
    if ((rc = parse_ttl(ctx, &ttl)) != 0) return rc;
    if (strlen(app_id) > 20) return app_unknown(app_id);
    if ((rc = app_require(ctx, app_id, false)) != 0) return rc;
    long long now = (long long)time(NULL);
    json_t *claims = build_claims(ctx, app_id, now, ttl, &rc);
    if (!claims) return rc;
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *token = NULL;
    if (db_begin(ctx->db) != 0) goto fail;
    if (key_pick_active(ctx, app_id, cli_args_get(&ctx->args, "key"), key, sizeof key) != 0)
        goto fail;
    if ((rc = check_claims(ctx, app_id, key, now, payload)) != 0) goto fail;
    if (key_open_secret(ctx, key, owner, sizeof owner, secret) != 0) goto fail;
    token = sign_hs256(secret, key, payload);
    sodium_memzero(secret, sizeof secret);
    if (!token) {
        rc = cli_usage(ctx,
                       "the token would be longer than %d bytes: shorten --user-info or "
                       "--channels",
                       RT_JWT_TOKEN_MAX);
        goto fail;
    }
    json_t *details = json_pack("{s:s, s:s, s:O*, s:I}", "key", key, "user", user, "channels",
                                json_object_get(claims, "channels"), "ttl", (json_int_t)ttl);
    rc = audit_record(ctx, "token.issue", app_id, details);
    json_decref(details);
    if (rc != 0 || db_commit(ctx->db) != 0) {
        rc = CLI_FAIL;
        goto fail;
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:s, s:s, s:I, s:s}", "app_id", app_id, "kid", key, "user",
                                user, "expires_at", (json_int_t)(now + ttl), "token", token);
        out_json(out);
        json_decref(out);
    } else {
        time_t exp = (time_t)(now + ttl);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", gmtime(&exp));
        printf("Connection token for user %s of app %s (kid %s), valid until %s:\n%s\n", user,
               app_id, key, when, token);
    }
    free(token);
    free(payload);
    json_decref(claims);
    return CLI_OK;
fail:
    db_rollback(ctx->db);
    free(token);
    free(payload);
    json_decref(claims);
    return rc ? rc : CLI_FAIL;
}

static const struct cli_opt token_opts[] = {
    {"user", "ID", "the user the connection signs in as (the sub claim)"},
    {"channels", "A,B",
     "private-/presence- channels it may join without the auth endpoint; * is a wildcard"},
    {"ttl", "SECONDS", "lifetime, 1-86400 (default 300)"},
    {"user-info", "JSON", "user_info object (presence member info)"},
    {"key", "KEY", "sign with this active key (default: the app's newest active key)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_token = {
    .name = "token",
    .usage = "APP --user ID [--channels A,B] [--ttl SECONDS] [--user-info JSON]",
    .summary = "Issue a connection token (HS256 JWT) for a user; printed on the last line",
    .details = "The token is signed with the secret of the app's newest active key (kid = the\n"
               "key) and is refused by servers once it expires or the key is revoked. Example:\n"
               "  rtadmin token 1234567 --user 42 --channels 'private-a,presence-room-*'",
    .opts = token_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = token_issue,
};
