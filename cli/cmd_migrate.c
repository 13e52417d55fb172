/* rtadmin migrate: applies migrations/NNN_*.sql in order, once each, with checksums. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_record.h"
#include "db.h"
#include "output.h"
#include "rt_alloc.h"

#define MIGRATION_MAX_BYTES (16 * 1024 * 1024)
#define MIGRATIONS_MAX 1000
/* Any constant works as long as every rtadmin uses the same one. */
#define MIGRATE_LOCK "7372706617339012"

struct migration {
    long version;
    char name[256];
    char path[PATH_MAX];
    char checksum[2 * crypto_hash_sha256_BYTES + 1];
};

/* ---------------------------------------------------------------------------------------- */
/* Finding the migrations directory                                                           */
/* ---------------------------------------------------------------------------------------- */

/* Parses "NNN_description.sql"; returns the version or -1 when the name is not a migration. */
static long migration_version(const char *name)
{
    size_t digits = strspn(name, "0123456789");
    size_t len = strlen(name);
    if (digits == 0 || digits > 9 || name[digits] != '_' || len < digits + 5 ||
        strcmp(name + len - 4, ".sql") != 0)
        return -1;
    return strtol(name, NULL, 10);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_migrations(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;
    if (!d) return false;
    while (!found && (e = readdir(d)))
        found = migration_version(e->d_name) >= 0;
    closedir(d);
    return found;
}

/* --dir, RT_MIGRATIONS_DIR, then next to the binary (<bin>/../migrations, an installed
 * <prefix>/share/realtime/migrations, or the repo's migrations/ above a build directory),
 * then /usr/share/realtime/migrations. Returns 0 with out filled, or CLI_FAIL after printing. */
static int find_dir(const struct cli_ctx *ctx, char *out, size_t cap)
{
    const char *given = cli_args_get(&ctx->args, "dir");
    const char *from = "--dir";
    if (!given && (given = getenv("RT_MIGRATIONS_DIR")) && *given) from = "RT_MIGRATIONS_DIR";
    if (given && *given) {
        if (!is_dir(given)) return cli_fail("%s %s is not a directory", from, given);
        snprintf(out, cap, "%s", given);
        return 0;
    }
    char exe[PATH_MAX], probe[PATH_MAX + 64] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (char *slash = strrchr(exe, '/'); slash; slash = strrchr(exe, '/')) {
            *slash = '\0'; /* exe is now the next directory up */
            snprintf(probe, sizeof probe, "%s/migrations", exe);
            if (has_migrations(probe)) break;
            snprintf(probe, sizeof probe, "%s/share/realtime/migrations", exe);
            if (has_migrations(probe)) break;
            probe[0] = '\0';
        }
        if (probe[0] && n > 0) {
            snprintf(out, cap, "%s", probe);
            return 0;
        }
    }
    if (is_dir("/usr/share/realtime/migrations")) {
        snprintf(out, cap, "%s", "/usr/share/realtime/migrations");
        return 0;
    }
    return cli_fail("no migrations directory found next to rtadmin or in "
                    "/usr/share/realtime/migrations; pass --dir DIR or set RT_MIGRATIONS_DIR");
}

/* ---------------------------------------------------------------------------------------- */
/* Reading migration files                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Reads a whole file (NUL-terminated, malloc'd) and its sha256. NULL after printing. */
static char *read_migration(struct migration *m)
{
    FILE *f = fopen(m->path, "rb");
    if (!f) {
        cli_fail("cannot read migration %s: %s", m->path, strerror(errno));
        return NULL;
    }
    char *buf = rt_xmalloc(MIGRATION_MAX_BYTES + 1);
    size_t n = fread(buf, 1, MIGRATION_MAX_BYTES + 1, f);
    bool error = ferror(f);
    fclose(f);
    if (error || n > MIGRATION_MAX_BYTES) {
        free(buf);
        cli_fail("cannot read migration %s (%s)", m->path,
                 n > MIGRATION_MAX_BYTES ? "larger than 16 MB" : "read error");
        return NULL;
    }
    buf[n] = '\0';
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)buf, n);
    sodium_bin2hex(m->checksum, sizeof m->checksum, digest, sizeof digest);
    return buf;
}

