/* rtserver: configuration, the libuv loop shared by lws, libpq and hiredis, and shutdown. */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sodium.h>
#include <uv.h>

#include "app.h"
#include "broker.h"
#include "cache.h"
#include "check.h"
#include "cluster.h"
#include "conn.h"
#include "harden.h"
#include "ingest.h"
#include "iplimit.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "server.h"
#include "listen.h"
#include "store.h"
#include "supervisor.h"
#include "timer.h"
#include "tls.h"
#include "webhook.h"

struct rt_server rt_srv;

void rt_server_count_close(int code)
{
    for (int i = 0; i < RT_CLOSE_CODES_MAX; i++) {
        if (rt_srv.closes[i].code == code || rt_srv.closes[i].code == 0) {
            rt_srv.closes[i].code = code;
            rt_srv.closes[i].count++;
            return;
        }
    }
}

/* File descriptors kept back from client sockets for PostgreSQL, Redis, webhooks (32 in
 * flight) and logs, so that a full house of sockets never starves the server's own
 * connections: listen.c stops accepting at the budget, and accept() never fails with EMFILE,
 * which would leave the listening socket readable and spin the loop. */
#define FD_RESERVE 128
/* Of the socket budget, this many stay free for REST requests when WebSockets fill the rest. */
#define HTTP_RESERVE 32

static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t sweep_timer, drain_timer;

/* Raises the soft RLIMIT_NOFILE to the hard limit and returns how many client sockets the
 * node may hold. */
static int raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024 - FD_RESERVE;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    long n = (long)rl.rlim_cur - FD_RESERVE;
    return n > 2 * HTTP_RESERVE ? (int)n : 2 * HTTP_RESERVE;
}

static void sweep_app(struct rt_app *app, void *ctx)
{
    (void)ctx;
    rt_cache_sweep(app);
}

static void on_sweep(uv_timer_t *t)
{
    (void)t;
    rt_apps_each(sweep_app, NULL);
    rt_ip_sweep();
}

/* ---- graceful drain ----------------------------------------------------------------------
 * SIGTERM/SIGINT: /ready answers 503 (rt_srv.draining), the listening socket closes, and the
 * node's clients are asked to reconnect (4200) evenly over RT_DRAIN_SECONDS so that they do
 * not all land on the other nodes at once. REST requests under way are answered and pending
 * webhooks delivered; the loop stops once nothing is left, or RT_CLOSE_TIMEOUT seconds after
 * the window whatever is left. A second signal stops at once. */
#define DRAIN_TICK_MS 50

static struct {
    uint64_t started_ms, window_ms, deadline_ms;
    size_t total;  /* connections when the drain began */
    size_t closed; /* of those, asked to reconnect so far */
} drain;

static void close_some(struct rt_app *app, void *ctx)
{
    size_t *n = ctx;
    struct rt_conn *c = app->conns, *next;
    for (; c && *n; c = next) {
        next = c->app_next;
        if (c->closing) continue;
        rt_conn_fail(c, 4200, "Server shutting down, reconnect immediately");
        (*n)--;
        drain.closed++;
    }
}

