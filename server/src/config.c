/* Server configuration: RT_* environment variables, then command-line flags over them. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rt_master_key.h"

/* clang-format off */
static const char usage[] =
    "usage: rtserver [options]\n"
    "Pusher-compatible realtime server. Every option has an RT_* environment twin.\n"
    "  --database-url URL     RT_DATABASE_URL     PostgreSQL URL (required)\n"
    "  --redis-url URL        RT_REDIS_URL        Redis URL for multi-node fan-out (unset: standalone)\n"
    "  --master-key-file PATH RT_MASTER_KEY_FILE  file holding the master key: 64 hex chars or\n"
    "                                             base64 of 32 bytes, mode 600 (required, or:)\n"
    "  (env only)             RT_MASTER_KEY       the key itself (second choice; never on argv)\n"
    "  --host ADDR            RT_HOST             listen address (default 127.0.0.1)\n"
    "  --port N               RT_PORT             listen port (default 6001)\n"
    "  --path-prefix P        RT_PATH_PREFIX      URL prefix before /app and /apps (default none)\n"
    "  --activity-timeout S   RT_ACTIVITY_TIMEOUT seconds of silence before a ping (default 120)\n"
    "  --pong-timeout S       RT_PONG_TIMEOUT     seconds to wait for the pong (default 30)\n"
    "  --max-connections N    RT_MAX_CONNECTIONS  node capacity (default: file-descriptor limit)\n"
    "  --send-queue-max N     RT_SEND_QUEUE_MAX   frames queued per slow client (default 1024)\n"
    "  --node-id N            RT_NODE_ID          numeric node id in socket ids (default random)\n"
    "  --log-level L          RT_LOG_LEVEL        debug|info|warn|error (default info)\n"
    "  (env only)             RT_LOG_FORMAT       text|json: one JSON object per log line (default text)\n"
    "  (env only)             RT_AUTHORIZE_TIMEOUT seconds to authorize (authorized-connections apps, 30)\n"
    "  (env only)             RT_TRUST_PROXY      1: trust X-Forwarded-Proto (TLS at the proxy)\n"
    "  (env only)             RT_REDIS_CLUSTER    1: RT_REDIS_URL names Redis Cluster seed nodes\n"
    "  (env only)             RT_DB_WAIT          seconds to wait for PostgreSQL at start (default 30)\n"
    "  (env only)             RT_MAX_HTTP_BODY_KB largest REST request body (default 1024)\n"
    "  (env only)             RT_HTTP_HEADER_TIMEOUT seconds for a request head (default 10)\n"
    "  (env only)             RT_HTTP_BODY_TIMEOUT seconds for a request body (default 10)\n"
    "  (env only)             RT_HTTP_KEEPALIVE_TIMEOUT idle seconds between requests (default 30)\n"
    "  (env only)             RT_HTTP_BODY_INFLIGHT_KB request bodies being read, node (default 65536)\n"
    "  (env only)             RT_HTTP_BODY_INFLIGHT_PER_IP_KB same, per client IP (default 8192)\n"
    "  (env only)             RT_SEND_BUFFER_HARD_KB queued output that closes a client at once (default 1024)\n"
    "  (env only)             RT_SEND_BUFFER_SOFT_KB queued output that closes a client when held... (default 256)\n"
    "  (env only)             RT_SEND_BUFFER_SOFT_SECONDS ...for this many seconds (default 10)\n"
    "  (env only)             RT_CLOSE_TIMEOUT    seconds a closing socket may live (default 5)\n"
    "  (env only)             RT_DRAIN_SECONDS    on SIGTERM, seconds the reconnect requests (4200)\n"
    "                                             are spread over (default 10; 0 = all at once)\n"
    "  (env only)             RT_METRICS_APPS_MAX apps with their own /metrics series, by\n"
    "                                             connections; the rest sum to app=\"_other\" (100)\n"
    "  (env only)             RT_REDIS_MAX_OUTPUT_KB commands waiting to be written to Redis on one\n"
    "                                             connection before it counts as gone (default 65536)\n"
    "  (env only)             RT_REDIS_WRITE_TIMEOUT seconds commands may wait while Redis takes\n"
    "                                             none of them before it counts as gone (default 30)\n"
    "  (env only)             RT_REDIS_REPLY_TIMEOUT seconds a PING to Redis may wait for its reply\n"
    "                                             before Redis counts as gone (default 10)\n"
    "  --workers N|auto       RT_WORKERS          processes sharing the port (needs RT_REDIS_URL;\n"
    "                                             auto = one per core; default 1)\n"
    "  --tls-cert FILE        RT_TLS_CERT         PEM certificate (with its chain): serve wss/https\n"
    "  --tls-key FILE         RT_TLS_KEY          PEM private key of that certificate\n"
    "  (env only)             RT_IP_MAX_CONNECTIONS concurrent WebSockets per client address (0 = off)\n"
    "  (env only)             RT_IP_CONNECTIONS_PER_SECOND new WebSockets per second per address (0 = off)\n"
    "  (env only)             RT_IP_AUTH_FAILURES authentication failures per minute per address\n"
    "                                             before it is refused (default 300; 0 = off)\n"
    "  (env only)             RT_IP_BACKOFF_SECONDS seconds such an address is refused (default 60)\n"
    "  (env only)             RT_SUBSCRIBE_RATE   subscribe+unsubscribe per second per socket\n"
    "                                             (default 10; 0 = unlimited)\n"
    "  (env only)             RT_SUBSCRIBE_BURST  subscribe+unsubscribe at once per socket on top\n"
    "                                             of the app's channel limit (default 100)\n"
    "Webhook limits (env only; pending = waiting, retrying, in flight or held 3 s):\n"
    "  RT_WEBHOOK_MAX_PENDING                   deliveries pending on this node (default 10000)\n"
    "  RT_WEBHOOK_MAX_PENDING_KB                their memory on this node (default 65536)\n"
    "  RT_WEBHOOK_APP_MAX_PENDING               deliveries pending per app (default 1000)\n"
    "  RT_WEBHOOK_APP_MAX_PENDING_KB            their memory per app (default 8192)\n"
    "  RT_WEBHOOK_APP_CONCURRENCY               requests in flight per app, 1-32 (default 4)\n"
    "  RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND occupied/vacated/member/count/cache-miss webhooks\n"
    "                                           per app per second, 0 = unlimited (default 100)\n"
    "  RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST      ... and in a burst (default 1000)\n"
    "  RT_WEBHOOK_RETRY_SECONDS                 give a request up this long after it was\n"
    "                                           queued, into the dead letters (default 300)\n"
    "  RT_WEBHOOK_RETRY_BASE_MS                 first retry delay, doubled each time up to\n"
    "                                           60 s, plus up to 25 % jitter (default 1000)\n"
    "  RT_WEBHOOK_DEAD_LETTERS                  requests kept per app after giving up (1000)\n"
    "  --config FILE          RT_CONFIG           file of NAME=value lines (# comments) read under\n"
    "                                             the environment: a set variable wins\n"
    "  --check-config         check every setting, the TLS files, PostgreSQL and Redis, then exit\n"
    "                         0 (ok) or 2 (the first problem on stderr)\n"
    "  --version\n"
    "  --help\n";
