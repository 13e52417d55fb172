/* Pusher HTTP API request signatures (PROTOCOL.md §14.2): canonical string, signing (for
 * rtadmin and tests) and verification (for the server). */
#ifndef RT_REST_AUTH_H
#define RT_REST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "rt_query.h"
#include "rt_str.h"

#define RT_REST_MAX_SKEW_SECONDS 600

/* Looks up the secret of an active key of the app being called; returns NULL when key is not
 * one of the app's active keys. */
typedef const char *(*rt_rest_secret_fn)(void *ctx, const char *key);

/* Builds "METHOD\nPATH\nk=v&k=v..." from every parameter of q except auth_signature, keys
 * lowercased, sorted by key (byte order), values as decoded (not re-escaped); repeated keys
 * are joined with ',' in order of appearance. Returns a malloc'd string (caller frees). */
char *rt_rest_string_to_sign(const char *method, const char *path, const struct rt_query *q);

/* Verifies a request. `path` is the request path with any deployment prefix already removed.
 * Checks, in order: auth_key present and known (RT_ERR_UNKNOWN_KEY), auth_timestamp present,
 * integer and within ±RT_REST_MAX_SKEW_SECONDS of now (RT_ERR_EXPIRED), auth_version == "1.0"
 * (RT_ERR_INVALID), body_md5 equal to the MD5 of body when body_len > 0 (RT_ERR_BAD_SIGNATURE),
 * then auth_signature in constant time (RT_ERR_BAD_SIGNATURE). A missing auth parameter gives
 * RT_ERR_INVALID. On failure writes a short user-facing reason (never the expected signature
 * or the secret) into err. On success copies the auth_key used into key_out (cap >= 64). */
int rt_rest_verify(const char *method, const char *path, const struct rt_query *q,
                   const char *body, size_t body_len, int64_t now, rt_rest_secret_fn secret_for,
                   void *ctx, char *key_out, size_t key_cap, char *err, size_t err_cap);

/* Signs a request the way the Pusher SDKs do: returns a malloc'd query string
 * "auth_key=..&auth_timestamp=..&auth_version=1.0[&body_md5=..]&auth_signature=.."
 * followed by `extra_query` params if given (already "k=v&k=v", unescaped values allowed only
 * if they need no escaping). Caller frees. */
char *rt_rest_sign(const char *method, const char *path, const char *key, const char *secret,
                   const char *body, size_t body_len, int64_t timestamp, const char *extra_query);

#endif
