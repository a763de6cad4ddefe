/*
 * plan_check.c - the planner's estimate (vlm_models.h) next to measured
 * batches (plan_check.h), part by part:
 *
 *   weights      the model's parameters x dtype bytes, against
 *                memory_allocated() right after the model was built;
 *   KV cache     kv_per_token x batch x (image + prompt + new tokens),
 *                against the bytes of the cache's tensors after generate;
 *   activations  batch x (the larger of decoder and vision activations +
 *                logits), against peak - base of a forward pass without
 *                KV cache that keeps only the last position's logits;
 *   peak         weights + workspace (+ KV in generate mode) +
 *                activations, against max_memory_allocated().
 *
 * The image tokens are the planner's own (vgmo_model_image_tokens), so
 * the error is what `vgmo plan` would be off by for that image size;
 * the tokens the script fed are shown beside them. Relative error is
 * (plan - measured) / measured: negative means the planner promised less
 * memory than the batch took.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan_check.h"
#include "util.h"
#include "vlm_models.h"

static const char *const part_names[VGMO__PART_COUNT] = {
        [VGMO__PART_WEIGHTS] = "weights",
        [VGMO__PART_KV] = "kv_cache",
        [VGMO__PART_ACT] = "activations",
        [VGMO__PART_PEAK] = "peak",
};

const char *vgmo__check_part_name(vgmo__check_part p)
{
	return p < VGMO__PART_COUNT ? part_names[p] : "?";
}

/* Names the measurement script may use for a preset. */
static const struct {
	const char *alias, *preset;
} aliases[] = {
        {"smolvlm", "smolvlm-instruct"},
        {"qwen2-vl-7b-instruct", "qwen2-vl-7b"},
        {"qwen2-vl-2b-instruct", "qwen2-vl-2b"},
        {"qwen2.5-vl-7b-instruct", "qwen2.5-vl-7b"},
        {"llava-1.5-7b-hf", "llava-1.5-7b"},
};

vgmo_err vgmo__check_preset(const char *name, vgmo_vlm_model *out)
{
	if (vgmo_model_preset_find(name, out) == VGMO_OK)
		return VGMO_OK;
	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(aliases); i++)
		if (strcmp(aliases[i].alias, name) == 0)
			return vgmo_model_preset_find(aliases[i].preset, out);
	return VGMO_ERR_NOT_FOUND;
}

static double rel(double plan, double meas)
{
	if (isnan(plan) || isnan(meas) || !(meas > 0))
		return NAN;
	return (plan - meas) / meas;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and the largest |e| (signed) of n errors; sorts `e`. */
static void summarize(double *e, size_t n, double *median, double *worst)
{
	*worst = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(e[i]) > fabs(*worst))
			*worst = e[i];
	qsort(e, n, sizeof(*e), cmp_double);
	*median = n % 2 ? e[n / 2] : (e[n / 2 - 1] + e[n / 2]) / 2;
}

static const vgmo__mmodel *built_model(const vgmo__mfile *f, const char *name)
{
	for (size_t i = 0; i < f->nmodels; i++)
		if (strcmp(f->models[i].model, name) == 0 &&
		    strcmp(f->models[i].status, "built") == 0)
			return &f->models[i];
	return NULL;
}

static void fill_row(const vgmo__mfile *f, const vgmo__mpoint *p,
                     const vgmo_vlm_model *m, vgmo__check_row *r)
{
	const vgmo__mmodel *mm = built_model(f, p->model);
	bool gen = p->mode == VGMO__MODE_GENERATE;
	bool measured = strcmp(p->status, "measured") == 0;
	vgmo__batch_shape one;
	double kv_token = (double)vgmo_model_kv_bytes_per_token(m, f->dtype);

	memset(r, 0, sizeof(*r));
	r->point = p;
	vgmo__strlcpy(r->preset, m->name, sizeof(r->preset));
	r->plan_image_tokens = vgmo_model_image_tokens(m, p->width, p->height);
	one.image_tokens = (double)r->plan_image_tokens * p->images;
	one.text_tokens = p->prompt_tokens;
	one.output_tokens = gen ? p->max_new_tokens : 0;
	one.requests = 1;
	r->plan_weights = (double)vgmo_model_weights_bytes(m, f->dtype);
	r->meas_weights = mm ? mm->weights_bytes : NAN;
	r->plan_kv = gen ? kv_token * p->batch *
	                             (one.image_tokens + one.text_tokens +
	                              one.output_tokens)
	                 : NAN;
	r->meas_kv = gen ? p->kv_cache : NAN;
	r->plan_act = p->batch * vgmo__estimate_activations(m, &one);
	r->meas_act = !gen && measured && !p->logits_all
	                      ? p->peak_allocated - p->base_allocated
	                      : NAN;
	r->plan_peak = vgmo__estimate_fixed(m, f->dtype) +
	               (gen ? r->plan_kv : 0) + r->plan_act;
	r->meas_peak = measured ? p->peak_allocated : NAN;
	r->plan_fits =
	        isnan(f->gpu_total_bytes) || r->plan_peak <= f->gpu_total_bytes;
}

