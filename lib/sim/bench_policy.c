/*
 * bench_policy.c - the policies `vgmo benchmark` compares.
 *
 *  conservative, balanced, aggressive, adaptive: vgmo's strategies through
 *      the engine's public calls (vgmo_engine_report_units and
 *      vgmo_engine_unit_decision; vgmo_engine_report and
 *      vgmo_engine_batch_size with --unit items);
 *  accelerate: HF Accelerate's find_executable_batch_size as its users run
 *      it: start at 128, halve on every OOM (emptying the cache), never
 *      grow again;
 *  lightning: Lightning's BatchSizeFinder in binsearch mode with its
 *      defaults: from 2, three batches per trial, doubling until an OOM,
 *      then bisecting between the last success and the failure; then it
 *      holds that size (its trial batches count as served work here,
 *      which is generous to it);
 *  seed: the seed's formula, (free MiB - reserve MiB) / 500, every
 *      optimization_interval, clamped to [min, 16] (its own max);
 *  fixed: one batch size (the search below tries them all);
 *  tokens: one static token budget, filled in queue order (vLLM's
 *      max_num_batched_tokens), counting the units vgmo counts;
 *  best-fixed, best-tokens: the fastest of those in hindsight with no OOM
 *      (bench_search.c);
 *  oracle: knows every batch's true need and the allocator's state, and
 *      takes the largest prefix of the queue that fits: a maximum-fill
 *      reference, not a bound on throughput (with generation running to
 *      the batch's longest output, a smaller batch can be faster).
 *
 * Only the oracle receives the truth (vgmo__bench_truth); the others hold
 * nothing from the simulator. The baselines and the oracle are spared the
 * requests that can never fit (the harness refuses them); vgmo's
 * strategies are not.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"
#include "vlm_models.h"

#define MIB ((double)VGMO_MIB)
#define SEED_ITEM_MIB 500.0  /* the seed's placeholder cost per item */
#define ACCELERATE_START 128 /* find_executable_batch_size's default */
#define LIGHTNING_INIT 2     /* BatchSizeFinder init_val */
#define LIGHTNING_STEPS 3    /* steps_per_trial */
#define LIGHTNING_TRIALS 25  /* max_trials */

enum kind {
	P_VGMO,
	P_FIXED,
	P_TOKENS,
	P_SEED,
	P_ACCELERATE,
	P_LIGHTNING,
	P_ORACLE,
	P_SEARCH,
};

static const struct spec {
	const char *name;
	enum kind kind;
	vgmo_strategy strategy;
	const char *about;
} specs[] = {
        {"conservative", P_VGMO, VGMO_STRATEGY_CONSERVATIVE,
         "vgmo, P(OOM) per batch 1e-4, memory_reserve_mb kept free"},
        {"balanced", P_VGMO, VGMO_STRATEGY_BALANCED,
         "vgmo, P(OOM) per batch 1e-3, headroom as others grow"},
        {"aggressive", P_VGMO, VGMO_STRATEGY_AGGRESSIVE,
         "vgmo, P(OOM) per batch 1e-3, to the OOM line"},
        {"adaptive", P_VGMO, VGMO_STRATEGY_ADAPTIVE,
         "vgmo, as aggressive, filled as far as throughput pays"},
        {"accelerate", P_ACCELERATE, 0,
         "Accelerate find_executable_batch_size: 128, halve on OOM, never "
         "grow"},
        {"lightning", P_LIGHTNING, 0,
         "Lightning BatchSizeFinder binsearch: from 2, 3 batches a trial, "
         "then hold"},
        {"seed", P_SEED, 0,
         "the seed's formula (free MB - reserve) / 500, max 16"},
        {"best-fixed", P_SEARCH, 0,
         "the best fixed batch size in hindsight, no OOM"},
        {"best-tokens", P_SEARCH, 0,
         "the best static token budget in hindsight, no OOM (vLLM-style)"},
        {"oracle", P_ORACLE, 0,
         "knows every batch's true need: fills the memory to the last "
         "block"},
        {"fixed", P_FIXED, 0, "one batch size (--fixed, default 4)"},
        {"tokens", P_TOKENS, 0, "one static token budget (--token-budget)"},
};

static const char *const names[] = {"conservative", "balanced",   "aggressive",
                                    "adaptive",     "accelerate", "lightning",
                                    "seed",         "best-fixed", "best-tokens",
                                    "oracle",       NULL};

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
	const struct spec *s = name ? find_spec(name) : NULL;

	return s ? s->about : NULL;
}

bool vgmo__bench_is_vgmo(const char *name)
{
	const struct spec *s = name ? find_spec(name) : NULL;

	return s && s->kind == P_VGMO;
}

