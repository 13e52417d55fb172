/* rtadmin: the operator CLI of Realtime. main(), command dispatch, help and error output. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "rt_alloc.h"

static const struct cli_opt global_opts[] = {
    {"database-url", "URL", "PostgreSQL URL (default: $RT_DATABASE_URL)"},
    {"master-key-file", "PATH",
     "file holding the master key (default: $RT_MASTER_KEY_FILE, else $RT_MASTER_KEY)"},
    {"actor", "NAME", "who is acting, for the audit log (default: $USER)"},
    {"json", NULL, "machine-readable JSON output"},
    {"help", NULL, "show help and exit"},
    {NULL, NULL, NULL},
};

/* One per line, in `rtadmin --help` order. */
/* clang-format off */
static const struct cli_command *const commands[] = {
    &cmd_migrate,
    &cmd_db_create_server_role,
    &cmd_app_create,
    &cmd_app_list,
    &cmd_app_show,
    &cmd_app_update,
    &cmd_app_enable,
    &cmd_app_disable,
    &cmd_app_delete,
    &cmd_key_create,
    &cmd_key_list,
    &cmd_key_revoke,
    &cmd_key_rotate,
    &cmd_key_show_secret,
    &cmd_webhook_add,
    &cmd_webhook_list,
    &cmd_webhook_remove,
    &cmd_webhook_failures,
    &cmd_webhook_retry,
    &cmd_audit,
    &cmd_token,
    &cmd_trigger,
    &cmd_stats,
    &cmd_channels,
    &cmd_ingest_failures,
    NULL,
};
/* clang-format on */

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                     */
/* ---------------------------------------------------------------------------------------- */

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rtadmin: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

const char *cli_command_name(const struct cli_command *cmd, char *buf, size_t cap)
{
    if (cmd->group)
        snprintf(buf, cap, "%s %s", cmd->group, cmd->name);
    else
        snprintf(buf, cap, "%s", cmd->name);
    return buf;
}

int cli_usage(const struct cli_ctx *ctx, const char *fmt, ...)
{
    char name[64] = "";
    va_list ap;
    va_start(ap, fmt);
    fputs("rtadmin: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (ctx && ctx->cmd)
        fprintf(stderr, " (see: rtadmin %s --help)\n",
                cli_command_name(ctx->cmd, name, sizeof name));
    else
        fputs(" (see: rtadmin --help)\n", stderr);
    return CLI_USAGE;
}

const char *cli_arg(const struct cli_ctx *ctx, int i)
{
    return i < ctx->args.positional_count ? ctx->args.positional[i] : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Help                                                                                       */
/* ---------------------------------------------------------------------------------------- */

static void print_command_list(FILE *out, const char *group)
{
    char name[64];
    for (const struct cli_command *const *c = commands; *c; c++) {
        if (group && (!(*c)->group || strcmp((*c)->group, group) != 0)) continue;
        fprintf(out, "  %-22s %s\n", cli_command_name(*c, name, sizeof name), (*c)->summary);
    }
}

static void print_main_help(FILE *out)
{
    fputs("Usage: rtadmin [--database-url URL] COMMAND [ARGS] [--json]\n"
          "\n"
          "Operator CLI of Realtime: schema migrations, apps, keys, webhooks, audit log, and live\n"
          "numbers from running servers.\n"
          "\n"
          "Commands:\n",
          out);
    print_command_list(out, NULL);
    fputs("\nGlobal options (accepted by every command):\n", out);
    cli_opts_print(out, global_opts);
    fputs("\nEnvironment: RT_DATABASE_URL, RT_MASTER_KEY (64 hex characters or base64 of 32\n"
          "bytes), RT_MIGRATIONS_DIR, RT_SERVER_URL.\n"
          "Exit codes: 0 ok, 1 runtime error, 2 usage error.\n"
          "Run `rtadmin COMMAND --help` for the options of one command.\n",
          out);
}

static void print_group_help(FILE *out, const char *group)
{
    fprintf(out, "Usage: rtadmin %s SUBCOMMAND [ARGS]\n\nSubcommands:\n", group);
    print_command_list(out, group);
    fprintf(out, "\nRun `rtadmin %s SUBCOMMAND --help` for details.\n", group);
}

static void print_command_help(const struct cli_command *cmd)
{
    char name[64];
    printf("Usage: rtadmin %s%s%s\n\n%s\n", cli_command_name(cmd, name, sizeof name),
           cmd->usage[0] ? " " : "", cmd->usage, cmd->summary);
    if (cmd->details) printf("\n%s\n", cmd->details);
    if ((cmd->opts && cmd->opts[0].name) || cmd->more_opts) {
        puts("\nOptions:");
        cli_opts_print(stdout, cmd->opts);
        if (cmd->more_opts) cli_opts_print(stdout, cmd->more_opts());
    }
    puts("\nGlobal options:");
    cli_opts_print(stdout, global_opts);
}

/* ---------------------------------------------------------------------------------------- */
/* Dispatch                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static bool is_group(const char *word)
{
    for (const struct cli_command *const *c = commands; *c; c++)
        if ((*c)->group && strcmp((*c)->group, word) == 0) return true;
    return false;
}

static const struct cli_command *find_command(const char *group, const char *name)
{
    for (const struct cli_command *const *c = commands; *c; c++) {
        bool same_group = group ? (*c)->group && strcmp((*c)->group, group) == 0 : !(*c)->group;
        if (same_group && strcmp((*c)->name, name) == 0) return *c;
    }
    return NULL;
}

/* Finds the command words (one, or two for a group) among argv[1..), skipping global options
 * and their values, so "rtadmin --json app list" and "rtadmin app list --json" both work.
 * Marks the words in `used`. Returns 0 with *cmd set, 1 when help was printed, or an exit code
 * (CLI_USAGE) after printing the problem. */
static int locate_command(int argc, char **argv, bool *used, const struct cli_command **cmd)
{
    const struct cli_opt *const tables[] = {global_opts, NULL};
    const char *words[2] = {NULL, NULL};
    int nwords = 0;
    bool help = false;
    for (int i = 1; i < argc && nwords < 2; i++) {
        const char *a = argv[i];
        if (a[0] == '-') {
            if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                help = true;
                continue;
            }
            const struct cli_opt *o = NULL;
            const char *eq = strchr(a, '=');
            if (a[1] == '-') {
                char name[64];
                size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
                snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : 0), a + 2);
                o = cli_opt_find(tables, name);
            }
            if (o && o->value_name && !eq) i++;
            /* Options after the group word belong to the subcommand; it checks them. */
            if (o || nwords == 1) continue;
            return cli_usage(NULL, "unknown option %s before the command", a);
        }
        if (nwords == 0 && strcmp(a, "help") == 0) {
            help = true;
            used[i] = true;
            continue;
        }
        words[nwords++] = a;
        used[i] = true;
        if (nwords == 1 && !is_group(a)) break;
    }
    if (nwords == 0) {
        if (help) {
            print_main_help(stdout);
            return 1;
        }
        print_main_help(stderr);
        return CLI_USAGE;
    }
    if (is_group(words[0])) {
        if (nwords < 2) {
            if (help) {
                print_group_help(stdout, words[0]);
                return 1;
            }
            print_group_help(stderr, words[0]);
            return CLI_USAGE;
        }
        *cmd = find_command(words[0], words[1]);
        if (!*cmd) {
            fprintf(stderr, "rtadmin: unknown command '%s %s' (see: rtadmin %s --help)\n", words[0],
                    words[1], words[0]);
            return CLI_USAGE;
        }
        return 0;
    }
    *cmd = find_command(NULL, words[0]);
    if (!*cmd) {
        fprintf(stderr, "rtadmin: unknown command '%s' (see: rtadmin --help)\n", words[0]);
        return CLI_USAGE;
    }
    return 0;
}

