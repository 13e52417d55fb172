/* rtadmin channels: an app's occupied channels, read from a running server through the signed
 * REST API (GET /apps/{id}/channels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_lookup.h"
#include "http.h"
#include "output.h"
#include "rest_call.h"
#include "rt_alloc.h"
#include "rt_channel_name.h"
#include "servers.h"

#define CHANNELS_TIMEOUT 3L /* seconds */

/* The prefix goes unescaped into the signed query, which is safe because channel-name
 * characters need no escaping; anything else could never match a channel anyway. */
static int check_prefix(const struct cli_ctx *ctx, const char *prefix)
{
    if (!prefix) return 0;
    if (prefix[0] == '#' || !rt_channel_name_valid(rt_str_c(prefix), RT_CHANNEL_NAME_MAX))
        return cli_usage(ctx,
                         "--prefix must be the start of a channel name (1-%d of A-Z a-z 0-9 "
                         "_ - = @ , . ;), not '%s'",
                         RT_CHANNEL_NAME_MAX, prefix);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Turns {"channels":{"name":{"user_count":N}}} into rows sorted by name:
 * [{"channel":"name"[,"users":N]}]. NULL when the answer has no channels object. */
static json_t *channel_rows(const char *body, bool presence)
{
    json_t *answer = json_loads(body ? body : "", 0, NULL);
    json_t *channels = json_object_get(answer, "channels");
    json_t *rows = NULL;
    const char **names = NULL;
    if (!json_is_object(channels)) goto done;
    size_t n = 0, count = json_object_size(channels);
    names = rt_xcalloc(count + 1, sizeof *names);
    const char *name;
    json_t *info;
    json_object_foreach(channels, name, info) names[n++] = name;
    qsort(names, n, sizeof *names, compare_names);
    rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_pack("{s:s}", "channel", names[i]);
        if (presence) {
            json_t *users = json_object_get(json_object_get(channels, names[i]), "user_count");
            json_object_set_new(row, "users", json_integer(json_integer_value(users)));
        }
        json_array_append_new(rows, row);
    }
done:
    free(names);
    json_decref(answer);
    return rows;
}

static int channels(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0), *prefix = cli_args_get(&ctx->args, "prefix");
    bool presence = prefix && strncmp(prefix, "presence-", 9) == 0;
    char server[SERVER_URL_MAX], path[96], query[RT_CHANNEL_NAME_MAX + 64] = "";
    struct http_response r = {0};
    int rc = servers_first(ctx, server);
    if (rc == 0) rc = check_prefix(ctx, prefix);
    if (rc != 0) return rc;
    if (strlen(app_id) > 20) return app_unknown(app_id);
    if ((rc = app_require(ctx, app_id, false)) != 0) return rc;

    snprintf(path, sizeof path, "/apps/%s/channels", app_id);
    if (prefix)
        snprintf(query, sizeof query, "filter_by_prefix=%s%s", prefix,
                 presence ? "&info=user_count" : "");
    struct rest_call call = {
        .server = server,
        .app_id = app_id,
        .method = "GET",
        .path = path,
        .query = prefix ? query : NULL,
        .timeout_seconds = CHANNELS_TIMEOUT,
    };
    if ((rc = rest_call(ctx, &call, &r)) != 0) goto done;
    if (r.status < 200 || r.status > 299) {
        rc = cli_fail("the server answered HTTP %ld: %s", r.status, http_body_line(&r));
        goto done;
    }
    json_t *rows = channel_rows(r.body, presence);
    if (!rows) {
        rc = cli_fail("the server's answer has no \"channels\" object: %s", http_body_line(&r));
        goto done;
    }
    if (ctx->json) {
        out_json(rows);
    } else {
        static const struct out_col cols[] = {{"CHANNEL", "channel"}, {"USERS", "users"}};
        out_table(rows, cols, presence ? 2 : 1, "No occupied channels.");
    }
    json_decref(rows);
done:
    http_response_free(&r);
    return rc;
}

static const struct cli_opt channels_opts[] = {
    {"prefix", "P", "only channels whose name starts with P; presence-... adds the USERS column"},
    {"server", "URL", "rtserver base URL (default: $RT_SERVER_URL, else " SERVER_DEFAULT_URL ")"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_channels = {
    .name = "channels",
    .usage = "APP [--prefix P] [--server URL]",
    .summary = "List an app's occupied channels on a running server (signed REST call)",
    .details = "Calls GET /apps/{id}/channels signed with the app's newest active key. With a\n"
               "presence- prefix it also asks for info=user_count and shows USERS. Exit status 1\n"
               "when the server answers non-2xx. Example:\n"
               "  rtadmin channels 1234567 --prefix presence-",
    .opts = channels_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB | CLI_NEEDS_MASTER_KEY,
    .run = channels,
};
