/* Connection tokens (JWT): libjwt verification, handshake and pusher:signin, grants, log. */
#include "token.h"

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "conn.h"
#include "iplimit.h"
#include "log.h"
#include "rt_alloc.h"
#include "rt_ratelimit.h"
#include "user.h"

#define HEADER_MAX 1024 /* decoded bytes of a token header */
#define LOG_PER_SECOND 10

static unsigned long long rejected[RT_JWT_REJECT_COUNT];

static enum rt_jwt_reject fail(enum rt_jwt_reject r, char *err, size_t err_cap, const char *msg)
{
    snprintf(err, err_cap, "%s", msg);
    return r;
}

/* ---- verification ------------------------------------------------------------------------ */

/* The decoded JSON object of a base64url part, or NULL. */
static json_t *decode_part(const char *p, size_t n, size_t cap)
{
    size_t len = 0;
    char *buf = rt_xmalloc(cap);
    json_t *v = NULL;
    if (sodium_base642bin((unsigned char *)buf, cap, p, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
        v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

static bool is_hmac(jwt_alg_t alg)
{
    return alg == JWT_ALG_HS256 || alg == JWT_ALG_HS384 || alg == JWT_ALG_HS512;
}

static bool algorithm_allowed(const struct rt_app_config *cfg, const char *alg)
{
    for (size_t i = 0; i < cfg->n_jwt_algorithms; i++)
        if (strcmp(cfg->jwt_algorithms[i], alg) == 0) return true;
    return false;
}

/* Picks the verification key for alg from the app: never anything the token itself supplies
 * beyond the kid that names one of the app's own active keys. */
static enum rt_jwt_reject pick_key(const struct rt_app *app, jwt_alg_t alg, const char *kid,
                                   const char **key, size_t *key_len, char *err, size_t err_cap)
{
    if (is_hmac(alg)) {
        const char *secret = kid ? rt_app_secret(app, kid) : NULL;
        if (!secret)
            return fail(RT_JWT_UNKNOWN_KEY, err, err_cap,
                        "Token kid is not an active key of this app");
        *key = secret;
        *key_len = strlen(secret);
        return RT_JWT_OK;
    }
    if (!app->cfg->jwt_public_key) {
        snprintf(err, err_cap,
                 "Token algorithm %s needs a public key registered on the app "
                 "(rtadmin app update --jwt-public-key)",
                 jwt_alg_str(alg));
        return RT_JWT_UNKNOWN_KEY;
    }
    *key = app->cfg->jwt_public_key;
    *key_len = strlen(app->cfg->jwt_public_key);
    return RT_JWT_OK;
}

/* The header is read here, before libjwt, so that the algorithm and the key are decided by
 * the app's settings: libjwt then only checks the signature with what it is given. */
enum rt_jwt_reject rt_token_verify(const struct rt_app *app, const char *url_key, const char *token,
                                   long long now, struct rt_token *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(token);
    if (len > RT_JWT_TOKEN_MAX) {
        snprintf(err, err_cap, "Token is longer than %d bytes", RT_JWT_TOKEN_MAX);
        return RT_JWT_MALFORMED;
    }
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    json_t *header = dot2 ? decode_part(token, (size_t)(dot1 - token), HEADER_MAX) : NULL;
    json_t *payload = header ? decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), len) : NULL;
    const char *alg_name = json_string_value(json_object_get(header, "alg"));
    enum rt_jwt_reject r = RT_JWT_OK;
    jwt_t *jwt = NULL;
    if (!payload || !alg_name || strchr(dot2 + 1, '.')) {
        r = fail(RT_JWT_MALFORMED, err, err_cap,
                 "Token is not a JWT: expected header.payload.signature in base64url JSON");
        goto done;
    }
    /* libjwt refuses any other typ too, but would be reported as a bad signature. */
    const json_t *typ = json_object_get(header, "typ");
    if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0)) {
        r = fail(RT_JWT_MALFORMED, err, err_cap, "Token typ must be JWT when present");
        goto done;
    }
    jwt_alg_t alg = jwt_str_alg(alg_name);
    if (alg == JWT_ALG_NONE || strcasecmp(alg_name, "none") == 0) {
        r = fail(RT_JWT_ALGORITHM, err, err_cap, "Token algorithm none is never accepted");
        goto done;
    }
    if (alg == JWT_ALG_INVAL) {
        r = fail(RT_JWT_ALGORITHM, err, err_cap, "Token algorithm is not supported");
        goto done;
    }
    if (!algorithm_allowed(app->cfg, jwt_alg_str(alg))) {
        snprintf(err, err_cap, "Token algorithm %s is not accepted by this app", jwt_alg_str(alg));
        r = RT_JWT_ALGORITHM;
        goto done;
    }
    const char *key = NULL;
    size_t key_len = 0;
    const char *kid = json_string_value(json_object_get(header, "kid"));
    if ((r = pick_key(app, alg, kid, &key, &key_len, err, err_cap)) != RT_JWT_OK) goto done;
    /* libjwt verifies with the algorithm named in the header; it was checked above, and is
     * checked again on libjwt's result before anything in the token is trusted. */
    if (jwt_decode(&jwt, token, (const unsigned char *)key, (int)key_len) != 0 || !jwt ||
        jwt_get_alg(jwt) != alg) {
        r = fail(RT_JWT_SIGNATURE, err, err_cap, "Token signature does not verify");
        goto done;
    }
    char *payload_text = json_dumps(payload, JSON_COMPACT);
    struct rt_jwt_expect want = {.app_id = app->cfg->id,
                                 .app_key = url_key,
                                 .now = now,
                                 .max_info_bytes = (size_t)app->cfg->max_presence_info_bytes};
    r = rt_jwt_claims_parse(rt_str_c(payload_text), &want, &out->claims, err, err_cap);
    free(payload_text);
    if (r == RT_JWT_OK && is_hmac(alg)) snprintf(out->kid, sizeof out->kid, "%s", kid);
