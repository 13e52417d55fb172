/* The settable columns of the apps table, as command-line flags with their valid ranges. The
 * ranges repeat the CHECK constraints of migrations/001 so that a bad value is a usage error
 * naming the flag rather than a constraint name from the database. */
#include "app_fields.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "output.h"
#include "rt_ingest_parse.h"

/* The JWS algorithms libjwt verifies; "none" is never one of them. */
static const char *const jwt_algorithms[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                             "RS512", "ES256", "ES384", "ES512", NULL};

const struct app_field app_fields[] = {
    {"name", "name", NULL, APP_FIELD_TEXT, 1, 200, "display name (1-200 characters)"},
    {"client_events", "client-events", "no-client-events", APP_FIELD_BOOL, 0, 0,
     "allow client-* events on private/presence channels"},
    {"user_auth", "user-auth", "no-user-auth", APP_FIELD_BOOL, 0, 0,
     "enable user authentication (pusher:signin)"},
    {"subscription_count", "subscription-count", "no-subscription-count", APP_FIELD_BOOL, 0, 0,
     "send pusher_internal:subscription_count events"},
    {"require_tls", "require-tls", "no-require-tls", APP_FIELD_BOOL, 0, 0,
     "refuse connections that did not come over TLS"},
    {"authorized_connections", "authorized-connections", "no-authorized-connections",
     APP_FIELD_BOOL, 0, 0, "require user sign-in shortly after connecting"},
    {"allowed_origins", "allowed-origins", NULL, APP_FIELD_LIST, 0, 0,
     "comma-separated Origin allow-list; \"\" allows every origin"},
    {"max_connections", "max-connections", NULL, APP_FIELD_INT, 0, INT_MAX,
     "concurrent connections (default 10000)"},
    {"max_payload_kb", "max-payload-kb", NULL, APP_FIELD_INT, 1, 1024,
     "event payload size in KB, 1-1024 (default 10)"},
    {"max_channel_name_length", "max-channel-name-length", NULL, APP_FIELD_INT, 16, 200,
     "16-200 (default 200)"},
    {"max_event_name_length", "max-event-name-length", NULL, APP_FIELD_INT, 16, 200,
     "16-200 (default 200)"},
    {"max_channels_per_trigger", "max-channels-per-trigger", NULL, APP_FIELD_INT, 1, 100,
     "1-100 (default 100)"},
    {"max_batch_size", "max-batch-size", NULL, APP_FIELD_INT, 1, 100,
     "events per batch trigger, 1-100 (default 10)"},
    {"max_presence_members", "max-presence-members", NULL, APP_FIELD_INT, 1, 10000,
     "1-10000 (default 100)"},
    {"max_presence_info_bytes", "max-presence-info-bytes", NULL, APP_FIELD_INT, 64, 65536,
     "64-65536 (default 1024)"},
    {"max_subscriptions_per_connection", "max-subscriptions-per-connection", NULL, APP_FIELD_INT, 1,
     10000, "1-10000 (default 100)"},
    {"client_events_per_second", "client-events-per-second", NULL, APP_FIELD_INT, 0, INT_MAX,
     "per connection (default 10)"},
    {"backend_events_per_second", "backend-events-per-second", NULL, APP_FIELD_INT, 0, INT_MAX,
     "REST-triggered events per second (default 1000)"},
    {"read_requests_per_second", "read-requests-per-second", NULL, APP_FIELD_INT, 0, INT_MAX,
     "REST read requests per second (default 100)"},
    {"jwt_algorithms", "jwt-algorithms", NULL, APP_FIELD_LIST, 0, 0,
     "connection-token algorithms accepted, of HS256,HS384,HS512,RS256,RS384,RS512,ES256,ES384,"
     "ES512 (default HS256; \"\" accepts no tokens)"},
    {"jwt_public_key", "jwt-public-key", "no-jwt-public-key", APP_FIELD_PEM, 0, 0,
     "PEM file of the RSA or EC public key that verifies RS*/ES* connection tokens"},
    {"require_token", "require-token", "no-require-token", APP_FIELD_BOOL, 0, 0,
     "refuse connections without a valid connection token (4009)"},
    {"ingest_redis_prefix", "ingest-redis-prefix", "no-ingest-redis-prefix", APP_FIELD_PREFIX, 0, 0,
     "Redis key prefix of the app's Laravel redis broadcaster (docs/ingest.md)"},
    {"ingest_stream", "ingest-stream", "no-ingest-stream", APP_FIELD_BOOL, 0, 0,
     "publish what the backend adds to the stream rt:ingest:{APP_ID} (docs/ingest.md)"},
    {"ingest_stream_max_length", "ingest-stream-max-length", NULL, APP_FIELD_INT, 100, 10000000,
     "entries the ingest stream is trimmed to, 100-10000000 (default 100000)"},
};
const int app_field_count = (int)(sizeof app_fields / sizeof app_fields[0]);

