/* TLS through libwebsockets/OpenSSL: certificate checks, vhosts per certificate generation. */
#include "tls.h"

#include <libwebsockets.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "server.h"

#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static struct {
    struct lws_context *ctx;
    const struct lws_protocols *protos;
    const char *cert, *key;
    struct lws_vhost *vhost;
    SSL_CTX *ssl_ctx; /* the vhost's, handed over by lws while the vhost is created */
} tls;

static void openssl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_get_error();
    snprintf(out, cap, "%s", e ? ERR_reason_error_string(e) : "unknown error");
    ERR_clear_error();
}

/* Names why path cannot be used: a missing or unreadable file says so, a file OpenSSL cannot
 * parse says what OpenSSL saw. */
static void why_unusable(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(out, cap, "%s", strerror(errno));
        ERR_clear_error();
        return;
    }
    fclose(f);
    openssl_reason(out, cap);
}

int rt_tls_check(const char *cert, const char *key, char *err, size_t err_cap)
{
    char why[160];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *pkey = NULL;
    FILE *kf = NULL;
    int rc = -1;
    if (!ctx) {
        snprintf(err, err_cap, "RT_TLS_CERT: OpenSSL failed to initialise");
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        why_unusable(cert, why, sizeof why);
        snprintf(err, err_cap, "RT_TLS_CERT: cannot load a PEM certificate from %s (%s)", cert,
                 why);
    } else if (!(kf = fopen(key, "r"))) {
        snprintf(err, err_cap, "RT_TLS_KEY: cannot load a PEM private key from %s (%s)", key,
                 strerror(errno));
    } else if (!(pkey = PEM_read_PrivateKey(kf, NULL, NULL, NULL))) {
        openssl_reason(why, sizeof why);
        snprintf(err, err_cap, "RT_TLS_KEY: cannot load a PEM private key from %s (%s)", key, why);
    } else if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, err_cap, "RT_TLS_KEY: %s is not the key of the certificate in %s", key, cert);
    } else {
        rc = 0;
    }
    if (kf) fclose(kf);
    EVP_PKEY_free(pkey);
    SSL_CTX_free(ctx);
    return rc;
}

void rt_tls_adopt_ctx(void *ssl_ctx)
{
    tls.ssl_ctx = ssl_ctx;
}

struct lws_vhost *rt_tls_start(struct lws_context *ctx, const struct lws_protocols *protos,
                               const char *cert, const char *key)
{
    tls.ctx = ctx;
    tls.protos = protos;
    tls.cert = cert;
    tls.key = key;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "realtime";
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* listen.c accepts and hands sockets over */
    info.protocols = protos;
    if (cert) {
        /* lws sets a vhost's TLS up only when the vhost's own options ask for it too. */
        info.options =
            LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.ssl_cipher_list = TLS12_CIPHERS;
        info.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1 | SSL_OP_CIPHER_SERVER_PREFERENCE;
    }
    tls.vhost = lws_create_vhost(ctx, &info);
    return tls.vhost;
}

struct lws_vhost *rt_tls_current(void)
{
    return tls.vhost;
}

/* OpenSSL gives every connection its own copy of the certificate when the handshake starts,
 * so replacing the pair in the shared SSL_CTX changes only the handshakes that follow. */
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
    if (!tls.ssl_ctx || SSL_CTX_use_certificate_chain_file(tls.ssl_ctx, tls.cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls.ssl_ctx, tls.key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(tls.ssl_ctx) != 1) {
        ERR_clear_error();
        rt_log_error("SIGHUP: TLS reload failed: the files changed while they were read; "
                     "send SIGHUP again");
        return;
    }
    rt_log_info("SIGHUP: TLS certificate reloaded from %s; new connections use it", tls.cert);
}
