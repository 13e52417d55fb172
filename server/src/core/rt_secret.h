/* App secrets at rest: sealed with the master key (libsodium XChaCha20-Poly1305 AEAD, the
 * app key as associated data so a sealed secret cannot be moved to another key's row). */
#ifndef RT_SECRET_H
#define RT_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define RT_MASTER_KEY_BYTES 32
#define RT_SECRET_MAX 128

/* Parses RT_MASTER_KEY: 64 hex characters or standard base64 of exactly 32 bytes. Returns 0
 * or RT_ERR_INVALID with a message naming RT_MASTER_KEY and the expected format. Also fails
 * on NULL/empty text. */
int rt_master_key_parse(const char *text, uint8_t key[RT_MASTER_KEY_BYTES], char *err,
                        size_t err_cap);

/* Seals secret (NUL-terminated, <= RT_SECRET_MAX bytes) bound to app_key. *out is malloc'd
 * nonce||ciphertext (caller frees). Returns 0, RT_ERR_TOO_LARGE or RT_ERR_INVALID. */
int rt_secret_seal(const uint8_t mk[RT_MASTER_KEY_BYTES], const char *app_key,
                   const char *secret, uint8_t **out, size_t *out_len);

/* Opens a sealed secret into out (NUL-terminated, capacity RT_SECRET_MAX + 1). Returns 0 or
 * RT_ERR_CRYPTO (wrong master key, wrong app_key or tampered data) / RT_ERR_INVALID. */
int rt_secret_open(const uint8_t mk[RT_MASTER_KEY_BYTES], const char *app_key,
                   const uint8_t *in, size_t in_len, char out[RT_SECRET_MAX + 1]);

#endif
