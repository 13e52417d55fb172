/* Security log: per (app, event) counters and rate-limited log lines, see seclog.h. */
#include "seclog.h"

#include <stddef.h>
#include <string.h>
#include <uthash.h>

#include "conn.h"
#include "log.h"
#include "rt_alloc.h"
#include "timer.h"

#define REASONS_MAX 8 /* reason classes per event; more are counted under "other" */
#define KEY_MAX 160

/* Which counter an event goes to, and whether the reason is one of its labels. */
static const struct {
    const char *event;
    const char *metric;
    bool by_reason;
} known[] = {
    {RT_SEC_REST_AUTH_FAILURE, "rt_rest_auth_failures_total", true},
    {RT_SEC_CHANNEL_AUTH_FAILURE, "rt_channel_auth_failures_total", false},
    {RT_SEC_SIGNIN_AUTH_FAILURE, "rt_signin_auth_failures_total", false},
    {RT_SEC_IP_LIMIT, "rt_ip_limit_refusals_total", true},
};
#define KNOWN_COUNT (sizeof known / sizeof known[0])

struct reason_count {
    const char *reason;         /* a literal; NULL = free slot */
    unsigned long long total;   /* since start, for /metrics */
    unsigned long long pending; /* since the last log line */
};

/* One (app, event) pair. Entries live as long as the process, so that the counters only ever
 * grow, as Prometheus expects; the table stays bounded because callers pass ids of apps in the
 * registry (a bounded set, never a client's word) and literal events. */
struct entry {
    char key[KEY_MAX]; /* "app\nevent": the hash key */
    char app_id[64];
    const char *event;
    struct reason_count reasons[REASONS_MAX + 1]; /* the last slot is "other" */
    unsigned long long pending;
    uint64_t logged_ms; /* when the last line was written; 0 = never */
    struct rt_timer flush;
    UT_hash_handle hh;
};

static struct entry *entries;

/* "reason:count,reason:count" of the pending counts into buf. */
static void pending_reasons(const struct entry *e, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i <= REASONS_MAX && used < cap; i++) {
        const struct reason_count *r = &e->reasons[i];
        if (!r->reason || !r->pending) continue;
        int n =
            snprintf(buf + used, cap - used, "%s%s:%llu", used ? "," : "", r->reason, r->pending);
        if (n > 0) used += (size_t)n;
    }
}

/* Writes e's pending counts as one line and starts a new interval. */
static void write_line(struct entry *e, uint64_t now)
{
    char reasons[512];
    pending_reasons(e, reasons, sizeof reasons);
    if (e->logged_ms == 0)
        rt_log_warn("security event=%s app=%s reasons=%s count=%llu", e->event, e->app_id, reasons,
                    e->pending);
    else
        rt_log_warn("security event=%s app=%s reasons=%s count=%llu (%llu more since the last "
                    "line)",
                    e->event, e->app_id, reasons, e->pending, e->pending);
    for (int i = 0; i <= REASONS_MAX; i++)
        e->reasons[i].pending = 0;
    e->pending = 0;
    e->logged_ms = now;
}

static void on_flush(struct rt_timer *t)
{
    struct entry *e = (struct entry *)((char *)t - offsetof(struct entry, flush));
    if (e->pending) write_line(e, rt_now_ms());
}

static struct entry *find_or_add(const char *app_id, const char *event)
{
    char key[KEY_MAX];
    int n = snprintf(key, sizeof key, "%s\n%s", app_id, event);
    if (n < 0 || (size_t)n >= sizeof key || strlen(app_id) >= sizeof((struct entry *)0)->app_id)
        return NULL; /* app ids are at most 20 digits */
    struct entry *e;
    HASH_FIND_STR(entries, key, e);
    if (e) return e;
    e = rt_xcalloc(1, sizeof *e);
    memcpy(e->key, key, (size_t)n + 1);
    snprintf(e->app_id, sizeof e->app_id, "%s", app_id);
    e->event = event;
    e->reasons[REASONS_MAX].reason = "other";
    HASH_ADD_STR(entries, key, e);
    return e;
}

static struct reason_count *reason_slot(struct entry *e, const char *reason)
{
    for (int i = 0; i < REASONS_MAX; i++) {
        struct reason_count *r = &e->reasons[i];
        if (!r->reason) r->reason = reason;
        if (strcmp(r->reason, reason) == 0) return r;
    }
    return &e->reasons[REASONS_MAX];
}

