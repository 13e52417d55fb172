/* PostgreSQL access for rtadmin: connect, parameterized queries, transactions, JSON rows. */
#include "db.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

/* libpq messages span several lines ("...failed: ...\n\tIs the server running..."); rtadmin
 * promises one line per error. */
static void one_line(char *s)
{
    char *w = s;
    bool space = false;
    for (char *r = s; *r; r++) {
        if (*r == '\n' || *r == '\t' || *r == '\r' || *r == ' ') {
            space = true;
            continue;
        }
        if (space && w != s) *w++ = ' ';
        space = false;
        *w++ = *r;
    }
    *w = '\0';
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *db_connect(const char *url)
{
    /* Our defaults come first so that settings in the URL itself override them. */
    const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
    const char *values[] = {"10", "rtadmin", "-c TimeZone=UTC", url, NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
    if (!db) {
        cli_fail("cannot connect to the database: out of memory");
        return NULL;
    }
    if (PQstatus(db) != CONNECTION_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(db));
        one_line(msg);
        cli_fail("cannot connect to the database: %s (check RT_DATABASE_URL or --database-url)",
                 msg);
        PQfinish(db);
        return NULL;
    }
    PQsetNoticeProcessor(db, ignore_notice, NULL);
    return db;
}

static void fill_error(PGconn *db, const PGresult *res, struct db_error *err)
{
    if (!err) return;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
    snprintf(err->message, sizeof err->message, "%s", primary ? primary : PQerrorMessage(db));
    one_line(err->message);
}

PGresult *db_query(PGconn *db, const char *sql, int nparams, const char *const *params,
                   struct db_error *err)
{
    PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return res;
    fill_error(db, res, err);
    PQclear(res);
    return NULL;
}

int db_fail(const struct db_error *err)
{
    /* undefined_table almost always means an unmigrated database, which the operator can fix. */
    if (strcmp(err->sqlstate, "42P01") == 0)
        return cli_fail("database error: %s (is the schema missing? run: rtadmin migrate)",
                        err->message);
    return cli_fail("database error: %s", err->message);
}

PGresult *db_run(PGconn *db, const char *sql, int nparams, const char *const *params)
{
    struct db_error err;
    PGresult *res = db_query(db, sql, nparams, params, &err);
    if (!res) db_fail(&err);
    return res;
}

int db_json(PGconn *db, const char *sql, int nparams, const char *const *params, json_t **out)
{
    *out = NULL;
    PGresult *res = db_run(db, sql, nparams, params);
    if (!res) return -1;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        json_error_t jerr;
        *out = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, &jerr);
        if (!*out) {
            PQclear(res);
            cli_fail("database returned invalid JSON: %s", jerr.text);
            return -1;
        }
    }
    PQclear(res);
    return 0;
}

static int simple(PGconn *db, const char *sql)
{
    PGresult *res = db_run(db, sql, 0, NULL);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

int db_begin(PGconn *db)
{
    return simple(db, "BEGIN");
}

int db_commit(PGconn *db)
{
    return simple(db, "COMMIT");
}

void db_rollback(PGconn *db)
{
    PQclear(PQexec(db, "ROLLBACK"));
}
