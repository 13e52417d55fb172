/* Channel names: charset and length validation, and the type implied by the prefix. */
#include "rt_channel_name.h"

#include <string.h>

#include "rt_user_data.h"

#define SERVER_TO_USER_PREFIX_LEN (sizeof(RT_SERVER_TO_USER_PREFIX) - 1)

static bool name_char_ok(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return c == '_' || c == '-' || c == '=' || c == '@' || c == ',' || c == '.' || c == ';';
}

static bool charset_ok(struct rt_str s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (!name_char_ok((unsigned char)s.p[i])) return false;
    }
    return true;
}

/* The table is ordered longest prefix first: "private-encrypted-cache-" must win over
 * "private-encrypted-", which must win over "private-" (PROTOCOL.md §5.1). */
struct rt_channel_kind rt_channel_kind_of(struct rt_str name)
{
    static const struct {
        const char *prefix;
        struct rt_channel_kind kind;
    } table[] = {
        {"private-encrypted-cache-", {RT_CHANNEL_ENCRYPTED, true}},
        {"private-encrypted-", {RT_CHANNEL_ENCRYPTED, false}},
        {"private-cache-", {RT_CHANNEL_PRIVATE, true}},
        {"private-", {RT_CHANNEL_PRIVATE, false}},
        {"presence-cache-", {RT_CHANNEL_PRESENCE, true}},
        {"presence-", {RT_CHANNEL_PRESENCE, false}},
        {"cache-", {RT_CHANNEL_PUBLIC, true}},
        {RT_SERVER_TO_USER_PREFIX, {RT_CHANNEL_SERVER_TO_USER, false}},
    };
    if (name.p == NULL) return (struct rt_channel_kind){RT_CHANNEL_PUBLIC, false};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (rt_str_has_prefix(name, table[i].prefix)) return table[i].kind;
    }
    return (struct rt_channel_kind){RT_CHANNEL_PUBLIC, false};
}

/* max_len is clamped to RT_CHANNEL_NAME_MAX; for "#server-to-user-{id}" the whole name must
 * fit in max_len and the id in RT_USER_ID_MAX. */
bool rt_channel_name_valid(struct rt_str name, size_t max_len)
{
    if (max_len > RT_CHANNEL_NAME_MAX) max_len = RT_CHANNEL_NAME_MAX;
    if (name.p == NULL || name.n == 0 || name.n > max_len) return false;
    if (name.p[0] == '#') {
        struct rt_str id = rt_server_to_user_id(name);
        return id.p != NULL && rt_user_id_valid(id, RT_USER_ID_MAX);
    }
    return charset_ok(name);
}

bool rt_channel_needs_auth(enum rt_channel_type type)
{
    return type == RT_CHANNEL_PRIVATE || type == RT_CHANNEL_PRESENCE ||
           type == RT_CHANNEL_ENCRYPTED;
}

bool rt_user_id_valid(struct rt_str id, size_t max_len)
{
    if (id.p == NULL || id.n == 0 || id.n > max_len) return false;
    return charset_ok(id);
}

/* An empty id ("#server-to-user-") gives {NULL, 0}, like a non-matching name. */
struct rt_str rt_server_to_user_id(struct rt_str name)
{
    if (name.p == NULL || !rt_str_has_prefix(name, RT_SERVER_TO_USER_PREFIX) ||
        name.n == SERVER_TO_USER_PREFIX_LEN)
        return (struct rt_str){NULL, 0};
    return (struct rt_str){name.p + SERVER_TO_USER_PREFIX_LEN, name.n - SERVER_TO_USER_PREFIX_LEN};
}
