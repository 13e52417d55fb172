/* PostgreSQL app store: initial load, LISTEN rt_app_changed, async reloads, reconnects. */
#include "store.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "rt_err.h"
#include "server.h"

/* One row per app: the app as JSON, its active keys, its webhooks. $1 NULL = every app. */
static const char APPS_SQL[] =
    "SELECT row_to_json(a)::text,"
    " coalesce((SELECT json_agg(json_build_object('key', k.key, 'secret_enc',"
    "   encode(k.secret_enc, 'base64')) ORDER BY k.created_at) FROM app_keys k"
    "   WHERE k.app_id = a.id AND k.status = 'active'), '[]')::text,"
    " coalesce((SELECT json_agg(json_build_object('url', w.url, 'event_types', w.event_types)"
    "   ORDER BY w.id) FROM app_webhooks w WHERE w.app_id = a.id), '[]')::text,"
    " coalesce((SELECT json_agg(k.key) FROM app_keys k WHERE k.app_id = a.id"
    "   AND k.status = 'revoked' AND k.disconnect_on_revoke), '[]')::text"
    " FROM apps a WHERE $1::text IS NULL OR a.id = $1";

static int get_int(json_t *o, const char *k, int dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static bool get_bool(json_t *o, const char *k, bool dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static char **get_strv(json_t *arr, size_t *n)
{
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return NULL;
    char **v = calloc(json_array_size(arr), sizeof *v);
    if (!v)
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && (v[*n] = strdup(json_string_value(e))))
            (*n)++;
    }
    return v;
}

/* Builds an app config from one result row. Returns NULL and writes err on a key that the
 * master key cannot open (wrong RT_MASTER_KEY) or malformed data. */
static struct rt_app_config *config_from_row(const char *app_json, const char *keys_json,
                                             const char *hooks_json, const char *kicked_json,
                                             char *err, size_t err_cap)
{
    json_t *a = json_loads(app_json, 0, NULL), *keys = json_loads(keys_json, 0, NULL),
           *hooks = json_loads(hooks_json, 0, NULL), *kicked = json_loads(kicked_json, 0, NULL);
    struct rt_app_config *cfg = calloc(1, sizeof *cfg);
    if (!a || !keys || !hooks || !cfg) {
        snprintf(err, err_cap, "malformed app row");
        goto fail;
    }
    snprintf(cfg->id, sizeof cfg->id, "%s", json_string_value(json_object_get(a, "id")));
    const char *name = json_string_value(json_object_get(a, "name"));
    cfg->name = strdup(name ? name : "");
    cfg->enabled = get_bool(a, "enabled", true);
    cfg->client_events = get_bool(a, "client_events", false);
    cfg->user_auth = get_bool(a, "user_auth", false);
    cfg->subscription_count = get_bool(a, "subscription_count", false);
    cfg->require_tls = get_bool(a, "require_tls", false);
    cfg->authorized_connections = get_bool(a, "authorized_connections", false);
    cfg->allowed_origins = get_strv(json_object_get(a, "allowed_origins"), &cfg->n_allowed_origins);
    cfg->max_connections = get_int(a, "max_connections", 10000);
    cfg->max_payload_bytes = get_int(a, "max_payload_kb", 10) * 1024;
    cfg->max_channel_name_length = get_int(a, "max_channel_name_length", 200);
    cfg->max_event_name_length = get_int(a, "max_event_name_length", 200);
    cfg->max_channels_per_trigger = get_int(a, "max_channels_per_trigger", 100);
    cfg->max_batch_size = get_int(a, "max_batch_size", 10);
    cfg->max_presence_members = get_int(a, "max_presence_members", 100);
    cfg->max_presence_info_bytes = get_int(a, "max_presence_info_bytes", 1024);
    cfg->max_subscriptions_per_connection = get_int(a, "max_subscriptions_per_connection", 100);
    cfg->client_events_per_second = get_int(a, "client_events_per_second", 10);
    cfg->backend_events_per_second = get_int(a, "backend_events_per_second", 1000);
    cfg->read_requests_per_second = get_int(a, "read_requests_per_second", 100);

    cfg->keys = calloc(json_array_size(keys) + 1, sizeof *cfg->keys);
    if (!cfg->keys)
        goto fail;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *key = json_string_value(json_object_get(k, "key"));
        const char *b64 = json_string_value(json_object_get(k, "secret_enc"));
        uint8_t sealed[512];
        size_t sealed_len;
        if (!key || !b64 || strlen(key) > RT_APP_KEY_MAX ||
            sodium_base642bin(sealed, sizeof sealed, b64, strlen(b64), "\n", &sealed_len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0) {
            snprintf(err, err_cap, "malformed key row for app %s", cfg->id);
            goto fail;
        }
        struct rt_app_key *dst = &cfg->keys[cfg->n_keys];
        if (rt_secret_open(rt_srv.cfg.master_key, key, sealed, sealed_len, dst->secret) != 0) {
            snprintf(err, err_cap,
                     "RT_MASTER_KEY cannot decrypt the secret of key %s of app %s "
                     "(wrong master key?)",
                     key, cfg->id);
            goto fail;
        }
        snprintf(dst->key, sizeof dst->key, "%s", key);
        cfg->n_keys++;
    }
    cfg->kicked_keys = get_strv(kicked, &cfg->n_kicked_keys);
    cfg->webhooks = calloc(json_array_size(hooks) + 1, sizeof *cfg->webhooks);
    if (!cfg->webhooks)
        goto fail;
    json_t *h;
    json_array_foreach(hooks, i, h)
    {
        const char *url = json_string_value(json_object_get(h, "url"));
        if (!url)
            continue;
        struct rt_webhook *w = &cfg->webhooks[cfg->n_webhooks++];
        w->url = strdup(url);
        w->event_types = get_strv(json_object_get(h, "event_types"), &w->n_event_types);
    }
    json_decref(a);
    json_decref(keys);
    json_decref(hooks);
    json_decref(kicked);
    return cfg;
fail:
    json_decref(a);
    json_decref(keys);
    json_decref(hooks);
    json_decref(kicked);
    rt_app_config_free(cfg);
    return NULL;
}

