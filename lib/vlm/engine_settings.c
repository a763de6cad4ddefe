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
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "vlm_models.h"

#define GIB 1073741824.0
#define TGI_WIGGLE 0.90   /* TGI_WIGGLE_ROOM, the TGI server's default */
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

static double gib(double b)
{
	return b / GIB;
}

static double round_up(double v, double step)
{
	return ceil(v / step - 1e-9) * step;
}

/* Fractions with two decimals, as users write them. */
static double frac_floor(double x)
{
	return floor(x * 100.0 + 1e-9) / 100.0;
}

static double frac_ceil(double x)
{
	return ceil(x * 100.0 - 1e-9) / 100.0;
}

static void add_flag(vgmo_serving_plan *p, const char *name, const char *why,
                     const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void add_flag(vgmo_serving_plan *p, const char *name, const char *why,
                     const char *fmt, ...)
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

/* What every engine shares: the share, the request's tokens, the
 * activation peak and the cost of one more sequence. */
typedef struct common {
	double total, free, margin, share, context, weights, ws;
	double act, per_seq, logits, kv_tok, kv_seq, base;
	double images, image_tokens, prompt, len;
	int n_fit;
} common;

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
                      const vgmo_config *cfg, vgmo_serving_plan *p, common *c,
                      char *err, size_t errlen)
{
	vgmo__batch_shape one = {0};
	vgmo_dtype d = r->shape.dtype;

	c->total = (double)r->total_bytes;
	c->free = r->free_known ? (double)r->free_bytes : c->total;
	if (c->free > c->total)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "free memory (%.2f GiB) exceeds the GPU's "
		                  "total (%.2f GiB)",
		                  gib(c->free), gib(c->total));
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
		c->len = round_up(c->len, BLOCK_TOKENS);
	p->prompt_tokens = (uint32_t)c->prompt;
	p->max_model_len = (uint32_t)c->len;
	p->batched_tokens = (uint32_t)round_up(fmax(c->prompt, 1), STEP_ROUND);
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
		                  gib(c->free), gib(c->margin),
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
		        m->name, gib(c->share), gib(c->context),
		        gib(c->weights), gib(c->ws),
		        p->engine == VGMO_SERVING_TRANSFORMERS ? 0
		                                               : gib(c->act),
		        gib(c->per_seq),
		        gib(c->context + c->base + c->per_seq));
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
static void why_fraction(char *buf, size_t n, const common *c,
                         const vgmo_serving_plan *p, const char *rule)
{
	snprintf(buf, n,
	         "%s; weights %.1f + activations %.1f + KV %.2f GiB x %u "
	         "seqs (%u tokens); %.1f GiB held by others, %.1f margin, "
	         "%u instance(s)",
	         rule, gib(c->weights), gib(c->act), gib(c->kv_seq),
	         p->max_seqs, p->max_model_len, gib(c->total - c->free),
	         gib(c->margin), p->instances);
}

static void common_tail(vgmo_serving_plan *p, const common *c, double instance)
{
	p->instance_bytes = (uint64_t)instance;
	p->kv_pool_tokens =
	        (uint64_t)floor((double)p->kv_pool_bytes / c->kv_tok);
	p->seqs_at_max_len =
	        (uint32_t)fmin(4e9, floor((double)p->kv_pool_tokens / c->len));
	p->headroom_bytes = (int64_t)(c->free - instance * p->instances);
}

/* Who decided the number of sequences. */
static const char *seqs_why(const vgmo_serving_request *r,
                            const vgmo_serving_plan *p, char *buf, size_t n)
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
static void fit_seqs(vgmo_serving_plan *p, double fit)
{
	if (fit >= 1 && floor(fit) < p->max_seqs)
		p->max_seqs = (uint32_t)floor(fit);
}

