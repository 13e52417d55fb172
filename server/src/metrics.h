/* Prometheus text exposition of node and per-app counters (GET /metrics), plus what is
 * measured here: event-loop lag and REST requests by route class, status and latency. */
#ifndef RT_METRICS_H
#define RT_METRICS_H

#include <stdint.h>
#include <uv.h>

/* Returns a malloc'd text/plain body, never NULL (allocation failure aborts, rt_alloc.h). */
char *rt_metrics_render(void);

/* Starts and stops the event-loop lag sampler (an unref'd timer). */
void rt_metrics_start(uv_loop_t *loop);
void rt_metrics_stop(void);

/* The route class of a REST path (after the path prefix), from 1; for rt_metrics_rest. */
int rt_metrics_route(const char *path);

/* REST request request_id of route class route (rt_metrics_route) was answered with status
 * after duration_us microseconds (counted, and logged at debug). */
void rt_metrics_rest(uint64_t request_id, int route, int status, uint64_t duration_us);

#endif