static int by_version(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists dir's migrations sorted by version, with checksums. Returns the count or -1. */
static int list_migrations(const char *dir, struct migration **out)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_fail("cannot open migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct migration *all = rt_xcalloc(MIGRATIONS_MAX, sizeof *all);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long v = migration_version(e->d_name);
        if (v < 0) continue;
        if (n == MIGRATIONS_MAX || strlen(e->d_name) >= sizeof all[n].name) {
            closedir(d);
            free(all);
            cli_fail("too many migrations, or a name too long, in %s", dir);
            return -1;
        }
        all[n].version = v;
        snprintf(all[n].name, sizeof all[n].name, "%s", e->d_name);
        if ((size_t)snprintf(all[n].path, sizeof all[n].path, "%s/%s", dir, e->d_name) >=
            sizeof all[n].path)
            continue; /* a path longer than PATH_MAX cannot be opened anyway */
        n++;
    }
    closedir(d);
    qsort(all, (size_t)n, sizeof *all, by_version);
    for (int i = 0; i < n; i++) {
        if (i > 0 && all[i].version == all[i - 1].version) {
            cli_fail("migrations %s and %s have the same version number; renumber one",
                     all[i - 1].name, all[i].name);
            free(all);
            return -1;
        }
        char *text = read_migration(&all[i]);
        if (!text) {
            free(all);
            return -1;
        }
        free(text);
    }
    *out = all;
    return n;
}

/* ---------------------------------------------------------------------------------------- */
/* Applying                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Takes the migration lock for the current transaction: a second rtadmin migrate waits here
 * until the first commits, then sees its work as already done. */
