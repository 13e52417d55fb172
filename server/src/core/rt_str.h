/* Length-delimited string views and small text helpers (hex, random ids). */
#ifndef RT_STR_H
#define RT_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_str {
    const char *p;
    size_t n;
};

#define RT_STR_LIT(s) ((struct rt_str){(s), sizeof(s) - 1})

/* Wraps a NUL-terminated string; p may be NULL (then n = 0). */
struct rt_str rt_str_c(const char *p);

bool rt_str_has_prefix(struct rt_str s, const char *prefix);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void rt_hex_encode(const uint8_t *in, size_t n, char *out);

/* Fills out with 2*nbytes random lowercase hex chars + NUL (libsodium randombytes). */
void rt_random_hex(char *out, size_t nbytes);

/* Fills out with ndigits random decimal digits + NUL, first digit never 0. */
void rt_random_digits(char *out, size_t ndigits);

#endif
