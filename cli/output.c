/* Human output (aligned tables, key/value lists) and --json output, both from jansson values. */
#include "output.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"

void out_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (text) {
        puts(text);
        free(text);
    }
}

/* PostgreSQL renders timestamptz in JSON as 2024-05-01T12:34:56.123456+00:00 (the session runs
 * in UTC); operators only need it to the second. */
static char *short_timestamp(const char *s)
{
    size_t n = strlen(s);
    if (n < 25 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        strcmp(s + n - 6, "+00:00") != 0)
        return NULL;
    char *out = rt_xmalloc(21);
    memcpy(out, s, 19);
    out[10] = ' ';
    out[19] = 'Z';
    out[20] = '\0';
    return out;
}

char *out_text(const json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING: {
        char *ts = short_timestamp(json_string_value(v));
        return ts ? ts : rt_xstrdup(json_string_value(v));
    }
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return rt_xstrdup(buf);
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%g", json_real_value(v));
        return rt_xstrdup(buf);
    case JSON_TRUE:
        return rt_xstrdup("true");
    case JSON_FALSE:
        return rt_xstrdup("false");
    case JSON_NULL:
        return rt_xstrdup("-");
    case JSON_ARRAY: {
        size_t i, len = 1;
        json_t *item;
        if (json_array_size(v) == 0) return rt_xstrdup("-");
        char **parts = rt_xcalloc(json_array_size(v), sizeof *parts);
        json_array_foreach(v, i, item)
        {
            parts[i] = out_text(item);
            len += (parts[i] ? strlen(parts[i]) : 0) + 1;
        }
        char *joined = rt_xmalloc(len);
        joined[0] = '\0';
        for (i = 0; i < json_array_size(v); i++) {
            if (i > 0) strcat(joined, ",");
            if (parts[i]) strcat(joined, parts[i]);
        }
        for (i = 0; i < json_array_size(v); i++)
            free(parts[i]);
        free(parts);
        return joined;
    }
    case JSON_OBJECT:
        return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    return rt_xstrdup("?");
}

static char *cell_text(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return v ? out_text(v) : rt_xstrdup("-");
}

/* The last column is not padded, so lines carry no trailing blanks. */
static void print_cell(const char *text, size_t width, bool last)
{
    if (last)
        printf("%s\n", text);
    else
        printf("%-*s  ", (int)width, text);
}

void out_table(const json_t *rows, const struct out_col *cols, int ncols, const char *empty)
{
    size_t nrows = json_array_size(rows);
    if (nrows == 0) {
        if (empty) puts(empty);
        return;
    }
    char **cells = rt_xcalloc(nrows * (size_t)ncols, sizeof *cells);
    size_t *width = rt_xcalloc((size_t)ncols, sizeof *width);
    for (int c = 0; c < ncols; c++)
        width[c] = strlen(cols[c].header);
    for (size_t r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            char *t = cell_text(json_array_get(rows, r), cols[c].key);
            cells[r * (size_t)ncols + (size_t)c] = t;
            if (t && strlen(t) > width[c]) width[c] = strlen(t);
        }
    }
    for (int c = 0; c < ncols; c++)
        print_cell(cols[c].header, width[c], c + 1 == ncols);
    for (size_t r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *t = cells[r * (size_t)ncols + (size_t)c];
            print_cell(t ? t : "?", width[c], c + 1 == ncols);
        }
    }
    for (size_t i = 0; i < nrows * (size_t)ncols; i++)
        free(cells[i]);
    free(cells);
    free(width);
}

void out_fields(const json_t *obj, const char *const *keys, int nkeys, int indent)
{
    size_t width = 0;
    for (int i = 0; i < nkeys; i++)
        if (strlen(keys[i]) > width) width = strlen(keys[i]);
    for (int i = 0; i < nkeys; i++) {
        char *t = cell_text(obj, keys[i]);
        printf("%*s%-*s  %s\n", indent, "", (int)width, keys[i], t ? t : "?");
        free(t);
    }
}
