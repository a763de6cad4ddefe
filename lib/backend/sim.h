/*
 * sim.h - the simulated GPU's internals that the sim driver uses
 * (internal). The backend ops live in backend_sim.c; the synthetic VLM
 * worker that runs batches on it lives here too, so a batch's memory moves
 * the device's numbers exactly as a real worker's would.
 */
#ifndef VGMO_LIB_SIM_H
#define VGMO_LIB_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "gpu_presets.h"
#include "vlm_truth.h"
#include "vgmo/vgmo.h"

/* The model a VLM workload runs unless it names one. */
#define VGMO__SIM_DEFAULT_MODEL "qwen2-vl-7b"

typedef struct vgmo__sim vgmo__sim;
typedef struct vgmo__backend_ops vgmo__backend_ops;

/* The simulated GPU behind a backend context, or NULL when `ops` is another
 * backend: the one typed way in, so no one else casts a context. */
vgmo__sim *vgmo__sim_of(const vgmo__backend_ops *ops, void *ctx);

/* The synthetic worker's hidden truth: what a real worker cannot see. */
typedef struct vgmo__sim_worker_truth {
	uint64_t weights;    /* resident between batches */
	uint64_t fixed_act;  /* activations independent of batch size */
	double item_mean;    /* mean bytes per item */
	double item_spread;  /* log-normal sigma of an item's cost */
	double max_overhead; /* allocator rounding/fragmentation, 0..1 */
	double t_fixed;      /* seconds per batch */
	double t_item;       /* seconds per item^0.85 */
} vgmo__sim_worker_truth;

/* True when device `dev` runs the synthetic worker. */
bool vgmo__sim_has_worker(const vgmo__sim *s, unsigned dev);
vgmo__sim_worker_truth *vgmo__sim_truth(vgmo__sim *s, unsigned dev);

/* Runs one batch of `items` on device `dev` at virtual time `now`: draws
 * the items' costs, applies the caching allocator, decides OOM. Fills the
 * report a real worker would send and returns the batch's duration. */
double vgmo__sim_run_batch(vgmo__sim *s, unsigned dev, uint32_t items,
                           double now, vgmo_report *out);

/* Memory other processes on `dev` would hold (registered clients, another
 * process): they get what is free, never what the worker's allocator
 * holds, and grow into what it gives back. */
void vgmo__sim_set_external(vgmo__sim *s, unsigned dev, uint64_t bytes);

/* VLM workloads ("docs", "requests:idefics3-8b", ...): the device's worker
 * runs a model's requests. The truth is hidden from policies: only the
 * simulator, the oracle and tests read it. NULL when `dev` runs none. */
const vgmo__vlm_truth *vgmo__sim_vlm(const vgmo__sim *s, unsigned dev);
vgmo__vlm_truth *vgmo__sim_vlm_mut(vgmo__sim *s, unsigned dev);
/* The workload's name without the model ("docs", "requests"), or NULL. */
const char *vgmo__sim_workload(const vgmo__sim *s, unsigned dev);
/* Replaces the model a VLM device runs and its truth parameters (NULL:
 * the defaults; hidden draws keyed by `seed`); VGMO_ERR_STATE when the
 * device runs no VLM workload. */
vgmo_err vgmo__sim_set_vlm_model(vgmo__sim *s, unsigned dev,
                                 const vgmo_vlm_model *m, vgmo_dtype d,
                                 const vgmo__truth_params *p, uint64_t seed);
/* Bytes the worker's allocator holds now (what it reports as reserved). */
uint64_t vgmo__sim_reserved(const vgmo__sim *s, unsigned dev);
/* The device's total memory. */
uint64_t vgmo__sim_total(const vgmo__sim *s, unsigned dev);
/* Bytes the worker's allocator may reserve before it fails. */
double vgmo__sim_available(const vgmo__sim *s, unsigned dev);
/* The allocator's fragmentation now (0 after its cache was emptied). */
double vgmo__sim_fragmentation(const vgmo__sim *s, unsigned dev);
/* Runs the `n` requests as one batch: out of memory when what the
 * allocator needs exceeds what is available. Fills the report a real
 * worker would send, `need_out` (may be NULL) with the bytes it needed,
 * and returns the seconds it took. */
double vgmo__sim_run_requests(vgmo__sim *s, unsigned dev,
                              const vgmo__vlm_req *r, size_t n,
                              vgmo_report *out, double *need_out);

#endif
