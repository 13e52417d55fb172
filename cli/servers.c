/* Which running servers a command talks to: --server, else RT_SERVER_URL, else the default. */
#include "servers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"

/* Adds one list element (not NUL-terminated) unless it is empty or already listed. */
static int add_url(const struct cli_ctx *ctx, struct server_list *out, const char *s, size_t len)
{
    while (len > 0 && s[len - 1] == '/')
        len--;
    if (len == 0) return 0;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return cli_usage(ctx, "--server must be an http:// or https:// URL, not '%.*s'", (int)len,
                         s);
    if (len >= SERVER_URL_MAX) return cli_usage(ctx, "--server URL is too long");
    for (int i = 0; i < out->count; i++)
        if (strlen(out->url[i]) == len && memcmp(out->url[i], s, len) == 0) return 0;
    if (out->count == HTTP_SERVERS_MAX)
        return cli_usage(ctx, "at most %d servers can be asked at once", HTTP_SERVERS_MAX);
    memcpy(out->url[out->count], s, len);
    out->url[out->count][len] = '\0';
    out->count++;
    return 0;
}

static int add_list(const struct cli_ctx *ctx, struct server_list *out, const char *list)
{
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        int rc = add_url(ctx, out, p, len);
        if (rc != 0) return rc;
        if (!comma) return 0;
        p = comma + 1;
    }
}

int servers_all(const struct cli_ctx *ctx, struct server_list *out)
{
    const char *given[CLI_MAX_OPTS];
    int n = cli_args_all(&ctx->args, "server", given, CLI_MAX_OPTS);
    out->count = 0;
    for (int i = 0; i < n; i++) {
        int rc = add_list(ctx, out, given[i]);
        if (rc != 0) return rc;
    }
    const char *env = getenv("RT_SERVER_URL");
    if (n == 0 && env) {
        int rc = add_list(ctx, out, env);
        if (rc != 0) return rc;
    }
    if (out->count == 0) return add_list(ctx, out, SERVER_DEFAULT_URL);
    return 0;
}

int servers_first(const struct cli_ctx *ctx, char *out)
{
    struct server_list *all = rt_xmalloc(sizeof *all);
    int rc = servers_all(ctx, all);
    if (rc == 0) snprintf(out, SERVER_URL_MAX, "%s", all->url[0]);
    free(all);
    return rc;
}