done:
    jwt_free(jwt);
    json_decref(header);
    json_decref(payload);
    return r;
}

void rt_token_clear(struct rt_token *t)
{
    rt_jwt_claims_clear(&t->claims);
    memset(t, 0, sizeof *t);
}

void rt_token_free(struct rt_token *t)
{
    if (!t) return;
    rt_token_clear(t);
    free(t);
}

/* ---- security log ------------------------------------------------------------------------ */

/* Counted always; logged at most LOG_PER_SECOND lines a second node-wide, so that a client
 * spraying bad tokens cannot flood the log. The message is ours (it names the failed check),
 * never the token or anything copied from it. */
static void count_rejection(const struct rt_app *app, enum rt_jwt_reject reason, const char *at,
                            const char *message)
{
    static struct rt_bucket bucket;
    static unsigned long long suppressed;
    rejected[reason]++;
    if (!rt_bucket_take(&bucket, LOG_PER_SECOND, LOG_PER_SECOND, rt_now_ms())) {
        suppressed++;
        return;
    }
    if (suppressed)
        rt_log_warn("token rejected app=%s reason=%s at=%s: %s (%llu more rejections not logged)",
                    app->cfg->id, rt_jwt_reject_name(reason), at, message, suppressed);
    else
        rt_log_warn("token rejected app=%s reason=%s at=%s: %s", app->cfg->id,
                    rt_jwt_reject_name(reason), at, message);
    suppressed = 0;
}

void rt_token_write_metrics(FILE *f)
{
    fprintf(f, "# TYPE rt_token_rejected_total counter\n");
    for (int r = RT_JWT_OK + 1; r < RT_JWT_REJECT_COUNT; r++)
        fprintf(f, "rt_token_rejected_total{reason=\"%s\"} %llu\n",
                rt_jwt_reject_name((enum rt_jwt_reject)r), rejected[r]);
}

/* ---- handshake and pusher:signin ---------------------------------------------------------- */

