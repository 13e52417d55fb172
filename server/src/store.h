/* PostgreSQL: loads apps and keys at start, then follows changes with LISTEN/NOTIFY on a
 * non-blocking connection driven by the loop, reconnecting with back-off. */
#ifndef RT_STORE_H
#define RT_STORE_H

#include <uv.h>

/* Blocking initial load (before the loop runs), retrying for up to wait_seconds while the
 * database is unreachable. Returns 0, or -1 with one line in err (unreachable, schema not
 * migrated, wrong master key). */
int rt_store_load_initial(const char *url, char *err, size_t err_cap, int wait_seconds);

/* Starts following changes on loop. Before each connection attempt the URL's host names are
 * resolved on libuv's thread pool and libpq is given the addresses (hostaddr), so DNS never
 * blocks the loop. */
int rt_store_start(uv_loop_t *loop, const char *url);

void rt_store_stop(void);

#endif
