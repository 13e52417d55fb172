/* The message nodes exchange over Redis pub/sub (one channel, every node subscribed):
 *
 *     <kind>\n<node>\n<app>\n<channel>\n<except socket>\n<payload>
 *
 * kind is 'E' (event frame to deliver), 'C' (event on a cache channel: deliver and store),
 * 'T' (terminate a user's connections; the channel field carries the user id and the
 * payload is empty), 'M' (a presence member_added/removed decided cluster-wide; the payload
 * is "<version>\n<frame>"), 'W' (a user came online or went offline cluster-wide; the
 * channel field carries the user id, the payload is "online" or "offline") or 'N' (the
 * channel's subscription count changed: read it from Redis; no payload, no except socket).
 * node is the sender's id, so a node ignores its own publishes. Every
 * header field is bounded and checked on both sides: Redis is shared infrastructure, and a
 * message that does not decode exactly is dropped. */
#ifndef RT_CLUSTER_WIRE_H
#define RT_CLUSTER_WIRE_H

#include <stddef.h>

#include "rt_channel_name.h"
#include "rt_user_data.h"

#define RT_CLUSTER_NODE_MAX 10      /* digits; nodes use 6 (RT_NODE_ID, "%06u") */
#define RT_CLUSTER_APP_ID_MAX 24    /* = RT_APP_ID_MAX (app.h) */
#define RT_CLUSTER_SOCKET_ID_MAX 31 /* = RT_SOCKET_ID_MAX (conn.h) */
/* An app's payload limit is at most 1024 KB of data; JSON escaping inside the event frame can
 * grow it six-fold ("\u0001"), plus the event and channel names. */
#define RT_CLUSTER_PAYLOAD_MAX (8u * 1024 * 1024)

enum rt_cluster_kind {
    RT_CLUSTER_EVENT = 'E',
    RT_CLUSTER_CACHE_EVENT = 'C',
    RT_CLUSTER_TERMINATE_USER = 'T',
    RT_CLUSTER_MEMBER_EVENT = 'M',
    RT_CLUSTER_WATCHLIST = 'W',
    RT_CLUSTER_COUNT_CHANGED = 'N',
};

/* A decoded message. The header fields are copied and NUL-terminated; payload points into
 * the buffer that was decoded and lives as long as it. */
struct rt_cluster_msg {
    enum rt_cluster_kind kind;
    char node[RT_CLUSTER_NODE_MAX + 1];
    char app_id[RT_CLUSTER_APP_ID_MAX + 1];
    /* channel name for 'E'/'C' (rt_channel_name_valid, RT_CHANNEL_NAME_MAX); user id for 'T'
     * (rt_user_id_valid, RT_USER_ID_MAX) */
    char channel[RT_CHANNEL_NAME_MAX + 1];
    char except[RT_CLUSTER_SOCKET_ID_MAX + 1]; /* "" = nobody excluded */
    const char *payload;
    size_t payload_len;
};

/* Decodes buf[0..len) into out. Returns 0, or RT_ERR_INVALID when a field is missing, too
 * long, or not of its charset: kind other than E/C/T/M/W/N, node not 1..RT_CLUSTER_NODE_MAX
 * digits, app id not 1..RT_CLUSTER_APP_ID_MAX channel-name characters, bad channel name (or
 * user id for 'T' and 'W'), except not empty or a socket id ("<digits>.<digits>", at most
 * RT_CLUSTER_SOCKET_ID_MAX), an 'E'/'C'/'M'/'W' without payload, a 'W' with an except socket,
 * or a 'T' or 'N' with an except socket or a payload. RT_ERR_TOO_LARGE when the payload is over
 * RT_CLUSTER_PAYLOAD_MAX. */
int rt_cluster_msg_decode(const char *buf, size_t len, struct rt_cluster_msg *out);

/* Encodes a message (same rules as the decoder; except may be NULL or "") into a malloc'd
 * buffer of *out_len bytes, which is not NUL-terminated. Returns NULL only when a field breaks
 * the rules above (allocation failure aborts, rt_alloc.h). Decoding the result gives the same
 * fields back. */
char *rt_cluster_msg_encode(enum rt_cluster_kind kind, const char *node, const char *app_id,
                            const char *channel, const char *except, const char *payload,
                            size_t payload_len, size_t *out_len);

#endif
