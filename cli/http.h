/* Blocking HTTP requests from rtadmin to running servers (libcurl), with bounded answers. */
#ifndef RTADMIN_HTTP_H
#define RTADMIN_HTTP_H

#include <stddef.h>

#define HTTP_RESPONSE_MAX (1024 * 1024)
#define HTTP_SERVERS_MAX 32
#define HTTP_ERROR_MAX 256 /* room for a transport error message (libcurl's size) */

struct http_response {
    long status;
    char *body; /* NUL-terminated, at most HTTP_RESPONSE_MAX bytes; NULL when empty */
    size_t len;
};

/* Sends METHOD url with body (NULL: no body; a body is sent as application/json), giving up
 * after timeout_seconds. Returns 0 with *r filled (any HTTP status, including non-2xx), or -1
 * with the transport problem ("Connection refused"...) written into err. The caller frees r
 * with http_response_free in both cases. */
int http_request(const char *method, const char *url, const char *body, long timeout_seconds,
                 struct http_response *r, char *err, size_t err_cap);

void http_response_free(struct http_response *r);

/* The answer body as one line for an error message: trailing whitespace removed, other line
 * breaks turned into spaces, "(empty body)" when there is none. Points into r or a literal. */
const char *http_body_line(struct http_response *r);

#endif
