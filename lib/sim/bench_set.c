/*
 * bench_set.c - one workload over many seeds: every policy's run per seed,
 * the duration made long enough for the oracle to run a few hundred
 * batches, and the per-policy summaries (median and extremes over seeds).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"

#define MAX_EXTEND 4    /* rounds of lengthening a run */
#define MAX_STRETCH 8.0 /* ... to at most this times the duration asked */

const vgmo__bench_result *vgmo__bench_set_result(const vgmo__bench_set *s,
                                                 size_t seed, size_t policy)
{
	return &s->res[seed * s->npolicies + policy];
}

int vgmo__bench_set_policy(const vgmo__bench_set *s, const char *policy)
{
	for (size_t i = 0; i < s->npolicies; i++)
		if (strcmp(s->policies[i], policy) == 0)
			return (int)i;
	return -1;
}

void vgmo__bench_set_free(vgmo__bench_set *s)
{
	if (s->res)
		for (size_t i = 0; i < s->nseeds * s->npolicies; i++)
			vgmo__bench_result_free(&s->res[i]);
	if (s->traces)
		for (size_t i = 0; i < s->nseeds; i++)
			vgmo__trace_free(&s->traces[i]);
	free(s->res);
	free(s->traces);
	free(s->opts);
	free(s->oracle_batches);
	free((void *)s->policies);
	memset(s, 0, sizeof(*s));
}

static vgmo_err make_trace(const vgmo__bench_source *src, double duration,
                           uint64_t seed, vgmo__trace *t, char *err,
                           size_t errlen)
{
	if (src->workload)
		return vgmo__trace_generate(t, src->workload, duration, seed,
		                            err, errlen);
	/* A trace file: the same requests for every seed (a copy, so the
	 * set owns what it points to). */
	vgmo__trace_init(t);
	for (size_t i = 0; i < src->file->nreq; i++) {
		const vgmo__trace_req *q = &src->file->req[i];

		if (vgmo__trace_add_request(t, q->t,
		                            src->file->img + q->first_image,
		                            q->nimages, q->text_tokens,
		                            q->output_tokens) != VGMO_OK)
			goto nomem;
	}
	for (size_t i = 0; i < src->file->nev; i++) {
		const vgmo__trace_event *e = &src->file->ev[i];
		vgmo_err rc = e->fraction ? vgmo__trace_add_event_fraction(
		                                    t, e->t, e->bytes, e->ramp)
		                          : vgmo__trace_add_event(
		                                    t, e->t, e->bytes, e->ramp);

		if (rc != VGMO_OK)
			goto nomem;
	}
	memcpy(t->truth, src->file->truth, sizeof(t->truth));
	t->ntruth = src->file->ntruth;
	return VGMO_OK;
nomem:
	vgmo__trace_free(t);
	return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
}

/* The oracle's run of one seed, lengthened (for a generated workload)
 * until it runs VGMO__BENCH_MIN_BATCHES batches. */
static vgmo_err oracle_run(vgmo__bench_set *s, const vgmo__bench_source *src,
                           size_t k, size_t oi, char *err, size_t errlen)
{
	vgmo__bench_opts *o = &s->opts[k];
	vgmo__bench_result *r = &s->res[k * s->npolicies + oi];
	double longest = fmin(5e5, MAX_STRETCH * o->duration);
	vgmo_err rc;

	for (int round = 0;; round++) {
		rc = make_trace(src, o->duration, o->seed, &s->traces[k], err,
		                errlen);
		if (rc != VGMO_OK)
			return rc;
		o->trace = &s->traces[k];
		rc = vgmo__bench_run(o, "oracle", r, err, errlen);
		if (rc != VGMO_OK)
			return rc;
		if (!src->auto_duration || src->workload == NULL ||
		    r->batches >= VGMO__BENCH_MIN_BATCHES ||
		    round == MAX_EXTEND || o->duration >= longest)
			break;
		/* Longer, with a tenth to spare (a workload whose requests
		 * mostly cannot fit never gets there: it stops at 8 x). */
		o->duration =
		        fmin(longest,
		             ceil(o->duration * 1.1 * VGMO__BENCH_MIN_BATCHES /
		                  fmax(1.0, (double)r->batches) / 100.0) *
		                     100.0);
		vgmo__bench_result_free(r);
		vgmo__trace_free(&s->traces[k]);
	}
	s->oracle_batches[k] = r->batches;
	return VGMO_OK;
}

