/*
 * engine_settings.c - settings for the engines people serve VLMs with
 * (vLLM, SGLang, TGI) and for a transformers loop, from the planner's
 * memory estimate, and the memory each engine's own allocation rule then
 * takes. docs/engines.md gives every rule with the engine version it
 * applies to; the arithmetic, in bytes:
 *
 *   margin  M = (1 - memory_threshold_critical) x total, kept free
 *   share   S = (free - M) / instances          (free = total offline)
 *   context C, weights W, workspaces WS, one process each
 *   prompt  P = images x image_tokens + text;  B = P rounded up to 256
 *           (vLLM: at least max_model_len)
 *   act     A = max(decoder_act x B, vision_act x images x image_tokens)
 *   per sequence: KV at max_model_len + fp32 logits of one position
 *   sequences n = (S - C - W - WS - A) / per sequence (capped by
 *                 --concurrency)
 *
 *   vLLM:   utilization u x total = W + WS + A + KV pool; the process
 *           holds u x total + C.
 *   SGLang: mem_fraction_static f_j of the memory free when instance j
 *           starts (F_j, its context already taken): KV pool =
 *           f_j x F_j - W; activations live in (1 - f_j) x F_j.
 *   TGI:    cuda_memory_fraction f_j: after its warmup (W, A held), KV
 *           pool = (free - (1 - f_j) x total) x 0.90 (TGI_WIGGLE_ROOM).
 *   transformers: batch n = (S - C - W - WS) / (KV + activations of one
 *           request), the planner's per-request cost.
 *
 * Fractions have two decimals, rounded up to what n sequences need when
 * the instance then still fits its share, else down (and n cut to what
 * the pool holds).
 *
 * This file holds what every engine shares; engine_rules.c has each
 * engine's own rule.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine_settings.h"
#include "util.h"
#include "vlm_models.h"

#define GIB ((double)VGMO_GIB)
#define BLOCK_TOKENS 16.0 /* vLLM's default block size */
#define STEP_ROUND 256.0  /* batched tokens rounded up to this */
#define MAX_SEQS 100000

static const char *const engine_names[] = {"vllm", "sglang", "tgi",
                                           "transformers"};

const char *vgmo_serving_engine_name(vgmo_serving_engine e)
{
	return (unsigned)e < VGMO__ARRAY_LEN(engine_names) ? engine_names[e]
	                                                   : "unknown";
}

vgmo_err vgmo_serving_engine_parse(const char *name, vgmo_serving_engine *out)
{
	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(engine_names); i++) {
		if (strcmp(name, engine_names[i]) == 0) {
			*out = (vgmo_serving_engine)i;
			return VGMO_OK;
		}
	}
	return VGMO_ERR_INVALID;
}

void vgmo_serving_request_init(vgmo_serving_request *r)
{
	memset(r, 0, sizeof(*r));
	vgmo_plan_request_init(&r->shape);
	r->instances = 1;
}

double vgmo__serving_gib(double b)
{
	return b / GIB;
}

static double vgmo__serving_round_up(double v, double step)
{
	return ceil(v / step - 1e-9) * step;
}

/* Fractions with two decimals, as users write them. */
double vgmo__serving_frac_floor(double x)
{
	return floor(x * 100.0 + 1e-9) / 100.0;
}

double vgmo__serving_frac_ceil(double x)
{
	return ceil(x * 100.0 - 1e-9) / 100.0;
}

void vgmo__serving_add_flag(vgmo_serving_plan *p, const char *name,
                            const char *why, const char *fmt, ...)
{
	vgmo_serving_flag *f;
	va_list ap;

	if (p->nflags >= VGMO_SERVING_MAX_FLAGS)
		return;
	f = &p->flags[p->nflags++];
	vgmo__strlcpy(f->name, name, sizeof(f->name));
	vgmo__strlcpy(f->why, why, sizeof(f->why));
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof(f->value), fmt, ap);
	va_end(ap);
}

static void image_cap(const vgmo_vlm_model *m, const vgmo_serving_request *r,
                      vgmo_serving_plan *p)
{
	uint32_t w = r->shape.image_width, h = r->shape.image_height;

	if (r->max_pixels) {
		/* The worst image under the cap: a square of that area. */
		double side = floor(sqrt((double)r->max_pixels));

		w = h = (uint32_t)side;
		if (m->image_rule == VGMO_IMAGE_PIXELS) {
			double f2 = (double)m->factor * m->factor;
			double cap = fmin((double)r->max_pixels,
			                  (double)m->max_pixels);

			p->image_tokens = (uint32_t)floor(cap / f2);
			if ((double)p->image_tokens * f2 <
			    (double)m->min_pixels)
				p->image_tokens = (uint32_t)ceil(
				        (double)m->min_pixels / f2);
			p->max_pixels = (uint64_t)p->image_tokens * m->factor *
			                m->factor;
			return;
		}
	}
	p->image_tokens = vgmo_model_image_tokens(m, w, h);
	if (m->image_rule == VGMO_IMAGE_PIXELS)
		p->max_pixels =
		        (uint64_t)p->image_tokens * m->factor * m->factor;
}

