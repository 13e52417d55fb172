/* Webhooks (PROTOCOL.md §15): events about channels, members, client events and cache misses
 * POSTed to each app's configured URLs in batches, signed, retried with back-off and jitter
 * for RT_WEBHOOK_RETRY_SECONDS, then kept in the app's dead letters. channel_vacated and
 * member_removed are held for 3 s and dropped when the channel is re-occupied (or the member
 * re-added) within that window, together with the matching occupied/added. In a cluster the
 * queue is durable and shared (webhook_queue.h); standalone it is in memory.
 *
 * Delivery is bounded (docs/webhooks.md "Limits"): each app has its own FIFO and at most
 * RT_WEBHOOK_APP_CONCURRENCY requests in flight, apps are served round-robin, and what an
 * app and the node hold (waiting, retrying, in flight, held) is capped in count and bytes.
 * Channel events (everything but client_event) also pass a per-app token bucket. What does
 * not fit is dropped, counted in /metrics and reported in the log at most every 10 s per
 * app. */
#ifndef RT_WEBHOOK_H
#define RT_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

struct rt_app;

#define RT_WEBHOOK_SETTLE_MS 3000
/* Requests in flight on the node (main.c keeps file descriptors back for them). */
#define RT_WEBHOOK_NODE_CONCURRENCY 32

/* Reads the limits from rt_srv.cfg. Returns 0, or -1 when libcurl cannot start. */
int rt_webhooks_start(uv_loop_t *loop);
void rt_webhooks_stop(void);

/* Draining: sends held events now instead of at the end of their settle window. Returns the
 * deliveries still pending (waiting, in flight, retrying). */
size_t rt_webhooks_flush(void);

/* Events reach webhooks as channel transitions (rt_transition.h): started webhooks listen. */

struct rt_query;
struct rt_rest_response;

/* The webhook routes of the HTTP API (docs/rest-api.md "Webhook status"), for a verified
 * request of app: GET /webhooks, GET /webhooks/failures?limit=N, POST /webhooks/retry (rest is
 * the path after /apps/{id}). Returns false when rest is not one of them. */
bool rt_webhooks_route(struct rt_app *app, const char *method, const char *rest,
                       const struct rt_query *q, uint64_t request_id, struct rt_rest_response *out);

/* Writes the node-wide rt_webhooks_* series and the # TYPE lines of the per-app
 * rt_app_webhooks_* series to f (Prometheus text, as in metrics.c). */
void rt_webhooks_write_metrics(FILE *f);

/* Writes the rt_app_webhooks_* series of app_id to f; zeros for an app without webhook
 * traffic yet. */
void rt_webhooks_write_app_metrics(FILE *f, const char *app_id);

#endif