/* clang-format on */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

const char *const rt_config_settings[] = {"RT_CONFIG",
                                          "RT_DATABASE_URL",
                                          "RT_REDIS_URL",
                                          "RT_MASTER_KEY_FILE",
                                          "RT_MASTER_KEY",
                                          "RT_HOST",
                                          "RT_PORT",
                                          "RT_PATH_PREFIX",
                                          "RT_ACTIVITY_TIMEOUT",
                                          "RT_PONG_TIMEOUT",
                                          "RT_MAX_CONNECTIONS",
                                          "RT_SEND_QUEUE_MAX",
                                          "RT_NODE_ID",
                                          "RT_LOG_LEVEL",
                                          "RT_LOG_FORMAT",
                                          "RT_AUTHORIZE_TIMEOUT",
                                          "RT_TRUST_PROXY",
                                          "RT_REDIS_CLUSTER",
                                          "RT_DB_WAIT",
                                          "RT_MAX_HTTP_BODY_KB",
                                          "RT_HTTP_HEADER_TIMEOUT",
                                          "RT_HTTP_BODY_TIMEOUT",
                                          "RT_HTTP_KEEPALIVE_TIMEOUT",
                                          "RT_HTTP_BODY_INFLIGHT_KB",
                                          "RT_HTTP_BODY_INFLIGHT_PER_IP_KB",
                                          "RT_SEND_BUFFER_HARD_KB",
                                          "RT_SEND_BUFFER_SOFT_KB",
                                          "RT_SEND_BUFFER_SOFT_SECONDS",
                                          "RT_CLOSE_TIMEOUT",
                                          "RT_DRAIN_SECONDS",
                                          "RT_TLS_CERT",
                                          "RT_TLS_KEY",
                                          "RT_IP_MAX_CONNECTIONS",
                                          "RT_IP_CONNECTIONS_PER_SECOND",
                                          "RT_IP_AUTH_FAILURES",
                                          "RT_IP_BACKOFF_SECONDS",
                                          "RT_SUBSCRIBE_RATE",
                                          "RT_SUBSCRIBE_BURST",
                                          "RT_WEBHOOK_MAX_PENDING",
                                          "RT_WEBHOOK_MAX_PENDING_KB",
                                          "RT_WEBHOOK_APP_MAX_PENDING",
                                          "RT_WEBHOOK_APP_MAX_PENDING_KB",
                                          "RT_WEBHOOK_APP_CONCURRENCY",
                                          "RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND",
                                          "RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST",
                                          "RT_WEBHOOK_RETRY_SECONDS",
                                          "RT_WEBHOOK_RETRY_BASE_MS",
                                          "RT_WEBHOOK_DEAD_LETTERS",
                                          "RT_METRICS_APPS_MAX",
                                          "RT_REDIS_MAX_OUTPUT_KB",
                                          "RT_REDIS_WRITE_TIMEOUT",
                                          "RT_REDIS_REPLY_TIMEOUT",
                                          "RT_WORKERS",
                                          "RT_LWS_LOG",
                                          NULL};

