/*
 * vgmo/plan.h - VLM memory planning: model presets, image tokens, memory
 * plans.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_PLAN_H
#define VGMO_PLAN_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* =================================================================
 * VLM memory planning: model presets, image tokens, memory plans, and
 * batch sizing by cost unit (tokens). vlm_models.c, planner.c, units.c.
 * ================================================================= */

typedef enum vgmo_dtype {
	VGMO_DTYPE_BF16 = 0, /* 2 bytes per weight and per KV element */
	VGMO_DTYPE_FP16,     /* 2 bytes */
	VGMO_DTYPE_FP8       /* 1 byte for weights and KV cache; activations
	                        stay in 16-bit */
} vgmo_dtype;

VGMO_API const char *vgmo_dtype_name(vgmo_dtype d);
VGMO_API vgmo_err vgmo_dtype_parse(const char *name, vgmo_dtype *out);

/* How a model turns an image of W x H pixels into tokens. */
typedef enum vgmo_image_rule {
	/* Resized to one fixed resolution: `image_tokens` per image. */
	VGMO_IMAGE_FIXED = 0,
	/* Scaled down (up too when `upscale`) so the longest edge is at most
	 * `max_edge` (0: no limit), cut into tiles of `tile` pixels (a grid of
	 * ceil(w/tile) x ceil(h/tile), shrunk keeping the aspect ratio until
	 * it has at most `max_tiles` tiles), `tokens_per_tile` each, plus
	 * one thumbnail tile per `thumbnail`. */
	VGMO_IMAGE_TILES,
	/* Dynamic resolution (Qwen2-VL's smart_resize): each side rounded to
	 * a multiple of `factor` pixels, the area then scaled into
	 * [min_pixels, max_pixels]; one token per factor x factor pixels. */
	VGMO_IMAGE_PIXELS
} vgmo_image_rule;

typedef enum vgmo_thumbnail {
	VGMO_THUMBNAIL_NEVER = 0,
	VGMO_THUMBNAIL_MULTI, /* one global tile when there are 2+ tiles */
	VGMO_THUMBNAIL_ALWAYS /* one global tile always (LLaVA-NeXT) */
} vgmo_thumbnail;

/* A vision-language model's public configuration facts. Counts, not
 * bytes: bytes follow from the dtype. */
typedef struct vgmo_vlm_model {
	char name[64];
	double params;        /* all parameters, language + vision */
	double vision_params; /* the vision encoder's (and projector's) */
	/* Language decoder shape. */
	uint32_t layers, hidden, heads, kv_heads, head_dim, intermediate, vocab;
	/* Vision encoder: width, MLP width, and encoder patches merged into
	 * one language token (4 for a 2x2 merge or pixel shuffle 2). */
	uint32_t vision_hidden, vision_intermediate, patches_per_token;
	vgmo_image_rule image_rule;
	uint32_t image_tokens;                               /* FIXED */
	uint32_t tile, tokens_per_tile, max_tiles, max_edge; /* TILES */
	bool upscale; /* TILES: scale the longest edge to max_edge always */
	vgmo_thumbnail thumbnail;        /* TILES */
	uint32_t factor;                 /* PIXELS */
	uint64_t min_pixels, max_pixels; /* PIXELS */
} vgmo_vlm_model;

/* Names of the built-in model presets, NULL-terminated. */
VGMO_API const char *const *vgmo_model_presets(void);
/* Copies preset `name` into *out; VGMO_ERR_NOT_FOUND if unknown. */
VGMO_API vgmo_err vgmo_model_preset_find(const char *name, vgmo_vlm_model *out);
/* A custom model from a JSON object with the same fields (see
 * docs/benchmarks.md). Unknown or duplicate keys, wrong types and values
 * out of range are errors naming the source, line, field and reason. */
VGMO_API vgmo_err vgmo_model_load_string(const char *json, size_t len,
                                         const char *source,
                                         vgmo_vlm_model *out, char *err,
                                         size_t errlen);
VGMO_API vgmo_err vgmo_model_load_file(const char *path, vgmo_vlm_model *out,
                                       char *err, size_t errlen);
