/* Connection tokens (JWT): claim checks and channel grants of a verified token's payload. */
#include "rt_jwt_claims.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_channel_name.h"

const char *rt_jwt_reject_name(enum rt_jwt_reject r)
{
    static const char *const names[RT_JWT_REJECT_COUNT] = {
        [RT_JWT_OK] = "ok",
        [RT_JWT_MALFORMED] = "malformed",
        [RT_JWT_ALGORITHM] = "algorithm",
        [RT_JWT_UNKNOWN_KEY] = "unknown_key",
        [RT_JWT_SIGNATURE] = "signature",
        [RT_JWT_EXPIRED] = "expired",
        [RT_JWT_NOT_YET_VALID] = "not_yet_valid",
        [RT_JWT_AUDIENCE] = "audience",
        [RT_JWT_CLAIMS] = "claims",
        [RT_JWT_MISSING] = "missing",
    };
    return r >= 0 && r < RT_JWT_REJECT_COUNT ? names[r] : "unknown";
}

static enum rt_jwt_reject fail(enum rt_jwt_reject r, char *err, size_t err_cap, const char *msg)
{
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "%s", msg);
    return r;
}

/* Integer seconds; a JSON real (1.7e9) is accepted as its whole part, as RFC 7519 allows
 * NumericDate to be non-integer. Returns false when v is not a number. */
static bool numeric_date(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -9e15 && d < 9e15)) return false;
        *out = (long long)d;
        return true;
    }
    return false;
}

/* exp required, nbf and iat optional; each with RT_JWT_LEEWAY_SECONDS. */
static enum rt_jwt_reject check_times(const json_t *root, long long now, long long *exp_out,
                                      char *err, size_t err_cap)
{
    long long exp, t;
    const json_t *v = json_object_get(root, "exp");
    if (v == NULL) return fail(RT_JWT_CLAIMS, err, err_cap, "Token has no exp claim");
    if (!numeric_date(v, &exp))
        return fail(RT_JWT_CLAIMS, err, err_cap, "Token exp must be a number of seconds");
    if (now > exp + RT_JWT_LEEWAY_SECONDS)
        return fail(RT_JWT_EXPIRED, err, err_cap, "Token expired");
    static const char *const not_before[] = {"nbf", "iat"};
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(root, not_before[i]);
        if (v == NULL) continue;
        if (!numeric_date(v, &t)) {
            char msg[64];
            snprintf(msg, sizeof msg, "Token %s must be a number of seconds", not_before[i]);
            return fail(RT_JWT_CLAIMS, err, err_cap, msg);
        }
        if (t > now + RT_JWT_LEEWAY_SECONDS) {
            char msg[64];
            snprintf(msg, sizeof msg, "Token not valid yet (%s is in the future)", not_before[i]);
            return fail(RT_JWT_NOT_YET_VALID, err, err_cap, msg);
        }
    }
    *exp_out = exp;
    return RT_JWT_OK;
}

static bool audience_is(const json_t *v, const struct rt_jwt_expect *want)
{
    const char *s = json_string_value(v);
    return s != NULL && ((want->app_key && strcmp(s, want->app_key) == 0) ||
                         (want->app_id && strcmp(s, want->app_id) == 0));
}

static enum rt_jwt_reject check_audience(const json_t *root, const struct rt_jwt_expect *want,
                                         char *err, size_t err_cap)
{
    const json_t *aud = json_object_get(root, "aud");
    if (aud == NULL) return fail(RT_JWT_AUDIENCE, err, err_cap, "Token has no aud claim");
    if (json_is_array(aud)) {
        size_t i;
        const json_t *e;
        json_array_foreach(aud, i, e)
        {
            if (audience_is(e, want)) return RT_JWT_OK;
        }
    } else if (audience_is(aud, want)) {
        return RT_JWT_OK;
    }
    return fail(RT_JWT_AUDIENCE, err, err_cap,
                "Token audience is not this app: aud must be the app key or the app id");
}

/* An entry of the channels claim: a private-/presence- channel name, '*' allowed after the
 * prefix. */
static bool grant_valid(struct rt_str g)
{
    if (g.n == 0 || g.n > RT_CHANNEL_NAME_MAX) return false;
    if (!rt_str_has_prefix(g, "private-") && !rt_str_has_prefix(g, "presence-")) return false;
    char name[RT_CHANNEL_NAME_MAX + 1];
    for (size_t i = 0; i < g.n; i++)
        name[i] = g.p[i] == '*' ? 'a' : g.p[i];
    return rt_channel_name_valid((struct rt_str){name, g.n}, RT_CHANNEL_NAME_MAX);
}

static enum rt_jwt_reject take_channels(const json_t *list, struct rt_jwt_claims *out, char *err,
                                        size_t err_cap)
{
    if (list == NULL || json_is_null(list)) return RT_JWT_OK;
    if (!json_is_array(list))
        return fail(RT_JWT_CLAIMS, err, err_cap, "Token channels must be an array of names");
    size_t n = json_array_size(list);
    if (n > RT_JWT_CHANNELS_MAX) {
        char msg[80];
        snprintf(msg, sizeof msg, "Token channels has more than %d entries", RT_JWT_CHANNELS_MAX);
        return fail(RT_JWT_CLAIMS, err, err_cap, msg);
    }
    if (n == 0) return RT_JWT_OK;
    out->channels = rt_xcalloc(n, sizeof *out->channels);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        struct rt_str g = {json_string_value(e), json_is_string(e) ? json_string_length(e) : 0};
        if (g.p == NULL || !grant_valid(g) || memchr(g.p, '\0', g.n)) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "Token channels[%zu] must be a private-, presence- or private-encrypted- "
                     "channel name (with * as a wildcard)",
                     i);
            return fail(RT_JWT_CLAIMS, err, err_cap, msg);
        }
        out->channels[i] = rt_xstrndup(g.p, g.n);
        out->n_channels++;
    }
    return RT_JWT_OK;
}

