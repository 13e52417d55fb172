/* Pusher HTTP API request signatures (PROTOCOL.md §14.2): canonical string, sign, verify. */
#include "rt_rest_auth.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_err.h"
#include "rt_hmac.h"

#define TIMESTAMP_MAX_DIGITS 15

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Byte-order comparison of keys as if lowercased. */
static int key_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = lower((unsigned char)*a), cb = lower((unsigned char)*b);
        if (ca != cb || ca == '\0') return (int)ca - (int)cb;
    }
}

static int param_order(const void *pa, const void *pb, const struct rt_query *q)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = key_cmp(q->params[a].key, q->params[b].key);
    if (c != 0) return c;
    return a < b ? -1 : (a > b ? 1 : 0); /* stable: repeated keys keep their order */
}

/* Insertion sort: at most RT_QUERY_MAX_PARAMS items, and qsort has no context argument. */
static void sort_params(size_t *idx, size_t n, const struct rt_query *q)
{
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && param_order(&idx[j - 1], &v, q) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

char *rt_rest_string_to_sign(const char *method, const char *path, const struct rt_query *q)
{
    size_t idx[RT_QUERY_MAX_PARAMS];
    size_t n = 0;
    size_t total = strlen(method) + strlen(path) + 3;

    for (size_t i = 0; i < q->count && i < RT_QUERY_MAX_PARAMS; i++) {
        if (key_cmp(q->params[i].key, "auth_signature") == 0) continue;
        idx[n++] = i;
        total += strlen(q->params[i].key) + strlen(q->params[i].value) + 2;
    }
    sort_params(idx, n, q);

    char *out = rt_xmalloc(total);
    char *w = out;
    for (const char *m = method; *m; m++)
        *w++ = (*m >= 'a' && *m <= 'z') ? (char)(*m - 'a' + 'A') : *m;
    *w++ = '\n';
    size_t path_len = strlen(path);
    memcpy(w, path, path_len);
    w += path_len;
    *w++ = '\n';
    for (size_t i = 0; i < n; i++) {
        const struct rt_query_param *p = &q->params[idx[i]];
        bool same_key = i > 0 && key_cmp(q->params[idx[i - 1]].key, p->key) == 0;
        if (same_key) {
            *w++ = ',';
        } else {
            if (i > 0) *w++ = '&';
            for (const char *k = p->key; *k; k++)
                *w++ = (char)lower((unsigned char)*k);
            *w++ = '=';
        }
        size_t vlen = strlen(p->value);
        memcpy(w, p->value, vlen);
        w += vlen;
    }
    *w = '\0';
    return out;
}

static void set_err(char *err, size_t err_cap, const char *msg)
{
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "%s", msg);
}

/* Finds an auth parameter by case-insensitive key (the string to sign lowercases keys, so
 * AUTH_KEY means auth_key). Returns RT_ERR_INVALID when it is repeated: a repeated auth
 * parameter is never sent by an SDK and would make the checked value ambiguous. */
static int find_unique(const struct rt_query *q, const char *name, const char **value)
{
    *value = NULL;
    for (size_t i = 0; i < q->count; i++) {
        if (key_cmp(q->params[i].key, name) != 0) continue;
        if (*value != NULL) return RT_ERR_INVALID;
        *value = q->params[i].value;
    }
    return RT_OK;
}

static int parse_timestamp(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > TIMESTAMP_MAX_DIGITS) return RT_ERR_INVALID;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return RT_ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return RT_OK;
}

static bool signature_matches(const char *method, const char *path, const struct rt_query *q,
                              const char *secret, const char *given)
{
    char *to_sign = rt_rest_string_to_sign(method, path, q);
    if (to_sign == NULL) return false;
    char expected[RT_SHA256_HEX_LEN + 1];
    rt_hmac_sha256_hex(secret, strlen(secret), to_sign, strlen(to_sign), expected);
    free(to_sign);
    return rt_digest_equal(expected, given, strlen(given));
}

/* Tries the path as given, then percent-decoded (§14.2 step 5) when it holds a '%'. */
static bool path_signature_matches(const char *method, const char *path, const struct rt_query *q,
                                   const char *secret, const char *given)
{
    if (signature_matches(method, path, q, secret, given)) return true;
    if (strchr(path, '%') == NULL) return false;
    size_t len = strlen(path);
    char *decoded = rt_xmalloc(len + 1);
    bool ok = rt_path_decode(path, len, decoded) >= 0 &&
              signature_matches(method, decoded, q, secret, given);
    free(decoded);
    return ok;
}

/* body_md5 is also checked when present on an empty body, so a stated digest is never
 * trusted. key_out may be NULL; a key that does not fit in key_cap is RT_ERR_UNKNOWN_KEY. */
