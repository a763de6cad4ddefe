/*
 * vlm_truth.c - what a batch of VLM requests really costs (vlm_truth.h).
 *
 * Independent of the planner on purpose: it shares the model's public
 * facts (layers, widths, vocabulary, the processor's image-token rule)
 * and nothing of planner.c. Byte counts per tensor are those of a
 * Hugging Face implementation in bf16 (activations stay 16-bit with fp8
 * weights); casts to fp32 are where the implementations make them (norms,
 * logits, softmax).
 */
#include "vlm_truth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "util.h"

#define MIB ((double)VGMO_MIB)
#define BLOCK (2.0 * MIB) /* the caching allocator's large-block grain */
#define OOM_RECOVERY 0.3  /* seconds: gc.collect() + empty_cache() */
#define T_BATCH 0.05      /* seconds: collate, copy to the device */
#define T_REQUEST 0.005   /* seconds per request: image preprocessing */
#define GEN_SPREAD 0.25   /* sd of a request's generated fraction */

static const vgmo__truth_param_info params[VGMO__TP_COUNT] = {
        [VGMO__TP_PADDING] =
                {"padding", 1, 0, 1, true,
                 "1: prompts padded to the batch's longest (Hugging Face "
                 "processors, padding=True); 0: packed (varlen kernels)",
                 "transformers processors pad a batch to its longest prompt "
                 "with padding=True"},
        [VGMO__TP_ATTENTION] =
                {"attention", 1, 0, 2, true,
                 "decoder prefill attention: 0 flash-attention-2 (no "
                 "L x L tensor), 1 SDPA (a boolean L x L mask per padded "
                 "sequence), 2 eager (mask plus heads x L x L scores in "
                 "bf16 and fp32)",
                 "transformers' attn_implementation; SDPA is its default"},
        [VGMO__TP_VISION_ATTENTION] =
                {"vision_attention", 0, 0, 1, true,
                 "encoder attention: 0 fused, 1 eager (scores over the "
                 "batch's patches: all of them for dynamic-resolution "
                 "encoders, per tile for tiled ones)",
                 "Qwen2-VL's eager vision attention builds one mask over "
                 "every patch of the batch"},
        [VGMO__TP_LOGITS] =
                {"logits", 0, 0, 1, true,
                 "0: logits for the last position only (generate with "
                 "logits_to_keep); 1: for every prompt position (forward "
                 "scoring, older transformers)",
                 "recent transformers keep the last position in generate; "
                 "older versions and scoring code keep them all"},
        [VGMO__TP_ACT_SCALE] =
                {"act_scale", 1.25, 0.8, 2.0, false,
                 "decoder temporaries beyond the live tensors counted "
                 "(casts, copies, kernel scratch), as a factor",
                 "an assumption, not yet measured (bench/measurements/ "
                 "is to replace it): fp32 norm casts, kernel scratch"},
        [VGMO__TP_VISION_SCALE] =
                {"vision_scale", 1.25, 0.8, 4.0, false,
                 "the same for the vision encoder; high values stand for "
                 "an encoder far costlier than its configuration says",
                 "an assumption; the vision-heavy workload sets 3.5"},
        [VGMO__TP_WORKSPACE_MIB] =
                {"workspace_mib", 256, 64, 1024, false,
                 "cuBLAS/cuDNN workspaces and other buffers the allocator "
                 "holds between batches (MiB)",
                 "cuBLAS and cuBLASLt workspaces (a few to 32 MiB per "
                 "handle and stream) plus kernel scratch: an assumption"},
        [VGMO__TP_CONTEXT_MIB] =
                {"context_mib", 512, 300, 1100, false,
                 "the worker's CUDA context and non-torch memory (MiB)",
                 "reported CUDA context sizes: about 300 MB to over 1 GB "
                 "per process"},
        [VGMO__TP_FRAG_MAX] =
                {"frag_max", 0.08, 0, 0.25, false,
                 "fragmentation the caching allocator reaches over a "
                 "run: the reserve a peak needs is peak x (1 + f)",
                 "an assumption: varied shapes fragment PyTorch's cache "
                 "(what expandable_segments addresses)"},
        [VGMO__TP_FRAG_BATCHES] =
                {"frag_batches", 50, 5, 500, false,
                 "batches since the cache was last emptied for it to "
                 "build up (time constant)",
                 "an assumption"},
        [VGMO__TP_OUTPUT_FILL] =
                {"output_fill", 0.6, 0.1, 1.0, false,
                 "mean fraction of max_new_tokens a request generates "
                 "before its end-of-sequence token (each draws around it)",
                 "an assumption spanning captions (short) to transcriptions "
                 "(near the limit)"},
        [VGMO__TP_STEP_MS] =
                {"step_ms", 10, 2, 40, false,
                 "host overhead per decode step (the generate loop, "
                 "sampling, kernel launches), ms",
                 "an assumption: HF generate's Python loop without CUDA "
                 "graphs"},
        [VGMO__TP_CACHE_COPY] =
                {"cache_copy", 1, 0, 1, true,
                 "1: the growing KV cache copies one layer's cache at "
                 "each step (DynamicCache concatenation); 0: static cache",
                 "transformers' DynamicCache concatenates per layer at "
                 "each step"},
        [VGMO__TP_TEMPLATE_TOKENS] =
                {"template_tokens", 24, 0, 200, false,
                 "chat-template and image-delimiter tokens a request "
                 "holds beyond its text and image tokens",
                 "Qwen2-VL's chat template: about 20 tokens plus 2 per image"},
        [VGMO__TP_ROUNDING] =
                {"alloc_rounding", 0.01, 0, 0.03, false,
                 "block rounding and small allocations: up to this "
                 "fraction on top of a batch, drawn per batch",
                 "PyTorch's caching allocator: 2 MiB blocks for large "
                 "tensors, 512 B for small ones"},
};