/* Turns a result into configs; returns the count or -1 (err written). *out is malloc'd. */
static int configs_from_result(PGresult *res, struct rt_app_config ***out, char *err,
                               size_t err_cap)
{
    int n = PQntuples(res);
    struct rt_app_config **cfgs = calloc((size_t)n + 1, sizeof *cfgs);
    if (!cfgs)
        return -1;
    int count = 0;
    for (int i = 0; i < n; i++) {
        struct rt_app_config *cfg =
            config_from_row(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                            PQgetvalue(res, i, 3), err, err_cap);
        if (!cfg) {
            for (int j = 0; j < count; j++)
                rt_app_config_free(cfgs[j]);
            free(cfgs);
            return -1;
        }
        cfgs[count++] = cfg;
    }
    *out = cfgs;
    return count;
}

int rt_store_load_initial(const char *url, char *err, size_t err_cap, int wait_seconds)
{
    PGconn *pg = NULL;
    for (int attempt = 0;; attempt++) {
        pg = PQconnectdb(url);
        if (PQstatus(pg) == CONNECTION_OK)
            break;
        if (attempt >= wait_seconds * 2) {
            char *msg = PQerrorMessage(pg);
            msg[strcspn(msg, "\n")] = '\0';
            snprintf(err, err_cap, "cannot connect to RT_DATABASE_URL: %s", msg);
            PQfinish(pg);
            return -1;
        }
        if (attempt == 0)
            rt_log_warn("PostgreSQL is not reachable yet; retrying for up to %d s", wait_seconds);
        PQfinish(pg);
        usleep(500000);
    }
    const char *params[1] = {NULL};
    PGresult *res = PQexecParams(pg, APPS_SQL, 1, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char *msg = PQerrorMessage(pg);
        msg[strcspn(msg, "\n")] = '\0';
        snprintf(err, err_cap, "cannot load apps (did you run `rtadmin migrate`?): %s", msg);
    } else {
        struct rt_app_config **cfgs;
        int n = configs_from_result(res, &cfgs, err, err_cap);
        if (n >= 0) {
            for (int i = 0; i < n; i++)
                rt_apps_put(cfgs[i]);
            free(cfgs);
            rt_log_info("loaded %d apps from PostgreSQL", n);
            rc = 0;
        }
    }
    PQclear(res);
    PQfinish(pg);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Following changes: one non-blocking connection, LISTEN, one query in flight at a time.
 * --------------------------------------------------------------------------------------- */

#define PENDING_MAX 256

static struct {
    uv_loop_t *loop;
    char *url;
    PGconn *pg;
    uv_poll_t *poll; /* heap-allocated: a closing handle is freed in its close callback */
    int poll_fd;
    uv_timer_t retry;
    unsigned backoff_ms;
    enum { ST_IDLE, ST_CONNECTING, ST_LISTEN, ST_READY, ST_QUERY } state;
    char *pending[PENDING_MAX]; /* app ids waiting for a reload; "*" = everything */
    size_t n_pending;
    char *in_flight;
    bool stopping;
} st;

static void schedule_reconnect(void);
static void on_poll(uv_poll_t *h, int status, int events);

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void poll_close(void)
{
    if (st.poll) {
        uv_poll_stop(st.poll);
        uv_close((uv_handle_t *)st.poll, free_handle);
        st.poll = NULL;
    }
}

/* Watches libpq's socket; libpq may switch sockets while connecting (several addresses). */
static void poll_update(int events)
{
    int fd = PQsocket(st.pg);
    if (fd < 0)
        return;
    if (st.poll && st.poll_fd != fd)
        poll_close();
    if (!st.poll) {
        st.poll = malloc(sizeof *st.poll);
        if (!st.poll || uv_poll_init(st.loop, st.poll, fd) != 0) {
            free(st.poll);
            st.poll = NULL;
            return;
        }
        st.poll_fd = fd;
    }
    uv_poll_start(st.poll, events, on_poll);
}

static void drop_connection(const char *why)
{
    if (st.pg) {
        rt_log_warn("PostgreSQL connection lost (%s); serving apps from memory", why);
        poll_close();
        PQfinish(st.pg);
        st.pg = NULL;
    }
    free(st.in_flight);
    st.in_flight = NULL;
    rt_srv.db_connected = false;
    if (!st.stopping)
        schedule_reconnect();
}

static void queue_reload(const char *id)
{
    for (size_t i = 0; i < st.n_pending; i++)
        if (strcmp(st.pending[i], id) == 0 || strcmp(st.pending[i], "*") == 0)
            return;
    if (st.n_pending == PENDING_MAX) {
        /* Too many distinct changes at once: reload everything instead. */
        for (size_t i = 0; i < st.n_pending; i++)
            free(st.pending[i]);
        st.n_pending = 0;
        id = "*";
    }
    char *copy = strdup(id);
    if (copy)
        st.pending[st.n_pending++] = copy;
}

static void send_next_query(void)
{
    if (st.state != ST_READY || st.n_pending == 0)
        return;
    st.in_flight = st.pending[0];
    memmove(st.pending, st.pending + 1, (st.n_pending - 1) * sizeof *st.pending);
    st.n_pending--;
    const char *params[1] = {strcmp(st.in_flight, "*") == 0 ? NULL : st.in_flight};
    if (!PQsendQueryParams(st.pg, APPS_SQL, 1, NULL, params, NULL, NULL, 0)) {
        drop_connection("query failed to send");
        return;
    }
    st.state = ST_QUERY;
    PQflush(st.pg);
}

static void apply_result(PGresult *res)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rt_log_error("reloading apps failed: %s", PQresultErrorMessage(res));
        return;
    }
    char err[256];
    struct rt_app_config **cfgs;
    int n = configs_from_result(res, &cfgs, err, sizeof err);
    if (n < 0) {
        rt_log_error("reloading apps failed: %s", err);
        return;
    }
    if (strcmp(st.in_flight, "*") == 0) {
        rt_apps_replace_all(cfgs, (size_t)n);
        rt_log_info("reloaded all %d apps", n);
    } else if (n == 0) {
        rt_apps_remove(st.in_flight);
        rt_log_info("app=%s deleted", st.in_flight);
    } else {
        rt_apps_put(cfgs[0]);
        rt_log_info("app=%s reloaded", st.in_flight);
    }
    free(cfgs);
}

