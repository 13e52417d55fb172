/* Command-line options: a small parser for "--name value", "--name=value" and flags. */
#ifndef RTADMIN_ARGS_H
#define RTADMIN_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_MAX_OPTS 64
#define CLI_MAX_POSITIONAL 16

struct cli_opt {
    const char *name;       /* without the leading "--"; NULL ends a table */
    const char *value_name; /* NULL for a flag that takes no value */
    const char *help;
};

struct cli_args {
    struct {
        const char *name;
        const char *value; /* "" for flags */
    } given[CLI_MAX_OPTS];
    int given_count;
    const char *positional[CLI_MAX_POSITIONAL];
    int positional_count;
};

/* Parses argv[0..argc) against the NULL-terminated option tables in `tables` (itself ended by
 * NULL). A later repetition of an option overrides an earlier one. On error writes one line
 * into err and returns -1; "--help"/"-h" are accepted when some table lists "help". */
int cli_args_parse(const struct cli_opt *const *tables, int argc, char **argv, struct cli_args *out,
                   char *err, size_t err_cap);

/* Value of option `name` (or "" for a given flag), NULL when it was not given. When the option
 * was repeated, the last value. */
const char *cli_args_get(const struct cli_args *args, const char *name);

/* Every value given for option `name`, in command-line order, at most cap of them. Returns how
 * many were stored in values. */
int cli_args_all(const struct cli_args *args, const char *name, const char **values, int cap);

bool cli_args_has(const struct cli_args *args, const char *name);

/* Looks up an option by name in the tables; NULL when unknown. */
const struct cli_opt *cli_opt_find(const struct cli_opt *const *tables, const char *name);

/* Prints an aligned "  --name VALUE   help" list of one table. */
void cli_opts_print(FILE *out, const struct cli_opt *opts);

#endif