static vgmo_err setup(const vgmo_vlm_model *m, const vgmo_serving_request *r,
                      const vgmo_config *cfg, vgmo_serving_plan *p,
                      vgmo__serving_common *c, char *err, size_t errlen)
{
	vgmo__batch_shape one = {0};
	vgmo_dtype d = r->shape.dtype;

	c->total = (double)r->total_bytes;
	c->free = r->free_known ? (double)r->free_bytes : c->total;
	if (c->free > c->total)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "free memory (%.2f GiB) exceeds the GPU's "
		                  "total (%.2f GiB)",
		                  vgmo__serving_gib(c->free),
		                  vgmo__serving_gib(c->total));
	c->margin = (1.0 - cfg->memory_threshold_critical) * c->total;
	c->context = VGMO__CONTEXT_BYTES;
	c->weights = (double)vgmo_model_weights_bytes(m, d);
	c->ws = VGMO__WORKSPACE_BYTES;
	image_cap(m, r, p);
	c->images = r->shape.images;
	c->image_tokens = (double)p->image_tokens;
	c->prompt = c->images * c->image_tokens + r->shape.text_tokens;
	if (c->prompt + r->shape.output_tokens < 1)
		return vgmo__errf(
		        err, errlen, VGMO_ERR_INVALID,
		        "a request needs at least one image or token");
	c->len = c->prompt + r->shape.output_tokens;
	if (p->engine == VGMO_SERVING_VLLM)
		c->len = vgmo__serving_round_up(c->len, BLOCK_TOKENS);
	p->prompt_tokens = (uint32_t)c->prompt;
	p->max_model_len = (uint32_t)c->len;
	p->batched_tokens = (uint32_t)vgmo__serving_round_up(fmax(c->prompt, 1),
	                                                     STEP_ROUND);
	/* vLLM without chunked prefill (the V0 engine's default for
	 * multimodal models) refuses max_num_batched_tokens < max_model_len. */
	if (p->engine == VGMO_SERVING_VLLM && p->batched_tokens < c->len)
		p->batched_tokens = (uint32_t)c->len;
	c->kv_tok = (double)vgmo_model_kv_bytes_per_token(m, d);
	c->kv_seq = c->kv_tok * c->len;
	c->logits = vgmo__logits_bytes(m);
	if (p->engine == VGMO_SERVING_TRANSFORMERS) {
		/* The planner's per-request cost: the whole batch prefills at
		 * once. */
		one.image_tokens = c->images * c->image_tokens;
		one.text_tokens = r->shape.text_tokens;
		one.output_tokens = r->shape.output_tokens;
		one.requests = 1;
		c->act = vgmo__estimate_activations(m, &one);
		c->per_seq = c->kv_tok * c->len + c->act;
		c->base = c->weights + c->ws;
	} else {
		c->act = fmax(vgmo__act_decoder_token(m) * p->batched_tokens,
		              vgmo__act_vision_token(m) * c->images *
		                      c->image_tokens);
		c->per_seq = c->kv_seq + c->logits;
		c->base = c->weights + c->ws + c->act;
	}
	c->share = floor((c->free - c->margin) / r->instances);
	if (c->free - c->margin <= 0)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%.2f GiB free is within the %.2f GiB margin "
		                  "(memory_threshold_critical %.2f): nothing "
		                  "can start",
		                  vgmo__serving_gib(c->free),
		                  vgmo__serving_gib(c->margin),
		                  cfg->memory_threshold_critical);
	{
		double room = c->share - c->context - c->base;
		double n = room > 0 ? floor(room / c->per_seq) : 0;

		c->n_fit = n > MAX_SEQS ? MAX_SEQS : (int)n;
	}
	if (c->n_fit < 1)
		return vgmo__errf(
		        err, errlen, VGMO_ERR_INVALID,
		        "%s does not fit: an instance's share is %.2f GiB, "
		        "but its context %.2f + weights %.2f + workspaces "
		        "%.2f + activations %.2f + one sequence %.2f GiB "
		        "need %.2f GiB",
		        m->name, vgmo__serving_gib(c->share),
		        vgmo__serving_gib(c->context),
		        vgmo__serving_gib(c->weights), vgmo__serving_gib(c->ws),
		        p->engine == VGMO_SERVING_TRANSFORMERS
		                ? 0
		                : vgmo__serving_gib(c->act),
		        vgmo__serving_gib(c->per_seq),
		        vgmo__serving_gib(c->context + c->base + c->per_seq));
	p->total_bytes = (uint64_t)c->total;
	p->free_bytes = (uint64_t)c->free;
	p->margin_bytes = (uint64_t)c->margin;
	p->share_bytes = (uint64_t)c->share;
	p->context_bytes = (uint64_t)c->context;
	p->weights_bytes = (uint64_t)c->weights;
	p->workspace_bytes = (uint64_t)c->ws;
	p->activation_bytes = (uint64_t)llround(c->act);
	p->kv_bytes_per_token = (uint64_t)c->kv_tok;
	p->kv_bytes_per_seq = (uint64_t)c->kv_seq;
	p->instances = r->instances;
	p->max_seqs =
	        (uint32_t)(r->concurrency && (int)r->concurrency < c->n_fit
	                           ? (int)r->concurrency
	                           : c->n_fit);
	return VGMO_OK;
}

