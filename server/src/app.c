/* The in-memory app registry: apps by id, active keys by key. */
#include "app.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "conn.h"
#include "log.h"
#include "token.h"
#include "rt_alloc.h"

struct key_entry {
    char key[RT_APP_KEY_MAX + 1];
    struct rt_app *app;
    const struct rt_app_key *entry;
    UT_hash_handle hh;
};

static struct rt_app *apps_by_id;
static struct key_entry *keys_by_key;

struct rt_app *rt_apps_by_id(const char *id)
{
    struct rt_app *app = NULL;
    HASH_FIND_STR(apps_by_id, id, app);
    return app;
}

struct rt_app *rt_apps_by_key(const char *key, const struct rt_app_key **key_out)
{
    struct key_entry *e = NULL;
    HASH_FIND_STR(keys_by_key, key, e);
    if (!e)
        return NULL;
    if (key_out)
        *key_out = e->entry;
    return e->app;
}

const char *rt_app_secret(const struct rt_app *app, const char *key)
{
    for (size_t i = 0; i < app->cfg->n_keys; i++)
        if (strcmp(app->cfg->keys[i].key, key) == 0)
            return app->cfg->keys[i].secret;
    return NULL;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rt_app_config_free(struct rt_app_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->name);
    free_strv(cfg->allowed_origins, cfg->n_allowed_origins);
    free_strv(cfg->jwt_algorithms, cfg->n_jwt_algorithms);
    free(cfg->jwt_public_key);
    free(cfg->ingest_redis_prefix);
    free_strv(cfg->kicked_keys, cfg->n_kicked_keys);
    if (cfg->keys) {
        sodium_memzero(cfg->keys, cfg->n_keys * sizeof *cfg->keys);
        free(cfg->keys);
    }
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        free(cfg->webhooks[i].url);
        free_strv(cfg->webhooks[i].event_types, cfg->webhooks[i].n_event_types);
    }
    free(cfg->webhooks);
    free(cfg);
}

static void unindex_keys(struct rt_app *app)
{
    for (size_t i = 0; i < app->cfg->n_keys; i++) {
        struct key_entry *e = NULL;
        HASH_FIND_STR(keys_by_key, app->cfg->keys[i].key, e);
        if (e && e->app == app) {
            HASH_DEL(keys_by_key, e);
            free(e);
        }
    }
}

static void index_keys(struct rt_app *app)
{
    for (size_t i = 0; i < app->cfg->n_keys; i++) {
        struct key_entry *e = NULL;
        HASH_FIND_STR(keys_by_key, app->cfg->keys[i].key, e);
        if (e) {
            /* A key belongs to one app (primary key in the database); a stale entry from a
             * reload in flight is replaced. */
            e->app = app;
            e->entry = &app->cfg->keys[i];
            continue;
        }
        e = rt_xcalloc(1, sizeof *e);
        memcpy(e->key, app->cfg->keys[i].key, sizeof e->key);
        e->app = app;
        e->entry = &app->cfg->keys[i];
        HASH_ADD_STR(keys_by_key, key, e);
    }
}

/* Closes every connection of app with code; they detach themselves in LWS_CALLBACK_CLOSED. */
static void close_all(struct rt_app *app, int code, const char *message)
{
    for (struct rt_conn *c = app->conns; c; c = c->app_next)
        rt_conn_fail(c, code, message);
}

/* Connections that authenticated with a key that is no longer active keep working: a key
 * revocation stops new connections and REST calls; `rtadmin key revoke --disconnect` asks
 * for more. Their stored key is only informative. */
void rt_apps_put(struct rt_app_config *cfg)
{
    struct rt_app *app = rt_apps_by_id(cfg->id);
    if (!app) {
        app = rt_xcalloc(1, sizeof *app);
        app->cfg = cfg;
        HASH_ADD_STR(apps_by_id, cfg->id, app);
        index_keys(app);
        return;
    }
    bool was_enabled = app->cfg->enabled;
    unindex_keys(app);
    /* The hash key lives in cfg->id: re-insert under the new config's copy. */
    HASH_DEL(apps_by_id, app);
    rt_app_config_free(app->cfg);
    app->cfg = cfg;
    HASH_ADD_STR(apps_by_id, cfg->id, app);
    index_keys(app);
    if (was_enabled && !cfg->enabled) {
        close_all(app, 4003, "Application disabled");
        return;
    }
    for (size_t i = 0; i < cfg->n_kicked_keys; i++)
        for (struct rt_conn *c = app->conns; c; c = c->app_next)
            if (strcmp(c->key, cfg->kicked_keys[i]) == 0 ||
                rt_token_signed_by(c, cfg->kicked_keys[i]))
                rt_conn_fail(c, 4001, "Application key revoked");
}

void rt_apps_remove(const char *id)
{
    struct rt_app *app = rt_apps_by_id(id);
    if (!app)
        return;
    close_all(app, 4001, "Application does not exist");
    unindex_keys(app);
    /* Keys are gone and the app is disabled so nothing new attaches; the app struct itself
     * stays until its connections are closed (they point at it), then rt_apps_free_all or a
     * later put reuses it. */
    app->cfg->enabled = false;
    sodium_memzero(app->cfg->keys, app->cfg->n_keys * sizeof *app->cfg->keys);
    app->cfg->n_keys = 0;
}

void rt_apps_each(void (*fn)(struct rt_app *app, void *ctx), void *ctx)
{
    struct rt_app *app, *tmp;
    HASH_ITER(hh, apps_by_id, app, tmp)
    fn(app, ctx);
}

void rt_apps_replace_all(struct rt_app_config **cfgs, size_t n)
{
    struct rt_app *app, *tmp;
    HASH_ITER(hh, apps_by_id, app, tmp)
    {
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++)
            keep = strcmp(cfgs[i]->id, app->cfg->id) == 0;
        if (!keep && app->cfg->n_keys > 0)
            rt_apps_remove(app->cfg->id);
    }
    for (size_t i = 0; i < n; i++)
        rt_apps_put(cfgs[i]);
}

size_t rt_apps_count(void)
{
    return HASH_COUNT(apps_by_id);
}

void rt_apps_free_all(void)
{
    struct rt_app *app, *tmp;
    HASH_ITER(hh, apps_by_id, app, tmp)
    {
        unindex_keys(app);
        rt_cache_free_all(app);
        HASH_DEL(apps_by_id, app);
        rt_app_config_free(app->cfg);
        free(app);
    }
    struct key_entry *e, *etmp;
    HASH_ITER(hh, keys_by_key, e, etmp)
    {
        HASH_DEL(keys_by_key, e);
        free(e);
    }
}
