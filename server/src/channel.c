/* Channel state: the two-way subscription index, presence members and local fan-out. */
#include "channel.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>
#include <uv.h>

#include "app.h"
#include "broker.h"
#include "cluster.h"
#include "conn.h"
#include "registry.h"
#include "rt_alloc.h"
#include "rt_err.h"
#include "rt_protocol.h"
#include "rt_transition.h"
#include "rt_user_data.h"
#include "server.h"

/* Hash tables made here (a connection's subscriptions, an app's channels, a channel's members)
 * start with 4 buckets instead of uthash's 32: a 32-bucket table is 512 bytes, which for the
 * one table every subscribed socket has was a quarter of its memory. Tables double as they
 * grow, so large ones cost the same as before. */
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS 4U
#define HASH_INITIAL_NUM_BUCKETS_LOG2 2U

static void count_forget(struct rt_channel *ch);

#define MEMBER_RING 32 /* member events kept per presence channel for joins still pending */

struct rt_member_ring {
    struct {
        uint64_t version;
        struct rt_frame *f;
        char except[RT_SOCKET_ID_MAX + 1];
    } e[MEMBER_RING];
    unsigned head, len;
};

static void view_free(struct rt_channel *ch);

static void ring_free(struct rt_channel *ch)
{
    if (!ch->recent)
        return;
    for (unsigned i = 0; i < ch->recent->len; i++)
        rt_frame_unref(ch->recent->e[(ch->recent->head + i) % MEMBER_RING].f);
    free(ch->recent);
    ch->recent = NULL;
}

struct rt_channel *rt_channel_find(struct rt_app *app, const char *name)
{
    struct rt_channel *ch = NULL;
    HASH_FIND_STR(app->channels, name, ch);
    return ch;
}

static struct rt_channel *channel_create(struct rt_app *app, const char *name,
                                         struct rt_channel_kind kind)
{
    struct rt_channel *ch = rt_xcalloc(1, sizeof *ch);
    ch->name = rt_xstrdup(name);
    ch->kind = kind;
    ch->app = app;
    HASH_ADD_KEYPTR(hh, app->channels, ch->name, strlen(ch->name), ch);
    rt_cluster_interest(app, ch->name, true); /* receive its events from the other nodes */
    return ch;
}

/* Frees an empty channel at once: keeping empties would let a client grow memory without
 * bound by subscribing to and leaving millions of names. */
static void channel_free_if_empty(struct rt_channel *ch)
{
    if (ch->sub_count > 0)
        return;
    /* In a cluster the registry decides vacated once for all nodes. */
    if (ch->occupied && !rt_registry_active())
        rt_transition_channel(RT_TRANSITION_VACATED, ch->app, ch->name);
    count_forget(ch);
    ring_free(ch);
    view_free(ch);
    rt_cluster_interest(ch->app, ch->name, false);
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
    s = rt_xcalloc(1, sizeof *s);
    if (user_id)
        s->user_id = rt_xstrdup(user_id);
    if (user_id && !m) {
        m = rt_xcalloc(1, sizeof *m);
        m->user_id = rt_xstrdup(user_id);
        if (user_info)
            m->user_info = rt_xstrdup(user_info);
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
    bool clustered = rt_registry_active();
    if (!ch->occupied) {
        ch->occupied = true;
        if (!clustered)
            rt_transition_channel(RT_TRANSITION_OCCUPIED, app, ch->name);
    }
    if (*first_of_user && !clustered)
        rt_transition_member(RT_TRANSITION_MEMBER_ADDED, app, ch->name, user_id);
    *out = ch;
    return RT_SUB_ADDED;
}

static void send_member_removed(struct rt_channel *ch, const char *user_id)
{
    if (rt_registry_clustered() && !rt_channel_view_apply(ch, false, user_id))
        return; /* Redis unreachable: the view says they were never told of this member */
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
    /* In a cluster, Redis decides "last socket of the user" and the new total; the events
     * follow from its answer (registry.c). */
    bool clustered = rt_registry_active();
    if (clustered)
        rt_registry_unsubscribed(ch->app, ch->name, c->socket_id, s->user_id != NULL);
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
            if (!clustered) {
                if (ch->sub_count > 0)
                    send_member_removed(ch, m->user_id);
                rt_transition_member(RT_TRANSITION_MEMBER_REMOVED, ch->app, ch->name, m->user_id);
            }
            free(m->user_id);
            free(m->user_info);
            free(m);
        }
        free(s->user_id);
    }
    free(s);
    if (ch->sub_count > 0 && ch->kind.type != RT_CHANNEL_PRESENCE && !clustered)
        rt_channel_count_changed(ch);
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

