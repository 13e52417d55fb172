/* Appending rows to audit_log inside the transaction of the change they describe. */
#include "audit_record.h"

#include <stdlib.h>

#include "db.h"

int audit_record(struct cli_ctx *ctx, const char *action, const char *app_id, const json_t *details)
{
    char *text = details ? json_dumps(details, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    const char *params[] = {ctx->actor, action, app_id, text ? text : "{}"};
    PGresult *res = db_run(ctx->db,
                           "INSERT INTO audit_log (actor, action, app_id, details) "
                           "VALUES ($1, $2, $3, $4::jsonb)",
                           4, params);
    free(text);
    if (!res) return -1;
    PQclear(res);
    return 0;
}
