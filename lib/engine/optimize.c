/*
 * optimize.c - the seed's optimize_memory(): classify, act by status,
 * measure, record. And cleanup, which measures what it actually freed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"

static vgmo_status overall_status(const vgmo_engine *e)
{
	vgmo_status worst = VGMO_STATUS_HEALTHY;

	for (unsigned i = 0; i < e->ndev; i++)
		if (e->samples[i].up && e->status[i] > worst)
			worst = e->status[i];
	return worst;
}

/* Sum of used bytes (with driver-reserved memory) and the reserved-weighted
 * fragmentation over the devices that are up. */
static void measure(const vgmo_engine *e, double *used, double *frag)
{
	double u = 0, fw = 0, fs = 0;

	for (unsigned i = 0; i < e->ndev; i++) {
		const vgmo_gpu_sample *s = &e->samples[i];

		if (!s->up || !(s->present & VGMO_HAS_MEMORY))
			continue;
		u += (double)s->memory_used;
		if (s->present & VGMO_HAS_FRAGMENTATION) {
			fs += s->fragmentation * (double)s->memory_used;
			fw += (double)s->memory_used;
		}
	}
	*used = u;
	*frag = fw > 0 ? fs / fw : -1;
}

/* Lock held: whether emptying caches on device `dev` frees memory that
 * someone needs. A worker within its room keeps its cache: emptying it
 * would hand the memory to other processes and leave none for its next
 * batch. So a device is cleaned when a worker there holds more than its
 * room (another worker's share), when its allocators' real fragmentation
 * passes the threshold, or when no worker runs there. */
static bool worth_cleaning(const vgmo_engine *e, unsigned dev)
{
	const vgmo_gpu_sample *s = &e->samples[dev];
	bool any = false;

	if ((s->present & VGMO_HAS_FRAGMENTATION) &&
	    s->fragmentation > e->cfg.fragmentation_threshold)
		return true;
	for (size_t i = 0; i < e->nworkers; i++) {
		const vgmo__worker *w = e->workers[i];

		if (w == NULL || w->gpu != dev || !w->reports)
			continue;
		any = true;
		if (w->has_budget && (double)w->last_reserved > w->budget_oom)
			return true;
	}
	return !any;
}

bool vgmo__cleanup_worthwhile(const vgmo_engine *e)
{
	for (unsigned i = 0; i < e->ndev; i++)
		if (e->samples[i].up && worth_cleaning(e, i))
			return true;
	return false;
}

vgmo_err vgmo_engine_cleanup(vgmo_engine *e, vgmo_result *out)
{
	return vgmo__engine_cleanup(e, true, out);
}

vgmo_err vgmo__engine_cleanup(vgmo_engine *e, bool forced, vgmo_result *out)
{
	bool *devs = calloc(e->ndev ? e->ndev : 1, sizeof(*devs));
	vgmo_result r = {0};
	vgmo__cleanup_hook *hooks = NULL;
	size_t nhooks;
	double before, after, frag_before, frag_after, freed;
	vgmo_err rc = VGMO_OK;

	vgmo_engine_sample(e);
	pthread_mutex_lock(&e->lock);
	measure(e, &before, &frag_before);
	nhooks = e->nhooks;
	if (nhooks) {
		hooks = malloc(nhooks * sizeof(*hooks));
		if (hooks)
			memcpy(hooks, e->hooks, nhooks * sizeof(*hooks));
		else
			nhooks = 0;
	}
	/* Remote workers hear it in their next report, where it helps. */
	for (unsigned d = 0; d < e->ndev; d++)
		devs[d] = devs != NULL && (forced || worth_cleaning(e, d));
	for (size_t i = 0; i < e->nworkers; i++) {
		vgmo__worker *w = e->workers[i];

		if (w && devs && devs[w->gpu])
			w->cleanup_wanted = true;
	}
	pthread_mutex_unlock(&e->lock);

	for (size_t i = 0; i < nhooks; i++)
		hooks[i].fn(hooks[i].ctx);
	free(hooks);
	if (e->ops->cleanup)
		for (unsigned i = 0; i < e->ndev; i++)
			if (devs && devs[i])
				e->ops->cleanup(e->bctx, i);
	free(devs);
	vgmo_engine_sample(e);

	pthread_mutex_lock(&e->lock);
	measure(e, &after, &frag_after);
	freed = fmax(0.0, before - after);
	r.success = true;
	snprintf(r.action_taken, sizeof(r.action_taken), "%s",
	         VGMO_ACTION_MEMORY_CLEANUP);
	r.memory_freed_mb = freed / (double)VGMO__MIB;
	r.gc_performed = true;
	r.fragmentation_reduced =
	        frag_before >= 0 && frag_after >= 0 && frag_after < frag_before;
	r.timestamp = vgmo__engine_wall(e);
	snprintf(r.reason, sizeof(r.reason),
	         "cleanup: %.0f MiB freed (measured on the devices)",
	         r.memory_freed_mb);
	e->counters.cleanups++;
	e->counters.freed_bytes += (uint64_t)freed;
	e->last_cleanup = vgmo__engine_now(e);
	vgmo__engine_record(e, &r);
	pthread_mutex_unlock(&e->lock);
	if (out)
		*out = r;
	return rc;
}

