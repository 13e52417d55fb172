/* Resolving the APP argument of a command to an existing app. */
#include "app_lookup.h"

#include "db.h"

int app_unknown(const char *id)
{
    return cli_fail("no app with id '%s' (see: rtadmin app list)", id);
}

int app_require(struct cli_ctx *ctx, const char *id, bool lock)
{
    const char *params[] = {id};
    PGresult *res = db_run(ctx->db,
                           lock ? "SELECT 1 FROM apps WHERE id = $1 FOR UPDATE"
                                : "SELECT 1 FROM apps WHERE id = $1",
                           1, params);
    if (!res) return CLI_FAIL;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found ? 0 : app_unknown(id);
}
