/* Cache channels: last event per channel with expiry. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "conn.h"
#include "rt_alloc.h"

static void entry_free(struct rt_app *app, struct rt_cache_entry *e)
{
    HASH_DEL(app->cache, e);
    rt_frame_unref(e->frame);
    free(e->channel);
    free(e->event);
    free(e->data);
    free(e);
}

void rt_cache_put(struct rt_app *app, const char *channel, const char *event, const char *data,
                  struct rt_frame *frame)
{
    struct rt_cache_entry *e = NULL;
    HASH_FIND_STR(app->cache, channel, e);
    char *ev = rt_xstrdup(event), *d = rt_xstrdup(data);
    if (!e) {
        e = rt_xcalloc(1, sizeof *e);
        e->channel = rt_xstrdup(channel);
        HASH_ADD_KEYPTR(hh, app->cache, e->channel, strlen(e->channel), e);
    } else {
        rt_frame_unref(e->frame);
        free(e->event);
        free(e->data);
    }
    e->frame = rt_frame_ref(frame);
    e->event = ev;
    e->data = d;
    e->expires_ms = rt_now_ms() + RT_CACHE_TTL_MS;
}

struct rt_cache_entry *rt_cache_get(struct rt_app *app, const char *channel)
{
    struct rt_cache_entry *e = NULL;
    HASH_FIND_STR(app->cache, channel, e);
    if (e && e->expires_ms <= rt_now_ms()) {
        entry_free(app, e);
        return NULL;
    }
    return e;
}

void rt_cache_sweep(struct rt_app *app)
{
    uint64_t now = rt_now_ms();
    struct rt_cache_entry *e, *tmp;
    HASH_ITER(hh, app->cache, e, tmp)
    if (e->expires_ms <= now)
        entry_free(app, e);
}

void rt_cache_free_all(struct rt_app *app)
{
    struct rt_cache_entry *e, *tmp;
    HASH_ITER(hh, app->cache, e, tmp)
    entry_free(app, e);
}
