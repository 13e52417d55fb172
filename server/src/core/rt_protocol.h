/* Pusher protocol 7 message codec (PROTOCOL.md §2): parsing client frames and encoding server
 * frames. Pure functions over jansson; no I/O. */
#ifndef RT_PROTOCOL_H
#define RT_PROTOCOL_H

#include <jansson.h>
#include <stddef.h>

#include "rt_str.h"

#define RT_FRAME_MAX (256 * 1024) /* hard cap on any inbound frame before parsing */

/* A parsed client frame. `root` owns everything; event/channel point into it. */
struct rt_msg {
    json_t *root;
    const char *event;   /* required, non-empty string */
    const char *channel; /* NULL when absent; error when present but not a string */
    json_t *data;        /* borrowed: "data" as sent (string, object, ... or NULL) */
    json_t *data_obj;    /* borrowed or owned (see data_owned): for pusher:* events, "data" as an
                            object (a string is JSON-parsed, per §2.1); NULL if not an object */
    int data_owned;      /* 1 when data_obj was parsed from a string and must be decref'd */
};

/* Parses one text frame. Returns 0, RT_ERR_TOO_LARGE (len > RT_FRAME_MAX), or RT_ERR_INVALID
 * with a short reason in err (not JSON, not an object, missing/non-string event, non-string
 * channel). On error msg is left empty. */
int rt_msg_parse(const char *buf, size_t len, struct rt_msg *msg, char *err, size_t err_cap);

void rt_msg_free(struct rt_msg *msg);

/* Returns the string member `key` of obj (NULL if obj is NULL, absent or not a string). */
const char *rt_json_str(const json_t *obj, const char *key, size_t *len);

/* ---- Encoders. Each returns a malloc'd compact JSON text (caller frees) and its length in
 * *len, or NULL when a string given is not valid UTF-8 (jansson refuses it; allocation
 * failure aborts, rt_alloc.h). ---- */

/* {"event":E,"channel":C,"data":D[,"user_id":U]}: `data` is embedded as a JSON string value
 * exactly as given (the double encoding of §2.1). channel/user_id may be NULL (omitted). */
char *rt_encode_event(const char *event, const char *channel, struct rt_str data,
                      const char *user_id, size_t *len);

/* Same but `data` is any JSON value embedded as-is (client events forward objects verbatim). */
char *rt_encode_event_json(const char *event, const char *channel, const json_t *data,
                           const char *user_id, size_t *len);

/* {"event":"pusher:error","data":{"code":C,"message":M}} with "code":null when code == 0, and
 * a top-level "channel" when channel is non-NULL. */
char *rt_encode_error(int code, const char *message, const char *channel, size_t *len);

/* {"event":"pusher:subscription_error","channel":C,"data":{"type":T,"error":E,"status":S}} */
char *rt_encode_subscription_error(const char *channel, const char *type, const char *error,
                                   int status, size_t *len);

/* {"event":"pusher:connection_established","data":"{\"socket_id\":..,\"activity_timeout\":N}"} */
char *rt_encode_connection_established(const char *socket_id, int activity_timeout,
                                       size_t *len);

#endif
