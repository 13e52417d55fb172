/* App secrets at rest: master-key parsing and XChaCha20-Poly1305 sealing bound to the app key. */
#include "rt_secret.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_err.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

static int fail(char *err, size_t err_cap, const char *msg)
{
    if (err && err_cap > 0) snprintf(err, err_cap, "%s", msg);
    return RT_ERR_INVALID;
}

/* Accepts the text only when it decodes to exactly 32 bytes and nothing is left over, so a
 * truncated or padded key is refused instead of silently yielding a different key. */
static int parse_hex(const char *text, size_t len, uint8_t key[RT_MASTER_KEY_BYTES])
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (len != 2 * RT_MASTER_KEY_BYTES) return -1;
    if (sodium_hex2bin(key, RT_MASTER_KEY_BYTES, text, len, NULL, &bin_len, &end) != 0) return -1;
    return bin_len == RT_MASTER_KEY_BYTES && end == text + len ? 0 : -1;
}

static int parse_base64(const char *text, size_t len, uint8_t key[RT_MASTER_KEY_BYTES])
{
    uint8_t buf[RT_MASTER_KEY_BYTES + 3];
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_base642bin(buf, sizeof buf, text, len, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    if (bin_len != RT_MASTER_KEY_BYTES || end != text + len) {
        sodium_memzero(buf, sizeof buf);
        return -1;
    }
    memcpy(key, buf, RT_MASTER_KEY_BYTES);
    sodium_memzero(buf, sizeof buf);
    return 0;
}

int rt_master_key_parse(const char *text, uint8_t key[RT_MASTER_KEY_BYTES], char *err,
                        size_t err_cap)
{
    static const char format[] = "RT_MASTER_KEY must be 64 hex characters or base64 of 32 bytes";
    if (!text || !*text)
        return fail(err, err_cap,
                    "RT_MASTER_KEY is empty (must be 64 hex characters or base64 of 32 bytes)");
    if (sodium_init() < 0) return fail(err, err_cap, "libsodium failed to initialise");
    size_t len = strlen(text);
    if (parse_hex(text, len, key) == 0 || parse_base64(text, len, key) == 0) return RT_OK;
    sodium_memzero(key, RT_MASTER_KEY_BYTES);
    return fail(err, err_cap, format);
}

int rt_secret_seal(const uint8_t mk[RT_MASTER_KEY_BYTES], const char *app_key, const char *secret,
                   uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!app_key || !secret) return RT_ERR_INVALID;
    size_t secret_len = strlen(secret);
    if (secret_len > RT_SECRET_MAX) return RT_ERR_TOO_LARGE;
    if (sodium_init() < 0) return RT_ERR_CRYPTO;

    size_t total = NONCE_BYTES + secret_len + TAG_BYTES;
    uint8_t *buf = rt_xmalloc(total);
    /* A random 192-bit nonce is safe with XChaCha20: no counter has to be kept anywhere. */
    randombytes_buf(buf, NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        buf + NONCE_BYTES, &clen, (const unsigned char *)secret, secret_len,
        (const unsigned char *)app_key, strlen(app_key), NULL, buf, mk);
    *out = buf;
    *out_len = NONCE_BYTES + (size_t)clen;
    return RT_OK;
}

int rt_secret_open(const uint8_t mk[RT_MASTER_KEY_BYTES], const char *app_key, const uint8_t *in,
                   size_t in_len, char out[RT_SECRET_MAX + 1])
{
    out[0] = '\0';
    if (!app_key || !in || in_len < NONCE_BYTES + TAG_BYTES) return RT_ERR_INVALID;
    if (in_len - NONCE_BYTES - TAG_BYTES > RT_SECRET_MAX) return RT_ERR_INVALID;
    if (sodium_init() < 0) return RT_ERR_CRYPTO;

    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)out, &mlen, NULL, in + NONCE_BYTES, in_len - NONCE_BYTES,
            (const unsigned char *)app_key, strlen(app_key), in, mk) != 0) {
        sodium_memzero(out, RT_SECRET_MAX + 1);
        return RT_ERR_CRYPTO;
    }
    out[mlen] = '\0';
    /* A secret is text; an embedded NUL would silently shorten it for every caller. */
    if (strlen(out) != mlen) {
        sodium_memzero(out, RT_SECRET_MAX + 1);
        return RT_ERR_INVALID;
    }
    return RT_OK;
}
