/*
 * bench.c - runs one policy over a trace on the simulated GPU, on a
 * virtual clock the benchmark owns (see bench.h).
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_hook.h"
#include "sim.h"
#include "util.h"
#include "vlm_feed.h"
#include "vlm_models.h"

#define HISTORY 64 /* the engine's history ring: unused here, kept small */

void vgmo__bench_opts_init(vgmo__bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	vgmo_model_preset_find(VGMO__SIM_DEFAULT_MODEL, &o->model);
	o->gpu = "h100-80gb";
	vgmo_config_defaults(&o->cfg);
	o->cfg.max_batch_size = 256;
	o->duration = 3600;
	o->seed = 1;
	vgmo__truth_params_defaults(&o->truth);
	o->seed_max_batch = 16; /* the seed guide's own default */
	o->fixed_size = 4;      /* the seed's initial batch size */
}

void vgmo__bench_truth_params(const vgmo__bench_opts *o,
                              vgmo__truth_params *out)
{
	vgmo__truth_params_defaults(out);
	for (size_t i = 0; o->trace && i < o->trace->ntruth; i++) {
		int k = vgmo__truth_param_index(o->trace->truth[i].key);

		if (k >= 0)
			out->v[k] = o->trace->truth[i].value;
	}
	for (int k = 0; k < VGMO__TP_COUNT; k++)
		if (o->truth_set[k])
			out->v[k] = o->truth.v[k];
}

void vgmo__bench_result_free(vgmo__bench_result *r)
{
	free(r->points);
	r->points = NULL;
	r->npoints = r->cap = 0;
}

static double clock_now(void *ctx)
{
	return *(const double *)ctx;
}

static double clock_wall(void *ctx)
{
	return 1.7e9 + *(const double *)ctx; /* a fixed epoch: deterministic */
}

