/* Server configuration from RT_* environment variables, overridable by command-line flags. */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stdint.h>

#include "rt_secret.h"

struct rt_config {
    const char *database_url;   /* RT_DATABASE_URL (required) */
    const char *redis_url;      /* RT_REDIS_URL (NULL = standalone) */
    uint8_t master_key[RT_MASTER_KEY_BYTES]; /* RT_MASTER_KEY (required) */
    const char *host;           /* RT_HOST, default 127.0.0.1 */
    int port;                   /* RT_PORT, default 6001 */
    const char *path_prefix;    /* RT_PATH_PREFIX, default "" (e.g. "/realtime") */
    int activity_timeout;       /* RT_ACTIVITY_TIMEOUT seconds advertised, default 120 */
    int pong_timeout;           /* RT_PONG_TIMEOUT seconds, default 30 */
    int max_connections;        /* RT_MAX_CONNECTIONS for this node, default 0 = fd limit */
    int send_queue_max;         /* RT_SEND_QUEUE_MAX frames per connection, default 1024 */
    int max_http_body_kb;       /* RT_MAX_HTTP_BODY_KB, default 1024 */
    uint32_t node_id;           /* RT_NODE_ID, default random */
    const char *log_level;      /* RT_LOG_LEVEL debug|info|warn|error, default info */
    int db_wait_seconds;
    int authorize_timeout;      /* RT_AUTHORIZE_TIMEOUT seconds (apps with authorized connections) */
    int trust_proxy;            /* RT_TRUST_PROXY=1: believe X-Forwarded-Proto from the proxy */        /* RT_DB_WAIT seconds to wait for PostgreSQL at start (30) */
    /* Webhook delivery limits (docs/webhooks.md "Limits"). Pending = waiting, retrying, in
     * flight or held in the settle window. */
    int webhook_max_pending;        /* RT_WEBHOOK_MAX_PENDING deliveries per node, 10000 */
    int webhook_max_pending_kb;     /* RT_WEBHOOK_MAX_PENDING_KB per node, 65536 */
    int webhook_app_max_pending;    /* RT_WEBHOOK_APP_MAX_PENDING deliveries per app, 1000 */
    int webhook_app_max_pending_kb; /* RT_WEBHOOK_APP_MAX_PENDING_KB per app, 8192 */
    int webhook_app_concurrency;    /* RT_WEBHOOK_APP_CONCURRENCY requests per app, 4 */
    int webhook_app_channel_events_per_second; /* RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND, 100 */
    int webhook_app_channel_events_burst;      /* RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST, 1000 */
};

/* Fills cfg from the environment and argv. On a missing or invalid setting writes one line
 * naming the setting into err and returns -1; returns 1 when --help was printed. */
int rt_config_load(struct rt_config *cfg, int argc, char **argv, char *err, size_t err_cap);

#endif
