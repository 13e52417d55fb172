/* rtserver --check-config: the dependencies of a parsed configuration, each with a timeout. */
#ifndef RT_CHECK_H
#define RT_CHECK_H

#include <stddef.h>

#include "config.h"

/* Checks the listen address, the TLS files, PostgreSQL (schema, apps and master key) and
 * Redis. Prints one "configuration ok" line and returns 0, or returns -1 with one line in
 * err naming the setting at fault. */
int rt_check_config(const struct rt_config *cfg, char *err, size_t err_cap);

#endif
