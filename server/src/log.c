/* Leveled logging to stderr with UTC timestamps. Never pass secrets or signatures here. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum rt_log_level min_level = RT_LOG_INFO;
static bool json;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int rt_log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            min_level = (enum rt_log_level)i;
            return 0;
        }
    }
    return -1;
}

int rt_log_set_format_name(const char *name)
{
    if (strcmp(name, "text") != 0 && strcmp(name, "json") != 0) return -1;
    json = strcmp(name, "json") == 0;
    return 0;
}

/* Appends s (n bytes) to out as the inside of a JSON string; returns the new length. */
static size_t json_escape(char *out, size_t len, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n && len + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c); /* 6 < 7: fits */
        } else {
            out[len++] = (char)c;
        }
    }
    out[len] = '\0';
    return len;
}

/* Field names of the leading key=value words lifted out of a message. */
static const char *field_name(const char *key, size_t n)
{
    if (n == 3 && memcmp(key, "app", 3) == 0) return "app";
    if (n == 6 && memcmp(key, "socket", 6) == 0) return "socket_id";
    if (n == 7 && memcmp(key, "request", 7) == 0) return "request_id";
    return NULL;
}

/* Appends text to out, never past cap (a long line is cut, not overrun). */
static size_t append(char *out, size_t len, size_t cap, const char *text)
{
    size_t n = strlen(text);
    if (len + n >= cap) n = cap - 1 - len;
    memcpy(out + len, text, n);
    out[len + n] = '\0';
    return len + n;
}

static void write_json(const char *stamp, const char *level, const char *msg)
{
    char out[4096];
    size_t len = 0;
    len = append(out, len, sizeof out, "{\"time\":\"");
    len = append(out, len, sizeof out, stamp);
    len = append(out, len, sizeof out, "\",\"level\":\"");
    len = append(out, len, sizeof out, level);
    len = append(out, len, sizeof out, "\"");
    const char *p = msg;
    for (;;) {
        const char *eq = strchr(p, '='), *sp = strchr(p, ' ');
        if (!eq || !sp || eq > sp) break;
        const char *name = field_name(p, (size_t)(eq - p));
        if (!name) break;
        len = append(out, len, sizeof out, ",\"");
        len = append(out, len, sizeof out, name);
        len = append(out, len, sizeof out, "\":\"");
        len = json_escape(out, len, sizeof out, eq + 1, (size_t)(sp - eq - 1));
        len = append(out, len, sizeof out, "\"");
        p = sp + 1;
    }
    len = append(out, len, sizeof out, ",\"msg\":\"");
    len = json_escape(out, len, sizeof out, p, strlen(p));
    fprintf(stderr, "%s\"}\n", out);
}

void rt_log(enum rt_log_level level, const char *fmt, ...)
{
    if (level < min_level) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (json) {
        char full[48];
        snprintf(full, sizeof full, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000);
        write_json(full, level_names[level], line);
        return;
    }
    fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000, level_names[level], line);
}
