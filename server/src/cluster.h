/* Multi-node fan-out over Redis pub/sub (RT_REDIS_URL). Every node publishes what it delivers
 * locally to the channel's Redis channel (its route) and delivers what the other nodes publish
 * on the routes it has local subscribers for; a node that loses Redis keeps serving its own
 * clients and reconnects with back-off. */
#ifndef RT_CLUSTER_H
#define RT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"
#include "rt_channel_name.h"

struct rt_app;

/* Parses url (rt_redis_url_parse) and starts connecting; each attempt resolves the host on
 * libuv's thread pool first. Returns 0, or -1 with a message in err for a bad URL. */
int rt_cluster_start(uv_loop_t *loop, const char *url, char *err, size_t err_cap);
void rt_cluster_stop(void);
bool rt_cluster_connected(void);

/* Sends an event frame to the other nodes (no-op when standalone or disconnected). cache
 * marks an HTTP-API event on a cache channel, which the other nodes also store. */
void rt_cluster_publish(struct rt_app *app, const char *channel, const struct rt_frame *f,
                        const char *except_socket_id, bool cache);

/* Tells the other nodes with subscribers on channel that its subscription count changed, so
 * that they read it (rt_channel_count_refresh). */
void rt_cluster_publish_count_changed(struct rt_app *app, const char *channel);

/* Asks the other nodes to close user_id's connections (terminate_connections). */
void rt_cluster_terminate_user(struct rt_app *app, const char *user_id);

/* Sends a presence member event (decided cluster-wide, version from the registry) to the
 * other nodes. */
void rt_cluster_publish_member(struct rt_app *app, const char *channel, const char *except,
                               uint64_t version, const struct rt_frame *f);

/* Tells the other nodes a user came online or went offline cluster-wide (what: "online" or
 * "offline"), for their watchlists. */
void rt_cluster_publish_watchlist(struct rt_app *app, const char *user_id, const char *what);

/* "rt:c:" + app id + ":" + channel name + NUL */
#define RT_CLUSTER_ROUTE_MAX (5 + 24 + 1 + RT_CHANNEL_NAME_MAX + 1)

/* Writes the Redis channel carrying app_id's channel ("rt:c:APP:CHANNEL") into out; returns
 * its length, or 0 when it does not fit in cap. */
size_t rt_cluster_route(const char *app_id, const char *channel, char *out, size_t cap);

/* A local channel (or "#server-to-user-ID" for a signed-in user) got its first (add) or lost
 * its last (!add) local subscriber: the node subscribes to its route at once and unsubscribes
 * some seconds after the last one left. Counted: every add needs one remove. No-op when
 * standalone. */
void rt_cluster_interest(struct rt_app *app, const char *channel, bool add);

/* True when the channel's route is subscribed but Redis has not confirmed it yet: fn(arg) is
 * then called once it has (or once the connection drops). False (fn not called) when
 * messages published from now on already reach this node, or cannot (no Redis). */
bool rt_cluster_route_pending(struct rt_app *app, const char *channel, void (*fn)(void *arg),
                              void *arg);

/* The same question without waiting: true exactly when rt_cluster_route_pending would wait. */
bool rt_cluster_route_unconfirmed(struct rt_app *app, const char *channel);

struct rt_cluster_stats {
    unsigned long long messages_in;      /* received from Redis */
    unsigned long long messages_out;     /* published to Redis */
    size_t subscribed;                   /* routes Redis confirmed */
    size_t routes;                       /* routes wanted or lingering */
    unsigned long long output_overflows; /* connections dropped over RT_REDIS_MAX_OUTPUT_KB */
    unsigned long long write_timeouts;   /* ... and for RT_REDIS_WRITE_TIMEOUT */
    unsigned long long reply_timeouts;   /* ... and for RT_REDIS_REPLY_TIMEOUT */
    /* Redis Cluster mode (0 otherwise): */
    size_t masters;               /* masters in the slot map */
    unsigned long long redirects; /* MOVED/ASK/TRYAGAIN answers followed */
    unsigned long long map_loads; /* slot maps read (the first, then after changes) */
};
void rt_cluster_stats(struct rt_cluster_stats *out);

struct redisAsyncContext;
typedef void rt_cluster_reply_fn(struct redisAsyncContext *ac, void *reply, void *privdata);

/* Runs one Redis command (argv[0..argc), binary-safe) on the command connection; cb (may be
 * NULL) gets the reply, or NULL when the connection drops first. Returns -1 (cb not called)
 * when Redis is not connected. */
int rt_cluster_command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv);

/* ---- pattern subscriptions (the Laravel inlet of ingest.c) ----
 * PSUBSCRIBE on the subscriber connection. Subscriptions end with that connection: a caller
 * that sees rt_cluster_sub_generation() change knows its patterns are gone and subscribes
 * again (cluster.c does not re-issue them, so that only the caller decides whether it still
 * should). */
typedef void rt_cluster_pmessage_fn(const char *pattern, const char *channel, const char *payload,
                                    size_t len);

/* The one handler of every pmessage (set once, before subscribing). */
void rt_cluster_set_pmessage_handler(rt_cluster_pmessage_fn *fn);

/* Counts subscriber connections established: changes when the previous one (with its
 * subscriptions) is gone. 0 = never connected. */
unsigned rt_cluster_sub_generation(void);

/* PSUBSCRIBE / PUNSUBSCRIBE pattern. Returns -1 when the subscriber connection is not up. */
int rt_cluster_psubscribe(const char *pattern);
int rt_cluster_punsubscribe(const char *pattern);

#endif
