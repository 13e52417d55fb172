/* HTTP/1.1 request heads (RFC 9112): request line and header fields, bounded; response heads.
 * Pure functions over the caller's buffer, no I/O and no allocation. */
#ifndef RT_HTTP_H
#define RT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_str.h"

#define RT_HTTP_MAX_HEAD 8192 /* request line + header fields */
#define RT_HTTP_MAX_HEADERS 48

struct rt_http_header {
    struct rt_str name;  /* as sent; compare case-insensitively */
    struct rt_str value; /* surrounding whitespace trimmed */
};

struct rt_http_req {
    struct rt_str method;
    struct rt_str target; /* origin-form: "/path?query" */
    struct rt_str path;   /* target up to '?' (still percent-encoded) */
    struct rt_str query;  /* after '?', without it; {NULL,0} when absent */
    int minor_version;    /* HTTP/1.0 or HTTP/1.1 */
    struct rt_http_header headers[RT_HTTP_MAX_HEADERS];
    size_t n_headers;
};

/* Parses a request head at buf[0..len). *scanned (0 at first) remembers how far earlier calls
 * looked for the blank line, so feeding a head byte by byte costs O(n), not O(n²). Returns the
 * head's size including the blank line
 * (> 0), 0 when the blank line has not arrived yet and len <= RT_HTTP_MAX_HEAD, -431 when
 * the head is larger than RT_HTTP_MAX_HEAD or has more than RT_HTTP_MAX_HEADERS fields, -400
 * when it is malformed (bad request line, not HTTP/1.x, not origin-form, control characters,
 * obsolete line folding, a field without ':'), -505 for another HTTP version. The struct
 * points into buf. */
long rt_http_parse_head(const char *buf, size_t len, size_t *scanned, struct rt_http_req *req);

/* Value of the first field called name (case-insensitive), or {NULL,0}. */
struct rt_str rt_http_header(const struct rt_http_req *req, const char *name);

/* True when a comma-separated field value (e.g. Connection: keep-alive, Upgrade) holds token
 * (case-insensitive). */
bool rt_http_has_token(struct rt_str value, const char *token);

/* Parses a Content-Length value: digits only, at most 18 of them. Returns 0 or -1. */
int rt_http_content_length(struct rt_str value, uint64_t *out);

/* Standard reason phrase for a status code ("OK", "Not Found", ...). */
const char *rt_http_reason(int status);

#endif
