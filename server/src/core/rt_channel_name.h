/* Channel names: validation and the type/cache flags implied by the prefix (PROTOCOL.md §5.1). */
#ifndef RT_CHANNEL_NAME_H
#define RT_CHANNEL_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "rt_str.h"

#define RT_CHANNEL_NAME_MAX 200
#define RT_SERVER_TO_USER_PREFIX "#server-to-user-"

enum rt_channel_type {
    RT_CHANNEL_PUBLIC = 0,
    RT_CHANNEL_PRIVATE,
    RT_CHANNEL_PRESENCE,
    RT_CHANNEL_ENCRYPTED,      /* private-encrypted-: private auth, ciphertext only */
    RT_CHANNEL_SERVER_TO_USER, /* #server-to-user-{id} */
};

struct rt_channel_kind {
    enum rt_channel_type type;
    bool cache; /* cache-, private-cache-, presence-cache-, private-encrypted-cache- */
};

/* Classifies by prefix in the order of PROTOCOL.md §5.1 (longest prefix first). Does not
 * validate the characters: call rt_channel_name_valid first. */
struct rt_channel_kind rt_channel_kind_of(struct rt_str name);

/* True when name is 1..max_len bytes of [A-Za-z0-9_\-=@,.;], or is exactly
 * "#server-to-user-" followed by a valid user id. Any other '#' name is invalid. */
bool rt_channel_name_valid(struct rt_str name, size_t max_len);

/* True for private, presence and encrypted channels: subscribing needs a signature. */
bool rt_channel_needs_auth(enum rt_channel_type type);

/* User ids (signin id, presence user_id, server-to-user suffix): 1..max_len bytes of the
 * channel-name charset. */
bool rt_user_id_valid(struct rt_str id, size_t max_len);

/* For "#server-to-user-{id}" returns the id part; otherwise {NULL, 0}. */
struct rt_str rt_server_to_user_id(struct rt_str name);

#endif
