/* Calls to a running server's REST API, signed with one of the app's keys the way the Pusher
 * SDKs sign them (trigger, channels). */
#include "rest_call.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "rt_alloc.h"
#include "rt_rest_auth.h"

/* "<server><path>?<signed query>" (caller frees); NULL when call->query is over a limit or has
 * a bad %-escape (rt_rest_sign refuses it). */
static char *signed_url(const struct rest_call *call, const char *key, const char *secret)
{
    const char *body = call->body ? call->body : "";
    char *query = rt_rest_sign(call->method, call->path, key, secret, body, strlen(body),
                               (int64_t)time(NULL), call->query);
    if (!query) return NULL;
    size_t len = strlen(call->server) + strlen(call->path) + strlen(query) + 2;
    char *url = rt_xmalloc(len);
    snprintf(url, len, "%s%s?%s", call->server, call->path, query);
    free(query);
    return url;
}

int rest_call(struct cli_ctx *ctx, const struct rest_call *call, struct http_response *r)
{
    char key[128], key_app[32], secret[RT_SECRET_MAX + 1] = "", err[HTTP_ERROR_MAX];
    memset(r, 0, sizeof *r);
    int rc = key_pick_active(ctx, call->app_id, call->key, key, sizeof key);
    if (rc == 0) rc = key_open_secret(ctx, key, key_app, sizeof key_app, secret);
    if (rc != 0) return rc;
    char *url = signed_url(call, key, secret);
    sodium_memzero(secret, sizeof secret);
    if (!url) return cli_fail("cannot sign the request: its query string is too long or malformed");
    rc = http_request(call->method, url, call->body, call->timeout_seconds, r, err, sizeof err);
    free(url);
    if (rc != 0)
        return cli_fail("cannot reach the server at %s: %s (is rtserver running? set --server "
                        "or RT_SERVER_URL)",
                        call->server, err);
    return 0;
}
