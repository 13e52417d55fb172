/* rtadmin's shared vocabulary: the command table, the run context, exit codes, error output. */
#ifndef RTADMIN_CLI_H
#define RTADMIN_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "args.h"
#include "rt_secret.h"

enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,  /* runtime error: database unreachable, unknown app, bad config... */
    CLI_USAGE = 2, /* the command line itself is wrong */
};

/* What main() must prepare before a command runs. */
enum cli_needs {
    CLI_NEEDS_DB = 1,
    CLI_NEEDS_MASTER_KEY = 2,
    /* Loads the master key when one is configured (a bad one is still an error); without it
     * the command does less (has_master_key stays false). */
    CLI_WANTS_MASTER_KEY = 4,
};

struct cli_ctx;

struct cli_command {
    const char *group; /* "app", or NULL for a top-level command such as "migrate" */
    const char *name;
    const char *usage;   /* arguments after the command words, e.g. "APP [--label L]" */
    const char *summary; /* one line for the command list */
    const char *details; /* extra help paragraph, may be NULL */
    const struct cli_opt *opts;
    const struct cli_opt *(*more_opts)(void); /* options built at run time, may be NULL */
    int min_args, max_args;
    unsigned needs;
    int (*run)(struct cli_ctx *ctx);
};

struct cli_ctx {
    const struct cli_command *cmd;
    struct cli_args args;
    bool json;
    const char *actor;
    PGconn *db;
    uint8_t master_key[RT_MASTER_KEY_BYTES];
    bool has_master_key;
};

/* Prints "rtadmin: <message>" as one line on stderr. Returns CLI_FAIL for `return cli_fail()`. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Same for a usage error: adds a pointer to the command's --help. Returns CLI_USAGE. */
int cli_usage(const struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Full command name for messages, e.g. "app create". */
const char *cli_command_name(const struct cli_command *cmd, char *buf, size_t cap);

/* The positional argument i (0-based) of the running command. */
const char *cli_arg(const struct cli_ctx *ctx, int i);

extern const struct cli_command cmd_migrate, cmd_db_create_server_role;
extern const struct cli_command cmd_app_create, cmd_app_list, cmd_app_show, cmd_app_update,
    cmd_app_enable, cmd_app_disable, cmd_app_delete;
extern const struct cli_command cmd_key_create, cmd_key_list, cmd_key_revoke, cmd_key_rotate,
    cmd_key_show_secret;
extern const struct cli_command cmd_webhook_add, cmd_webhook_list, cmd_webhook_remove,
    cmd_webhook_failures, cmd_webhook_retry;
extern const struct cli_command cmd_audit;
extern const struct cli_command cmd_trigger, cmd_stats, cmd_channels;
extern const struct cli_command cmd_token;
extern const struct cli_command cmd_ingest_failures;

#endif
