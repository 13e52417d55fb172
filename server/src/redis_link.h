/* One connection to one Redis server on the libuv loop, for Redis Cluster mode (see
 * redis_cluster.h): libuv does the socket, hiredis's reply reader the protocol. hiredis 0.14's
 * async client cannot take sharded pub/sub (it asserts on an "smessage" it did not expect), so
 * the links of a cluster are ours.
 *
 * A link is either a command link (every reply goes to the callback of its command, in order)
 * or a push link (every reply goes to on_push: subscribe confirmations and messages). Commands
 * may be sent while it connects; they go out after AUTH once it has. */
#ifndef RT_REDIS_LINK_H
#define RT_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster.h"

struct redisReply;
struct rt_redis_link;

struct rt_redis_link_ops {
    void (*on_ready)(struct rt_redis_link *l);                      /* connected */
    void (*on_push)(struct rt_redis_link *l, struct redisReply *r); /* push links only */
    /* The link is gone (refused, closed by Redis or by rt_redis_link_close): every command
     * still waiting got its callback with NULL first. The link is freed after this returns. */
    void (*on_close)(struct rt_redis_link *l, const char *why);
};

/* Starts connecting to host (a name is resolved on libuv's thread pool) and port. data is
 * the owner's, returned by rt_redis_link_data. NULL (and no on_close) only when the lookup
 * cannot even start. */
struct rt_redis_link *rt_redis_link_open(uv_loop_t *loop, const char *host, int port,
                                         const char *password, bool push,
                                         const struct rt_redis_link_ops *ops, void *data);

/* Sends one command already in the protocol's format (cmd is copied); cb (may be NULL) gets
 * the reply, or NULL when the link closes first. Push links take NULL callbacks only.
 * Returns -1 (cb not called) when the link is closing. */
int rt_redis_link_send(struct rt_redis_link *l, const char *cmd, size_t len,
                       rt_cluster_reply_fn *cb, void *privdata);

/* Formats argv (binary-safe when lens is given, else C strings) into *out (free() it);
 * returns its length, or -1. */
int rt_redis_link_format(char **out, size_t argc, const char **argv, const size_t *lens);

/* Formats argv (binary-safe when lens is given, else C strings) and sends it. */
int rt_redis_link_command(struct rt_redis_link *l, rt_cluster_reply_fn *cb, void *privdata,
                          size_t argc, const char **argv, const size_t *lens);

/* Closes the link (on_close follows, from within this call). Safe to call more than once and
 * from any callback of the link. */
void rt_redis_link_close(struct rt_redis_link *l, const char *why);

bool rt_redis_link_ready(const struct rt_redis_link *l);
/* True while a command link has commands waiting for their replies. */
bool rt_redis_link_waiting(const struct rt_redis_link *l);
/* Bytes of commands not yet taken by the socket. */
size_t rt_redis_link_pending(const struct rt_redis_link *l);
/* uv_now() of the last time the socket took output, or of the oldest output still waiting. */
uint64_t rt_redis_link_write_progress(const struct rt_redis_link *l);
void *rt_redis_link_data(const struct rt_redis_link *l);
const char *rt_redis_link_host(const struct rt_redis_link *l);
int rt_redis_link_port(const struct rt_redis_link *l);

#endif
