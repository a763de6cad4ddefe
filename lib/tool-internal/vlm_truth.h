/*
 * vlm_truth.h - the benchmark's and the simulated GPU's hidden truth: what
 * a batch of VLM requests really costs in memory and time (internal).
 *
 * It is written independently of the planner (planner.c): no function of
 * the planner is called here, and the accounting is a different one. It
 * follows the tensors a Hugging Face `generate` call holds, phase by phase:
 *
 *   vision:  the encoder runs every image of the batch, patch by patch
 *            (pixels, residual stream, MLP), optionally eager attention
 *            scores per image;
 *   prefill: the merged embeddings and residual stream of every prompt
 *            token (padded to the batch's longest prompt, or packed), the
 *            largest of one decoder layer's live tensors (attention or
 *            MLP), optionally eager attention scores, the prompt's KV cache
 *            and the logits (last position, or every position);
 *   decode:  the KV cache of prompt and generated tokens (generation runs
 *            until the batch's longest output ends; padded sequences keep
 *            their padding), a growing cache's copy of one layer, logits;
 *
 * and the peak is the largest phase, over the weights held between
 * batches. The caching allocator holds more than the peak: its
 * fragmentation grows over a run until the cache is emptied, and a batch
 * runs out of memory when the reserve it needs exceeds what the device
 * has left. Each request generates a hidden number of tokens up to its
 * `max_new_tokens` (it stops at an end-of-sequence token).
 *
 * Every assumption is a parameter (vgmo__truth_params) with a documented
 * range (docs/benchmarks.md, "The truth model"), so a benchmark can be
 * run across it. Randomness is keyed by request ids and the seed: every
 * policy that runs the same batch meets the same cost.
 */
#ifndef VGMO_LIB_VLM_TRUTH_H
#define VGMO_LIB_VLM_TRUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

/* A request as a worker sees it before it runs: all a policy may read. */
typedef struct vgmo__vlm_req {
	uint64_t id;    /* stable: the request's hidden draws are keyed by it */
	double arrival; /* seconds, on the run's clock */
	uint32_t nimages;          /* images in the request */
	uint32_t image_tokens;     /* all its images, as the processor counts */
	uint32_t max_image_tokens; /* its largest image's */
	uint32_t text_tokens;
	uint32_t output_tokens; /* max_new_tokens: it may stop earlier */
} vgmo__vlm_req;

/* The truth's parameters, by index. */
enum {
	VGMO__TP_PADDING = 0,      /* 1 padded to the longest, 0 packed */
	VGMO__TP_ATTENTION,        /* decoder: 0 fused, 1 eager scores */
	VGMO__TP_VISION_ATTENTION, /* encoder: 0 fused, 1 eager scores */
	VGMO__TP_LOGITS,           /* 0 last position, 1 every position */
	VGMO__TP_ACT_SCALE,        /* decoder temporaries x */
	VGMO__TP_VISION_SCALE,     /* encoder temporaries x */
	VGMO__TP_WORKSPACE_MIB,    /* allocator-held workspaces */
	VGMO__TP_CONTEXT_MIB,      /* CUDA context and non-torch memory */
	VGMO__TP_FRAG_MAX,         /* fragmentation reached over a run */
	VGMO__TP_FRAG_BATCHES,     /* batches to build it up (1 - 1/e) */
	VGMO__TP_OUTPUT_FILL,      /* mean generated / max_new_tokens */
	VGMO__TP_STEP_MS,          /* host overhead per decode step */
	VGMO__TP_CACHE_COPY,       /* 1: the growing cache copies a layer */
	VGMO__TP_TEMPLATE_TOKENS,  /* chat template tokens per request */
	VGMO__TP_ROUNDING,         /* block rounding per batch, up to x */
	VGMO__TP_COUNT
};

typedef struct vgmo__truth_params {
	double v[VGMO__TP_COUNT];
} vgmo__truth_params;

/* One parameter's documentation. */
typedef struct vgmo__truth_param_info {
	const char *key;
	double def, lo, hi;
	bool discrete; /* 0 or 1 only */
	const char *about;
	const char *source; /* where the range comes from */
} vgmo__truth_param_info;

