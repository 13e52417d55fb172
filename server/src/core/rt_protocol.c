/* Pusher protocol 7 codec (PROTOCOL.md §2): client frame parsing, server frame encoding. */
#include "rt_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_err.h"

static void set_err(char *err, size_t err_cap, const char *msg)
{
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "%s", msg);
}

static bool is_pusher_event(const char *event)
{
    return strncmp(event, "pusher:", 7) == 0 || strncmp(event, "pusher_internal:", 16) == 0;
}

/* pusher-js sends data as an object, older clients as a JSON string (§2.1): both become an
 * object here. A string that is not a JSON object leaves data_obj NULL (not an error). */
static void resolve_data_obj(struct rt_msg *msg)
{
    if (msg->data == NULL || !is_pusher_event(msg->event)) return;
    if (json_is_object(msg->data)) {
        msg->data_obj = msg->data;
        return;
    }
    if (!json_is_string(msg->data)) return;
    json_t *parsed = json_loadb(json_string_value(msg->data), json_string_length(msg->data),
                                JSON_REJECT_DUPLICATES, NULL);
    if (parsed == NULL) return;
    if (!json_is_object(parsed)) {
        json_decref(parsed);
        return;
    }
    msg->data_obj = parsed;
    msg->data_owned = 1;
}

/* Duplicate keys are rejected so "event"/"channel" cannot mean one thing here and another to
 * a different JSON parser downstream. A "channel" of null counts as absent. */
int rt_msg_parse(const char *buf, size_t len, struct rt_msg *msg, char *err, size_t err_cap)
{
    memset(msg, 0, sizeof *msg);
    if (len > RT_FRAME_MAX) {
        set_err(err, err_cap, "Frame too large");
        return RT_ERR_TOO_LARGE;
    }
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (root == NULL) {
        set_err(err, err_cap, "Invalid JSON");
        return RT_ERR_INVALID;
    }
    if (!json_is_object(root)) {
        set_err(err, err_cap, "Frame must be a JSON object");
        goto fail;
    }
    json_t *event = json_object_get(root, "event");
    if (!json_is_string(event) || json_string_length(event) == 0) {
        set_err(err, err_cap, "Missing or non-string event");
        goto fail;
    }
    json_t *channel = json_object_get(root, "channel");
    if (channel != NULL && !json_is_null(channel) && !json_is_string(channel)) {
        set_err(err, err_cap, "channel must be a string");
        goto fail;
    }
    msg->root = root;
    msg->event = json_string_value(event);
    msg->channel = json_is_string(channel) ? json_string_value(channel) : NULL;
    msg->data = json_object_get(root, "data");
    resolve_data_obj(msg);
    return RT_OK;
fail:
    json_decref(root);
    return RT_ERR_INVALID;
}

void rt_msg_free(struct rt_msg *msg)
{
    if (msg->data_owned) json_decref(msg->data_obj);
    json_decref(msg->root);
    memset(msg, 0, sizeof *msg);
}

const char *rt_json_str(const json_t *obj, const char *key, size_t *len)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_string(v)) return NULL;
    if (len != NULL) *len = json_string_length(v);
    return json_string_value(v);
}

/* ---- Encoders ---- */

/* Serialises and releases obj. NULL when obj is NULL (a build refused a non-UTF-8 string). */
static char *dump_and_free(json_t *obj, size_t *len)
{
    if (obj == NULL) return NULL;
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text != NULL && len != NULL) *len = strlen(text);
    return text;
}

/* Builds {"event":..,"channel":..,"data":..,"user_id":..}; steals data. */
static json_t *event_frame(const char *event, const char *channel, json_t *data,
                           const char *user_id)
{
    json_t *obj = json_object();
    if (data == NULL) goto fail;
    if (json_object_set_new(obj, "event", json_string(event)) != 0) goto fail;
    if (channel != NULL && json_object_set_new(obj, "channel", json_string(channel)) != 0)
        goto fail;
    if (json_object_set_new(obj, "data", data) != 0) {
        data = NULL; /* set_new released it */
        goto fail;
    }
    data = NULL;
    if (user_id != NULL && json_object_set_new(obj, "user_id", json_string(user_id)) != 0)
        goto fail;
    return obj;
fail:
    json_decref(data);
    json_decref(obj);
    return NULL;
}

/* Also NULL when event, channel, data or user_id is not valid UTF-8 (jansson refuses it). */
char *rt_encode_event(const char *event, const char *channel, struct rt_str data,
                      const char *user_id, size_t *len)
{
    json_t *d = json_stringn(data.p ? data.p : "", data.n);
    return dump_and_free(event_frame(event, channel, d, user_id), len);
}

char *rt_encode_event_json(const char *event, const char *channel, const json_t *data,
                           const char *user_id, size_t *len)
{
    /* A deep copy keeps the caller's value untouched and shareable across threads. */
    json_t *d = data ? json_deep_copy(data) : json_null();
    return dump_and_free(event_frame(event, channel, d, user_id), len);
}

char *rt_encode_error(int code, const char *message, const char *channel, size_t *len)
{
    json_t *data = json_object();
    if (json_object_set_new(data, "code", code ? json_integer(code) : json_null()) != 0 ||
        json_object_set_new(data, "message", json_string(message ? message : "")) != 0) {
        json_decref(data);
        return NULL;
    }
    return dump_and_free(event_frame("pusher:error", channel, data, NULL), len);
}

char *rt_encode_subscription_error(const char *channel, const char *type, const char *error,
                                   int status, size_t *len)
{
    json_t *data = json_pack("{s:s, s:s, s:i}", "type", type ? type : "", "error",
                             error ? error : "", "status", status);
    return dump_and_free(event_frame("pusher:subscription_error", channel, data, NULL), len);
}

char *rt_encode_connection_established(const char *socket_id, int activity_timeout, size_t *len)
{
    json_t *inner = json_pack("{s:s, s:i}", "socket_id", socket_id ? socket_id : "",
                              "activity_timeout", activity_timeout);
    size_t inner_len = 0;
    char *inner_text = dump_and_free(inner, &inner_len);
    if (inner_text == NULL) return NULL;
    char *out = rt_encode_event("pusher:connection_established", NULL,
                                (struct rt_str){inner_text, inner_len}, NULL, len);
    free(inner_text);
    return out;
}
