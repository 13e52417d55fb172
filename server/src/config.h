/* Server configuration from RT_* environment variables, overridable by command-line flags. */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stdint.h>

#include "rt_secret.h"

struct rt_config {
    const char *database_url; /* RT_DATABASE_URL (required) */
    const char *redis_url;    /* RT_REDIS_URL (NULL = standalone) */
    int redis_cluster;        /* RT_REDIS_CLUSTER=1: redis_url lists Redis Cluster seeds */
    uint8_t master_key[RT_MASTER_KEY_BYTES]; /* RT_MASTER_KEY_FILE, --master-key-file or
                                                RT_MASTER_KEY (required; never argv) */
    const char *host;                        /* RT_HOST, default 127.0.0.1 */
    int port;                                /* RT_PORT, default 6001 */
    const char *path_prefix;                 /* RT_PATH_PREFIX, default "" (e.g. "/realtime") */
    int activity_timeout;   /* RT_ACTIVITY_TIMEOUT seconds advertised, default 120 */
    int pong_timeout;       /* RT_PONG_TIMEOUT seconds, default 30 */
    int max_connections;    /* RT_MAX_CONNECTIONS for this node, default 0 = fd limit */
    int send_queue_max;     /* RT_SEND_QUEUE_MAX frames per connection, default 1024 */
    int max_http_body_kb;   /* RT_MAX_HTTP_BODY_KB, default 1024 */
    uint32_t node_id;       /* RT_NODE_ID, default random */
    int node_id_explicit;   /* RT_NODE_ID was given (workers take consecutive ids) */
    int workers;            /* RT_WORKERS / --workers N|auto: processes on the port (1) */
    const char *log_level;  /* RT_LOG_LEVEL debug|info|warn|error, default info */
    const char *log_format; /* RT_LOG_FORMAT text|json, default text */
    int db_wait_seconds;    /* RT_DB_WAIT seconds to wait for PostgreSQL at start (30) */
    int authorize_timeout;  /* RT_AUTHORIZE_TIMEOUT seconds (apps with authorized connections) */
    int trust_proxy;        /* RT_TRUST_PROXY=1: believe X-Forwarded-* from the proxy */
    /* Bounds against hostile or broken clients (docs/security.md, "Hostile clients"). */
    int http_header_timeout;          /* RT_HTTP_HEADER_TIMEOUT s for a request head (10) */
    int http_body_timeout;            /* RT_HTTP_BODY_TIMEOUT s for a declared body (10) */
    int http_keepalive_timeout;       /* RT_HTTP_KEEPALIVE_TIMEOUT s idle between requests (30) */
    int http_body_inflight_kb;        /* RT_HTTP_BODY_INFLIGHT_KB bodies being read, node (65536) */
    int http_body_inflight_per_ip_kb; /* RT_HTTP_BODY_INFLIGHT_PER_IP_KB per client IP (8192) */
    int send_buffer_hard_kb;      /* RT_SEND_BUFFER_HARD_KB queued output: close at once (1024) */
    int send_buffer_soft_kb;      /* RT_SEND_BUFFER_SOFT_KB queued output held for ... (256) */
    int send_buffer_soft_seconds; /* RT_SEND_BUFFER_SOFT_SECONDS ... this long: close (10) */
    int close_timeout;            /* RT_CLOSE_TIMEOUT s a closing socket may live (5) */
    int drain_seconds;            /* RT_DRAIN_SECONDS window the 4200 closes spread over (10) */
    /* Per client address (iplimit.c); 0 turns a limit off. */
    int ip_max_connections;        /* RT_IP_MAX_CONNECTIONS concurrent WebSockets (0) */
    int ip_connections_per_second; /* RT_IP_CONNECTIONS_PER_SECOND new WebSockets (0) */
    int ip_auth_failures;          /* RT_IP_AUTH_FAILURES per minute before back-off (300) */
    int ip_backoff_seconds;        /* RT_IP_BACKOFF_SECONDS refused after that (60) */
    /* TLS in-process: both set = the port serves wss:// and https:// (NULL = plain). */
    const char *tls_cert; /* RT_TLS_CERT PEM certificate (chain) file */
    const char *tls_key;  /* RT_TLS_KEY PEM private key file */
    int subscribe_rate;   /* RT_SUBSCRIBE_RATE subscribe+unsubscribe/s per connection (10) */
    int subscribe_burst;  /* RT_SUBSCRIBE_BURST (100) + app's channel limit */
    /* Webhook delivery limits (docs/webhooks.md "Limits"). Pending = waiting, retrying, in
     * flight or held in the settle window. */
    int webhook_max_pending;        /* RT_WEBHOOK_MAX_PENDING deliveries per node, 10000 */
    int webhook_max_pending_kb;     /* RT_WEBHOOK_MAX_PENDING_KB per node, 65536 */
    int webhook_app_max_pending;    /* RT_WEBHOOK_APP_MAX_PENDING deliveries per app, 1000 */
    int webhook_app_max_pending_kb; /* RT_WEBHOOK_APP_MAX_PENDING_KB per app, 8192 */
    int webhook_app_concurrency;    /* RT_WEBHOOK_APP_CONCURRENCY requests per app, 4 */
    int webhook_app_channel_events_per_second; /* RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND, 100 */
    int webhook_app_channel_events_burst;      /* RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST, 1000 */
    int webhook_retry_seconds; /* RT_WEBHOOK_RETRY_SECONDS: give up this long after queueing */
    int webhook_retry_base_ms; /* RT_WEBHOOK_RETRY_BASE_MS: first retry delay, doubled */
    int webhook_dead_letters;  /* RT_WEBHOOK_DEAD_LETTERS kept per app */
    int redis_max_output_kb;   /* RT_REDIS_MAX_OUTPUT_KB unsent Redis commands per connection */
    int redis_write_timeout;   /* RT_REDIS_WRITE_TIMEOUT s output may wait unwritten (30) */
    int redis_reply_timeout;   /* RT_REDIS_REPLY_TIMEOUT s a PING may wait for its reply (10) */
    int metrics_apps_max;      /* RT_METRICS_APPS_MAX apps with their own series (100) */
    const char *config_file;   /* RT_CONFIG or --config: NAME=value lines under the environment */
    int check_only;            /* --check-config: check settings and dependencies, then exit */
};

#define RT_VERSION "0.9.0"

/* A random node id of 6 digits (100000-999999). */
uint32_t rt_random_node_id(void);

/* Fills cfg from command-line flags, over the environment, over the config file (RT_CONFIG or
 * --config: a setting in the environment wins over the file). On a missing or invalid setting
 * (or a master key on the command line) writes one line naming the setting into err and
 * returns -1; returns 1 when --help or --version was printed. Removes RT_MASTER_KEY from the
 * environment (rt_master_key_load). */
int rt_config_load(struct rt_config *cfg, int argc, char **argv, char *err, size_t err_cap);

/* Reads RT_LOG_LEVEL from the config file again (SIGHUP) into level (cap bytes). Returns 1
 * when the file sets it, 0 when it does not, -1 with err when the file cannot be read or
 * the level is invalid. */
int rt_config_reread_log_level(const char *path, char *level, size_t cap, char *err,
                               size_t err_cap);

/* Every setting the server reads, NULL-terminated (the config file accepts these only). */
extern const char *const rt_config_settings[];

#endif
