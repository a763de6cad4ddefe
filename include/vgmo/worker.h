/*
 * vgmo/worker.h - the workers an engine sizes batches for: adding,
 * registering, reports and decisions.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_WORKER_H
#define VGMO_WORKER_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- workers */

/* A worker runs a model on one GPU in batches. Worker 0, "default", always
 * exists on device 0: its batch size is the seed's single batch size. */
#define VGMO_DEFAULT_WORKER 0

typedef struct vgmo_report {
	uint32_t items;           /* items in the batch (>= 1) */
	uint64_t peak_bytes;      /* peak allocated during the batch */
	uint64_t allocated_bytes; /* allocated now; 0 = not reported */
	uint64_t reserved_bytes;  /* reserved by the allocator now; 0 = n/r */
	double seconds;           /* time the batch took; <= 0 = not reported */
	bool oom;                 /* the batch ended in out-of-memory */
	uint64_t freed_bytes;     /* released by the cleanup asked for */
} vgmo_report;

typedef struct vgmo_decision {
	int batch_size; /* the next batch size */
	bool cleanup;   /* the worker should release cached memory */
	bool changed;   /* batch size differs from the last one */
} vgmo_decision;

/* Adds a worker on device `gpu` (or finds the one of that name there).
 * `weight` > 0 (1 by default). */
VGMO_API vgmo_err vgmo_engine_worker_add(vgmo_engine *e, const char *name,
                                         unsigned gpu, double weight,
                                         int *id_out);
VGMO_API vgmo_err vgmo_engine_worker_remove(vgmo_engine *e, int id);

/* How a tokens worker lays a batch out: padded to its longest prompt (a
 * Hugging Face processor with padding=True: the batch costs requests x
 * the longest), or packed (varlen kernels: the sum). Unknown: vgmo learns
 * which one its reports follow, assuming padded meanwhile. */
typedef enum vgmo_padding {
	VGMO_PADDING_UNKNOWN = 0,
	VGMO_PADDING_PADDED,
	VGMO_PADDING_PACKED
} vgmo_padding;

VGMO_API const char *vgmo_padding_name(vgmo_padding p);
VGMO_API vgmo_err vgmo_padding_parse(const char *name, vgmo_padding *out);

/* The attention a tokens worker's decoder or vision encoder runs
 * (transformers' attn_implementation). Flash: no L x L tensor ("flash_
 * attention_2", also "flash_attention_3" and "flex_attention"); sdpa: a
 * boolean L x L mask per padded sequence (over all the batch's patches
 * in a dynamic-resolution encoder); eager: a mask and heads x L x L
 * scores in bf16 and fp32. The prior prices what is declared; unknown:
 * the cost model learns any square from the reports alone. */
typedef enum vgmo_attention {
	VGMO_ATTENTION_UNKNOWN = 0,
	VGMO_ATTENTION_FLASH,
	VGMO_ATTENTION_SDPA,
	VGMO_ATTENTION_EAGER
} vgmo_attention;

VGMO_API const char *vgmo_attention_name(vgmo_attention a);
VGMO_API vgmo_err vgmo_attention_parse(const char *name, vgmo_attention *out);

/* Which logits a tokens worker's prefill computes: the last position of
 * each request ("last": generate with logits_to_keep), or every prompt
 * position ("all": a forward pass for scoring, or generate on a model
 * without logits_to_keep), bf16 with an fp32 copy. Unknown: priced as
 * last, the rest learned from the reports. */
typedef enum vgmo_logits {
	VGMO_LOGITS_UNKNOWN = 0,
	VGMO_LOGITS_LAST,
	VGMO_LOGITS_ALL
} vgmo_logits;

VGMO_API const char *vgmo_logits_name(vgmo_logits l);
VGMO_API vgmo_err vgmo_logits_parse(const char *name, vgmo_logits *out);

/* A registered client: a worker with a lease, a cost unit and a prior. */
typedef struct vgmo_worker_spec {
	const char *name; /* 1..63 characters */
	unsigned gpu;
	double weight;         /* > 0; 0 means 1 */
	bool leased;           /* dropped when it stops reporting */
	const char *unit;      /* "items" (NULL), "images" or "tokens" */
	uint64_t prior_fixed;  /* bytes before any report; [U:zero] */
	double prior_per_item; /* bytes per unit before any report; 0: the
	                          engine's default prior */
	/* Tokens workers: the model preset it runs (NULL: none; then
	 * prior_fixed and prior_per_item, or the default prior), which also
	 * turns token answers into pixels; and its padding. */
	const char *model;
	vgmo_padding padding;
	/* Tokens workers of a model: the attention of its decoder and of its
	 * vision encoder, and the logits its prefill computes (UNKNOWN:
	 * learned). */
	vgmo_attention attention, vision_attention;
	vgmo_logits logits;
	/* Its process id ([U:zero]): where the backend lists processes
	 * (NVML), the memory the worker holds is its process's figure, not
	 * what it reports. */
	uint32_t pid;
} vgmo_worker_spec;

/* Adds the worker, or finds the one of that name on that GPU (then its
 * learned model is kept, its weight and lease renewed, *existed true).
 * Worker ids are never reused in the engine's life. A leased spec never
 * takes over a built-in worker ("default", the simulated ones):
 * VGMO_ERR_PERMISSION; past vgmo_engine_set_max_clients: VGMO_ERR_STATE. */
VGMO_API vgmo_err vgmo_engine_worker_register(vgmo_engine *e,
                                              const vgmo_worker_spec *spec,
                                              int *id_out, bool *existed);

/* At most `max` leased workers (clients) at once; 0: no cap. A
 * registration past the cap is refused with VGMO_ERR_STATE. */
VGMO_API void vgmo_engine_set_max_clients(vgmo_engine *e, size_t max);

/* Feeds one batch's report into the worker's model; an OOM halves the batch
 * size at once. `out` receives the next batch size. */
VGMO_API vgmo_err vgmo_engine_report(vgmo_engine *e, int worker,
                                     const vgmo_report *r, vgmo_decision *out);

VGMO_API int vgmo_engine_batch_size(const vgmo_engine *e, int worker);

/* Manual override of a worker's batch size; outside [min, max] is refused
 * with VGMO_ERR_INVALID. 0 clears the override. */
VGMO_API vgmo_err vgmo_engine_set_batch_size(vgmo_engine *e, int worker,
                                             int size, char *err,
                                             size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_WORKER_H */
