/* The in-memory app registry: every app's configuration and active keys (loaded from
 * PostgreSQL), looked up by id or key in O(1), plus each app's live state. */
#ifndef RT_APP_H
#define RT_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <uthash.h>

#include "rt_ratelimit.h"
#include "rt_secret.h"

#define RT_APP_ID_MAX 24
#define RT_APP_KEY_MAX 64

struct rt_app_key {
    char key[RT_APP_KEY_MAX + 1];
    char secret[RT_SECRET_MAX + 1];
};

struct rt_webhook {
    long long id; /* app_webhooks.id: names the endpoint in queues and status */
    char *url;
    char **event_types; /* empty = all kinds */
    size_t n_event_types;
    int batch_window_ms; /* events within this long of the first go in one request */
    int batch_max;       /* events per request at most */
};

/* Configuration as stored in the apps table; replaced as a whole on reload. */
struct rt_app_config {
    char id[RT_APP_ID_MAX + 1];
    char *name;
    bool enabled, client_events, user_auth, subscription_count, require_tls;
    bool authorized_connections; /* sign in or join a private channel within 30 s, or 4009 */
    char **allowed_origins;
    size_t n_allowed_origins;
    /* connection tokens (token.h): the algorithms accepted ("HS256", ...; none = no tokens),
     * the PEM public key for RS and ES algorithms, and whether a token is required */
    char **jwt_algorithms;
    size_t n_jwt_algorithms;
    char *jwt_public_key;
    bool require_token;
    int max_connections;
    int max_payload_bytes;
    int max_channel_name_length;
    int max_event_name_length;
    int max_channels_per_trigger;
    int max_batch_size;
    int max_presence_members;
    int max_presence_info_bytes;
    int max_subscriptions_per_connection;
    int client_events_per_second;
    int backend_events_per_second;
    int read_requests_per_second;
    struct rt_app_key *keys; /* active keys only */
    size_t n_keys;
    struct rt_webhook *webhooks;
    size_t n_webhooks;
    char **kicked_keys; /* revoked with --disconnect: their live connections are closed */
    size_t n_kicked_keys;
    /* Redis inlets (ingest.h, docs/ingest.md): the key prefix of the app's Laravel `redis`
     * broadcaster (NULL = none), whether the stream rt:ingest:{id} is read, and the length it
     * is trimmed to. */
    char *ingest_redis_prefix;
    bool ingest_stream;
    int ingest_stream_max_length;
};

struct rt_channel;
struct rt_user;
struct rt_conn;
struct rt_cache_entry;

struct rt_app {
    struct rt_app_config *cfg;
    /* live state, owned by the app and torn down with it */
    struct rt_channel *channels;     /* uthash by name; empty channels are freed at once */
    struct rt_user *users;           /* uthash by user id: signed-in sockets */
    struct rt_cache_entry *cache;    /* uthash by channel name: last event of cache channels */
    struct rt_conn *conns;           /* utlist (conn->app_next/app_prev) */
    size_t conn_count;
    size_t cluster_conns_others; /* cluster mode: connections on the other nodes (≤ 1 s old) */
    struct rt_bucket backend_bucket, read_bucket;
    unsigned long long messages_in, messages_out, rest_calls; /* counters for /metrics */
    UT_hash_handle hh;
};

/* Returns the app with that id, or NULL. */
struct rt_app *rt_apps_by_id(const char *id);

/* Returns the app owning an active key (and the key entry in *key_out), or NULL. */
struct rt_app *rt_apps_by_key(const char *key, const struct rt_app_key **key_out);

/* Secret of an active key of app, or NULL when key is not one of them. */
const char *rt_app_secret(const struct rt_app *app, const char *key);

/* Installs cfg (ownership passes) as the configuration of app cfg->id, creating the app when
 * new. Live connections of an existing app stay up; when the new config disables the app they
 * are closed with 4003. */
void rt_apps_put(struct rt_app_config *cfg);

/* Removes app id (deleted in the database): closes its connections with 4001 and frees it
 * once they are gone. Unknown id: no-op. */
void rt_apps_remove(const char *id);

/* Calls fn for every app. fn must not add or remove apps. */
void rt_apps_each(void (*fn)(struct rt_app *app, void *ctx), void *ctx);

/* Replaces the whole registry with cfgs[0..n) (after a reconnect to PostgreSQL): apps not in
 * the list are removed. Ownership of each cfg passes. */
void rt_apps_replace_all(struct rt_app_config **cfgs, size_t n);

size_t rt_apps_count(void);

void rt_app_config_free(struct rt_app_config *cfg);

/* Frees every app (at shutdown, after all connections are closed). */
void rt_apps_free_all(void);

#endif