static int parse_command_args(struct cli_ctx *ctx, int argc, char **argv, const bool *used)
{
    char **rest = rt_xcalloc((size_t)argc, sizeof *rest);
    int nrest = 0;
    char err[200];
    for (int i = 1; i < argc; i++)
        if (!used[i]) rest[nrest++] = argv[i];
    const struct cli_opt *tables[4];
    int ntables = 0;
    tables[ntables++] = global_opts;
    if (ctx->cmd->opts) tables[ntables++] = ctx->cmd->opts;
    if (ctx->cmd->more_opts) tables[ntables++] = ctx->cmd->more_opts();
    tables[ntables] = NULL;
    int rc = cli_args_parse(tables, nrest, rest, &ctx->args, err, sizeof err);
    free(rest);
    if (rc != 0) return cli_usage(ctx, "%s", err);
    return 0;
}

static int check_arg_count(struct cli_ctx *ctx)
{
    int n = ctx->args.positional_count;
    char name[64];
    cli_command_name(ctx->cmd, name, sizeof name);
    if (n < ctx->cmd->min_args)
        return cli_usage(ctx, "%s: missing argument (usage: rtadmin %s %s)", name, name,
                         ctx->cmd->usage);
    if (n > ctx->cmd->max_args)
        return cli_usage(ctx, "%s: unexpected argument '%s'", name,
                         ctx->args.positional[ctx->cmd->max_args]);
    return 0;
}

static int run(struct cli_ctx *ctx)
{
    bool configured = cli_args_get(&ctx->args, "master-key-file") || getenv("RT_MASTER_KEY") ||
                      getenv("RT_MASTER_KEY_FILE");
    if ((ctx->cmd->needs & CLI_NEEDS_MASTER_KEY) ||
        ((ctx->cmd->needs & CLI_WANTS_MASTER_KEY) && configured)) {
        if (config_master_key(&ctx->args, ctx->master_key) != 0) return CLI_FAIL;
        ctx->has_master_key = true;
    }
    if (ctx->cmd->needs & CLI_NEEDS_DB) {
        const char *url = config_database_url(&ctx->args);
        if (!url) return CLI_FAIL;
        ctx->db = db_connect(url);
        if (!ctx->db) return CLI_FAIL;
    }
    return ctx->cmd->run(ctx);
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    rt_alloc_init();
    if (sodium_init() < 0) return cli_fail("libsodium failed to initialise");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cli_fail("libcurl failed to initialise");

    bool *used = rt_xcalloc((size_t)argc + 1, sizeof *used);
    int rc = locate_command(argc, argv, used, &ctx.cmd);
    if (rc == 1)
        rc = CLI_OK;
    else if (rc == 0 && (rc = parse_command_args(&ctx, argc, argv, used)) == 0) {
        if (cli_args_has(&ctx.args, "help")) {
            print_command_help(ctx.cmd);
        } else if ((rc = check_arg_count(&ctx)) == 0) {
            ctx.json = cli_args_has(&ctx.args, "json");
            ctx.actor = config_actor(&ctx.args);
            rc = run(&ctx);
        }
    }
    free(used);
    if (ctx.db) PQfinish(ctx.db);
    sodium_memzero(ctx.master_key, sizeof ctx.master_key);
    curl_global_cleanup();
    return rc;
}
