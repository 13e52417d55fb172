/* libFuzzer target for what we read from Redis configuration and replies: rt_redis_url_parse
 * and rt_redis_seeds_parse on arbitrary strings (what parses is in bounds), and the cluster
 * routing of rt_slot (a slot below 16384, a key index inside argv, a MOVED/ASK whose slot,
 * host and port are in bounds). One target keeps the suite's fuzz time flat. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_redis_url.h"
#include "rt_slot.h"

static void check_url(const char *url)
{
    struct rt_redis_url u;
    char err[160];
    if (rt_redis_url_parse(url, &u, err, sizeof err) == 0) {
        if (u.host[0] == '\0' || strlen(u.host) > RT_REDIS_HOST_MAX || u.port < 1 ||
            u.port > 65535 || strlen(u.password) > RT_REDIS_PASSWORD_MAX)
            abort();
    } else if (strncmp(err, "RT_REDIS_URL ", 13) != 0) {
        abort();
    }
}

static void check_seeds(const char *url)
{
    struct rt_redis_url seeds[4];
    size_t n = 99;
    char err[160];
    if (rt_redis_seeds_parse(url, seeds, 4, &n, err, sizeof err) == 0) {
        if (n < 1 || n > 4) abort();
        for (size_t i = 0; i < n; i++)
            if (seeds[i].host[0] == '\0' || strlen(seeds[i].host) > RT_REDIS_HOST_MAX ||
                seeds[i].port < 1 || seeds[i].port > 65535 ||
                strcmp(seeds[i].password, seeds[0].password) != 0)
                abort();
    } else if (n != 0 || strncmp(err, "RT_REDIS_URL", 12) != 0) {
        abort();
    }
}

static void check_redirect(const uint8_t *data, size_t size)
{
    unsigned slot = 0;
    char host[16];
    int port = 0;
    int kind = rt_redirect_parse((const char *)data, size, &slot, host, sizeof host, &port);
    if (kind == 0) return;
    if ((kind != 1 && kind != 2) || slot >= RT_SLOTS || port < 1 || port > 65535 ||
        strlen(host) >= sizeof host)
        abort();
}

/* The string cut at spaces is a command line: the key index is -1 or inside argv. */
static void check_command(char *line)
{
    const char *argv[16];
    size_t argc = 0;
    for (char *save = NULL, *tok = strtok_r(line, " ", &save); tok && argc < 16;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    int i = rt_command_key_index(argc, argv);
    if (i != -1 && (i < 1 || (size_t)i >= argc)) abort();
    if (i > 0 && rt_slot_of(argv[i], strlen(argv[i])) >= RT_SLOTS) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_url(text);
    check_seeds(text);
    check_redirect(data, size);
    if (rt_slot_of((const char *)data, size) >= RT_SLOTS) abort();
    check_command(text); /* last: strtok_r cuts text */
    free(text);
    return 0;
}
