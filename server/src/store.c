/* PostgreSQL app store: initial load, LISTEN rt_app_changed, async reloads, reconnects. */
#include "store.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "rt_alloc.h"
#include "rt_err.h"
#include "server.h"

/* One row per app: the app as JSON, its active keys, its webhooks. $1 NULL = every app. */
static const char APPS_SQL[] =
    "SELECT row_to_json(a)::text,"
    " coalesce((SELECT json_agg(json_build_object('key', k.key, 'secret_enc',"
    "   encode(k.secret_enc, 'base64')) ORDER BY k.created_at) FROM app_keys k"
    "   WHERE k.app_id = a.id AND k.status = 'active'), '[]')::text,"
    " coalesce((SELECT json_agg(json_build_object('id', w.id, 'url', w.url,"
    "   'event_types', w.event_types, 'batch_window_ms', w.batch_window_ms,"
    "   'batch_max', w.batch_max)"
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
    char **v = rt_xcalloc(json_array_size(arr), sizeof *v);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e))
            v[(*n)++] = rt_xstrdup(json_string_value(e));
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
    struct rt_app_config *cfg = rt_xcalloc(1, sizeof *cfg);
    if (!a || !keys || !hooks) {
        snprintf(err, err_cap, "malformed app row");
        goto fail;
    }
    snprintf(cfg->id, sizeof cfg->id, "%s", json_string_value(json_object_get(a, "id")));
    const char *name = json_string_value(json_object_get(a, "name"));
    cfg->name = rt_xstrdup(name ? name : "");
    cfg->enabled = get_bool(a, "enabled", true);
    cfg->client_events = get_bool(a, "client_events", false);
    cfg->user_auth = get_bool(a, "user_auth", false);
    cfg->subscription_count = get_bool(a, "subscription_count", false);
    cfg->require_tls = get_bool(a, "require_tls", false);
    cfg->authorized_connections = get_bool(a, "authorized_connections", false);
    cfg->allowed_origins = get_strv(json_object_get(a, "allowed_origins"), &cfg->n_allowed_origins);
    json_t *algorithms = json_object_get(a, "jwt_algorithms");
    if (algorithms) {
        cfg->jwt_algorithms = get_strv(algorithms, &cfg->n_jwt_algorithms);
    } else { /* a database before migration 003: its default */
        cfg->jwt_algorithms = rt_xcalloc(1, sizeof *cfg->jwt_algorithms);
        cfg->jwt_algorithms[cfg->n_jwt_algorithms++] = rt_xstrdup("HS256");
    }
    const char *pem = json_string_value(json_object_get(a, "jwt_public_key"));
    cfg->jwt_public_key = pem ? rt_xstrdup(pem) : NULL;
    cfg->require_token = get_bool(a, "require_token", false);
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
    const char *prefix = json_string_value(json_object_get(a, "ingest_redis_prefix"));
    cfg->ingest_redis_prefix = prefix ? rt_xstrdup(prefix) : NULL;
    cfg->ingest_stream = get_bool(a, "ingest_stream", false);
    cfg->ingest_stream_max_length = get_int(a, "ingest_stream_max_length", 100000);

    cfg->keys = rt_xcalloc(json_array_size(keys) + 1, sizeof *cfg->keys);
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
    cfg->webhooks = rt_xcalloc(json_array_size(hooks) + 1, sizeof *cfg->webhooks);
    json_t *h;
    json_array_foreach(hooks, i, h)
    {
        const char *url = json_string_value(json_object_get(h, "url"));
        if (!url)
            continue;
        struct rt_webhook *w = &cfg->webhooks[cfg->n_webhooks++];
        w->id = json_integer_value(json_object_get(h, "id"));
        w->url = rt_xstrdup(url);
        w->event_types = get_strv(json_object_get(h, "event_types"), &w->n_event_types);
        w->batch_window_ms = get_int(h, "batch_window_ms", 100);
        w->batch_max = get_int(h, "batch_max", 50);
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
    struct rt_app_config **cfgs = rt_xcalloc((size_t)n + 1, sizeof *cfgs);
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
#define HOSTS_MAX 16 /* host names of a multi-host URL looked up for the LISTEN connection */

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
    /* Host lookups before each connection attempt (see "Host lookups" below). */
    PQconninfoOption *opts; /* the parsed URL; NULL = let libpq connect by itself */
    char *hosts[HOSTS_MAX], *ports[HOSTS_MAX];
    size_t n_hosts, n_ports;
    char addrs[HOSTS_MAX][INET6_ADDRSTRLEN]; /* "" = the host needs no address (socket) */
    bool resolved[HOSTS_MAX];
    size_t next_host;
    uv_getaddrinfo_t lookup;
    bool looking_up, lookup_warned;
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
        st.poll = rt_xmalloc(sizeof *st.poll);
        if (uv_poll_init(st.loop, st.poll, fd) != 0) {
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
    st.pending[st.n_pending++] = rt_xstrdup(id);
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
    st.lookup_warned = false;
    rt_srv.db_connected = true;
    rt_srv.db_connects++;
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

/* ---------------------------------------------------------------------------------------
 * Host lookups. PQconnectStart would resolve host names with a blocking getaddrinfo on the
 * loop, freezing every client for as long as DNS takes, exactly when the database is in
 * trouble. So each attempt first resolves every host name of the URL on libuv's thread pool,
 * one after the other, and then connects with hostaddr set to the addresses (host stays for
 * TLS and messages). A name that does not resolve is left out of that attempt, with its port
 * when the URL gives one port per host; the attempt fails when no host is left.
 * --------------------------------------------------------------------------------------- */

static const char *option(const char *keyword)
{
    for (PQconninfoOption *o = st.opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return o->val && o->val[0] ? o->val : NULL;
    return NULL;
}

/* Unix sockets ("/dir", "@abstract") and IP literals connect without a lookup. */
static bool needs_lookup(const char *host, char *addr)
{
    unsigned char buf[sizeof(struct in6_addr)];
    addr[0] = '\0';
    if (host[0] == '\0' || host[0] == '/' || host[0] == '@')
        return false;
    if (uv_inet_pton(AF_INET, host, buf) == 0 || uv_inet_pton(AF_INET6, host, buf) == 0) {
        snprintf(addr, INET6_ADDRSTRLEN, "%s", host);
        return false;
    }
    return true;
}

/* Splits a comma-separated libpq list into at most HOSTS_MAX malloc'd items. */
static size_t split_list(const char *list, char **items)
{
    size_t n = 0;
    while (list && n < HOSTS_MAX) {
        size_t len = strcspn(list, ",");
        items[n++] = rt_xstrndup(list, len);
        list = list[len] ? list + len + 1 : NULL;
    }
    return n;
}

/* Parses the URL once. Leaves st.opts NULL (plain PQconnectStart) when libpq has nothing to
 * look up: hostaddr given, no host name, or a URL it cannot parse (the initial load would
 * have refused it already). */
static void lookup_setup(void)
{
    st.opts = PQconninfoParse(st.url, NULL);
    const char *host = option("host") ? option("host") : getenv("PGHOST");
    const char *hostaddr = option("hostaddr") ? option("hostaddr") : getenv("PGHOSTADDR");
    if (!st.opts || hostaddr || !host)
        goto plain;
    st.n_hosts = split_list(host, st.hosts);
    size_t listed = 1;
    for (const char *c = host; *c; c++)
        listed += *c == ',';
    if (listed > HOSTS_MAX)
        rt_log_warn("RT_DATABASE_URL lists %zu hosts; following app changes uses the first %d",
                    listed, HOSTS_MAX);
    st.n_ports = split_list(option("port"), st.ports);
    bool any = false;
    for (size_t i = 0; i < st.n_hosts; i++)
        any |= needs_lookup(st.hosts[i], st.addrs[i]);
    if (any)
        return;
plain:
    PQconninfoFree(st.opts);
    st.opts = NULL;
}

static void lookup_free(void)
{
    PQconninfoFree(st.opts);
    st.opts = NULL;
    for (size_t i = 0; i < st.n_hosts; i++)
        free(st.hosts[i]);
    for (size_t i = 0; i < st.n_ports; i++)
        free(st.ports[i]);
    st.n_hosts = st.n_ports = 0;
}

/* Appends item to a comma-separated list in buf (cap bytes). */
static void list_add(char *buf, size_t cap, const char *item)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? "," : "", item);
}

static void connect_started(void)
{
    if (!st.pg || PQstatus(st.pg) == CONNECTION_BAD) {
        drop_connection(st.pg ? PQerrorMessage(st.pg) : "out of memory");
        return;
    }
    st.state = ST_CONNECTING;
    poll_update(UV_WRITABLE);
}

/* Connects to the hosts that resolved, with the URL's other settings unchanged. */
static void connect_resolved(void)
{
    enum { LIST_CAP = HOSTS_MAX * 256 };
    static char hosts[LIST_CAP], addrs[LIST_CAP], ports[LIST_CAP];
    hosts[0] = addrs[0] = ports[0] = '\0';
    bool per_host_ports = st.n_ports == st.n_hosts && st.n_hosts > 1;
    size_t n = 0;
    for (size_t i = 0; i < st.n_hosts; i++) {
        if (!st.resolved[i])
            continue;
        list_add(hosts, sizeof hosts, st.hosts[i]);
        list_add(addrs, sizeof addrs, st.addrs[i]);
        if (per_host_ports)
            list_add(ports, sizeof ports, st.ports[i]);
        n++;
    }
    if (n == 0) {
        schedule_reconnect();
        return;
    }
    const char *keywords[128], *values[128];
    size_t k = 0;
    for (PQconninfoOption *o = st.opts; o->keyword && k < 120; o++) {
        if (!o->val || strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
            (per_host_ports && strcmp(o->keyword, "port") == 0))
            continue;
        keywords[k] = o->keyword;
        values[k++] = o->val;
    }
    keywords[k] = "host";
    values[k++] = hosts;
    keywords[k] = "hostaddr";
    values[k++] = addrs;
    if (per_host_ports) {
        keywords[k] = "port";
        values[k++] = ports;
    }
    keywords[k] = NULL;
    values[k] = NULL;
    st.pg = PQconnectStartParams(keywords, values, 0);
    connect_started();
}

static void resolve_next(void);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    (void)req;
    st.looking_up = false;
    if (st.stopping) {
        uv_freeaddrinfo(res);
        return;
    }
    size_t i = st.next_host++;
    st.resolved[i] = false;
    for (struct addrinfo *a = status == 0 ? res : NULL; a && !st.resolved[i]; a = a->ai_next) {
        if (a->ai_family == AF_INET)
            st.resolved[i] =
                uv_ip4_name((struct sockaddr_in *)a->ai_addr, st.addrs[i], INET6_ADDRSTRLEN) == 0;
        else if (a->ai_family == AF_INET6)
            st.resolved[i] =
                uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, st.addrs[i], INET6_ADDRSTRLEN) == 0;
    }
    uv_freeaddrinfo(res);
    if (!st.resolved[i] && !st.lookup_warned) {
        rt_log_warn("PostgreSQL host %s cannot be resolved (%s); serving apps from memory",
                    st.hosts[i], status ? uv_strerror(status) : "no IPv4 or IPv6 address");
        st.lookup_warned = true;
    }
    resolve_next();
}

