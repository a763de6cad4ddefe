/*
 * engine_rules.c - each serving engine's own allocation rule (vLLM,
 * SGLang, TGI, a transformers loop): from what every engine shares
 * (engine_settings.c), the flags that size its memory and what it then
 * takes. engine_settings.c's head comment gives the arithmetic.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_settings.h"
#include "util.h"
#include "vlm_models.h"

void vgmo__serving_vllm(vgmo_serving_plan *p, const vgmo__serving_common *c,
                        const vgmo_serving_request *r, const vgmo_vlm_model *m)
{
	double need = c->base + p->max_seqs * c->per_seq;
	double u = vgmo__serving_frac_ceil(need / c->total), pool;
	char why[224], buf[96];

	if (!r->concurrency || u * c->total + c->context > c->share)
		u = vgmo__serving_frac_floor((c->share - c->context) /
		                             c->total);
	for (unsigned i = 0; i < p->instances; i++)
		p->fraction[i] = u;
	vgmo__serving_fit_seqs(p, (u * c->total - c->base) / c->per_seq);
	pool = u * c->total - c->base - p->max_seqs * c->logits;
	p->kv_pool_bytes = pool > 0 ? (uint64_t)pool : 0;
	vgmo__serving_common_tail(p, c, u * c->total + c->context);
	vgmo__serving_why_fraction(
	        why, sizeof(why), c, p,
	        "fraction of the whole GPU this instance takes");
	vgmo__serving_add_flag(p, "--gpu-memory-utilization", why, "%.2f", u);
	snprintf(why, sizeof(why),
	         "%u image(s) x %u tokens + %u text + %u output, rounded up "
	         "to the 16-token block",
	         r->shape.images, p->image_tokens, r->shape.text_tokens,
	         r->shape.output_tokens);
	vgmo__serving_add_flag(p, "--max-model-len", why, "%u",
	                       p->max_model_len);
	snprintf(why, sizeof(why),
	         "%s: KV %.2f GiB each at max-model-len; the pool holds %u",
	         vgmo__serving_seqs_why(r, p, buf, sizeof(buf)),
	         vgmo__serving_gib(c->kv_seq), p->seqs_at_max_len);
	vgmo__serving_add_flag(p, "--max-num-seqs", why, "%u", p->max_seqs);
	snprintf(why, sizeof(why),
	         "one request's whole prompt (%u tokens) and at least "
	         "max-model-len (V0 without chunked prefill needs it); "
	         "activation peak %.2f GiB",
	         p->prompt_tokens, vgmo__serving_gib(c->act));
	vgmo__serving_add_flag(p, "--max-num-batched-tokens", why, "%u",
	                       p->batched_tokens);
	snprintf(why, sizeof(why),
	         "at most %u image(s) per prompt: the encoder profile and "
	         "the budget above assume no more",
	         r->shape.images);
	vgmo__serving_add_flag(p, "--limit-mm-per-prompt", why,
	                       "{\"image\": %u}", r->shape.images);
	if (p->max_pixels) {
		snprintf(why, sizeof(why),
		         "pixel cap per image: %u tokens (%u x %u px each); "
		         "larger images are resized down to it",
		         p->image_tokens, m->factor, m->factor);
		vgmo__serving_add_flag(p, "--mm-processor-kwargs", why,
		                       "{\"max_pixels\": %llu}",
		                       (unsigned long long)p->max_pixels);
	}
}

/* SGLang and TGI: each instance's fraction depends on what is free when
 * it starts; instance j starts after j - 1 others hold `held` each. */

/* SGLang's pool for fraction f of `fj` free, and what the instance holds. */
static double sglang_pool(const vgmo__serving_common *c, double f, double fj,
                          double *held)
{
	double pool = f * fj - c->weights;

	*held = c->context + c->weights + pool + c->ws + c->act;
	return pool;
}

/* How an engine sizes its pool from what is free when an instance starts:
 * what it sees free (`avail`, after `taken` by the instances before it),
 * the fraction it would need unrounded, and the pool and memory held at a
 * fraction. */
