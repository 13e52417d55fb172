/* Per client address limits (docs/security.md, "Hostile clients"): concurrent WebSockets, new
 * connections per second, and a back-off after repeated authentication failures. The address
 * is the peer's, or with RT_TRUST_PROXY the one the proxy appended to X-Forwarded-For. */
#ifndef RT_IPLIMIT_H
#define RT_IPLIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct rt_ip;

enum rt_ip_verdict {
    RT_IP_OK = 0,
    RT_IP_RATE,    /* over RT_IP_CONNECTIONS_PER_SECOND */
    RT_IP_BACKOFF, /* too many authentication failures lately */
};

/* A new WebSocket upgrade (websocket = true) or REST request from ip: RT_IP_OK, or why it
 * must be refused (HTTP 429). Only upgrades count against the connection rate. */
enum rt_ip_verdict rt_ip_admit(const char *ip, bool websocket);

/* Holds one concurrent WebSocket slot for ip. Returns the entry to give back with
 * rt_ip_release, or NULL when ip is at RT_IP_MAX_CONNECTIONS. */
struct rt_ip *rt_ip_hold(const char *ip);
void rt_ip_release(struct rt_ip *e);

/* Records an authentication failure from ip (unknown app key, bad signature, bad token);
 * past RT_IP_AUTH_FAILURES in a minute the address is refused for RT_IP_BACKOFF_SECONDS. */
void rt_ip_failure(const char *ip);

/* The address an entry belongs to (for log lines). */
const char *rt_ip_address(const struct rt_ip *e);

/* Frees entries that hold nothing (called periodically). */
void rt_ip_sweep(void);

/* Counters for /metrics. */
struct rt_ip_stats {
    unsigned long long refused_rate, refused_concurrent, refused_backoff, backoffs;
    size_t tracked;
};
void rt_ip_stats(struct rt_ip_stats *out);

#endif
