/* Connection tokens (JWT): the claims of a token whose signature was already verified, checked
 * against the app and the clock, and the channel grants they carry. No I/O, no libjwt: the
 * verifier (server/src/token.c) hands the payload JSON here. */
#ifndef RT_JWT_CLAIMS_H
#define RT_JWT_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>

#include "rt_str.h"
#include "rt_user_data.h"

#define RT_JWT_LEEWAY_SECONDS 30 /* clock skew allowed on exp, nbf and iat */
#define RT_JWT_CHANNELS_MAX 100  /* entries of the channels claim */
#define RT_JWT_TOKEN_MAX 8192    /* bytes of a whole token (header.payload.signature) */

/* Why a token was refused; the names are the `reason` label of rt_token_rejected_total. */
enum rt_jwt_reject {
    RT_JWT_OK = 0,
    RT_JWT_MALFORMED,     /* not three base64url parts of JSON, or over RT_JWT_TOKEN_MAX */
    RT_JWT_ALGORITHM,     /* alg none, unknown, or not on the app's allow-list */
    RT_JWT_UNKNOWN_KEY,   /* kid is not an active key of the app (revoked?), or no public key */
    RT_JWT_SIGNATURE,     /* signature does not verify */
    RT_JWT_EXPIRED,       /* exp + leeway is in the past */
    RT_JWT_NOT_YET_VALID, /* nbf or iat more than the leeway in the future */
    RT_JWT_AUDIENCE,      /* aud is neither the app key nor the app id */
    RT_JWT_CLAIMS,        /* sub, channels, user_info or watchlist missing or invalid */
    RT_JWT_MISSING,       /* the app requires a token and none was given */
    RT_JWT_REJECT_COUNT
};

/* "malformed", "algorithm", ... for logs and metrics labels. */
const char *rt_jwt_reject_name(enum rt_jwt_reject r);

struct rt_jwt_claims {
    char sub[RT_USER_ID_MAX + 1];
    char *user_info; /* compact JSON object (malloc'd), or NULL */
    char **channels; /* exact names or patterns with '*' (malloc'd each) */
    size_t n_channels;
    char **watchlist; /* user ids (malloc'd each), at most RT_WATCHLIST_MAX */
    size_t watchlist_len;
    long long exp; /* seconds since the epoch */
};

/* What the claims must match. */
struct rt_jwt_expect {
    const char *app_id;
    const char *app_key; /* the key in the connection URL */
    long long now;       /* seconds since the epoch */
    size_t max_info_bytes;
};

/* Parses and checks the payload of a verified token: exp required (expired once now >
 * exp + leeway), nbf and iat optional (refused when more than the leeway ahead of now), aud
 * (a string or an array of strings) must contain the app key or the app id, sub a valid user
 * id, channels an optional array of private-/presence- names where '*' matches any run of
 * characters, user_info an optional object of at most max_info_bytes compact bytes, watchlist
 * an optional array of at most RT_WATCHLIST_MAX user ids. Returns RT_JWT_OK with *out filled
 * (free with rt_jwt_claims_clear), or the reason with a message in err naming the claim. */
enum rt_jwt_reject rt_jwt_claims_parse(struct rt_str payload, const struct rt_jwt_expect *want,
                                       struct rt_jwt_claims *out, char *err, size_t err_cap);

void rt_jwt_claims_clear(struct rt_jwt_claims *c);

/* True when channel is one of the granted names or matches one of the patterns. */
bool rt_jwt_channel_granted(char *const *channels, size_t n, struct rt_str channel);

/* '*' matches any run of characters (also none); everything else matches itself. */
bool rt_jwt_glob_match(struct rt_str pattern, struct rt_str name);

#endif
