/* pusher:subscribe and pusher:unsubscribe (PROTOCOL.md §5-§8). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cache.h"
#include "channel.h"
#include "cluster.h"
#include "conn.h"
#include "handlers.h"
#include "rt_alloc.h"
#include "rt_auth.h"
#include "rt_transition.h"
#include "rt_channel_name.h"
#include "rt_err.h"
#include "registry.h"
#include "rt_user_data.h"
#include "seclog.h"
#include "server.h"
#include "token.h"

unsigned long long rt_subscribe_rate_limited;

/* Every pusher:subscribe and pusher:unsubscribe takes a token from the socket's bucket, valid
 * or not: each may change a channel's count, fire webhooks and reach every subscriber, so an
 * unauthenticated client must not send them at line rate. The burst is the app's subscriptions
 * per connection plus RT_SUBSCRIBE_BURST: pusher-js re-subscribes all of a socket's channels at
 * once after a reconnect and may still change a few right after. Returns false after answering
 * 4301 (the socket stays open). */
static bool take_subscribe_token(struct rt_conn *c, const char *verb, const char *channel)
{
    int rate = rt_srv.cfg.subscribe_rate;
    /* long long: the sum of two ints set by operators must not overflow */
    long long burst =
        (long long)c->app->cfg->max_subscriptions_per_connection + rt_srv.cfg.subscribe_burst;
    if (rt_bucket_take(&c->subscribes, rate, (double)burst, rt_now_ms())) return true;
    rt_subscribe_rate_limited++;
    char err[160];
    snprintf(err, sizeof err,
             "%s rejected due to rate limit (%d subscribe/unsubscribe per second after a burst of "
             "%lld): retry later",
             verb, rate, burst);
    rt_conn_send_error(c, 4301, err, channel);
    return false;
}

/* Subscription failures are answered with pusher:subscription_error on the channel and never
 * close the socket (PROTOCOL.md §5.4): pusher-js hands it to the channel so Echo's .error()
 * fires. */
static void sub_error(struct rt_conn *c, const char *channel, const char *type, const char *error,
                      int status)
{
    size_t len;
    char *text = rt_encode_subscription_error(channel, type, error, status, &len);
    rt_conn_send_text(c, text, len);
}

/* Checks the auth token of a private/presence/encrypted subscription. Returns 0, or -1 with the
 * message for the client in err and its class for the security log in *reason. */
static int check_auth(struct rt_conn *c, const char *channel, const char *auth,
                      struct rt_str channel_data, const char **reason, char *err, size_t err_cap)
{
    struct rt_str key, sig;
    *reason = "malformed";
    if (!auth || rt_auth_split(rt_str_c(auth), &key, &sig) != 0) {
        snprintf(err, err_cap, "Missing or malformed auth: expected \"key:signature\"");
        return -1;
    }
    char keybuf[72];
    if (key.n >= sizeof keybuf) {
        snprintf(err, err_cap, "Invalid key in auth");
        return -1;
    }
    memcpy(keybuf, key.p, key.n);
    keybuf[key.n] = '\0';
    const char *secret = rt_app_secret(c->app, keybuf);
    if (!secret) {
        *reason = "unknown_key";
        snprintf(err, err_cap, "Invalid key in auth: not a key of this app");
        return -1;
    }
    if (!rt_auth_verify_channel(rt_str_c(secret), rt_str_c(c->socket_id), rt_str_c(channel),
                                channel_data, sig)) {
        *reason = "bad_signature";
        snprintf(err, err_cap, "Invalid signature");
        return -1;
    }
    return 0;
}

static void send_succeeded(struct rt_conn *c, struct rt_channel *ch)
{
    char *data = ch->kind.type == RT_CHANNEL_PRESENCE ? rt_channel_presence_json(ch) : NULL;
    size_t len;
    char *text = rt_encode_event("pusher_internal:subscription_succeeded", ch->name,
                                 data ? rt_str_c(data) : RT_STR_LIT("{}"), NULL, &len);
    free(data);
    rt_conn_send_text(c, text, len);
}