void rt_seclog(const char *app_id, const char *event, const char *reason)
{
    struct entry *e = find_or_add(app_id ? app_id : "-", event);
    if (!e) return;
    struct reason_count *r = reason_slot(e, reason ? reason : "unspecified");
    r->total++;
    r->pending++;
    e->pending++;
    uint64_t now = rt_now_ms();
    if (e->logged_ms == 0 || now - e->logged_ms >= RT_SECLOG_INTERVAL_MS) {
        rt_timer_cancel(&e->flush);
        write_line(e, now);
    } else if (!rt_timer_armed(&e->flush)) {
        rt_timer_set(&e->flush, e->logged_ms + RT_SECLOG_INTERVAL_MS, on_flush);
    }
}

/* The index of event in known[], or -1 when it is not in the table. */
static int known_index(const char *event)
{
    for (size_t i = 0; i < KNOWN_COUNT; i++)
        if (strcmp(known[i].event, event) == 0) return (int)i;
    return -1;
}

/* The counts of the apps without their own series, per (event, reason): summed as
 * app="_other". Events and reasons are literals of the code, so a few slots hold them all; a
 * pair beyond them is added to the last slot, relabelled "other". */
#define FOLDED_MAX 64
struct folded {
    struct {
        const char *event, *reason;
        unsigned long long n;
    } v[FOLDED_MAX];
    size_t n;
};

static void fold(struct folded *o, const char *event, const char *reason, unsigned long long n)
{
    size_t i = 0;
    while (i < o->n && (strcmp(o->v[i].event, event) != 0 || strcmp(o->v[i].reason, reason) != 0))
        i++;
    if (i == FOLDED_MAX) {
        i = FOLDED_MAX - 1;
        o->v[i].reason = "other";
    } else if (i == o->n) {
        o->n++;
        o->v[i].event = event;
        o->v[i].reason = reason;
    }
    o->v[i].n += n;
}

/* Writes one entry's series of metric (k: its index in known[], KNOWN_COUNT for
 * rt_security_events_total) under app label app. */
static void write_entry(FILE *f, size_t k, const char *metric, const char *app,
                        const struct entry *e)
{
    unsigned long long sum = 0;
    for (int i = 0; i <= REASONS_MAX; i++) {
        const struct reason_count *r = &e->reasons[i];
        if (!r->reason || !r->total) continue;
        sum += r->total;
        if (k == KNOWN_COUNT)
            fprintf(f, "%s{app=\"%s\",event=\"%s\",reason=\"%s\"} %llu\n", metric, app, e->event,
                    r->reason, r->total);
        else if (known[k].by_reason)
            fprintf(f, "%s{app=\"%s\",reason=\"%s\"} %llu\n", metric, app, r->reason, r->total);
    }
    if (k < KNOWN_COUNT && !known[k].by_reason)
        fprintf(f, "%s{app=\"%s\"} %llu\n", metric, app, sum);
}

void rt_seclog_write_metrics(FILE *f, bool (*own_series)(const char *app_id, void *ctx), void *ctx)
{
    for (size_t k = 0; k <= KNOWN_COUNT; k++) {
        const char *metric = k < KNOWN_COUNT ? known[k].metric : "rt_security_events_total";
        fprintf(f, "# TYPE %s counter\n", metric);
        struct folded other = {0};
        unsigned long long other_sum = 0;
        struct entry *e, *tmp;
        HASH_ITER(hh, entries, e, tmp)
        {
            int idx = known_index(e->event);
            if (k < KNOWN_COUNT ? idx != (int)k : idx >= 0) continue;
            /* "-" is the node, not an app: one series whatever the number of apps. */
            if (strcmp(e->app_id, "-") == 0 || own_series(e->app_id, ctx)) {
                write_entry(f, k, metric, e->app_id, e);
                continue;
            }
            for (int i = 0; i <= REASONS_MAX; i++) {
                const struct reason_count *r = &e->reasons[i];
                if (!r->reason || !r->total) continue;
                fold(&other, e->event, r->reason, r->total);
                other_sum += r->total;
            }
        }
        if (!other_sum) continue;
        if (k < KNOWN_COUNT && !known[k].by_reason) {
            fprintf(f, "%s{app=\"_other\"} %llu\n", metric, other_sum);
            continue;
        }
        for (size_t i = 0; i < other.n; i++) {
            if (k == KNOWN_COUNT)
                fprintf(f, "%s{app=\"_other\",event=\"%s\",reason=\"%s\"} %llu\n", metric,
                        other.v[i].event, other.v[i].reason, other.v[i].n);
            else
                fprintf(f, "%s{app=\"_other\",reason=\"%s\"} %llu\n", metric, other.v[i].reason,
                        other.v[i].n);
        }
    }
}