#define MAX_FIELD_OPTS (2 * sizeof app_fields / sizeof app_fields[0] + 1)

static const char *value_name(const struct app_field *f)
{
    switch (f->kind) {
    case APP_FIELD_TEXT:
        return "NAME";
    case APP_FIELD_INT:
        return "N";
    case APP_FIELD_LIST:
        return "A,B";
    case APP_FIELD_PEM:
        return "FILE";
    case APP_FIELD_PREFIX:
        return "PREFIX";
    case APP_FIELD_BOOL:
        return NULL;
    }
    return NULL;
}

/* Built once from app_fields so that a new column needs exactly one new table row. */
static const struct cli_opt *build_opts(struct cli_opt *opts, bool with_off_flags)
{
    static char off_help[sizeof app_fields / sizeof app_fields[0]][96];
    size_t n = 0;
    if (opts[0].name) return opts;
    for (int i = 0; i < app_field_count; i++) {
        const struct app_field *f = &app_fields[i];
        opts[n++] = (struct cli_opt){f->flag, value_name(f), f->help};
        if (with_off_flags && f->off_flag) {
            snprintf(off_help[i], sizeof off_help[i],
                     f->kind == APP_FIELD_BOOL ? "turn --%s off" : "remove the --%s value",
                     f->flag);
            opts[n++] = (struct cli_opt){f->off_flag, NULL, off_help[i]};
        }
    }
    opts[n] = (struct cli_opt){NULL, NULL, NULL};
    return opts;
}

const struct cli_opt *app_field_opts_create(void)
{
    static struct cli_opt opts[MAX_FIELD_OPTS];
    return build_opts(opts, false);
}

const struct cli_opt *app_field_opts_update(void)
{
    static struct cli_opt opts[MAX_FIELD_OPTS];
    return build_opts(opts, true);
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* The helpers below return 0 or CLI_USAGE after printing what is wrong with the flag. */

/* The values a list field accepts, or NULL when any value goes. */
static const char *const *field_choices(const struct app_field *f)
{
    return strcmp(f->column, "jwt_algorithms") == 0 ? jwt_algorithms : NULL;
}

static bool is_choice(const char *const *choices, const char *s, size_t len)
{
    for (; *choices; choices++)
        if (strlen(*choices) == len && memcmp(*choices, s, len) == 0) return true;
    return false;
}

static const char *choices_text(const char *const *choices)
{
    static char buf[256];
    size_t n = 0;
    buf[0] = '\0';
    for (; *choices && n < sizeof buf; choices++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "", *choices);
    return buf;
}

/* The public key in pem[0..len), or NULL when it holds none (a private key is not one). */
static EVP_PKEY *pem_public_key(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) return NULL;
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return key;
}

/* Reads the PEM file named by path into out; it must hold one RSA or EC public key (what
 * libjwt verifies RS* and ES* tokens with). */
static int read_pem(const struct cli_ctx *ctx, const struct app_field *f, const char *path,
                    char *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return cli_usage(ctx, "--%s: cannot read %s: %s", f->flag, path, strerror(errno));
    size_t n = fread(out, 1, cap, fp);
    bool too_big = n == cap;
    fclose(fp);
    if (too_big) return cli_usage(ctx, "--%s: %s is larger than %zu bytes", f->flag, path, cap - 1);
    out[n] = '\0';
    EVP_PKEY *key = memchr(out, '\0', n) ? NULL : pem_public_key(out, n);
    int type = key ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE;
    EVP_PKEY_free(key);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
        return cli_usage(ctx,
                         "--%s: %s is not a PEM RSA or EC public key "
                         "(-----BEGIN PUBLIC KEY-----; a private key is refused)",
                         f->flag, path);
    return 0;
}

/* "a, b,,c" -> "a,b,c": blanks around items and empty items mean nothing. */
static int normalize_list(const struct cli_ctx *ctx, const struct app_field *f, const char *in,
                          char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    while (*in) {
        while (*in == ' ')
            in++;
        const char *end = strchr(in, ',');
        size_t len = end ? (size_t)(end - in) : strlen(in);
        while (len > 0 && in[len - 1] == ' ')
            len--;
        if (len > 0) {
            if (memchr(in, ' ', len) || memchr(in, '\t', len))
                return cli_usage(ctx, "--%s: '%.*s' contains a blank", f->flag, (int)len, in);
            const char *const *choices = field_choices(f);
            if (choices && !is_choice(choices, in, len))
                return cli_usage(ctx, "--%s: '%.*s' is not one of %s", f->flag, (int)len, in,
                                 choices_text(choices));
            if (n + len + 2 > cap) return cli_usage(ctx, "--%s is too long", f->flag);
            if (n > 0) out[n++] = ',';
            memcpy(out + n, in, len);
            n += len;
            out[n] = '\0';
        }
        if (!end) break;
        in = end + 1;
    }
    return 0;
}

