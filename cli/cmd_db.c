/* rtadmin db create-server-role: the least-privilege login role rtserver connects with. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_record.h"
#include "db.h"
#include "output.h"
#include "rt_alloc.h"

/* The group role of migrations/004_server_role.sql; its grants are repeated here so that a
 * role that may create roles can add the group after a migration that could not. */
#define SERVER_GROUP "realtime_server"
#define PASSWORD_MAX 256
#define GENERATED_PASSWORD_BYTES 24
#define URL_MAX 2048
/* Serialises create-server-role runs on one database (scripts/run started twice at once):
 * concurrent CREATE ROLE or ALTER ROLE of one role fail instead of waiting. */
#define SERVER_ROLE_LOCK "7372706617339013"

enum password_source { PASSWORD_NONE, PASSWORD_GIVEN, PASSWORD_GENERATED };

static const char *const source_names[] = {"none", "given", "generated"};

/* Lowercase SQL identifiers only: they need no quoting in a URL, a pg_hba.conf line or psql. */
static bool valid_role_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !(islower((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return strncmp(s, "pg_", 3) != 0;
}

/* Reads the first line of path into out (the trailing newline dropped). 0 or CLI_FAIL. */
static int read_password_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return cli_fail("cannot read --password-file %s: %s", path, strerror(errno));
    bool got = fgets(out, (int)cap, f) != NULL;
    bool long_line = got && !strchr(out, '\n') && !feof(f);
    fclose(f);
    if (!got || long_line) {
        sodium_memzero(out, cap);
        return cli_fail("--password-file %s must hold the password on its first line (1 to %d "
                        "characters)",
                        path, PASSWORD_MAX - 1);
    }
    out[strcspn(out, "\r\n")] = '\0';
    if (!out[0]) return cli_fail("--password-file %s: the first line is empty", path);
    return 0;
}

/* --no-password, --password-file, $RT_SERVER_DB_PASSWORD, else a random one. 0 or an exit code. */
static int choose_password(const struct cli_ctx *ctx, char *out, size_t cap,
                           enum password_source *source)
{
    const char *file = cli_args_get(&ctx->args, "password-file");
    const char *env = getenv("RT_SERVER_DB_PASSWORD");
    out[0] = '\0';
    if (cli_args_has(&ctx->args, "no-password")) {
        if (file) return cli_usage(ctx, "--no-password and --password-file exclude each other");
        *source = PASSWORD_NONE;
        return 0;
    }
    *source = PASSWORD_GIVEN;
    if (file) return read_password_file(file, out, cap);
    if (env && *env) {
        if (strlen(env) >= cap)
            return cli_fail("RT_SERVER_DB_PASSWORD is longer than %d characters", PASSWORD_MAX - 1);
        snprintf(out, cap, "%s", env);
        return 0;
    }
    uint8_t raw[GENERATED_PASSWORD_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, cap, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    *source = PASSWORD_GENERATED;
    return 0;
}

/* Runs one statement built server-side by format() from params, so that identifiers and
 * literals are quoted by PostgreSQL itself. 0 or -1 after printing. */
static int run_formatted(struct cli_ctx *ctx, const char *format_sql, int n, const char *const *p)
{
    PGresult *res = db_run(ctx->db, format_sql, n, p);
    if (!res) return -1;
    char *sql = rt_xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = db_run(ctx->db, sql, 0, NULL);
    sodium_memzero(sql, strlen(sql)); /* may hold the password verifier */
    free(sql);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

/* Why the existing role in check_existing's row may not become the server role; "" when it
 * may. */
static void why_refused(const PGresult *res, char *why, size_t cap)
{
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        snprintf(why, cap, "is a superuser");
    else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
        snprintf(why, cap, "is the role rtadmin is connected as");
    else if (strcmp(PQgetvalue(res, 0, 3), "t") == 0)
        snprintf(why, cap, "owns tables of this database");
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        snprintf(why, cap, "may create roles or databases, replicate or bypass row security");
    else if (!PQgetisnull(res, 0, 4))
        snprintf(why, cap, "is a member of %.160s", PQgetvalue(res, 0, 4));
    else if (strcmp(PQgetvalue(res, 0, 5), "t") == 0)
        snprintf(why, cap, "may write apps, keys or webhooks, or read the audit log");
}

/* Refuses a role that already holds more than the group gives (a superuser, the role rtadmin
 * is connected as, the owner of the tables, a member of other roles, a holder of write grants):
 * making it "the server role" would only hide that. Sets *exists. Returns 0 or CLI_FAIL. */
static int check_existing(struct cli_ctx *ctx, const char *name, bool *exists)
{
    const char *params[] = {name};
    PGresult *res = db_run(
        ctx->db,
        "SELECT r.rolsuper, r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls,"
        " r.rolname = current_user,"
        " EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid"
        "         AND c.relnamespace = current_schema()::regnamespace),"
        " (SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) FROM pg_auth_members m"
        "   JOIN pg_roles g ON g.oid = m.roleid"
        "   WHERE m.member = r.oid AND g.rolname <> '" SERVER_GROUP "'),"
        " EXISTS (SELECT 1 FROM unnest(ARRAY['apps', 'app_keys', 'app_webhooks', 'audit_log']) t"
        "   WHERE to_regclass(t) IS NOT NULL AND has_table_privilege(r.oid, to_regclass(t),"
        "     'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')"
        "   OR t = 'audit_log' AND to_regclass(t) IS NOT NULL"
        "     AND has_table_privilege(r.oid, to_regclass(t), 'SELECT'))"
        " FROM pg_roles r WHERE r.rolname = $1",
        1, params);
    if (!res) return CLI_FAIL;
    *exists = PQntuples(res) == 1;
    char why[256] = "";
    if (*exists) why_refused(res, why, sizeof why);
    PQclear(res);
    if (why[0])
        return cli_fail("role %s %s; the server role must hold nothing beyond %s, choose "
                        "another name",
                        name, why, SERVER_GROUP);
    return 0;
}

/* Creates the group when it is missing and (re)applies its grants in this database. */
static int ensure_group(struct cli_ctx *ctx)
{
    PGresult *res = db_run(ctx->db,
                           "SELECT to_regclass('app_keys') IS NOT NULL,"
                           " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" SERVER_GROUP "')",
                           0, NULL);
    if (!res) return -1;
    bool migrated = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    bool group = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    if (!migrated)
        return cli_fail("the database has no Realtime schema; run rtadmin migrate first");
    struct db_error err;
    if (!group) {
        res = db_query(ctx->db, "CREATE ROLE " SERVER_GROUP " NOLOGIN", 0, NULL, &err);
        if (!res)
            return cli_fail("cannot create role %s: %s (run this as a superuser or a role with "
                            "CREATEROLE)",
                            SERVER_GROUP, err.message);
        PQclear(res);
    }
    const char *grants[] = {
        "SELECT format('GRANT CONNECT ON DATABASE %I TO " SERVER_GROUP "', current_database())",
        "SELECT format('GRANT USAGE ON SCHEMA %I TO " SERVER_GROUP "', current_schema())",
        "SELECT 'GRANT SELECT ON apps, app_keys, app_webhooks TO " SERVER_GROUP "'",
    };
    for (size_t i = 0; i < sizeof grants / sizeof *grants; i++)
        if (run_formatted(ctx, grants[i], 0, NULL) != 0) return -1;
    return 0;
}

/* Creates or updates the login role, its password (as a SCRAM verifier computed here, so the
 * password itself never reaches the server's statement log) and its membership. */
static int upsert_login(struct cli_ctx *ctx, const char *name, bool exists, const char *password)
{
    char *verifier = NULL;
    if (password[0]) {
        verifier = PQencryptPasswordConn(ctx->db, password, name, NULL);
        if (!verifier) {
            cli_fail("cannot encrypt the password: %s", PQerrorMessage(ctx->db));
            return -1;
        }
    }
    const char *params[] = {name, verifier};
    int rc = run_formatted(
        ctx,
        exists ? "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)"
               : "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)",
        2, params);
    if (verifier) PQfreemem(verifier);
    if (rc != 0) return -1;
    return run_formatted(ctx, "SELECT format('GRANT " SERVER_GROUP " TO %I', $1::text)", 1, params);
}

/* postgresql://NAME[:PASSWORD]@HOST:PORT/DB for the connection rtadmin has open (a Unix
 * socket directory goes into ?host=). */
static void server_url(PGconn *db, const char *name, const char *password, char *out, size_t cap)
{
    const char *host = PQhost(db), *port = PQport(db), *dbname = PQdb(db);
    char pw[PASSWORD_MAX * 3 + 2] = "";
    if (password) {
        char *w = pw;
        *w++ = ':';
        for (const char *r = password; *r; r++) {
            if (isalnum((unsigned char)*r) || strchr("-._~", *r))
                *w++ = *r;
            else
                w += sprintf(w, "%%%02X", (unsigned char)*r);
        }
        *w = '\0';
    }
    if (host && host[0] == '/')
        snprintf(out, cap, "postgresql://%s%s@/%s?host=%s&port=%s", name, pw, dbname, host, port);
    else if (host && strchr(host, ':'))
        snprintf(out, cap, "postgresql://%s%s@[%s]:%s/%s", name, pw, host, port, dbname);
    else
        snprintf(out, cap, "postgresql://%s%s@%s:%s/%s", name, pw, host ? host : "localhost", port,
                 dbname);
    sodium_memzero(pw, sizeof pw);
}

static int create_server_role(struct cli_ctx *ctx)
{
    const char *name = cli_arg(ctx, 0);
    char password[PASSWORD_MAX], url[URL_MAX];
    enum password_source source;
    bool exists = false;
    if (!valid_role_name(name))
        return cli_usage(ctx,
                         "'%s' is not a role name for the server: use 1 to 63 lowercase letters, "
                         "digits and _, starting with a letter or _ (not pg_)",
                         name);
    int rc = choose_password(ctx, password, sizeof password, &source);
    if (rc != 0) return rc;
    if (db_begin(ctx->db) != 0) goto fail;
    PGresult *res = db_run(ctx->db, "SELECT pg_advisory_xact_lock(" SERVER_ROLE_LOCK ")", 0, NULL);
    if (!res) goto fail;
    PQclear(res);
    if (check_existing(ctx, name, &exists) != 0) goto fail;
    if (ensure_group(ctx) != 0 || upsert_login(ctx, name, exists, password) != 0) goto fail;
    json_t *details = json_pack("{s:s, s:s, s:b, s:s}", "role", name, "group", SERVER_GROUP,
                                "created", !exists, "password", source_names[source]);
    rc = audit_record(ctx, "db.create_server_role", NULL, details);
    json_decref(details);
    if (rc != 0 || db_commit(ctx->db) != 0) goto fail;

    server_url(ctx->db, name, source == PASSWORD_GENERATED ? password : NULL, url, sizeof url);
    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:s, s:b, s:s, s:s}", "role", name, "group", SERVER_GROUP,
                                "created", !exists, "password", source_names[source], "url", url);
        out_json(out);
        json_decref(out);
    } else {
        printf("Role %s %s: it logs in and may read apps, app_keys and app_webhooks (member of "
               "%s), nothing else.\n",
               name, exists ? "updated" : "created", SERVER_GROUP);
        if (source == PASSWORD_GENERATED)
            printf("Its password was generated and is shown only now, in this URL.\n");
        else if (source == PASSWORD_GIVEN)
            printf("Add the password you gave to this URL.\n");
        printf("Start rtserver with RT_DATABASE_URL=%s\n", url);
    }
    sodium_memzero(password, sizeof password);
    sodium_memzero(url, sizeof url);
    return 0;
fail:
    db_rollback(ctx->db);
    sodium_memzero(password, sizeof password);
    return CLI_FAIL;
}

static const struct cli_opt create_server_role_opts[] = {
    {"password-file", "FILE", "the role's password: the first line of FILE"},
    {"no-password", NULL,
     "no password (the cluster authenticates the server otherwise: peer, cert, trust)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_db_create_server_role = {
    .group = "db",
    .name = "create-server-role",
    .usage = "NAME [--password-file FILE | --no-password]",
    .summary = "Create (or update) the read-only login role rtserver connects with",
    .details =
        "NAME becomes a login role in the group realtime_server, which may read apps,\n"
        "app_keys and app_webhooks and nothing else: no writes, no audit log. Running it again\n"
        "updates the password. The password is the first line of --password-file, else\n"
        "$RT_SERVER_DB_PASSWORD, else a random one printed once in the URL. It is sent to\n"
        "PostgreSQL only as a SCRAM verifier. Run it with the role that owns the tables and may\n"
        "create roles (the one `rtadmin migrate` uses); it creates realtime_server if missing.",
    .opts = create_server_role_opts,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_DB,
    .run = create_server_role,
};
