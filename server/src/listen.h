/* The listening socket is ours (libuv poll + accept4): accepting stops while the node holds
 * its file-descriptor budget instead of spinning on EMFILE, and accepted sockets are handed
 * to libwebsockets as raw sockets (net.c). */
#ifndef RT_LISTEN_H
#define RT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Binds and listens on host:port (a name or address), before anything else starts, so that a
 * taken port ends the process at once. Returns 0, or -1 with one line in err naming the
 * address and the error. */
int rt_listen_open(const char *host, int port, char *err, size_t err_cap);

/* Starts accepting on loop into the current vhost (tls.c). */
void rt_listen_start(uv_loop_t *loop);

/* Stops accepting and closes the listening socket (at shutdown or when draining). */
void rt_listen_stop(void);

/* net.c reports sockets it holds: accepting pauses at the budget and resumes below it. */
void rt_listen_sockets_changed(size_t open_sockets);

#endif
