/* Reading the Prometheus text exposition that rtserver serves at GET /metrics. */
#ifndef RTADMIN_METRICS_TEXT_H
#define RTADMIN_METRICS_TEXT_H

#include <stdbool.h>

/* The per-app series rtadmin stats shows, in column order. */
enum app_stat {
    APP_STAT_CONNECTIONS,
    APP_STAT_CHANNELS,
    APP_STAT_MEMBERS,
    APP_STAT_USERS,
    APP_STAT_MESSAGES_IN,
    APP_STAT_MESSAGES_OUT,
    APP_STAT_REST_CALLS,
    APP_STAT_COUNT,
};

struct app_stat_name {
    const char *metric; /* e.g. "rt_app_connections" */
    const char *field;  /* JSON member, e.g. "connections" */
    const char *header; /* table column, e.g. "CONNECTIONS" */
};

extern const struct app_stat_name app_stat_names[APP_STAT_COUNT];

/* Called once per per-app sample: app is the value of the sample's app label. */
typedef void (*app_sample_fn)(void *arg, const char *app, enum app_stat stat, long long value);

/* Walks text line by line and reports every sample of the app_stat_names metrics that carries
 * an app label and a finite, non-negative value; comments, other metrics and lines it cannot
 * read are skipped. Returns true when the text has the node gauge rt_connections, i.e. it
 * really comes from an rtserver. */
bool metrics_text_parse(const char *text, app_sample_fn fn, void *arg);

#endif
