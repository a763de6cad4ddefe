/*
 * daemon.c - the node daemon's context as the API sees it: its engine, its
 * client ids and lease, its log, and the view (snapshot, readiness) that
 * /v1/status and /metrics render. The rest of the daemon: daemon_loop.c
 * (loop thread, history, liveness), daemon_change.c (operators' changes),
 * daemon_auth.c (token and client secrets), daemon_setup.c (start, stop).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon_internal.h"

vgmo_engine *daemon_engine(vgmo_daemon *d)
{
	return d->engine;
}

int64_t daemon_client_id(vgmo_daemon *d, int worker)
{
	return d->id_base + worker;
}

int daemon_client_worker(vgmo_daemon *d, int64_t id)
{
	return id > d->id_base && id - d->id_base <= INT32_MAX
	               ? (int)(id - d->id_base)
	               : -1;
}

double daemon_lease(vgmo_daemon *d)
{
	return d->opts->lease_seconds > 0 ? d->opts->lease_seconds
	                                  : VGMO_DEFAULT_LEASE_SECONDS;
}

void daemon_log_info(vgmo_daemon *d, const char *msg, const char *fmt, ...)
{
	char pairs[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(pairs, sizeof(pairs), fmt, ap);
		va_end(ap);
	}
	vgmo_log_write(d->log, VGMO_LOG_INFO, msg, "%s", pairs);
}

double daemon_max_client_weight(vgmo_daemon *d)
{
	return d->max_client_weight;
}

vgmo_err daemon_view_take(vgmo_daemon *d, unsigned flags, daemon_view *out)
{
	const vgmo_config *c;
	const vgmo_gpu_sample *down = NULL;
	double newest = -1;
	vgmo_err rc;

	memset(out, 0, sizeof(*out));
	rc = vgmo_engine_snapshot_ex(d->engine, flags, &out->snap);
	if (rc != VGMO_OK)
		return rc;
	c = vgmo_snapshot_config(out->snap);
	out->monitoring = vgmo_engine_monitoring(d->engine);
	out->started_at = d->started_at;
	for (size_t i = 0; i < vgmo_snapshot_gpu_count(out->snap); i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(out->snap, i);

		if (g->up && g->sampled_at > newest)
			newest = g->sampled_at;
		else if (!g->up && g->sampled_at > 0 && down == NULL)
			down = g;
	}
	out->last_sample_age =
	        newest < 0 ? -1 : vgmo_snapshot_time(out->snap) - newest;
	if (!out->monitoring)
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "monitoring is stopped");
	else if (newest < 0 && down != NULL)
		/* Read, but down now: say why rather than "never read". */
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "no GPU is up (GPU %u: %.100s)", down->index,
		         down->down_reason[0] ? down->down_reason : "down");
	else if (newest < 0)
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "no GPU has been read successfully");
	else if (out->last_sample_age > 3 * c->monitoring_interval)
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "last sample is %.1f s old (limit %.1f s)",
		         out->last_sample_age, 3 * c->monitoring_interval);
	out->ready = out->not_ready_reason[0] == '\0';
	return VGMO_OK;
}

void daemon_view_release(daemon_view *v)
{
	vgmo_snapshot_free(v->snap);
	v->snap = NULL;
}
