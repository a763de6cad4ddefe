/*
 * vlm_models.h - VLM presets and the planner's documented memory estimate
 * (internal). The benchmark's truth model (vlm_truth.c) does not use the
 * estimate: it has its own accounting.
 *
 * The estimate of a batch's peak (docs/benchmarks.md, "Memory model"):
 *
 *   peak = weights + workspace
 *        + kv_per_token x (image + text + output tokens)
 *        + max(decoder_act x (image + text tokens),
 *              vision_act x image tokens)
 *        + logits x requests
 *
 *   decoder_act = 2 bytes x (4 x hidden + 3 x intermediate): one decoder
 *                 layer's live tensors during prefill (residual, norm,
 *                 q/k/v/o, MLP gate, up and product), with fused attention
 *                 (no seq x seq scores); layers run one after another;
 *   vision_act  = 2 bytes x patches_per_token x (4 x vision_hidden +
 *                 3 x vision_intermediate), the encoder's live tensors per
 *                 language token; the encoder finishes before the decoder
 *                 starts, so the larger of the two is the peak;
 *   logits      = 4 bytes x vocab for the last position of each request.
 */
#ifndef VGMO_LIB_VLM_MODELS_H
#define VGMO_LIB_VLM_MODELS_H

#include <stddef.h>

#include <jansson.h>

#include "vgmo/vgmo.h"

/* cuBLAS / attention workspaces and other fixed allocations. */
#define VGMO__WORKSPACE_BYTES (256.0 * (double)VGMO_MIB)
/* A CUDA context, as the simulated GPU charges it. */
#define VGMO__CONTEXT_BYTES (512.0 * (double)VGMO_MIB)

double vgmo__dtype_bytes(vgmo_dtype d);

/* Field rules shared by presets and custom files; `err` names the field. */
vgmo_err vgmo__model_check(const vgmo_vlm_model *m, char *err, size_t errlen);

/* A model from a Hugging Face config.json object (hf_config.c); `source`
 * names the file in errors. VGMO_ERR_UNSUPPORTED for an architecture it
 * does not know. */
vgmo_err vgmo__hf_config_model(const json_t *root, const char *source,
                               vgmo_vlm_model *out, char *err, size_t errlen);

/* The model's fields as a JSON object (vlm_model_json.c); NULL: no memory. */
json_t *vgmo__model_json(const vgmo_vlm_model *m);

/* The shape of a batch, in tokens of each kind. */
typedef struct vgmo__batch_shape {
	double image_tokens, text_tokens, output_tokens;
	double requests;
} vgmo__batch_shape;

double vgmo__act_decoder_token(const vgmo_vlm_model *m);
double vgmo__act_vision_token(const vgmo_vlm_model *m);
double vgmo__logits_bytes(const vgmo_vlm_model *m);

/* The estimate above, split into its fixed part and the batch's part. */
double vgmo__estimate_fixed(const vgmo_vlm_model *m, vgmo_dtype d);
double vgmo__estimate_batch(const vgmo_vlm_model *m, vgmo_dtype d,
                            const vgmo__batch_shape *b);
/* Activation part only (the max term plus logits). */
double vgmo__estimate_activations(const vgmo_vlm_model *m,
                                  const vgmo__batch_shape *b);

/* A prior for a worker that counts tokens: the fixed part, and the
 * costliest token (KV plus the larger of the two activations). */
void vgmo__plan_unit_prior(const vgmo_vlm_model *m, vgmo_dtype d, double *fixed,
                           double *per_token);

/* The prior of a worker that counts tokens per request shape, phase by
 * phase (the engine's cost model takes a batch's peak as the largest of
 * its phases): the fixed part; the vision encoder's cost per image token;
 * the prefill's per prompt token (KV plus decoder activations) and per
 * request (logits); the decode's per prompt or output token (KV) and per
 * request (logits). With the attention declared, also what it builds
 * over L x L: the prefill's per squared prompt length of a sequence, and
 * the encoder's per squared image tokens of the batch (an encoder that
 * attends over every patch of the batch) or per image token (one that
 * attends within a tile); with logits of every position declared, those
 * per prompt token. */
typedef struct vgmo__phase_prior {
	double fixed;
	double vision_image, vision_image2;
	double vision_window; /* of vision_image: a tiled encoder's scores */
	double prefill_token, prefill_request, prefill_quad;
	double prefill_logits; /* of prefill_token: logits of every position */
	double decode_token, decode_request;
	double kv_token; /* of the above: a token's cache, keys and values */
} vgmo__phase_prior;

void vgmo__plan_phase_prior(const vgmo_vlm_model *m, vgmo_dtype d,
                            vgmo_attention attention,
                            vgmo_attention vision_attention, vgmo_logits logits,
                            vgmo__phase_prior *out);

#endif
