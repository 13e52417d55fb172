/* Refcounted outbound frames, WebSocket header encoded once in front of the payload. */
#include "frame.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_protocol.h"
#include "rt_ws.h"

/* Storage: [room for the longest header][payload][NUL]; the header is written right before
 * the payload so that header + payload are contiguous. */
struct rt_frame *rt_frame_ws(uint8_t opcode, const void *payload, size_t len)
{
    struct rt_frame *f = rt_xmalloc(sizeof *f + RT_WS_MAX_SERVER_HEADER + len + 1);
    f->refs = 1;
    f->len = len;
    f->payload = f->storage + RT_WS_MAX_SERVER_HEADER;
    if (len) memcpy(f->payload, payload, len);
    f->payload[len] = '\0';
    uint8_t header[RT_WS_MAX_SERVER_HEADER];
    size_t hlen = rt_ws_frame_header(header, opcode, len);
    f->wire = f->payload - hlen;
    memcpy(f->wire, header, hlen);
    f->wire_len = hlen + len;
    return f;
}

struct rt_frame *rt_frame_new(const char *text, size_t len)
{
    return rt_frame_ws(RT_WS_TEXT, text, len);
}

struct rt_frame *rt_frame_raw(const void *bytes, size_t len)
{
    struct rt_frame *f = rt_xmalloc(sizeof *f + len + 1);
    f->refs = 1;
    f->len = f->wire_len = len;
    f->payload = f->wire = f->storage;
    memcpy(f->storage, bytes, len);
    f->storage[len] = '\0';
    return f;
}

struct rt_frame *rt_frame_from_text(char *text, size_t len)
{
    if (!text) return NULL;
    struct rt_frame *f = rt_frame_new(text, len);
    free(text);
    return f;
}

void rt_frame_unref(struct rt_frame *f)
{
    if (f && --f->refs == 0) free(f);
}

struct rt_frame *rt_frame_json_event(const char *event, const char *channel, json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!text) return NULL;
    size_t len;
    char *encoded = rt_encode_event(event, channel, rt_str_c(text), NULL, &len);
    free(text);
    return rt_frame_from_text(encoded, len);
}
