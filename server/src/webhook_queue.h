/* The cluster-wide, durable webhook queue in Redis (docs/webhooks.md "Delivery guarantee"),
 * used by webhook.c while the registry is active (RT_REDIS_URL and Redis reachable):
 *
 *   rt:{A}:wh:held   hash  held id ('v'+channel, 'r'+channel+0x1f+user) -> spec \n event
 *   rt:{A}:wh:due    zset  held id -> when its settle window ends (ms)
 *   rt:{A}:wh:e:W    list  events waiting for webhook W's batch window
 *   rt:{A}:wh:first  hash  W -> when W's open window started (ms)
 *   rt:{A}:wh:spec   hash  W -> "window_ms:batch_max"
 *   rt:{A}:wh:q      stream of requests (w webhook, t queued ms, b body, r request id), group
 *                    "d": each node reads with its node id as consumer; an entry is deleted
 *                    once answered 2xx or given up
 *   rt:{A}:wh:dead   list  given-up requests (JSON, newest first, capped)
 *   rt:{A}:wh:st     hash  W -> the endpoint's last status (JSON)
 *   rt:{A}:wh:sc     hash  channel -> the last subscription_count event queued (until the
 *                    channel is vacated): several nodes broadcasting the same total queue it
 *                    once
 *
 * Scripts decide each step once for the cluster: a held vacated is cancelled by the occupied
 * of any node, a batch is formed by exactly one script run, a request is read by one node.
 * Entries a node holds stay pending in the group; the node refreshes their idle time while it
 * retries, and any node claims entries idle for WHQ_CLAIM_IDLE_MS (their node died). */
#ifndef RT_WEBHOOK_QUEUE_H
#define RT_WEBHOOK_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define WHQ_CLAIM_IDLE_MS 10000u

void rt_whq_start(uv_loop_t *loop);
void rt_whq_stop(void);

/* Queues event_json (compact JSON of one event) for app_id. kind: 'o' channel_occupied and
 * 'a' member_added (each cancels a held 'v' / 'r' of the same hold_id, and is then dropped
 * with it), 'v' channel_vacated and 'r' member_removed (held settle_ms), 'c' a
 * subscription_count (hold_id: the channel; dropped when equal to the last one queued), 'x'
 * any other.
 * spec lists the webhooks that want it, "W:window_ms:batch_max,..." (may be empty for 'v'/'r':
 * the hold still cancels its pair). Returns -1 when the command could not be sent (Redis just
 * went away): the caller queues the event in memory instead. */
int rt_whq_event(const char *app_id, char kind, const char *hold_id, const char *event_json,
                 const char *spec, int min_window_ms, int settle_ms, size_t app_max_pending);

/* The request entry was answered 2xx / was given up (record: the dead-letter JSON). status:
 * the endpoint's new last-status JSON. */
void rt_whq_delivered(const char *app_id, const char *entry, long long wid, const char *status);
void rt_whq_dead(const char *app_id, const char *entry, long long wid, const char *status,
                 const char *record, int keep);

/* A failed attempt that will be retried: records the endpoint's last status. */
void rt_whq_status(const char *app_id, long long wid, const char *status);

/* Reads more requests of app_id now (a slot freed up, or a batch was formed here). */
void rt_whq_kick(const char *app_id);

/* Answers for the REST routes (webhook.c): done(ctx, json) with json NULL when Redis could not
 * answer; each returns -1 (done is not called) when the command could not be sent. state:
 * {"last":{W:status,...},"queued":N,"dead_letters":N}; failures: {"failures": [record, ...]} newest
 * first; requeue: {"requeued":N}. */
typedef void rt_whq_done(uint64_t ctx, json_t *result);
int rt_whq_state(const char *app_id, uint64_t ctx, rt_whq_done *done);
int rt_whq_failures(const char *app_id, int limit, uint64_t ctx, rt_whq_done *done);
int rt_whq_requeue(const char *app_id, uint64_t ctx, rt_whq_done *done);

/* ---- provided by webhook.c for the queue ---- */

/* Requests of app_id this node would start (or hold for retry) now: 0 when its share is used. */
size_t rt_webhook_budget(const char *app_id);

/* A request read from the queue: starts delivering it (or drops it when its webhook is gone). */
void rt_webhook_take(const char *app_id, const char *entry, long long wid, const char *request_id,
                     const char *body, uint64_t queued_ms);

/* True when this node already holds entry of app_id (a claim can return it again). */
bool rt_webhook_holds(const char *app_id, const char *entry);

/* Calls fn for each entry this node holds for app_id (to refresh their idle time). */
void rt_webhook_each_entry(const char *app_id, void (*fn)(const char *entry, void *ctx), void *ctx);

/* Counts n events of app_id the queue refused: the app's queue is full. */
void rt_webhook_queue_full(const char *app_id, size_t n);

/* The app's cluster-wide backlog as last seen (requests queued + events waiting). */
void rt_webhook_backlog(const char *app_id, size_t n);

#endif