/* A preset name, or else a JSON file of that path. */
VGMO_API vgmo_err vgmo_model_resolve(const char *name_or_path,
                                     vgmo_vlm_model *out, char *err,
                                     size_t errlen);

/* Tokens one image of width x height pixels becomes (0 when either side
 * is 0). */
VGMO_API uint32_t vgmo_model_image_tokens(const vgmo_vlm_model *m,
                                          uint32_t width, uint32_t height);
VGMO_API uint64_t vgmo_model_weights_bytes(const vgmo_vlm_model *m,
                                           vgmo_dtype d);
/* 2 x layers x kv_heads x head_dim x bytes per element. */
VGMO_API uint64_t vgmo_model_kv_bytes_per_token(const vgmo_vlm_model *m,
                                                vgmo_dtype d);

/* The simulated GPU runs any preset: vgmo_sim_options.workload may also
 * be a built-in workload with an optional model, "NAME[:MODEL]" (NAME one
 * of docs, photos, mixed, drift, cotenant; MODEL a preset or a JSON file,
 * default qwen2-vl-7b; docs/traces.md), or "requests[:MODEL]" for a worker
 * that the caller feeds. */

/* Total memory of a simulated GPU preset (see vgmo_sim_presets). */
VGMO_API vgmo_err vgmo_gpu_preset_memory(const char *name, uint64_t *out);

/* The request shape a plan is made for. */
typedef struct vgmo_plan_request {
	uint32_t image_width, image_height; /* 1024 x 1024 */
	uint32_t images;                    /* per request, 1 */
	uint32_t text_tokens;               /* prompt text, 128 */
	uint32_t output_tokens;             /* generated, 256 */
	vgmo_dtype dtype;                   /* bf16 */
} vgmo_plan_request;

VGMO_API void vgmo_plan_request_init(vgmo_plan_request *r);

/* Memory breakdown and largest batches, in bytes and requests. The
 * worker's peak for a batch of n requests is estimated as
 * fixed_bytes + n x request_bytes; a strategy's batch is the largest n
 * whose peak fits the room that strategy fills (docs/strategies.md) on a
 * GPU the worker has to itself:
 *   conservative   total - context - reserve (memory_reserve_mb)
 *   balanced       total - context (it keeps the reserve only as far as
 *                  other processes' memory rises; a plan knows of none)
 *   aggressive     total - context
 *   adaptive       total - context (it measures how far filling pays)
 * These are the batches at the estimate. The engine keeps a margin on top
 * from the worker's measured errors (a few per cent once it has reports)
 * and starts a tokens worker at one request. No max_batch_size clamp is
 * applied; the engine applies it. */
typedef struct vgmo_plan {
	uint64_t total_bytes;     /* the GPU */
	uint64_t context_bytes;   /* the CUDA context */
	uint64_t reserve_bytes;   /* memory_reserve_mb */
	uint64_t weights_bytes;   /* parameters x dtype size */
	uint64_t workspace_bytes; /* library workspaces, fixed */
	uint64_t fixed_bytes;     /* weights + workspace */
	uint64_t room_bytes[4];   /* by vgmo_strategy: what a batch may peak
	                             at, fixed_bytes included */
	uint32_t image_tokens;    /* per image */
	uint32_t request_tokens;  /* images + text + output, per request */
	uint64_t kv_bytes_per_token;
	uint64_t kv_bytes;         /* per request */
	uint64_t activation_bytes; /* per request, at the prefill peak */
	uint64_t request_bytes;    /* kv + activations */
	double token_bytes;        /* request_bytes / request_tokens */
	int batch[4];              /* by vgmo_strategy; 0: nothing fits */
} vgmo_plan;

/* `cfg` NULL: the defaults. */
VGMO_API vgmo_err vgmo_plan_compute(const vgmo_vlm_model *m,
                                    const vgmo_plan_request *req,
                                    uint64_t gpu_total_bytes,
                                    const vgmo_config *cfg, vgmo_plan *out,
                                    char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_PLAN_H */
