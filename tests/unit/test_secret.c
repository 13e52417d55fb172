/* Unit tests for rt_secret: master-key parsing and sealing app secrets at rest. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_err.h"
#include "rt_secret.h"
#include "rt_test.h"

static const char HEX_KEY[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/* base64 of the same 32 bytes 0x00..0x1f */
static const char B64_KEY[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

static void expect_key_bytes_0_to_31(const uint8_t key[RT_MASTER_KEY_BYTES], int *ok)
{
    *ok = 1;
    for (int i = 0; i < RT_MASTER_KEY_BYTES; i++)
        if (key[i] != i) *ok = 0;
}

static void master_key_parses_64_hex_characters(void)
{
    uint8_t key[RT_MASTER_KEY_BYTES];
    char err[128] = "";
    int ok = 0;
    ASSERT_EQ(rt_master_key_parse(HEX_KEY, key, err, sizeof err), RT_OK);
    expect_key_bytes_0_to_31(key, &ok);
    ASSERT(ok);
}

static void master_key_parses_uppercase_hex(void)
{
    uint8_t key[RT_MASTER_KEY_BYTES];
    char upper[sizeof HEX_KEY];
    int ok = 0;
    for (size_t i = 0; i < sizeof HEX_KEY; i++)
        upper[i] = (char)(HEX_KEY[i] >= 'a' && HEX_KEY[i] <= 'f' ? HEX_KEY[i] - 32 : HEX_KEY[i]);
    ASSERT_EQ(rt_master_key_parse(upper, key, NULL, 0), RT_OK);
    expect_key_bytes_0_to_31(key, &ok);
    ASSERT(ok);
}

static void master_key_parses_base64_of_32_bytes(void)
{
    uint8_t key[RT_MASTER_KEY_BYTES];
    int ok = 0;
    ASSERT_EQ(rt_master_key_parse(B64_KEY, key, NULL, 0), RT_OK);
    expect_key_bytes_0_to_31(key, &ok);
    ASSERT(ok);
}

static void master_key_refuses_wrong_lengths_and_garbage(void)
{
    uint8_t key[RT_MASTER_KEY_BYTES];
    char err[128] = "";
    const char *bad[] = {
        "",
        "00",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",     /* 62 hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00", /* 66 hex */
        "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",   /* not hex */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",                       /* 31 bytes */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",                   /* 34 bytes */
        "correct horse battery staple",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ASSERT_EQ(rt_master_key_parse(bad[i], key, err, sizeof err), RT_ERR_INVALID);
        ASSERT(strstr(err, "RT_MASTER_KEY") != NULL);
    }
    ASSERT_EQ(rt_master_key_parse(NULL, key, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "RT_MASTER_KEY is empty (must be 64 hex characters or base64 of 32 bytes)");
    ASSERT_EQ(rt_master_key_parse("00", key, err, sizeof err), RT_ERR_INVALID);
    ASSERT_STR_EQ(err, "RT_MASTER_KEY must be 64 hex characters or base64 of 32 bytes");
}

static void seal_then_open_returns_the_secret(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES];
    uint8_t *sealed = NULL;
    size_t len = 0;
    char out[RT_SECRET_MAX + 1];
    ASSERT_EQ(rt_master_key_parse(HEX_KEY, mk, NULL, 0), RT_OK);
    ASSERT_EQ(rt_secret_seal(mk, "278d425bdf160c739803", "7ad3773142a6692b25b8", &sealed, &len),
              RT_OK);
    /* 24-byte nonce + 20 bytes of ciphertext + 16-byte tag */
    ASSERT_EQ(len, 24u + 20u + 16u);
    int rc = rt_secret_open(mk, "278d425bdf160c739803", sealed, len, out);
    free(sealed);
    ASSERT_EQ(rc, RT_OK);
    ASSERT_STR_EQ(out, "7ad3773142a6692b25b8");
}

static void seal_does_not_contain_the_plaintext_and_uses_a_fresh_nonce(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES];
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    const char *secret = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    ASSERT_EQ(rt_master_key_parse(HEX_KEY, mk, NULL, 0), RT_OK);
    ASSERT_EQ(rt_secret_seal(mk, "key00001", secret, &a, &alen), RT_OK);
    ASSERT_EQ(rt_secret_seal(mk, "key00001", secret, &b, &blen), RT_OK);
    int same = alen == blen && memcmp(a, b, alen) == 0;
    int contains = memmem(a, alen, secret, strlen(secret)) != NULL;
    free(a);
    free(b);
    ASSERT(!same);
    ASSERT(!contains);
}

