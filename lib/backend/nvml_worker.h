/*
 * nvml_worker.h - a thread that runs one blocking job at a time for a
 * caller who waits no longer than a deadline (internal).
 *
 * The NVML backend gives each GPU one worker, so that a driver call that
 * hangs blocks only that worker: the sampler reports the GPU as hung and
 * goes on, and issues nothing more to it until the stuck call returns.
 */
#ifndef VGMO_LIB_NVML_WORKER_H
#define VGMO_LIB_NVML_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "vgmo/vgmo.h"

typedef void (*vgmo__nvml_job_fn)(void *arg);
typedef void (*vgmo__nvml_orphan_fn)(void *owner);

typedef struct vgmo__nvml_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* caller -> worker: a job or quit */
	pthread_cond_t done; /* worker -> caller: the job finished */
	bool started;
	bool pending;  /* a job waits to be picked up */
	bool busy;     /* a job was handed over and has not finished */
	bool quit;     /* leave the loop when idle */
	bool orphaned; /* the owner stopped while a job was stuck */
	vgmo__nvml_job_fn job;
	void *arg;
	vgmo__nvml_orphan_fn on_orphan_exit;
	void *owner;
} vgmo__nvml_worker;

/* Starts the thread. `on_orphan_exit(owner)` runs on the worker thread
 * when a job that was stuck at vgmo__nvml_worker_stop finally ends (the
 * owner then releases what it kept alive for it). */
vgmo_err vgmo__nvml_worker_start(vgmo__nvml_worker *w,
                                 vgmo__nvml_orphan_fn on_orphan_exit,
                                 void *owner);

/* True while a job is still running (a timed-out one that has not ended). */
bool vgmo__nvml_worker_busy(vgmo__nvml_worker *w);

/* Runs job(arg) on the worker and waits at most `timeout` seconds of real
 * monotonic time. VGMO_OK: it finished, and everything it wrote is visible.
 * VGMO_ERR_TIMEOUT: it is still running; `arg` must stay valid until it
 * ends and the caller must not touch what it writes. VGMO_ERR_STATE: an
 * earlier job is still running, nothing was started. */
vgmo_err vgmo__nvml_worker_run(vgmo__nvml_worker *w, vgmo__nvml_job_fn job,
                               void *arg, double timeout);

/* Stops the worker. Idle: joins it and returns false. A job is stuck:
 * detaches the thread, which calls on_orphan_exit when the job ends, and
 * returns true. Either way the caller may then call
 * vgmo__nvml_worker_destroy only when the thread is gone (joined, or after
 * on_orphan_exit). */
bool vgmo__nvml_worker_stop(vgmo__nvml_worker *w);

/* Releases the mutex and condition variables. */
void vgmo__nvml_worker_destroy(vgmo__nvml_worker *w);

#endif
