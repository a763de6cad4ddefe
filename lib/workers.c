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

static bool valid_unit(const char *u)
{
	return strcmp(u, "items") == 0 || strcmp(u, "images") == 0 ||
	       strcmp(u, "tokens") == 0;
}

vgmo_err vgmo_engine_worker_register(vgmo_engine *e, const vgmo_worker_spec *sp,
                                     int *id_out, bool *existed)
{
	const char *unit = sp->unit ? sp->unit : "items";
	double weight = sp->weight;
	vgmo__worker **grown, *w;
	vgmo_err rc = VGMO_OK;

	if (existed)
		*existed = false;
	if (sp->name == NULL || sp->name[0] == '\0' ||
	    strlen(sp->name) >= sizeof(w->name) || !valid_unit(unit))
		return VGMO_ERR_INVALID;
	if (weight == 0)
		weight = 1.0;
	if (!(weight > 0) || !isfinite(weight) || weight > 1e6)
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	if (sp->gpu >= e->ndev) {
		rc = VGMO_ERR_NOT_FOUND;
		goto out;
	}
	for (size_t i = 0; i < e->nworkers; i++) {
		w = e->workers[i];
		if (w && w->gpu == sp->gpu && strcmp(w->name, sp->name) == 0) {
			w->weight = weight;
			w->last_seen = vgmo__engine_now(e);
			w->unhealthy = false;
			if (id_out)
				*id_out = w->id;
			if (existed)
				*existed = true;
			vgmo__device_budgets(e, w->gpu);
			goto out;
		}
	}
	w = calloc(1, sizeof(*w));
	grown = realloc(e->workers, (e->nworkers + 1) * sizeof(*grown));
	if (grown)
		e->workers = grown;
	if (w == NULL || grown == NULL) {
		free(w);
		rc = VGMO_ERR_NOMEM;
		goto out;
	}
	w->id = (int)e->nworkers;
	vgmo__strlcpy(w->name, sp->name, sizeof(w->name));
	vgmo__strlcpy(w->unit, unit, sizeof(w->unit));
	w->gpu = sp->gpu;
	w->weight = weight;
	w->leased = sp->leased;
	w->last_seen = w->first_seen = vgmo__engine_now(e);
	w->share = -1;
	w->batch_size = initial_batch(&e->cfg);
	vgmo__model_init(&w->model, sp->prior_per_item > 0 ? sp->prior_per_item
	                                                   : e->prior_item);
	if (sp->prior_fixed)
		vgmo__model_set_prior_fixed(&w->model, (double)sp->prior_fixed);
	e->workers[e->nworkers++] = w;
	if (id_out)
		*id_out = w->id;
	/* A newcomer shrinks the others' shares: they hear it in their
	 * next report. */
	vgmo__device_budgets(e, w->gpu);
	vgmo__worker_update(e, w);
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_worker_add(vgmo_engine *e, const char *name, unsigned gpu,
                                double weight, int *id_out)
{
	vgmo_worker_spec sp = {
	        .name = name,
	        .gpu = gpu,
	        .weight = weight > 0 && isfinite(weight) ? weight : 1.0,
	};

	return vgmo_engine_worker_register(e, &sp, id_out, NULL);
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
		unsigned dev = e->workers[id]->gpu;

		free(e->workers[id]);
		e->workers[id] = NULL;
		vgmo__device_budgets(e, dev);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

bool vgmo__worker_budgets(const vgmo_engine *e, const vgmo__worker *w,
                          double *critical, double *oom)
{
	(void)e;
	if (!w->has_budget)
		return false;
	*critical = w->budget;
	*oom = w->budget_oom;
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
	w->last_seen = vgmo__engine_now(e);
	w->unhealthy = false;
	if (r->freed_bytes) {
		vgmo_result fr = {0};

		/* What the worker released in the cleanup it was asked for. */
		e->counters.freed_bytes += r->freed_bytes;
		fr.success = true;
		snprintf(fr.action_taken, sizeof(fr.action_taken), "%s",
		         VGMO_ACTION_MEMORY_CLEANUP);
		fr.memory_freed_mb = (double)r->freed_bytes / (double)VGMO__MIB;
		fr.gc_performed = true;
		fr.timestamp = vgmo__engine_wall(e);
		vgmo__strlcpy(fr.worker, w->name, sizeof(fr.worker));
		snprintf(fr.reason, sizeof(fr.reason),
		         "worker cleanup: %.0f MiB freed (reported)",
		         fr.memory_freed_mb);
		vgmo__engine_record(e, &fr);
	}
	if (r->reserved_bytes) {
		double was = (double)w->last_reserved;

		w->last_reserved = r->reserved_bytes;
		/* The device was sampled with this worker's cache in it: when
		 * what it holds moved, what is "unattributed" moved too. */
		if (fabs((double)r->reserved_bytes - was) > 0.02 * was)
			vgmo__device_budgets(e, w->gpu);
	}
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
		/* Its demand fell: the others may grow into what it leaves. */
		vgmo__device_budgets(e, w->gpu);
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
