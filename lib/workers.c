/*
 * workers.c - the workers that run models on the GPUs: their batch sizes,
 * their budgets, and what each batch report teaches the engine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"

vgmo__worker *vgmo__worker_get(const vgmo_engine *e, int id)
{
	if (id < 0 || (size_t)id >= e->nworkers)
		return NULL;
	return e->workers[id];
}

/* Initial batch size: the seed's 4, inside the configured bounds. */
static int initial_batch(const vgmo_config *c)
{
	int n = 4;

	if (n > c->max_batch_size)
		n = c->max_batch_size;
	if (n < c->min_batch_size)
		n = c->min_batch_size;
	return n;
}

vgmo_err vgmo_engine_worker_add(vgmo_engine *e, const char *name, unsigned gpu,
                                double weight, int *id_out)
{
	vgmo__worker **grown, *w;
	vgmo_err rc = VGMO_OK;

	if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(w->name))
		return VGMO_ERR_INVALID;
	if (!(weight > 0) || !isfinite(weight))
		weight = 1.0;
	pthread_mutex_lock(&e->lock);
	if (gpu >= e->ndev) {
		rc = VGMO_ERR_NOT_FOUND;
		goto out;
	}
	for (size_t i = 0; i < e->nworkers; i++) {
		w = e->workers[i];
		if (w && w->gpu == gpu && strcmp(w->name, name) == 0) {
			w->weight = weight;
			if (id_out)
				*id_out = w->id;
			goto out;
		}
	}
	w = calloc(1, sizeof(*w));
	grown = realloc(e->workers, (e->nworkers + 1) * sizeof(*grown));
	if (w == NULL || grown == NULL) {
		free(w);
		if (grown)
			e->workers = grown;
		rc = VGMO_ERR_NOMEM;
		goto out;
	}
	e->workers = grown;
	w->id = (int)e->nworkers;
	vgmo__strlcpy(w->name, name, sizeof(w->name));
	w->gpu = gpu;
	w->weight = weight;
	w->batch_size = initial_batch(&e->cfg);
	w->since_change = 0;
	vgmo__model_init(&w->model, e->prior_item);
	e->workers[e->nworkers++] = w;
	if (id_out)
		*id_out = w->id;
	vgmo__worker_update(e, w);
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_worker_remove(vgmo_engine *e, int id)
{
	vgmo_err rc = VGMO_OK;

	pthread_mutex_lock(&e->lock);
	if (id == VGMO_DEFAULT_WORKER) {
		rc = VGMO_ERR_INVALID;
	} else if (vgmo__worker_get(e, id) == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else {
		free(e->workers[id]);
		e->workers[id] = NULL;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

bool vgmo__worker_budgets(const vgmo_engine *e, const vgmo__worker *w,
                          double *critical, double *oom)
{
	const vgmo_gpu_sample *s = &e->samples[w->gpu];
	double total, used, held = 0, wsum = 0, unattributed, reserve, share;

	if (!e->sampled || !s->up || !(s->present & VGMO_HAS_MEMORY) ||
	    s->memory_total == 0)
		return false;
	total = (double)s->memory_total;
	used = (double)s->memory_used;
	if (s->present & VGMO_HAS_RESERVED)
		used += (double)s->memory_reserved;
	for (size_t i = 0; i < e->nworkers; i++) {
		const vgmo__worker *o = e->workers[i];

		if (o == NULL || o->gpu != w->gpu)
			continue;
		held += (double)o->last_reserved;
		wsum += o->weight;
	}
	/* What no worker accounts for (other processes, CUDA contexts) counts
	 * against every worker; the rest is split by weight. */
	unattributed = fmax(0.0, used - held);
	reserve = (double)e->cfg.memory_reserve_mb * (double)VGMO__MIB;
	share = wsum > 0 ? w->weight / wsum : 1.0;
	*critical =
	        fmax(0.0, share * (e->cfg.memory_threshold_critical * total -
	                           reserve - unattributed));
	*oom = fmax(0.0, share * (e->cfg.memory_threshold_oom * total -
	                          reserve - unattributed));
	return true;
}

bool vgmo__worker_update(vgmo_engine *e, vgmo__worker *w)
{
	vgmo__policy_in in = {
	        .cfg = &e->cfg,
	        .model = &w->model,
	        .throughput = &w->throughput,
	        .current = w->batch_size,
	};
	double crit, oom;
	int full, low, next;

	if (!vgmo__worker_budgets(e, w, &crit, &oom))
		return false;
	in.budget_critical = crit;
	in.budget_oom = oom;
	full = vgmo__policy_target(&in);
	in.budget_critical = crit * VGMO__GROW_BUDGET;
	in.budget_oom = oom * VGMO__GROW_BUDGET;
	low = vgmo__policy_target(&in);
	in.budget_critical = crit;
	in.budget_oom = oom;
	w->optimal = full;
	w->budget = crit;
	if (w->manual) {
		next = w->manual;
	} else if (!e->cfg.enabled) {
		return false;
	} else {
		next = vgmo__policy_settle(&in, full, low, w->since_change);
	}
	if (next == w->batch_size)
		return false;
	w->batch_size = next;
	w->since_change = 0;
	e->counters.batch_size_changes++;
	return true;
}

static void record_change(vgmo_engine *e, const vgmo__worker *w, int old,
                          const char *action, const char *reason)
{
	vgmo_result r = {0};

	r.success = true;
	snprintf(r.action_taken, sizeof(r.action_taken), "%s", action);
	r.memory_freed_mb = -1;
	r.new_batch_size = w->batch_size;
	r.old_batch_size = old;
	r.timestamp = vgmo__engine_wall(e);
	vgmo__strlcpy(r.worker, w->name, sizeof(r.worker));
	vgmo__strlcpy(r.reason, reason, sizeof(r.reason));
	vgmo__engine_record(e, &r);
}

vgmo_err vgmo_engine_report(vgmo_engine *e, int id, const vgmo_report *r,
                            vgmo_decision *out)
{
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;
	int old;
	char why[VGMO_REASON_MAX];

	if (r == NULL || r->items == 0)
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, id);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
		goto out;
	}
	old = w->batch_size;
	w->reports++;
	if (r->reserved_bytes)
		w->last_reserved = r->reserved_bytes;
	if (r->allocated_bytes)
		w->last_allocated = r->allocated_bytes;
	if (r->reserved_bytes && r->allocated_bytes &&
	    r->allocated_bytes <= r->reserved_bytes) {
		w->has_frag = true;
		w->frag = 1.0 - (double)r->allocated_bytes /
		                        (double)r->reserved_bytes;
	}
	if (r->oom) {
		int half = (int)(r->items / 2);

		w->ooms++;
		vgmo__model_oom(&w->model, r->items);
		w->cleanup_wanted = true;
		if (half < e->cfg.min_batch_size)
			half = e->cfg.min_batch_size;
		if (e->cfg.enabled && !w->manual && half < w->batch_size) {
			w->batch_size = half;
			w->since_change = 0;
			e->counters.batch_size_changes++;
			snprintf(why, sizeof(why),
			         "out of memory at %u items: halved", r->items);
			record_change(e, w, old, VGMO_ACTION_OOM_BACKOFF, why);
		}
	} else {
		vgmo__model_add(&w->model, r->items, (double)r->peak_bytes,
		                (double)r->allocated_bytes);
		vgmo__throughput_add(&w->throughput, r->items, r->seconds);
		w->since_change++;
		if (vgmo__worker_update(e, w)) {
			snprintf(why, sizeof(why),
			         "learned model: %d -> %d items", old,
			         w->batch_size);
			record_change(e, w, old, VGMO_ACTION_BATCH, why);
		}
	}
	if (out) {
		out->batch_size = w->batch_size;
		out->changed = w->batch_size != old;
		out->cleanup = w->cleanup_wanted;
	}
	w->cleanup_wanted = false;
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int vgmo_engine_batch_size(const vgmo_engine *e, int id)
{
	const vgmo__worker *w;
	int n;

	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
	w = vgmo__worker_get(e, id);
	n = w ? w->batch_size : -1;
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
	return n;
}

vgmo_err vgmo_engine_set_batch_size(vgmo_engine *e, int id, int size, char *err,
                                    size_t errlen)
{
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;
	int old;

	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, id);
	if (w == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
		                "no worker with id %d", id);
		goto out;
	}
	if (size != 0 &&
	    (size < e->cfg.min_batch_size || size > e->cfg.max_batch_size)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                "batch size %d is outside [%d, %d] "
		                "(min_batch_size, max_batch_size)",
		                size, e->cfg.min_batch_size,
		                e->cfg.max_batch_size);
		goto out;
	}
	old = w->batch_size;
	w->manual = size;
	if (size) {
		w->batch_size = size;
		w->since_change = 0;
	} else {
		vgmo__worker_update(e, w);
	}
	if (w->batch_size != old) {
		e->counters.batch_size_changes++;
		record_change(e, w, old, VGMO_ACTION_MANUAL,
		              size ? "set by an operator"
		                   : "override cleared by an operator");
	}
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}