int rt_token_check_handshake(struct rt_conn *c, const struct rt_app *app, const char *url_key,
                             const char *token, const char *client_ip)
{
    char err[200];
    if (!token) {
        if (!app->cfg->require_token) return 0;
        snprintf(err, sizeof err, "This app requires a connection token: connect with ?token=...");
        count_rejection(app, RT_JWT_MISSING, "handshake", err);
        rt_conn_fail(c, 4009, err);
        return -1;
    }
    struct rt_token *t = rt_xmalloc(sizeof *t);
    enum rt_jwt_reject r =
        rt_token_verify(app, url_key, token, (long long)(rt_unix_ms() / 1000), t, err, sizeof err);
    if (r != RT_JWT_OK) {
        free(t);
        count_rejection(app, r, "handshake", err);
        rt_ip_failure(client_ip);
        rt_conn_fail(c, 4009, err);
        return -1;
    }
    rt_token_free(c->token);
    c->token = t;
    return 0;
}

/* Moves the token's user_info and watchlist to the connection, signed in as its sub. */
static void sign_in(struct rt_conn *c, struct rt_token *t)
{
    rt_signin_apply(c, t->claims.sub, t->claims.user_info, t->claims.watchlist,
                    t->claims.watchlist_len);
    t->claims.user_info = NULL;
    t->claims.watchlist = NULL;
    t->claims.watchlist_len = 0;
}

void rt_token_sign_in_at_handshake(struct rt_conn *c)
{
    if (c->token) sign_in(c, c->token);
}

/* The user_data a pusher:signin_success carries for a token: {"id", "user_info"?,
 * "watchlist"?}, the shape pusher-js parses after its own sign-in. */
static char *user_data_of(const struct rt_conn *c)
{
    json_t *ud = json_pack("{s:s}", "id", c->user_id);
    if (c->user_info) json_object_set_new(ud, "user_info", json_loads(c->user_info, 0, NULL));
    if (c->watchlist_len) {
        json_t *list = json_array();
        for (size_t i = 0; i < c->watchlist_len; i++)
            json_array_append_new(list, json_string(c->watchlist[i]));
        json_object_set_new(ud, "watchlist", list);
    }
    char *text = json_dumps(ud, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ud);
    return text;
}

void rt_token_handle_signin(struct rt_conn *c, const json_t *token)
{
    char err[200];
    if (!json_is_string(token)) {
        rt_conn_fail(c, 4009,
                     "Invalid pusher:signin: auth and user_data strings, or a token string, are "
                     "required");
        return;
    }
    struct rt_token *t = rt_xmalloc(sizeof *t);
    enum rt_jwt_reject r = rt_token_verify(c->app, c->key, json_string_value(token),
                                           (long long)(rt_unix_ms() / 1000), t, err, sizeof err);
    if (r != RT_JWT_OK) {
        free(t);
        count_rejection(c->app, r, "signin", err);
        rt_conn_auth_failed(c);
        rt_conn_fail(c, 4009, err);
        return;
    }
    if (c->user_id && strcmp(c->user_id, t->claims.sub) != 0) {
        rt_token_free(t);
        rt_conn_fail(c, 4009, "Already signed in as a different user");
        return;
    }
    sign_in(c, t);
    rt_token_free(c->token);
    c->token = t;
    char *user_data = user_data_of(c);
    rt_signin_send_success(c, user_data, strlen(user_data));
    free(user_data);
    rt_user_send_watchlist_state(c);
}

/* ---- grants ------------------------------------------------------------------------------ */

/* A grant ends with its token's expiry, and at once when the key that signed it is revoked
 * (the connection itself stays unless the key was revoked with --disconnect). */
bool rt_token_grants(const struct rt_conn *c, const char *channel)
{
    const struct rt_token *t = c->token;
    if (!t || t->claims.n_channels == 0 || !c->user_id) return false;
    if ((long long)(rt_unix_ms() / 1000) > t->claims.exp + RT_JWT_LEEWAY_SECONDS) return false;
    if (t->kid[0] && !rt_app_secret(c->app, t->kid)) return false;
    return rt_jwt_channel_granted(t->claims.channels, t->claims.n_channels, rt_str_c(channel));
}

bool rt_token_signed_by(const struct rt_conn *c, const char *key)
{
    return c->token && c->token->kid[0] && strcmp(c->token->kid, key) == 0;
}
