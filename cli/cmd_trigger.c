/* rtadmin trigger: publishes one event through a running server's REST API, signed like the
 * Pusher SDKs sign it, to check an app end to end. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_lookup.h"
#include "db.h"
#include "keys.h"
#include "output.h"
#include "rt_rest_auth.h"

#define DEFAULT_SERVER "http://127.0.0.1:6001"
#define RESPONSE_MAX (1024 * 1024)

struct response {
    char *data;
    size_t len;
};

/* Keeps at most RESPONSE_MAX bytes: a misbehaving server must not exhaust our memory. */
static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;
    size_t keep = r->len + n > RESPONSE_MAX ? RESPONSE_MAX - r->len : n;
    char *grown = realloc(r->data, r->len + keep + 1);
    if (!grown) return 0;
    r->data = grown;
    memcpy(r->data + r->len, ptr, keep);
    r->len += keep;
    r->data[r->len] = '\0';
    return n;
}

/* The newest active key of the app, or the one given with --key (which must be the app's). */
static int pick_key(struct cli_ctx *ctx, const char *app_id, char *key, size_t cap)
{
    const char *wanted = cli_args_get(&ctx->args, "key");
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
    snprintf(key, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int server_url(const struct cli_ctx *ctx, char *out, size_t cap)
{
    const char *url = cli_args_get(&ctx->args, "server");
    if (!url) url = getenv("RT_SERVER_URL");
    if (!url || !*url) url = DEFAULT_SERVER;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return cli_usage(ctx, "--server must be an http:// or https:// URL, not '%s'", url);
    snprintf(out, cap, "%s", url);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

static void print_response(const struct cli_ctx *ctx, long status, const struct response *r)
{
    const char *body = r->data ? r->data : "";
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

/* POSTs body to url; fills *status. Returns 0 or CLI_FAIL after printing. */
static int post(const char *url, const char *server, const char *body, long *status,
                struct response *r)
{
    CURL *curl = curl_easy_init();
    if (!curl) return cli_fail("cannot initialise libcurl");
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "rtadmin");
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        return cli_fail("cannot reach the server at %s: %s (is rtserver running? set --server "
                        "or RT_SERVER_URL)",
                        server, curl_err[0] ? curl_err : curl_easy_strerror(rc));
    return 0;
}

static int trigger(struct cli_ctx *ctx)
{
    const char *app_id = cli_arg(ctx, 0), *channel = cli_arg(ctx, 1), *event = cli_arg(ctx, 2),
               *data = cli_arg(ctx, 3);
    char server[1024], key[128], key_app[32], secret[RT_SECRET_MAX + 1] = "";
    char path[96], *url = NULL, *query = NULL, *body = NULL;
    struct response r = {NULL, 0};
    long status = 0;
    int rc = server_url(ctx, server, sizeof server);
    if (rc != 0) return rc;
    if (strlen(app_id) > 20) return app_unknown(app_id);
    if ((rc = app_require(ctx, app_id, false)) != 0) return rc;
    if ((rc = pick_key(ctx, app_id, key, sizeof key)) != 0) return rc;
    if ((rc = key_open_secret(ctx, key, key_app, sizeof key_app, secret)) != 0) return rc;

    rc = CLI_FAIL;
    json_t *payload =
        json_pack("{s:s, s:[s], s:s}", "name", event, "channels", channel, "data", data);
    body = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(payload);
    snprintf(path, sizeof path, "/apps/%s/events", app_id);
    if (body)
        query =
            rt_rest_sign("POST", path, key, secret, body, strlen(body), (int64_t)time(NULL), NULL);
    sodium_memzero(secret, sizeof secret);
    size_t url_len = strlen(server) + strlen(path) + (query ? strlen(query) : 0) + 2;
    if (!body || !query || !(url = malloc(url_len))) {
        cli_fail("out of memory building the request");
        goto done;
    }
    snprintf(url, url_len, "%s%s?%s", server, path, query);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = post(url, server, body, &status, &r);
    curl_global_cleanup();
    if (rc != 0) goto done;
    print_response(ctx, status, &r);
    rc = CLI_OK;
    if (status < 200 || status > 299) rc = cli_fail("the server answered HTTP %ld", status);
done:
    free(r.data);
    free(url);
    free(query);
    free(body);
    return rc;
}

static const struct cli_opt trigger_opts[] = {
    {"server", "URL", "rtserver base URL (default: $RT_SERVER_URL, else " DEFAULT_SERVER ")"},
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