static void send_member_added(struct rt_channel *ch, struct rt_conn *joiner, const char *user_id,
                              const char *user_info)
{
    json_t *info = user_info ? json_loads(user_info, 0, NULL) : NULL;
    struct rt_frame *f = rt_frame_json_event(
        "pusher_internal:member_added", ch->name,
        json_pack("{s:s,s:o}", "user_id", user_id, "user_info", info ? info : json_null()));
    if (f) {
        rt_channel_deliver(ch, f, joiner);
        rt_frame_unref(f);
    }
}

static void send_cached(struct rt_conn *c, struct rt_channel *ch)
{
    struct rt_cache_entry *e = rt_cache_get(c->app, ch->name);
    if (e) {
        rt_conn_send(c, e->frame);
        return;
    }
    size_t len;
    char *text = rt_encode_event("pusher:cache_miss", ch->name, RT_STR_LIT("{}"), NULL, &len);
    rt_conn_send_text(c, text, len);
    /* Many clients hitting one empty channel make one webhook per 10 s, not one each. */
    uint64_t now = rt_now_ms();
    if (!ch->last_cache_miss_ms || now - ch->last_cache_miss_ms >= 10000) {
        ch->last_cache_miss_ms = now;
        rt_transition_channel(RT_TRANSITION_CACHE_MISS, c->app, ch->name);
    }
}

/* A subscription waiting for its channel's route (cluster.h), found again by ids. */
struct routed_sub {
    char socket_id[RT_SOCKET_ID_MAX + 1];
    char app_id[RT_APP_ID_MAX + 1];
    char *channel;
};

static void on_routed(void *arg)
{
    struct routed_sub *r = arg;
    struct rt_conn *c = rt_conn_by_socket_id(r->socket_id);
    struct rt_sub *s = NULL;
    if (c && strcmp(c->app->cfg->id, r->app_id) == 0) HASH_FIND_STR(c->subs, r->channel, s);
    if (s && s->awaiting_route) { /* still subscribed */
        s->awaiting_route = false;
        send_succeeded(c, s->channel);
        if (s->channel->kind.cache) send_cached(c, s->channel);
    }
    free(r->channel);
    free(r);
}

/* The node's first subscriber of a channel: its route to the other nodes is subscribed but
 * not confirmed yet. subscription_succeeded promises that events published anywhere from now
 * on arrive, so it waits for Redis's confirmation (or for the connection to drop). Returns
 * false when there is nothing to wait for. */
static bool succeed_when_routed(struct rt_conn *c, struct rt_sub *s)
{
    /* Every later subscriber of the channel on this node: nothing to allocate. */
    if (!rt_cluster_route_unconfirmed(c->app, s->channel->name)) return false;
    struct routed_sub *r = rt_xcalloc(1, sizeof *r);
    snprintf(r->socket_id, sizeof r->socket_id, "%s", c->socket_id);
    snprintf(r->app_id, sizeof r->app_id, "%s", c->app->cfg->id);
    r->channel = rt_xstrdup(s->channel->name);
    if (!rt_cluster_route_pending(c->app, s->channel->name, on_routed, r)) {
        free(r->channel);
        free(r);
        return false;
    }
    s->awaiting_route = true;
    return true;
}

