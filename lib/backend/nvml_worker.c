/*
 * nvml_worker.c - one thread, one job at a time, a caller with a deadline.
 */
#include "nvml_worker.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Enough for the driver's call chains, without 8 MiB per GPU. */
#define WORKER_STACK ((size_t)VGMO_MIB)

static void *worker_main(void *p)
{
	vgmo__nvml_worker *w = p;
	vgmo__nvml_orphan_fn on_orphan_exit;
	void *owner;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		vgmo__nvml_job_fn job;
		void *arg;

		while (!w->pending && !w->quit)
			pthread_cond_wait(&w->wake, &w->mu);
		if (!w->pending)
			break; /* quit while idle */
		w->pending = false;
		job = w->job;
		arg = w->arg;
		pthread_mutex_unlock(&w->mu);
		job(arg);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		pthread_cond_signal(&w->done);
		if (w->orphaned)
			goto orphan_exit;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;

orphan_exit:
	/* The owner is gone; after the unlock `w` may be freed at any time
	 * by on_orphan_exit, so copy what is needed first. */
	on_orphan_exit = w->on_orphan_exit;
	owner = w->owner;
	pthread_mutex_unlock(&w->mu);
	on_orphan_exit(owner);
	return NULL;
}

vgmo_err vgmo__nvml_worker_start(vgmo__nvml_worker *w,
                                 vgmo__nvml_orphan_fn on_orphan_exit,
                                 void *owner)
{
	pthread_condattr_t ca;
	pthread_attr_t ta;
	vgmo_err rc = VGMO_ERR_NOMEM;

	memset(w, 0, sizeof(*w));
	w->on_orphan_exit = on_orphan_exit;
	w->owner = owner;
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		return VGMO_ERR_NOMEM;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_mutex;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&w->done, &ca) != 0)
		goto fail_condattr;
	if (pthread_cond_init(&w->wake, NULL) != 0)
		goto fail_done;
	if (pthread_attr_init(&ta) != 0)
		goto fail_wake;
	pthread_attr_setstacksize(&ta, WORKER_STACK);
	if (pthread_create(&w->thread, &ta, worker_main, w) != 0) {
		rc = VGMO_ERR_BACKEND;
		goto fail_attr;
	}
	w->started = true;
	pthread_attr_destroy(&ta);
	pthread_condattr_destroy(&ca);
	return VGMO_OK;

fail_attr:
	pthread_attr_destroy(&ta);
fail_wake:
	pthread_cond_destroy(&w->wake);
fail_done:
	pthread_cond_destroy(&w->done);
fail_condattr:
	pthread_condattr_destroy(&ca);
fail_mutex:
	pthread_mutex_destroy(&w->mu);
	return rc;
}

bool vgmo__nvml_worker_busy(vgmo__nvml_worker *w)
{
	bool busy;

	pthread_mutex_lock(&w->mu);
	busy = w->busy;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

static struct timespec deadline_after(double seconds)
{
	struct timespec ts;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (seconds < 0)
		seconds = 0;
	if (seconds > 86400.0)
		seconds = 86400.0;
	ns = (long long)(seconds * 1e9) + ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	return ts;
}

vgmo_err vgmo__nvml_worker_run(vgmo__nvml_worker *w, vgmo__nvml_job_fn job,
                               void *arg, double timeout)
{
	struct timespec until = deadline_after(timeout);
	vgmo_err rc = VGMO_OK;

	pthread_mutex_lock(&w->mu);
	if (w->busy) {
		pthread_mutex_unlock(&w->mu);
		return VGMO_ERR_STATE;
	}
	w->job = job;
	w->arg = arg;
	w->pending = true;
	w->busy = true;
	pthread_cond_signal(&w->wake);
	while (w->busy) {
		int e = pthread_cond_timedwait(&w->done, &w->mu, &until);

		if (e == ETIMEDOUT && w->busy) {
			rc = VGMO_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

bool vgmo__nvml_worker_stop(vgmo__nvml_worker *w)
{
	if (!w->started)
		return false;
	pthread_mutex_lock(&w->mu);
	if (w->busy) {
		/* Detach under the lock: once it is released the worker may
		 * finish and run on_orphan_exit, which can free `w`. */
		w->orphaned = true;
		w->started = false;
		pthread_detach(w->thread);
		pthread_mutex_unlock(&w->mu);
		return true;
	}
	w->quit = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->started = false;
	return false;
}

void vgmo__nvml_worker_destroy(vgmo__nvml_worker *w)
{
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
}