static void handle_notifies(void)
{
    PGnotify *n;
    while ((n = PQnotifies(st.pg)) != NULL) {
        queue_reload(n->extra);
        PQfreemem(n);
    }
}

static void on_readable(void)
{
    if (!PQconsumeInput(st.pg)) {
        drop_connection(PQerrorMessage(st.pg));
        return;
    }
    while (st.state == ST_LISTEN || st.state == ST_QUERY) {
        if (PQisBusy(st.pg))
            break;
        PGresult *res = PQgetResult(st.pg);
        if (!res) {
            if (st.state == ST_QUERY) {
                free(st.in_flight);
                st.in_flight = NULL;
            }
            st.state = ST_READY;
            break;
        }
        if (st.state == ST_LISTEN && PQresultStatus(res) != PGRES_COMMAND_OK) {
            rt_log_error("LISTEN failed: %s", PQresultErrorMessage(res));
        } else if (st.state == ST_QUERY) {
            apply_result(res);
        }
        PQclear(res);
    }
    handle_notifies();
    send_next_query();
}

static void on_connect_poll(void)
{
    switch (PQconnectPoll(st.pg)) {
    case PGRES_POLLING_READING:
        poll_update(UV_READABLE);
        return;
    case PGRES_POLLING_WRITING:
        poll_update(UV_WRITABLE);
        return;
    case PGRES_POLLING_OK:
        break;
    default:
        drop_connection(PQerrorMessage(st.pg));
        return;
    }
    PQsetnonblocking(st.pg, 1);
    st.backoff_ms = 0;
    rt_srv.db_connected = true;
    rt_log_info("following app changes (LISTEN rt_app_changed)");
    /* Changes may have been missed while disconnected: reload everything after LISTEN. */
    if (!PQsendQuery(st.pg, "LISTEN rt_app_changed")) {
        drop_connection("LISTEN failed to send");
        return;
    }
    st.state = ST_LISTEN;
    queue_reload("*");
    poll_update(UV_READABLE);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)events;
    if (!st.pg)
        return;
    if (status < 0) {
        drop_connection(uv_strerror(status));
        return;
    }
    if (st.state == ST_CONNECTING)
        on_connect_poll();
    else
        on_readable();
}

