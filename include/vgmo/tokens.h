/*
 * vgmo/tokens.h - batch sizing by cost unit, and batches of requests.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_TOKENS_H
#define VGMO_TOKENS_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/gpu.h"
#include "vgmo/engine.h"
#include "vgmo/worker.h"
#include "vgmo/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------- batch sizing by unit
 *
 * Items of one batch may differ in cost: an image of 4032x3024 pixels
 * costs thirty times one of 640x480. A worker that can count each item's
 * cost before it runs it (the tokens its processor produces, as vLLM's
 * max_num_batched_tokens does) reports the batch's total `units` with
 * each report. vgmo then fits peak = fixed + unit_cost x units, and
 * answers with a budget in units: the worker fills its next batch with
 * items, in order, while their units stay within the budget and their
 * count within max_items (at least one item). The item batch size of
 * vgmo_engine_report keeps working alongside. */

typedef struct vgmo_unit_decision {
	uint64_t unit_budget; /* most units in the next batch; 0: none yet,
	                         run max_items items */
	int max_items;        /* most items in the next batch */
	bool cleanup;         /* the worker should release cached memory */
	bool changed;         /* unit_budget differs from the last one */
} vgmo_unit_decision;

/* The worker's prior before its first unit report (e.g. from
 * vgmo_plan_compute: fixed_bytes and token_bytes). Without it the first
 * batch runs the item batch size and the budget follows from its
 * report. */
VGMO_API vgmo_err vgmo_engine_set_unit_prior(vgmo_engine *e, int worker,
                                             uint64_t fixed_bytes,
                                             double unit_bytes);

/* Like vgmo_engine_report (which it calls), plus the batch's `units`
 * (>= 1); `out` receives the next unit budget. */
VGMO_API vgmo_err vgmo_engine_report_units(vgmo_engine *e, int worker,
                                           const vgmo_report *r, uint64_t units,
                                           vgmo_unit_decision *out);

/* The current decision without reporting. VGMO_ERR_NOT_FOUND for an
 * unknown worker. */
VGMO_API vgmo_err vgmo_engine_unit_decision(vgmo_engine *e, int worker,
                                            vgmo_unit_decision *out);

/* ---------------------------------------------- batches of requests
 *
 * A tokens worker that can tell vgmo each request's shape before it runs
 * (its processor counts the tokens) gets the most exact answers: vgmo
 * learns the cost of prompt tokens and of generated tokens apart, follows
 * the worker's padding, and answers with how many requests from the head
 * of its queue to run next, refusing up front a request that cannot fit
 * (docs/clients.md). */

typedef struct vgmo_request_shape {
	uint32_t images;       /* images in the request */
	uint32_t image_tokens; /* its images' tokens, as the processor counts */
	uint32_t text_tokens;  /* prompt text */
	uint32_t output_tokens; /* max_new_tokens: it may stop earlier */
} vgmo_request_shape;

typedef enum vgmo_fit_verdict {
	VGMO_FIT_OK = 0,  /* it fits now */
	VGMO_FIT_NOT_NOW, /* not in what the worker has now; it would with
	                     the GPU's other memory free */
	VGMO_FIT_NEVER    /* not even alone on the GPU: downscale or split */
} vgmo_fit_verdict;

VGMO_API const char *vgmo_fit_verdict_name(vgmo_fit_verdict v);

/* Whether one request fits, alone, and what would. */
typedef struct vgmo_fit {
	vgmo_fit_verdict verdict;
	uint64_t need_bytes; /* predicted, with the strategy's margin */
	uint64_t room_bytes; /* what the worker may use now, to the OOM line */
	/* The largest prompt (image + text tokens) that fits now with the
	 * same output tokens, and of it what its images may take at the
	 * same text; 0 when nothing fits. */
	uint32_t max_prompt_tokens;
	uint32_t max_image_tokens;
	/* Pixels per image that give max_image_tokens, for the worker's
	 * model (registered with a preset); [U:zero]. */
	uint64_t max_pixels;
	char reason[VGMO_REASON_MAX];
} vgmo_fit;

/* The next batch. */
typedef struct vgmo_batch_plan {
	size_t take;         /* requests from the head to run; 0: refuse the
	                        head (head says why) */
	vgmo_fit head;       /* the head request's answer */
	uint64_t need_bytes; /* predicted for the batch, margin included */
	uint64_t room_bytes; /* what the worker may use now */
	bool cleanup;        /* release cached memory first */
} vgmo_batch_plan;

/* Plans the next batch from the first `n` requests of a worker's queue
 * (oldest first): the longest prefix whose predicted need fits, at most
 * max_batch_size requests (a manual batch size caps it too). */
VGMO_API vgmo_err vgmo_engine_plan_batch(vgmo_engine *e, int worker,
                                         const vgmo_request_shape *queue,
                                         size_t n, vgmo_batch_plan *out);

/* One request's fit (see vgmo_fit). */
VGMO_API vgmo_err vgmo_engine_fit(vgmo_engine *e, int worker,
                                  const vgmo_request_shape *r, vgmo_fit *out);

/* The model preset `worker` registered with: VGMO_ERR_NOT_FOUND for an
 * unknown worker, VGMO_ERR_STATE for one without a model (then image
 * sizes cannot be turned into tokens: the worker counts them). */
VGMO_API vgmo_err vgmo_engine_worker_model(const vgmo_engine *e, int worker,
                                           vgmo_vlm_model *out);

/* Makes `worker` a tokens worker of model `m` (NULL: none; the default
 * prior) laid out with `padding`, before it reported anything
 * (VGMO_ERR_STATE after). */
VGMO_API vgmo_err vgmo_engine_set_worker_model(vgmo_engine *e, int worker,
                                               const vgmo_vlm_model *m,
                                               vgmo_padding padding);

/* Declares how a tokens worker runs its model (vgmo_worker_spec's
 * attention, vision_attention and logits), before it reported anything:
 * the prior of its model prices what they build. VGMO_ERR_STATE for an
 * items worker or after a report. */
VGMO_API vgmo_err vgmo_engine_declare_worker(vgmo_engine *e, int worker,
                                             vgmo_attention attention,
                                             vgmo_attention vision_attention,
                                             vgmo_logits logits);

/* Reports a batch of `n` requests with their shapes (r->items == n);
 * `out` may be NULL. */
VGMO_API vgmo_err vgmo_engine_report_batch(vgmo_engine *e, int worker,
                                           const vgmo_report *r,
                                           const vgmo_request_shape *batch,
                                           size_t n, vgmo_decision *out);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_TOKENS_H */