static bool user_id_of(const json_t *v, char out[RT_USER_ID_MAX + 1])
{
    struct rt_str id = {json_string_value(v), json_is_string(v) ? json_string_length(v) : 0};
    if (id.p == NULL || !rt_user_id_valid(id, RT_USER_ID_MAX)) return false;
    memcpy(out, id.p, id.n);
    out[id.n] = '\0';
    return true;
}

static enum rt_jwt_reject take_watchlist(const json_t *list, struct rt_jwt_claims *out, char *err,
                                         size_t err_cap)
{
    if (list == NULL || json_is_null(list)) return RT_JWT_OK;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n > RT_WATCHLIST_MAX)
        return fail(RT_JWT_CLAIMS, err, err_cap,
                    "Token watchlist must be an array of at most 100 user ids");
    if (n == 0) return RT_JWT_OK;
    out->watchlist = rt_xcalloc(n, sizeof *out->watchlist);
    for (size_t i = 0; i < n; i++) {
        char id[RT_USER_ID_MAX + 1];
        if (!user_id_of(json_array_get(list, i), id))
            return fail(RT_JWT_CLAIMS, err, err_cap, "Token watchlist has an invalid user id");
        out->watchlist[i] = rt_xstrdup(id);
        out->watchlist_len++;
    }
    return RT_JWT_OK;
}

static enum rt_jwt_reject take_user_info(const json_t *info, size_t max_bytes,
                                         struct rt_jwt_claims *out, char *err, size_t err_cap)
{
    if (info == NULL || json_is_null(info)) return RT_JWT_OK;
    if (!json_is_object(info))
        return fail(RT_JWT_CLAIMS, err, err_cap, "Token user_info must be a JSON object");
    char *text = json_dumps(info, JSON_COMPACT);
    if (text == NULL || strlen(text) > max_bytes) {
        free(text);
        char msg[80];
        snprintf(msg, sizeof msg, "Token user_info is larger than %zu bytes", max_bytes);
        return fail(RT_JWT_CLAIMS, err, err_cap, msg);
    }
    out->user_info = text;
    return RT_JWT_OK;
}

/* Order of the checks: the ones a client can cause by waiting (expiry) or by using the token
 * elsewhere (audience) come before the shape of sub and the grants, so that their reasons are
 * the ones reported. */
enum rt_jwt_reject rt_jwt_claims_parse(struct rt_str payload, const struct rt_jwt_expect *want,
                                       struct rt_jwt_claims *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    json_t *root =
        payload.p ? json_loadb(payload.p, payload.n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    enum rt_jwt_reject r;
    if (!json_is_object(root)) {
        r = fail(RT_JWT_MALFORMED, err, err_cap, "Token payload must be a JSON object");
        goto done;
    }
    if ((r = check_times(root, want->now, &out->exp, err, err_cap)) != RT_JWT_OK) goto done;
    if ((r = check_audience(root, want, err, err_cap)) != RT_JWT_OK) goto done;
    if (!user_id_of(json_object_get(root, "sub"), out->sub)) {
        r = fail(RT_JWT_CLAIMS, err, err_cap,
                 "Token sub must be a user id: 1-128 characters [A-Za-z0-9_-=@,.;]");
        goto done;
    }
    if ((r = take_channels(json_object_get(root, "channels"), out, err, err_cap)) != RT_JWT_OK)
        goto done;
    if ((r = take_user_info(json_object_get(root, "user_info"), want->max_info_bytes, out, err,
                            err_cap)) != RT_JWT_OK)
        goto done;
    r = take_watchlist(json_object_get(root, "watchlist"), out, err, err_cap);
done:
    json_decref(root);
    if (r != RT_JWT_OK) rt_jwt_claims_clear(out);
    return r;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rt_jwt_claims_clear(struct rt_jwt_claims *c)
{
    free(c->user_info);
    free_strv(c->channels, c->n_channels);
    free_strv(c->watchlist, c->watchlist_len);
    memset(c, 0, sizeof *c);
}

/* Iterative wildcard match with one backtrack point (the last '*'): O(pattern x name) at worst,
 * both bounded by RT_CHANNEL_NAME_MAX, and no recursion a hostile pattern could deepen. */
bool rt_jwt_glob_match(struct rt_str pattern, struct rt_str name)
{
    size_t p = 0, n = 0, star = (size_t)-1, resume = 0;
    while (n < name.n) {
        if (p < pattern.n && pattern.p[p] == '*') {
            star = p++;
            resume = n;
        } else if (p < pattern.n && pattern.p[p] == name.p[n]) {
            p++;
            n++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.n && pattern.p[p] == '*')
        p++;
    return p == pattern.n;
}

bool rt_jwt_channel_granted(char *const *channels, size_t n, struct rt_str channel)
{
    for (size_t i = 0; i < n; i++)
        if (rt_jwt_glob_match(rt_str_c(channels[i]), channel)) return true;
    return false;
}
