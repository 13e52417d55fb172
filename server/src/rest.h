/* The Pusher HTTP API (PROTOCOL.md §14): routing, request verification and the handlers.
 * No socket code here: http.c feeds complete requests in and writes the response out. */
#ifndef RT_REST_H
#define RT_REST_H

#include <stddef.h>

#include "rt_query.h"

#include <stdbool.h>
#include <stdint.h>

struct rt_rest_response {
    int status;
    char *body; /* malloc'd JSON text */
    const char *content_type;
    bool pending; /* the answer needs the cluster's state: it comes later (rt_http_answer) */
};

/* Handles one request. `path` is the request path with the deployment prefix removed.
 * Fills out (status + JSON body, never empty), or sets out->pending: then the answer is
 * delivered later through rt_http_answer(request_id, ...), unless the connection is gone. */
void rt_rest_handle(const char *method, const char *path, const struct rt_query *q,
                    const char *body, size_t body_len, uint64_t request_id,
                    struct rt_rest_response *out);

struct json_t;
struct rt_app;

/* Publishes one event object ({"name","data","channel"|"channels","socket_id"}) exactly as
 * POST /apps/{id}/events does: the same validation, limits, backend rate, socket exclusion
 * and cluster check (the ingest inlets use it). Returns 0, or the HTTP status the API would
 * answer (400, 413, 429, 503) with its message in err. */
int rt_rest_trigger(struct rt_app *app, struct json_t *event, char *err, size_t err_cap);

/* http.c: the late answer to request_id (a no-op when its connection has closed meanwhile).
 * Takes ownership of body (malloc'd JSON text). */
void rt_http_answer(uint64_t request_id, int status, char *body);

#endif
