/* HMAC-SHA256 / MD5 hex digests and constant-time digest comparison. */
#include "rt_hmac.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdint.h>

#include "rt_str.h"

/* libsodium's streaming HMAC needs no allocation and cannot fail, which is what the void
 * signatures here require; OpenSSL is used only for MD5, which libsodium lacks. */
void rt_hmac_sha256_hex_parts(const char *key, size_t key_len, const char *const *parts,
                              const size_t *lens, size_t nparts, char out[RT_SHA256_HEX_LEN + 1])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, key_len);
    for (size_t i = 0; i < nparts; i++) {
        if (lens[i] > 0)
            crypto_auth_hmacsha256_update(&st, (const unsigned char *)parts[i], lens[i]);
    }
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    rt_hex_encode(mac, sizeof mac, out);
}

void rt_hmac_sha256_hex(const char *key, size_t key_len, const char *msg, size_t msg_len,
                        char out[RT_SHA256_HEX_LEN + 1])
{
    const char *parts[1] = {msg};
    size_t lens[1] = {msg_len};
    rt_hmac_sha256_hex_parts(key, key_len, parts, lens, 1, out);
}

/* On an OpenSSL failure (allocation, or MD5 disabled by a FIPS provider) out is the empty
 * string, so it never equals a 32-char digest and verification fails closed. */
void rt_md5_hex(const char *data, size_t len, char out[RT_MD5_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    out[0] = '\0';
    if (EVP_Digest(data ? data : "", len, md, &md_len, EVP_md5(), NULL) != 1 || md_len != 16)
        return;
    rt_hex_encode(md, md_len, out);
}

bool rt_hex_equal(const char *expected, size_t expected_len, const char *given, size_t given_len)
{
    if (expected_len == 0 || given == NULL || given_len != expected_len) return false;
    return sodium_memcmp(expected, given, expected_len) == 0;
}

bool rt_digest_equal(const char expected[RT_SHA256_HEX_LEN + 1], const char *given,
                     size_t given_len)
{
    return rt_hex_equal(expected, RT_SHA256_HEX_LEN, given, given_len);
}
