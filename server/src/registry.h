/* Who is subscribed where, cluster-wide (RT_REDIS_URL): subscription counts, presence members,
 * signed-in users and connection totals kept in Redis by atomic Lua scripts, so that the
 * decisions "first member in the cluster", "last socket of a user", "channel occupied" are
 * taken once for the whole service. Nodes heartbeat; a dead node's sockets are reaped by a
 * survivor; after a Redis outage every node re-publishes its state. Standalone (or while
 * Redis is unreachable) the local state of channel.c and user.c is the truth. */
#ifndef RT_REGISTRY_H
#define RT_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_app;
struct rt_channel;
struct rt_conn;
struct rt_frame;
struct rt_sub;
struct json_t;
struct redisAsyncContext;

/* True when the node runs with Redis and Redis is reachable now: cluster-wide answers. */
bool rt_registry_active(void);

/* True when the node is configured for a cluster (RT_REDIS_URL), reachable or not. */
bool rt_registry_clustered(void);

/* Called by cluster.c when its command connection is up (again): claims the node id and
 * re-publishes this node's state. */
void rt_registry_on_connected(void);

/* Runs one Redis command like rt_cluster_command; an "EVAL" of one of a fixed set of script
 * texts (static storage, at most 32 distinct) is sent as EVALSHA, after a SCRIPT LOAD once per
 * connection. */
typedef void rt_cluster_reply_fn(struct redisAsyncContext *ac, void *reply, void *privdata);
int rt_registry_command(rt_cluster_reply_fn *cb, void *privdata, size_t argc, const char **argv);

/* Starts the heartbeat, the reaper and the connection-total refresh (cluster mode). */
void rt_registry_start(void);
void rt_registry_stop(void);

/* ---- channels ---- */

/* A socket subscribed (sub is already in the local index). For presence channels in cluster
 * mode the subscription is pending until Redis answers: rt_handle_presence_joined (handlers.h)
 * then sends subscription_succeeded with the cluster's member list, or LimitReached. */
void rt_registry_subscribed(struct rt_conn *c, struct rt_sub *s, const char *user_info,
                            int max_members);

/* A socket left a channel (or closed). Safe after the connection is gone: only ids are kept. */
void rt_registry_unsubscribed(struct rt_app *app, const char *channel, const char *socket_id,
                              bool presence);

/* A member event that reached this node (from Redis, or decided here): delivers it to the
 * local subscribers whose member list is older than version, and keeps it for joins whose
 * member list is still on its way. except: the socket that caused it (not told). */
void rt_registry_member_event(struct rt_app *app, const char *channel, uint64_t version,
                              struct rt_frame *f, const char *except);

/* Reads the channel's total from Redis and delivers it to this node's subscribers
 * (rt_channel_deliver_count). announce (a change of this node's): also the subscription_count
 * webhook, and the other nodes are told to read the total themselves (rt_channel_count_refresh).
 * A total is never carried between nodes: the replies to one node's reads arrive in the order
 * Redis ran them, so the last total each node delivers is the latest, whatever order the
 * messages between nodes took. */
void rt_registry_read_count(struct rt_app *app, const char *channel, bool announce);

/* ---- users (watchlists) ---- */

void rt_registry_user_online(struct rt_conn *c);

/* Sends c which of its watched users are online anywhere in the cluster. */
void rt_registry_watchlist_state(struct rt_conn *c);
void rt_registry_user_offline(struct rt_app *app, const char *user_id, const char *socket_id);

/* ---- limits ---- */

/* Connections of app on the whole cluster as last refreshed (≤ 1 s old), counting this node's
 * live number. Standalone: the local count. */
size_t rt_registry_app_connections(const struct rt_app *app);

/* How many nodes share the cluster's rate limits (live nodes, at least 1). */
unsigned rt_registry_nodes(void);

/* ---- REST queries ---- */

/* Answers arrive as JSON objects (owned by the callee) through done(ctx, json); json is NULL
 * when Redis could not answer. */
typedef void (*rt_registry_done)(uint64_t ctx, struct json_t *result);

/* {"channels":{name:{"subscription_count":N,"user_count":M}}} for every occupied channel. */
void rt_registry_query_channels(struct rt_app *app, uint64_t ctx, rt_registry_done done);
/* {name:{"subscription_count":N,"user_count":M}} for each name of the JSON array names
 * (borrowed); user_count only for presence channels. */
void rt_registry_query_counts(struct rt_app *app, struct json_t *names, uint64_t ctx,
                              rt_registry_done done);
/* {"users":["id",...]} */
void rt_registry_query_users(struct rt_app *app, const char *channel, uint64_t ctx,
                             rt_registry_done done);

#endif
