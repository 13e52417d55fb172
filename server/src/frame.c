/* Refcounted outbound frames, WebSocket header encoded once in front of the payload. */
#include "frame.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_protocol.h"
#include "rt_ws.h"

/* Storage: [LWS_PRE][room for the longest header][payload][NUL]; the header is written right
 * before the payload so that header + payload are contiguous, and lws_write (TLS sockets)
 * has the headroom it requires in front of the wire bytes. */
#define HEADROOM (LWS_PRE + RT_WS_MAX_SERVER_HEADER)

struct rt_frame *rt_frame_ws(uint8_t opcode, const void *payload, size_t len)
{
    struct rt_frame *f = rt_xmalloc(sizeof *f + HEADROOM + len + 1);
    f->refs = 1;
    f->len = len;
    f->payload = f->storage + HEADROOM;
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
    struct rt_frame *f = rt_xmalloc(sizeof *f + LWS_PRE + len + 1);
    f->refs = 1;
    f->len = f->wire_len = len;
    f->payload = f->wire = f->storage + LWS_PRE;
    memcpy(f->wire, bytes, len);
    f->wire[len] = '\0';
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