const vgmo__truth_param_info *vgmo__truth_param_table(void)
{
	return params;
}

void vgmo__truth_params_defaults(vgmo__truth_params *p)
{
	for (int i = 0; i < VGMO__TP_COUNT; i++)
		p->v[i] = params[i].def;
}

int vgmo__truth_param_index(const char *key)
{
	for (int i = 0; key && i < VGMO__TP_COUNT; i++)
		if (strcmp(params[i].key, key) == 0)
			return i;
	return -1;
}

vgmo_err vgmo__truth_param_set(vgmo__truth_params *p, const char *key,
                               double value, char *err, size_t errlen)
{
	int i = vgmo__truth_param_index(key);
	const vgmo__truth_param_info *in;

	if (i < 0)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "truth: unknown parameter \"%s\" (vgmo "
		                  "benchmark --help lists them)",
		                  key ? key : "");
	in = &params[i];
	if (!isfinite(value) || value < in->lo || value > in->hi ||
	    (in->discrete && value != floor(value)))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "truth: %s must be %s in [%g, %g], not %g",
		                  key, in->discrete ? "an integer" : "a number",
		                  in->lo, in->hi, value);
	p->v[i] = value;
	return VGMO_OK;
}

vgmo_err vgmo__truth_param_parse(vgmo__truth_params *p, const char *kv,
                                 char *err, size_t errlen)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	char key[64], *end;
	size_t n;
	double v;

	if (eq == NULL || eq == kv || (n = (size_t)(eq - kv)) >= sizeof(key))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "truth: \"%s\" is not KEY=VALUE",
		                  kv ? kv : "");
	memcpy(key, kv, n);
	key[n] = '\0';
	v = strtod(eq + 1, &end);
	if (end == eq + 1 || *end != '\0')
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "truth: %s: \"%s\" is not a number", key,
		                  eq + 1);
	return vgmo__truth_param_set(p, key, v, err, errlen);
}

/* ------------------------------------------------------------ draws */

static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

static double unit(uint64_t key)
{
	return (double)(mix(key) >> 11) * 0x1.0p-53;
}

