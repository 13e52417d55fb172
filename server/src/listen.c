/* The listening socket: accept4 under a file-descriptor budget, handed to libwebsockets. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "server.h"
#include "tls.h"

#define ACCEPTS_PER_WAKEUP 64 /* so that a connection storm cannot hold the loop */

static struct {
    uv_poll_t poll;
    int fd;
    int spare_fd; /* held back so a connection can be refused cleanly at EMFILE */
    bool polling, started;
    uint64_t last_emfile_log_ms;
} ls = {.fd = -1, .spare_fd = -1};

static void on_readable(uv_poll_t *h, int status, int events);

static void set_polling(bool on)
{
    if (!ls.started || on == ls.polling) return;
    ls.polling = on;
    if (on)
        uv_poll_start(&ls.poll, UV_READABLE, on_readable);
    else
        uv_poll_stop(&ls.poll);
}

void rt_listen_sockets_changed(size_t open_sockets)
{
    /* At the budget new connections wait in the kernel's backlog (the client sees a slow
     * connect, not a reset) until a socket closes. */
    set_polling(open_sockets < (size_t)rt_srv.fd_limit);
}

/* accept() failed for lack of descriptors although we stay under our budget (something else
 * holds files): refuse the oldest pending connection with the spare descriptor, or the
 * listening socket stays readable and the loop would spin. */
static void refuse_one(void)
{
    uint64_t now = rt_now_ms();
    if (now - ls.last_emfile_log_ms > 10000) {
        rt_log_warn("accept: out of file descriptors; refusing connections");
        ls.last_emfile_log_ms = now;
    }
    rt_srv.refused_capacity++;
    if (ls.spare_fd >= 0) {
        close(ls.spare_fd);
        int fd = accept(ls.fd, NULL, NULL);
        if (fd >= 0) close(fd);
        ls.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
}

static void adopt(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    lws_sock_file_fd_type desc;
    desc.sockfd = fd;
    /* Raw socket: net.c speaks HTTP and WebSocket on it; lws does the TLS handshake first
     * when the vhost has a certificate. On failure lws closes fd. */
    if (!lws_adopt_descriptor_vhost(rt_tls_current(), LWS_ADOPT_SOCKET | LWS_ADOPT_ALLOW_SSL,
                                    desc, "realtime", NULL))
        rt_log_warn("accept: libwebsockets could not adopt a socket");
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)events;
    if (status < 0) return;
    for (int i = 0; i < ACCEPTS_PER_WAKEUP && ls.polling; i++) {
        int fd = accept4(ls.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            adopt(fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) refuse_one();
        return; /* EAGAIN: the backlog is empty */
    }
}

int rt_listen_open(const char *host, int port, char *err, size_t err_cap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, err_cap, "cannot listen on %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Workers (RT_WORKERS) each bind the same port; the kernel spreads connections. */
    if (fd >= 0 && rt_srv.cfg.workers > 1) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, err_cap, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    ls.fd = fd;
    return 0;
}

void rt_listen_start(uv_loop_t *loop)
{
    ls.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    uv_poll_init_socket(loop, &ls.poll, ls.fd);
    ls.started = true;
    set_polling(true);
}

void rt_listen_stop(void)
{
    if (ls.started) {
        set_polling(false);
        ls.started = false;
        uv_close((uv_handle_t *)&ls.poll, NULL);
    }
    if (ls.fd >= 0) close(ls.fd);
    ls.fd = -1;
    if (ls.spare_fd >= 0) close(ls.spare_fd);
    ls.spare_fd = -1;
}