vgmo_err vgmo__bench_set_run(vgmo__bench_set *out, const vgmo__bench_opts *base,
                             const vgmo__bench_source *src, uint64_t seed_lo,
                             uint64_t seed_hi, const char *const *policies,
                             size_t npolicies,
                             void (*progress)(void *ctx, const char *workload,
                                              uint64_t seed,
                                              const char *policy),
                             void *ctx, char *err, size_t errlen)
{
	vgmo__bench_set *s = out;
	size_t np = npolicies, oi = SIZE_MAX;
	vgmo_err rc = VGMO_OK;

	memset(s, 0, sizeof(*s));
	if (seed_hi < seed_lo || seed_hi - seed_lo >= 1000 || npolicies == 0 ||
	    (src->workload == NULL) == (src->file == NULL))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "benchmark: 1 to 1000 seeds, a policy and "
		                  "one source needed");
	vgmo__strlcpy(s->workload, src->label, sizeof(s->workload));
	for (size_t i = 0; i < npolicies; i++)
		if (strcmp(policies[i], "oracle") == 0)
			oi = i;
	if (oi == SIZE_MAX)
		oi = np++;
	s->nseeds = (size_t)(seed_hi - seed_lo + 1);
	s->npolicies = np;
	s->policies = calloc(np, sizeof(*s->policies));
	s->traces = calloc(s->nseeds, sizeof(*s->traces));
	s->opts = calloc(s->nseeds, sizeof(*s->opts));
	s->oracle_batches = calloc(s->nseeds, sizeof(*s->oracle_batches));
	s->res = calloc(s->nseeds * np, sizeof(*s->res));
	if (!s->policies || !s->traces || !s->opts || !s->oracle_batches ||
	    !s->res) {
		vgmo__bench_set_free(s);
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < npolicies; i++)
		s->policies[i] = policies[i];
	s->policies[oi] = "oracle";
	for (size_t k = 0; k < s->nseeds && rc == VGMO_OK; k++) {
		vgmo__bench_opts *o = &s->opts[k];

		*o = *base;
		o->seed = seed_lo + k;
		if (progress)
			progress(ctx, s->workload, o->seed, "oracle");
		rc = oracle_run(s, src, k, oi, err, errlen);
		for (size_t p = 0; p < np && rc == VGMO_OK; p++) {
			if (p == oi)
				continue;
			if (progress)
				progress(ctx, s->workload, o->seed,
				         s->policies[p]);
			rc = vgmo__bench_run(o, s->policies[p],
			                     &s->res[k * np + p], err, errlen);
		}
		if (rc == VGMO_OK)
			vgmo__bench_ratios(&s->res[k * np], np);
	}
	if (rc != VGMO_OK)
		vgmo__bench_set_free(s);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median (the lower middle for an even count) of the values >= 0; -1
 * when there are none. */
static double median(double *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0)
			v[k++] = v[i];
	if (k == 0)
		return -1;
	qsort(v, k, sizeof(*v), cmp_double);
	return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

static double extreme(const double *v, size_t n, bool max)
{
	double x = -1;

	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0 && (x < 0 || (max ? v[i] > x : v[i] < x)))
			x = v[i];
	return x;
}

void vgmo__bench_summarise(const vgmo__bench_set *s, size_t policy,
                           vgmo__bench_summary *out)
{
	double v[6][1000];
	size_t n = s->nseeds < 1000 ? s->nseeds : 1000;

	memset(out, 0, sizeof(*out));
	out->policy = s->policies[policy];
	for (size_t k = 0; k < n; k++) {
		const vgmo__bench_result *r =
		        vgmo__bench_set_result(s, k, policy);

		v[0][k] = r->ratio_to_oracle;
		v[1][k] = (double)r->ooms;
		v[2][k] = (double)(r->refused + r->dropped);
		v[3][k] = r->latency_p50;
		v[4][k] = r->latency_p95;
		v[5][k] = r->items_per_s;
	}
	out->ratio_min = extreme(v[0], n, false);
	out->ooms_max = extreme(v[1], n, true);
	out->refused_max = extreme(v[2], n, true);
	out->p95_max = extreme(v[4], n, true);
	out->ratio_median = median(v[0], n);
	out->ooms_median = median(v[1], n);
	out->refused_median = median(v[2], n);
	out->p50_median = median(v[3], n);
	out->p95_median = median(v[4], n);
	out->items_per_s_median = median(v[5], n);
	for (size_t k = 0; k < n; k++)
		v[0][k] = vgmo__bench_set_result(s, k, policy)->setting;
	out->setting_median = median(v[0], n);
}
