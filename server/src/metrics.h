/* Prometheus text exposition of node and per-app counters (GET /metrics). */
#ifndef RT_METRICS_H
#define RT_METRICS_H

/* Returns a malloc'd text/plain body, never NULL (allocation failure aborts, rt_alloc.h). */
char *rt_metrics_render(void);

#endif