typedef struct start_rule {
	double (*avail)(const vgmo__serving_common *c, double taken);
	double (*want)(const vgmo__serving_common *c, double avail,
	               double pool_want);
	double (*pool)(const vgmo__serving_common *c, double f, double avail,
	               double *held);
} start_rule;

/* Each instance's fraction in start order, rounded up to 0.01 when that
 * still fits the share, else down; then the first instance's pool, the
 * sequences it holds, and the room left. */
static void per_instance(vgmo_serving_plan *p, const vgmo__serving_common *c,
                         const start_rule *rule)
{
	double pool_want = p->max_seqs * c->kv_seq;
	double pool = 0, held = 0, taken = 0;

	for (unsigned j = 0; j < p->instances; j++) {
		double a = rule->avail(c, taken);
		double w = rule->want(c, a, pool_want), hj;
		double f = fmin(1.0, vgmo__serving_frac_ceil(w));
		double pj = rule->pool(c, f, a, &hj);

		if (hj > c->share) {
			f = fmin(1.0, vgmo__serving_frac_floor(w));
			pj = rule->pool(c, f, a, &hj);
		}
		p->fraction[j] = f;
		taken += hj;
		if (j == 0) {
			pool = pj;
			held = hj;
		}
	}
	p->kv_pool_bytes = pool > 0 ? (uint64_t)pool : 0;
	vgmo__serving_fit_seqs(p, pool / c->kv_seq);
	vgmo__serving_common_tail(p, c, held);
	p->headroom_bytes = (int64_t)(c->free - taken);
}

static double sglang_avail(const vgmo__serving_common *c, double taken)
{
	return c->free - taken - c->context;
}

static double sglang_want(const vgmo__serving_common *c, double avail,
                          double pool_want)
{
	return (c->weights + pool_want) / avail;
}

void vgmo__serving_sglang(vgmo_serving_plan *p, const vgmo__serving_common *c,
                          const vgmo_serving_request *r)
{
	static const start_rule rule = {sglang_avail, sglang_want, sglang_pool};
	char why[224], buf[96];

	per_instance(p, c, &rule);
	vgmo__serving_why_fraction(
	        why, sizeof(why), c, p,
	        "fraction of the memory free at start for weights + KV "
	        "pool");
	vgmo__serving_add_flag(p, "--mem-fraction-static", why, "%.2f",
	                       p->fraction[0]);
	snprintf(why, sizeof(why),
	         "%u image(s) x %u tokens + %u text + %u output tokens",
	         r->shape.images, p->image_tokens, r->shape.text_tokens,
	         r->shape.output_tokens);
	vgmo__serving_add_flag(p, "--context-length", why, "%u",
	                       p->max_model_len);
	snprintf(why, sizeof(why),
	         "%s; KV %.2f GiB each, the pool holds %u at full length",
	         vgmo__serving_seqs_why(r, p, buf, sizeof(buf)),
	         vgmo__serving_gib(c->kv_seq), p->seqs_at_max_len);
	vgmo__serving_add_flag(p, "--max-running-requests", why, "%u",
	                       p->max_seqs);
	snprintf(why, sizeof(why),
	         "one request's prompt per prefill chunk (%u tokens); "
	         "activation peak %.2f GiB",
	         p->prompt_tokens, vgmo__serving_gib(c->act));
	vgmo__serving_add_flag(p, "--chunked-prefill-size", why, "%u",
	                       p->batched_tokens);
}

/* TGI's pool for fraction f with `after` free after its warmup, and what
 * the instance holds. */
static double tgi_pool(const vgmo__serving_common *c, double f, double after,
                       double *held)
{
	double pool = (after - (1.0 - f) * c->total) * TGI_WIGGLE;

	*held = c->context + c->weights + c->ws + c->act + pool;
	return pool;
}

/* Free after this instance's context, weights and warmup. */
static double tgi_avail(const vgmo__serving_common *c, double taken)
{
	return c->free - taken - c->context - c->weights - c->ws - c->act;
}

static double tgi_want(const vgmo__serving_common *c, double after,
                       double pool_want)
{
	return 1.0 - (after - pool_want / TGI_WIGGLE) / c->total;
}

