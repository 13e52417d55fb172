/* Cache channels (PROTOCOL.md §8): the last event published through the HTTP API per channel,
 * kept for RT_CACHE_TTL seconds (30 minutes, Pusher's bound). */
#ifndef RT_CACHE_H
#define RT_CACHE_H

#include <stdint.h>
#include <uthash.h>

#include "frame.h"

#define RT_CACHE_TTL_MS (30u * 60u * 1000u)

struct rt_app;

struct rt_cache_entry {
    char *channel;
    struct rt_frame *frame; /* the encoded event, replayed as-is */
    char *event, *data;     /* for GET /channels/{name}?info=cache */
    uint64_t expires_ms;
    UT_hash_handle hh;
};

/* Stores frame (a reference is taken) as the channel's last event. */
void rt_cache_put(struct rt_app *app, const char *channel, const char *event, const char *data,
                  struct rt_frame *frame);

/* The live entry for channel, or NULL (an expired entry is dropped). */
struct rt_cache_entry *rt_cache_get(struct rt_app *app, const char *channel);

/* Drops expired entries of every app (called from a periodic timer). */
void rt_cache_sweep(struct rt_app *app);

void rt_cache_free_all(struct rt_app *app);

#endif
