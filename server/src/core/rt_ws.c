/* RFC 6455 server-side framing: strict client frame parser, reassembly, headers, accept key. */
#include "rt_ws.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"

static bool is_control(uint8_t opcode)
{
    return opcode & 0x8;
}

static bool known_opcode(uint8_t opcode)
{
    return opcode <= RT_WS_BINARY || (opcode >= RT_WS_CLOSE && opcode <= RT_WS_PONG);
}

long rt_ws_parse_frame(uint8_t *buf, size_t avail, size_t max_payload, struct rt_ws_frame *out,
                       size_t *need)
{
    *need = 0;
    if (avail < 2) return 0;
    uint8_t b0 = buf[0], b1 = buf[1];
    uint8_t opcode = b0 & 0x0f;
    bool fin = b0 & 0x80;
    /* No extension is negotiated, so every reserved bit must be clear (RFC 6455 §5.2). */
    if ((b0 & 0x70) || !known_opcode(opcode)) return -RT_WS_CLOSE_PROTOCOL;
    /* §5.1: a server must close on an unmasked client frame. */
    if (!(b1 & 0x80)) return -RT_WS_CLOSE_PROTOCOL;
    uint64_t len = b1 & 0x7f;
    size_t hlen = 2;
    if (is_control(opcode) && (!fin || len > RT_WS_CONTROL_MAX)) return -RT_WS_CLOSE_PROTOCOL;
    if (len == 126) {
        if (avail < 4) return 0;
        len = (uint64_t)buf[2] << 8 | buf[3];
        hlen = 4;
    } else if (len == 127) {
        if (avail < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | buf[2 + i];
        if (len >> 63) return -RT_WS_CLOSE_PROTOCOL;
        hlen = 10;
    }
    /* Refused on the header alone: nothing of an oversized payload is buffered or read. */
    if (len > max_payload) return -RT_WS_CLOSE_TOO_LARGE;
    hlen += 4;
    size_t total = hlen + (size_t)len;
    if (avail < total) {
        *need = total;
        return 0;
    }
    const uint8_t *mask = buf + hlen - 4;
    uint8_t *p = buf + hlen;
    for (size_t i = 0; i < (size_t)len; i++)
        p[i] ^= mask[i & 3];
    out->fin = fin;
    out->opcode = opcode;
    out->payload = p;
    out->len = (size_t)len;
    return (long)total;
}

void rt_ws_message_reset(struct rt_ws_message *m)
{
    free(m->buf);
    memset(m, 0, sizeof *m);
}

static int finish(uint8_t opcode, const uint8_t *data, size_t len, uint8_t *op_out,
                  const uint8_t **data_out, size_t *len_out)
{
    if (opcode == RT_WS_TEXT && !rt_utf8_valid(data, len)) return -RT_WS_CLOSE_INVALID_DATA;
    *op_out = opcode;
    *data_out = data;
    *len_out = len;
    return 1;
}

int rt_ws_message_feed(struct rt_ws_message *m, const struct rt_ws_frame *f, size_t max_len,
                       uint8_t *opcode, const uint8_t **data, size_t *len)
{
    if (f->opcode == RT_WS_CONT) {
        if (!m->opcode) return -RT_WS_CLOSE_PROTOCOL;
    } else if (m->opcode) {
        return -RT_WS_CLOSE_PROTOCOL; /* a new message inside a fragmented one */
    } else if (f->fin) {
        return finish(f->opcode, f->payload, f->len, opcode, data, len);
    } else {
        m->opcode = f->opcode;
        m->len = 0;
    }
    if (m->len + f->len > max_len) return -RT_WS_CLOSE_TOO_LARGE;
    if (m->len + f->len > m->cap) {
        /* Capacity is tracked here and checked on every fragment, whatever the limit is now. */
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + f->len)
            cap *= 2;
        if (cap > max_len) cap = max_len;
        m->buf = rt_xrealloc(m->buf, cap);
        m->cap = cap;
    }
    if (f->len) memcpy(m->buf + m->len, f->payload, f->len);
    m->len += f->len;
    if (!f->fin) return 0;
    uint8_t op = m->opcode;
    m->opcode = 0;
    return finish(op, m->buf, m->len, opcode, data, len);
}

size_t rt_ws_frame_header(uint8_t *out, uint8_t opcode, size_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

int rt_ws_accept_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char raw[16];
    size_t raw_len = 0;
    /* §4.2.1: the key is the base64 of 16 random bytes, i.e. exactly 24 characters. */
    if (key_len != 24 ||
        sodium_base642bin(raw, sizeof raw, key, key_len, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        raw_len != 16)
        return -1;
    char joined[24 + sizeof guid];
    memcpy(joined, key, key_len);
    memcpy(joined + key_len, guid, sizeof guid - 1);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(joined, key_len + sizeof guid - 1, digest, &dlen, EVP_sha1(), NULL) != 1)
        return -1;
    sodium_bin2base64(out, 29, digest, dlen, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

bool rt_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte, overlong 2-byte lead, or past U+10FFFF */
        }
        if (len - i <= n) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}
