/* PostgreSQL access for rtadmin: connect, parameterized queries, transactions, JSON rows. */
#ifndef RTADMIN_DB_H
#define RTADMIN_DB_H

#include <jansson.h>
#include <libpq-fe.h>

#include "cli.h"

struct db_error {
    char sqlstate[6]; /* "" when the failure is not a server error (e.g. lost connection) */
    char message[512];
};

/* Connects with TimeZone=UTC and a 10 s connect timeout. Returns NULL after printing one line
 * naming the problem. */
PGconn *db_connect(const char *url);

/* Runs sql with text parameters (NULL = SQL NULL). Returns the result (caller PQclear's) or
 * NULL with *err filled; err may be NULL when the caller only needs "it failed". */
PGresult *db_query(PGconn *db, const char *sql, int nparams, const char *const *params,
                   struct db_error *err);

/* Like db_query but prints "database error: ..." itself. */
PGresult *db_run(PGconn *db, const char *sql, int nparams, const char *const *params);

/* Runs a query whose result is one json column. *out is the parsed value of the first row, or
 * NULL when there is no row. Returns 0, or -1 after printing the error. */
int db_json(PGconn *db, const char *sql, int nparams, const char *const *params, json_t **out);

/* Transaction control; each prints on failure and returns 0 / -1. Rollback never fails loudly:
 * it runs on error paths where the first error is the one worth showing. */
int db_begin(PGconn *db);
int db_commit(PGconn *db);
void db_rollback(PGconn *db);

/* Prints err as "rtadmin: database error: ..." and returns CLI_FAIL. */
int db_fail(const struct db_error *err);

#endif
