/* Loading the master key: the one part of core that reads a file and the environment, so that
 * rtserver and rtadmin cannot drift apart on where the key may come from. */
#include "rt_master_key.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_err.h"

extern char **environ;

/* Longer than any encoding of 32 bytes (64 hex, 44 base64) plus generous whitespace. */
#define KEY_TEXT_MAX 256
#define KEY_FORMAT "64 hex characters or base64 of 32 bytes"

static int fail(int rc, char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t err_cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && err_cap > 0) vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Reads up to cap bytes of fd into buf. Returns the length read, or -1 on a read error; a
 * result of cap means the file may hold more (the caller treats that as too large). */
static long read_small(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return (long)n;
        n += (size_t)r;
        if (n == cap) return (long)cap;
    }
}

int rt_master_key_read_file(const char *setting, const char *path, uint8_t key[RT_MASTER_KEY_BYTES],
                            char *err, size_t err_cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail(RT_ERR_IO, err, err_cap, "cannot read %s %s: %s", setting, path,
                    strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(RT_ERR_INVALID, err, err_cap, "%s %s is not a regular file", setting, path);
    }
    /* Group read stays allowed: a root-owned 0640 file is how a key is shared with the
     * service's group (Kubernetes fsGroup, Docker secrets with a gid). */
    if (st.st_mode & (S_IRWXO | S_IWGRP)) {
        close(fd);
        return fail(RT_ERR_FORBIDDEN, err, err_cap,
                    "%s %s is accessible to other users (mode %04o); run: chmod 600 %s", setting,
                    path, (unsigned)(st.st_mode & 07777), path);
    }
    char text[KEY_TEXT_MAX + 1];
    long n = read_small(fd, text, KEY_TEXT_MAX + 1);
    int read_errno = errno;
    close(fd);
    int rc = RT_OK;
    if (n < 0) {
        rc = fail(RT_ERR_IO, err, err_cap, "cannot read %s %s: %s", setting, path,
                  strerror(read_errno));
    } else if (n > KEY_TEXT_MAX) {
        rc = fail(RT_ERR_INVALID, err, err_cap,
                  "%s %s is too large to be a master key (expected " KEY_FORMAT ")", setting, path);
    } else {
        while (n > 0 && isspace((unsigned char)text[n - 1]))
            n--;
        text[n] = '\0';
        if (n == 0 || rt_master_key_parse(text, key, NULL, 0) != RT_OK)
            rc = fail(RT_ERR_INVALID, err, err_cap,
                      "the master key in %s %s must be " KEY_FORMAT
                      " (generate one with: openssl rand -hex 32)",
                      setting, path);
    }
    sodium_memzero(text, sizeof text);
    return rc;
}

/* Moves RT_MASTER_KEY out of the environment into value (cap bytes). unsetenv() keeps it from
 * child processes; overwriting the text in place also clears it from /proc/PID/environ, which
 * shows the process's original environment block. Returns the value's length, 0 when unset or
 * empty, or -1 when it does not fit (it is removed all the same). */
static long take_env_key(char *value, size_t cap)
{
    static const char prefix[] = "RT_MASTER_KEY=";
    char *entries[16];
    size_t n_entries = 0;
    long len = 0;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1) != 0) continue;
        char *v = *e + sizeof prefix - 1;
        size_t v_len = strlen(v);
        if (n_entries == 0) /* getenv() semantics: the first one counts */
            len = v_len < cap ? (long)v_len : -1;
        if (n_entries == 0 && len > 0) memcpy(value, v, v_len + 1);
        sodium_memzero(v, v_len);
        if (n_entries < sizeof entries / sizeof entries[0]) entries[n_entries++] = *e;
    }
    if (n_entries == 0) return 0;
    unsetenv("RT_MASTER_KEY");
    for (size_t i = 0; i < n_entries; i++)
        sodium_memzero(entries[i], sizeof prefix - 1);
    return len;
}

int rt_master_key_load(const char *file_option, uint8_t key[RT_MASTER_KEY_BYTES], char *err,
                       size_t err_cap)
{
    char env_key[KEY_TEXT_MAX];
    long env_len = take_env_key(env_key, sizeof env_key);
    const char *env_file = getenv("RT_MASTER_KEY_FILE");
    if (env_file && !*env_file) env_file = NULL;
    int rc;
    if (file_option) {
        rc = rt_master_key_read_file("--master-key-file", file_option, key, err, err_cap);
    } else if (env_file && env_len != 0) {
        rc = fail(RT_ERR_INVALID, err, err_cap,
                  "RT_MASTER_KEY and RT_MASTER_KEY_FILE are both set; keep one "
                  "(RT_MASTER_KEY_FILE is preferred)");
    } else if (env_file) {
        rc = rt_master_key_read_file("RT_MASTER_KEY_FILE", env_file, key, err, err_cap);
    } else if (env_len == 0) {
        rc = fail(RT_ERR_INVALID, err, err_cap,
                  "RT_MASTER_KEY is not set: put the key (e.g. from: openssl rand -hex 32) "
                  "in a file with mode 600 and set RT_MASTER_KEY_FILE or pass "
                  "--master-key-file PATH");
    } else if (env_len < 0) {
        rc = fail(RT_ERR_INVALID, err, err_cap, "RT_MASTER_KEY must be " KEY_FORMAT);
    } else {
        rc = rt_master_key_parse(env_key, key, err, err_cap);
    }
    sodium_memzero(env_key, sizeof env_key);
    return rc;
}
