/* RT_WORKERS=N: one small supervisor process starts N workers that share the listening port
 * (SO_REUSEPORT) and the cluster state (Redis), restarts a worker that dies (with back-off),
 * forwards SIGTERM/SIGINT (drain) and SIGHUP, and exits when they are all gone. */
#ifndef RT_SUPERVISOR_H
#define RT_SUPERVISOR_H

#include <stdbool.h>

/* Forks the workers and supervises them. Returns false in a worker (which goes on starting
 * up, with rt_srv.worker set), true in the supervisor once it is done, with the process's
 * exit code in *exit_code. */
bool rt_supervisor_run(int workers, int *exit_code);

#endif
