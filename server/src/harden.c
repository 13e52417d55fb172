/* Process hardening at start: no core dumps, not dumpable, one out-of-memory policy. */
#include "harden.h"

#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "rt_alloc.h"

void rt_process_harden(void)
{
    /* The process holds the master key and every app secret in memory: a core file would
     * write them to disk. Soft and hard limit, so nothing in the process can raise it again. */
    struct rlimit no_core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &no_core) != 0) perror("rtserver: setrlimit(RLIMIT_CORE)");
    /* Not dumpable: other processes of the same user can neither ptrace us nor read
     * /proc/PID/{mem,environ,maps} (the kernel hands them to root), and no core is written
     * even if RLIMIT_CORE is raised from outside (prlimit). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) perror("rtserver: prctl(PR_SET_DUMPABLE)");
    rt_alloc_init();
}
