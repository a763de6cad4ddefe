/*
 * bench.h - `vgmo benchmark`: batch-size policies side by side on one
 * trace, on the simulated GPU, on a virtual clock (internal).
 *
 * Two sides, kept apart:
 *  - the simulator (backend_sim.c, vlm_truth.c) holds the hidden truth:
 *    what each batch costs in memory and time, and when it runs out of
 *    memory. It shares no formula with the planner that gives vgmo its
 *    prior;
 *  - a policy (bench_policy.c) sees only what a real worker could know:
 *    the token counts of the requests queued in front of it, the reports
 *    of its own batches (peak, allocated, reserved, seconds, OOM) and the
 *    device memory as vgmo samples it. vgmo's strategies go through the
 *    engine's public calls. Only the oracle is handed the truth.
 *
 * Every request of the trace arrives into a FIFO queue; a policy says how
 * many requests from its head form the next batch, or refuses the head
 * (at no cost). A batch that runs out of memory costs the time it ran,
 * counts as an OOM, and the same requests are retried with at most half
 * as many items (a request that fails alone is dropped).
 *
 * Requests that can never fit (alone, on the GPU with nothing else on it)
 * are refused up front at no cost for the baselines and the oracle, as if
 * their users had capped image sizes perfectly; vgmo's strategies are not
 * told and must refuse them from their own prediction, or pay the OOM.
 */
#ifndef VGMO_LIB_BENCH_H
#define VGMO_LIB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "trace.h"
#include "vgmo/vgmo.h"
#include "vlm_truth.h"

typedef struct vgmo__bench_opts {
	const vgmo__trace *trace; /* borrowed */
	vgmo_vlm_model model;
	const char *gpu; /* simulated GPU preset */
	vgmo_config cfg; /* thresholds, reserve, batch bounds, intervals */
	double duration; /* seconds of virtual time */
	uint64_t seed;   /* the simulator's hidden draws */
	bool unit_items; /* vgmo's strategies count items, not tokens */
	bool no_prior;   /* vgmo's strategies start without the planner's
	                    prior */
	bool undeclared; /* ... or without its attention and logits */
	/* The truth's parameters: the defaults, then the trace's, then
	 * these where `truth_set` says so. */
	vgmo__truth_params truth;
	bool truth_set[VGMO__TP_COUNT];
	int seed_max_batch;  /* the seed formula's max_batch_size (16) */
	int fixed_size;      /* "fixed": its batch size */
	double token_budget; /* "tokens": its budget */
	/* Progress, 0..1 of this policy's run (may be NULL). */
	void (*progress)(void *ctx, double fraction);
	void *progress_ctx;
	/* Tests: called before every batch with the simulator's hidden truth,
	 * which it may change (may be NULL). */
	void (*hidden_hook)(void *ctx, double now, vgmo__vlm_truth *truth);
	void *hook_ctx;
} vgmo__bench_opts;

void vgmo__bench_opts_init(vgmo__bench_opts *o);
/* The truth a run uses: defaults < the trace's < o->truth where set. */
void vgmo__bench_truth_params(const vgmo__bench_opts *o,
                              vgmo__truth_params *out);

/* One batch, for the plots and the tests. */
typedef struct vgmo__bench_point {
	double t;     /* start */
	double usage; /* device memory at its peak, 0..1 */
	double limit; /* the policy's decision: items, or units */
	uint32_t items;
	bool oom;
} vgmo__bench_point;

typedef struct vgmo__bench_result {
	char policy[24];
	double items_per_s; /* requests completed per second */
	uint64_t ooms;
	double ratio_to_oracle; /* items_per_s / the oracle's; < 0 unknown */
	uint64_t batch_size_changes; /* times the decision changed */
	double p95_memory_usage;     /* of the batches' peaks, 0..1 */
	double mean_batch_size;      /* requests per completed batch */
	uint64_t completed, batches;
	uint64_t refused;   /* refused up front, at no cost */
	uint64_t dropped;   /* failed alone after an OOM */
	double oom_seconds; /* time spent in batches that failed */
	/* Arrival to result of the completed requests, seconds; < 0 none. */
	double latency_p50, latency_p95;
	/* best-fixed, best-tokens: the size or budget found; < 0 none. */
	double setting;
	vgmo__bench_point *points;
	size_t npoints, cap;
} vgmo__bench_result;

