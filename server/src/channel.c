/* Channel state: the two-way subscription index, presence members and local fan-out. */
#include "channel.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "app.h"
#include "conn.h"
#include "rt_err.h"
#include "rt_protocol.h"
#include "webhook.h"

struct rt_channel *rt_channel_find(struct rt_app *app, const char *name)
{
    struct rt_channel *ch = NULL;
    HASH_FIND_STR(app->channels, name, ch);
    return ch;
}

static struct rt_channel *channel_create(struct rt_app *app, const char *name,
                                         struct rt_channel_kind kind)
{
    struct rt_channel *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->name = strdup(name);
    if (!ch->name) {
        free(ch);
        return NULL;
    }
    ch->kind = kind;
    ch->app = app;
    HASH_ADD_KEYPTR(hh, app->channels, ch->name, strlen(ch->name), ch);
    return ch;
}

/* Frees an empty channel at once: keeping empties would let a client grow memory without
 * bound by subscribing to and leaving millions of names. */
static void channel_free_if_empty(struct rt_channel *ch)
{
    if (ch->sub_count > 0)
        return;
    if (ch->occupied)
        rt_webhook_channel_vacated(ch->app, ch->name);
    HASH_DEL(ch->app->channels, ch);
    struct rt_member_entry *m, *tmp;
    HASH_ITER(hh, ch->members, m, tmp)
    {
        HASH_DEL(ch->members, m);
        free(m->user_id);
        free(m->user_info);
        free(m);
    }
    free(ch->name);
    free(ch);
}

int rt_channel_subscribe(struct rt_app *app, struct rt_conn *c, const char *name,
                         struct rt_channel_kind kind, const char *user_id, const char *user_info,
                         int max_members, bool *first_of_user, struct rt_channel **out)
{
    struct rt_sub *s = NULL;
    *first_of_user = false;
    HASH_FIND_STR(c->subs, name, s);
    if (s) {
        *out = s->channel;
        return RT_SUB_ALREADY;
    }
    struct rt_channel *ch = rt_channel_find(app, name);
    bool created = false;
    if (!ch) {
        ch = channel_create(app, name, kind);
        if (!ch)
            return RT_ERR_NOMEM;
        created = true;
    }
    struct rt_member_entry *m = NULL;
    if (user_id) {
        HASH_FIND_STR(ch->members, user_id, m);
        if (!m && (int)ch->member_count >= max_members) {
            if (created)
                channel_free_if_empty(ch);
            return RT_ERR_LIMIT;
        }
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    if (user_id && !(s->user_id = strdup(user_id)))
        goto nomem;
    if (user_id && !m) {
        m = calloc(1, sizeof *m);
        if (!m || !(m->user_id = strdup(user_id)) ||
            (user_info && !(m->user_info = strdup(user_info)))) {
            if (m) {
                free(m->user_id);
                free(m);
            }
            goto nomem;
        }
        HASH_ADD_KEYPTR(hh, ch->members, m->user_id, strlen(m->user_id), m);
        ch->member_count++;
        *first_of_user = true;
    }
    if (m)
        m->sockets++;
    s->channel = ch;
    s->conn = c;
    DL_APPEND(ch->subs, s);
    ch->sub_count++;
    HASH_ADD_KEYPTR(hh, c->subs, ch->name, strlen(ch->name), s);
    c->sub_count++;
    if (!ch->occupied) {
        ch->occupied = true;
        rt_webhook_channel_occupied(app, ch->name);
    }
    if (*first_of_user)
        rt_webhook_member_added(app, ch->name, user_id);
    *out = ch;
    return RT_SUB_ADDED;
nomem:
    if (s)
        free(s->user_id);
    free(s);
    if (created)
        channel_free_if_empty(ch);
    return RT_ERR_NOMEM;
}

static void send_member_removed(struct rt_channel *ch, const char *user_id)
{
    struct rt_frame *f = rt_frame_json_event("pusher_internal:member_removed", ch->name,
                                             json_pack("{s:s}", "user_id", user_id));
    if (f) {
        rt_channel_deliver(ch, f, NULL);
        rt_frame_unref(f);
    }
}

void rt_channel_unsubscribe(struct rt_sub *s)
{
    struct rt_channel *ch = s->channel;
    struct rt_conn *c = s->conn;
    HASH_DEL(c->subs, s);
    c->sub_count--;
    DL_DELETE(ch->subs, s);
    ch->sub_count--;
    if (s->user_id) {
        struct rt_member_entry *m = NULL;
        HASH_FIND_STR(ch->members, s->user_id, m);
        if (m && --m->sockets == 0) {
            HASH_DEL(ch->members, m);
            ch->member_count--;
            if (ch->sub_count > 0)
                send_member_removed(ch, m->user_id);
            rt_webhook_member_removed(ch->app, ch->name, m->user_id);
            free(m->user_id);
            free(m->user_info);
            free(m);
        }
        free(s->user_id);
    }
    free(s);
    if (ch->sub_count > 0 && ch->kind.type != RT_CHANNEL_PRESENCE)
        rt_channel_broadcast_count(ch);
    channel_free_if_empty(ch);
}

size_t rt_channel_deliver(struct rt_channel *ch, struct rt_frame *f, const struct rt_conn *except)
{
    size_t n = 0;
    struct rt_sub *s, *tmp;
    /* _SAFE: a full queue closes the connection, which never unsubscribes synchronously, but
     * keep iteration robust regardless. */
    DL_FOREACH_SAFE(ch->subs, s, tmp)
    {
        if (s->conn == except)
            continue;
        if (rt_conn_send(s->conn, f) == 0)
            n++;
    }
    ch->app->messages_out += n;
    return n;
}

char *rt_channel_presence_json(const struct rt_channel *ch)
{
    json_t *ids = json_array(), *hash = json_object();
    const struct rt_member_entry *m, *tmp;
    HASH_ITER(hh, ch->members, m, tmp)
    {
        json_array_append_new(ids, json_string(m->user_id));
        json_t *info = m->user_info ? json_loads(m->user_info, 0, NULL) : NULL;
        json_object_set_new(hash, m->user_id, info ? info : json_null());
    }
    json_t *root = json_pack("{s:{s:I,s:o,s:o}}", "presence", "count",
                             (json_int_t)ch->member_count, "ids", ids, "hash", hash);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

void rt_channel_broadcast_count(struct rt_channel *ch)
{
    if (!ch->app->cfg->subscription_count)
        return;
    rt_webhook_subscription_count(ch->app, ch->name, ch->sub_count);
    char data[64];
    snprintf(data, sizeof data, "{\"subscription_count\":%zu}", ch->sub_count);
    size_t len;
    char *text =
        rt_encode_event("pusher_internal:subscription_count", ch->name, rt_str_c(data), NULL, &len);
    struct rt_frame *f = rt_frame_from_text(text, len);
    if (f) {
        rt_channel_deliver(ch, f, NULL);
        rt_frame_unref(f);
    }
}
