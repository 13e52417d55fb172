/* Per client address state: a token bucket for new connections, a concurrent count, and a
 * failure window with back-off. Entries are freed by the sweep once they hold nothing, so a
 * scan from many addresses costs memory only while it lasts. */
#include "iplimit.h"

#include <stdio.h>
#include <string.h>
#include <uthash.h>

#include "conn.h"
#include "log.h"
#include "rt_alloc.h"
#include "rt_ratelimit.h"
#include "server.h"
#include "seclog.h"

#define FAILURE_WINDOW_MS 60000

struct rt_ip {
    char ip[48];
    size_t conns;
    struct rt_bucket connects;
    unsigned failures;
    uint64_t window_start_ms;
    uint64_t blocked_until_ms;
    UT_hash_handle hh;
};

static struct rt_ip *by_ip;
static struct rt_ip_stats stats;

static struct rt_ip *find(const char *ip, bool create)
{
    struct rt_ip *e = NULL;
    HASH_FIND_STR(by_ip, ip, e);
    if (e || !create) return e;
    e = rt_xcalloc(1, sizeof *e);
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    HASH_ADD_STR(by_ip, ip, e);
    return e;
}

static bool blocked(const struct rt_ip *e, uint64_t now)
{
    return e && e->blocked_until_ms > now;
}

enum rt_ip_verdict rt_ip_admit(const char *ip, bool websocket)
{
    uint64_t now = rt_now_ms();
    if (blocked(find(ip, false), now)) {
        stats.refused_backoff++;
        rt_seclog("-", RT_SEC_IP_LIMIT, "backoff");
        return RT_IP_BACKOFF;
    }
    int rate = rt_srv.cfg.ip_connections_per_second;
    if (!websocket || rate <= 0) return RT_IP_OK;
    struct rt_ip *e = find(ip, true);
    if (!rt_bucket_take(&e->connects, rate, 2.0 * rate, now)) {
        stats.refused_rate++;
        rt_seclog("-", RT_SEC_IP_LIMIT, "connections_per_second");
        return RT_IP_RATE;
    }
    return RT_IP_OK;
}

struct rt_ip *rt_ip_hold(const char *ip)
{
    struct rt_ip *e = find(ip, true);
    int max = rt_srv.cfg.ip_max_connections;
    if (max > 0 && e->conns >= (size_t)max) {
        stats.refused_concurrent++;
        rt_seclog("-", RT_SEC_IP_LIMIT, "max_connections");
        return NULL;
    }
    e->conns++;
    return e;
}

void rt_ip_release(struct rt_ip *e)
{
    if (e && e->conns) e->conns--;
}

const char *rt_ip_address(const struct rt_ip *e)
{
    return e ? e->ip : "";
}

void rt_ip_failure(const char *ip)
{
    int limit = rt_srv.cfg.ip_auth_failures;
    if (limit <= 0 || !ip || !*ip) return;
    uint64_t now = rt_now_ms();
    struct rt_ip *e = find(ip, true);
    if (now - e->window_start_ms > FAILURE_WINDOW_MS) {
        e->window_start_ms = now;
        e->failures = 0;
    }
    if (++e->failures <= (unsigned)limit || blocked(e, now)) return;
    e->blocked_until_ms = now + (uint64_t)rt_srv.cfg.ip_backoff_seconds * 1000;
    stats.backoffs++;
    rt_log_warn("security: address %s refused for %d s after %u authentication failures in a "
                "minute",
                ip, rt_srv.cfg.ip_backoff_seconds, e->failures);
}

void rt_ip_sweep(void)
{
    uint64_t now = rt_now_ms();
    struct rt_ip *e, *tmp;
    HASH_ITER(hh, by_ip, e, tmp)
    {
        bool idle_bucket = e->connects.last_ms == 0 || now - e->connects.last_ms > 10000;
        bool idle_failures = now - e->window_start_ms > FAILURE_WINDOW_MS;
        if (e->conns == 0 && !blocked(e, now) && idle_bucket && idle_failures) {
            HASH_DEL(by_ip, e);
            free(e);
        }
    }
}

void rt_ip_stats(struct rt_ip_stats *out)
{
    *out = stats;
    out->tracked = HASH_COUNT(by_ip);
}
