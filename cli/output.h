/* Human output (aligned tables, key/value lists) and --json output, both from jansson values. */
#ifndef RTADMIN_OUTPUT_H
#define RTADMIN_OUTPUT_H

#include <jansson.h>

struct out_col {
    const char *header;
    const char *key; /* member of each row object */
};

/* Prints v as one compact JSON line on stdout (object member order preserved). */
void out_json(const json_t *v);

/* Text of one value for humans: strings as-is (timestamps shortened to "YYYY-MM-DD HH:MM:SSZ"),
 * null as "-", arrays comma-joined, booleans as true/false. Caller frees. */
char *out_text(const json_t *v);

/* Prints an array of objects as an aligned table with one header line; `empty` is printed
 * instead when there are no rows. */
void out_table(const json_t *rows, const struct out_col *cols, int ncols, const char *empty);

/* Prints selected members of an object as aligned "name  value" lines, indented by indent. */
void out_fields(const json_t *obj, const char *const *keys, int nkeys, int indent);

#endif
