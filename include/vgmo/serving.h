/*
 * vgmo/serving.h - settings for serving engines (vLLM, SGLang, TGI,
 * transformers).
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_SERVING_H
#define VGMO_SERVING_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/config.h"
#include "vgmo/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------- settings for serving engines
 *
 * The flags of a serving engine (vLLM, SGLang, TGI) or a transformers loop
 * for one model and request shape on one GPU, each with the reason, and
 * the memory that engine's own allocation rule would then take
 * (engine_settings.c; docs/engines.md states each rule and the engine
 * versions it applies to). */

typedef enum vgmo_serving_engine {
	VGMO_SERVING_VLLM = 0,
	VGMO_SERVING_SGLANG,
	VGMO_SERVING_TGI,
	VGMO_SERVING_TRANSFORMERS
} vgmo_serving_engine;

#define VGMO_SERVING_MAX_INSTANCES 16
#define VGMO_SERVING_MAX_FLAGS 10

VGMO_API const char *vgmo_serving_engine_name(vgmo_serving_engine e);
VGMO_API vgmo_err vgmo_serving_engine_parse(const char *name,
                                            vgmo_serving_engine *out);

/* What is asked, and what the GPU holds. */
typedef struct vgmo_serving_request {
	vgmo_plan_request shape; /* image, images, text, output, dtype */
	uint64_t max_pixels;     /* per image; 0: from shape's image size */
	uint32_t concurrency;    /* sequences wanted in flight; 0: all fit */
	uint32_t instances;      /* instances sharing the GPU equally, >= 1 */
	uint64_t total_bytes;    /* the GPU's memory */
	/* Memory free now on a live node (free_known); otherwise the GPU
	 * is taken as empty. */
	bool free_known;
	uint64_t free_bytes;
} vgmo_serving_request;

VGMO_API void vgmo_serving_request_init(vgmo_serving_request *r);

typedef struct vgmo_serving_flag {
	char name[40];  /* "--gpu-memory-utilization", "batch_size" */
	char value[96]; /* as pasted */
	char why[224];  /* one line */
} vgmo_serving_flag;

typedef struct vgmo_serving_plan {
	vgmo_serving_engine engine;
	uint64_t total_bytes, free_bytes; /* free: the GPU's, or total */
	uint64_t
	        margin_bytes; /* kept free on the GPU: (1 - critical) x total */
	uint64_t share_bytes; /* one instance's part of free - margin */
	uint64_t context_bytes; /* one process's CUDA context */
	uint64_t weights_bytes, workspace_bytes;
	uint64_t activation_bytes; /* the prefill step's peak, one instance */
	uint32_t image_tokens;     /* per image at the pixel cap */
	uint64_t max_pixels;     /* per image; 0: the model has no pixel cap */
	uint32_t prompt_tokens;  /* images + text of one request */
	uint32_t max_model_len;  /* prompt + output (vLLM: block multiple) */
	uint32_t batched_tokens; /* tokens of one prefill step */
	uint64_t kv_bytes_per_token, kv_bytes_per_seq;
	uint32_t max_seqs; /* sequences (or batch) per instance */
	unsigned instances;
	/* Per instance in start order: the engine's memory fraction (vLLM's
	 * is the same for all; SGLang's and TGI's depend on what is free when
	 * each starts). transformers: 0. */
	double fraction[VGMO_SERVING_MAX_INSTANCES];
	/* The engine's rule applied to those settings, one instance. */
	uint64_t instance_bytes; /* all it holds, context included */
	uint64_t kv_pool_bytes;  /* its KV cache */
	uint64_t kv_pool_tokens;
	uint32_t seqs_at_max_len; /* KV pool / max_model_len */
	int64_t headroom_bytes;   /* free left once all instances run */
	int nflags;
	vgmo_serving_flag flags[VGMO_SERVING_MAX_FLAGS];
} vgmo_serving_plan;

/* Fills *out for engine `e`. `cfg` NULL: the defaults (its
 * memory_threshold_critical sets the margin). VGMO_ERR_INVALID with `err`
 * saying why when nothing fits (the weights and one sequence exceed an
 * instance's share) or the request is out of range. */
VGMO_API vgmo_err vgmo_serving_plan_compute(vgmo_serving_engine e,
                                            const vgmo_vlm_model *m,
                                            const vgmo_serving_request *req,
                                            const vgmo_config *cfg,
                                            vgmo_serving_plan *out, char *err,
                                            size_t errlen);

/* What a daemon's GET /v1/status says about GPU `gpu` (the text of the
 * answer): total and free memory, and the clients registered on it.
 * Errors name the key that is missing or malformed. */
typedef struct vgmo_serving_node {
	uint64_t total_bytes, free_bytes, used_bytes;
	char gpu_name[96];
	/* Processes the device lists (NVML); [U:neg] -1 when it lists none (the
	 * simulated GPU, drivers without the call); their memory where
	 * reported. */
	int processes;
	uint64_t process_bytes;
	unsigned clients;             /* registered clients on that GPU */
	uint64_t client_budget_bytes; /* the sum of their budgets */
	char client_names[256];       /* "a, b", cut to fit */
} vgmo_serving_node;

VGMO_API vgmo_err vgmo_serving_node_from_status(const char *json, size_t len,
                                                int gpu, vgmo_serving_node *out,
                                                char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_SERVING_H */