static bool known_setting(const char *name)
{
    for (int i = 0; rt_config_settings[i]; i++)
        if (strcmp(rt_config_settings[i], name) == 0) return true;
    return false;
}

/* Reads the config file: one NAME=value per line, blank lines and # comments skipped, the
 * value trimmed and optionally in double quotes. Calls fn for each setting; stops at the
 * first bad line with err naming the file and line. Returns 0 or -1. */
static int read_config_file(const char *path,
                            int (*fn)(const char *name, const char *value, void *ctx), void *ctx,
                            char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_cap, "RT_CONFIG: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int rc = 0;
    for (int n = 1; rc == 0 && fgets(line, sizeof line, f); n++) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        if (!*p || *p == '#') continue;
        char *eq = strchr(p, '=');
        char *name_end = eq;
        while (name_end && name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        if (!eq || name_end == p) {
            snprintf(err, err_cap, "%s line %d: expected NAME=value", path, n);
            rc = -1;
            break;
        }
        *name_end = '\0';
        char *v = eq + 1 + strspn(eq + 1, " \t");
        size_t vlen = strlen(v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            v[--vlen] = '\0';
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
            v[vlen - 1] = '\0';
            v++;
        }
        if (!known_setting(p) || strcmp(p, "RT_CONFIG") == 0) {
            snprintf(err, err_cap, "%s line %d: unknown setting \"%.64s\"", path, n, p);
            rc = -1;
            break;
        }
        rc = fn(p, v, ctx);
    }
    fclose(f);
    return rc;
}

static int set_unless_set(const char *name, const char *value, void *ctx)
{
    (void)ctx;
    const char *cur = getenv(name);
    if (!cur || !*cur) setenv(name, value, 1);
    return 0;
}

struct level_ctx {
    char *level;
    size_t cap;
    int found;
};

static int take_level(const char *name, const char *value, void *ctx)
{
    struct level_ctx *l = ctx;
    if (strcmp(name, "RT_LOG_LEVEL") == 0) {
        snprintf(l->level, l->cap, "%s", value);
        l->found = 1;
    }
    return 0;
}

