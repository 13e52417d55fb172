/* Where rtadmin's settings come from: options first, then RT_* environment variables. */
#ifndef RTADMIN_CONFIG_H
#define RTADMIN_CONFIG_H

#include <stdint.h>

#include "args.h"
#include "rt_secret.h"

/* --database-url, else RT_DATABASE_URL; NULL after printing how to set it. */
const char *config_database_url(const struct cli_args *args);

/* Loads the master key from --master-key-file, else RT_MASTER_KEY_FILE, else RT_MASTER_KEY
 * (rt_master_key_load: the rules rtserver follows). Returns 0, or -1 after printing one line
 * naming the setting and the expected format. */
int config_master_key(const struct cli_args *args, uint8_t key[RT_MASTER_KEY_BYTES]);

/* --actor, else $USER, else the name of the effective uid. Never NULL. */
const char *config_actor(const struct cli_args *args);

#endif
