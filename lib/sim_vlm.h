/*
 * sim_vlm.h - the simulated VLM worker's hidden truth: what a batch of
 * requests really costs in memory and time on a simulated GPU (internal).
 *
 * It starts from the documented estimate (vlm_models.h) and departs from
 * it the way real runs do, by amounts no policy is told: activations a
 * seeded 0 to 15 % larger than estimated, a larger workspace, a log-normal
 * spread per request, and allocator overhead per batch. Noise is keyed by
 * request ids, so every policy that runs the same batch meets the same
 * cost, and the oracle can ask for it.
 */
#ifndef VGMO_LIB_SIM_VLM_H
#define VGMO_LIB_SIM_VLM_H

#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

/* A request as the simulated worker runs it. */
typedef struct vgmo__vlm_req {
	uint64_t id; /* stable: the request's hidden noise is keyed by it */
	uint32_t image_tokens, text_tokens, output_tokens;
} vgmo__vlm_req;

typedef struct vgmo__vlm_truth {
	vgmo_vlm_model model;
	vgmo_dtype dtype;
	double weights;                  /* bytes resident between batches */
	double workspace;                /* bytes, also resident */
	double kv_token;                 /* KV-cache bytes per token */
	double dec_act, vis_act, logits; /* the documented estimate */
	double act_scale;                /* true activations / the estimate */
	double req_sigma;    /* log-normal spread of a request's activations */
	double max_overhead; /* allocator: up to this on top of the batch */
	uint64_t noise_seed;
	double flops, bandwidth;   /* the GPU's effective FLOP/s and bytes/s */
	double t_batch, t_request; /* overhead, seconds */
} vgmo__vlm_truth;

/* `flops` and `bandwidth` of the GPU; `seed` draws the hidden factors. */
void vgmo__vlm_truth_init(vgmo__vlm_truth *t, const vgmo_vlm_model *m,
                          vgmo_dtype d, double flops, double bandwidth,
                          uint64_t seed);

/* Bytes held between batches (weights + workspace). */
double vgmo__vlm_base(const vgmo__vlm_truth *t);
/* Peak bytes allocated during the batch (max_memory_allocated). */
double vgmo__vlm_peak(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                      size_t n);
/* Bytes the caching allocator must hold for it: the peak plus this
 * batch's overhead, rounded to allocator blocks. */
double vgmo__vlm_need(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                      size_t n);
/* The oracle's question: the largest n <= `n` whose first n requests
 * need at most `available` bytes (0: not even one). Agrees exactly with
 * vgmo__vlm_need. */
size_t vgmo__vlm_largest_fit(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                             size_t n, double available);
/* Seconds the batch takes: prefill (compute-bound) then decode
 * (bandwidth-bound: the weights are read once per step for the whole
 * batch, each sequence's KV cache once per step). */
double vgmo__vlm_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                         size_t n);
/* Seconds a batch that runs out of memory wastes: its prefill up to the
 * failing allocation, then garbage collection and emptying the cache. */
double vgmo__vlm_oom_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                             size_t n, double available);

/* Request `i` of a trace as model `m` sees it, with id `id`. */
struct vgmo__trace;
void vgmo__vlm_req_from_trace(const vgmo_vlm_model *m,
                              const struct vgmo__trace *t, size_t i,
                              uint64_t id, vgmo__vlm_req *out);

#endif
