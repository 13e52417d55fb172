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
#include "cluster.h"
#include "conn.h"
#include "harden.h"
#include "iplimit.h"
#include "log.h"
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
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024 - FD_RESERVE;
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

static void close_app_conns(struct rt_app *app, void *ctx)
{
    (void)ctx;
    for (struct rt_conn *c = app->conns; c; c = c->app_next)
        rt_conn_fail(c, 4200, "Server shutting down, reconnect immediately");
}

static void stop_loop(uv_timer_t *t)
{
    (void)t;
    uv_stop(rt_srv.loop);
}

/* SIGTERM/SIGINT: tell clients to reconnect elsewhere (4200), give the close frames a moment
 * to go out, then stop. */
static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    if (rt_srv.draining)
        return;
    rt_log_info("signal %d: draining %zu connections", signum, rt_conn_total());
    rt_srv.draining = true;
    rt_apps_each(close_app_conns, NULL);
    uv_timer_start(&drain_timer, stop_loop, rt_conn_total() ? 300 : 0, 0);
}

/* SIGHUP: reload what can change live (the TLS certificate). */
static void on_hangup(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    rt_tls_reload();
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
    if (rc == 1)
        return 0;
    if (rc != 0) {
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
    if (rt_srv.cfg.max_connections == 0 || rt_srv.cfg.max_connections > rt_srv.fd_limit - HTTP_RESERVE)
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
    if (rt_srv.cfg.tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.pt_serv_buf_size = 16384;
    rt_srv.lws = lws_create_context(&info);
    struct lws_vhost *vhost = NULL;
    if (rt_srv.lws)
        vhost = rt_tls_start(rt_srv.lws, protos, rt_srv.cfg.tls_cert, rt_srv.cfg.tls_key);
    if (!vhost) {
        fprintf(stderr, "rtserver: libwebsockets failed to initialise\n");
        rt_listen_stop();
        if (rt_srv.lws)
            lws_context_destroy(rt_srv.lws);
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
    rt_registry_start();
    if (rt_webhooks_start(&loop) != 0)
        rt_log_error("webhooks disabled: libcurl failed to initialise");

    rt_log_info("rtserver listening on %s:%d (node %06u, %s, up to %d WebSockets)",
                rt_srv.cfg.host, rt_srv.cfg.port, rt_srv.cfg.node_id,
                rt_srv.cfg.redis_url ? "cluster via Redis" : "standalone",
                rt_srv.cfg.max_connections);

    uv_run(&loop, UV_RUN_DEFAULT);

    /* Close our own handles, let lws close its own (it finishes in close callbacks on the
     * loop), then run the loop until nothing is left. */
    rt_listen_stop();
    rt_broker_stop();
    rt_registry_stop();
    rt_store_stop();
    rt_timers_stop();
    rt_webhooks_stop();
    rt_cluster_stop();
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_hup, NULL);
    uv_close((uv_handle_t *)&sweep_timer, NULL);
    uv_close((uv_handle_t *)&drain_timer, NULL);
    lws_context_destroy(rt_srv.lws);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        rt_log_warn("event loop closed with handles still open");
    rt_apps_free_all();
    rt_log_info("rtserver stopped");
    return 0;
}
