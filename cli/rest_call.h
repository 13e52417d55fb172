/* Calls to a running server's REST API, signed with one of the app's keys the way the Pusher
 * SDKs sign them (trigger, channels). */
#ifndef RTADMIN_REST_CALL_H
#define RTADMIN_REST_CALL_H

#include "cli.h"
#include "http.h"

struct rest_call {
    const char *server; /* base URL without trailing '/' */
    const char *app_id; /* must exist */
    const char *key;    /* sign with this active key; NULL = the app's newest active key */
    const char *method; /* "GET", "POST" */
    const char *path;   /* e.g. "/apps/1234567/channels" */
    const char *query;  /* extra "k=v&k=v" with values that need no escaping, or NULL */
    const char *body;   /* JSON body, or NULL */
    long timeout_seconds;
};

/* Picks the key, opens its secret with the master key, signs and sends the request. Returns 0
 * with *r filled whatever the HTTP status, or CLI_FAIL after printing (no active key, wrong
 * master key, server unreachable). The secret is wiped before returning. The caller frees r
 * with http_response_free in both cases. */
int rest_call(struct cli_ctx *ctx, const struct rest_call *call, struct http_response *r);

#endif