/* ---------------------------------------------------------------------------------------- */
/* Coalesced subscription_count                                                              */
/* ---------------------------------------------------------------------------------------- */

unsigned long long rt_subscription_counts_coalesced;

/* Channels whose change waits for the end of their window (utlist DL through count_next /
 * count_prev). A channel leaves the list in its free path, so nothing here ever points at a
 * freed channel. */
static struct rt_channel *count_pending;
/* One timer for the whole list, armed for the earliest due channel it knows of. It exists only
 * while the list is non-empty (closed when it empties), so no handle of ours is left open when
 * the loop shuts down; a closing handle cannot be restarted, hence the allocation. */
static uv_timer_t *count_timer;
static uint64_t count_timer_due;

/* Windows of many channels end at scattered moments: flushing at most every 10 ms bounds the
 * wake-ups (each scans the list) and delays a broadcast by no more than that. */
#define COUNT_TIMER_MIN_MS 10

static void count_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void count_timer_release(void)
{
    if (!count_timer)
        return;
    uv_close((uv_handle_t *)count_timer, count_timer_closed);
    count_timer = NULL;
}

static void count_unlink(struct rt_channel *ch)
{
    DL_DELETE2(count_pending, ch, count_prev, count_next);
    ch->count_next = ch->count_prev = NULL;
    ch->count_pending = false;
}

static struct rt_frame *count_frame(const char *channel, size_t count)
{
    char data[64];
    snprintf(data, sizeof data, "{\"subscription_count\":%zu}", count);
    size_t len;
    char *text =
        rt_encode_event("pusher_internal:subscription_count", channel, rt_str_c(data), NULL, &len);
    /* Never NULL: channel names and data are ASCII, so the encoder cannot refuse them. */
    return rt_frame_from_text(text, len);
}

/* The broadcast and the webhook with the count of this moment (never 0: an empty channel is
 * freed, and leaves the pending list, first). */
static void count_send(struct rt_channel *ch, uint64_t now)
{
    ch->count_sent_ms = now;
    bool local = ch->count_local;
    ch->count_local = false;
    if (!ch->app->cfg->subscription_count) /* switched off while the change was pending */
        return;
    if (rt_registry_active()) {
        /* The total is read from Redis (rt_channel_deliver_count delivers it here): the
         * cluster total at that moment. A change of this node's
         * also goes to the webhook and tells the other nodes to read it. */
        rt_registry_read_count(ch->app, ch->name, local);
        return;
    }
    rt_transition_count(ch->app, ch->name, ch->sub_count);
    struct rt_frame *f = count_frame(ch->name, ch->sub_count);
    rt_channel_deliver(ch, f, NULL);
    rt_frame_unref(f);
}

static void count_flush(uv_timer_t *t);

/* Makes the timer fire by `due` (or closes it when nothing is pending). A timer already armed
 * for an earlier moment is left alone: its flush re-arms for the rest. */
static void count_timer_arm(uint64_t due, uint64_t now)
{
    if (!count_pending) {
        count_timer_release();
        return;
    }
    if (!count_timer) {
        count_timer = rt_xmalloc(sizeof *count_timer);
        uv_timer_init(rt_srv.loop, count_timer);
    } else if (uv_is_active((uv_handle_t *)count_timer) && count_timer_due <= due) {
        return;
    }
    uv_timer_start(count_timer, count_flush, due > now ? due - now : 0, 0);
    count_timer_due = due;
}

/* Sends every pending channel whose window has ended; re-arms for the earliest of the rest. */
static void count_flush(uv_timer_t *t)
{
    (void)t;
    uint64_t now = rt_now_ms(), next = UINT64_MAX;
    struct rt_channel *ch, *tmp;
    /* _SAFE: count_unlink. Delivery never unsubscribes synchronously (a full queue only marks
     * the connection closing), so no other channel leaves the list meanwhile. */
    DL_FOREACH_SAFE2(count_pending, ch, tmp, count_next)
    {
        uint64_t due = ch->count_sent_ms + RT_SUBSCRIPTION_COUNT_WINDOW_MS;
        if (due > now) {
            if (due < next)
                next = due;
            continue;
        }
        count_unlink(ch);
        count_send(ch, now);
    }
    count_timer_arm(next < now + COUNT_TIMER_MIN_MS ? now + COUNT_TIMER_MIN_MS : next, now);
}

