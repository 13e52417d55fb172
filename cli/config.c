/* Where rtadmin's settings come from: options first, then RT_* environment variables. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *config_database_url(const struct cli_args *args)
{
    const char *url = cli_args_get(args, "database-url");
    if (!url) url = getenv("RT_DATABASE_URL");
    if (!url || !*url) {
        cli_fail("RT_DATABASE_URL is not set (e.g. postgresql://user@host:5432/realtime); "
                 "set it or pass --database-url");
        return NULL;
    }
    return url;
}

/* Reads a small key file; trailing whitespace (the usual newline) is not part of the key. */
static int read_key_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_fail("cannot read --master-key-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int too_long = n == cap - 1 && fgetc(f) != EOF;
    fclose(f);
    if (too_long) {
        cli_fail("--master-key-file %s is too large to be a master key (expected 64 hex "
                 "characters or base64 of 32 bytes)",
                 path);
        return -1;
    }
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return 0;
}

int config_master_key(const struct cli_args *args, uint8_t key[RT_MASTER_KEY_BYTES])
{
    char err[160];
    const char *path = cli_args_get(args, "master-key-file");
    if (path) {
        char buf[256];
        if (read_key_file(path, buf, sizeof buf) != 0) return -1;
        int rc = rt_master_key_parse(buf, key, err, sizeof err);
        sodium_memzero(buf, sizeof buf);
        if (rc != 0) {
            cli_fail("the master key in %s must be 64 hex characters or base64 of 32 bytes "
                     "(generate one with: openssl rand -hex 32)",
                     path);
            return -1;
        }
        return 0;
    }
    const char *text = getenv("RT_MASTER_KEY");
    if (!text || !*text) {
        cli_fail("RT_MASTER_KEY is not set (64 hex characters, e.g. from: openssl rand -hex 32); "
                 "set it or pass --master-key-file PATH");
        return -1;
    }
    if (rt_master_key_parse(text, key, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return -1;
    }
    return 0;
}

const char *config_actor(const struct cli_args *args)
{
    static char fallback[64];
    const char *actor = cli_args_get(args, "actor");
    if (actor && *actor) return actor;
    /* $USER first: under a shared service account it is what the operator's session set. */
    actor = getenv("USER");
    if (actor && *actor) return actor;
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
    snprintf(fallback, sizeof fallback, "uid:%u", (unsigned)geteuid());
    return fallback;
}