static void vllm(vgmo_serving_plan *p, const common *c,
                 const vgmo_serving_request *r, const vgmo_vlm_model *m)
{
	double need = c->base + p->max_seqs * c->per_seq;
	double u = frac_ceil(need / c->total), pool;
	char why[224], buf[96];

	if (!r->concurrency || u * c->total + c->context > c->share)
		u = frac_floor((c->share - c->context) / c->total);
	for (unsigned i = 0; i < p->instances; i++)
		p->fraction[i] = u;
	fit_seqs(p, (u * c->total - c->base) / c->per_seq);
	pool = u * c->total - c->base - p->max_seqs * c->logits;
	p->kv_pool_bytes = pool > 0 ? (uint64_t)pool : 0;
	common_tail(p, c, u * c->total + c->context);
	why_fraction(why, sizeof(why), c, p,
	             "fraction of the whole GPU this instance takes");
	add_flag(p, "--gpu-memory-utilization", why, "%.2f", u);
	snprintf(why, sizeof(why),
	         "%u image(s) x %u tokens + %u text + %u output, rounded up "
	         "to the 16-token block",
	         r->shape.images, p->image_tokens, r->shape.text_tokens,
	         r->shape.output_tokens);
	add_flag(p, "--max-model-len", why, "%u", p->max_model_len);
	snprintf(why, sizeof(why),
	         "%s: KV %.2f GiB each at max-model-len; the pool holds %u",
	         seqs_why(r, p, buf, sizeof(buf)), gib(c->kv_seq),
	         p->seqs_at_max_len);
	add_flag(p, "--max-num-seqs", why, "%u", p->max_seqs);
	snprintf(why, sizeof(why),
	         "one request's whole prompt (%u tokens) and at least "
	         "max-model-len (V0 without chunked prefill needs it); "
	         "activation peak %.2f GiB",
	         p->prompt_tokens, gib(c->act));
	add_flag(p, "--max-num-batched-tokens", why, "%u", p->batched_tokens);
	snprintf(why, sizeof(why),
	         "at most %u image(s) per prompt: the encoder profile and "
	         "the budget above assume no more",
	         r->shape.images);
	add_flag(p, "--limit-mm-per-prompt", why, "{\"image\": %u}",
	         r->shape.images);
	if (p->max_pixels) {
		snprintf(why, sizeof(why),
		         "pixel cap per image: %u tokens (%u x %u px each); "
		         "larger images are resized down to it",
		         p->image_tokens, m->factor, m->factor);
		add_flag(p, "--mm-processor-kwargs", why,
		         "{\"max_pixels\": %llu}",
		         (unsigned long long)p->max_pixels);
	}
}

/* SGLang and TGI: each instance's fraction depends on what is free when
 * it starts; instance j starts after j - 1 others hold `held` each. */

/* SGLang's pool for fraction f of `fj` free, and what the instance holds. */
static double sglang_pool(const common *c, double f, double fj, double *held)
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
	double (*avail)(const common *c, double taken);
	double (*want)(const common *c, double avail, double pool_want);
	double (*pool)(const common *c, double f, double avail, double *held);
} start_rule;

/* Each instance's fraction in start order, rounded up to 0.01 when that
 * still fits the share, else down; then the first instance's pool, the
 * sequences it holds, and the room left. */