/* Index of `name` in the model list, added when new; -1: no memory. */
static long model_index(char (**names)[64], size_t *n, const char *name)
{
	char(*grown)[64];

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0)
			return (long)i;
	grown = realloc(*names, (*n + 1) * sizeof(**names));
	if (grown == NULL)
		return -1;
	*names = grown;
	vgmo__strlcpy((*names)[*n], name, sizeof(**names));
	return (long)(*n)++;
}

/* One model's errors of one part, over the rows (weights: once). */
static size_t collect(const vgmo__check *c, const char *model,
                      vgmo__check_part part, double *e)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrows; i++) {
		const vgmo__check_row *r = &c->rows[i];
		double x = NAN;

		if (strcmp(r->point->model, model) != 0)
			continue;
		switch (part) {
		case VGMO__PART_WEIGHTS:
			x = n == 0 ? rel(r->plan_weights, r->meas_weights)
			           : NAN;
			break;
		case VGMO__PART_KV:
			x = rel(r->plan_kv, r->meas_kv);
			break;
		case VGMO__PART_ACT:
			x = rel(r->plan_act, r->meas_act);
			break;
		case VGMO__PART_PEAK:
		default:
			x = rel(r->plan_peak, r->meas_peak);
			break;
		}
		if (!isnan(x))
			e[n++] = x;
	}
	return n;
}

static vgmo_err add_stats(vgmo__check *c, char (*names)[64], size_t nnames)
{
	double *e = c->nrows ? malloc(c->nrows * sizeof(*e)) : NULL;
	size_t cap = nnames * VGMO__PART_COUNT;

	c->stats = cap ? calloc(cap, sizeof(*c->stats)) : NULL;
	if ((c->nrows && e == NULL) || (cap && c->stats == NULL)) {
		free(e);
		return VGMO_ERR_NOMEM;
	}
	for (size_t m = 0; m < nnames; m++) {
		for (int p = 0; p < VGMO__PART_COUNT; p++) {
			vgmo__check_stat *s = &c->stats[c->nstats];
			size_t n = collect(c, names[m], (vgmo__check_part)p, e);

			if (n == 0)
				continue;
			vgmo__strlcpy(s->model, names[m], sizeof(s->model));
			s->part = (vgmo__check_part)p;
			s->n = n;
			summarize(e, n, &s->median, &s->worst);
			c->nstats++;
		}
	}
	free(e);
	return VGMO_OK;
}

void vgmo__check_free(vgmo__check *c)
{
	if (c == NULL)
		return;
	free(c->rows);
	free(c->stats);
	free(c->unmatched);
	memset(c, 0, sizeof(*c));
}

vgmo_err vgmo__check_compute(const vgmo__mfile *f,
                             const vgmo_vlm_model *override, vgmo__check *out,
                             char *err, size_t errlen)
{
	char(*names)[64] = NULL;
	size_t nnames = 0;
	vgmo_vlm_model m;
	vgmo_err rc = VGMO_OK;

	memset(out, 0, sizeof(*out));
	if (f->npoints) {
		out->rows = calloc(f->npoints, sizeof(*out->rows));
		if (out->rows == NULL) {
			rc = VGMO_ERR_NOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < f->npoints; i++) {
		const vgmo__mpoint *p = &f->points[i];
		bool oomed = strcmp(p->status, "oom") == 0;

		if (strcmp(p->status, "error") == 0)
			out->errors++;
		if (!oomed && strcmp(p->status, "measured") != 0) {
			out->skipped += strcmp(p->status, "error") != 0;
			continue;
		}
		if (override)
			m = *override;
		else if (vgmo__check_preset(p->model, &m) != VGMO_OK) {
			if (model_index(&out->unmatched, &out->nunmatched,
			                p->model) < 0) {
				rc = VGMO_ERR_NOMEM;
				goto fail;
			}
			continue;
		}
		fill_row(f, p, &m, &out->rows[out->nrows]);
		if (model_index(&names, &nnames, p->model) < 0) {
			rc = VGMO_ERR_NOMEM;
			goto fail;
		}
		if (oomed) {
			out->ooms++;
			out->oom_planned_fit += out->rows[out->nrows].plan_fits;
		}
		out->nrows++;
	}
	rc = add_stats(out, names, nnames);
	if (rc != VGMO_OK)
		goto fail;
	free(names);
	return VGMO_OK;
fail:
	free(names);
	vgmo__check_free(out);
	return vgmo__errf(err, errlen, rc, "plan check: %s", vgmo_strerror(rc));
}
