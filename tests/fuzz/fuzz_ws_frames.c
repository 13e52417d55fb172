/* libFuzzer target: a client byte stream through the frame parser and message reassembly,
 * as ws.c drives them, with the limit changing between frames (an app reload). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* The first two bytes pick the limits, the rest is the stream. */
    size_t limit = 1 + data[0] * 64u;
    size_t msg_limit = 1 + data[1] * 128u;
    uint8_t *buf = malloc(size - 2 ? size - 2 : 1);
    memcpy(buf, data + 2, size - 2);
    size_t off = 0, len = size - 2;
    struct rt_ws_message m = {0};
    while (off < len) {
        struct rt_ws_frame f;
        size_t need = 0;
        long rc = rt_ws_parse_frame(buf + off, len - off, limit, &f, &need);
        if (rc <= 0) {
            if (rc == 0 && need && (need <= len - off || need > limit + RT_WS_MAX_HEADER))
                abort(); /* a frame that fits must parse; need never exceeds the limit */
            break;
        }
        if (f.payload < buf + off || f.payload + f.len > buf + off + (size_t)rc)
            abort();
        off += (size_t)rc;
        if (f.opcode & 0x8)
            continue;
        uint8_t op;
        const uint8_t *out;
        size_t out_len;
        int mrc = rt_ws_message_feed(&m, &f, msg_limit, &op, &out, &out_len);
        if (mrc < 0)
            break;
        if (mrc == 1) {
            if (out_len > msg_limit && out != f.payload)
                abort();
            if (op == RT_WS_TEXT && !rt_utf8_valid(out, out_len))
                abort();
        }
        msg_limit = 1 + (msg_limit * 7 + 13) % 4096; /* the limit moves between frames */
    }
    rt_ws_message_reset(&m);
    free(buf);
    return 0;
}
