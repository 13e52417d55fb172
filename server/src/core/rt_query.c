/* URL query strings: percent-decoding into a bounded list of key/value pairs. */
#include "rt_query.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_err.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "%4" at the end, "%zz" and "%00" are all errors: a NUL would truncate the C string the
 * caller sees and let two different queries sign alike. out may alias in. */
static long url_decode(const char *in, size_t len, char *out, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '%') {
            if (len - i < 3) return -1;
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

long rt_url_decode(const char *in, size_t len, char *out)
{
    return url_decode(in, len, out, true);
}

long rt_path_decode(const char *in, size_t len, char *out)
{
    return url_decode(in, len, out, false);
}

static char *decode_dup(const char *in, size_t len, int *err)
{
    char *out = rt_xmalloc(len + 1);
    if (rt_url_decode(in, len, out) < 0) {
        free(out);
        *err = RT_ERR_INVALID;
        return NULL;
    }
    return out;
}

int rt_query_parse(const char *raw, size_t len, struct rt_query *q)
{
    q->count = 0;
    if (raw == NULL || len == 0) return RT_OK;
    if (len > RT_QUERY_MAX_LEN) return RT_ERR_TOO_LARGE;

    const char *end = raw + len;
    const char *seg = raw;
    while (seg < end) {
        const char *amp = memchr(seg, '&', (size_t)(end - seg));
        const char *seg_end = amp ? amp : end;
        if (seg_end > seg) {
            if (q->count == RT_QUERY_MAX_PARAMS) {
                rt_query_free(q);
                return RT_ERR_TOO_LARGE;
            }
            const char *eq = memchr(seg, '=', (size_t)(seg_end - seg));
            const char *key_end = eq ? eq : seg_end;
            const char *val = eq ? eq + 1 : seg_end;
            int err = RT_OK;
            char *key = decode_dup(seg, (size_t)(key_end - seg), &err);
            char *value = key ? decode_dup(val, (size_t)(seg_end - val), &err) : NULL;
            if (value == NULL) {
                free(key);
                rt_query_free(q);
                return err;
            }
            q->params[q->count].key = key;
            q->params[q->count].value = value;
            q->count++;
        }
        seg = seg_end + 1;
    }
    return RT_OK;
}

void rt_query_free(struct rt_query *q)
{
    for (size_t i = 0; i < q->count; i++) {
        free(q->params[i].key);
        free(q->params[i].value);
    }
    q->count = 0;
}

const char *rt_query_get(const struct rt_query *q, const char *key)
{
    for (size_t i = 0; i < q->count; i++) {
        if (strcmp(q->params[i].key, key) == 0) return q->params[i].value;
    }
    return NULL;
}
