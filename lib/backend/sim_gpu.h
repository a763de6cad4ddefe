/*
 * sim_gpu.h - the simulated GPU's state, shared by backend_sim.c (the
 * backend ops: open, sample, cleanup) and sim_worker.c (the synthetic
 * worker that runs batches on it) (internal).
 */
#ifndef VGMO_LIB_SIM_GPU_H
#define VGMO_LIB_SIM_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include "sim.h"
#include "util.h"
#include "vlm_truth.h"

#define SIM_MAX_GPUS 64
#define CONTEXT_BYTES (512 * VGMO__MIB) /* a CUDA context */
#define ALLOC_GRAIN (2 * VGMO__MIB)     /* allocator block rounding */
#define TEMP_TAU 60.0                   /* seconds, thermal lag */

typedef struct sim_gpu {
	const vgmo__sim_preset *preset;
	char uuid[VGMO_UUID_MAX];
	bool worker;
	vgmo__sim_worker_truth truth;
	bool vlm;                   /* the worker runs a VLM model's requests */
	vgmo__vlm_truth vt;         /* ... and this is what they cost */
	char workload[16];          /* its workload ("docs", "requests", ...) */
	double allocated, reserved; /* the synthetic worker's allocator */
	double since_empty;         /* batches since its cache was emptied */
	double peak;                /* the largest peak since then */
	uint64_t want_external;     /* bytes others would hold */
	uint64_t external;          /* bytes others hold: what fits */
	double busy;                /* busy seconds since the last sample */
	double last_t;              /* time of the last sample, < 0 none */
	double util, temp, energy;
} sim_gpu;

struct vgmo__sim {
	unsigned n;
	sim_gpu gpu[SIM_MAX_GPUS];
	vgmo__rng rng;
	vgmo_clock clock;
	char error[VGMO_REASON_MAX];
};

/* The worker's memory outside its allocator (its CUDA context). */
static inline double vgmo__sim_context_of(const sim_gpu *g)
{
	if (!g->worker)
		return 0;
	return g->vlm ? g->vt.context : (double)CONTEXT_BYTES;
}

#endif