int rt_config_reread_log_level(const char *path, char *level, size_t cap, char *err, size_t err_cap)
{
    struct level_ctx l = {level, cap, 0};
    if (read_config_file(path, take_level, &l, err, err_cap) != 0) return -1;
    if (l.found && strcmp(level, "debug") && strcmp(level, "info") && strcmp(level, "warn") &&
        strcmp(level, "error")) {
        snprintf(err, err_cap, "RT_LOG_LEVEL must be debug, info, warn or error (got \"%s\")",
                 level);
        return -1;
    }
    return l.found;
}

/* The config file's path: --config FILE / --config=FILE before the environment's RT_CONFIG. */
static const char *config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
    }
    return env_or("RT_CONFIG", NULL);
}

/* Parses a decimal integer in [min, max]; returns -1 and writes err when invalid. */
static int parse_int(const char *name, const char *text, long min, long max, int *out, char *err,
                     size_t err_cap)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max) {
        snprintf(err, err_cap, "%s must be an integer from %ld to %ld (got \"%s\")", name, min, max,
                 text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int rt_config_load(struct rt_config *cfg, int argc, char **argv, char *err, size_t err_cap)
{
    const char *file = config_path(argc, argv);
    if (file && read_config_file(file, set_unless_set, NULL, err, err_cap) != 0) return -1;
    const char *master_file = NULL;
    const char *port = env_or("RT_PORT", "6001");
    const char *activity = env_or("RT_ACTIVITY_TIMEOUT", "120");
    const char *pong = env_or("RT_PONG_TIMEOUT", "30");
    const char *maxconn = env_or("RT_MAX_CONNECTIONS", "0");
    const char *queue = env_or("RT_SEND_QUEUE_MAX", "1024");
    const char *body = env_or("RT_MAX_HTTP_BODY_KB", "1024");
    const char *node = env_or("RT_NODE_ID", NULL);
    const char *db_wait = env_or("RT_DB_WAIT", "30");
    const char *authorize = env_or("RT_AUTHORIZE_TIMEOUT", "30");
    const char *workers = env_or("RT_WORKERS", NULL);
    const struct {
        const char *name, *fallback;
        long min, max;
        size_t offset;
    } bounds[] = {
        {"RT_HTTP_HEADER_TIMEOUT", "10", 1, 3600, offsetof(struct rt_config, http_header_timeout)},
        {"RT_HTTP_BODY_TIMEOUT", "10", 1, 3600, offsetof(struct rt_config, http_body_timeout)},
        {"RT_HTTP_KEEPALIVE_TIMEOUT", "30", 1, 3600,
         offsetof(struct rt_config, http_keepalive_timeout)},
        {"RT_HTTP_BODY_INFLIGHT_KB", "65536", 16, 16777216,
         offsetof(struct rt_config, http_body_inflight_kb)},
        {"RT_HTTP_BODY_INFLIGHT_PER_IP_KB", "8192", 16, 16777216,
         offsetof(struct rt_config, http_body_inflight_per_ip_kb)},
        {"RT_SEND_BUFFER_HARD_KB", "1024", 16, 1048576,
         offsetof(struct rt_config, send_buffer_hard_kb)},
        {"RT_SEND_BUFFER_SOFT_KB", "256", 16, 1048576,
         offsetof(struct rt_config, send_buffer_soft_kb)},
        {"RT_SEND_BUFFER_SOFT_SECONDS", "10", 1, 3600,
         offsetof(struct rt_config, send_buffer_soft_seconds)},
        {"RT_CLOSE_TIMEOUT", "5", 1, 600, offsetof(struct rt_config, close_timeout)},
        {"RT_DRAIN_SECONDS", "10", 0, 3600, offsetof(struct rt_config, drain_seconds)},
        {"RT_METRICS_APPS_MAX", "100", 0, 100000, offsetof(struct rt_config, metrics_apps_max)},
        {"RT_REDIS_MAX_OUTPUT_KB", "65536", 64, 16777216,
         offsetof(struct rt_config, redis_max_output_kb)},
        {"RT_REDIS_WRITE_TIMEOUT", "30", 1, 3600, offsetof(struct rt_config, redis_write_timeout)},
        {"RT_REDIS_REPLY_TIMEOUT", "10", 1, 3600, offsetof(struct rt_config, redis_reply_timeout)},
        {"RT_IP_MAX_CONNECTIONS", "0", 0, 10000000, offsetof(struct rt_config, ip_max_connections)},
        {"RT_IP_CONNECTIONS_PER_SECOND", "0", 0, 1000000,
         offsetof(struct rt_config, ip_connections_per_second)},
        {"RT_IP_AUTH_FAILURES", "300", 0, 1000000, offsetof(struct rt_config, ip_auth_failures)},
        {"RT_IP_BACKOFF_SECONDS", "60", 1, 86400, offsetof(struct rt_config, ip_backoff_seconds)},
        {"RT_WEBHOOK_RETRY_SECONDS", "300", 1, 604800,
         offsetof(struct rt_config, webhook_retry_seconds)},
        {"RT_WEBHOOK_RETRY_BASE_MS", "1000", 10, 60000,
         offsetof(struct rt_config, webhook_retry_base_ms)},
        {"RT_WEBHOOK_DEAD_LETTERS", "1000", 0, 100000,
         offsetof(struct rt_config, webhook_dead_letters)},
    };
    const char *subscribe_rate = env_or("RT_SUBSCRIBE_RATE", "10");
    const char *subscribe_burst = env_or("RT_SUBSCRIBE_BURST", "100");
    const char *wh_pending = env_or("RT_WEBHOOK_MAX_PENDING", "10000");
    const char *wh_pending_kb = env_or("RT_WEBHOOK_MAX_PENDING_KB", "65536");
    const char *wh_app_pending = env_or("RT_WEBHOOK_APP_MAX_PENDING", "1000");
    const char *wh_app_pending_kb = env_or("RT_WEBHOOK_APP_MAX_PENDING_KB", "8192");
    const char *wh_app_concurrency = env_or("RT_WEBHOOK_APP_CONCURRENCY", "4");
    const char *wh_app_rate = env_or("RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND", "100");
    const char *wh_app_burst = env_or("RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST", "1000");

    memset(cfg, 0, sizeof *cfg);
    cfg->config_file = file;
    cfg->database_url = env_or("RT_DATABASE_URL", NULL);
    cfg->redis_url = env_or("RT_REDIS_URL", NULL);
    cfg->host = env_or("RT_HOST", "127.0.0.1");
    cfg->path_prefix = env_or("RT_PATH_PREFIX", "");
    cfg->log_level = env_or("RT_LOG_LEVEL", "info");
    cfg->log_format = env_or("RT_LOG_FORMAT", "text");
    const char *trust_proxy = env_or("RT_TRUST_PROXY", "0");
    const char *redis_cluster = env_or("RT_REDIS_CLUSTER", "0");
    cfg->tls_cert = env_or("RT_TLS_CERT", NULL);
    cfg->tls_key = env_or("RT_TLS_KEY", NULL);

    /* clang-format off */
    static const struct option opts[] = {
        {"database-url", required_argument, 0, 'd'}, {"redis-url", required_argument, 0, 'r'},
        {"master-key", required_argument, 0, 'k'},   {"master-key-file", required_argument, 0, 'K'},
        {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'},         {"path-prefix", required_argument, 0, 'P'},
        {"activity-timeout", required_argument, 0, 'a'},
        {"pong-timeout", required_argument, 0, 'o'}, {"max-connections", required_argument, 0, 'm'},
        {"send-queue-max", required_argument, 0, 'q'}, {"node-id", required_argument, 0, 'n'},
        {"log-level", required_argument, 0, 'l'},    {"help", no_argument, 0, 'h'},
        {"tls-cert", required_argument, 0, 'C'},     {"tls-key", required_argument, 0, 'Y'},
        {"config", required_argument, 0, 'F'},       {"check-config", no_argument, 0, 'x'},
        {"version", no_argument, 0, 'V'},
        {"workers", required_argument, 0, 'W'},
        {0, 0, 0, 0}};
    /* clang-format on */
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            cfg->database_url = optarg;
            break;
        case 'r':
            cfg->redis_url = optarg;
            break;
        case 'k':
            snprintf(err, err_cap,
                     "--master-key is refused: a key on the command line is visible to every "
                     "local user (ps, /proc); put it in a file and pass --master-key-file PATH "
                     "or set RT_MASTER_KEY_FILE");
            return -1;
        case 'K':
            master_file = optarg;
            break;
        case 'H':
            cfg->host = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'P':
            cfg->path_prefix = optarg;
            break;
        case 'a':
            activity = optarg;
            break;
        case 'o':
            pong = optarg;
            break;
        case 'm':
            maxconn = optarg;
            break;
        case 'q':
            queue = optarg;
            break;
        case 'n':
            node = optarg;
            break;
        case 'l':
            cfg->log_level = optarg;
            break;
        case 'C':
            cfg->tls_cert = optarg;
            break;
        case 'W':
            workers = optarg;
            break;
        case 'Y':
            cfg->tls_key = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        case 'V':
            printf("rtserver %s\n", RT_VERSION);
            return 1;
        case 'F':
            break; /* read first, by config_path */
        case 'x':
            cfg->check_only = 1;
            break;
        default:
            snprintf(err, err_cap, "unknown option \"%s\" (see rtserver --help)", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, err_cap, "unexpected argument \"%s\" (see rtserver --help)", argv[optind]);
        return -1;
    }
    if (strcmp(trust_proxy, "0") != 0 && strcmp(trust_proxy, "1") != 0) {
        snprintf(err, err_cap, "RT_TRUST_PROXY must be 0 or 1 (got \"%s\")", trust_proxy);
        return -1;
    }
    cfg->trust_proxy = trust_proxy[0] == '1';
    if (strcmp(redis_cluster, "0") != 0 && strcmp(redis_cluster, "1") != 0) {
        snprintf(err, err_cap, "RT_REDIS_CLUSTER must be 0 or 1 (got \"%s\")", redis_cluster);
        return -1;
    }
    cfg->redis_cluster = redis_cluster[0] == '1';
    if (!cfg->database_url) {
        snprintf(err, err_cap,
                 "RT_DATABASE_URL is not set (e.g. postgresql://user@127.0.0.1:5432/realtime)");
        return -1;
    }
    if (rt_master_key_load(master_file, cfg->master_key, err, err_cap) != 0) return -1;
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, err_cap,
                 "%s is set but %s is not: TLS needs both the certificate and its key",
                 cfg->tls_cert ? "RT_TLS_CERT" : "RT_TLS_KEY",
                 cfg->tls_cert ? "RT_TLS_KEY" : "RT_TLS_CERT");
        return -1;
    }
    if (cfg->redis_url && strncmp(cfg->redis_url, "redis://", 8) != 0) {
        snprintf(err, err_cap, "RT_REDIS_URL must look like redis://host:port (got \"%s\")",
                 cfg->redis_url);
        return -1;
    }
    if (cfg->redis_cluster && !cfg->redis_url) {
        snprintf(err, err_cap, "RT_REDIS_CLUSTER=1 needs RT_REDIS_URL (the cluster's seed nodes)");
        return -1;
    }
    if (cfg->redis_url && !cfg->redis_cluster && strchr(cfg->redis_url, ',')) {
        snprintf(err, err_cap,
                 "RT_REDIS_URL lists several hosts: set RT_REDIS_CLUSTER=1 for a Redis Cluster");
        return -1;
    }
    if (parse_int("RT_PORT", port, 1, 65535, &cfg->port, err, err_cap) ||
        parse_int("RT_ACTIVITY_TIMEOUT", activity, 1, 3600, &cfg->activity_timeout, err, err_cap) ||
        parse_int("RT_PONG_TIMEOUT", pong, 1, 600, &cfg->pong_timeout, err, err_cap) ||
        parse_int("RT_MAX_CONNECTIONS", maxconn, 0, 10000000, &cfg->max_connections, err,
                  err_cap) ||
        parse_int("RT_SEND_QUEUE_MAX", queue, 1, 1000000, &cfg->send_queue_max, err, err_cap) ||
        parse_int("RT_MAX_HTTP_BODY_KB", body, 16, 65536, &cfg->max_http_body_kb, err, err_cap) ||
        parse_int("RT_DB_WAIT", db_wait, 0, 3600, &cfg->db_wait_seconds, err, err_cap) ||
        parse_int("RT_AUTHORIZE_TIMEOUT", authorize, 1, 3600, &cfg->authorize_timeout, err,
                  err_cap) ||
        parse_int("RT_SUBSCRIBE_RATE", subscribe_rate, 0, 100000, &cfg->subscribe_rate, err,
                  err_cap) ||
        parse_int("RT_SUBSCRIBE_BURST", subscribe_burst, 1, 100000, &cfg->subscribe_burst, err,
                  err_cap) ||
        parse_int("RT_WEBHOOK_MAX_PENDING", wh_pending, 1, 10000000, &cfg->webhook_max_pending, err,
                  err_cap) ||
        parse_int("RT_WEBHOOK_MAX_PENDING_KB", wh_pending_kb, 64, 16777216,
                  &cfg->webhook_max_pending_kb, err, err_cap) ||
        parse_int("RT_WEBHOOK_APP_MAX_PENDING", wh_app_pending, 1, 10000000,
                  &cfg->webhook_app_max_pending, err, err_cap) ||
        parse_int("RT_WEBHOOK_APP_MAX_PENDING_KB", wh_app_pending_kb, 64, 16777216,
                  &cfg->webhook_app_max_pending_kb, err, err_cap) ||
        parse_int("RT_WEBHOOK_APP_CONCURRENCY", wh_app_concurrency, 1, 32,
                  &cfg->webhook_app_concurrency, err, err_cap) ||
        parse_int("RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND", wh_app_rate, 0, 1000000,
                  &cfg->webhook_app_channel_events_per_second, err, err_cap) ||
        parse_int("RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST", wh_app_burst, 1, 10000000,
                  &cfg->webhook_app_channel_events_burst, err, err_cap))
        return -1;
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        if (parse_int(bounds[i].name, env_or(bounds[i].name, bounds[i].fallback), bounds[i].min,
                      bounds[i].max, (int *)((char *)cfg + bounds[i].offset), err, err_cap))
            return -1;
    if (cfg->send_buffer_soft_kb > cfg->send_buffer_hard_kb)
        cfg->send_buffer_soft_kb = cfg->send_buffer_hard_kb;
    cfg->workers = 1;
    if (workers && strcmp(workers, "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n > 0 ? (int)n : 1;
    } else if (workers && parse_int("RT_WORKERS", workers, 1, 64, &cfg->workers, err, err_cap)) {
        return -1;
    }
    if (cfg->workers > 1 && !cfg->redis_url) {
        snprintf(err, err_cap,
                 "RT_WORKERS=%d needs RT_REDIS_URL: workers are cluster nodes that share state "
                 "through Redis",
                 cfg->workers);
        return -1;
    }
    if (node) {
        cfg->node_id_explicit = 1;
        int id;
        if (parse_int("RT_NODE_ID", node, 0, 999999, &id, err, err_cap)) return -1;
        cfg->node_id = (uint32_t)id;
    } else {
        cfg->node_id = rt_random_node_id();
    }
    if (cfg->path_prefix[0] &&
        (cfg->path_prefix[0] != '/' || cfg->path_prefix[strlen(cfg->path_prefix) - 1] == '/')) {
        snprintf(err, err_cap,
                 "RT_PATH_PREFIX must start with '/' and not end with one (got \"%s\")",
                 cfg->path_prefix);
        return -1;
    }
    if (rt_log_set_format_name(cfg->log_format) != 0) {
        snprintf(err, err_cap, "RT_LOG_FORMAT must be text or json (got \"%s\")", cfg->log_format);
        return -1;
    }
    if (rt_log_set_level_name(cfg->log_level) != 0) {
        snprintf(err, err_cap, "RT_LOG_LEVEL must be debug, info, warn or error (got \"%s\")",
                 cfg->log_level);
        return -1;
    }
    return 0;
}

uint32_t rt_random_node_id(void)
{
    return randombytes_uniform(900000) + 100000;
}
