/* The Pusher HTTP API (PROTOCOL.md §14): routing, request verification and the handlers.
 * No socket code here: http.c feeds complete requests in and writes the response out. */
#ifndef RT_REST_H
#define RT_REST_H

#include <stddef.h>

#include "rt_query.h"

struct rt_rest_response {
    int status;
    char *body; /* malloc'd JSON text */
    const char *content_type;
};

/* Handles one request. `path` is the request path with the deployment prefix removed.
 * Always fills out (status + JSON body, never empty). */
void rt_rest_handle(const char *method, const char *path, const struct rt_query *q,
                    const char *body, size_t body_len, struct rt_rest_response *out);

#endif
