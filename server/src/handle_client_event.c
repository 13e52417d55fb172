/* client-* events (PROTOCOL.md §9): relayed to the channel's other subscribers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "broker.h"
#include "channel.h"
#include "handlers.h"
#include "rt_channel_name.h"
#include "rt_transition.h"

/* Size of the client's data as it will be relayed: a string counts its bytes, anything else
 * its compact JSON. */
static size_t data_size(const json_t *data)
{
    if (!data) return 0;
    if (json_is_string(data)) return json_string_length(data);
    return json_dumpb(data, NULL, 0, JSON_COMPACT);
}

void rt_handle_client_event(struct rt_conn *c, const struct rt_msg *m)
{
    const struct rt_app_config *cfg = c->app->cfg;
    if (!cfg->client_events) {
        rt_conn_send_error(c, 0, "Client events are not enabled for this app", m->channel);
        return;
    }
    if (strlen(m->event) > (size_t)cfg->max_event_name_length) {
        char err[96];
        snprintf(err, sizeof err, "Event name too long: at most %d characters",
                 cfg->max_event_name_length);
        rt_conn_send_error(c, 0, err, m->channel);
        return;
    }
    if (!m->channel) {
        rt_conn_send_error(c, 0, "Client events need a channel", NULL);
        return;
    }
    struct rt_sub *s = NULL;
    HASH_FIND_STR(c->subs, m->channel, s);
    enum rt_channel_type type = s ? s->channel->kind.type : RT_CHANNEL_PUBLIC;
    if (!s || (type != RT_CHANNEL_PRIVATE && type != RT_CHANNEL_PRESENCE)) {
        rt_conn_send_error(c, 0,
                           s ? "Client events are only allowed on private and presence channels"
                             : "Client event rejected: not subscribed to this channel",
                           m->channel);
        return;
    }
    if (!rt_bucket_take(&c->client_events, cfg->client_events_per_second,
                        cfg->client_events_per_second, rt_now_ms())) {
        rt_conn_send_error(c, 4301, "Client event rejected due to rate limit", m->channel);
        return;
    }
    if (data_size(m->data) > (size_t)cfg->max_payload_bytes) {
        char err[96];
        snprintf(err, sizeof err, "Client event payload too large: at most %d bytes",
                 cfg->max_payload_bytes);
        rt_conn_send_error(c, 0, err, m->channel);
        return;
    }
    json_t *null_data = m->data ? NULL : json_null();
    size_t len;
    char *text = rt_encode_event_json(m->event, m->channel, m->data ? m->data : null_data,
                                      type == RT_CHANNEL_PRESENCE ? s->user_id : NULL, &len);
    /* Never NULL: event, channel and user_id were parsed by jansson, so they are valid UTF-8. */
    struct rt_frame *f = rt_frame_from_text(text, len);
    rt_broker_publish(c->app, m->channel, f, c->socket_id);
    rt_frame_unref(f);
    rt_transition_report(&(struct rt_transition){
        .kind = RT_TRANSITION_CLIENT_EVENT,
        .app = c->app,
        .channel = m->channel,
        .user_id = type == RT_CHANNEL_PRESENCE ? s->user_id : NULL,
        .event = m->event,
        .data = m->data ? m->data : null_data,
        .socket_id = c->socket_id,
    });
}
