/* Where rtadmin's settings come from: options first, then RT_* environment variables. */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "rt_master_key.h"

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

int config_master_key(const struct cli_args *args, uint8_t key[RT_MASTER_KEY_BYTES])
{
    char err[512];
    if (rt_master_key_load(cli_args_get(args, "master-key-file"), key, err, sizeof err) != 0) {
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