static void open_with_wrong_master_key_fails_with_crypto_error(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES], other[RT_MASTER_KEY_BYTES];
    uint8_t *sealed = NULL;
    size_t len = 0;
    char out[RT_SECRET_MAX + 1] = "x";
    ASSERT_EQ(rt_master_key_parse(HEX_KEY, mk, NULL, 0), RT_OK);
    memcpy(other, mk, sizeof other);
    other[0] ^= 1;
    ASSERT_EQ(rt_secret_seal(mk, "key00001", "s3cr3t", &sealed, &len), RT_OK);
    int rc = rt_secret_open(other, "key00001", sealed, len, out);
    free(sealed);
    ASSERT_EQ(rc, RT_ERR_CRYPTO);
    ASSERT_STR_EQ(out, "");
}

static void open_under_another_app_key_fails(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES];
    uint8_t *sealed = NULL;
    size_t len = 0;
    char out[RT_SECRET_MAX + 1];
    ASSERT_EQ(rt_master_key_parse(HEX_KEY, mk, NULL, 0), RT_OK);
    ASSERT_EQ(rt_secret_seal(mk, "key00001", "s3cr3t", &sealed, &len), RT_OK);
    int rc = rt_secret_open(mk, "key00002", sealed, len, out);
    free(sealed);
    ASSERT_EQ(rc, RT_ERR_CRYPTO);
}

static void open_of_tampered_data_fails(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES];
    uint8_t *sealed = NULL;
    size_t len = 0;
    char out[RT_SECRET_MAX + 1];
    ASSERT_EQ(rt_master_key_parse(HEX_KEY, mk, NULL, 0), RT_OK);
    ASSERT_EQ(rt_secret_seal(mk, "key00001", "s3cr3t", &sealed, &len), RT_OK);
    sealed[len - 1] ^= 0x80;
    int rc = rt_secret_open(mk, "key00001", sealed, len, out);
    free(sealed);
    ASSERT_EQ(rc, RT_ERR_CRYPTO);
}

static void open_of_short_input_is_invalid(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES] = {0};
    uint8_t buf[39] = {0};
    char out[RT_SECRET_MAX + 1];
    ASSERT_EQ(rt_secret_open(mk, "key00001", buf, sizeof buf, out), RT_ERR_INVALID);
    ASSERT_EQ(rt_secret_open(mk, "key00001", NULL, 0, out), RT_ERR_INVALID);
}

static void seal_refuses_a_secret_longer_than_the_maximum(void)
{
    uint8_t mk[RT_MASTER_KEY_BYTES] = {0};
    char secret[RT_SECRET_MAX + 2];
    uint8_t *sealed = (uint8_t *)"not-null";
    size_t len = 1;
    memset(secret, 'a', sizeof secret - 1);
    secret[sizeof secret - 1] = '\0';
    ASSERT_EQ(rt_secret_seal(mk, "key00001", secret, &sealed, &len), RT_ERR_TOO_LARGE);
    ASSERT(sealed == NULL);
    ASSERT_EQ(len, 0u);
    secret[RT_SECRET_MAX] = '\0'; /* exactly the maximum is fine */
    ASSERT_EQ(rt_secret_seal(mk, "key00001", secret, &sealed, &len), RT_OK);
    char out[RT_SECRET_MAX + 1];
    int rc = rt_secret_open(mk, "key00001", sealed, len, out);
    free(sealed);
    ASSERT_EQ(rc, RT_OK);
    ASSERT_EQ(strlen(out), (size_t)RT_SECRET_MAX);
}

static const struct rt_test tests[] = {
    RT_TEST(master_key_parses_64_hex_characters),
    RT_TEST(master_key_parses_uppercase_hex),
    RT_TEST(master_key_parses_base64_of_32_bytes),
    RT_TEST(master_key_refuses_wrong_lengths_and_garbage),
    RT_TEST(seal_then_open_returns_the_secret),
    RT_TEST(seal_does_not_contain_the_plaintext_and_uses_a_fresh_nonce),
    RT_TEST(open_with_wrong_master_key_fails_with_crypto_error),
    RT_TEST(open_under_another_app_key_fails),
    RT_TEST(open_of_tampered_data_fails),
    RT_TEST(open_of_short_input_is_invalid),
    RT_TEST(seal_refuses_a_secret_longer_than_the_maximum),
};

RT_TEST_MAIN("secret", tests)
