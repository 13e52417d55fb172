/* Presence channel_data and sign-in user_data (PROTOCOL.md §7, §10, §12). */
#ifndef RT_USER_DATA_H
#define RT_USER_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "rt_str.h"

#define RT_USER_ID_MAX 128
#define RT_WATCHLIST_MAX 100

struct rt_member {
    char user_id[RT_USER_ID_MAX + 1];
    char *user_info; /* compact JSON text of user_info (malloc'd), or NULL when absent/null */
};

/* Parses presence channel_data {"user_id": string|integer, "user_info"?: any}. A number user
 * id is normalised to its decimal string. Fails with RT_ERR_INVALID (not an object, missing,
 * empty or invalid user_id per rt_user_id_valid with RT_USER_ID_MAX) or RT_ERR_TOO_LARGE
 * (compact user_info longer than max_info_bytes). Caller frees with rt_member_clear. */
int rt_member_parse(struct rt_str channel_data, size_t max_info_bytes, struct rt_member *m,
                    char *err, size_t err_cap);

void rt_member_clear(struct rt_member *m);

struct rt_signin {
    struct rt_member user;        /* id + user_info */
    char **watchlist;             /* valid user ids, at most RT_WATCHLIST_MAX (malloc'd each) */
    size_t watchlist_len;
    bool watchlist_truncated;     /* more than RT_WATCHLIST_MAX were given (send 4302) */
};

/* Parses sign-in user_data {"id": non-empty string, "user_info"?: any, "watchlist"?: [ids]}.
 * id must be a string (not a number) per §10.1. Invalid watchlist entries fail the parse.
 * Caller frees with rt_signin_clear. */
int rt_signin_parse(struct rt_str user_data, size_t max_info_bytes, struct rt_signin *s,
                    char *err, size_t err_cap);

void rt_signin_clear(struct rt_signin *s);

#endif
