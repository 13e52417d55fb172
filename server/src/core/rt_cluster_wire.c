/* Cluster wire format: bounded encode/decode of the messages nodes exchange over Redis. */
#include "rt_cluster_wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_err.h"

static bool kind_known(int kind)
{
    return kind == RT_CLUSTER_EVENT || kind == RT_CLUSTER_CACHE_EVENT ||
           kind == RT_CLUSTER_TERMINATE_USER || kind == RT_CLUSTER_MEMBER_EVENT ||
           kind == RT_CLUSTER_WATCHLIST || kind == RT_CLUSTER_COUNT_CHANGED;
}

static bool all_digits(struct rt_str s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9') return false;
    return true;
}

static bool node_valid(struct rt_str s)
{
    return s.n >= 1 && s.n <= RT_CLUSTER_NODE_MAX && all_digits(s);
}

/* Socket ids are "<digits>.<digits>" (conn.c); "" means no socket is excluded. */
static bool except_valid(struct rt_str s)
{
    if (s.n == 0) return true;
    if (s.n > RT_CLUSTER_SOCKET_ID_MAX) return false;
    const char *dot = memchr(s.p, '.', s.n);
    if (!dot) return false;
    struct rt_str left = {s.p, (size_t)(dot - s.p)};
    struct rt_str right = {dot + 1, s.n - left.n - 1};
    return left.n > 0 && right.n > 0 && all_digits(left) && all_digits(right);
}

static bool is_user_kind(enum rt_cluster_kind kind)
{
    return kind == RT_CLUSTER_TERMINATE_USER || kind == RT_CLUSTER_WATCHLIST;
}

/* The channel field is a channel name, or a user id for a termination or watchlist change. */
static bool target_valid(enum rt_cluster_kind kind, struct rt_str s)
{
    if (is_user_kind(kind)) return rt_user_id_valid(s, RT_USER_ID_MAX);
    return rt_channel_name_valid(s, RT_CHANNEL_NAME_MAX);
}

/* Everything but the payload length bound, shared by both directions. */
static int fields_valid(enum rt_cluster_kind kind, struct rt_str node, struct rt_str app_id,
                        struct rt_str channel, struct rt_str except, size_t payload_len)
{
    if (!kind_known((int)kind) || !node_valid(node) ||
        !rt_user_id_valid(app_id, RT_CLUSTER_APP_ID_MAX) || !target_valid(kind, channel) ||
        !except_valid(except))
        return RT_ERR_INVALID;
    bool bare = kind == RT_CLUSTER_TERMINATE_USER || kind == RT_CLUSTER_COUNT_CHANGED;
    if (bare ? (except.n != 0 || payload_len != 0) : payload_len == 0) return RT_ERR_INVALID;
    if (kind == RT_CLUSTER_WATCHLIST && except.n != 0) return RT_ERR_INVALID;
    if (payload_len > RT_CLUSTER_PAYLOAD_MAX) return RT_ERR_TOO_LARGE;
    return RT_OK;
}

/* Splits the next '\n'-terminated field off [*p, end). Returns false when there is no '\n'
 * or the field is longer than max (which keeps every copy below in bounds). */
static bool next_field(const char **p, const char *end, size_t max, struct rt_str *field)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl || (size_t)(nl - *p) > max) return false;
    *field = (struct rt_str){*p, (size_t)(nl - *p)};
    *p = nl + 1;
    return true;
}

static void copy_field(char *dst, struct rt_str s)
{
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
}

int rt_cluster_msg_decode(const char *buf, size_t len, struct rt_cluster_msg *out)
{
    memset(out, 0, sizeof *out);
    if (!buf) return RT_ERR_INVALID;
    const char *p = buf, *end = buf + len;
    struct rt_str kind, node, app_id, channel, except;
    if (!next_field(&p, end, 1, &kind) || kind.n != 1 ||
        !next_field(&p, end, RT_CLUSTER_NODE_MAX, &node) ||
        !next_field(&p, end, RT_CLUSTER_APP_ID_MAX, &app_id) ||
        !next_field(&p, end, RT_CHANNEL_NAME_MAX, &channel) ||
        !next_field(&p, end, RT_CLUSTER_SOCKET_ID_MAX, &except))
        return RT_ERR_INVALID;
    enum rt_cluster_kind k = (enum rt_cluster_kind)(unsigned char)kind.p[0];
    size_t payload_len = (size_t)(end - p);
    int rc = fields_valid(k, node, app_id, channel, except, payload_len);
    if (rc != RT_OK) return rc;
    out->kind = k;
    copy_field(out->node, node);
    copy_field(out->app_id, app_id);
    copy_field(out->channel, channel);
    copy_field(out->except, except);
    out->payload = p;
    out->payload_len = payload_len;
    return RT_OK;
}

char *rt_cluster_msg_encode(enum rt_cluster_kind kind, const char *node, const char *app_id,
                            const char *channel, const char *except, const char *payload,
                            size_t payload_len, size_t *out_len)
{
    struct rt_str n = rt_str_c(node), a = rt_str_c(app_id), c = rt_str_c(channel),
                  x = rt_str_c(except);
    if ((payload_len && !payload) || fields_valid(kind, n, a, c, x, payload_len) != RT_OK)
        return NULL;
    size_t total = 2 + n.n + 1 + a.n + 1 + c.n + 1 + x.n + 1 + payload_len;
    char *msg = rt_xmalloc(total);
    char *w = msg;
    *w++ = (char)kind;
    *w++ = '\n';
    const struct rt_str head[] = {n, a, c, x};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
        if (head[i].n) memcpy(w, head[i].p, head[i].n); /* except may be NULL */
        w += head[i].n;
        *w++ = '\n';
    }
    if (payload_len) memcpy(w, payload, payload_len);
    *out_len = total;
    return msg;
}
