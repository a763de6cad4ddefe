/*
 * bench_policy.c - the policies `vgmo benchmark` compares.
 *
 *  conservative, balanced, aggressive, adaptive: vgmo's strategies through
 *      the engine's public calls (vgmo_engine_report_units and
 *      vgmo_engine_unit_decision; vgmo_engine_report and
 *      vgmo_engine_batch_size with --unit items);
 *  fixed: the seed's initial batch of 4;
 *  seed: the seed's formula, (free MB - reserve MB) / 500, every
 *      optimization_interval, clamped to [min, max];
 *  halve-on-oom: HF Accelerate's find_executable_batch_size: start at the
 *      maximum, halve on every OOM, never grow;
 *  binsearch: Lightning's BatchSizeFinder (binsearch mode): double from 2
 *      until an OOM, bisect between the last success and the failure,
 *      then hold;
 *  oracle: knows every batch's true need and takes the largest batch that
 *      fits in the memory left by others: the upper bound.
 *
 * Only the oracle receives the truth (vgmo__bench_truth); the others hold
 * nothing from the simulator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"
#include "vlm_models.h"

#define MIB 1048576.0
#define SEED_ITEM_MB 500.0 /* the seed's placeholder cost per item */
#define BINSEARCH_INIT 2   /* Lightning's init_val */

enum kind {
	P_VGMO,
	P_FIXED,
	P_SEED,
	P_HALVE,
	P_BINSEARCH,
	P_ORACLE,
};

static const struct spec {
	const char *name;
	enum kind kind;
	vgmo_strategy strategy;
	const char *about;
} specs[] = {
        {"conservative", P_VGMO, VGMO_STRATEGY_CONSERVATIVE,
         "vgmo, 0.7 of balanced"},
        {"balanced", P_VGMO, VGMO_STRATEGY_BALANCED,
         "vgmo, fills the budget under the critical threshold"},
        {"aggressive", P_VGMO, VGMO_STRATEGY_AGGRESSIVE,
         "vgmo, 1.2 x balanced, capped under the OOM threshold"},
        {"adaptive", P_VGMO, VGMO_STRATEGY_ADAPTIVE,
         "vgmo, climbs from balanced while throughput holds"},
        {"fixed", P_FIXED, 0, "the seed's initial batch size, 4"},
        {"seed", P_SEED, 0, "the seed's formula: (free MB - reserve) / 500"},
        {"halve-on-oom", P_HALVE, 0,
         "Accelerate: start at the maximum, halve on OOM, never grow"},
        {"binsearch", P_BINSEARCH, 0,
         "Lightning: double until OOM, bisect, then hold"},
        {"oracle", P_ORACLE, 0, "knows every batch's true peak: upper bound"},
};

static const char *const names[] = {
        "conservative", "balanced",     "aggressive", "adaptive", "fixed",
        "seed",         "halve-on-oom", "binsearch",  "oracle",   NULL};

const char *const *vgmo__bench_policies(void)
{
	return names;
}

static const struct spec *find_spec(const char *name)
{
	for (size_t i = 0; i < VGMO__ARRAY_LEN(specs); i++)
		if (strcmp(specs[i].name, name) == 0)
			return &specs[i];
	return NULL;
}

const char *vgmo__bench_policy_about(const char *name)
{
	const struct spec *s = find_spec(name);

	return s ? s->about : NULL;
}

struct vgmo__bench_policy {
	enum kind kind;
	vgmo_engine *engine; /* vgmo, seed: the engine's public calls */
	bool units;          /* vgmo: budget in tokens */
	vgmo_config cfg;
	int size;         /* fixed, seed, halve, binsearch */
	double last_seed; /* seed: when it last recomputed */
	int low, high;    /* binsearch: last success, first failure */
	bool holding;     /* binsearch: done searching */
	const vgmo__bench_truth *truth; /* oracle only */
};