static int parse_int(const struct cli_ctx *ctx, const struct app_field *f, const char *in,
                     char *out, size_t cap)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(in, &end, 10);
    if (!*in || *end || errno == ERANGE)
        return cli_usage(ctx, "--%s must be a whole number, not '%s'", f->flag, in);
    if (v < f->min || v > f->max) {
        if (f->max == INT_MAX)
            return cli_usage(ctx, "--%s must be at least %ld, not %ld", f->flag, f->min, v);
        return cli_usage(ctx, "--%s must be between %ld and %ld, not %ld", f->flag, f->min, f->max,
                         v);
    }
    snprintf(out, cap, "%ld", v);
    return 0;
}

static int collect_one(const struct cli_ctx *ctx, const struct app_field *f,
                       struct app_field_value *v)
{
    const char *on = cli_args_get(&ctx->args, f->flag);
    const char *off = f->off_flag ? cli_args_get(&ctx->args, f->off_flag) : NULL;
    v->field = f;
    v->is_null = false;
    if (on && off) return cli_usage(ctx, "--%s and --%s contradict", f->flag, f->off_flag);
    if (!on && (f->kind == APP_FIELD_PEM || f->kind == APP_FIELD_PREFIX)) {
        v->is_null = true;
        v->text[0] = '\0';
        return 0;
    }
    /* Booleans and PEM keys have an off flag, so every other kind is here because `on` was
     * given. */
    if (!on && f->kind != APP_FIELD_BOOL) return CLI_USAGE;
    switch (f->kind) {
    case APP_FIELD_BOOL:
        snprintf(v->text, sizeof v->text, "%s", on ? "true" : "false");
        return 0;
    case APP_FIELD_INT:
        return parse_int(ctx, f, on, v->text, sizeof v->text);
    case APP_FIELD_LIST:
        return normalize_list(ctx, f, on, v->text, sizeof v->text);
    case APP_FIELD_PEM:
        return read_pem(ctx, f, on, v->text, sizeof v->text);
    case APP_FIELD_PREFIX:
        if (!rt_ingest_prefix_valid(on))
            return cli_usage(ctx, "--%s must be 1 to %d characters of A-Z a-z 0-9 _ . : -", f->flag,
                             RT_INGEST_PREFIX_MAX);
        snprintf(v->text, sizeof v->text, "%s", on);
        return 0;
    case APP_FIELD_TEXT: {
        size_t len = utf8_length(on);
        if (len < (size_t)f->min || len > (size_t)f->max || strlen(on) >= sizeof v->text)
            return cli_usage(ctx, "--%s must be %ld to %ld characters", f->flag, f->min, f->max);
        snprintf(v->text, sizeof v->text, "%s", on);
        return 0;
    }
    }
    return -1;
}

int app_fields_collect(const struct cli_ctx *ctx, struct app_field_value *out)
{
    int n = 0;
    for (int i = 0; i < app_field_count; i++) {
        const struct app_field *f = &app_fields[i];
        bool given = cli_args_has(&ctx->args, f->flag) ||
                     (f->off_flag && cli_args_has(&ctx->args, f->off_flag));
        if (!given) continue;
        if (collect_one(ctx, f, &out[n]) != 0) return -1;
        n++;
    }
    return n;
}

void app_field_sql_value(const struct app_field *f, int n, char *buf, size_t cap)
{
    switch (f->kind) {
    case APP_FIELD_LIST:
        snprintf(buf, cap, "string_to_array($%d, ',')", n);
        break;
    case APP_FIELD_BOOL:
        snprintf(buf, cap, "$%d::boolean", n);
        break;
    case APP_FIELD_INT:
        snprintf(buf, cap, "$%d::integer", n);
        break;
    case APP_FIELD_TEXT:
    case APP_FIELD_PEM:
    case APP_FIELD_PREFIX:
        snprintf(buf, cap, "$%d", n);
        break;
    }
}

const char *app_field_param(const struct app_field_value *v)
{
    return v->is_null ? NULL : v->text;
}

char *app_field_display(const char *column, const json_t *v)
{
    const char *pem = json_string_value(v);
    if (!pem || strcmp(column, "jwt_public_key") != 0) return out_text(v);
    EVP_PKEY *key = pem_public_key(pem, strlen(pem));
    char buf[96];
    if (!key) return strdup("(not a public key)");
    snprintf(buf, sizeof buf, "%s %d-bit public key",
             EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "RSA" : "EC", EVP_PKEY_get_bits(key));
    EVP_PKEY_free(key);
    return strdup(buf);
}

void app_fields_copy(const json_t *row, json_t *into)
{
    for (int i = 0; i < app_field_count; i++) {
        json_t *v = json_object_get(row, app_fields[i].column);
        if (v) json_object_set(into, app_fields[i].column, v);
    }
}