/* Free path: a channel that goes away before its window ends sends nothing. */
static void count_forget(struct rt_channel *ch)
{
    if (!ch->count_pending)
        return;
    count_unlink(ch);
    if (!count_pending)
        count_timer_release();
}

/* Sends ch's count now when it has been quiet for a window, else once the window ends. */
static void count_schedule(struct rt_channel *ch)
{
    if (ch->count_pending) { /* the pending broadcast will carry this count too */
        rt_subscription_counts_coalesced++;
        return;
    }
    uint64_t now = rt_now_ms();
    if (!ch->count_sent_ms || now - ch->count_sent_ms >= RT_SUBSCRIPTION_COUNT_WINDOW_MS) {
        count_send(ch, now);
        return;
    }
    ch->count_pending = true;
    DL_APPEND2(count_pending, ch, count_prev, count_next);
    count_timer_arm(ch->count_sent_ms + RT_SUBSCRIPTION_COUNT_WINDOW_MS, now);
}

void rt_channel_count_changed(struct rt_channel *ch)
{
    if (!ch->app->cfg->subscription_count) return;
    ch->count_local = true;
    count_schedule(ch);
}

void rt_channel_count_refresh(struct rt_app *app, const char *name)
{
    struct rt_channel *ch = rt_channel_find(app, name);
    if (!ch || !app->cfg->subscription_count) return;
    count_schedule(ch);
}

void rt_channel_cluster_count(struct rt_app *app, const char *name)
{
    if (!app->cfg->subscription_count)
        return;
    struct rt_channel *ch = rt_channel_find(app, name);
    if (ch) {
        rt_channel_count_changed(ch);
        return;
    }
    /* No local subscriber to coalesce on: tell the other nodes at once. */
    rt_registry_read_count(app, name, true);
}

void rt_channel_deliver_count(struct rt_app *app, const char *name, size_t total)
{
    struct rt_channel *ch = rt_channel_find(app, name);
    if (!ch)
        return;
    struct rt_frame *f = count_frame(name, total);
    rt_channel_deliver(ch, f, NULL);
    rt_frame_unref(f);
}

/* ---------------------------------------------------------------------------------------- */
/* Member events for joins whose member list is still on its way (cluster mode)              */
/* ---------------------------------------------------------------------------------------- */

void rt_channel_remember_member_event(struct rt_channel *ch, uint64_t version,
                                      struct rt_frame *f, const char *except)
{
    if (!version)
        return;
    if (version > ch->max_version)
        ch->max_version = version;
    if (!ch->recent)
        ch->recent = rt_xcalloc(1, sizeof *ch->recent);
    struct rt_member_ring *r = ch->recent;
    unsigned slot;
    if (r->len == MEMBER_RING) {
        slot = r->head;
        rt_frame_unref(r->e[slot].f);
        r->head = (r->head + 1) % MEMBER_RING;
    } else {
        slot = (r->head + r->len++) % MEMBER_RING;
    }
    r->e[slot].version = version;
    r->e[slot].f = rt_frame_ref(f);
    snprintf(r->e[slot].except, sizeof r->e[slot].except, "%s", except ? except : "");
}

void rt_channel_replay_member_events(struct rt_sub *s)
{
    struct rt_member_ring *r = s->channel->recent;
    if (!r)
        return;
    /* Versions arrive in any order from several nodes: send the newer ones in version order. */
    uint64_t floor = s->presence_version;
    for (;;) {
        unsigned best = MEMBER_RING;
        for (unsigned i = 0; i < r->len; i++) {
            unsigned k = (r->head + i) % MEMBER_RING;
            if (r->e[k].version > floor && (best == MEMBER_RING || r->e[k].version < r->e[best].version))
                best = k;
        }
        if (best == MEMBER_RING)
            break;
        floor = r->e[best].version;
        if (strcmp(r->e[best].except, s->conn->socket_id) != 0)
            rt_conn_send(s->conn, r->e[best].f);
    }
    s->presence_version = floor;
}

