/* Pusher-style authorization tokens for private/presence subscriptions and user sign-in
 * (PROTOCOL.md §6): auth = "{app_key}:{hex hmac_sha256(secret, string_to_sign)}". */
#ifndef RT_AUTH_H
#define RT_AUTH_H

#include <stdbool.h>

#include "rt_hmac.h"
#include "rt_str.h"

/* Splits "key:signature" at the first ':'. Returns 0, or RT_ERR_INVALID when there is no
 * ':', the key is empty or the signature part is empty. */
int rt_auth_split(struct rt_str auth, struct rt_str *key, struct rt_str *signature);

/* Signature for a channel subscription: over "socket_id:channel" or, when channel_data.p is
 * non-NULL, "socket_id:channel:channel_data" (byte-for-byte as received). */
void rt_auth_sign_channel(struct rt_str secret, struct rt_str socket_id, struct rt_str channel,
                          struct rt_str channel_data, char out[RT_SHA256_HEX_LEN + 1]);

/* Signature for pusher:signin: over "socket_id::user::user_data". */
void rt_auth_sign_user(struct rt_str secret, struct rt_str socket_id, struct rt_str user_data,
                       char out[RT_SHA256_HEX_LEN + 1]);

/* Constant-time verification of `signature` (the hex part of auth) against the expected
 * channel signature. For private channels with channel_data present, PROTOCOL.md §6 says to
 * accept the signature over "socket_id:channel:channel_data"; the caller passes channel_data
 * then. Returns true on match. */
bool rt_auth_verify_channel(struct rt_str secret, struct rt_str socket_id, struct rt_str channel,
                            struct rt_str channel_data, struct rt_str signature);

bool rt_auth_verify_user(struct rt_str secret, struct rt_str socket_id, struct rt_str user_data,
                         struct rt_str signature);

#endif
