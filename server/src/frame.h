/* Refcounted outbound frames: a published event is encoded once, WebSocket header included,
 * and every local subscriber's send queue holds a reference to the same bytes. */
#ifndef RT_FRAME_H
#define RT_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct rt_frame {
    uint32_t refs;
    size_t len;             /* payload length */
    unsigned char *payload; /* the payload (for text frames: the JSON), NUL-terminated */
    unsigned char *wire;    /* what goes on the socket: WebSocket header + payload, or raw */
    size_t wire_len;
    unsigned char storage[];
};

/* A final WebSocket text frame carrying a copy of text. Never NULL (allocation failure aborts,
 * rt_alloc.h). */
struct rt_frame *rt_frame_new(const char *text, size_t len);

/* Takes ownership of a malloc'd text (as returned by the rt_encode_* functions): copies it into
 * a text frame and frees it. NULL only when text is NULL (an encoder refused non-UTF-8 input). */
struct rt_frame *rt_frame_from_text(char *text, size_t len);

/* A WebSocket frame of any opcode (close, ping, pong) carrying a copy of payload. */
struct rt_frame *rt_frame_ws(uint8_t opcode, const void *payload, size_t len);

/* Bytes sent as they are, without WebSocket framing (HTTP responses). */
struct rt_frame *rt_frame_raw(const void *bytes, size_t len);

static inline struct rt_frame *rt_frame_ref(struct rt_frame *f)
{
    f->refs++;
    return f;
}

void rt_frame_unref(struct rt_frame *f);

struct json_t;

/* Frame {"event":E,"channel":C,"data":"<JSON text of data>"}: the double encoding that
 * pusher:* and pusher_internal:* events use (PROTOCOL.md §2.1). Steals the reference to data
 * (which may be NULL after a failed json_pack). channel may be NULL. NULL only when data is
 * NULL or a string in it is not valid UTF-8; allocation failure aborts (rt_alloc.h). */
struct rt_frame *rt_frame_json_event(const char *event, const char *channel, struct json_t *data);

#endif
