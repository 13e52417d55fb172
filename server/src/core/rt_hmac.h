/* HMAC-SHA256 / MD5 as lowercase hex, and constant-time comparison of hex digests. */
#ifndef RT_HMAC_H
#define RT_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define RT_SHA256_HEX_LEN 64
#define RT_MD5_HEX_LEN 32

/* out receives 64 lowercase hex chars + NUL. */
void rt_hmac_sha256_hex(const char *key, size_t key_len, const char *msg, size_t msg_len,
                        char out[RT_SHA256_HEX_LEN + 1]);

/* Same, over the concatenation of nparts pieces (no separators added), without copying. */
void rt_hmac_sha256_hex_parts(const char *key, size_t key_len, const char *const *parts,
                              const size_t *lens, size_t nparts, char out[RT_SHA256_HEX_LEN + 1]);

/* out receives 32 lowercase hex chars + NUL. */
void rt_md5_hex(const char *data, size_t len, char out[RT_MD5_HEX_LEN + 1]);

/* Constant-time equality of a computed 64-char hex digest with untrusted input of length
 * given_len. Returns false at once (without timing concern) when given_len != 64; the
 * comparison is case-sensitive (signatures are lowercase hex). */
bool rt_digest_equal(const char expected[RT_SHA256_HEX_LEN + 1], const char *given,
                     size_t given_len);

/* Constant-time equality of a computed digest of expected_len chars with untrusted input.
 * False when the lengths differ or expected_len is 0 (a failed digest never matches). */
bool rt_hex_equal(const char *expected, size_t expected_len, const char *given, size_t given_len);

#endif