static bool add_point(vgmo__bench_result *r, const vgmo__bench_point *p)
{
	if (r->npoints == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		vgmo__bench_point *q = realloc(r->points, cap * sizeof(*q));

		if (q == NULL)
			return false;
		r->points = q;
		r->cap = cap;
	}
	r->points[r->npoints++] = *p;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of `n` values, sorted in place. */
static double quantile(double *v, size_t n, double q)
{
	size_t k;

	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

static vgmo_err summarise(vgmo__bench_result *r, double duration, double items,
                          double batch_items, uint64_t ok_batches, double *lat,
                          size_t nlat)
{
	double *u;

	r->items_per_s = items / duration;
	r->mean_batch_size = ok_batches ? batch_items / (double)ok_batches : 0;
	r->ratio_to_oracle = -1;
	r->latency_p50 = nlat ? quantile(lat, nlat, 0.50) : -1;
	r->latency_p95 = nlat ? quantile(lat, nlat, 0.95) : -1;
	if (r->npoints == 0)
		return VGMO_OK;
	u = malloc(r->npoints * sizeof(*u));
	if (u == NULL)
		return VGMO_ERR_NOMEM;
	for (size_t i = 0; i < r->npoints; i++)
		u[i] = r->points[i].usage;
	r->p95_memory_usage = quantile(u, r->npoints, 0.95);
	free(u);
	return VGMO_OK;
}

/* State of one run. */
typedef struct run {
	const vgmo__bench_opts *o;
	double now;
	vgmo_clock clock;
	vgmo_engine *engine;
	vgmo__sim *sim;
	vgmo__feed feed;
	vgmo__bench_truth truth;
	vgmo__bench_policy *policy;
	vgmo__bench_result *out;
	double items, batch_items, last_limit;
	uint64_t ok_batches;
	size_t retry_cap;
	bool told;   /* the harness refuses what can never fit */
	double *lat; /* latencies of completed requests */
	size_t nlat, lat_cap;
} run;

static vgmo_err open_run(run *r, const char *policy, char *err, size_t errlen)
{
	const vgmo__bench_opts *o = r->o;
	vgmo_engine_options eo;
	vgmo_config cfg = o->cfg;
	vgmo__truth_params tp;
	const vgmo__backend_ops *ops;
	void *bctx;
	vgmo_err rc;

	if (vgmo__bench_policy_about(policy) == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
		                  "unknown policy \"%s\"", policy);
	if (vgmo_strategy_parse(policy, &cfg.strategy) != VGMO_OK)
		cfg.enabled = false; /* the engine only samples the device */
	r->clock.mono = clock_now;
	r->clock.wall = clock_wall;
	r->clock.ctx = &r->now;
	vgmo_engine_options_init(&eo);
	eo.backend = "sim";
	eo.sim.preset = o->gpu;
	eo.sim.seed = o->seed;
	eo.sim.workload = "requests";
	eo.clock = &r->clock;
	eo.history_capacity = HISTORY;
	rc = vgmo_engine_create(&r->engine, &cfg, &eo, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	bctx = vgmo__engine_backend(r->engine, &ops);
	r->sim = vgmo__sim_of(ops, bctx);
	vgmo__bench_truth_params(o, &tp);
	rc = vgmo__sim_set_vlm_model(r->sim, 0, &o->model, VGMO_DTYPE_BF16, &tp,
	                             o->seed);
	if (rc == VGMO_OK)
		rc = vgmo_engine_sample(r->engine);
	if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc,
		                  "cannot prepare the "
		                  "simulated GPU");
	vgmo__feed_init(&r->feed, o->trace, &o->model, 0);
	r->truth.truth = vgmo__sim_vlm(r->sim, 0);
	rc = vgmo__bench_policy_open(&r->policy, policy, o, r->engine,
	                             strcmp(policy, "oracle") == 0 ? &r->truth
	                                                           : NULL);
	if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc, "cannot open policy %s",
		                  policy);
	vgmo__strlcpy(r->out->policy, policy, sizeof(r->out->policy));
	r->last_limit = -1;
	r->told = vgmo__bench_policy_told(r->policy);
	return VGMO_OK;
}

static void close_run(run *r)
{
	free(r->lat);
	vgmo__bench_policy_close(r->policy);
	vgmo__feed_free(&r->feed);
	vgmo_engine_destroy(r->engine);
}

/* Brings the world to `now`: arrivals, other processes' memory, and the
 * engine's own loop (it samples the device on its interval). */
static vgmo_err advance(run *r)
{
	vgmo_err rc = vgmo__feed_admit(&r->feed, r->now);
	double total = (double)vgmo__sim_total(r->sim, 0);

	vgmo__sim_set_external(
	        r->sim, 0,
	        (uint64_t)vgmo__feed_external(&r->feed, r->now, total));
	vgmo_engine_tick(r->engine);
	return rc;
}

/* For the baselines and the oracle: requests at the head that cannot fit
 * even alone on the otherwise empty GPU are refused at no cost. */
static void refuse_never_fitting(run *r)
{
	const vgmo__vlm_truth *t = r->truth.truth;
	double empty = (double)vgmo__sim_total(r->sim, 0) - t->context;

	while (vgmo__feed_queued(&r->feed) > 0 &&
	       vgmo__vlm_largest_fit(t, vgmo__feed_queue(&r->feed), 1, empty,
	                             0) == 0) {
		vgmo__feed_pop(&r->feed, 1);
		r->out->refused++;
	}
}

static bool add_latencies(run *r, const vgmo__vlm_req *q, size_t n, double end)
{
	if (r->nlat + n > r->lat_cap) {
		size_t cap = r->lat_cap ? r->lat_cap : 1024;
		double *l;

		while (cap < r->nlat + n)
			cap *= 2;
		l = realloc(r->lat, cap * sizeof(*l));
		if (l == NULL)
			return false;
		r->lat = l;
		r->lat_cap = cap;
	}
	for (size_t i = 0; i < n; i++)
		r->lat[r->nlat++] = end - q[i].arrival;
	return true;
}

/* One batch from the head of the queue. */
static vgmo_err step(run *r)
{
	const vgmo__bench_opts *o = r->o;
	vgmo__bench_view v;
	vgmo__bench_point pt = {0};
	vgmo_report rep;
	double limit = 0, need, dur, total;
	uint64_t units = 0;
	size_t n;

	if (o->hidden_hook)
		o->hidden_hook(o->hook_ctx, r->now,
		               vgmo__sim_vlm_mut(r->sim, 0));
	if (r->told)
		refuse_never_fitting(r);
	if (vgmo__feed_queued(&r->feed) == 0)
		return VGMO_OK;
	v = (vgmo__bench_view){r->now, vgmo__feed_queue(&r->feed),
	                       vgmo__feed_queued(&r->feed), r->engine, &o->cfg};
	r->truth.available = vgmo__sim_available(r->sim, 0);
	r->truth.frag = VGMO__FRAG_LIVE * vgmo__sim_fragmentation(r->sim, 0);
	n = vgmo__bench_policy_choose(r->policy, &v, &limit);
	if (limit != r->last_limit && r->last_limit >= 0)
		r->out->batch_size_changes++;
	r->last_limit = limit;
	if (n == 0) { /* refused before it runs */
		vgmo__feed_pop(&r->feed, 1);
		r->out->refused++;
		return VGMO_OK;
	}
	if (n > v.queued)
		n = v.queued;
	if (r->retry_cap && n > r->retry_cap)
		n = r->retry_cap;
	for (size_t i = 0; i < n; i++)
		units += vgmo__bench_units(&v.queue[i]);
	dur = vgmo__sim_run_requests(r->sim, 0, v.queue, n, &rep, &need);
	total = (double)vgmo__sim_total(r->sim, 0);
	pt.t = r->now;
	pt.usage = fmin(1.0, (total - vgmo__sim_available(r->sim, 0) + need) /
	                             total);
	pt.limit = limit;
	pt.items = (uint32_t)n;
	pt.oom = rep.oom;
	if (!add_point(r->out, &pt))
		return VGMO_ERR_NOMEM;
	r->out->batches++;
	if (rep.oom) {
		r->out->ooms++;
		r->out->oom_seconds += dur;
		r->retry_cap = n / 2;
		if (n == 1) { /* it does not fit alone: drop it */
			vgmo__feed_pop(&r->feed, 1);
			r->out->dropped++;
		}
	} else {
		/* A batch still running at the end counts pro rata. */
		double part = r->now + dur > o->duration
		                      ? (o->duration - r->now) / dur
		                      : 1.0;

		r->items += part * (double)n;
		r->out->completed += n;
		r->batch_items += (double)n;
		r->ok_batches++;
		r->retry_cap = 0;
		if (!add_latencies(r, v.queue, n, r->now + dur))
			return VGMO_ERR_NOMEM;
		vgmo__feed_pop(&r->feed, n);
	}
	r->now += dur;
	if (advance(r) != VGMO_OK)
		return VGMO_ERR_NOMEM;
	/* The worker reports its allocator as it is when it reports. */
	rep.reserved_bytes = vgmo__sim_reserved(r->sim, 0);
	v.now = r->now;
	v.queue = vgmo__feed_queue(&r->feed);
	v.queued = vgmo__feed_queued(&r->feed);
	if (vgmo__bench_policy_report(r->policy, &v, &rep, units))
		vgmo__engine_backend_cleanup(r->engine, 0);
	return VGMO_OK;
}

vgmo_err vgmo__bench_run(const vgmo__bench_opts *o, const char *policy,
                         vgmo__bench_result *out, char *err, size_t errlen)
{
	run r;
	vgmo_err rc;
	double shown = 0;

	if (strncmp(policy, "best-", 5) == 0)
		return vgmo__bench_search(o, policy, out, err, errlen);
	memset(out, 0, sizeof(*out));
	out->setting = -1;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.out = out;
	if (o->trace == NULL || !(o->duration > 0))
		return vgmo__errf(
		        err, errlen, VGMO_ERR_INVALID,
		        "benchmark: a trace and a duration > 0 needed");
	rc = open_run(&r, policy, err, errlen);
	while (rc == VGMO_OK && r.now < o->duration) {
		rc = advance(&r);
		if (rc != VGMO_OK)
			break;
		if (vgmo__feed_queued(&r.feed) == 0) {
			/* Idle until the next request (or the end). */
			r.now = fmin(o->duration,
			             vgmo__feed_next_arrival(&r.feed));
			continue;
		}
		rc = step(&r);
		if (o->progress && r.now - shown >= 0.01 * o->duration) {
			shown = r.now;
			o->progress(o->progress_ctx,
			            fmin(1.0, r.now / o->duration));
		}
	}
	if (rc == VGMO_OK)
		rc = summarise(out, o->duration, r.items, r.batch_items,
		               r.ok_batches, r.lat, r.nlat);
	close_run(&r);
	if (rc != VGMO_OK) {
		vgmo__bench_result_free(out);
		if (err && errlen && err[0] == '\0')
			vgmo__errf(err, errlen, rc, "benchmark: %s",
			           vgmo_strerror(rc));
	}
	return rc;
}

void vgmo__bench_ratios(vgmo__bench_result *r, size_t n)
{
	double best = -1;

	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].policy, "oracle") == 0)
			best = r[i].items_per_s;
	for (size_t i = 0; i < n; i++)
		r[i].ratio_to_oracle = best > 0 ? r[i].items_per_s / best : -1;
}