void rt_channel_remember_member_event_by_name(struct rt_app *app, const char *name,
                                              uint64_t version, struct rt_frame *f,
                                              const char *except)
{
    struct rt_channel *ch = rt_channel_find(app, name);
    if (ch)
        rt_channel_remember_member_event(ch, version, f, except);
}

/* ---------------------------------------------------------------------------------------- */
/* The member view (cluster mode)                                                            */
/* ---------------------------------------------------------------------------------------- */

struct rt_view_member {
    UT_hash_handle hh;
    char user_id[]; /* the key */
};

static void view_free(struct rt_channel *ch)
{
    struct rt_view_member *v, *tmp;
    HASH_ITER(hh, ch->view, v, tmp)
    {
        HASH_DEL(ch->view, v);
        free(v);
    }
    ch->view_ready = false;
}

static bool view_set(struct rt_channel *ch, bool present, const char *user_id)
{
    struct rt_view_member *v = NULL;
    HASH_FIND_STR(ch->view, user_id, v);
    if (present == (v != NULL))
        return false;
    if (v) {
        HASH_DEL(ch->view, v);
        free(v);
        return true;
    }
    size_t len = strlen(user_id);
    v = rt_xmalloc(sizeof *v + len + 1);
    memcpy(v->user_id, user_id, len + 1);
    HASH_ADD(hh, ch->view, user_id[0], len, v);
    return true;
}

bool rt_channel_view_apply(struct rt_channel *ch, bool added, const char *user_id)
{
    if (!ch->view_ready)
        return true;
    return view_set(ch, added, user_id);
}

bool rt_channel_view_has(const struct rt_channel *ch, const char *user_id)
{
    struct rt_view_member *v = NULL;
    HASH_FIND_STR(ch->view, user_id, v);
    return v != NULL;
}

void rt_channel_view_each(struct rt_channel *ch, void (*fn)(struct rt_channel *, const char *,
                                                            void *),
                          void *ctx)
{
    struct rt_view_member *v, *tmp;
    HASH_ITER(hh, ch->view, v, tmp)
    fn(ch, v->user_id, ctx);
}

bool rt_member_event_parse(const struct rt_frame *f, bool *added, char *user, size_t cap)
{
    json_t *root = json_loadb((const char *)f->payload, f->len, 0, NULL);
    const char *event = json_string_value(json_object_get(root, "event"));
    const char *data = json_string_value(json_object_get(root, "data"));
    bool ok = false;
    if (event && data) {
        *added = strcmp(event, "pusher_internal:member_added") == 0;
        bool removed = strcmp(event, "pusher_internal:member_removed") == 0;
        json_t *d = json_loads(data, 0, NULL);
        const char *id = json_string_value(json_object_get(d, "user_id"));
        if ((*added || removed) && id && strlen(id) < cap) {
            memcpy(user, id, strlen(id) + 1);
            ok = true;
        }
        json_decref(d);
    }
    json_decref(root);
    return ok;
}

void rt_channel_view_load(struct rt_channel *ch, const char *const *ids, size_t n,
                          uint64_t version)
{
    if (version > ch->max_version)
        ch->max_version = version;
    if (ch->view_ready)
        return;
    view_free(ch);
    if (ids) {
        for (size_t i = 0; i < n; i++)
            view_set(ch, true, ids[i]);
    } else {
        const struct rt_member_entry *m, *tmp;
        HASH_ITER(hh, ch->members, m, tmp)
        view_set(ch, true, m->user_id);
    }
    ch->view_ready = true;
    /* Events newer than the list, in version order (as rt_channel_replay_member_events). */
    struct rt_member_ring *r = ch->recent;
    uint64_t floor = ids ? version : UINT64_MAX;
    while (r) {
        unsigned best = MEMBER_RING;
        for (unsigned i = 0; i < r->len; i++) {
            unsigned k = (r->head + i) % MEMBER_RING;
            if (r->e[k].version > floor &&
                (best == MEMBER_RING || r->e[k].version < r->e[best].version))
                best = k;
        }
        if (best == MEMBER_RING)
            break;
        floor = r->e[best].version;
        bool added;
        char user[RT_USER_ID_MAX + 1];
        if (rt_member_event_parse(r->e[best].f, &added, user, sizeof user))
            view_set(ch, added, user);
    }
}