/* The why of the fraction, shared by the three engines. */
void vgmo__serving_why_fraction(char *buf, size_t n,
                                const vgmo__serving_common *c,
                                const vgmo_serving_plan *p, const char *rule)
{
	snprintf(buf, n,
	         "%s; weights %.1f + activations %.1f + KV %.2f GiB x %u "
	         "seqs (%u tokens); %.1f GiB held by others, %.1f margin, "
	         "%u instance(s)",
	         rule, vgmo__serving_gib(c->weights), vgmo__serving_gib(c->act),
	         vgmo__serving_gib(c->kv_seq), p->max_seqs, p->max_model_len,
	         vgmo__serving_gib(c->total - c->free),
	         vgmo__serving_gib(c->margin), p->instances);
}

void vgmo__serving_common_tail(vgmo_serving_plan *p,
                               const vgmo__serving_common *c, double instance)
{
	p->instance_bytes = (uint64_t)instance;
	p->kv_pool_tokens =
	        (uint64_t)floor((double)p->kv_pool_bytes / c->kv_tok);
	p->seqs_at_max_len =
	        (uint32_t)fmin(4e9, floor((double)p->kv_pool_tokens / c->len));
	p->headroom_bytes = (int64_t)(c->free - instance * p->instances);
}

/* Who decided the number of sequences. */
const char *vgmo__serving_seqs_why(const vgmo_serving_request *r,
                                   const vgmo_serving_plan *p, char *buf,
                                   size_t n)
{
	if (r->concurrency && r->concurrency <= p->max_seqs)
		return "your --concurrency";
	if (r->concurrency)
		snprintf(buf, n, "--concurrency %u does not fit, %u do",
		         r->concurrency, p->max_seqs);
	else
		snprintf(buf, n, "as many as fit the share");
	return buf;
}

/* The fraction was rounded: no more sequences than its pool holds. */
void vgmo__serving_fit_seqs(vgmo_serving_plan *p, double fit)
{
	if (fit >= 1 && floor(fit) < p->max_seqs)
		p->max_seqs = (uint32_t)floor(fit);
}

vgmo_err vgmo_serving_plan_compute(vgmo_serving_engine e,
                                   const vgmo_vlm_model *m,
                                   const vgmo_serving_request *req,
                                   const vgmo_config *cfg,
                                   vgmo_serving_plan *out, char *err,
                                   size_t errlen)
{
	vgmo_config defaults;
	vgmo__serving_common c;
	vgmo_err rc;

	if (m == NULL || req == NULL || out == NULL || req->total_bytes == 0)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "serving plan: model, request and GPU memory "
		                  "needed");
	if ((unsigned)e >= VGMO__ARRAY_LEN(engine_names))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "unknown engine");
	if (req->instances < 1 || req->instances > VGMO_SERVING_MAX_INSTANCES)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "instances: must be 1..%d",
		                  VGMO_SERVING_MAX_INSTANCES);
	rc = vgmo__model_check(m, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	if (cfg == NULL) {
		vgmo_config_defaults(&defaults);
		cfg = &defaults;
	}
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	out->engine = e;
	rc = setup(m, req, cfg, out, &c, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	switch (e) {
	case VGMO_SERVING_VLLM:
		vgmo__serving_vllm(out, &c, req, m);
		break;
	case VGMO_SERVING_SGLANG:
		vgmo__serving_sglang(out, &c, req);
		break;
	case VGMO_SERVING_TGI:
		vgmo__serving_tgi(out, &c, req);
		break;
	case VGMO_SERVING_TRANSFORMERS:
		vgmo__serving_transformers(out, &c, req);
		break;
	}
	return VGMO_OK;
}