static int lock_and_ensure_table(struct cli_ctx *ctx)
{
    PGresult *res = db_run(ctx->db, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", 0, NULL);
    if (!res) return -1;
    PQclear(res);
    res = db_run(ctx->db,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY,"
                 " name text NOT NULL,"
                 " checksum text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 0, NULL);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

/* The checksum recorded for version, "" when not applied, NULL on error. Caller frees. */
static char *applied_checksum(struct cli_ctx *ctx, long version)
{
    char v[24];
    snprintf(v, sizeof v, "%ld", version);
    const char *params[] = {v};
    PGresult *res = db_run(
        ctx->db, "SELECT checksum FROM schema_migrations WHERE version = $1::integer", 1, params);
    if (!res) return NULL;
    char *sum = rt_xstrdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return sum;
}

static int refuse_changed(const struct migration *m)
{
    return cli_fail("migration %s was changed after it was applied (its sha256 differs from "
                    "the one recorded); restore the file and put the change in a new migration",
                    m->name);
}

/* Verifies every already-applied file before applying anything, so an edited history stops
 * the run before it changes the database. Returns 0, CLI_FAIL. */
static int verify_applied(struct cli_ctx *ctx, const struct migration *all, int n, long *at)
{
    if (db_begin(ctx->db) != 0 || lock_and_ensure_table(ctx) != 0) goto fail;
    PGresult *res = db_run(
        ctx->db, "SELECT version, checksum FROM schema_migrations ORDER BY version", 0, NULL);
    if (!res) goto fail;
    *at = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        long v = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (v > *at) *at = v;
        for (int i = 0; i < n; i++) {
            if (all[i].version == v && strcmp(all[i].checksum, PQgetvalue(res, r, 1)) != 0) {
                PQclear(res);
                db_rollback(ctx->db);
                return refuse_changed(&all[i]);
            }
        }
    }
    PQclear(res);
    return db_commit(ctx->db) == 0 ? 0 : CLI_FAIL;
fail:
    db_rollback(ctx->db);
    return CLI_FAIL;
}

/* Applies one file in its own transaction. *applied tells whether it ran (false when another
 * rtadmin got there first). */
static int apply_one(struct cli_ctx *ctx, struct migration *m, bool *applied)
{
    char version[24];
    char *sql = NULL, *sum = NULL;
    *applied = false;
    if (db_begin(ctx->db) != 0) return CLI_FAIL;
    if (lock_and_ensure_table(ctx) != 0 || !(sum = applied_checksum(ctx, m->version))) goto fail;
    if (sum[0]) {
        int rc = strcmp(sum, m->checksum) == 0 ? 0 : refuse_changed(m);
        free(sum);
        db_rollback(ctx->db);
        return rc;
    }
    if (!(sql = read_migration(m))) goto fail;
    /* A migration is trusted SQL text holding several statements, so it goes through the
     * simple-query protocol; it still runs inside this transaction. */
    PGresult *res = PQexec(ctx->db, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        cli_fail("migration %s failed, nothing from it was applied: %s", m->name,
                 msg ? msg : PQerrorMessage(ctx->db));
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    snprintf(version, sizeof version, "%ld", m->version);
    const char *params[] = {version, m->name, m->checksum};
    res = db_run(ctx->db,
                 "INSERT INTO schema_migrations (version, name, checksum)"
                 " VALUES ($1::integer, $2, $3)",
                 3, params);
    if (!res) goto fail;
    PQclear(res);
    /* Once the audit log exists, schema changes are recorded in it like any other change. */
    res = db_run(ctx->db, "SELECT to_regclass('audit_log') IS NOT NULL", 0, NULL);
    if (!res) goto fail;
    bool audited = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (audited) {
        json_t *details = json_pack("{s:I, s:s, s:s}", "version", (json_int_t)m->version, "name",
                                    m->name, "checksum", m->checksum);
        int rc = audit_record(ctx, "schema.migrate", NULL, details);
        json_decref(details);
        if (rc != 0) goto fail;
    }
    if (db_commit(ctx->db) != 0) goto fail;
    *applied = true;
    free(sql);
    free(sum);
    return 0;
fail:
    db_rollback(ctx->db);
    free(sql);
    free(sum);
    return CLI_FAIL;
}

static int migrate(struct cli_ctx *ctx)
{
    char dir[PATH_MAX];
    struct migration *all = NULL;
    long at = 0;
    if (find_dir(ctx, dir, sizeof dir) != 0) return CLI_FAIL;
    int n = list_migrations(dir, &all);
    if (n < 0) return CLI_FAIL;
    if (n == 0) {
        free(all);
        return cli_fail("no migrations (NNN_name.sql files) in %s", dir);
    }
    int rc = verify_applied(ctx, all, n, &at);
    json_t *applied = json_array();
    for (int i = 0; rc == 0 && i < n; i++) {
        bool done = false;
        rc = apply_one(ctx, &all[i], &done);
        if (rc == 0 && done) {
            json_array_append_new(applied, json_pack("{s:I, s:s, s:s}", "version",
                                                     (json_int_t)all[i].version, "name",
                                                     all[i].name, "checksum", all[i].checksum));
            if (!ctx->json) printf("Applied %s\n", all[i].name);
        }
        if (all[i].version > at) at = all[i].version;
    }
    if (rc == 0) {
        size_t count = json_array_size(applied);
        if (ctx->json) {
            json_t *out = json_pack("{s:s, s:O, s:I}", "dir", dir, "applied", applied, "version",
                                    (json_int_t)at);
            out_json(out);
            json_decref(out);
        } else if (count == 0) {
            printf("Nothing to apply: the database is up to date (version %ld, %s)\n", at, dir);
        } else {
            printf("Applied %zu migration%s; the database is at version %ld\n", count,
                   count == 1 ? "" : "s", at);
        }
    }
    json_decref(applied);
    free(all);
    return rc;
}

static const struct cli_opt migrate_opts[] = {
    {"dir", "DIR",
     "directory of NNN_name.sql files (default: $RT_MIGRATIONS_DIR, then next "
     "to rtadmin, then /usr/share/realtime/migrations)"},
    {NULL, NULL, NULL},
};

const struct cli_command cmd_migrate = {
    .name = "migrate",
    .usage = "[--dir DIR]",
    .summary = "Apply pending schema migrations (safe to run again, and concurrently)",
    .details = "Each NNN_name.sql file runs once, in version order, in its own transaction,\n"
               "and is recorded with its sha256 in schema_migrations. A file changed after it\n"
               "was applied stops the run; put changes in a new migration instead.",
    .opts = migrate_opts,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_DB,
    .run = migrate,
};
