/* Asserts the C core reproduces every entry of tests/vectors/signing.json, the signing vectors
 * shared with the PHP and JS SDK tests (computed independently by gen_signing.py). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_auth.h"
#include "rt_err.h"
#include "rt_hmac.h"
#include "rt_rest_auth.h"
#include "rt_test.h"

static json_t *vectors;

static const char *str(const json_t *e, const char *key)
{
    return json_string_value(json_object_get(e, key));
}

static struct rt_str jstr(const json_t *e, const char *key)
{
    const json_t *v = json_object_get(e, key);
    if (!json_is_string(v)) return (struct rt_str){NULL, 0};
    return (struct rt_str){json_string_value(v), json_string_length(v)};
}

static void check_channel_auth(const json_t *e)
{
    struct rt_str key, sig;
    char out[RT_SHA256_HEX_LEN + 1];
    ASSERT_EQ(rt_auth_split(jstr(e, "auth"), &key, &sig), RT_OK);
    ASSERT_MEM_EQ(key.p, key.n, str(e, "key"));
    rt_auth_sign_channel(jstr(e, "secret"), jstr(e, "socket_id"), jstr(e, "channel"),
                         jstr(e, "channel_data"), out);
    ASSERT_MEM_EQ(sig.p, sig.n, out);
    ASSERT_TRUE(rt_auth_verify_channel(jstr(e, "secret"), jstr(e, "socket_id"), jstr(e, "channel"),
                                       jstr(e, "channel_data"), sig));
}

static void check_user_auth(const json_t *e)
{
    struct rt_str key, sig;
    char out[RT_SHA256_HEX_LEN + 1];
    ASSERT_EQ(rt_auth_split(jstr(e, "auth"), &key, &sig), RT_OK);
    ASSERT_MEM_EQ(key.p, key.n, str(e, "key"));
    rt_auth_sign_user(jstr(e, "secret"), jstr(e, "socket_id"), jstr(e, "user_data"), out);
    ASSERT_MEM_EQ(sig.p, sig.n, out);
    ASSERT_TRUE(
        rt_auth_verify_user(jstr(e, "secret"), jstr(e, "socket_id"), jstr(e, "user_data"), sig));
}

static const char *secret_of_entry(void *ctx, const char *key)
{
    const json_t *e = ctx;
    return strcmp(key, str(e, "key")) == 0 ? str(e, "secret") : NULL;
}

static void add(struct rt_query *q, const char *key, const char *value)
{
    q->params[q->count].key = strdup(key);
    q->params[q->count].value = strdup(value);
    q->count++;
}

/* Percent-encodes everything but unreserved characters, as the PHP SDK does. */
static void append_encoded(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *w = out + strlen(out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    *w = '\0';
}

static void check_rest(const json_t *e)
{
    struct rt_query q = {.count = 0};
    char ts[32], extra[1024] = "";
    const char *body = str(e, "body");
    size_t body_len = body ? strlen(body) : 0;
    const char *pkey;
    const json_t *pval;

    snprintf(ts, sizeof ts, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(e, "timestamp")));
    json_object_foreach((json_t *)json_object_get(e, "params"), pkey, pval)
    {
        add(&q, pkey, json_string_value(pval));
        if (extra[0]) strcat(extra, "&");
        append_encoded(extra, pkey);
        strcat(extra, "=");
        append_encoded(extra, json_string_value(pval));
    }
    add(&q, "auth_key", str(e, "key"));
    add(&q, "auth_timestamp", ts);
    add(&q, "auth_version", "1.0");
    if (str(e, "body_md5") != NULL) {
        char md5[RT_MD5_HEX_LEN + 1];
        rt_md5_hex(body, body_len, md5);
        add(&q, "body_md5", str(e, "body_md5"));
        ASSERT_STR_EQ(md5, str(e, "body_md5"));
    }
    char *to_sign = rt_rest_string_to_sign(str(e, "method"), str(e, "path"), &q);
    int to_sign_ok = to_sign != NULL && strcmp(to_sign, str(e, "string_to_sign")) == 0;
    char sig[RT_SHA256_HEX_LEN + 1] = "";
    if (to_sign != NULL)
        rt_hmac_sha256_hex(str(e, "secret"), strlen(str(e, "secret")), to_sign, strlen(to_sign),
                           sig);
    free(to_sign);

    add(&q, "auth_signature", str(e, "auth_signature"));
    int64_t now = json_integer_value(json_object_get(e, "timestamp"));
    int rc = rt_rest_verify(str(e, "method"), str(e, "path"), &q, body, body_len, now,
                            secret_of_entry, (void *)e, NULL, 0, NULL, 0);
    rt_query_free(&q);

    char *signed_query =
        rt_rest_sign(str(e, "method"), str(e, "path"), str(e, "key"), str(e, "secret"), body,
                     body_len, now, extra[0] ? extra : NULL);
    char needle[96];
    snprintf(needle, sizeof needle, "&auth_signature=%s", str(e, "auth_signature"));
    int sign_ok = signed_query != NULL && strstr(signed_query, needle) != NULL;
    free(signed_query);

    ASSERT_TRUE(to_sign_ok);
    ASSERT_STR_EQ(sig, str(e, "auth_signature"));
    ASSERT_EQ(rc, RT_OK);
    ASSERT_TRUE(sign_ok);
}

