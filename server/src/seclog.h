/* Security log (docs/security.md, "Security log"): authentication failures and other security
 * events, counted for /metrics and logged as rate-limited key=value lines that never hold a
 * secret, a signature or a token. */
#ifndef RT_SECLOG_H
#define RT_SECLOG_H

#include <stdbool.h>
#include <stdio.h>

/* Events, each with its own counter rt_<name>s_total (see seclog.c's table). */
#define RT_SEC_REST_AUTH_FAILURE "rest_auth_failure"       /* 401 from the HTTP API */
#define RT_SEC_CHANNEL_AUTH_FAILURE "channel_auth_failure" /* private/presence subscribe */
#define RT_SEC_SIGNIN_AUTH_FAILURE "signin_auth_failure"   /* pusher:signin signature */
#define RT_SEC_IP_LIMIT "ip_limit" /* per-address limits (iplimit.h), app "-": node-wide */

#define RT_SECLOG_INTERVAL_MS 10000

/* Records one event of app_id for reason (a short class such as "bad_signature"; both
 * `event` and `reason` must be string literals: they are kept, not copied). The first event of
 * an (app, event) pair is logged at once; later ones within RT_SECLOG_INTERVAL_MS of the last
 * line are counted and logged together, one line per pair per interval ("count=N ... N more
 * since the last line"), when the interval is over. An event missing from the table is
 * logged and counted as rt_security_events_total{app,event,reason}. */
void rt_seclog(const char *app_id, const char *event, const char *reason);

/* Writes the counters in Prometheus text format (called by rt_metrics_render). An app for
 * which own_series(app_id, ctx) is false is summed with the others under app="_other", as
 * /metrics does for the rt_app_* series (RT_METRICS_APPS_MAX); app "-" (the node) always has
 * its own series. */
void rt_seclog_write_metrics(FILE *f, bool (*own_series)(const char *app_id, void *ctx), void *ctx);

#endif
