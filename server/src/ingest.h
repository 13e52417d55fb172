/* The Redis inlets (docs/ingest.md): an app's backend publishes through Redis instead of the
 * REST API. Laravel's `redis` broadcaster PUBLISHes to "<prefix><channel>" and the one node
 * that holds the ingest lease handles each message; the durable stream rt:ingest:{APP_ID} is
 * read by every node through one consumer group. Both publish exactly as POST /events does
 * (rt_rest_trigger). Cluster mode only: a standalone node has no inlets. */
#ifndef RT_INGEST_H
#define RT_INGEST_H

#include <stdio.h>

/* Starts the lease and poll timers (call after rt_cluster_start). */
void rt_ingest_start(void);

/* Stops the timers and gives the lease back, so that another node takes the Laravel inlet at
 * once (call before rt_cluster_stop, which lets the release reach Redis). */
void rt_ingest_stop(void);

/* Writes the rt_ingest_* series for /metrics. */
void rt_ingest_write_metrics(FILE *f);

#endif
