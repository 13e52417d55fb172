/* Refcounted outbound frames with lws's LWS_PRE headroom. */
#include "frame.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "rt_protocol.h"

struct rt_frame *rt_frame_new(const char *text, size_t len)
{
    struct rt_frame *f = malloc(sizeof *f + LWS_PRE + len + 1);
    if (!f)
        return NULL;
    f->refs = 1;
    f->len = len;
    f->payload = f->storage + LWS_PRE;
    memcpy(f->payload, text, len);
    f->payload[len] = '\0';
    return f;
}

struct rt_frame *rt_frame_from_text(char *text, size_t len)
{
    if (!text)
        return NULL;
    struct rt_frame *f = rt_frame_new(text, len);
    free(text);
    return f;
}

void rt_frame_unref(struct rt_frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

struct rt_frame *rt_frame_json_event(const char *event, const char *channel, json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!text)
        return NULL;
    size_t len;
    char *encoded = rt_encode_event(event, channel, rt_str_c(text), NULL, &len);
    free(text);
    return rt_frame_from_text(encoded, len);
}