void rt_handle_subscribe(struct rt_conn *c, const struct rt_msg *m)
{
    const char *channel = rt_json_str(m->data_obj, "channel", NULL);
    if (!take_subscribe_token(c, "Subscribe", channel)) return;
    if (!channel) {
        rt_conn_send_error(c, 0, "Invalid pusher:subscribe: data.channel must be a string", NULL);
        return;
    }
    const struct rt_app_config *cfg = c->app->cfg;
    struct rt_str name = rt_str_c(channel);
    if (!rt_channel_name_valid(name, (size_t)cfg->max_channel_name_length)) {
        char err[160];
        snprintf(err, sizeof err,
                 "Invalid channel name: use 1-%d characters of A-Z a-z 0-9 _ - = @ , . ;",
                 cfg->max_channel_name_length);
        sub_error(c, channel, "InvalidChannel", err, 400);
        return;
    }
    struct rt_channel_kind kind = rt_channel_kind_of(name);
    struct rt_sub *existing = NULL;
    HASH_FIND_STR(c->subs, channel, existing);
    if (existing) {
        char err[256];
        snprintf(err, sizeof err, "Existing subscription to channel %s", channel);
        rt_conn_send_error(c, 0, err, channel);
        return;
    }
    if ((int)c->sub_count >= cfg->max_subscriptions_per_connection) {
        char err[128];
        snprintf(err, sizeof err, "Subscription limit reached: at most %d channels per connection",
                 cfg->max_subscriptions_per_connection);
        sub_error(c, channel, "LimitReached", err, 4009);
        return;
    }
    char err[160];
    if (kind.type == RT_CHANNEL_SERVER_TO_USER) {
        struct rt_str uid = rt_server_to_user_id(name);
        if (!c->user_id || strlen(c->user_id) != uid.n || memcmp(c->user_id, uid.p, uid.n)) {
            sub_error(c, channel, "AuthError",
                      "Only a connection signed in as this user may subscribe", 403);
            return;
        }
    }
    const char *auth = rt_json_str(m->data_obj, "auth", NULL);
    json_t *cd_json = json_object_get(m->data_obj, "channel_data");
    if (cd_json && !json_is_string(cd_json) && !json_is_null(cd_json)) {
        sub_error(c, channel, "InvalidChannelData", "channel_data must be a JSON-encoded string",
                  400);
        return;
    }
    struct rt_str channel_data = {NULL, 0};
    if (cd_json && json_is_string(cd_json))
        channel_data = (struct rt_str){json_string_value(cd_json), json_string_length(cd_json)};

    struct rt_member member = {{0}, NULL};
    const char *user_id = NULL, *user_info = NULL;
    /* A channel the connection's token grants needs no auth (docs/security.md): the token
     * was signed by the app's backend for this user. */
    bool granted = rt_channel_needs_auth(kind.type) && rt_token_grants(c, channel);
    if (rt_channel_needs_auth(kind.type) && !granted) {
        const char *reason;
        if (check_auth(c, channel, auth, channel_data, &reason, err, sizeof err) != 0) {
            rt_seclog(c->app->cfg->id, RT_SEC_CHANNEL_AUTH_FAILURE, reason);
            rt_conn_auth_failed(c);
            sub_error(c, channel, "AuthError", err, 401);
            return;
        }
    }
    if (kind.type == RT_CHANNEL_PRESENCE) {
        if (granted) {
            /* The token's user and user_info: channel_data is not signed here, so it is
             * ignored. */
            user_id = c->user_id;
            user_info = c->user_info;
        } else if (channel_data.p) {
            int rc = rt_member_parse(channel_data, (size_t)cfg->max_presence_info_bytes, &member,
                                     err, sizeof err);
            if (rc != 0) {
                sub_error(c, channel,
                          rc == RT_ERR_TOO_LARGE ? "LimitReached" : "InvalidChannelData", err,
                          rc == RT_ERR_TOO_LARGE ? 4009 : 400);
                return;
            }
            user_id = member.user_id;
            user_info = member.user_info;
        } else if (c->user_id) {
            /* No channel_data: the signed-in user is the member (PROTOCOL.md §7). */
            user_id = c->user_id;
            user_info = c->user_info;
        } else {
            sub_error(c, channel, "InvalidChannelData",
                      "Presence channels need channel_data with a user_id", 400);
            return;
        }
    }
    bool first = false;
    struct rt_channel *ch = NULL;
    /* In a cluster the member limit and "first member" are decided by Redis for all nodes. */
    bool clustered = rt_registry_active();
    int rc = rt_channel_subscribe(c->app, c, channel, kind, user_id, user_info,
                                  clustered ? INT_MAX : cfg->max_presence_members, &first, &ch);
    if (rc == RT_SUB_ADDED && clustered && kind.type != RT_CHANNEL_SERVER_TO_USER) {
        struct rt_sub *s = NULL;
        HASH_FIND_STR(c->subs, channel, s);
        if (rt_channel_needs_auth(kind.type)) c->authorized = true;
        if (kind.type == RT_CHANNEL_PRESENCE) {
            /* subscription_succeeded waits for the cluster's member list */
            rt_registry_subscribed(c, s, user_info, cfg->max_presence_members);
        } else {
            rt_registry_subscribed(c, s, NULL, 0);
            if (!succeed_when_routed(c, s)) {
                send_succeeded(c, ch);
                if (kind.cache) send_cached(c, ch);
            }
        }
    } else if (rc == RT_ERR_LIMIT) {
        snprintf(err, sizeof err, "Presence channel is full: at most %d members",
                 cfg->max_presence_members);
        sub_error(c, channel, "LimitReached", err, 4009);
    } else {
        send_succeeded(c, ch);
        if (rt_channel_needs_auth(kind.type)) c->authorized = true;
        if (kind.type == RT_CHANNEL_PRESENCE && rt_registry_clustered()) {
            /* Redis unreachable: a member this node's subscribers already know of (on another
             * node) is not news; the heal after the outage settles the rest (registry.c). */
            bool known = ch->view_ready && rt_channel_view_has(ch, user_id);
            rt_channel_view_load(ch, NULL, 0, 0);
            rt_channel_view_apply(ch, true, user_id);
            first = first && !known;
        }
        if (kind.type == RT_CHANNEL_PRESENCE && first) send_member_added(ch, c, user_id, user_info);
        if (kind.type != RT_CHANNEL_PRESENCE && kind.type != RT_CHANNEL_SERVER_TO_USER)
            rt_channel_count_changed(ch);
        if (kind.cache) send_cached(c, ch);
    }
    rt_member_clear(&member);
}

