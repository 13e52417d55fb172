/* TLS in-process (RT_TLS_CERT / RT_TLS_KEY): the vhost accepted sockets are adopted into, and
 * the certificate reload on SIGHUP (established connections keep the certificate they started
 * with; new handshakes use the new one). */
#ifndef RT_TLS_H
#define RT_TLS_H

#include <stddef.h>

struct lws_context;
struct lws_vhost;
struct lws_protocols;

/* Checks that the certificate chain and key files load and belong together. Returns 0, or -1
 * with one line in err naming the setting (RT_TLS_CERT or RT_TLS_KEY) and the reason. */
int rt_tls_check(const char *cert, const char *key, char *err, size_t err_cap);

/* Creates the first vhost (TLS when cert is set, else plain). NULL on failure. */
struct lws_vhost *rt_tls_start(struct lws_context *ctx, const struct lws_protocols *protos,
                               const char *cert, const char *key);

/* SIGHUP: re-reads the files; on success new handshakes use them. Logs the outcome; a bad
 * pair keeps the current one. */
void rt_tls_reload(void);

/* net.c hands over the vhost's OpenSSL SSL_CTX (LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_
 * VERIFY_CERTS, while the vhost is created). */
void rt_tls_adopt_ctx(void *ssl_ctx);

/* The vhost new sockets are adopted into. */
struct lws_vhost *rt_tls_current(void);

#endif
