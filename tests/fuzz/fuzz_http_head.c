/* libFuzzer target: request heads fed in two parts (as reads arrive), checked against a parse
 * of the whole; every field must lie inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_http.h"

static void inside(const char *buf, size_t len, struct rt_str s)
{
    if (s.p && (s.p < buf || s.p + s.n > buf + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t split = data[0] % (size);
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    if (split > len)
        split = len;
    struct rt_http_req whole, parts;
    size_t s1 = 0, s2 = 0;
    long a = rt_http_parse_head(buf, len, &s1, &whole);
    long b = rt_http_parse_head(buf, split, &s2, &parts);
    if (b == 0)
        b = rt_http_parse_head(buf, len, &s2, &parts);
    if (a != b && !(a != 0 && b < 0 && split == len))
        abort();
    if (a > 0) {
        if ((size_t)a > len)
            abort();
        inside(buf, len, whole.method);
        inside(buf, len, whole.path);
        inside(buf, len, whole.query);
        for (size_t i = 0; i < whole.n_headers; i++) {
            inside(buf, len, whole.headers[i].name);
            inside(buf, len, whole.headers[i].value);
        }
        struct rt_str cl = rt_http_header(&whole, "content-length");
        uint64_t v;
        rt_http_content_length(cl, &v);
        rt_http_has_token(rt_http_header(&whole, "connection"), "upgrade");
    }
    return 0;
}
