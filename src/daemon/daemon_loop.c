/*
 * daemon_loop.c - the daemon's loop thread, the engine's one writer: it
 * samples and optimizes on the config's intervals, runs the optimizations
 * operators ask for, writes new results to history.jsonl, and beats the
 * heartbeat that liveness (daemon_alive) reads.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon_internal.h"
#include "result_json.h"
#include "util.h"

#define HISTORY_ROTATE VGMO_MIB /* bytes per history file */
#define LOOP_STEP 0.2           /* seconds between loop passes */
#define HISTORY_BATCH 64

static uint64_t mono_ms(void)
{
	return (uint64_t)(vgmo__mono_now() * 1000.0);
}

/* ------------------------------------------------------------- history */

/* Writes results recorded since the last call to history.jsonl, a batch
 * at a time (one write, one fsync each); the loop is alive after each. */
static void flush_history(vgmo_daemon *d)
{
	vgmo_result buf[HISTORY_BATCH];
	json_t *lines[HISTORY_BATCH];
	uint64_t next;
	size_t n, k;
	char err[256];
	vgmo_err rc;

	while ((n = vgmo_engine_history_since(d->engine, d->history_seq, buf,
	                                      HISTORY_BATCH, &next)) > 0) {
		rc = VGMO_OK;
		for (k = 0; k < n; k++) {
			lines[k] = vgmo__result_to_json(&buf[k]);
			if (lines[k] == NULL) {
				rc = VGMO_ERR_NOMEM;
				snprintf(err, sizeof(err), "out of memory");
				break;
			}
		}
		if (rc == VGMO_OK)
			rc = vgmo__journal_append_lines(
			        d->state_dir, VGMO__HISTORY_FILE, lines, n,
			        HISTORY_ROTATE, err, sizeof(err));
		for (size_t i = 0; i < k; i++)
			json_decref(lines[i]);
		atomic_store(&d->heartbeat_ms, mono_ms());
		if (rc != VGMO_OK) {
			/* Keep serving; say it once until it mends. */
			if (!d->history_failing) {
				char q[300];

				vgmo_log_write(
				        d->log, VGMO_LOG_ERROR,
				        "cannot write history", "error=%s",
				        vgmo_log_quote(err, q, sizeof(q)));
			}
			d->history_failing = true;
			return;
		}
		if (d->history_failing)
			vgmo_log_write(d->log, VGMO_LOG_INFO,
			               "history writable again", NULL);
		d->history_failing = false;
		d->history_seq = next;
	}
}

/* Loop thread: runs the optimizations operators asked for since the last
 * pass, once for all of them. */
static void serve_optimize(vgmo_daemon *d)
{
	vgmo_result r;
	uint64_t upto;
	vgmo_err rc;

	pthread_mutex_lock(&d->wake_lock);
	upto = d->opt_asked;
	pthread_mutex_unlock(&d->wake_lock);
	if (upto == d->opt_done)
		return;
	memset(&r, 0, sizeof(r));
	rc = vgmo_engine_optimize(d->engine, true, &r);
	pthread_mutex_lock(&d->wake_lock);
	d->opt_result = r;
	d->opt_rc = rc;
	d->opt_done = upto;
	pthread_cond_broadcast(&d->opt_cond);
	pthread_mutex_unlock(&d->wake_lock);
}

/* ---------------------------------------------------------------- loop */

static void *loop_main(void *arg)
{
	vgmo_daemon *d = arg;
	double last = vgmo__mono_now();
	struct timespec until;

	for (;;) {
		double now = vgmo__mono_now();
		bool stop;

		vgmo_engine_step(d->engine, now - last);
		last = now;
		serve_optimize(d);
		flush_history(d);
		atomic_store(&d->heartbeat_ms, mono_ms());

		pthread_mutex_lock(&d->wake_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(LOOP_STEP * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!d->stop && d->opt_asked == d->opt_done)
			pthread_cond_timedwait(&d->wake, &d->wake_lock, &until);
		stop = d->stop;
		pthread_mutex_unlock(&d->wake_lock);
		if (stop)
			break;
	}
	flush_history(d);
	/* Whoever still waits for an optimization hears that it stopped. */
	pthread_mutex_lock(&d->wake_lock);
	pthread_cond_broadcast(&d->opt_cond);
	pthread_mutex_unlock(&d->wake_lock);
	return NULL;
}

vgmo_err daemon_start_loop(vgmo_daemon *d)
{
	atomic_store(&d->heartbeat_ms, mono_ms());
	if (pthread_create(&d->loop, NULL, loop_main, d) != 0)
		return VGMO_ERR_NOMEM;
	d->loop_started = true;
	return VGMO_OK;
}

bool daemon_alive(vgmo_daemon *d)
{
	vgmo_config c;
	double age;

	vgmo_engine_get_config(d->engine, &c);
	age = (double)(mono_ms() - atomic_load(&d->heartbeat_ms)) / 1000.0;
	/* A pass that waits out hung NVML calls is slow, not dead. */
	return d->loop_started &&
	       age < fmax(3 * c.monitoring_interval, 2.0) + d->backend_wait;
}