/* Starts the lookup of the next host name, or connects when none is left. */
static void resolve_next(void)
{
    while (st.next_host < st.n_hosts &&
           !needs_lookup(st.hosts[st.next_host], st.addrs[st.next_host]))
        st.resolved[st.next_host++] = true;
    if (st.next_host == st.n_hosts) {
        connect_resolved();
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (uv_getaddrinfo(st.loop, &st.lookup, on_resolved, st.hosts[st.next_host], NULL, &hints) ==
        0) {
        st.looking_up = true;
        return;
    }
    st.resolved[st.next_host++] = false;
    resolve_next();
}

static void start_connect(void)
{
    if (st.opts) {
        st.state = ST_CONNECTING;
        st.next_host = 0;
        resolve_next();
        return;
    }
    st.pg = PQconnectStart(st.url);
    connect_started();
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
    st.url = rt_xstrdup(url);
    lookup_setup();
    uv_timer_init(loop, &st.retry);
    start_connect();
    return 0;
}

/* A lookup already running on the thread pool cannot be cancelled: its callback still runs
 * on the loop (main runs it until nothing is left) and only frees the result. */
void rt_store_stop(void)
{
    st.stopping = true;
    if (st.looking_up)
        uv_cancel((uv_req_t *)&st.lookup);
    lookup_free();
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