/* Lock held: re-plans every worker; returns how many batch sizes moved and
 * remembers the first one in *r. */
static int replan(vgmo_engine *e, vgmo_result *r)
{
	int moved = 0;

	for (size_t i = 0; i < e->nworkers; i++) {
		vgmo__worker *w = e->workers[i];
		int old;

		if (w == NULL)
			continue;
		old = w->batch_size;
		/* An optimization pass is a considered decision: it may
		 * grow without waiting for more reports, unless the worker
		 * had to shrink lately (then it waits out the cool-down). */
		if (!w->shrank && w->since_change < VGMO__GROW_COOLDOWN)
			w->since_change = VGMO__GROW_COOLDOWN;
		if (!vgmo__worker_update(e, w))
			continue;
		if (moved++ == 0) {
			r->old_batch_size = old;
			r->new_batch_size = w->batch_size;
			vgmo__strlcpy(r->worker, w->name, sizeof(r->worker));
		}
	}
	return moved;
}

vgmo_err vgmo_engine_optimize(vgmo_engine *e, bool force, vgmo_result *out)
{
	vgmo_result r = {0};
	double now = vgmo__engine_now(e);
	vgmo_status st;
	bool clean = false;
	int moved;

	r.memory_freed_mb = -1;
	pthread_mutex_lock(&e->lock);
	r.timestamp = vgmo__engine_wall(e);
	if (!e->cfg.enabled) {
		r.success = true;
		snprintf(r.action_taken, sizeof(r.action_taken), "%s",
		         VGMO_ACTION_DISABLED);
		goto out_unlock;
	}
	if (!force && !e->worsened && e->last_optimize >= 0 &&
	    now - e->last_optimize < e->cfg.optimization_interval) {
		r.success = true;
		snprintf(r.action_taken, sizeof(r.action_taken), "%s",
		         VGMO_ACTION_INTERVAL);
		goto out_unlock;
	}
	e->last_optimize = now;
	e->worsened = false;
	e->counters.optimizations++;
	st = overall_status(e);
	if (!e->sampled || st == VGMO_STATUS_HEALTHY) {
		bool any_up = false;

		for (unsigned i = 0; i < e->ndev; i++)
			any_up |= e->samples[i].up;
		if (!any_up) {
			r.success = false;
			snprintf(r.action_taken, sizeof(r.action_taken), "%s",
			         VGMO_ACTION_NONE);
			snprintf(r.error_message, sizeof(r.error_message),
			         "no GPU could be read");
			e->counters.optimization_failures++;
			vgmo__engine_record(e, &r);
			goto out_unlock;
		}
	}
	moved = replan(e, &r);
	switch (st) {
	case VGMO_STATUS_OOM:
		snprintf(r.action_taken, sizeof(r.action_taken), "%s",
		         VGMO_ACTION_MEMORY_CLEANUP);
		clean = true;
		break;
	case VGMO_STATUS_CRITICAL:
		snprintf(r.action_taken, sizeof(r.action_taken), "%s",
		         VGMO_ACTION_CRITICAL);
		clean = true;
		break;
	case VGMO_STATUS_WARNING:
		snprintf(r.action_taken, sizeof(r.action_taken), "%s",
		         VGMO_ACTION_BATCH);
		break;
	case VGMO_STATUS_HEALTHY:
	default:
		snprintf(r.action_taken, sizeof(r.action_taken), "%s",
		         moved ? VGMO_ACTION_BATCH : VGMO_ACTION_NONE);
		break;
	}
	if (moved == 0)
		snprintf(r.reason, sizeof(r.reason),
		         "memory status %s; no batch size changed",
		         vgmo_status_name(st));
	else
		snprintf(r.reason, sizeof(r.reason),
		         "memory status %s; %d batch size%s changed",
		         vgmo_status_name(st), moved, moved == 1 ? "" : "s");
	r.success = true;
	pthread_mutex_unlock(&e->lock);

	if (clean) {
		vgmo_result c;

		vgmo__engine_cleanup(e, false, &c);
		r.memory_freed_mb = c.memory_freed_mb;
		r.gc_performed = true;
		r.fragmentation_reduced = c.fragmentation_reduced;
	}
	pthread_mutex_lock(&e->lock);
	e->counters.optimizations_success++;
	vgmo__engine_record(e, &r);
out_unlock:
	pthread_mutex_unlock(&e->lock);
	if (out)
		*out = r;
	return VGMO_OK;
}
