/* Why: `singularity-worker` with no arguments: the job loop (one job at a time; the fleet scales by
 * processes), a housekeeping thread (heartbeat, reaper, delayed-job promotion, queue gauges) and
 * the /healthz + /metrics server, with SIGTERM handled as DESIGN.md section 4 says.
 *
 * Ownership: borrows cfg for the duration of the call. */
#ifndef WK_RUN_H
#define WK_RUN_H

struct wk_config;

/* Returns the process exit status (0 after a clean shutdown). */
int wk_run_worker(struct wk_config *cfg);

/* "<hostname>-<pid>-<random hex>" into out. */
void wk_run_worker_id(char *out, unsigned long outlen);

#endif
