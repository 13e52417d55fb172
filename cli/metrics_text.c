/* Reading the Prometheus text exposition that rtserver serves at GET /metrics. */
#include "metrics_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_VALUE_MAX 128 /* app ids are at most 20 characters; anything longer is not ours */

const struct app_stat_name app_stat_names[APP_STAT_COUNT] = {
    [APP_STAT_CONNECTIONS] = {"rt_app_connections", "connections", "CONNECTIONS"},
    [APP_STAT_CHANNELS] = {"rt_app_channels", "channels", "CHANNELS"},
    [APP_STAT_MEMBERS] = {"rt_app_presence_members", "members", "MEMBERS"},
    [APP_STAT_USERS] = {"rt_app_users", "users", "USERS"},
    [APP_STAT_MESSAGES_IN] = {"rt_app_messages_in_total", "messages_in", "MESSAGES_IN"},
    [APP_STAT_MESSAGES_OUT] = {"rt_app_messages_out_total", "messages_out", "MESSAGES_OUT"},
    [APP_STAT_REST_CALLS] = {"rt_app_rest_calls_total", "rest_calls", "REST_CALLS"},
};

static int stat_of(const char *name, size_t len)
{
    for (int i = 0; i < APP_STAT_COUNT; i++)
        if (strlen(app_stat_names[i].metric) == len &&
            memcmp(app_stat_names[i].metric, name, len) == 0)
            return i;
    return -1;
}

/* Reads `{name="value",...}` starting at *p (just after '{') up to the closing '}', copying the
 * value of label "app" into app (empty when absent). Returns false on a malformed set. */
static bool read_labels(const char **p, const char *end, char app[LABEL_VALUE_MAX])
{
    const char *s = *p;
    app[0] = '\0';
    while (s < end && *s != '}') {
        const char *name = s;
        while (s < end && *s != '=' && *s != '}')
            s++;
        if (s + 1 >= end || *s != '=' || s[1] != '"') return false;
        bool is_app = s - name == 3 && memcmp(name, "app", 3) == 0;
        size_t n = 0;
        for (s += 2; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end) s++;
            if (n + 1 >= LABEL_VALUE_MAX) return false;
            if (is_app) app[n++] = *s;
        }
        if (s >= end) return false;
        if (is_app) app[n] = '\0';
        s++; /* closing quote */
        if (s < end && *s == ',') s++;
    }
    if (s >= end) return false;
    *p = s + 1;
    return true;
}

/* Handles one line [line, end). Returns true when it is the rt_connections sample. */
static bool read_line(const char *line, const char *end, app_sample_fn fn, void *arg)
{
    char app[LABEL_VALUE_MAX] = "";
    const char *p = line;
    if (p == end || *p == '#') return false;
    while (p < end && *p != '{' && *p != ' ')
        p++;
    size_t name_len = (size_t)(p - line);
    if (p < end && *p == '{') {
        p++;
        if (!read_labels(&p, end, app)) return false;
    }
    bool node_gauge = name_len == 14 && memcmp(line, "rt_connections", 14) == 0;
    int stat = stat_of(line, name_len);
    if (stat < 0 || !app[0]) return node_gauge;

    char value[64];
    while (p < end && *p == ' ')
        p++;
    size_t vlen = 0;
    while (p + vlen < end && p[vlen] != ' ' && vlen + 1 < sizeof value)
        vlen++;
    memcpy(value, p, vlen);
    value[vlen] = '\0';
    char *stop;
    double v = strtod(value, &stop);
    if (vlen == 0 || *stop != '\0' || !isfinite(v) || v < 0 || v > 9e18) return false;
    fn(arg, app, (enum app_stat)stat, (long long)v);
    return false;
}

bool metrics_text_parse(const char *text, app_sample_fn fn, void *arg)
{
    bool from_rtserver = false;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        if (end > line && end[-1] == '\r') end--;
        if (read_line(line, end, fn, arg)) from_rtserver = true;
        line = nl ? nl + 1 : NULL;
    }
    return from_rtserver;
}
