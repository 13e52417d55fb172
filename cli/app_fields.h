/* The settable columns of the apps table, as command-line flags with their valid ranges. */
#ifndef RTADMIN_APP_FIELDS_H
#define RTADMIN_APP_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include "cli.h"

enum app_field_kind {
    APP_FIELD_TEXT,   /* name */
    APP_FIELD_BOOL,   /* --flag / --no-flag */
    APP_FIELD_INT,    /* --flag N within [min, max] */
    APP_FIELD_LIST,   /* --flag a,b (text[]) */
    APP_FIELD_PEM,    /* --flag FILE: a PEM public key read from FILE; --no-flag clears it */
    APP_FIELD_PREFIX, /* --flag PREFIX: a Redis key prefix (rt_ingest_parse.h); --no-flag clears it
                       */
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
    char text[4096];
    bool is_null; /* SQL NULL (a PEM field cleared with --no-flag) */
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

/* The SQL parameter of v: its text, or NULL. */
const char *app_field_param(const struct app_field_value *v);

/* Text of a column's value for humans (out_text), except a PEM key, which is summarised as
 * "RSA 2048-bit public key". Caller frees. */
char *app_field_display(const char *column, const json_t *v);

/* Appends to `into` the {"column": value} pairs of fields present in row (json from
 * row_to_json(apps)). */
void app_fields_copy(const json_t *row, json_t *into);

#endif