void vgmo__serving_tgi(vgmo_serving_plan *p, const vgmo__serving_common *c,
                       const vgmo_serving_request *r)
{
	static const start_rule rule = {tgi_avail, tgi_want, tgi_pool};
	char why[224], buf[96];

	per_instance(p, c, &rule);
	vgmo__serving_why_fraction(
	        why, sizeof(why), c, p,
	        "KV pool = (free after warmup - (1 - f) x total) x 0.90");
	vgmo__serving_add_flag(p, "--cuda-memory-fraction", why, "%.2f",
	                       p->fraction[0]);
	snprintf(why, sizeof(why), "%u image(s) x %u tokens + %u text",
	         r->shape.images, p->image_tokens, r->shape.text_tokens);
	vgmo__serving_add_flag(p, "--max-input-tokens", why, "%u",
	                       p->prompt_tokens);
	snprintf(why, sizeof(why), "prompt + %u output tokens per request",
	         r->shape.output_tokens);
	vgmo__serving_add_flag(p, "--max-total-tokens", why, "%u",
	                       p->max_model_len);
	snprintf(why, sizeof(why),
	         "one request's prompt per prefill batch; the warmup runs "
	         "it: activation peak %.2f GiB",
	         vgmo__serving_gib(c->act));
	vgmo__serving_add_flag(p, "--max-batch-prefill-tokens", why, "%u",
	                       p->batched_tokens);
	snprintf(why, sizeof(why),
	         "the KV pool's tokens (%.2f GiB); the warmup should infer "
	         "the same",
	         vgmo__serving_gib((double)p->kv_pool_bytes));
	vgmo__serving_add_flag(p, "--max-batch-total-tokens", why, "%llu",
	                       (unsigned long long)p->kv_pool_tokens);
	snprintf(why, sizeof(why), "%s; KV %.2f GiB each at max-total-tokens",
	         vgmo__serving_seqs_why(r, p, buf, sizeof(buf)),
	         vgmo__serving_gib(c->kv_seq));
	vgmo__serving_add_flag(p, "--max-batch-size", why, "%u", p->max_seqs);
	snprintf(why, sizeof(why),
	         "the batch plus as many queued; the router answers 429 "
	         "past it instead of piling up");
	vgmo__serving_add_flag(p, "--max-concurrent-requests", why, "%u",
	                       2 * p->max_seqs);
}

void vgmo__serving_transformers(vgmo_serving_plan *p,
                                const vgmo__serving_common *c,
                                const vgmo_serving_request *r)
{
	double batch = p->max_seqs * c->per_seq;
	char why[224];

	p->kv_pool_bytes = (uint64_t)(p->max_seqs * c->kv_seq);
	vgmo__serving_common_tail(p, c, c->context + c->base + batch);
	snprintf(why, sizeof(why),
	         "(share %.1f - context %.1f - weights %.1f - workspaces "
	         "%.2f GiB) / %.3f GiB per request (KV %.3f + activations "
	         "%.3f)",
	         vgmo__serving_gib(c->share), vgmo__serving_gib(c->context),
	         vgmo__serving_gib(c->weights), vgmo__serving_gib(c->ws),
	         vgmo__serving_gib(c->per_seq), vgmo__serving_gib(c->kv_seq),
	         vgmo__serving_gib(c->act));
	vgmo__serving_add_flag(p, "batch_size", why, "%u", p->max_seqs);
	if (p->max_pixels) {
		snprintf(why, sizeof(why),
		         "AutoProcessor.from_pretrained(..., max_pixels=...): "
		         "%u tokens per image",
		         p->image_tokens);
		vgmo__serving_add_flag(p, "max_pixels", why, "%llu",
		                       (unsigned long long)p->max_pixels);
	}
	snprintf(why, sizeof(why),
	         "generate(max_new_tokens=...): the KV cache above is sized "
	         "for it");
	vgmo__serving_add_flag(p, "max_new_tokens", why, "%u",
	                       r->shape.output_tokens);
}
