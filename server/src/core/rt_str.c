/* Length-delimited string views and small text helpers. */
#include "rt_str.h"

#include <sodium.h>
#include <string.h>

struct rt_str rt_str_c(const char *p)
{
    return (struct rt_str){p, p ? strlen(p) : 0};
}

bool rt_str_has_prefix(struct rt_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

void rt_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void rt_random_hex(char *out, size_t nbytes)
{
    uint8_t buf[64];
    while (nbytes > 0) {
        size_t chunk = nbytes < sizeof buf ? nbytes : sizeof buf;
        randombytes_buf(buf, chunk);
        rt_hex_encode(buf, chunk, out);
        out += 2 * chunk;
        nbytes -= chunk;
    }
    *out = '\0';
}

void rt_random_digits(char *out, size_t ndigits)
{
    for (size_t i = 0; i < ndigits; i++)
        out[i] = (char)('0' + (i == 0 ? 1 + randombytes_uniform(9) : randombytes_uniform(10)));
    out[ndigits] = '\0';
}
