/* Authorization tokens for private/presence subscriptions and user sign-in (PROTOCOL.md §6). */
#include "rt_auth.h"

#include <string.h>

#include "rt_err.h"

/* Splits at the first ':' so "key::user::sig" (the docs' signin typo) yields the signature
 * ":user::sig", which then fails verification as §6 requires. */
int rt_auth_split(struct rt_str auth, struct rt_str *key, struct rt_str *signature)
{
    const char *colon = auth.p ? memchr(auth.p, ':', auth.n) : NULL;
    if (colon == NULL) return RT_ERR_INVALID;
    size_t key_len = (size_t)(colon - auth.p);
    if (key_len == 0 || key_len + 1 == auth.n) return RT_ERR_INVALID;
    *key = (struct rt_str){auth.p, key_len};
    *signature = (struct rt_str){colon + 1, auth.n - key_len - 1};
    return RT_OK;
}

/* An empty but non-NULL channel_data still adds the ':' separator ("socket:channel:"). */
void rt_auth_sign_channel(struct rt_str secret, struct rt_str socket_id, struct rt_str channel,
                          struct rt_str channel_data, char out[RT_SHA256_HEX_LEN + 1])
{
    const char *parts[5] = {socket_id.p, ":", channel.p, ":", channel_data.p};
    size_t lens[5] = {socket_id.n, 1, channel.n, 1, channel_data.n};
    size_t nparts = channel_data.p != NULL ? 5 : 3;
    rt_hmac_sha256_hex_parts(secret.p, secret.n, parts, lens, nparts, out);
}

void rt_auth_sign_user(struct rt_str secret, struct rt_str socket_id, struct rt_str user_data,
                       char out[RT_SHA256_HEX_LEN + 1])
{
    const char *parts[3] = {socket_id.p, "::user::", user_data.p};
    size_t lens[3] = {socket_id.n, 8, user_data.n};
    rt_hmac_sha256_hex_parts(secret.p, secret.n, parts, lens, 3, out);
}

bool rt_auth_verify_channel(struct rt_str secret, struct rt_str socket_id, struct rt_str channel,
                            struct rt_str channel_data, struct rt_str signature)
{
    char expected[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_channel(secret, socket_id, channel, channel_data, expected);
    return rt_digest_equal(expected, signature.p, signature.n);
}

bool rt_auth_verify_user(struct rt_str secret, struct rt_str socket_id, struct rt_str user_data,
                         struct rt_str signature)
{
    char expected[RT_SHA256_HEX_LEN + 1];
    rt_auth_sign_user(secret, socket_id, user_data, expected);
    return rt_digest_equal(expected, signature.p, signature.n);
}
