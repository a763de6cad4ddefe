/*
 * engine.c - opening the engine, choosing its backend and clock, sampling
 * every device, and the background loop step (tick). vgmo_engine_create,
 * which also starts the simulated workload, is lib/sim/create.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"

/* The most virtual time one vgmo_engine_step advances. */
#define STEP_MAX_SECONDS 1.0
#define DEFAULT_HISTORY 1000
#define DEFAULT_PRIOR_ITEM ((double)VGMO__GIB)

void vgmo_engine_options_init(vgmo_engine_options *o)
{
	memset(o, 0, sizeof(*o));
	o->backend = "auto";
	o->sim.preset = "h100-80gb";
	o->sim.gpus = 1;
	o->sim.seed = 1;
	o->sim.workload = "vlm";
	o->history_capacity = DEFAULT_HISTORY;
}

static double virtual_mono(void *ctx)
{
	return ((const vgmo_engine *)ctx)->vmono;
}

static double virtual_wall(void *ctx)
{
	const vgmo_engine *e = ctx;

	return e->vwall0 + e->vmono;
}

double vgmo__engine_now(const vgmo_engine *e)
{
	return e->clock.mono ? e->clock.mono(e->clock.ctx) : vgmo__mono_now();
}

double vgmo__engine_wall(const vgmo_engine *e)
{
	return e->clock.wall ? e->clock.wall(e->clock.ctx) : vgmo__wall_now();
}

const char *vgmo_engine_backend(const vgmo_engine *e)
{
	return e->ops->name;
}

const char *vgmo_engine_notice(const vgmo_engine *e)
{
	return e->notice;
}

/* Opens the named backend; "auto" tries NVML and falls back to the
 * simulated GPU with a one-line notice saying why (backend.c). */
static vgmo_err open_backend(vgmo_engine *e, const vgmo_engine_options *opts,
                             char *err, size_t errlen)
{
	const char *name = opts->backend ? opts->backend : "auto";
	vgmo_engine_options o = *opts;
	vgmo_err rc;

	if (o.call_timeout <= 0)
		o.call_timeout = e->cfg.monitoring_interval;
	if (strcmp(name, "auto") == 0) {
		o.clock = opts->clock;
		e->ops = vgmo__backend_auto(&o, &e->bctx, e->notice,
		                            sizeof(e->notice));
		if (e->bctx)
			return VGMO_OK;
	} else {
		e->ops = vgmo__backend_find(name);
	}
	if (e->ops == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "unknown backend \"%s\" (known: auto, nvml, "
		                  "sim)",
		                  name);
	if ((e->ops->caps & VGMO__BACKEND_VIRTUAL_CLOCK) &&
	    opts->clock == NULL) {
		/* The simulated GPU runs on a virtual clock that its driver
		 * advances, so it can run faster than real time. */
		e->virtual_clock = true;
		e->vwall0 = vgmo__wall_now();
		e->clock.mono = virtual_mono;
		e->clock.wall = virtual_wall;
		e->clock.ctx = e;
	}
	o.clock = &e->clock;
	rc = e->ops->open(&e->bctx, &o, err, errlen);
	if (rc != VGMO_OK)
		e->bctx = NULL;
	return rc;
}

