/* Redis Cluster mode of the bus (RT_REDIS_CLUSTER=1): the slot map (CLUSTER SLOTS), one
 * command link and one sharded-subscriber link per master (redis_link.h), commands routed by
 * their key's slot with MOVED/ASK followed, sharded pub/sub (SPUBLISH/SSUBSCRIBE) for routes,
 * and a new map, new links and every subscription again when a master fails over.
 *
 * "Up" means every slot has a master this node is connected to on both links. Any link of a
 * master failing takes the node down (as losing the one Redis does in standalone mode): the
 * owner then treats every subscription as gone and, once up again, subscribes anew and
 * re-sends its state, which also heals writes a promoted replica had not yet received. */
#ifndef RT_REDIS_CLUSTER_H
#define RT_REDIS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster.h"
#include "rt_redis_url.h"

struct rt_redis_cluster_ops {
    void (*on_up)(void);
    /* Down from up, or (again, while down) why the cluster cannot be reached yet. */
    void (*on_down)(const char *why);
    void (*on_subscribed)(const char *channel, size_t len);   /* SSUBSCRIBE confirmed */
    void (*on_unsubscribed)(const char *channel, size_t len); /* SUNSUBSCRIBE, asked or not */
    void (*on_message)(const char *payload, size_t len);      /* smessage */
    void (*on_pmessage)(const char *pattern, size_t plen, const char *channel, size_t clen,
                        const char *payload, size_t len);
};

struct rt_redis_cluster_limits {
    size_t max_output;         /* bytes waiting on one link before it is dropped */
    uint64_t write_timeout_ms; /* output waiting this long without progress: dropped */
    uint64_t reply_timeout_ms; /* a PING unanswered this long: dropped */
};

struct rt_redis_cluster_stats {
    unsigned long long output_overflows, write_timeouts, reply_timeouts, redirects, map_loads;
    size_t masters;
};

/* seeds[0..n) are tried in turn for the slot map. Connecting starts at once. */
void rt_redis_cluster_start(uv_loop_t *loop, const struct rt_redis_url *seeds, size_t n,
                            const struct rt_redis_cluster_limits *limits,
                            const struct rt_redis_cluster_ops *ops);
/* Lets the commands waiting for replies finish (at most grace_ms), then closes every link and
 * timer of this module. */
void rt_redis_cluster_stop(uint64_t grace_ms);
bool rt_redis_cluster_up(void);

/* Runs argv on the master of its key's slot (rt_command_key_index; keyless commands go to any
 * master, SCRIPT to every master: an EVALSHA may go to any of them). cb as for rt_cluster_command.
 * -1 (cb not called) when down or over the output cap. */
int rt_redis_cluster_command(rt_cluster_reply_fn *cb, void *privdata, size_t argc,
                             const char **argv, const size_t *lens);
int rt_redis_cluster_spublish(const char *channel, const char *msg, size_t len);
int rt_redis_cluster_ssubscribe(const char *channel);
int rt_redis_cluster_sunsubscribe(const char *channel);
/* Classic pattern subscriptions (a cluster delivers PUBLISH to every node), on one master's
 * subscriber link. */
int rt_redis_cluster_psubscribe(const char *pattern, bool on);

/* Once a second: probes, write timeouts. */
void rt_redis_cluster_sweep(uint64_t now);
/* Something outside saw the map go stale (a subscription moved): down, new map, up again. */
void rt_redis_cluster_reset(const char *why);
void rt_redis_cluster_stats(struct rt_redis_cluster_stats *out);

#endif
