/* TLS through libwebsockets/OpenSSL: certificate checks, vhosts per certificate generation. */
#include "tls.h"

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "server.h"

#define GENERATIONS_MAX 16 /* vhosts alive at once: the current one and those still in use */

/* TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3 keeps OpenSSL's defaults. */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static struct {
    struct lws_context *ctx;
    const struct lws_protocols *protos;
    const char *cert, *key;
    struct {
        struct lws_vhost *vh;
        size_t sockets;
    } gen[GENERATIONS_MAX];
    int current, count, serial;
} tls;

static void openssl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_get_error();
    snprintf(out, cap, "%s", e ? ERR_reason_error_string(e) : "unknown error");
    ERR_clear_error();
}

int rt_tls_check(const char *cert, const char *key, char *err, size_t err_cap)
{
    char why[160];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int rc = -1;
    if (!ctx) {
        snprintf(err, err_cap, "RT_TLS_CERT: OpenSSL failed to initialise");
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, err_cap, "RT_TLS_CERT: cannot load a PEM certificate from %s (%s)", cert,
                 why);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, err_cap, "RT_TLS_KEY: cannot load a PEM private key from %s (%s)", key, why);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, err_cap, "RT_TLS_KEY: %s is not the key of the certificate in %s", key, cert);
    } else {
        rc = 0;
    }
    SSL_CTX_free(ctx);
    return rc;
}

static struct lws_vhost *make_vhost(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    char name[32];
    snprintf(name, sizeof name, "realtime-%d", ++tls.serial);
    info.vhost_name = name;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* listen.c accepts and hands sockets over */
    info.protocols = tls.protos;
    if (tls.cert) {
        /* lws sets a vhost's TLS up only when the vhost's own options ask for it too. */
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
        info.ssl_cert_filepath = tls.cert;
        info.ssl_private_key_filepath = tls.key;
        info.ssl_cipher_list = TLS12_CIPHERS;
        info.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1 | SSL_OP_CIPHER_SERVER_PREFERENCE;
    }
    return lws_create_vhost(tls.ctx, &info);
}

struct lws_vhost *rt_tls_start(struct lws_context *ctx, const struct lws_protocols *protos,
                               const char *cert, const char *key)
{
    tls.ctx = ctx;
    tls.protos = protos;
    tls.cert = cert;
    tls.key = key;
    struct lws_vhost *vh = make_vhost();
    if (!vh)
        return NULL;
    tls.gen[0].vh = vh;
    tls.current = 0;
    tls.count = 1;
    return vh;
}

struct lws_vhost *rt_tls_current(void)
{
    return tls.gen[tls.current].vh;
}

void rt_tls_vhost_ref(struct lws_vhost *vh, int delta)
{
    for (int i = 0; i < tls.count; i++) {
        if (tls.gen[i].vh == vh) {
            tls.gen[i].sockets += (size_t)(ptrdiff_t)delta;
            return;
        }
    }
}

/* Destroys replaced vhosts that no socket uses any more (never from inside an lws callback:
 * this runs from the SIGHUP handler). */
static void collect(void)
{
    int kept = 0;
    for (int i = 0; i < tls.count; i++) {
        if (i != tls.current && tls.gen[i].sockets == 0) {
            lws_vhost_destroy(tls.gen[i].vh);
            continue;
        }
        if (i == tls.current)
            tls.current = kept;
        tls.gen[kept++] = tls.gen[i];
    }
    tls.count = kept;
}

void rt_tls_reload(void)
{
    if (!tls.cert) {
        rt_log_info("SIGHUP: no TLS certificate configured, nothing to reload");
        return;
    }
    char err[512];
    if (rt_tls_check(tls.cert, tls.key, err, sizeof err) != 0) {
        rt_log_error("SIGHUP: TLS reload failed, keeping the current certificate: %s", err);
        return;
    }
    collect();
    if (tls.count == GENERATIONS_MAX) {
        rt_log_error("SIGHUP: TLS reload refused: %d older certificates are still in use by open "
                     "connections",
                     GENERATIONS_MAX - 1);
        return;
    }
    struct lws_vhost *vh = make_vhost();
    if (!vh) {
        rt_log_error("SIGHUP: TLS reload failed: libwebsockets could not create the vhost");
        return;
    }
    tls.gen[tls.count].vh = vh;
    tls.gen[tls.count].sockets = 0;
    tls.current = tls.count++;
    rt_log_info("SIGHUP: TLS certificate reloaded from %s; new connections use it", tls.cert);
}
