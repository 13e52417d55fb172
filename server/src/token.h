/* Connection tokens (JWT, docs/security.md#connection-tokens-jwt): verification with libjwt
 * against an app's keys and algorithm allow-list, the handshake `token` parameter, pusher:signin
 * {"token"}, the channel grants a token carries, and the security log and metrics of
 * rejections. */
#ifndef RT_TOKEN_H
#define RT_TOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "app.h"
#include "conn.h"
#include "rt_jwt_claims.h"

/* A verified token kept on its connection for its channel grants. */
struct rt_token {
    struct rt_jwt_claims claims;  /* user_info and watchlist are moved to the connection */
    char kid[RT_APP_KEY_MAX + 1]; /* the app key whose secret signed it; "" for RS and ES */
};

/* Verifies token for app, reached through url_key, at time now (seconds): header alg on the
 * app's allow-list (never none), then the key (HS*: the secret of the active key named by kid;
 * RS and ES: the app's public key), the signature with libjwt, then the claims
 * (rt_jwt_claims_parse). Returns RT_JWT_OK with *out filled (free with rt_token_clear), or the
 * reason and a message for the client in err (it never holds the token, a secret or the
 * signature). */
enum rt_jwt_reject rt_token_verify(const struct rt_app *app, const char *url_key, const char *token,
                                   long long now, struct rt_token *out, char *err, size_t err_cap);

void rt_token_clear(struct rt_token *t);

/* The handshake's `token` query parameter (NULL when absent), after the app checks and before
 * the connection is attached. Returns 0 (no token and none required, or a valid one now kept
 * in c->token), or -1 after failing the connection with 4009, counting, logging and reporting
 * the failure for client_ip's back-off. */
int rt_token_check_handshake(struct rt_conn *c, const struct rt_app *app, const char *url_key,
                             const char *token, const char *client_ip);

/* Signs an attached connection in as the user of the token kept by rt_token_check_handshake
 * (no-op without one), as pusher:signin does but without answering: pusher-js 8 throws on a
 * pusher:signin_success it did not ask for. */
void rt_token_sign_in_at_handshake(struct rt_conn *c);

/* pusher:signin {"token": ...}: verifies, signs in (the same user only, if already signed in),
 * keeps the grants and answers pusher:signin_success, or fails the connection with 4009. */
void rt_token_handle_signin(struct rt_conn *c, const json_t *token);

/* True when the connection's token grants channel and has not expired (30 s leeway). */
bool rt_token_grants(const struct rt_conn *c, const char *channel);

/* True when the connection's token was signed with the secret of key. */
bool rt_token_signed_by(const struct rt_conn *c, const char *key);

/* Frees a connection's token (NULL is fine). */
void rt_token_free(struct rt_token *t);

/* rt_token_rejected_total{reason} for /metrics. */
void rt_token_write_metrics(FILE *f);

#endif
