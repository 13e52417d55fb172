/* Refcounted outbound frames with lws's LWS_PRE headroom. */
#include "frame.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

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
