/* Refcounted outbound WebSocket frames: a published event is encoded once and every local
 * subscriber's queue holds a reference to the same buffer (with LWS_PRE headroom). */
#ifndef RT_FRAME_H
#define RT_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct rt_frame {
    uint32_t refs;
    size_t len;             /* payload length */
    unsigned char *payload; /* points LWS_PRE bytes into storage */
    unsigned char storage[];
};

/* Copies len bytes of text into a new frame with one reference. NULL on allocation failure. */
struct rt_frame *rt_frame_new(const char *text, size_t len);

/* Takes ownership of a malloc'd text (as returned by the rt_encode_* functions): copies it into
 * a frame and frees it. NULL when text is NULL or allocation fails. */
struct rt_frame *rt_frame_from_text(char *text, size_t len);

static inline struct rt_frame *rt_frame_ref(struct rt_frame *f)
{
    f->refs++;
    return f;
}

void rt_frame_unref(struct rt_frame *f);

struct json_t;

/* Frame {"event":E,"channel":C,"data":"<JSON text of data>"}: the double encoding that
 * pusher:* and pusher_internal:* events use (PROTOCOL.md §2.1). Steals the reference to data
 * (which may be NULL after a failed json_pack). channel may be NULL. NULL on failure. */
struct rt_frame *rt_frame_json_event(const char *event, const char *channel, struct json_t *data);

#endif
