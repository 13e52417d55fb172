/* Where rtserver and rtadmin take the master key from, by the same rules: a file (preferred),
 * else the RT_MASTER_KEY variable, never the command line (docs/security.md "Secrets"). */
#ifndef RT_MASTER_KEY_H
#define RT_MASTER_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "rt_secret.h"

/* Reads the key from the file at path, named `setting` in messages ("RT_MASTER_KEY_FILE" or
 * "--master-key-file"). The file must be a regular file that users other than its owner and
 * group cannot access and its group cannot write (0600, 0400, 0640 and 0440 pass; 0644 is
 * refused, as ssh refuses such a private key). Trailing whitespace is not part of the key.
 * Returns 0, or RT_ERR_IO / RT_ERR_FORBIDDEN / RT_ERR_INVALID with one line in err. */
int rt_master_key_read_file(const char *setting, const char *path, uint8_t key[RT_MASTER_KEY_BYTES],
                            char *err, size_t err_cap);

/* Loads the key from file_option (a --master-key-file path; NULL when not given), else from
 * the file named by RT_MASTER_KEY_FILE, else from RT_MASTER_KEY. RT_MASTER_KEY_FILE and
 * RT_MASTER_KEY set together are refused unless file_option decides. In every case
 * RT_MASTER_KEY is removed from the environment and its text overwritten, so that neither
 * child processes nor /proc/PID/environ see it. Returns 0, or a negative rt_err with one line
 * naming the setting in err. */
int rt_master_key_load(const char *file_option, uint8_t key[RT_MASTER_KEY_BYTES], char *err,
                       size_t err_cap);

#endif
