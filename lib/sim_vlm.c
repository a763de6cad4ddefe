/*
 * sim_vlm.c - what a batch of VLM requests really costs on the simulated
 * GPU (see sim_vlm.h). Nothing here is visible to a policy except through
 * the reports the simulated worker sends.
 */
#include "sim_vlm.h"

#include <math.h>
#include <string.h>

#include "trace.h"
#include "vlm_models.h"

#define ALLOC_GRAIN (2.0 * 1048576.0)
#define OOM_RECOVERY 0.3 /* seconds: gc.collect() + empty_cache() */

static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* A uniform number in [0, 1) from a key. */
static double unit(uint64_t key)
{
	return (double)(mix(key) >> 11) * 0x1.0p-53;
}

/* A standard normal number from a key (Box-Muller). */
static double normal(uint64_t key)
{
	double u1 = unit(key), u2 = unit(key ^ UINT64_C(0x5bd1e995));

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void vgmo__vlm_truth_init(vgmo__vlm_truth *t, const vgmo_vlm_model *m,
                          vgmo_dtype d, double flops, double bandwidth,
                          uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->model = *m;
	t->dtype = d;
	t->weights = (double)vgmo_model_weights_bytes(m, d);
	t->kv_token = (double)vgmo_model_kv_bytes_per_token(m, d);
	t->dec_act = vgmo__act_decoder_token(m);
	t->vis_act = vgmo__act_vision_token(m);
	t->logits = vgmo__logits_bytes(m);
	t->noise_seed = mix(seed ^ UINT64_C(0x7f4a7c15));
	/* Hidden departures from the documented estimate. */
	t->workspace = VGMO__WORKSPACE_BYTES +
	               512.0 * 1048576.0 * unit(t->noise_seed + 1);
	t->act_scale = 1.0 + 0.15 * unit(t->noise_seed + 2);
	t->req_sigma = 0.05;
	t->max_overhead = 0.04;
	t->flops = flops;
	t->bandwidth = bandwidth;
	t->t_batch = 0.05;
	t->t_request = 0.005;
}

double vgmo__vlm_base(const vgmo__vlm_truth *t)
{
	return t->weights + t->workspace;
}

/* Running sums of a batch's tokens, with each request's hidden spread. */
typedef struct acc {
	double kv, dec, vis;
} acc;

static void acc_add(const vgmo__vlm_truth *t, acc *a, const vgmo__vlm_req *r)
{
	double s = t->req_sigma;
	double f = exp(s * normal(t->noise_seed ^ mix(r->id)) - s * s / 2);
	double prompt = (double)r->image_tokens + r->text_tokens;

	a->kv += prompt + r->output_tokens;
	a->dec += f * prompt;
	a->vis += f * r->image_tokens;
}

static double acc_peak(const vgmo__vlm_truth *t, const acc *a, size_t n)
{
	return vgmo__vlm_base(t) + t->kv_token * a->kv +
	       t->act_scale * fmax(t->dec_act * a->dec, t->vis_act * a->vis) +
	       t->logits * (double)n;
}

static double need_of(const vgmo__vlm_truth *t, double peak,
                      const vgmo__vlm_req *r, size_t n)
{
	double base = vgmo__vlm_base(t);
	uint64_t key = t->noise_seed ^ mix(n ? r[0].id * 1000003u + n : 0);
	double over = t->max_overhead * unit(key);

	return ceil((peak + over * (peak - base)) / ALLOC_GRAIN) * ALLOC_GRAIN;
}

double vgmo__vlm_peak(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                      size_t n)
{
	acc a = {0, 0, 0};

	for (size_t i = 0; i < n; i++)
		acc_add(t, &a, &r[i]);
	return acc_peak(t, &a, n);
}

double vgmo__vlm_need(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                      size_t n)
{
	return need_of(t, vgmo__vlm_peak(t, r, n), r, n);
}

size_t vgmo__vlm_largest_fit(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                             size_t n, double available)
{
	acc a = {0, 0, 0};
	size_t best = 0;

	for (size_t i = 1; i <= n; i++) {
		acc_add(t, &a, &r[i - 1]);
		if (need_of(t, acc_peak(t, &a, i), r, i) <= available)
			best = i;
	}
	return best;
}

static double prefill_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                              size_t n)
{
	const vgmo_vlm_model *m = &t->model;
	double llm = m->params - m->vision_params, flop = 0;

	for (size_t i = 0; i < n; i++) {
		double len = (double)r[i].image_tokens + r[i].text_tokens;

		/* Linear layers, causal attention, the vision encoder. */
		flop += 2.0 * llm * len +
		        2.0 * m->layers * (double)m->hidden * len * len +
		        2.0 * m->vision_params * m->patches_per_token *
		                (double)r[i].image_tokens;
	}
	return flop / t->flops;
}

double vgmo__vlm_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                         size_t n)
{
	const vgmo_vlm_model *m = &t->model;
	double llm = m->params - m->vision_params, steps = 0, kv_read = 0;
	double decode;

	for (size_t i = 0; i < n; i++)
		if (r[i].output_tokens > steps)
			steps = r[i].output_tokens;
	/* Static batching: every sequence steps until the longest ends. */
	for (size_t i = 0; i < n; i++) {
		double prompt = (double)r[i].image_tokens + r[i].text_tokens;

		kv_read += (prompt * steps + steps * steps / 2) * t->kv_token;
	}
	decode = steps * (t->weights / t->bandwidth +
	                  (double)n * 2.0 * llm / t->flops) +
	         kv_read / t->bandwidth;
	return t->t_batch + t->t_request * (double)n +
	       prefill_seconds(t, r, n) + decode;
}

double vgmo__vlm_oom_seconds(const vgmo__vlm_truth *t, const vgmo__vlm_req *r,
                             size_t n, double available)
{
	double base = vgmo__vlm_base(t), need = vgmo__vlm_need(t, r, n);
	double frac = need > base ? (available - base) / (need - base) : 1;

	frac = fmin(1.0, fmax(0.05, frac));
	return t->t_batch + t->t_request * (double)n +
	       frac * prefill_seconds(t, r, n) + OOM_RECOVERY;
}

void vgmo__vlm_req_from_trace(const vgmo_vlm_model *m, const vgmo__trace *t,
                              size_t i, uint64_t id, vgmo__vlm_req *out)
{
	const vgmo__trace_req *q = &t->req[i];
	uint32_t tokens = 0;

	for (uint32_t k = 0; k < q->nimages; k++) {
		const vgmo__trace_image *im = &t->img[q->first_image + k];

		tokens += vgmo_model_image_tokens(m, im->w, im->h);
	}
	out->id = id;
	out->image_tokens = tokens;
	out->text_tokens = q->text_tokens;
	out->output_tokens = q->output_tokens;
}
