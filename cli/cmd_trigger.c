/* rtadmin trigger: publishes one event through a running server's REST API, signed like the
 * Pusher SDKs sign it, to check an app end to end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_lookup.h"
#include "output.h"
#include "rest_call.h"
#include "servers.h"

static void print_response(const struct cli_ctx *ctx, const struct http_response *r)
{
    long status = r->status;
    const char *body = r->body ? r->body : "";
    if (ctx->json) {
        json_t *parsed = json_loads(body, JSON_DECODE_ANY, NULL);
        json_t *out = json_pack("{s:I, s:o}", "status", (json_int_t)status, "body",
                                parsed ? parsed : json_string(body));
        out_json(out);
        json_decref(out);
        return;
    }
    printf("HTTP %ld\n%s", status, body);
    if (r->len == 0 || body[r->len - 1] != '\n') putchar('\n');
}

static int trigger(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0), *channel = cli_arg(ctx, 1), *event = cli_arg(ctx, 2),
               *data = cli_arg(ctx, 3);
    char server[SERVER_URL_MAX], path[96];
    struct http_response r = {0};
    int rc = servers_first(ctx, server);
    if (rc != 0) return rc;
    if (strlen(app_id) > 20) return app_unknown(app_id);
    if ((rc = app_require(ctx, app_id, false)) != 0) return rc;

    json_t *payload =
        json_pack("{s:s, s:[s], s:s}", "name", event, "channels", channel, "data", data);
    char *body = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(payload);
    if (!body) return cli_fail("the event name, channel and data must be valid UTF-8");
    snprintf(path, sizeof path, "/apps/%s/events", app_id);
    struct rest_call call = {
        .server = server,
        .app_id = app_id,
        .key = cli_args_get(&ctx->args, "key"),
        .method = "POST",
        .path = path,
        .body = body,
        .timeout_seconds = 30,
    };
    rc = rest_call(ctx, &call, &r);
    free(body);
    if (rc == 0) {
        print_response(ctx, &r);
        if (r.status < 200 || r.status > 299)
            rc = cli_fail("the server answered HTTP %ld", r.status);
    }
    http_response_free(&r);
    return rc;
}

static const struct cli_opt trigger_opts[] = {
    {"server", "URL", "rtserver base URL (default: $RT_SERVER_URL, else " SERVER_DEFAULT_URL ")"},
    {"key", "KEY", "sign with this key (default: the app's newest active key)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_trigger = {
    .name = "trigger",
    .usage = "APP CHANNEL EVENT DATA [--server URL]",
    .summary = "Publish an event through a running server's REST API (signed with the app's key)",
    .details = "DATA is sent as the event's data string. Exit status 1 when the server does\n"
               "not answer 2xx. Example:\n"
               "  rtadmin trigger 1234567 my-channel my-event '{\"hello\":\"world\"}'",
    .opts = trigger_opts,
    .min_args = 4,
    .max_args = 4,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = trigger,
};
