/* libFuzzer target: what arrives from Redis on the inlets. The input is split at the first
 * NUL into a Laravel message's channel and payload, and the whole input, cut at 0x1f bytes,
 * into stream fields. Whatever parses is an object a trigger can read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_ingest_parse.h"

static void check(json_t *event)
{
    if (!event) return;
    if (!json_is_object(event) || !json_is_string(json_object_get(event, "name")) ||
        !json_is_string(json_object_get(event, "data")))
        abort();
    json_t *channel = json_object_get(event, "channel"),
           *channels = json_object_get(event, "channels");
    if (!channel == !channels || (channel && !json_is_string(channel)) ||
        (channels && !json_is_array(channels)))
        abort();
    json_decref(event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *nul = memchr(data, 0, size);
    if (nul) {
        size_t off = (size_t)(nul - (const char *)data) + 1;
        check(rt_ingest_laravel_event(text, text + off, size - off, err, sizeof err));
    }
    const char *fields[2 * RT_INGEST_FIELDS_MAX + 1];
    size_t lens[2 * RT_INGEST_FIELDS_MAX + 1], n = 0, start = 0;
    for (size_t i = 0; i <= size && n < sizeof fields / sizeof fields[0]; i++) {
        if (i == size || data[i] == 0x1f) {
            fields[n] = text + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    }
    check(rt_ingest_stream_event(fields, lens, n, err, sizeof err));
    free(text);
    return 0;
}
