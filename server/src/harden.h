/* Process hardening, done first thing in main() (docs/security.md "Secrets"). */
#ifndef RT_HARDEN_H
#define RT_HARDEN_H

/* Disables core dumps (RLIMIT_CORE 0, soft and hard), makes the process non-dumpable
 * (PR_SET_DUMPABLE 0) and installs the abort-on-OOM allocator for jansson (rt_alloc_init).
 * A failing system call is reported on stderr and does not stop the server. */
void rt_process_harden(void);

#endif
