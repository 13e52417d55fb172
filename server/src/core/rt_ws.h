/* RFC 6455 WebSocket framing for the server side: parsing client frames (strict: masked,
 * no reserved bits, bounded lengths), message reassembly, frame headers for server frames,
 * the handshake accept key and UTF-8 validation. Pure functions, no I/O. */
#ifndef RT_WS_H
#define RT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rt_ws_opcode {
    RT_WS_CONT = 0x0,
    RT_WS_TEXT = 0x1,
    RT_WS_BINARY = 0x2,
    RT_WS_CLOSE = 0x8,
    RT_WS_PING = 0x9,
    RT_WS_PONG = 0xA,
};

/* Close codes of RFC 6455 §7.4.1 that the parser reports. */
#define RT_WS_CLOSE_NORMAL 1000
#define RT_WS_CLOSE_PROTOCOL 1002
#define RT_WS_CLOSE_INVALID_DATA 1007
#define RT_WS_CLOSE_TOO_LARGE 1009

#define RT_WS_MAX_HEADER 14        /* 2 + 8 (length) + 4 (mask) */
#define RT_WS_MAX_SERVER_HEADER 10 /* server frames are not masked */
#define RT_WS_CONTROL_MAX 125

struct rt_ws_frame {
    bool fin;
    uint8_t opcode;
    uint8_t *payload; /* unmasked in place, inside the caller's buffer */
    size_t len;
};

/* Parses one client frame at buf[0..avail). A data frame (text, binary, continuation) whose
 * announced payload exceeds max_payload is refused from its header alone, before any of the
 * payload is read. On success unmasks the payload in place and returns the bytes the frame
 * used (> 0). Returns 0 when more bytes are needed; *need is then the total size of the frame
 * when the header is complete (else 0), so the caller can size its buffer exactly. Returns
 * -code (RT_WS_CLOSE_PROTOCOL: unmasked, reserved bits, unknown opcode, fragmented or long
 * control frame, 64-bit length with the top bit set; RT_WS_CLOSE_TOO_LARGE) on a frame the
 * connection must be closed for. */
long rt_ws_parse_frame(uint8_t *buf, size_t avail, size_t max_payload, struct rt_ws_frame *out,
                       size_t *need);

/* Reassembles fragmented data messages. Control frames never pass through it. */
struct rt_ws_message {
    uint8_t opcode; /* RT_WS_TEXT or RT_WS_BINARY of the message in progress; 0 = none */
    uint8_t *buf;   /* fragments so far (malloc'd; NULL until a fragment is kept) */
    size_t len, cap;
};

/* Feeds one data frame. Returns 1 when a whole message is ready (*data and *len point at it:
 * the frame's own payload for an unfragmented message, else the reassembly buffer, valid until
 * the next call or rt_ws_message_reset), 0 when the message continues, or -code (continuation
 * with nothing started or a new message inside a fragmented one: RT_WS_CLOSE_PROTOCOL; the
 * total past max_len: RT_WS_CLOSE_TOO_LARGE; invalid UTF-8 in a text message:
 * RT_WS_CLOSE_INVALID_DATA). *opcode is the type of the message. Aborts on out of memory. */
int rt_ws_message_feed(struct rt_ws_message *m, const struct rt_ws_frame *f, size_t max_len,
                       uint8_t *opcode, const uint8_t **data, size_t *len);

/* Frees the reassembly buffer and forgets any message in progress. */
void rt_ws_message_reset(struct rt_ws_message *m);

/* Writes the header of an unmasked, final server frame carrying len bytes into out (at least
 * RT_WS_MAX_SERVER_HEADER bytes); returns its size (2, 4 or 10). */
size_t rt_ws_frame_header(uint8_t *out, uint8_t opcode, size_t len);

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)) into out
 * (29 bytes with the NUL). Returns 0, or -1 when the key is not the base64 of 16 bytes. */
int rt_ws_accept_key(const char *key, size_t key_len, char out[29]);

/* True when buf[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF). */
bool rt_utf8_valid(const uint8_t *buf, size_t len);

#endif
