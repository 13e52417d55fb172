/* Redis Cluster routing without I/O: key slots (CRC16 with hash tags), which argument of a
 * command is its key, and MOVED/ASK redirections. */
#ifndef RT_SLOT_H
#define RT_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define RT_SLOTS 16384

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis Cluster uses. */
uint16_t rt_crc16(const char *buf, size_t len);

/* Slot of a key, 0..RT_SLOTS-1. When the key holds a '{' followed later by a '}' with at least
 * one byte between them, only the bytes between the first '{' and the first '}' after it are
 * hashed ("{user1000}.following"); an empty tag ("foo{}{bar}") hashes the whole key. */
unsigned rt_slot_of(const char *key, size_t len);

/* Index in argv of the argument whose slot decides where the command runs, or -1 when the
 * command has no key (PING, AUTH, SCRIPT, CLUSTER, PUBLISH, SUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
 * UNSUBSCRIBE, INFO, ...). EVAL/EVALSHA/FCALL (and their _RO forms): argv[3] when numkeys
 * (argv[2]) > 0, else -1. XREAD/XREADGROUP: the first argument after STREAMS (option values
 * such as a group named "streams" are skipped). SPUBLISH/SSUBSCRIBE/SUNSUBSCRIBE: argv[1].
 * XGROUP/XINFO/OBJECT/MEMORY (subcommand first): argv[2]. Otherwise argv[1] when argc > 1.
 * Command names are case-insensitive. */
int rt_command_key_index(size_t argc, const char *const *argv);

#define RT_REDIRECT_NONE 0
#define RT_REDIRECT_MOVED 1
#define RT_REDIRECT_ASK 2

/* Parses a redirection error, err[0..len) without the leading '-': "MOVED 3999 127.0.0.1:6381"
 * or "ASK 3999 127.0.0.1:6381". The port follows the last ':', so "ASK 1 ::1:7000" is host
 * "::1" port 7000 ("[::1]:7000" is accepted too); an empty host ("MOVED 1 :7000") means "the
 * host you asked" and gives host "". Returns RT_REDIRECT_MOVED (1) or RT_REDIRECT_ASK (2) and
 * fills slot, host (NUL-terminated) and port; returns 0 and leaves them alone when err is
 * neither, malformed, the slot is out of range or the host does not fit in host_cap. */
int rt_redirect_parse(const char *err, size_t len, unsigned *slot, char *host, size_t host_cap,
                      int *port);

#endif