vgmo_err vgmo__engine_open(vgmo_engine **out, const vgmo_config *cfg,
                           const vgmo_engine_options *opts, char *err,
                           size_t errlen)
{
	vgmo_engine_options defaults;
	vgmo_engine *e;
	vgmo_err rc;
	int id;

	*out = NULL;
	if (opts == NULL) {
		vgmo_engine_options_init(&defaults);
		opts = &defaults;
	}
	rc = vgmo_config_validate(cfg, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&e->lock, NULL) != 0) {
		free(e);
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                  "cannot create a mutex");
	}
	e->cfg = *cfg;
	e->monitoring = true;
	e->last_sample = e->last_optimize = e->last_cleanup = -1;
	e->prior_item = opts->prior_item_bytes ? (double)opts->prior_item_bytes
	                                       : DEFAULT_PRIOR_ITEM;
	e->lease = opts->lease_seconds > 0 ? opts->lease_seconds
	                                   : VGMO_DEFAULT_LEASE_SECONDS;
	if (opts->clock)
		e->clock = *opts->clock;
	rc = vgmo__history_init(&e->history, opts->history_capacity
	                                             ? opts->history_capacity
	                                             : DEFAULT_HISTORY);
	if (rc != VGMO_OK) {
		vgmo__errf(err, errlen, rc, "out of memory");
		goto fail;
	}
	rc = open_backend(e, opts, err, errlen);
	if (rc != VGMO_OK)
		goto fail;
	e->ndev = e->ops->device_count(e->bctx);
	if (e->ndev == 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NO_DEVICE,
		                "backend %s reports no GPU", e->ops->name);
		goto fail;
	}
	e->samples = calloc(e->ndev, sizeof(*e->samples));
	e->status = calloc(e->ndev, sizeof(*e->status));
	e->leases_expired = calloc(e->ndev, sizeof(*e->leases_expired));
	e->unattributed = calloc(e->ndev, sizeof(*e->unattributed));
	e->others = calloc(e->ndev, sizeof(*e->others));
	if (!e->samples || !e->status || !e->leases_expired ||
	    !e->unattributed || !e->others) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
		goto fail;
	}
	rc = vgmo_engine_worker_add(e, "default", 0, 1.0, &id);
	if (rc != VGMO_OK) {
		vgmo__errf(err, errlen, rc, "cannot add the default worker");
		goto fail;
	}
	*out = e;
	return VGMO_OK;
fail:
	vgmo_engine_destroy(e);
	return rc;
}

void vgmo__engine_start(vgmo_engine *e)
{
	vgmo_engine_sample(e);
	/* The cleanup interval counts from the start. */
	e->last_cleanup = vgmo__engine_now(e);
}

void vgmo__engine_set_driver(vgmo_engine *e, const vgmo__driver *d)
{
	e->driver = *d;
}

void *vgmo__engine_driver(const vgmo_engine *e,
                          vgmo_err (*run)(void *ctx, double seconds))
{
	return e->driver.run == run ? e->driver.ctx : NULL;
}

void *vgmo__engine_backend(const vgmo_engine *e, const vgmo__backend_ops **ops)
{
	*ops = e->ops;
	return e->bctx;
}

void vgmo__engine_backend_cleanup(vgmo_engine *e, unsigned dev)
{
	if (e->ops->cleanup)
		e->ops->cleanup(e->bctx, dev);
}

bool vgmo__engine_virtual(const vgmo_engine *e)
{
	return e->virtual_clock;
}

void vgmo__engine_advance(vgmo_engine *e, double t)
{
	if (t > e->vmono)
		e->vmono = t;
}

double vgmo__engine_last_sample(const vgmo_engine *e)
{
	return e->last_sample;
}

void vgmo__engine_worker_simulated(vgmo_engine *e, int id)
{
	vgmo__worker *w;

	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, id);
	if (w)
		w->simulated = true;
	pthread_mutex_unlock(&e->lock);
}