struct vgmo__bench_policy {
	enum kind kind;
	vgmo_engine *engine; /* vgmo, seed: the engine's public calls */
	bool units;          /* vgmo: budget in tokens */
	vgmo_config cfg;
	int size;          /* fixed, seed, accelerate, lightning */
	int max;           /* the largest batch it may run */
	double budget;     /* tokens */
	double last_seed;  /* seed: when it last recomputed */
	int low, high;     /* lightning: last success, first failure (0) */
	int steps, trials; /* lightning: batches in this trial, trials run */
	bool holding;      /* lightning: done searching */
	const vgmo__bench_truth *truth; /* oracle only */
	vgmo_request_shape *shapes;     /* vgmo: the batch's requests */
	size_t nshapes, shapes_cap;
};

bool vgmo__bench_policy_told(const vgmo__bench_policy *p)
{
	return p->kind != P_VGMO;
}

uint64_t vgmo__bench_units(const vgmo__vlm_req *r)
{
	return (uint64_t)r->image_tokens + r->text_tokens;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The truth's decoder attention (0 flash, 1 sdpa, 2 eager), as the
 * worker would name it. */
static vgmo_attention attention_of(double v)
{
	return v >= 1.5   ? VGMO_ATTENTION_EAGER
	       : v >= 0.5 ? VGMO_ATTENTION_SDPA
	                  : VGMO_ATTENTION_FLASH;
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
	p->max = o->cfg.max_batch_size;
	p->last_seed = -INFINITY;
	switch (s->kind) {
	case P_VGMO:
		p->engine = e;
		p->units = !o->unit_items;
		if (p->units) {
			vgmo__truth_params tp;
			vgmo_padding pad;

			/* What a worker tells vgmo: its model (whose planner
			 * estimate is the prior, not the truth) and how its
			 * processor lays a batch out. */
			vgmo__bench_truth_params(o, &tp);
			pad = tp.v[VGMO__TP_PADDING] >= 0.5
			              ? VGMO_PADDING_PADDED
			              : VGMO_PADDING_PACKED;
			vgmo_engine_set_worker_model(
			        e, VGMO_DEFAULT_WORKER,
			        o->no_prior ? NULL : &o->model, pad);
			/* ... and how it runs the model: the attention it
			 * loads it with (transformers' attn_implementation),
			 * the logits its prefill keeps. */
			if (!o->undeclared)
				vgmo_engine_declare_worker(
				        e, VGMO_DEFAULT_WORKER,
				        attention_of(tp.v[VGMO__TP_ATTENTION]),
				        tp.v[VGMO__TP_VISION_ATTENTION] >= 0.5
				                ? VGMO_ATTENTION_EAGER
				                : VGMO_ATTENTION_FLASH,
				        tp.v[VGMO__TP_LOGITS] >= 0.5
				                ? VGMO_LOGITS_ALL
				                : VGMO_LOGITS_LAST);
		}
		break;
	case P_SEED:
		p->engine = e;
		p->max = o->seed_max_batch;
		p->size = clamp(4, o->cfg.min_batch_size, p->max);
		break;
	case P_FIXED:
		p->size = clamp(o->fixed_size, 1, p->max);
		break;
	case P_TOKENS:
		if (!(o->token_budget >= 1)) {
			free(p);
			return VGMO_ERR_INVALID;
		}
		p->budget = o->token_budget;
		break;
	case P_ACCELERATE:
		p->size = clamp(ACCELERATE_START, 1, p->max);
		break;
	case P_LIGHTNING:
		p->size = clamp(LIGHTNING_INIT, 1, p->max);
		p->low = 1;
		break;
	case P_ORACLE:
		p->truth = truth;
		break;
	case P_SEARCH:
		free(p);
		return VGMO_ERR_INVALID; /* bench_search.c runs these */
	}
	*out = p;
	return VGMO_OK;
}

void vgmo__bench_policy_close(vgmo__bench_policy *p)
{
	if (p)
		free(p->shapes);
	free(p);
}

/* vgmo: the shapes of the first requests of the queue, as the worker's
 * processor counts them. */
static bool take_shapes(vgmo__bench_policy *p, const vgmo__bench_view *v,
                        size_t n)
{
	if (n > p->shapes_cap) {
		vgmo_request_shape *s = realloc(p->shapes, n * sizeof(*s));

		if (s == NULL)
			return false;
		p->shapes = s;
		p->shapes_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const vgmo__vlm_req *q = &v->queue[i];

		p->shapes[i] =
		        (vgmo_request_shape){q->nimages, q->image_tokens,
		                             q->text_tokens, q->output_tokens};
	}
	p->nshapes = n;
	return true;
}

/* vgmo, counting tokens: the device sampled when the worker asks, then
 * the engine's plan for the head of the queue. */
static size_t vgmo_tokens_choose(vgmo__bench_policy *p,
                                 const vgmo__bench_view *v, double *limit)
{
	size_t n = v->queued < (size_t)p->max ? v->queued : (size_t)p->max;
	vgmo_batch_plan plan;

	vgmo_engine_sample(p->engine);
	if (!take_shapes(p, v, n) ||
	    vgmo_engine_plan_batch(p->engine, VGMO_DEFAULT_WORKER, p->shapes, n,
	                           &plan) != VGMO_OK) {
		*limit = 1;
		return 1;
	}
	*limit = (double)plan.need_bytes;
	return plan.take;
}

/* The seed's formula on the device's free memory, as its optimizer read
 * it (NVML free, which the worker's cached memory makes small). */
static void seed_update(vgmo__bench_policy *p, const vgmo__bench_view *v)
{
	vgmo_snapshot *snap;
	double free_mib;
	int n;

	if (v->now - p->last_seed < p->cfg.optimization_interval)
		return;
	p->last_seed = v->now;
	if (vgmo_engine_snapshot(p->engine, &snap) != VGMO_OK)
		return;
	free_mib = (double)vgmo_snapshot_gpu(snap, 0)->memory_free / MIB;
	vgmo_snapshot_free(snap);
	n = (int)floor((free_mib - (double)p->cfg.memory_reserve_mb) /
	               SEED_ITEM_MIB * 1.0);
	p->size = clamp(n, p->cfg.min_batch_size, p->max);
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
	size_t n;

	switch (p->kind) {
	case P_VGMO:
		if (!p->units) {
			*limit = vgmo_engine_batch_size(p->engine,
			                                VGMO_DEFAULT_WORKER);
			return (size_t)(*limit > 1 ? *limit : 1);
		}
		return vgmo_tokens_choose(p, v, limit);
	case P_SEED:
		seed_update(p, v);
		break;
	case P_TOKENS:
		*limit = p->budget;
		return fill_units(v, (uint64_t)p->budget, (size_t)p->max);
	case P_ORACLE:
		t = p->truth;
		n = v->queued < (size_t)p->max ? v->queued : (size_t)p->max;
		n = vgmo__vlm_largest_fit(t->truth, v->queue, n, t->available,
		                          t->frag);
		*limit = (double)n;
		return n;
	default:
		break;
	}
	*limit = p->size;
	return (size_t)p->size;
}

/* Lightning's _run_binary_scaling: after LIGHTNING_STEPS successful
 * batches at a size, double it (no failure yet) or bisect toward the
 * failure; a failure bisects at once. Done when the bracket closes or
 * after LIGHTNING_TRIALS trials; then the last size that ran holds. */
static void lightning_report(vgmo__bench_policy *p, const vgmo_report *r)
{
	int mid;

	if (p->holding)
		return;
	if (!r->oom) {
		if (++p->steps < LIGHTNING_STEPS)
			return;
		p->steps = 0;
		p->low = p->size;
		if (++p->trials >= LIGHTNING_TRIALS || p->size >= p->max) {
			p->holding = true;
			return;
		}
		if (p->high == 0) {
			p->size = p->size * 2 < p->max ? p->size * 2 : p->max;
			return;
		}
		if (p->high - p->low <= 1) {
			p->holding = true;
			return;
		}
		p->size = (p->high + p->low) / 2;
		return;
	}
	p->steps = 0;
	p->trials++;
	p->high = p->size;
	mid = (p->high + p->low) / 2;
	p->size = mid > 1 ? mid : 1;
	if (p->high - p->low <= 1 || p->trials >= LIGHTNING_TRIALS) {
		p->size = p->low;
		p->holding = true;
	}
}

bool vgmo__bench_policy_report(vgmo__bench_policy *p, const vgmo__bench_view *v,
                               const vgmo_report *r, uint64_t units)
{
	vgmo_decision d;

	(void)v;
	(void)units;
	switch (p->kind) {
	case P_VGMO:
		if (p->units) {
			size_t n =
			        r->items < p->nshapes ? r->items : p->nshapes;

			if (n == 0 || vgmo_engine_report_batch(
			                      p->engine, VGMO_DEFAULT_WORKER, r,
			                      p->shapes, n, &d) != VGMO_OK)
				return false;
			return d.cleanup;
		}
		if (vgmo_engine_report(p->engine, VGMO_DEFAULT_WORKER, r, &d) !=
		    VGMO_OK)
			return false;
		return d.cleanup;
	case P_ACCELERATE:
		if (r->oom)
			p->size = p->size / 2 > 1 ? p->size / 2 : 1;
		/* It empties the cache after every failure. */
		return r->oom;
	case P_LIGHTNING:
		lightning_report(p, r);
		return r->oom; /* garbage_collection_cuda() */
	default:
		return false;
	}
}