void vgmo__bench_result_free(vgmo__bench_result *r);

/* Policy names in table order, NULL-terminated: conservative, balanced,
 * aggressive, adaptive, accelerate, lightning, seed, best-fixed,
 * best-tokens, oracle. "fixed" and "tokens" (one size, one budget) run
 * when asked for by name. */
const char *const *vgmo__bench_policies(void);
const char *vgmo__bench_policy_about(const char *name);
/* true for conservative, balanced, aggressive and adaptive. */
bool vgmo__bench_is_vgmo(const char *name);

/* Runs one policy over the whole trace ("best-fixed" and "best-tokens"
 * search their setting over runs of "fixed" and "tokens"). */
vgmo_err vgmo__bench_run(const vgmo__bench_opts *o, const char *policy,
                         vgmo__bench_result *out, char *err, size_t errlen);

/* "best-fixed", "best-tokens": the best batch size or token budget in
 * hindsight, over runs of "fixed" or "tokens" on the same trace: the
 * fastest without OOMs (the one with the fewest when every setting has
 * some). bench_search.c. */
vgmo_err vgmo__bench_search(const vgmo__bench_opts *o, const char *policy,
                            vgmo__bench_result *out, char *err, size_t errlen);

/* Fills ratio_to_oracle from the result named "oracle" among `r`. */
void vgmo__bench_ratios(vgmo__bench_result *r, size_t n);

/* ------------------------------------------------------------ policies */

/* What a policy may see when it decides. */
typedef struct vgmo__bench_view {
	double now;
	const vgmo__vlm_req *queue; /* waiting, oldest first: token counts */
	size_t queued;
	vgmo_engine *engine; /* the device, as vgmo samples it */
	const vgmo_config *cfg;
} vgmo__bench_view;

/* The truth, for the oracle alone. */
typedef struct vgmo__bench_truth {
	const vgmo__vlm_truth *truth;
	double available; /* bytes the allocator may reserve now */
	double frag;      /* fragmentation that cannot be released now */
} vgmo__bench_truth;

typedef struct vgmo__bench_policy vgmo__bench_policy;

/* `truth` is read by the oracle only; the others never receive it. */
vgmo_err vgmo__bench_policy_open(vgmo__bench_policy **out, const char *name,
                                 const vgmo__bench_opts *o, vgmo_engine *e,
                                 const vgmo__bench_truth *truth);
/* Requests to take from the head of the queue; 0: refuse the head (it
 * is dropped at no cost). *limit receives the decision. */
size_t vgmo__bench_policy_choose(vgmo__bench_policy *p,
                                 const vgmo__bench_view *v, double *limit);
/* The batch's report (and its units); true when the policy asks the worker
 * to release cached memory. */
bool vgmo__bench_policy_report(vgmo__bench_policy *p, const vgmo__bench_view *v,
                               const vgmo_report *r, uint64_t units);
void vgmo__bench_policy_close(vgmo__bench_policy *p);
/* true when the harness refuses never-fitting requests for the policy. */
bool vgmo__bench_policy_told(const vgmo__bench_policy *p);
/* A request's cost units as vgmo's worker counts them: its prompt tokens
 * (image + text), what vLLM's max_num_batched_tokens counts. Known before
 * the batch runs. The token baselines count the same units. */
uint64_t vgmo__bench_units(const vgmo__vlm_req *r);

/* --------------------------------------------------------- many seeds */

/* One workload over seeds: every policy's result per seed. */
typedef struct vgmo__bench_set {
	char workload[64];
	size_t nseeds, npolicies;
	const char **policies;    /* borrowed names */
	vgmo__trace *traces;      /* per seed */
	vgmo__bench_opts *opts;   /* per seed; .trace points into traces */
	uint64_t *oracle_batches; /* per seed */
	vgmo__bench_result *res;  /* [seed * npolicies + policy] */
} vgmo__bench_set;

/* The least batches the oracle runs in a run of automatic duration, so
 * that one batch is at most half a percent of throughput. */