void rt_handle_presence_joined(struct rt_conn *c, struct rt_sub *s, const char *presence_json,
                               bool full)
{
    struct rt_channel *ch = s->channel;
    s->pending = false;
    if (full) {
        char err[160];
        snprintf(err, sizeof err, "Presence channel is full: at most %d members",
                 c->app->cfg->max_presence_members);
        char name[RT_CHANNEL_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s", ch->name);
        rt_channel_unsubscribe(s); /* frees s, maybe ch */
        sub_error(c, name, "LimitReached", err, 4009);
        return;
    }
    if (!presence_json && rt_registry_clustered())
        rt_channel_view_load(ch, NULL, 0, 0); /* Redis went away mid-join */
    char *local = presence_json ? NULL : rt_channel_presence_json(ch);
    size_t len;
    char *text = rt_encode_event("pusher_internal:subscription_succeeded", ch->name,
                                 rt_str_c(presence_json ? presence_json : local), NULL, &len);
    free(local);
    rt_conn_send_text(c, text, len);
    rt_channel_replay_member_events(s);
    if (ch->kind.cache) send_cached(c, ch);
}

void rt_handle_unsubscribe(struct rt_conn *c, const struct rt_msg *m)
{
    const char *channel = rt_json_str(m->data_obj, "channel", NULL);
    if (!take_subscribe_token(c, "Unsubscribe", channel)) return;
    if (!channel) {
        rt_conn_send_error(c, 0, "Invalid pusher:unsubscribe: data.channel must be a string", NULL);
        return;
    }
    struct rt_sub *s = NULL;
    HASH_FIND_STR(c->subs, channel, s);
    if (s) rt_channel_unsubscribe(s);
}
