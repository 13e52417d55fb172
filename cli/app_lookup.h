/* Resolving the APP argument of a command to an existing app. */
#ifndef RTADMIN_APP_LOOKUP_H
#define RTADMIN_APP_LOOKUP_H

#include <stdbool.h>

#include "cli.h"

/* Returns 0 when app `id` exists (locking its row FOR UPDATE when lock is set, which needs an
 * open transaction), else CLI_FAIL after printing "no app with id ..." or the database
 * error. */
int app_require(struct cli_ctx *ctx, const char *id, bool lock);

/* Prints the unknown-app error and returns CLI_FAIL. */
int app_unknown(const char *id);

#endif
