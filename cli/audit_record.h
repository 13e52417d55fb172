/* Appending rows to audit_log inside the transaction of the change they describe. */
#ifndef RTADMIN_AUDIT_RECORD_H
#define RTADMIN_AUDIT_RECORD_H

#include <jansson.h>

#include "cli.h"

/* Inserts (ctx->actor, action, app_id, details) into audit_log within the caller's open
 * transaction, so that the change and its record commit or vanish together. details may be
 * NULL ({}) and is not consumed; it must never hold a secret, sealed or not. Returns 0 or -1
 * after printing the error. */
int audit_record(struct cli_ctx *ctx, const char *action, const char *app_id,
                 const json_t *details);

#endif