int rt_rest_verify(const char *method, const char *path, const struct rt_query *q, const char *body,
                   size_t body_len, int64_t now, rt_rest_secret_fn secret_for, void *ctx,
                   char *key_out, size_t key_cap, char *err, size_t err_cap)
{
    const char *key, *ts, *version, *md5, *signature;
    if (find_unique(q, "auth_key", &key) || find_unique(q, "auth_timestamp", &ts) ||
        find_unique(q, "auth_version", &version) || find_unique(q, "body_md5", &md5) ||
        find_unique(q, "auth_signature", &signature)) {
        set_err(err, err_cap, "Repeated auth parameter in query string");
        return RT_ERR_INVALID;
    }

    if (key == NULL) {
        set_err(err, err_cap, "Missing auth_key in query string");
        return RT_ERR_INVALID;
    }
    const char *secret = NULL;
    if (key_out == NULL || strlen(key) < key_cap) secret = secret_for(ctx, key);
    if (secret == NULL) {
        set_err(err, err_cap, "Unknown auth_key");
        return RT_ERR_UNKNOWN_KEY;
    }

    int64_t timestamp;
    if (ts == NULL) {
        set_err(err, err_cap, "Missing auth_timestamp in query string");
        return RT_ERR_INVALID;
    }
    if (parse_timestamp(ts, &timestamp) != RT_OK) {
        set_err(err, err_cap, "auth_timestamp must be a Unix time in seconds");
        return RT_ERR_INVALID;
    }
    if (timestamp > now + RT_REST_MAX_SKEW_SECONDS || timestamp < now - RT_REST_MAX_SKEW_SECONDS) {
        set_err(err, err_cap,
                "auth_timestamp is more than 600 s from server time; check the "
                "client clock");
        return RT_ERR_EXPIRED;
    }

    if (version == NULL) {
        set_err(err, err_cap, "Missing auth_version in query string");
        return RT_ERR_INVALID;
    }
    if (strcmp(version, "1.0") != 0) {
        set_err(err, err_cap, "Unsupported auth_version (expected 1.0)");
        return RT_ERR_INVALID;
    }

    if (body_len > 0 && md5 == NULL) {
        set_err(err, err_cap, "Missing body_md5 in query string");
        return RT_ERR_INVALID;
    }
    if (md5 != NULL) {
        char actual[RT_MD5_HEX_LEN + 1];
        rt_md5_hex(body, body_len, actual);
        if (!rt_hex_equal(actual, strlen(actual), md5, strlen(md5))) {
            set_err(err, err_cap, "body_md5 does not match the request body");
            return RT_ERR_BAD_SIGNATURE;
        }
    }

    if (signature == NULL) {
        set_err(err, err_cap, "Missing auth_signature in query string");
        return RT_ERR_INVALID;
    }
    if (!path_signature_matches(method, path, q, secret, signature)) {
        set_err(err, err_cap, "Invalid auth_signature");
        return RT_ERR_BAD_SIGNATURE;
    }
    if (key_out != NULL) snprintf(key_out, key_cap, "%s", key);
    return RT_OK;
}

static int add_param(struct rt_query *q, const char *key, const char *value)
{
    if (q->count == RT_QUERY_MAX_PARAMS) return RT_ERR_TOO_LARGE;
    q->params[q->count].key = rt_xstrdup(key);
    q->params[q->count].value = rt_xstrdup(value);
    q->count++;
    return RT_OK;
}

/* Returns NULL also when extra_query is malformed (bad %-escape) or has too many params. */
char *rt_rest_sign(const char *method, const char *path, const char *key, const char *secret,
                   const char *body, size_t body_len, int64_t timestamp, const char *extra_query)
{
    struct rt_query q;
    char ts[32], md5[RT_MD5_HEX_LEN + 1] = "", signature[RT_SHA256_HEX_LEN + 1];
    char *to_sign = NULL, *out = NULL;
    size_t extra_len = extra_query ? strlen(extra_query) : 0;

    if (rt_query_parse(extra_query, extra_len, &q) != RT_OK) return NULL;
    snprintf(ts, sizeof ts, "%" PRId64, timestamp);
    if (body_len > 0) rt_md5_hex(body, body_len, md5);
    if (add_param(&q, "auth_key", key) || add_param(&q, "auth_timestamp", ts) ||
        add_param(&q, "auth_version", "1.0") || (body_len > 0 && add_param(&q, "body_md5", md5)))
        goto done;
    to_sign = rt_rest_string_to_sign(method, path, &q);
    rt_hmac_sha256_hex(secret, strlen(secret), to_sign, strlen(to_sign), signature);

    size_t cap = strlen(key) + strlen(ts) + sizeof md5 + sizeof signature + extra_len + 96;
    out = rt_xmalloc(cap);
    snprintf(out, cap, "auth_key=%s&auth_timestamp=%s&auth_version=1.0%s%s&auth_signature=%s%s%s",
             key, ts, body_len > 0 ? "&body_md5=" : "", md5, signature, extra_len ? "&" : "",
             extra_len ? extra_query : "");
done:
    free(to_sign);
    rt_query_free(&q);
    return out;
}
