/* The supervisor of RT_WORKERS processes: fork, watch, restart with back-off, forward signals. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

#define MAX_WORKERS 64
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define HEALTHY_AFTER_MS 60000 /* a worker up this long resets its back-off */

static volatile sig_atomic_t got_term, got_hup;

static void on_term(int sig)
{
    (void)sig;
    got_term++;
}

static void on_hup(int sig)
{
    (void)sig;
    got_hup = 1;
}

static void on_child(int sig)
{
    (void)sig; /* only interrupts sigsuspend */
}

static struct {
    pid_t pid;
    uint64_t started_ms, restart_at_ms;
    unsigned backoff_ms;
} w[MAX_WORKERS];

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Returns 0 in the child (worker index set), 1 in the parent, -1 when fork failed. */
static int start_worker(int i)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        rt_srv.worker = i;
        /* Each worker is its own cluster node: consecutive ids from an explicit RT_NODE_ID,
         * else a fresh random one (claimed in Redis like any node id). */
        if (rt_srv.cfg.node_id_explicit)
            rt_srv.cfg.node_id += (uint32_t)i;
        else
            rt_srv.cfg.node_id = rt_random_node_id();
        return 0;
    }
    w[i].pid = pid;
    w[i].started_ms = mono_ms();
    return 1;
}

static void forward(int sig, int workers)
{
    for (int i = 0; i < workers; i++)
        if (w[i].pid > 0) kill(w[i].pid, sig);
}

bool rt_supervisor_run(int workers, int *exit_code)
{
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);
    /* Signals are handled only inside sigsuspend, so none is lost between checks. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);

    for (int i = 0; i < workers; i++) {
        int rc = start_worker(i);
        if (rc == 0) return false;
        if (rc < 0) {
            fprintf(stderr, "rtserver: cannot start worker %d: %s\n", i, strerror(errno));
            forward(SIGTERM, i);
            *exit_code = 1;
            return true;
        }
    }
    rt_log_info("supervisor: %d workers started (pid %d)", workers, (int)getpid());
    int terms = 0;
    for (;;) {
        pid_t pid;
        int st;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < workers; i++) {
                if (w[i].pid != pid) continue;
                w[i].pid = 0;
                if (terms) break;
                uint64_t now = mono_ms();
                if (now - w[i].started_ms > HEALTHY_AFTER_MS) w[i].backoff_ms = 0;
                w[i].backoff_ms = w[i].backoff_ms ? w[i].backoff_ms * 2 : BACKOFF_MIN_MS;
                if (w[i].backoff_ms > BACKOFF_MAX_MS) w[i].backoff_ms = BACKOFF_MAX_MS;
                w[i].restart_at_ms = now + w[i].backoff_ms;
                rt_log_warn("supervisor: worker %d (pid %d) %s %d; restarting in %u ms", i,
                            (int)pid, WIFSIGNALED(st) ? "killed by signal" : "exited with",
                            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), w[i].backoff_ms);
            }
        }
        if (got_term && terms < got_term) {
            terms = got_term;
            /* A second SIGTERM is forwarded too: workers then exit at once. */
            forward(SIGTERM, workers);
        }
        if (got_hup) {
            got_hup = 0;
            forward(SIGHUP, workers);
        }
        bool alive = false;
        uint64_t now = mono_ms(), next = 0;
        for (int i = 0; i < workers; i++) {
            if (w[i].pid > 0) {
                alive = true;
                continue;
            }
            if (terms) continue;
            if (now >= w[i].restart_at_ms) {
                int rc = start_worker(i);
                if (rc == 0) return false;
                alive = alive || rc > 0;
            } else if (!next || w[i].restart_at_ms < next) {
                next = w[i].restart_at_ms;
            }
        }
        if (terms && !alive) {
            rt_log_info("supervisor: all workers stopped");
            *exit_code = 0;
            return true;
        }
        /* Sleep until a signal, or until the next restart is due. */
        struct timespec ts = {(time_t)((next - now) / 1000),
                              (long)((next - now) % 1000) * 1000000L};
        pselect(0, NULL, NULL, NULL, next ? &ts : NULL, &old); /* unblocks signals atomically */
    }
}
