/*
 * bench_search.c - the baselines chosen in hindsight: the best fixed batch
 * size and the best static token budget (what vLLM's
 * max_num_batched_tokens is), each searched over runs of the whole trace.
 * A user who tuned either by hand on this very workload would not do
 * better.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"

#define REFINE_STEPS 12 /* runs between the best grid point's neighbours */
#define TOKEN_GROWTH 1.25

/* a is better than b: fewer OOMs, then more items/s. */
static bool better(const vgmo__bench_result *a, const vgmo__bench_result *b)
{
	if (a->ooms != b->ooms)
		return a->ooms < b->ooms;
	return a->items_per_s > b->items_per_s;
}

#define MAX_TRIED 128

typedef struct search {
	vgmo__bench_opts o;
	bool tokens;
	vgmo__bench_result best;
	bool have;
	double tried[MAX_TRIED]; /* settings run, in the order run */
	size_t ntried;
	char *err;
	size_t errlen;
} search;

/* Runs one setting (once); keeps it when it is the best so far. *ooms
 * (may be NULL) receives its OOMs. */
static vgmo_err try_setting(search *s, double x, uint64_t *ooms)
{
	vgmo__bench_result r;
	vgmo_err rc;

	for (size_t i = 0; i < s->ntried; i++)
		if (s->tried[i] == x)
			return VGMO_OK;
	if (s->ntried == MAX_TRIED)
		return VGMO_OK;
	s->tried[s->ntried++] = x;
	if (s->tokens)
		s->o.token_budget = x;
	else
		s->o.fixed_size = (int)x;
	rc = vgmo__bench_run(&s->o, s->tokens ? "tokens" : "fixed", &r, s->err,
	                     s->errlen);
	if (rc != VGMO_OK)
		return rc;
	r.setting = x;
	if (ooms)
		*ooms = r.ooms;
	if (!s->have || better(&r, &s->best)) {
		vgmo__bench_result_free(&s->best);
		s->best = r;
		s->have = true;
	} else {
		vgmo__bench_result_free(&r);
	}
	return VGMO_OK;
}

/* The grid: batch sizes, or token budgets from one request's worth
 * upward, geometric. */
static size_t grid(const search *s, double *g, size_t max)
{
	size_t n = 0;

	if (!s->tokens) {
		static const int sizes[] = {
		        1,  2,   3,   4,   5,   6,   8,   10,  12,  14,
		        16, 20,  24,  28,  32,  40,  48,  56,  64,  80,
		        96, 112, 128, 160, 192, 224, 256, 320, 384, 512};
		int lo = s->o.cfg.min_batch_size, hi = s->o.cfg.max_batch_size;

		for (size_t i = 0; i < VGMO__ARRAY_LEN(sizes) && n < max; i++)
			if (sizes[i] >= lo && sizes[i] <= hi)
				g[n++] = sizes[i];
		if (n == 0 || (g[n - 1] < hi && n < max))
			g[n++] = hi;
		return n;
	}
	for (double b = 512; n < max && b < 4e7; b *= TOKEN_GROWTH)
		g[n++] = round(b);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The settings tried just below and above the best one. */
static void neighbours(const search *s, double *lo, double *hi)
{
	double v[MAX_TRIED];
	size_t k = 0;

	memcpy(v, s->tried, s->ntried * sizeof(*v));
	qsort(v, s->ntried, sizeof(*v), cmp_double);
	while (k < s->ntried && v[k] != s->best.setting)
		k++;
	*lo = k > 0 ? v[k - 1] : v[0];
	*hi = k + 1 < s->ntried ? v[k + 1] : v[k];
}

vgmo_err vgmo__bench_search(const vgmo__bench_opts *o, const char *policy,
                            vgmo__bench_result *out, char *err, size_t errlen)
{
	search s;
	double g[64], lo, hi, step;
	size_t n, since_best = 0;
	int rounds;
	vgmo_err rc = VGMO_OK;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.o = *o;
	s.o.progress = NULL;
	s.err = err;
	s.errlen = errlen;
	if (strcmp(policy, "best-tokens") == 0)
		s.tokens = true;
	else if (strcmp(policy, "best-fixed") != 0)
		return vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
		                  "unknown policy \"%s\"", policy);
	n = grid(&s, g, VGMO__ARRAY_LEN(g));
	for (size_t i = 0; i < n && rc == VGMO_OK; i++) {
		uint64_t ooms = 0;

		rc = try_setting(&s, g[i], &ooms);
		if (rc != VGMO_OK)
			break;
		if (s.best.setting == g[i])
			since_best = 0;
		else if (ooms > 0 && ++since_best >= 4)
			break; /* larger settings only run out of memory more */
	}
	/* Refine between the best one's neighbours: to the unit for batch
	 * sizes, two rounds for budgets. */
	for (rounds = 0; rc == VGMO_OK && rounds < (s.tokens ? 2 : 4);
	     rounds++) {
		neighbours(&s, &lo, &hi);
		step = (hi - lo) / (REFINE_STEPS + 1);
		if (!s.tokens)
			step = hi - lo <= 3 * REFINE_STEPS ? 1.0 : ceil(step);
		if (!(step >= 1))
			break;
		for (double x = lo + step; rc == VGMO_OK && x < hi; x += step)
			rc = try_setting(&s, s.tokens ? round(x) : floor(x),
			                 NULL);
		if (step == 1.0 && !s.tokens)
			break;
	}
	if (rc != VGMO_OK) {
		vgmo__bench_result_free(&s.best);
		return rc;
	}
	*out = s.best;
	vgmo__strlcpy(out->policy, policy, sizeof(out->policy));
	return VGMO_OK;
}
