/*
 * planner.c - the documented memory estimate (vlm_models.h) and the plan:
 * memory breakdown and the largest batch at each strategy.
 */
#include <math.h>
#include <string.h>

#include "gpu_presets.h"
#include "strategy_table.h"
#include "util.h"
#include "vlm_models.h"

#define ACT_BYTES 2.0 /* activations stay 16-bit, even with fp8 weights */

double vgmo__act_decoder_token(const vgmo_vlm_model *m)
{
	return ACT_BYTES * (4.0 * m->hidden + 3.0 * m->intermediate);
}

double vgmo__act_vision_token(const vgmo_vlm_model *m)
{
	return ACT_BYTES * m->patches_per_token *
	       (4.0 * m->vision_hidden + 3.0 * m->vision_intermediate);
}

double vgmo__logits_bytes(const vgmo_vlm_model *m)
{
	return 4.0 * m->vocab;
}

double vgmo__estimate_fixed(const vgmo_vlm_model *m, vgmo_dtype d)
{
	return (double)vgmo_model_weights_bytes(m, d) + VGMO__WORKSPACE_BYTES;
}

double vgmo__estimate_activations(const vgmo_vlm_model *m,
                                  const vgmo__batch_shape *b)
{
	double dec =
	        vgmo__act_decoder_token(m) * (b->image_tokens + b->text_tokens);
	double vis = vgmo__act_vision_token(m) * b->image_tokens;

	return fmax(dec, vis) + vgmo__logits_bytes(m) * b->requests;
}

double vgmo__estimate_batch(const vgmo_vlm_model *m, vgmo_dtype d,
                            const vgmo__batch_shape *b)
{
	double kv = (double)vgmo_model_kv_bytes_per_token(m, d) *
	            (b->image_tokens + b->text_tokens + b->output_tokens);

	return kv + vgmo__estimate_activations(m, b);
}

void vgmo__plan_unit_prior(const vgmo_vlm_model *m, vgmo_dtype d, double *fixed,
                           double *per_token)
{
	*fixed = vgmo__estimate_fixed(m, d);
	*per_token =
	        (double)vgmo_model_kv_bytes_per_token(m, d) +
	        fmax(vgmo__act_decoder_token(m), vgmo__act_vision_token(m));
}

/* Bytes an attention kernel builds per query-key pair: eager holds the
 * scores of every head in bf16 while softmax writes them in fp32, beside
 * a bf16 mask; sdpa a boolean mask; flash nothing. */
static double pair_bytes(vgmo_attention a, double heads)
{
	switch (a) {
	case VGMO_ATTENTION_EAGER:
		return heads * (ACT_BYTES + 4.0) + ACT_BYTES;
	case VGMO_ATTENTION_SDPA:
		return 1.0;
	case VGMO_ATTENTION_FLASH:
	case VGMO_ATTENTION_UNKNOWN:
	default:
		return 0;
	}
}

/* The encoder's heads: configurations give its width, and every encoder
 * of the presets has heads at least 64 wide (CLIP and InternViT 64,
 * SigLIP 72, Qwen2-VL's 80): this errs toward more heads, a costlier
 * prior, never a cheaper one. */
static double vision_heads(const vgmo_vlm_model *m)
{
	return fmax(1.0, floor(m->vision_hidden / 64.0));
}

/* Patches one patch of an image attends to in the encoder: a tile's,
 * or a fixed-size image's; 0 for an encoder over the whole batch. */
static double window_patches(const vgmo_vlm_model *m)
{
	switch (m->image_rule) {
	case VGMO_IMAGE_TILES:
		return (double)m->tokens_per_tile * m->patches_per_token;
	case VGMO_IMAGE_FIXED:
		return (double)m->image_tokens * m->patches_per_token;
	case VGMO_IMAGE_PIXELS:
	default:
		return 0;
	}
}