uint64_t vgmo__bench_units(const vgmo__vlm_req *r)
{
	return (uint64_t)r->image_tokens + r->text_tokens;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

vgmo_err vgmo__bench_policy_open(vgmo__bench_policy **out, const char *name,
                                 const vgmo__bench_opts *o, vgmo_engine *e,
                                 const vgmo__bench_truth *truth)
{
	const struct spec *s = find_spec(name);
	vgmo__bench_policy *p;

	*out = NULL;
	if (s == NULL)
		return VGMO_ERR_NOT_FOUND;
	if ((s->kind == P_ORACLE) != (truth != NULL))
		return VGMO_ERR_INVALID; /* the truth is the oracle's alone */
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return VGMO_ERR_NOMEM;
	p->kind = s->kind;
	p->cfg = o->cfg;
	p->last_seed = -INFINITY;
	switch (s->kind) {
	case P_VGMO:
		p->engine = e;
		p->units = !o->unit_items;
		if (p->units && !o->no_prior) {
			double fixed, token;

			/* What a worker that registers its model preset
			 * tells vgmo: the planner's estimate, not the truth. */
			vgmo__plan_unit_prior(&o->model, VGMO_DTYPE_BF16,
			                      &fixed, &token);
			vgmo_engine_set_unit_prior(e, VGMO_DEFAULT_WORKER,
			                           (uint64_t)fixed, token);
		}
		break;
	case P_SEED:
		p->engine = e;
		/* fall through */
	case P_FIXED:
		p->size =
		        clamp(4, o->cfg.min_batch_size, o->cfg.max_batch_size);
		break;
	case P_HALVE:
		p->size = o->cfg.max_batch_size;
		break;
	case P_BINSEARCH:
		p->size = clamp(BINSEARCH_INIT, o->cfg.min_batch_size,
		                o->cfg.max_batch_size);
		break;
	case P_ORACLE:
		p->truth = truth;
		break;
	}
	*out = p;
	return VGMO_OK;
}

void vgmo__bench_policy_close(vgmo__bench_policy *p)
{
	free(p);
}

/* The seed's formula on the device's free memory, as its optimizer read
 * it (NVML free, which the worker's cached memory makes small). */
static void seed_update(vgmo__bench_policy *p, const vgmo__bench_view *v)
{
	vgmo_snapshot *snap;
	double free_mb;
	int n;

	if (v->now - p->last_seed < p->cfg.optimization_interval)
		return;
	p->last_seed = v->now;
	if (vgmo_engine_snapshot(p->engine, &snap) != VGMO_OK)
		return;
	free_mb = (double)vgmo_snapshot_gpu(snap, 0)->memory_free / MIB;
	vgmo_snapshot_free(snap);
	n = (int)floor((free_mb - (double)p->cfg.memory_reserve_mb) /
	               SEED_ITEM_MB * 1.0);
	p->size = clamp(n, p->cfg.min_batch_size, p->cfg.max_batch_size);
}

/* Greedy fill of the unit budget, in queue order, at least one. */
static size_t fill_units(const vgmo__bench_view *v, uint64_t budget,
                         size_t max_items)
{
	uint64_t sum = 0;
	size_t n = 0;

	while (n < v->queued && n < max_items) {
		uint64_t u = vgmo__bench_units(&v->queue[n]);

		if (n > 0 && sum + u > budget)
			break;
		sum += u;
		n++;
	}
	return n;
}

size_t vgmo__bench_policy_choose(vgmo__bench_policy *p,
                                 const vgmo__bench_view *v, double *limit)
{
	const vgmo__bench_truth *t;
	vgmo_unit_decision d;
	size_t n;

	switch (p->kind) {
	case P_VGMO:
		if (!p->units) {
			*limit = vgmo_engine_batch_size(p->engine,
			                                VGMO_DEFAULT_WORKER);
			return (size_t)(*limit > 1 ? *limit : 1);
		}
		if (vgmo_engine_unit_decision(p->engine, VGMO_DEFAULT_WORKER,
		                              &d) != VGMO_OK)
			d.unit_budget = 0, d.max_items = 1;
		if (d.unit_budget == 0) {
			*limit = d.max_items;
			return (size_t)(d.max_items > 1 ? d.max_items : 1);
		}
		*limit = (double)d.unit_budget;
		return fill_units(v, d.unit_budget, (size_t)d.max_items);
	case P_SEED:
		seed_update(p, v);
		break;
	case P_ORACLE:
		t = p->truth;
		n = v->queued < (size_t)p->cfg.max_batch_size
		            ? v->queued
		            : (size_t)p->cfg.max_batch_size;
		n = vgmo__vlm_largest_fit(t->truth, v->queue, n, t->available);
		*limit = (double)n;
		return n;
	default:
		break;
	}
	*limit = p->size;
	return (size_t)p->size;
}

static void binsearch_report(vgmo__bench_policy *p, const vgmo_report *r)
{
	int max = p->cfg.max_batch_size, min = p->cfg.min_batch_size;

	if (p->holding)
		return; /* the search ran once, before the job; now it holds */
	if (!r->oom) {
		p->low = (int)r->items > p->low ? (int)r->items : p->low;
		if (p->high == 0) {
			if (p->size >= max)
				p->holding = true;
			else
				p->size = p->size * 2 < max ? p->size * 2 : max;
			return;
		}
	} else {
		p->high = (int)r->items;
	}
	if (p->high - p->low <= 1) {
		p->size = clamp(p->low, min, max);
		p->holding = true;
	} else {
		p->size = clamp((p->low + p->high) / 2, min, max);
	}
}

bool vgmo__bench_policy_report(vgmo__bench_policy *p, const vgmo__bench_view *v,
                               const vgmo_report *r, uint64_t units)
{
	vgmo_unit_decision ud;
	vgmo_decision d;

	(void)v;
	switch (p->kind) {
	case P_VGMO:
		if (p->units) {
			if (vgmo_engine_report_units(p->engine,
			                             VGMO_DEFAULT_WORKER, r,
			                             units, &ud) != VGMO_OK)
				return false;
			return ud.cleanup;
		}
		if (vgmo_engine_report(p->engine, VGMO_DEFAULT_WORKER, r, &d) !=
		    VGMO_OK)
			return false;
		return d.cleanup;
	case P_HALVE:
		if (r->oom) {
			int n = (int)r->items < p->size ? (int)r->items
			                                : p->size;

			p->size = clamp(n / 2, p->cfg.min_batch_size,
			                p->cfg.max_batch_size);
		}
		/* Accelerate empties the cache after every failure. */
		return r->oom;
	case P_BINSEARCH:
		binsearch_report(p, r);
		return r->oom;
	default:
		return false;
	}
}