static double normal(uint64_t key)
{
	double u1 = unit(key), u2 = unit(key ^ UINT64_C(0x5bd1e995));

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ------------------------------------------------------------- init */

void vgmo__vlm_truth_init(vgmo__vlm_truth *t, const vgmo_vlm_model *m,
                          vgmo_dtype d, const vgmo__truth_params *p,
                          double flops, double bandwidth, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->model = *m;
	t->dtype = d;
	if (p)
		t->p = *p;
	else
		vgmo__truth_params_defaults(&t->p);
	t->seed = mix(seed ^ UINT64_C(0x7f4a7c15));
	t->flops = flops;
	t->bandwidth = bandwidth;
	vgmo__vlm_truth_derive(t);
}

void vgmo__vlm_truth_derive(vgmo__vlm_truth *t)
{
	const vgmo_vlm_model *m = &t->model;
	double el = t->dtype == VGMO_DTYPE_FP8 ? 1.0 : 2.0;
	double h = m->hidden, im = m->intermediate;
	double kvd = (double)m->kv_heads * m->head_dim;
	double vh = m->vision_hidden, vi = m->vision_intermediate;
	double pix;

	/* Parameters, plus the rotary and norm buffers (small). */
	t->weights = m->params * el + 64.0 * MIB;
	t->workspace = t->p.v[VGMO__TP_WORKSPACE_MIB] * MIB;
	t->context = t->p.v[VGMO__TP_CONTEXT_MIB] * MIB;
	t->kv_token = 2.0 * m->layers * kvd * el;
	/* One decoder layer at its widest: in the MLP the residual, the
	 * layer's input and three intermediate-wide tensors (activation,
	 * up projection, their product); in attention the residual, the
	 * fp32 norm and q/k/v/o. */
	t->layer_tok = 2.0 * fmax(3.0 * h + 3.0 * im, 7.0 * h + 2.0 * kvd) *
	               t->p.v[VGMO__TP_ACT_SCALE];
	/* The embeddings the image features are scattered into, and the
	 * residual stream. */
	t->embed_tok = 2.0 * 2.0 * h;
	/* Pixels (fp32 from the processor plus the bf16 copy; dynamic-
	 * resolution encoders stack two frames per patch), the encoder's
	 * residual, its norm and MLP. */
	pix = 3.0 * 14 * 14 * (4.0 + 2.0) *
	      (m->image_rule == VGMO_IMAGE_PIXELS ? 2.0 : 1.0);
	t->patch = pix +
	           2.0 * (2.0 * vh + 2.0 * vi) * t->p.v[VGMO__TP_VISION_SCALE];
	t->vis_layers = vh > 0 ? fmax(1.0, m->vision_params / (4.0 * vh * vh +
	                                                       2.0 * vh * vi))
	                       : 0;
	t->vis_heads = fmax(1.0, floor(vh / 72.0));
}

uint32_t vgmo__vlm_generated(const vgmo__vlm_truth *t, const vgmo__vlm_req *r)
{
	double f;

	if (r->output_tokens == 0)
		return 0;
	f = t->p.v[VGMO__TP_OUTPUT_FILL] +
	    GEN_SPREAD * normal(t->seed ^ mix(r->id * 2 + 1));
	f = fmin(1.0, fmax(0.02, f));
	return (uint32_t)fmax(1.0, round(f * r->output_tokens));
}

/* -------------------------------------------------------- batch sums */

/* A batch's shape, built request by request (the oracle scans prefixes). */
typedef struct acc {
	double n;
	double sum_len, max_len, sum_len2; /* prompts, template included */
	double sum_gen, max_gen;           /* generated tokens */
	double sum_total;                  /* prompt + generated */
	double patches;                    /* encoder patches */
	double quad_tiles; /* sum over tiles of patches^2 (tiled) */
	double pairs;      /* sum over images of patches^2 (compute) */
	double image_tokens;
} acc;

static double tile_patches(const vgmo_vlm_model *m, const vgmo__vlm_req *r)
{
	switch (m->image_rule) {
	case VGMO_IMAGE_TILES:
		return (double)m->tokens_per_tile * m->patches_per_token;
	case VGMO_IMAGE_FIXED:
		return (double)m->image_tokens * m->patches_per_token;
	case VGMO_IMAGE_PIXELS:
	default:
		return (double)r->max_image_tokens * m->patches_per_token;
	}
}

static void acc_add(const vgmo__vlm_truth *t, acc *a, const vgmo__vlm_req *r)
{
	const vgmo_vlm_model *m = &t->model;
	double len = (double)r->image_tokens + r->text_tokens +
	             t->p.v[VGMO__TP_TEMPLATE_TOKENS];
	double gen = vgmo__vlm_generated(t, r);
	double patches = (double)r->image_tokens * m->patches_per_token;
	double tp = tile_patches(m, r);

	a->n += 1;
	a->sum_len += len;
	a->max_len = fmax(a->max_len, len);
	a->sum_len2 += len * len;
	a->sum_gen += gen;
	a->max_gen = fmax(a->max_gen, gen);
	a->sum_total += len + gen;
	a->patches += patches;
	a->quad_tiles += patches * tp;
	a->pairs += patches * tp;
	a->image_tokens += r->image_tokens;
}

static void cost_of_acc(const vgmo__vlm_truth *t, const acc *a,
                        vgmo__vlm_cost *c)
{
	const vgmo_vlm_model *m = &t->model;
	const double *p = t->p.v;
	bool padded = p[VGMO__TP_PADDING] >= 0.5;
	double n = a->n, vocab = m->vocab, h = m->hidden;
	double s = padded ? n * a->max_len : a->sum_len; /* prefill tokens */
	double sq = padded ? n * a->max_len * a->max_len : a->sum_len2;
	double kv_end = padded ? n * (a->max_len + a->max_gen) : a->sum_total;
	double vis_quad = 0, mask = 0, scores = 0, logits, copy;
	double llm = m->params - m->vision_params, flop, kv_read, steps;

	/* Vision: the text embeddings already exist; the encoder holds its
	 * pixels and one layer's tensors over every patch of the batch. */
	if (p[VGMO__TP_VISION_ATTENTION] >= 0.5 && a->patches > 0)
		vis_quad = 6.0 * t->vis_heads *
		           (m->image_rule == VGMO_IMAGE_PIXELS
		                    ? a->patches * a->patches
		                    : a->quad_tiles);
	c->vision = a->patches > 0
	                    ? s * 2.0 * h + a->patches * t->patch +
	                              a->image_tokens * 2.0 * h + vis_quad
	                    : 0;
	/* Prefill. */
	if (p[VGMO__TP_ATTENTION] >= 0.5 && padded)
		mask = sq; /* a boolean mask per padded sequence */
	if (p[VGMO__TP_ATTENTION] >= 1.5)
		scores =
		        6.0 * m->heads * sq + sq; /* bf16 + fp32, 1-byte mask */
	logits = (p[VGMO__TP_LOGITS] >= 0.5 ? s : n) * vocab * 6.0;
	c->prefill = s * t->embed_tok + s * t->layer_tok + mask + scores +
	             s * t->kv_token + logits;
	/* Decode: the whole cache, one layer's copy, the step's logits and
	 * sampling buffers. */
	copy = p[VGMO__TP_CACHE_COPY] >= 0.5 ? kv_end * t->kv_token / m->layers
	                                     : 0;
	c->decode = a->max_gen > 0
	                    ? kv_end * t->kv_token + copy + n * vocab * 10.0
	                    : 0;
	c->peak = t->weights + fmax(c->vision, fmax(c->prefill, c->decode));

	/* Time: encoder and prefill are compute-bound, decoding reads the
	 * weights and the cache at every step. */
	flop = 2.0 * llm * s + 2.0 * m->layers * h * sq;
	if (a->patches > 0)
		flop += 2.0 * m->vision_params * a->patches +
		        4.0 * t->vis_layers * m->vision_hidden * a->pairs;
	c->t_prefill = T_BATCH + T_REQUEST * n + flop / t->flops;
	steps = a->max_gen;
	kv_read = t->kv_token *
	          (padded ? n * (a->max_len * steps + steps * steps / 2)
	                  : a->sum_len * steps + n * steps * steps / 2);
	c->steps = steps;
	c->seconds =
	        c->t_prefill +
	        fmax(steps * t->weights / t->bandwidth + kv_read / t->bandwidth,
	             steps * 2.0 * llm * n / t->flops) +
	        steps * p[VGMO__TP_STEP_MS] / 1000.0;
}

void vgmo__vlm_cost_of(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                       size_t n, vgmo__vlm_cost *out)
{
	acc a;

	memset(&a, 0, sizeof(a));
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		acc_add(t, &a, &r[i]);
	cost_of_acc(t, &a, out);
}

double vgmo__vlm_fragmentation(const vgmo__vlm_truth *t, double batches)
{
	double tau = t->p.v[VGMO__TP_FRAG_BATCHES];

	if (!(batches > 0))
		return 0;
	return t->p.v[VGMO__TP_FRAG_MAX] * (1.0 - exp(-batches / tau));
}

double vgmo__vlm_need(const vgmo__vlm_truth *t, double peak, double frag,
                      const vgmo__vlm_req *r, size_t n)
{
	uint64_t key = t->seed ^ mix(n ? r[0].id * 1000003u + n : 0);
	double batch = fmax(0.0, peak - t->weights);
	double need =
	        t->workspace + t->weights +
	        batch * (1.0 + frag + t->p.v[VGMO__TP_ROUNDING] * unit(key));

	return ceil(need / BLOCK) * BLOCK;
}

size_t vgmo__vlm_largest_fit(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                             size_t n, double available, double frag)
{
	vgmo__vlm_cost c;
	size_t best = 0;
	acc a;

	memset(&a, 0, sizeof(a));
	for (size_t i = 1; i <= n; i++) {
		acc_add(t, &a, &r[i - 1]);
		cost_of_acc(t, &a, &c);
		/* The need only grows with the prefix. */
		if (vgmo__vlm_need(t, c.peak, frag, r, i) > available)
			break;
		best = i;
	}
	return best;
}

double vgmo__vlm_oom_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_cost *c,
                             double available, double frag)
{
	double room = available - t->workspace - t->weights;
	double scale = 1.0 + frag;
	double ran;

	if (c->vision * scale > room) {
		ran = c->t_prefill * 0.2 *
		      fmax(0.05, room / (c->vision * scale));
	} else if (c->prefill * scale > room) {
		ran = c->t_prefill * fmax(0.05, room / (c->prefill * scale));
	} else {
		/* The cache grows step by step until a step cannot allocate:
		 * the share of the decode that ran. */
		double start = c->prefill * scale, end = c->decode * scale;
		double f = end > start ? (room - start) / (end - start) : 0;

		ran = c->t_prefill +
		      fmin(1.0, fmax(0.0, f)) * (c->seconds - c->t_prefill);
	}
	return ran + OOM_RECOVERY;
}

void vgmo__vlm_req_from_trace(const vgmo_vlm_model *m, const vgmo__trace *t,
                              size_t i, uint64_t id, double arrival,
                              vgmo__vlm_req *out)
{
	const vgmo__trace_req *q = &t->req[i];
	uint32_t tokens = 0, largest = 0;

	for (uint32_t k = 0; k < q->nimages; k++) {
		const vgmo__trace_image *im = &t->img[q->first_image + k];
		uint32_t n = vgmo_model_image_tokens(m, im->w, im->h);

		tokens += n;
		if (n > largest)
			largest = n;
	}
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->arrival = arrival;
	out->nimages = q->nimages;
	out->image_tokens = tokens;
	out->max_image_tokens = largest;
	out->text_tokens = q->text_tokens;
	out->output_tokens = q->output_tokens;
}