void vgmo_engine_destroy(vgmo_engine *e)
{
	if (e == NULL)
		return;
	if (e->driver.free)
		e->driver.free(e->driver.ctx);
	if (e->ops && e->bctx)
		e->ops->close(e->bctx);
	for (size_t i = 0; i < e->nworkers; i++)
		free(e->workers[i]);
	free(e->workers);
	free(e->hooks);
	free(e->samples);
	free(e->status);
	free(e->leases_expired);
	free(e->unattributed);
	free(e->others);
	vgmo__history_free(&e->history);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

vgmo_err vgmo_engine_sample(vgmo_engine *e)
{
	vgmo_gpu_sample *fresh;
	unsigned ok = 0;
	double now = vgmo__engine_now(e);

	/* Read every device without the lock: a slow or hung driver call
	 * must not block readers. Only the one writer thread gets here. */
	fresh = calloc(e->ndev, sizeof(*fresh));
	if (fresh == NULL)
		return VGMO_ERR_NOMEM;
	for (unsigned i = 0; i < e->ndev; i++) {
		vgmo_err rc = e->ops->sample(e->bctx, i, &fresh[i]);

		fresh[i].index = i;
		if (rc != VGMO_OK && fresh[i].up) {
			fresh[i].up = false;
			snprintf(fresh[i].down_reason,
			         sizeof(fresh[i].down_reason), "%s",
			         e->ops->last_error(e->bctx)[0]
			                 ? e->ops->last_error(e->bctx)
			                 : vgmo_strerror(rc));
		}
		if (fresh[i].up)
			ok++;
	}
	pthread_mutex_lock(&e->lock);
	for (unsigned i = 0; i < e->ndev; i++) {
		bool was_up = e->samples[i].up;

		e->samples[i] = fresh[i];
		fresh[i].up = was_up; /* kept for the comparison below */
	}
	e->sampled = true;
	/* What the workers report: fragmentation, client memory, budgets. */
	vgmo__workers_fold(e);
	for (unsigned i = 0; i < e->ndev; i++) {
		double u = vgmo_sample_usage(&e->samples[i]);
		vgmo_status st =
		        u < 0 ? VGMO_STATUS_HEALTHY : vgmo_classify(&e->cfg, u);

		/* A device whose status got worse than at the last sample
		 * is optimized at once, not at the next interval. */
		if (e->samples[i].up && (st > e->status[i] || !fresh[i].up) &&
		    st > VGMO_STATUS_HEALTHY && e->counters.samples > 0)
			e->worsened = true;
		e->status[i] = st;
	}
	e->sampled = true;
	e->last_sample = now;
	e->counters.samples++;
	pthread_mutex_unlock(&e->lock);
	free(fresh);
	return ok ? VGMO_OK : VGMO_ERR_BACKEND;
}

vgmo_err vgmo_engine_step(vgmo_engine *e, double elapsed)
{
	vgmo_err rc;

	if (e == NULL || !(elapsed >= 0))
		return VGMO_ERR_INVALID;
	rc = e->driver.run ? e->driver.run(e->driver.ctx,
	                                   fmin(elapsed, STEP_MAX_SECONDS))
	                   : VGMO_ERR_STATE;
	return rc == VGMO_ERR_STATE ? vgmo_engine_tick(e) : rc;
}

vgmo_err vgmo_engine_tick(vgmo_engine *e)
{
	double now = vgmo__engine_now(e);
	vgmo_config c;
	bool opt_due, clean_due = false;
	vgmo_err rc = VGMO_OK;

	pthread_mutex_lock(&e->lock);
	c = e->cfg;
	/* Leases run out whether or not the GPUs are watched. */
	vgmo__workers_expire(e, now);
	if (!e->monitoring) {
		pthread_mutex_unlock(&e->lock);
		return VGMO_OK;
	}
	pthread_mutex_unlock(&e->lock);
	if (e->last_sample < 0 || now - e->last_sample >= c.monitoring_interval)
		rc = vgmo_engine_sample(e);

	pthread_mutex_lock(&e->lock);
	opt_due = c.enabled &&
	          (e->worsened || e->last_optimize < 0 ||
	           now - e->last_optimize >= c.optimization_interval);
	if (c.enabled && now - e->last_cleanup >= c.cleanup_interval) {
		for (unsigned i = 0; i < e->ndev; i++) {
			const vgmo_gpu_sample *s = &e->samples[i];
			double u = vgmo_sample_usage(s);

			if (u > c.gc_threshold ||
			    ((s->present & VGMO_HAS_FRAGMENTATION) &&
			     s->fragmentation > c.fragmentation_threshold &&
			     u > c.memory_threshold_warning))
				clean_due = true;
		}
	}
	clean_due = clean_due && vgmo__cleanup_worthwhile(e);
	pthread_mutex_unlock(&e->lock);
	if (opt_due)
		vgmo_engine_optimize(e, true, NULL);
	if (clean_due)
		vgmo__engine_cleanup(e, false, NULL);
	return rc;
}

void vgmo_engine_set_max_clients(vgmo_engine *e, size_t max)
{
	pthread_mutex_lock(&e->lock);
	e->max_leased = max;
	pthread_mutex_unlock(&e->lock);
}

vgmo_err vgmo_engine_get_config(const vgmo_engine *e, vgmo_config *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
	*out = e->cfg;
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
	return VGMO_OK;
}

vgmo_err vgmo_engine_set_config(vgmo_engine *e, const vgmo_config *cfg,
                                char *err, size_t errlen)
{
	vgmo_err rc = vgmo_config_validate(cfg, err, errlen);

	if (rc != VGMO_OK)
		return rc;
	pthread_mutex_lock(&e->lock);
	e->cfg = *cfg;
	/* Keep every batch size inside the new bounds. */
	for (size_t i = 0; i < e->nworkers; i++) {
		vgmo__worker *w = e->workers[i];

		if (w == NULL)
			continue;
		if (w->manual && (w->manual < cfg->min_batch_size ||
		                  w->manual > cfg->max_batch_size))
			w->manual = 0;
		vgmo__worker_update(e, w);
	}
	pthread_mutex_unlock(&e->lock);
	return VGMO_OK;
}

void vgmo_engine_set_enabled(vgmo_engine *e, bool enabled)
{
	pthread_mutex_lock(&e->lock);
	e->cfg.enabled = enabled;
	pthread_mutex_unlock(&e->lock);
}

vgmo_err vgmo_engine_add_cleanup(vgmo_engine *e, vgmo_cleanup_fn fn, void *ctx)
{
	vgmo__cleanup_hook *h;

	if (fn == NULL)
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	h = realloc(e->hooks, (e->nhooks + 1) * sizeof(*h));
	if (h == NULL) {
		pthread_mutex_unlock(&e->lock);
		return VGMO_ERR_NOMEM;
	}
	e->hooks = h;
	e->hooks[e->nhooks].fn = fn;
	e->hooks[e->nhooks].ctx = ctx;
	e->nhooks++;
	pthread_mutex_unlock(&e->lock);
	return VGMO_OK;
}

void vgmo_engine_set_monitoring(vgmo_engine *e, bool on)
{
	pthread_mutex_lock(&e->lock);
	e->monitoring = on;
	pthread_mutex_unlock(&e->lock);
}

bool vgmo_engine_monitoring(const vgmo_engine *e)
{
	bool on;

	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
	on = e->monitoring;
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
	return on;
}

void vgmo__engine_record(vgmo_engine *e, const vgmo_result *r)
{
	vgmo__history_push(&e->history, r);
	e->counters.history_total++;
}

void vgmo_engine_history_restore(vgmo_engine *e, const vgmo_result *r)
{
	pthread_mutex_lock(&e->lock);
	vgmo__history_push(&e->history, r);
	pthread_mutex_unlock(&e->lock);
}

size_t vgmo_engine_history_since(vgmo_engine *e, uint64_t seq, vgmo_result *out,
                                 size_t max, uint64_t *next)
{
	size_t n, avail, first;
	uint64_t total;

	pthread_mutex_lock(&e->lock);
	total = e->counters.history_total;
	avail = seq >= total ? 0 : (size_t)(total - seq);
	if (avail > e->history.count)
		avail = e->history.count;
	n = avail < max ? avail : max;
	/* The newest `avail` entries are the new ones; copy the oldest n. */
	first = e->history.count - avail;
	for (size_t i = 0; i < n; i++)
		out[i] = *vgmo__history_at(&e->history, first + i);
	if (next)
		*next = total - (avail - n);
	pthread_mutex_unlock(&e->lock);
	return n;
}