static void on_drain_tick(uv_timer_t *t)
{
    uint64_t now = rt_now_ms(), elapsed = now - drain.started_ms;
    /* Connection i (from 0) is due at i * window / total; all at once with no window. */
    size_t due = drain.total;
    if (elapsed < drain.window_ms) due = (size_t)(elapsed * drain.total / drain.window_ms) + 1;
    if (due > drain.total) due = drain.total;
    size_t n = due > drain.closed ? due - drain.closed : 0;
    if (n) rt_apps_each(close_some, &n);
    if (n) drain.closed = drain.total; /* fewer left than due: the others went by themselves */
    if (drain.closed < drain.total) return;
    /* Everyone was asked: the node is leaving, held webhooks go out now. */
    size_t webhooks = rt_webhooks_flush();
    bool http = rt_http_busy();
    if (rt_conn_total() == 0 && !http && webhooks == 0) {
        rt_log_info("drained: stopping");
        uv_timer_stop(t);
        uv_stop(rt_srv.loop);
    } else if (now >= drain.deadline_ms) {
        rt_log_warn("drain deadline: stopping with %zu connections, %s, %zu webhooks pending",
                    rt_conn_total(), http ? "REST requests under way" : "no REST request",
                    webhooks);
        uv_timer_stop(t);
        uv_stop(rt_srv.loop);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    if (rt_srv.draining) {
        rt_log_info("second signal: exiting now (%zu connections)", rt_conn_total());
        uv_stop(rt_srv.loop);
        return;
    }
    rt_srv.draining = true;
    rt_listen_stop();
    drain.started_ms = rt_now_ms();
    drain.window_ms = (uint64_t)rt_srv.cfg.drain_seconds * 1000;
    drain.total = rt_conn_total();
    drain.closed = 0;
    drain.deadline_ms =
        drain.started_ms + drain.window_ms + (uint64_t)rt_srv.cfg.close_timeout * 1000;
    rt_log_info("signal %d: not ready, not accepting; draining %zu connections over %d s", signum,
                drain.total, rt_srv.cfg.drain_seconds);
    uv_timer_start(&drain_timer, on_drain_tick, 0, DRAIN_TICK_MS);
}

/* SIGHUP: reloads the TLS certificate (tls.c logs the outcome) and, with a config file, the
 * log level from it. Every other setting keeps its value from the start
 * (docs/configuration.md). A new level is announced at warn, so that it shows at any level. */
static void on_hangup(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    static char level[16];
    char next[16], err[512];
    rt_tls_reload();
    const char *file = rt_srv.cfg.config_file;
    int rc = file ? rt_config_reread_log_level(file, next, sizeof next, err, sizeof err) : 0;
    if (rc < 0) {
        rt_log_error("SIGHUP: %s; log level %s kept", err, rt_srv.cfg.log_level);
    } else if (rc == 0) {
        rt_log_info("SIGHUP: log level %s kept; other settings need a restart",
                    rt_srv.cfg.log_level);
    } else {
        memcpy(level, next, sizeof level);
        rt_log_set_level_name(level);
        rt_srv.cfg.log_level = level;
        rt_log_warn("SIGHUP: log level %s (from %s); other settings need a restart", level, file);
    }
}

int main(int argc, char **argv)
{
    char err[512];
    rt_process_harden();
    if (sodium_init() < 0) {
        fprintf(stderr, "rtserver: libsodium failed to initialise\n");
        return 1;
    }
    int rc = rt_config_load(&rt_srv.cfg, argc, argv, err, sizeof err);
    if (rc == 1) return 0;
    if (rc != 0) {
        fprintf(stderr, "rtserver: %s\n", err);
        return 2;
    }
    if (rt_srv.cfg.check_only) {
        if (rt_check_config(&rt_srv.cfg, err, sizeof err) == 0) return 0;
        fprintf(stderr, "rtserver: %s\n", err);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (rt_srv.cfg.workers > 1) {
        int code;
        if (rt_supervisor_run(rt_srv.cfg.workers, &code))
            return code;
    }
    srandom((unsigned)randombytes_random());
    rt_srv.fd_limit = raise_fd_limit();
    if (rt_srv.cfg.max_connections == 0 ||
        rt_srv.cfg.max_connections > rt_srv.fd_limit - HTTP_RESERVE)
        rt_srv.cfg.max_connections = rt_srv.fd_limit - HTTP_RESERVE;

    if (rt_srv.cfg.tls_cert &&
        rt_tls_check(rt_srv.cfg.tls_cert, rt_srv.cfg.tls_key, err, sizeof err) != 0) {
        fprintf(stderr, "rtserver: %s\n", err);
        return 2;
    }
    if (rt_listen_open(rt_srv.cfg.host, rt_srv.cfg.port, err, sizeof err) != 0) {
        fprintf(stderr, "rtserver: %s\n", err);
        return 1;
    }
    if (rt_store_load_initial(rt_srv.cfg.database_url, err, sizeof err,
                              rt_srv.cfg.db_wait_seconds) != 0) {
        fprintf(stderr, "rtserver: %s\n", err);
        rt_listen_stop();
        rt_apps_free_all();
        return 1;
    }

    static uv_loop_t loop;
    uv_loop_init(&loop);
    rt_srv.loop = &loop;

    /* RT_LWS_LOG: libwebsockets' own log bitmask (1 err, 2 warn, 4 notice, 8 info...), for
     * debugging the network layer. */
    const char *lws_log = getenv("RT_LWS_LOG");
    lws_set_log_level(lws_log ? atoi(lws_log) : LLL_ERR, NULL);
    /* Every accepted socket is a raw socket: we speak HTTP/1.1 and WebSocket on it ourselves
     * (http.c, ws.c), so that frame checks, buffers, writes and deadlines are ours. */
    static struct lws_protocols protos[2];
    protos[0].name = "realtime";
    protos[0].callback = (lws_callback_function *)rt_net_callback;
    protos[0].per_session_data_size = rt_net_session_size();

    void *foreign[1] = {&loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    /* No fd_limit_per_thread: lws then sizes its socket table to RLIMIT_NOFILE and finds a
     * socket by direct index (a smaller limit makes it scan the table on every event). The
     * budget is ours (listen.c). */
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (rt_srv.cfg.tls_cert) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.pt_serv_buf_size = 16384;
    rt_srv.lws = lws_create_context(&info);
    struct lws_vhost *vhost = NULL;
    if (rt_srv.lws)
        vhost = rt_tls_start(rt_srv.lws, protos, rt_srv.cfg.tls_cert, rt_srv.cfg.tls_key);
    if (!vhost) {
        fprintf(stderr, "rtserver: libwebsockets failed to initialise\n");
        rt_listen_stop();
        if (rt_srv.lws) lws_context_destroy(rt_srv.lws);
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        rt_apps_free_all();
        return 1;
    }
    rt_listen_start(&loop);

    uv_signal_init(&loop, &sig_term);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_init(&loop, &sig_int);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_init(&loop, &sig_hup);
    uv_signal_start(&sig_hup, on_hangup, SIGHUP);
    uv_timer_init(&loop, &sweep_timer);
    uv_timer_start(&sweep_timer, on_sweep, 60000, 60000);
    uv_timer_init(&loop, &drain_timer);
    rt_store_start(&loop, rt_srv.cfg.database_url);
    if (rt_srv.cfg.redis_url &&
        rt_cluster_start(&loop, rt_srv.cfg.redis_url, err, sizeof err) != 0) {
        fprintf(stderr, "rtserver: %s\n", err);
        return 2;
    }
    rt_timers_start(&loop);
    rt_metrics_start(&loop);
    rt_registry_start();
    rt_ingest_start();
    if (rt_webhooks_start(&loop) != 0)
        rt_log_error("webhooks disabled: libcurl failed to initialise");

    rt_log_info("rtserver listening on %s:%d (node %06u, %s, up to %d WebSockets)", rt_srv.cfg.host,
                rt_srv.cfg.port, rt_srv.cfg.node_id,
                rt_srv.cfg.redis_url ? "cluster via Redis" : "standalone",
                rt_srv.cfg.max_connections);

    uv_run(&loop, UV_RUN_DEFAULT);

    /* Close our own handles, let lws close its own (it finishes in close callbacks on the
     * loop), then run the loop until nothing is left. */
    rt_listen_stop();
    rt_broker_stop();
    rt_ingest_stop();
    rt_registry_stop();
    rt_store_stop();
    rt_timers_stop();
    rt_metrics_stop();
    rt_webhooks_stop();
    rt_cluster_stop();
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_hup, NULL);
    uv_close((uv_handle_t *)&sweep_timer, NULL);
    uv_close((uv_handle_t *)&drain_timer, NULL);
    lws_context_destroy(rt_srv.lws);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) rt_log_warn("event loop closed with handles still open");
    rt_apps_free_all();
    rt_log_info("rtserver stopped");
    return 0;
}
