/* Parsing what arrives on the Redis inlets into trigger objects (rt_ingest_parse.h). */
#include "rt_ingest_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rt_ingest_prefix_valid(const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n == 0 || n > RT_INGEST_PREFIX_MAX) return false;
    for (const char *p = prefix; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* Pusher's data string for a Laravel payload: the object without "socket", as compact JSON. */
static json_t *laravel_data(json_t *data)
{
    if (json_is_string(data)) return json_incref(data);
    json_t *copy = json_is_object(data) ? json_copy(data) : json_incref(data);
    if (json_is_object(copy)) json_object_del(copy, "socket");
    char *text = json_dumps(copy, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(copy);
    json_t *s = text ? json_string(text) : NULL;
    free(text);
    return s;
}

json_t *rt_ingest_laravel_event(const char *channel, const char *payload, size_t len, char *err,
                                size_t err_cap)
{
    json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *event = NULL;
    if (!json_is_object(root)) {
        snprintf(err, err_cap, "not a JSON object (expected {\"event\",\"data\",\"socket\"})");
        goto done;
    }
    json_t *name = json_object_get(root, "event"), *data = json_object_get(root, "data"),
           *socket = json_object_get(root, "socket");
    if (!json_is_string(name)) {
        snprintf(err, err_cap, "\"event\" must be a string");
        goto done;
    }
    if (!data || !(json_is_object(data) || json_is_array(data) || json_is_string(data))) {
        snprintf(err, err_cap, "\"data\" must be an object, an array or a string");
        goto done;
    }
    if (socket && !json_is_null(socket) && !json_is_string(socket)) {
        snprintf(err, err_cap, "\"socket\" must be a socket id string or null");
        goto done;
    }
    json_t *text = laravel_data(data);
    json_t *ch = json_string(channel);
    if (!text || !ch) {
        json_decref(text);
        json_decref(ch);
        snprintf(err, err_cap, "channel name is not UTF-8");
        goto done;
    }
    event = json_pack("{s:O,s:o,s:o}", "name", name, "channel", ch, "data", text);
    if (json_is_string(socket)) json_object_set(event, "socket_id", socket);
done:
    json_decref(root);
    return event;
}

/* A JSON string of value, or NULL when it is not UTF-8 (or holds a NUL byte). */
static json_t *text_value(const char *value, size_t len)
{
    if (memchr(value, '\0', len)) return NULL;
    return json_stringn(value, len);
}

static const char *const known_fields[] = {"name", "data", "channel", "channels", "socket_id"};

json_t *rt_ingest_stream_event(const char *const *fields, const size_t *lens, size_t n, char *err,
                               size_t err_cap)
{
    if (n == 0 || n % 2 || n / 2 > RT_INGEST_FIELDS_MAX) {
        snprintf(err, err_cap, "expected name, data and channel or channels fields");
        return NULL;
    }
    json_t *event = json_object();
    for (size_t i = 0; i < n; i += 2) {
        const char *field = NULL;
        for (size_t k = 0; k < sizeof known_fields / sizeof known_fields[0]; k++)
            if (lens[i] == strlen(known_fields[k]) &&
                memcmp(fields[i], known_fields[k], lens[i]) == 0)
                field = known_fields[k];
        if (!field) {
            snprintf(err, err_cap, "unknown field \"%.*s\"", (int)(lens[i] > 32 ? 32 : lens[i]),
                     fields[i]);
            goto fail;
        }
        if (json_object_get(event, field)) {
            snprintf(err, err_cap, "field \"%s\" given twice", field);
            goto fail;
        }
        json_t *v;
        if (strcmp(field, "channels") == 0) {
            v = json_loadb(fields[i + 1], lens[i + 1], 0, NULL);
            if (!json_is_array(v)) {
                json_decref(v);
                snprintf(err, err_cap, "\"channels\" must be a JSON array of channel names");
                goto fail;
            }
        } else if (!(v = text_value(fields[i + 1], lens[i + 1]))) {
            snprintf(err, err_cap, "field \"%s\" is not UTF-8 text", field);
            goto fail;
        }
        json_object_set_new(event, field, v);
    }
    if (!json_object_get(event, "name") || !json_object_get(event, "data")) {
        snprintf(err, err_cap, "missing field \"%s\"",
                 json_object_get(event, "name") ? "data" : "name");
        goto fail;
    }
    bool one = json_object_get(event, "channel") != NULL,
         many = json_object_get(event, "channels") != NULL;
    if (one == many) {
        snprintf(err, err_cap, "give exactly one of \"channel\" and \"channels\"");
        goto fail;
    }
    return event;
fail:
    json_decref(event);
    return NULL;
}
