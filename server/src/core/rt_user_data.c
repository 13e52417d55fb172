/* Presence channel_data and sign-in user_data parsing (PROTOCOL.md §7, §10, §12). */
#include "rt_user_data.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_channel_name.h"
#include "rt_err.h"

static int fail(int code, char *err, size_t err_cap, const char *msg)
{
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "%s", msg);
    return code;
}

static json_t *load_object(struct rt_str text)
{
    if (text.p == NULL) return NULL;
    json_t *root = json_loadb(text.p, text.n, JSON_REJECT_DUPLICATES, NULL);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Copies a valid user id (string, or integer when allow_number) into out. */
static bool take_user_id(const json_t *v, bool allow_number, char out[RT_USER_ID_MAX + 1])
{
    struct rt_str id;
    char num[32];
    if (json_is_string(v)) {
        id = (struct rt_str){json_string_value(v), json_string_length(v)};
    } else if (allow_number && json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        id = rt_str_c(num);
    } else {
        return false;
    }
    if (!rt_user_id_valid(id, RT_USER_ID_MAX)) return false;
    memcpy(out, id.p, id.n);
    out[id.n] = '\0';
    return true;
}

/* user_info null or absent leaves *out NULL. */
static int take_user_info(const json_t *info, size_t max_info_bytes, char **out, char *err,
                          size_t err_cap)
{
    *out = NULL;
    if (info == NULL || json_is_null(info)) return RT_OK;
    char *text = json_dumps(info, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strlen(text) > max_info_bytes) {
        free(text);
        return fail(RT_ERR_TOO_LARGE, err, err_cap, "user_info is too large");
    }
    *out = text;
    return RT_OK;
}

/* A real number ("user_id": 4.2) is rejected: only integers have one decimal spelling. */
int rt_member_parse(struct rt_str channel_data, size_t max_info_bytes, struct rt_member *m,
                    char *err, size_t err_cap)
{
    memset(m, 0, sizeof *m);
    json_t *root = load_object(channel_data);
    if (root == NULL)
        return fail(RT_ERR_INVALID, err, err_cap, "channel_data must be a JSON object");
    int rc = RT_OK;
    if (!take_user_id(json_object_get(root, "user_id"), true, m->user_id)) {
        rc = fail(RT_ERR_INVALID, err, err_cap,
                  "channel_data.user_id must be a non-empty string of at most 128 characters "
                  "[A-Za-z0-9_-=@,.;]");
        goto done;
    }
    rc = take_user_info(json_object_get(root, "user_info"), max_info_bytes, &m->user_info, err,
                        err_cap);
done:
    json_decref(root);
    if (rc != RT_OK) rt_member_clear(m);
    return rc;
}

void rt_member_clear(struct rt_member *m)
{
    free(m->user_info);
    memset(m, 0, sizeof *m);
}

/* Only the first RT_WATCHLIST_MAX entries are looked at; the rest are dropped unchecked. */
static int take_watchlist(const json_t *list, struct rt_signin *s, char *err, size_t err_cap)
{
    if (list == NULL || json_is_null(list)) return RT_OK;
    if (!json_is_array(list))
        return fail(RT_ERR_INVALID, err, err_cap, "user_data.watchlist must be an array");
    size_t n = json_array_size(list);
    if (n > RT_WATCHLIST_MAX) {
        n = RT_WATCHLIST_MAX;
        s->watchlist_truncated = true;
    }
    if (n == 0) return RT_OK;
    s->watchlist = rt_xcalloc(n, sizeof *s->watchlist);
    for (size_t i = 0; i < n; i++) {
        char id[RT_USER_ID_MAX + 1];
        if (!take_user_id(json_array_get(list, i), false, id))
            return fail(RT_ERR_INVALID, err, err_cap, "user_data.watchlist has an invalid id");
        s->watchlist[i] = rt_xstrdup(id);
        s->watchlist_len++;
    }
    return RT_OK;
}

int rt_signin_parse(struct rt_str user_data, size_t max_info_bytes, struct rt_signin *s, char *err,
                    size_t err_cap)
{
    memset(s, 0, sizeof *s);
    json_t *root = load_object(user_data);
    if (root == NULL) return fail(RT_ERR_INVALID, err, err_cap, "user_data must be a JSON object");
    int rc = RT_OK;
    if (!take_user_id(json_object_get(root, "id"), false, s->user.user_id)) {
        rc = fail(RT_ERR_INVALID, err, err_cap,
                  "user_data.id must be a non-empty string of at most 128 characters "
                  "[A-Za-z0-9_-=@,.;]");
        goto done;
    }
    rc = take_user_info(json_object_get(root, "user_info"), max_info_bytes, &s->user.user_info, err,
                        err_cap);
    if (rc == RT_OK) rc = take_watchlist(json_object_get(root, "watchlist"), s, err, err_cap);
done:
    json_decref(root);
    if (rc != RT_OK) rt_signin_clear(s);
    return rc;
}

void rt_signin_clear(struct rt_signin *s)
{
    for (size_t i = 0; i < s->watchlist_len; i++)
        free(s->watchlist[i]);
    free(s->watchlist);
    rt_member_clear(&s->user);
    memset(s, 0, sizeof *s);
}
