/* Which running servers a command talks to: --server, else RT_SERVER_URL, else the default. */
#ifndef RTADMIN_SERVERS_H
#define RTADMIN_SERVERS_H

#include "cli.h"
#include "http.h"

#define SERVER_DEFAULT_URL "http://127.0.0.1:6001"
#define SERVER_URL_MAX 1024

struct server_list {
    int count;
    char url[HTTP_SERVERS_MAX][SERVER_URL_MAX]; /* without trailing '/' */
};

/* Every server named by the --server options (each may be a comma-separated list), else by
 * RT_SERVER_URL (same form), else SERVER_DEFAULT_URL; duplicates dropped. Returns 0, or
 * CLI_USAGE after printing when one is not an http(s) URL or there are too many. */
int servers_all(const struct cli_ctx *ctx, struct server_list *out);

/* The first of those, for commands that talk to one server. out needs SERVER_URL_MAX bytes. */
int servers_first(const struct cli_ctx *ctx, char *out);

#endif