static void start_connect(void)
{
    st.pg = PQconnectStart(st.url);
    if (!st.pg || PQstatus(st.pg) == CONNECTION_BAD) {
        drop_connection(st.pg ? PQerrorMessage(st.pg) : "out of memory");
        return;
    }
    st.state = ST_CONNECTING;
    poll_update(UV_WRITABLE);
}

static void on_retry(uv_timer_t *t)
{
    (void)t;
    start_connect();
}

static void schedule_reconnect(void)
{
    st.state = ST_IDLE;
    st.backoff_ms = st.backoff_ms ? st.backoff_ms * 2 : 250;
    if (st.backoff_ms > 5000)
        st.backoff_ms = 5000;
    uv_timer_start(&st.retry, on_retry, st.backoff_ms, 0);
}

int rt_store_start(uv_loop_t *loop, const char *url)
{
    st.loop = loop;
    st.url = strdup(url);
    uv_timer_init(loop, &st.retry);
    start_connect();
    return 0;
}

void rt_store_stop(void)
{
    st.stopping = true;
    uv_timer_stop(&st.retry);
    uv_close((uv_handle_t *)&st.retry, NULL);
    poll_close();
    if (st.pg)
        PQfinish(st.pg);
    st.pg = NULL;
    for (size_t i = 0; i < st.n_pending; i++)
        free(st.pending[i]);
    st.n_pending = 0;
    free(st.in_flight);
    free(st.url);
}
