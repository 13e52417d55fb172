/* Command-line options: exact long names only (no abbreviations, so scripts stay stable). */
#include "args.h"

#include <stdio.h>
#include <string.h>

const struct cli_opt *cli_opt_find(const struct cli_opt *const *tables, const char *name)
{
    for (; *tables; tables++)
        for (const struct cli_opt *o = *tables; o->name; o++)
            if (strcmp(o->name, name) == 0) return o;
    return NULL;
}

/* Every occurrence is kept, in order: cli_args_get reads the last one, cli_args_all all of them
 * (for options such as stats --server that may be repeated). */
static void remember(struct cli_args *out, const char *name, const char *value)
{
    out->given[out->given_count].name = name;
    out->given[out->given_count].value = value;
    out->given_count++;
}

/* Handles one "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int parse_option(const struct cli_opt *const *tables, int argc, char **argv, int *i,
                        struct cli_args *out, char *err, size_t err_cap)
{
    char name[64];
    const char *arg = argv[*i];
    const char *body = strcmp(arg, "-h") == 0 ? "help" : arg + 2;
    const char *eq = strchr(body, '=');
    size_t name_len = eq ? (size_t)(eq - body) : strlen(body);
    if (name_len == 0 || name_len >= sizeof name) {
        snprintf(err, err_cap, "unknown option %s", arg);
        return -1;
    }
    if (out->given_count >= CLI_MAX_OPTS) {
        snprintf(err, err_cap, "too many options");
        return -1;
    }
    memcpy(name, body, name_len);
    name[name_len] = '\0';

    const struct cli_opt *opt = cli_opt_find(tables, name);
    if (!opt) {
        snprintf(err, err_cap, "unknown option --%s", name);
        return -1;
    }
    if (!opt->value_name) {
        if (eq) {
            snprintf(err, err_cap, "option --%s takes no value", name);
            return -1;
        }
        remember(out, opt->name, "");
        return 0;
    }
    if (eq) {
        remember(out, opt->name, eq + 1);
        return 0;
    }
    if (*i + 1 >= argc) {
        snprintf(err, err_cap, "option --%s needs a value (%s)", name, opt->value_name);
        return -1;
    }
    *i += 1;
    remember(out, opt->name, argv[*i]);
    return 0;
}

int cli_args_parse(const struct cli_opt *const *tables, int argc, char **argv, struct cli_args *out,
                   char *err, size_t err_cap)
{
    bool options_done = false;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool is_option = !options_done && ((arg[0] == '-' && arg[1] == '-' && arg[2] != '\0') ||
                                           strcmp(arg, "-h") == 0);
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (is_option) {
            if (parse_option(tables, argc, argv, &i, out, err, err_cap) != 0) return -1;
            continue;
        }
        if (out->positional_count >= CLI_MAX_POSITIONAL) {
            snprintf(err, err_cap, "too many arguments");
            return -1;
        }
        out->positional[out->positional_count++] = arg;
    }
    return 0;
}

const char *cli_args_get(const struct cli_args *args, const char *name)
{
    for (int i = args->given_count - 1; i >= 0; i--)
        if (strcmp(args->given[i].name, name) == 0) return args->given[i].value;
    return NULL;
}

int cli_args_all(const struct cli_args *args, const char *name, const char **values, int cap)
{
    int n = 0;
    for (int i = 0; i < args->given_count && n < cap; i++)
        if (strcmp(args->given[i].name, name) == 0) values[n++] = args->given[i].value;
    return n;
}

bool cli_args_has(const struct cli_args *args, const char *name)
{
    return cli_args_get(args, name) != NULL;
}

void cli_opts_print(FILE *out, const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char left[96];
        if (o->value_name)
            snprintf(left, sizeof left, "--%s %s", o->name, o->value_name);
        else
            snprintf(left, sizeof left, "--%s", o->name);
        fprintf(out, "  %-36s %s\n", left, o->help);
    }
}
