/* What arrives from the Redis inlets (docs/ingest.md), turned into the event object a REST
 * trigger takes ({"name","channel"|"channels","data","socket_id"}): a Laravel `redis`
 * broadcaster message and a Redis Streams entry. Pure: no I/O, no app limits (the trigger
 * path applies those). */
#ifndef RT_INGEST_PARSE_H
#define RT_INGEST_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RT_INGEST_PREFIX_MAX 64
/* A stream entry has at most this many field/value pairs; more is malformed. */
#define RT_INGEST_FIELDS_MAX 8

/* True when prefix is 1..RT_INGEST_PREFIX_MAX characters of [A-Za-z0-9_.:-]: no glob
 * character, so "prefix*" as a PSUBSCRIBE pattern matches exactly the names starting with it
 * (and a Laravel prefix such as "laravel_database_" fits). */
bool rt_ingest_prefix_valid(const char *prefix);

/* The event of a Laravel RedisBroadcaster message published to `channel` (the Redis channel
 * name with the app's prefix already removed): payload is
 * {"event": NAME, "data": {...}, "socket": SOCKET_ID|null}. data (an object or array) becomes
 * its compact JSON text, without the "socket" key Laravel leaves inside it (the pusher driver
 * pulls it out too); a string data is taken as is. Returns a new object, or NULL with the
 * reason in err. */
json_t *rt_ingest_laravel_event(const char *channel, const char *payload, size_t len, char *err,
                                size_t err_cap);

/* The event of one stream entry: fields[0..n) alternate field name and value (lens gives
 * their lengths; values may hold any bytes). Known fields: name, data, channel, channels (a
 * JSON array of names), socket_id. Exactly one of channel and channels; an unknown or
 * repeated field, or a value that is not UTF-8, is malformed. Returns a new object, or NULL
 * with the reason in err. */
json_t *rt_ingest_stream_event(const char *const *fields, const size_t *lens, size_t n, char *err,
                               size_t err_cap);

#endif
