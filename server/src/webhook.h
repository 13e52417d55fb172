/* Webhooks (PROTOCOL.md §15): events about channels, members, client events and cache misses
 * POSTed to each app's configured URLs, signed, retried with back-off for 5 minutes.
 * channel_vacated and member_removed are held for 3 s and dropped when the channel is
 * re-occupied (or the member re-added) within that window, together with the matching
 * occupied/added. */
#ifndef RT_WEBHOOK_H
#define RT_WEBHOOK_H

#include <jansson.h>
#include <uv.h>

struct rt_app;

#define RT_WEBHOOK_SETTLE_MS 3000
#define RT_WEBHOOK_RETRY_WINDOW_MS (5u * 60u * 1000u)

int rt_webhooks_start(uv_loop_t *loop);
void rt_webhooks_stop(void);

void rt_webhook_channel_occupied(struct rt_app *app, const char *channel);
void rt_webhook_channel_vacated(struct rt_app *app, const char *channel);
void rt_webhook_member_added(struct rt_app *app, const char *channel, const char *user_id);
void rt_webhook_member_removed(struct rt_app *app, const char *channel, const char *user_id);
void rt_webhook_subscription_count(struct rt_app *app, const char *channel, size_t count);
void rt_webhook_cache_miss(struct rt_app *app, const char *channel);

/* data is the client's value as received: a string is sent as-is, anything else as its
 * compact JSON text. user_id is set for presence channels. */
void rt_webhook_client_event(struct rt_app *app, const char *channel, const char *event,
                             const json_t *data, const char *socket_id, const char *user_id);

/* Deliveries waiting or in flight (for /metrics and tests). */
size_t rt_webhooks_pending(void);

#endif
