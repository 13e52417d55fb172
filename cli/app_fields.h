/* The settable columns of the apps table, as command-line flags with their valid ranges. */
#ifndef RTADMIN_APP_FIELDS_H
#define RTADMIN_APP_FIELDS_H

#include <jansson.h>

#include "cli.h"

enum app_field_kind {
    APP_FIELD_TEXT, /* name */
    APP_FIELD_BOOL, /* --flag / --no-flag */
    APP_FIELD_INT,  /* --flag N within [min, max] */
    APP_FIELD_LIST, /* --flag a,b (text[]) */
};

struct app_field {
    const char *column;
    const char *flag;     /* option name for "on" / the value */
    const char *off_flag; /* option name for "off" (bool only) */
    enum app_field_kind kind;
    long min, max;
    const char *help;
};

extern const struct app_field app_fields[];
extern const int app_field_count;

/* A value taken from the command line, already validated and rendered as SQL text. */
struct app_field_value {
    const struct app_field *field;
    char text[2048];
};

/* Option tables for `app create` (on flags only) and `app update` (plus --no-* flags). */
const struct cli_opt *app_field_opts_create(void);
const struct cli_opt *app_field_opts_update(void);

/* Collects every app field given on the command line into out (capacity app_field_count).
 * Returns the number collected, or -1 after printing a usage error (the exit code is then
 * CLI_USAGE). */
int app_fields_collect(const struct cli_ctx *ctx, struct app_field_value *out);

/* SQL expression for parameter $n of field f, e.g. "$3" or "string_to_array($3, ',')". */
void app_field_sql_value(const struct app_field *f, int n, char *buf, size_t cap);

/* Appends to `into` the {"column": value} pairs of fields present in row (json from
 * row_to_json(apps)). */
void app_fields_copy(const json_t *row, json_t *into);

#endif