void vgmo__truth_params_defaults(vgmo__truth_params *p);
/* All parameters, in index order (VGMO__TP_COUNT entries). */
const vgmo__truth_param_info *vgmo__truth_param_table(void);
/* -1 when `key` is not a parameter. */
int vgmo__truth_param_index(const char *key);
/* Sets one parameter; VGMO_ERR_INVALID with a reason naming the key and
 * its range when the key is unknown or the value outside the range. */
vgmo_err vgmo__truth_param_set(vgmo__truth_params *p, const char *key,
                               double value, char *err, size_t errlen);
/* "KEY=VALUE". */
vgmo_err vgmo__truth_param_parse(vgmo__truth_params *p, const char *kv,
                                 char *err, size_t errlen);

typedef struct vgmo__vlm_truth {
	vgmo_vlm_model model;
	vgmo_dtype dtype;
	vgmo__truth_params p;
	uint64_t seed;
	double flops, bandwidth; /* the GPU's effective FLOP/s and bytes/s */
	/* Derived from the model and the parameters at init. */
	double weights;    /* bytes allocated between batches */
	double workspace;  /* bytes reserved between batches, outside peaks */
	double context;    /* bytes on the device outside the allocator */
	double kv_token;   /* KV cache bytes per token, all layers */
	double layer_tok;  /* one decoder layer's live bytes per token */
	double embed_tok;  /* embeddings + residual stream per token */
	double patch;      /* encoder bytes per patch, pixels included */
	double vis_layers; /* encoder depth */
	double vis_heads;
} vgmo__vlm_truth;

/* `flops` and `bandwidth` of the GPU; `seed` keys the hidden draws;
 * `p` NULL: the defaults. */
void vgmo__vlm_truth_init(vgmo__vlm_truth *t, const vgmo_vlm_model *m,
                          vgmo_dtype d, const vgmo__truth_params *p,
                          double flops, double bandwidth, uint64_t seed);
/* Recomputes the derived sizes after t->p was changed (tests). */
void vgmo__vlm_truth_derive(vgmo__vlm_truth *t);

/* Tokens request `r` really generates (hidden: <= r->output_tokens). */
uint32_t vgmo__vlm_generated(const vgmo__vlm_truth *t, const vgmo__vlm_req *r);

/* What one batch costs. */
typedef struct vgmo__vlm_cost {
	double peak; /* bytes allocated at the peak (weights included) */
	double vision, prefill, decode; /* each phase's peak, same basis */
	double steps;                   /* decode steps the batch runs */
	double seconds;                 /* wall time when it succeeds */
	double t_prefill;               /* seconds until decoding starts */
} vgmo__vlm_cost;

void vgmo__vlm_cost_of(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                       size_t n, vgmo__vlm_cost *out);

/* Fragmentation of the caching allocator after `batches` batches since
 * the cache was last emptied: the reserve a peak needs is
 * peak x (1 + fragmentation). */
double vgmo__vlm_fragmentation(const vgmo__vlm_truth *t, double batches);

/* The share of the fragmentation that lies in blocks still in use: when a
 * reserve cannot be had, the allocator releases its free cached blocks
 * and retries (PyTorch's num_alloc_retries), and the batch runs out of
 * memory only if the reserve without the released part still does not
 * fit. */
#define VGMO__FRAG_LIVE 0.5

/* Bytes the allocator must reserve for a batch with this peak
 * (fragmentation, block rounding; keyed by the batch's first request). */
double vgmo__vlm_need(const vgmo__vlm_truth *t, double peak, double frag,
                      const vgmo__vlm_req *r, size_t n);

/* The oracle's question: the largest n <= `n` whose first n requests need
 * at most `available` bytes with fragmentation `frag` (0: not even one;
 * pass VGMO__FRAG_LIVE x the fragmentation for what can run at all).
 * Agrees exactly with vgmo__vlm_cost_of + vgmo__vlm_need. */
size_t vgmo__vlm_largest_fit(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                             size_t n, double available, double frag);

/* Seconds a batch that runs out of memory with `available` bytes wastes:
 * up to the phase that fails (a decode that fails has run part of its
 * steps), then garbage collection and emptying the cache. */
double vgmo__vlm_oom_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_cost *c,
                             double available, double frag);

/* Request `i` of a trace as model `m`'s processor counts it. */
struct vgmo__trace;
void vgmo__vlm_req_from_trace(const vgmo_vlm_model *m,
                              const struct vgmo__trace *t, size_t i,
                              uint64_t id, double arrival, vgmo__vlm_req *out);

#endif
