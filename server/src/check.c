/* rtserver --check-config: every setting was parsed by rt_config_load; this checks what only
 * the outside world can answer (the listen address resolves, the TLS files load, PostgreSQL
 * answers with the schema and apps this master key opens, Redis answers PING), each with a
 * timeout, and prints one line. */
#include "check.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "rt_redis_url.h"
#include "store.h"
#include "tls.h"

#define CHECK_TIMEOUT_S 5

static int check_database(const char *url, char *err, size_t err_cap)
{
    /* The URL expands first; the connect_timeout after it overrides one in the URL. */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *values[] = {url, "5", NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        char *msg = PQerrorMessage(pg);
        msg[strcspn(msg, "\n")] = '\0';
        snprintf(err, err_cap, "RT_DATABASE_URL: cannot connect within %d s: %s", CHECK_TIMEOUT_S,
                 msg);
        PQfinish(pg);
        return -1;
    }
    PQfinish(pg);
    /* Loads the apps as the server would: the schema is migrated and the master key opens
     * every app secret. */
    return rt_store_load_initial(url, err, err_cap, 0);
}

/* Connects to one Redis and checks it is what RT_REDIS_CLUSTER says: a single Redis (or a
 * cluster node, refused without RT_REDIS_CLUSTER=1, whose slots would answer MOVED), or a node
 * of a healthy Redis Cluster. */
static int check_redis_node(const struct rt_redis_url *u, bool cluster, char *err, size_t err_cap)
{
    struct timeval tv = {CHECK_TIMEOUT_S, 0};
    redisContext *rc = redisConnectWithTimeout(u->host, u->port, tv);
    if (!rc || rc->err) {
        snprintf(err, err_cap, "RT_REDIS_URL: cannot connect to %s:%d within %d s: %s", u->host,
                 u->port, CHECK_TIMEOUT_S, rc ? rc->errstr : "out of memory");
        if (rc) redisFree(rc);
        return -1;
    }
    redisSetTimeout(rc, tv);
    redisReply *r = NULL;
    if (u->password[0]) {
        r = redisCommand(rc, "AUTH %s", u->password);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (r) freeReplyObject(r);
        if (!ok) {
            snprintf(err, err_cap, "RT_REDIS_URL: %s:%d refused the password", u->host, u->port);
            redisFree(rc);
            return -1;
        }
    }
    r = redisCommand(rc, "INFO cluster");
    bool ok = r && r->type == REDIS_REPLY_STRING;
    if (!ok)
        snprintf(err, err_cap, "RT_REDIS_URL: %s:%d did not answer INFO: %s", u->host, u->port,
                 r && r->type == REDIS_REPLY_ERROR ? r->str
                 : rc->err                         ? rc->errstr
                                                   : "unexpected reply");
    bool enabled = ok && strstr(r->str, "cluster_enabled:1") != NULL;
    if (ok && enabled && !cluster) {
        snprintf(err, err_cap,
                 "RT_REDIS_URL: %s:%d is a Redis Cluster node: set RT_REDIS_CLUSTER=1 (and list "
                 "its seed nodes)",
                 u->host, u->port);
        ok = false;
    } else if (ok && !enabled && cluster) {
        snprintf(err, err_cap,
                 "RT_REDIS_CLUSTER=1 but %s:%d is not a Redis Cluster node (cluster_enabled:0)",
                 u->host, u->port);
        ok = false;
    }
    if (r) freeReplyObject(r);
    if (ok && cluster) {
        r = redisCommand(rc, "CLUSTER INFO");
        ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");
        if (!ok)
            snprintf(err, err_cap, "RT_REDIS_URL: the Redis Cluster of %s:%d is not ok (%s)",
                     u->host, u->port,
                     r && r->type == REDIS_REPLY_STRING ? "cluster_state:fail" : "no CLUSTER INFO");
        if (r) freeReplyObject(r);
    }
    redisFree(rc);
    return ok ? 0 : -1;
}

/* A single Redis, or the first seed of a Redis Cluster that answers. */
static int check_redis(const char *url, bool cluster, char *err, size_t err_cap)
{
    struct rt_redis_url seeds[RT_REDIS_SEEDS_MAX];
    size_t n = 1;
    if (!cluster ? rt_redis_url_parse(url, &seeds[0], err, err_cap) != 0
                 : rt_redis_seeds_parse(url, seeds, RT_REDIS_SEEDS_MAX, &n, err, err_cap) != 0)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < n && rc != 0; i++)
        rc = check_redis_node(&seeds[i], cluster, err, err_cap);
    return rc;
}

int rt_check_config(const struct rt_config *cfg, char *err, size_t err_cap)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(cfg->host, NULL, &hints, &res);
    if (gai != 0) {
        snprintf(err, err_cap, "RT_HOST: cannot resolve \"%s\": %s", cfg->host, gai_strerror(gai));
        return -1;
    }
    freeaddrinfo(res);
    if (cfg->tls_cert && rt_tls_check(cfg->tls_cert, cfg->tls_key, err, err_cap) != 0) return -1;
    if (check_database(cfg->database_url, err, err_cap) != 0) return -1;
    size_t apps = rt_apps_count();
    rt_apps_free_all();
    if (cfg->redis_url && check_redis(cfg->redis_url, cfg->redis_cluster, err, err_cap) != 0)
        return -1;
    printf("rtserver %s: configuration ok (listen %s:%d%s, PostgreSQL reachable with %zu apps, "
           "%s)\n",
           RT_VERSION, cfg->host, cfg->port, cfg->tls_cert ? " with TLS" : "", apps,
           !cfg->redis_url      ? "standalone"
           : cfg->redis_cluster ? "Redis Cluster reachable"
                                : "Redis reachable");
    return 0;
}
