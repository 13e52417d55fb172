/* HTTP/1.1 request head parser: bounded, strict about what would be ambiguous. */
#include "rt_http.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Finds the end of the head: "\r\n\r\n" (or bare "\n\n", which RFC 9112 §2.2 lets a server
 * accept), looking from `from` on. Returns the index just past it, or 0. */
static size_t head_end(const char *buf, size_t len, size_t from)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (buf[i] != '\n') continue;
        if (buf[i + 1] == '\n') return i + 2;
        if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* Next line of the head from *p (before end), without its line ending. */
static struct rt_str next_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl) nl = end;
    struct rt_str line = {*p, (size_t)(nl - *p)};
    if (line.n && line.p[line.n - 1] == '\r') line.n--;
    *p = nl < end ? nl + 1 : end;
    return line;
}

static struct rt_str trim(struct rt_str s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

static long parse_request_line(struct rt_str line, struct rt_http_req *req)
{
    const char *sp1 = memchr(line.p, ' ', line.n);
    if (!sp1 || sp1 == line.p) return -400;
    const char *rest = sp1 + 1, *end = line.p + line.n;
    const char *sp2 = memchr(rest, ' ', (size_t)(end - rest));
    if (!sp2 || sp2 == rest) return -400;
    req->method = (struct rt_str){line.p, (size_t)(sp1 - line.p)};
    for (size_t i = 0; i < req->method.n; i++)
        if (!is_tchar((unsigned char)req->method.p[i])) return -400;
    req->target = (struct rt_str){rest, (size_t)(sp2 - rest)};
    if (req->target.p[0] != '/') return -400;
    for (size_t i = 0; i < req->target.n; i++) {
        unsigned char c = (unsigned char)req->target.p[i];
        if (c <= 0x20 || c >= 0x7f) return -400;
    }
    struct rt_str version = {sp2 + 1, (size_t)(end - sp2 - 1)};
    if (version.n != 8 || memcmp(version.p, "HTTP/", 5) != 0 || version.p[6] != '.' ||
        version.p[5] < '0' || version.p[5] > '9' || version.p[7] < '0' || version.p[7] > '9')
        return -400;
    if (version.p[5] != '1') return -505;
    req->minor_version = version.p[7] - '0';
    const char *q = memchr(req->target.p, '?', req->target.n);
    req->path = (struct rt_str){req->target.p, q ? (size_t)(q - req->target.p) : req->target.n};
    req->query =
        q ? (struct rt_str){q + 1, req->target.n - req->path.n - 1} : (struct rt_str){NULL, 0};
    return 0;
}

static long parse_field(struct rt_str line, struct rt_http_req *req)
{
    if (line.p[0] == ' ' || line.p[0] == '\t') return -400; /* obsolete line folding */
    const char *colon = memchr(line.p, ':', line.n);
    if (!colon || colon == line.p) return -400;
    struct rt_str name = {line.p, (size_t)(colon - line.p)};
    for (size_t i = 0; i < name.n; i++)
        if (!is_tchar((unsigned char)name.p[i])) return -400;
    struct rt_str value = trim((struct rt_str){colon + 1, line.n - name.n - 1});
    for (size_t i = 0; i < value.n; i++) {
        unsigned char c = (unsigned char)value.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return -400;
    }
    if (req->n_headers == RT_HTTP_MAX_HEADERS) return -431;
    req->headers[req->n_headers++] = (struct rt_http_header){name, value};
    return 0;
}

long rt_http_parse_head(const char *buf, size_t len, size_t *scanned, struct rt_http_req *req)
{
    memset(req, 0, sizeof *req);
    size_t scan = len < RT_HTTP_MAX_HEAD ? len : RT_HTTP_MAX_HEAD;
    size_t head = head_end(buf, scan, *scanned < scan ? *scanned : 0);
    if (!head) {
        /* The terminator is at most 3 bytes long: only its last bytes can still be unseen. */
        *scanned = scan > 3 ? scan - 3 : 0;
        return len > RT_HTTP_MAX_HEAD ? -431 : 0;
    }
    const char *p = buf, *end = buf + head;
    struct rt_str line = next_line(&p, end);
    long rc = parse_request_line(line, req);
    if (rc) return rc;
    for (;;) {
        line = next_line(&p, end);
        if (line.n == 0) break;
        if ((rc = parse_field(line, req)) != 0) return rc;
    }
    return (long)head;
}

struct rt_str rt_http_header(const struct rt_http_req *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct rt_http_header *h = &req->headers[i];
        if (h->name.n == n && strncasecmp(h->name.p, name, n) == 0) return h->value;
    }
    return (struct rt_str){NULL, 0};
}

bool rt_http_has_token(struct rt_str value, const char *token)
{
    if (!value.p) return false;
    size_t tn = strlen(token);
    const char *p = value.p, *end = value.p + value.n;
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        struct rt_str item = trim((struct rt_str){p, (size_t)((comma ? comma : end) - p)});
        if (item.n == tn && strncasecmp(item.p, token, tn) == 0) return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

int rt_http_content_length(struct rt_str value, uint64_t *out)
{
    if (value.n == 0 || value.n > 18) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < value.n; i++) {
        if (value.p[i] < '0' || value.p[i] > '9') return -1;
        v = v * 10 + (uint64_t)(value.p[i] - '0');
    }
    *out = v;
    return 0;
}

const char *rt_http_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