#define VGMO__BENCH_MIN_BATCHES 200

/* Where a set's traces come from: a built-in workload generated per seed,
 * or one trace file for every seed (seeds then vary the hidden draws). */
typedef struct vgmo__bench_source {
	const char *workload;    /* built-in name, or NULL */
	const vgmo__trace *file; /* a loaded trace, or NULL */
	const char *label;       /* the set's name */
	bool auto_duration; /* extend until the oracle runs enough batches */
} vgmo__bench_source;

/* Runs `policies` (the oracle added when missing) on every seed of
 * [seed_lo, seed_hi], with `base` as the options (its seed and trace are
 * replaced). `progress(ctx, workload, seed, policy)` is called before
 * each run (may be NULL). */
vgmo_err vgmo__bench_set_run(vgmo__bench_set *out, const vgmo__bench_opts *base,
                             const vgmo__bench_source *src, uint64_t seed_lo,
                             uint64_t seed_hi, const char *const *policies,
                             size_t npolicies,
                             void (*progress)(void *ctx, const char *workload,
                                              uint64_t seed,
                                              const char *policy),
                             void *ctx, char *err, size_t errlen);
const vgmo__bench_result *vgmo__bench_set_result(const vgmo__bench_set *s,
                                                 size_t seed, size_t policy);
/* Index of `policy` in the set, or -1. */
int vgmo__bench_set_policy(const vgmo__bench_set *s, const char *policy);

/* Per policy over a set's seeds. */
typedef struct vgmo__bench_summary {
	const char *policy;
	double ratio_median, ratio_min;
	double ooms_median, ooms_max;
	double refused_median, refused_max;
	double p50_median, p95_median, p95_max; /* < 0: unknown */
	double items_per_s_median;
	double setting_median; /* < 0: none */
} vgmo__bench_summary;

void vgmo__bench_summarise(const vgmo__bench_set *s, size_t policy,
                           vgmo__bench_summary *out);
void vgmo__bench_set_free(vgmo__bench_set *s);

/* ------------------------------------------------------------- output */

/* One workload's results as a JSON object (caller decrefs): the run's
 * settings, "runs" (per seed: every policy's policy, items_per_s,
 * ratio_to_oracle, ooms, ...) and "summary" (per policy over seeds). */
json_t *vgmo__bench_json(const vgmo__bench_set *s);

/* A readable table of one workload's results over its seeds. */
void vgmo__bench_table(FILE *f, const vgmo__bench_set *s, bool markdown);

/* One Markdown table over workloads: per workload and policy, the median
 * ratio to the oracle over seeds, and in bold the most OOMs of a seed
 * when there were any. */
void vgmo__bench_overview(FILE *f, const vgmo__bench_set *sets, size_t n);

/* Checks the targets on one workload: every vgmo strategy without OOMs,
 * at least as fast as each baseline (accelerate, lightning, seed,
 * best-fixed, best-tokens) with no more OOMs, seed by seed; and the
 * median ratios to the oracle of docs/benchmarks.md for the GPU. Returns
 * the number missed (0: all met; -1: no vgmo strategy ran); `why` lists
 * them. */
int vgmo__bench_targets(const vgmo__bench_set *s, char *why, size_t len);

/* One plot section per workload (its first seed). */
typedef struct vgmo__bench_section {
	const char *workload;
	const vgmo__bench_opts *opts;
	const vgmo__bench_result *results;
	size_t n;
} vgmo__bench_section;

/* Writes an SVG: memory use and batch size over time per policy, one
 * section per workload. */
vgmo_err vgmo__bench_svg(const char *path, const vgmo__bench_section *s,
                         size_t n, char *err, size_t errlen);

/* Writes an SVG of a sweep: for each policy, its median ratio to the
 * oracle across the parameter's values, with the values' OOMs marked.
 * med and ooms are [value][policy]. */
vgmo_err vgmo__bench_sweep_svg(const char *path, const char *key,
                               const char *gpu, const double *values, size_t nv,
                               const char *const *policies, size_t np,
                               const double *med, const uint64_t *ooms,
                               char *err, size_t errlen);

#endif