static void check_webhook(const json_t *e)
{
    char out[RT_SHA256_HEX_LEN + 1];
    struct rt_str secret = jstr(e, "secret"), body = jstr(e, "body");
    rt_hmac_sha256_hex(secret.p, secret.n, body.p, body.n, out);
    ASSERT_STR_EQ(out, str(e, "signature"));
}

static void check_encrypted(const json_t *e)
{
    unsigned char mk[64], digest[crypto_hash_sha256_BYTES];
    size_t mk_len = 0;
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    const char *mk_b64 = str(e, "master_key_base64");
    ASSERT_EQ(sodium_base642bin(mk, sizeof mk, mk_b64, strlen(mk_b64), NULL, &mk_len, NULL,
                                sodium_base64_VARIANT_ORIGINAL),
              0);
    ASSERT_EQ(mk_len, 32u);
    struct rt_str channel = jstr(e, "channel");
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)channel.p, channel.n);
    crypto_hash_sha256_update(&st, mk, mk_len);
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
    ASSERT_STR_EQ(b64, str(e, "shared_secret_base64"));
}

/* Runs check on every entry of section; names each failing entry. */
static void run_section(const char *section, void (*check)(const json_t *))
{
    const json_t *list = json_object_get(vectors, section);
    size_t i;
    const json_t *e;
    ASSERT_TRUE(json_is_array(list));
    ASSERT_TRUE(json_array_size(list) > 0);
    int before = rt_test_failures;
    json_array_foreach(list, i, e)
    {
        int entry_before = rt_test_failures;
        check(e);
        if (rt_test_failures != entry_before)
            fprintf(stderr, "  vector %s[%zu] \"%s\" failed\n", section, i, str(e, "name"));
    }
    ASSERT_EQ(rt_test_failures, before);
}

static void vectors_file_loads(void)
{
    const char *dir = getenv("RT_VECTORS");
    char path[1024];
    snprintf(path, sizeof path, "%s/signing.json", dir ? dir : "tests/vectors");
    json_error_t jerr;
    vectors = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (vectors == NULL)
        fprintf(stderr, "  cannot load %s: %s (set RT_VECTORS)\n", path, jerr.text);
    ASSERT_NOT_NULL(vectors);
}

static void protocol_md_examples_are_in_the_vectors(void)
{
    const json_t *c = json_array_get(json_object_get(vectors, "channel_auth"), 0);
    const json_t *r = json_array_get(json_object_get(vectors, "rest"), 0);
    ASSERT_STR_EQ(str(c, "auth"),
                  "278d425bdf160c739803:"
                  "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4");
    ASSERT_STR_EQ(str(r, "auth_signature"),
                  "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c");
}

static void every_channel_auth_vector_matches(void)
{
    run_section("channel_auth", check_channel_auth);
}
static void every_user_auth_vector_matches(void)
{
    run_section("user_auth", check_user_auth);
}
static void every_rest_vector_matches(void)
{
    run_section("rest", check_rest);
}
static void every_webhook_vector_matches(void)
{
    run_section("webhook", check_webhook);
}
static void every_encrypted_vector_matches(void)
{
    run_section("encrypted", check_encrypted);
}

static void release_vectors(void)
{
    json_decref(vectors);
    vectors = NULL;
}

static const struct rt_test tests[] = {
    RT_TEST(vectors_file_loads),
    RT_TEST(protocol_md_examples_are_in_the_vectors),
    RT_TEST(every_channel_auth_vector_matches),
    RT_TEST(every_user_auth_vector_matches),
    RT_TEST(every_rest_vector_matches),
    RT_TEST(every_webhook_vector_matches),
    RT_TEST(every_encrypted_vector_matches),
    RT_TEST(release_vectors),
};

int main(void)
{
    if (sodium_init() < 0) return 1;
    return rt_test_run("vectors", tests, sizeof tests / sizeof tests[0]);
}
