/* Redis Cluster routing: key slots, a command's key argument, MOVED/ASK parsing. */
#include "rt_slot.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- key slots */

/* Bit by bit rather than Redis's 256-entry table: keys are short and this is one loop. */
uint16_t rt_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned rt_slot_of(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t after = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', len - after);
        if (close && close > open + 1)
            return rt_crc16(open + 1, (size_t)(close - open - 1)) & 16383;
    }
    return rt_crc16(key, len) & 16383;
}

/* ---------------------------------------------------------------- key argument */

static bool is(const char *arg, const char *name)
{
    return arg && strcasecmp(arg, name) == 0;
}

/* Commands that touch no key: sent to any node. Not exhaustive: only what a client of ours
 * may send, plus the usual administrative ones. */
static const char *const keyless[] = {
    "PING",         "AUTH",     "HELLO",   "SELECT",   "ECHO",         "QUIT",        "INFO",
    "SCRIPT",       "FUNCTION", "CLUSTER", "CLIENT",   "CONFIG",       "COMMAND",     "TIME",
    "DBSIZE",       "FLUSHALL", "FLUSHDB", "KEYS",     "SCAN",         "RANDOMKEY",   "WAIT",
    "MULTI",        "EXEC",     "DISCARD", "READONLY", "READWRITE",    "ASKING",      "MONITOR",
    "SLOWLOG",      "LASTSAVE", "SAVE",    "BGSAVE",   "BGREWRITEAOF", "SHUTDOWN",    "DEBUG",
    "ROLE",         "LATENCY",  "ACL",     "PUBLISH",  "SUBSCRIBE",    "UNSUBSCRIBE", "PSUBSCRIBE",
    "PUNSUBSCRIBE", "PUBSUB",   "RESET",   "SWAPDB",   "REPLICAOF",    "SLAVEOF",     "FAILOVER",
};

/* Numeric numkeys of EVAL-like commands: argv[3] is the first key when it is > 0. */
static int eval_key_index(size_t argc, const char *const *argv)
{
    if (argc < 4 || !argv[2]) return -1;
    const char *p = argv[2];
    if (*p < '1' || *p > '9') return -1; /* "0", negative, empty or not a number */
    for (; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    return 3;
}

/* XREAD [COUNT n] [BLOCK ms] STREAMS k...; XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK]
 * STREAMS k...: option values are skipped so that a group or consumer named "streams" is
 * not mistaken for the keyword. */
static int streams_key_index(size_t argc, const char *const *argv)
{
    for (size_t i = 1; i < argc; i++) {
        if (is(argv[i], "STREAMS")) return i + 1 < argc ? (int)(i + 1) : -1;
        if (is(argv[i], "GROUP"))
            i += 2;
        else if (is(argv[i], "COUNT") || is(argv[i], "BLOCK"))
            i += 1;
    }
    return -1;
}

int rt_command_key_index(size_t argc, const char *const *argv)
{
    if (argc == 0 || !argv || !argv[0]) return -1;
    const char *cmd = argv[0];
    for (size_t i = 0; i < sizeof keyless / sizeof keyless[0]; i++)
        if (is(cmd, keyless[i])) return -1;
    if (is(cmd, "EVAL") || is(cmd, "EVALSHA") || is(cmd, "EVAL_RO") || is(cmd, "EVALSHA_RO") ||
        is(cmd, "FCALL") || is(cmd, "FCALL_RO"))
        return eval_key_index(argc, argv);
    if (is(cmd, "XREAD") || is(cmd, "XREADGROUP")) return streams_key_index(argc, argv);
    if (is(cmd, "XGROUP") || is(cmd, "XINFO") || is(cmd, "OBJECT") || is(cmd, "MEMORY"))
        return argc > 2 ? 2 : -1;
    return argc > 1 ? 1 : -1;
}

/* ---------------------------------------------------------------- MOVED / ASK */

static bool endpoint_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':';
}

/* Digits only in [p, end), value <= max; returns false for an empty or overlong run. */
static bool parse_number(const char *p, const char *end, unsigned long max, unsigned long *out)
{
    if (p == end || end - p > 5) return false;
    unsigned long v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

int rt_redirect_parse(const char *err, size_t len, unsigned *slot, char *host, size_t host_cap,
                      int *port)
{
    if (!err || !host || host_cap == 0) return RT_REDIRECT_NONE;
    int kind;
    size_t skip;
    if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
        kind = RT_REDIRECT_MOVED;
        skip = 6;
    } else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
        kind = RT_REDIRECT_ASK;
        skip = 4;
    } else {
        return RT_REDIRECT_NONE;
    }
    const char *p = err + skip, *end = err + len;
    const char *space = memchr(p, ' ', (size_t)(end - p));
    unsigned long slot_v, port_v;
    if (!space || !parse_number(p, space, RT_SLOTS - 1, &slot_v)) return RT_REDIRECT_NONE;

    const char *ep = space + 1, *colon = NULL;
    for (const char *q = ep; q < end; q++)
        if (*q == ':') colon = q;
    if (!colon || !parse_number(colon + 1, end, 65535, &port_v) || port_v == 0)
        return RT_REDIRECT_NONE;

    const char *h = ep, *h_end = colon;
    if (h_end - h >= 2 && h[0] == '[' && h_end[-1] == ']') {
        h++;
        h_end--;
    }
    size_t n = (size_t)(h_end - h);
    if (n >= host_cap) return RT_REDIRECT_NONE;
    for (const char *q = h; q < h_end; q++)
        if (!endpoint_char_ok(*q)) return RT_REDIRECT_NONE;
    memcpy(host, h, n);
    host[n] = '\0';
    *slot = (unsigned)slot_v;
    *port = (int)port_v;
    return kind;
}
