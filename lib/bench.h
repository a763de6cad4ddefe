/*
 * bench.h - `vgmo benchmark`: batch-size policies side by side on one
 * trace, on the simulated GPU, on a virtual clock (internal).
 *
 * Two sides, kept apart:
 *  - the simulator (backend_sim.c, sim_vlm.c) holds the hidden truth: what
 *    each batch costs in memory and time, and when it runs out of memory;
 *  - a policy (bench_policy.c) sees only what a real worker could know:
 *    the token counts of the requests queued in front of it, the reports
 *    of its own batches (peak, allocated, reserved, seconds, OOM) and the
 *    device memory as vgmo samples it. vgmo's strategies go through the
 *    engine's public calls. Only the oracle is handed the truth.
 *
 * Every request of the trace arrives into a FIFO queue; a policy says how
 * many requests from its head form the next batch. A batch that runs out of
 * memory costs the time it ran, counts as an OOM, and the same requests are
 * retried with at most half as many items (a request that fails alone is
 * dropped).
 */
#ifndef VGMO_LIB_BENCH_H
#define VGMO_LIB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "sim_vlm.h"
#include "trace.h"
#include "vgmo/vgmo.h"

typedef struct vgmo__bench_opts {
	const vgmo__trace *trace; /* borrowed */
	vgmo_vlm_model model;
	const char *gpu; /* simulated GPU preset */
	vgmo_config cfg; /* thresholds, reserve, batch bounds, intervals */
	double duration; /* seconds of virtual time */
	uint64_t seed;   /* the simulator's hidden factors */
	bool unit_items; /* vgmo's strategies count items, not tokens */
	bool no_prior;   /* vgmo's strategies start without the planner's
	                    prior */
	/* Progress, 0..1 of this policy's run (may be NULL). */
	void (*progress)(void *ctx, double fraction);
	void *progress_ctx;
	/* Tests: called before every batch with the simulator's hidden truth,
	 * which it may change (may be NULL). */
	void (*hidden_hook)(void *ctx, double now, vgmo__vlm_truth *truth);
	void *hook_ctx;
} vgmo__bench_opts;

void vgmo__bench_opts_init(vgmo__bench_opts *o);

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
	uint64_t completed, dropped, batches;
	double oom_seconds; /* time spent in batches that failed */
	vgmo__bench_point *points;
	size_t npoints, cap;
} vgmo__bench_result;

void vgmo__bench_result_free(vgmo__bench_result *r);

/* Policy names in table order, NULL-terminated: conservative, balanced,
 * aggressive, adaptive, fixed, seed, halve-on-oom, binsearch, oracle. */
const char *const *vgmo__bench_policies(void);
const char *vgmo__bench_policy_about(const char *name);

/* Runs one policy over the whole trace. */
vgmo_err vgmo__bench_run(const vgmo__bench_opts *o, const char *policy,
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
	double available; /* bytes a batch may need before it fails */
} vgmo__bench_truth;

typedef struct vgmo__bench_policy vgmo__bench_policy;

/* `truth` is read by the oracle only; the others never receive it. */
vgmo_err vgmo__bench_policy_open(vgmo__bench_policy **out, const char *name,
                                 const vgmo__bench_opts *o, vgmo_engine *e,
                                 const vgmo__bench_truth *truth);
/* Requests to take from the head of the queue (0: the oracle drops the
 * head, which cannot fit alone); *limit receives the decision. */
size_t vgmo__bench_policy_choose(vgmo__bench_policy *p,
                                 const vgmo__bench_view *v, double *limit);
/* The batch's report (and its units); true when the policy asks the worker
 * to release cached memory. */
bool vgmo__bench_policy_report(vgmo__bench_policy *p, const vgmo__bench_view *v,
                               const vgmo_report *r, uint64_t units);
void vgmo__bench_policy_close(vgmo__bench_policy *p);
/* A request's cost units as vgmo's worker counts them: its prompt tokens
 * (image + text), what vLLM's max_num_batched_tokens counts. Known before
 * the batch runs. */
uint64_t vgmo__bench_units(const vgmo__vlm_req *r);

/* ------------------------------------------------------------- output */

/* One workload's results as a JSON object (caller decrefs): the run's
 * settings and "policies", one entry per policy. */
json_t *vgmo__bench_json(const char *workload, const vgmo__bench_opts *o,
                         const vgmo__bench_result *r, size_t n);

/* A readable table of one workload's results. */
void vgmo__bench_table(FILE *f, const char *workload, const vgmo__bench_opts *o,
                       const vgmo__bench_result *r, size_t n);

/* Checks the targets: balanced and adaptive >= 0.95 of the oracle's
 * items/s, aggressive >= 0.97, all four vgmo strategies without OOMs and
 * each better than halve-on-oom, binsearch, fixed and seed on items/s or
 * on OOMs (or tied with it: with no queue every policy serves everything).
 * Returns the number missed (0: all met; -1: no vgmo strategy ran), `why` lists
 * them. */
int vgmo__bench_targets(const vgmo__bench_result *r, size_t n, char *why,
                        size_t len);

/* One plot section per workload. */
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

#endif