static void per_instance(vgmo_serving_plan *p, const common *c,
                         const start_rule *rule)
{
	double pool_want = p->max_seqs * c->kv_seq;
	double pool = 0, held = 0, taken = 0;

	for (unsigned j = 0; j < p->instances; j++) {
		double a = rule->avail(c, taken);
		double w = rule->want(c, a, pool_want), hj;
		double f = fmin(1.0, frac_ceil(w));
		double pj = rule->pool(c, f, a, &hj);

		if (hj > c->share) {
			f = fmin(1.0, frac_floor(w));
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
	fit_seqs(p, pool / c->kv_seq);
	common_tail(p, c, held);
	p->headroom_bytes = (int64_t)(c->free - taken);
}

static double sglang_avail(const common *c, double taken)
{
	return c->free - taken - c->context;
}

static double sglang_want(const common *c, double avail, double pool_want)
{
	return (c->weights + pool_want) / avail;
}

static void sglang(vgmo_serving_plan *p, const common *c,
                   const vgmo_serving_request *r)
{
	static const start_rule rule = {sglang_avail, sglang_want, sglang_pool};
	char why[224], buf[96];

	per_instance(p, c, &rule);
	why_fraction(why, sizeof(why), c, p,
	             "fraction of the memory free at start for weights + KV "
	             "pool");
	add_flag(p, "--mem-fraction-static", why, "%.2f", p->fraction[0]);
	snprintf(why, sizeof(why),
	         "%u image(s) x %u tokens + %u text + %u output tokens",
	         r->shape.images, p->image_tokens, r->shape.text_tokens,
	         r->shape.output_tokens);
	add_flag(p, "--context-length", why, "%u", p->max_model_len);
	snprintf(why, sizeof(why),
	         "%s; KV %.2f GiB each, the pool holds %u at full length",
	         seqs_why(r, p, buf, sizeof(buf)), gib(c->kv_seq),
	         p->seqs_at_max_len);
	add_flag(p, "--max-running-requests", why, "%u", p->max_seqs);
	snprintf(why, sizeof(why),
	         "one request's prompt per prefill chunk (%u tokens); "
	         "activation peak %.2f GiB",
	         p->prompt_tokens, gib(c->act));
	add_flag(p, "--chunked-prefill-size", why, "%u", p->batched_tokens);
}

/* TGI's pool for fraction f with `after` free after its warmup, and what
 * the instance holds. */
static double tgi_pool(const common *c, double f, double after, double *held)
{
	double pool = (after - (1.0 - f) * c->total) * TGI_WIGGLE;

	*held = c->context + c->weights + c->ws + c->act + pool;
	return pool;
}

/* Free after this instance's context, weights and warmup. */
static double tgi_avail(const common *c, double taken)
{
	return c->free - taken - c->context - c->weights - c->ws - c->act;
}

static double tgi_want(const common *c, double after, double pool_want)
{
	return 1.0 - (after - pool_want / TGI_WIGGLE) / c->total;
}

static void tgi(vgmo_serving_plan *p, const common *c,
                const vgmo_serving_request *r)
{
	static const start_rule rule = {tgi_avail, tgi_want, tgi_pool};
	char why[224], buf[96];

	per_instance(p, c, &rule);
	why_fraction(why, sizeof(why), c, p,
	             "KV pool = (free after warmup - (1 - f) x total) x 0.90");
	add_flag(p, "--cuda-memory-fraction", why, "%.2f", p->fraction[0]);
	snprintf(why, sizeof(why), "%u image(s) x %u tokens + %u text",
	         r->shape.images, p->image_tokens, r->shape.text_tokens);
	add_flag(p, "--max-input-tokens", why, "%u", p->prompt_tokens);
	snprintf(why, sizeof(why), "prompt + %u output tokens per request",
	         r->shape.output_tokens);
	add_flag(p, "--max-total-tokens", why, "%u", p->max_model_len);
	snprintf(why, sizeof(why),
	         "one request's prompt per prefill batch; the warmup runs "
	         "it: activation peak %.2f GiB",
	         gib(c->act));
	add_flag(p, "--max-batch-prefill-tokens", why, "%u", p->batched_tokens);
	snprintf(why, sizeof(why),
	         "the KV pool's tokens (%.2f GiB); the warmup should infer "
	         "the same",
	         gib((double)p->kv_pool_bytes));
	add_flag(p, "--max-batch-total-tokens", why, "%llu",
	         (unsigned long long)p->kv_pool_tokens);
	snprintf(why, sizeof(why), "%s; KV %.2f GiB each at max-total-tokens",
	         seqs_why(r, p, buf, sizeof(buf)), gib(c->kv_seq));
	add_flag(p, "--max-batch-size", why, "%u", p->max_seqs);
	snprintf(why, sizeof(why),
	         "the batch plus as many queued; the router answers 429 "
	         "past it instead of piling up");
	add_flag(p, "--max-concurrent-requests", why, "%u", 2 * p->max_seqs);
}

static void transformers(vgmo_serving_plan *p, const common *c,
                         const vgmo_serving_request *r)
{
	double batch = p->max_seqs * c->per_seq;
	char why[224];

	p->kv_pool_bytes = (uint64_t)(p->max_seqs * c->kv_seq);
	common_tail(p, c, c->context + c->base + batch);
	snprintf(why, sizeof(why),
	         "(share %.1f - context %.1f - weights %.1f - workspaces "
	         "%.2f GiB) / %.3f GiB per request (KV %.3f + activations "
	         "%.3f)",
	         gib(c->share), gib(c->context), gib(c->weights), gib(c->ws),
	         gib(c->per_seq), gib(c->kv_seq), gib(c->act));
	add_flag(p, "batch_size", why, "%u", p->max_seqs);
	if (p->max_pixels) {
		snprintf(why, sizeof(why),
		         "AutoProcessor.from_pretrained(..., max_pixels=...): "
		         "%u tokens per image",
		         p->image_tokens);
		add_flag(p, "max_pixels", why, "%llu",
		         (unsigned long long)p->max_pixels);
	}
	snprintf(why, sizeof(why),
	         "generate(max_new_tokens=...): the KV cache above is sized "
	         "for it");
	add_flag(p, "max_new_tokens", why, "%u", r->shape.output_tokens);
}

vgmo_err vgmo_serving_plan_compute(vgmo_serving_engine e,
                                   const vgmo_vlm_model *m,
                                   const vgmo_serving_request *req,
                                   const vgmo_config *cfg,
                                   vgmo_serving_plan *out, char *err,
                                   size_t errlen)
{
	vgmo_config defaults;
	common c;
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
		vllm(out, &c, req, m);
		break;
	case VGMO_SERVING_SGLANG:
		sglang(out, &c, req);
		break;
	case VGMO_SERVING_TGI:
		tgi(out, &c, req);
		break;
	case VGMO_SERVING_TRANSFORMERS:
		transformers(out, &c, req);
		break;
	}
	return VGMO_OK;
}