void vgmo__plan_phase_prior(const vgmo_vlm_model *m, vgmo_dtype d,
                            vgmo_attention attention,
                            vgmo_attention vision_attention, vgmo_logits logits,
                            vgmo__phase_prior *out)
{
	double kv = (double)vgmo_model_kv_bytes_per_token(m, d);
	double ppt = m->patches_per_token;
	double vis_pair = pair_bytes(vision_attention, vision_heads(m));
	double window = window_patches(m);

	out->fixed = vgmo__estimate_fixed(m, d);
	out->vision_image = vgmo__act_vision_token(m);
	/* An encoder within tiles: each patch against its tile's (an sdpa
	 * encoder there needs no mask); over the batch: every patch
	 * against every other. */
	out->vision_window =
	        window > 0 && vision_attention == VGMO_ATTENTION_EAGER
	                ? vis_pair * ppt * window
	                : 0;
	out->vision_image += out->vision_window;
	out->vision_image2 = window > 0 ? 0 : vis_pair * ppt * ppt;
	out->prefill_quad = pair_bytes(attention, m->heads);
	/* Priced at the costlier of the two activations, as the single
	 * estimate does: a first batch errs high rather than low. */
	out->prefill_token = kv + fmax(vgmo__act_decoder_token(m),
	                               vgmo__act_vision_token(m));
	out->prefill_request = vgmo__logits_bytes(m);
	/* Logits of every prompt position: bf16 from the head, then their
	 * fp32 copy (the last position's among them). */
	out->prefill_logits =
	        logits == VGMO_LOGITS_ALL ? (ACT_BYTES + 4.0) * m->vocab : 0;
	out->prefill_token += out->prefill_logits;
	if (logits == VGMO_LOGITS_ALL)
		out->prefill_request = 0;
	out->decode_token = kv;
	out->kv_token = kv;
	out->decode_request = vgmo__logits_bytes(m);
}

void vgmo_plan_request_init(vgmo_plan_request *r)
{
	memset(r, 0, sizeof(*r));
	r->image_width = 1024;
	r->image_height = 1024;
	r->images = 1;
	r->text_tokens = 128;
	r->output_tokens = 256;
	r->dtype = VGMO_DTYPE_BF16;
}

static int fit(double budget, double fixed, double item)
{
	double n;

	if (!(item > 0) || budget <= fixed)
		return 0;
	n = floor((budget - fixed) / item);
	return n > 1e6 ? 1000000 : (int)n;
}

vgmo_err vgmo_plan_compute(const vgmo_vlm_model *m,
                           const vgmo_plan_request *req, uint64_t total,
                           const vgmo_config *cfg, vgmo_plan *out, char *err,
                           size_t errlen)
{
	vgmo_config defaults;
	vgmo__batch_shape one;
	double fixed, item;
	vgmo_err rc;

	if (m == NULL || req == NULL || out == NULL || total == 0)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "plan: model, request and GPU memory needed");
	rc = vgmo__model_check(m, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	if (cfg == NULL) {
		vgmo_config_defaults(&defaults);
		cfg = &defaults;
	}
	memset(out, 0, sizeof(*out));
	out->total_bytes = total;
	out->context_bytes = (uint64_t)VGMO__CONTEXT_BYTES;
	out->reserve_bytes = (uint64_t)cfg->memory_reserve_mb * VGMO__MIB;
	out->weights_bytes = vgmo_model_weights_bytes(m, req->dtype);
	out->workspace_bytes = (uint64_t)VGMO__WORKSPACE_BYTES;
	out->fixed_bytes = out->weights_bytes + out->workspace_bytes;
	out->image_tokens =
	        vgmo_model_image_tokens(m, req->image_width, req->image_height);
	one.image_tokens = (double)out->image_tokens * req->images;
	one.text_tokens = req->text_tokens;
	one.output_tokens = req->output_tokens;
	one.requests = 1;
	out->request_tokens = (uint32_t)(one.image_tokens + one.text_tokens +
	                                 one.output_tokens);
	out->kv_bytes_per_token = vgmo_model_kv_bytes_per_token(m, req->dtype);
	out->kv_bytes = out->kv_bytes_per_token * out->request_tokens;
	out->activation_bytes =
	        (uint64_t)llround(vgmo__estimate_activations(m, &one));
	out->request_bytes = out->kv_bytes + out->activation_bytes;
	out->token_bytes = out->request_tokens ? (double)out->request_bytes /
	                                                 out->request_tokens
	                                       : 0;
	fixed = (double)out->fixed_bytes;
	item = (double)out->request_bytes;
	for (int k = 0; k < 4; k++) {
		const vgmo__strategy_spec *sp =
		        vgmo__strategy((vgmo_strategy)k);
		double room = (double)total - (double)out->context_bytes;

		if (sp->reserve == VGMO__RESERVE_ALWAYS)
			room -= (double)out->reserve_bytes;
		out->room_bytes[k] = room > 0 ? (uint64_t)room : 0;
		out->batch[k] = fit(room, fixed, item);
	}
	return VGMO_OK;
}
