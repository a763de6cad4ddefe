/*
 * cmd_benchmark_sweep.c - `vgmo benchmark --sweep KEY`: every policy on
 * every workload asked for, across the documented range of one parameter
 * of the truth model, so that the docs show vgmo over each range and not
 * at one point. Per value: the median and lowest ratio to the oracle over
 * every (workload, seed) run, and the OOMs in all of them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_benchmark.h"

#define SWEEP_POINTS 5

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* The values a sweep visits: every integer of a discrete parameter, else
 * both ends, the default and the midpoints beside it. */
static size_t sweep_values(const vgmo__truth_param_info *in, double *v)
{
	size_t n = 0;

	if (in->discrete) {
		for (double x = in->lo; x <= in->hi && n < 8; x += 1)
			v[n++] = x;
		return n;
	}
	v[n++] = in->lo;
	v[n++] = 0.5 * (in->lo + in->def);
	v[n++] = in->def;
	v[n++] = 0.5 * (in->def + in->hi);
	v[n++] = in->hi;
	return n;
}

typedef struct cell {
	double median, min;
	uint64_t ooms;
} cell;

/* One policy over every run of the sets. */
static cell summarise(const vgmo__bench_set *sets, size_t nsets,
                      const char *policy)
{
	double r[BENCH_MAX_WORKLOADS * 1000];
	size_t n = 0;
	cell c = {-1, -1, 0};

	for (size_t i = 0; i < nsets; i++) {
		int p = vgmo__bench_set_policy(&sets[i], policy);

		for (size_t k = 0; p >= 0 && k < sets[i].nseeds; k++) {
			const vgmo__bench_result *x =
			        vgmo__bench_set_result(&sets[i], k, (size_t)p);

			c.ooms += x->ooms;
			if (x->ratio_to_oracle >= 0 &&
			    n < sizeof(r) / sizeof(r[0]))
				r[n++] = x->ratio_to_oracle;
		}
	}
	if (n) {
		qsort(r, n, sizeof(*r), cmp_double);
		c.median = n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
		c.min = r[0];
	}
	return c;
}

static void print_row(FILE *f, bool md, const char *key, double value,
                      const cell *c, size_t n)
{
	fprintf(f, md ? "| %s = %g |" : "  %s = %-8g", key, value);
	for (size_t p = 0; p < n; p++) {
		char buf[48];

		if (c[p].median >= 0)
			snprintf(buf, sizeof(buf), "%.3f (%.3f) %llu",
			         c[p].median, c[p].min,
			         (unsigned long long)c[p].ooms);
		else
			snprintf(buf, sizeof(buf), "- %llu",
			         (unsigned long long)c[p].ooms);
		fprintf(f, md ? " %s |" : " %-20s", buf);
	}
	fputc('\n', f);
}

static void print_header(FILE *f, bool md, const bench_args *a)
{
	fprintf(f,
	        "%ssweep of %s on %s, %s, seeds %llu-%llu: median (lowest) "
	        "ratio to the oracle, then OOMs over all runs%s\n",
	        md ? "\n**" : "", a->sweep, a->o.gpu, a->o.model.name,
	        (unsigned long long)a->seed_lo, (unsigned long long)a->seed_hi,
	        md ? "**" : "");
	if (md) {
		fputs("\n| value |", f);
		for (size_t p = 0; p < a->npolicies; p++)
			fprintf(f, " %s |", a->policies[p]);
		fputs("\n| --- |", f);
		for (size_t p = 0; p < a->npolicies; p++)
			fputs(" ---: |", f);
		fputc('\n', f);
	} else {
		fprintf(f, "  %-*s", (int)strlen(a->sweep) + 11, "value");
		for (size_t p = 0; p < a->npolicies; p++)
			fprintf(f, " %-20s", a->policies[p]);
		fputc('\n', f);
	}
}

int bench_sweep(bench_args *a)
{
	int k = vgmo__truth_param_index(a->sweep);
	const vgmo__truth_param_info *in = &vgmo__truth_param_table()[k];
	double values[8], med[8 * BENCH_MAX_POLICIES];
	uint64_t ooms[8 * BENCH_MAX_POLICIES];
	size_t nv = sweep_values(in, values), np = a->npolicies;
	vgmo__bench_set *sets = calloc(BENCH_MAX_WORKLOADS, sizeof(*sets));
	FILE *md = NULL;
	char err[512];
	int rc = CLI_EXIT_OK;

	if (sets == NULL)
		return cli_fail("out of memory");
	if (a->markdown && (md = fopen(a->markdown, "w")) == NULL) {
		free(sets);
		return cli_fail("%s: cannot write the tables", a->markdown);
	}
	print_header(stdout, false, a);
	if (md)
		print_header(md, true, a);
	for (size_t i = 0; i < nv && rc == CLI_EXIT_OK; i++) {
		vgmo__bench_opts o = a->o;
		cell c[BENCH_MAX_POLICIES];
		size_t ns = 0;

		o.truth.v[k] = values[i];
		o.truth_set[k] = true;
		rc = bench_run_sets(a, &o, sets, &ns);
		if (rc != CLI_EXIT_OK)
			break;
		for (size_t p = 0; p < np; p++) {
			c[p] = summarise(sets, ns, a->policies[p]);
			med[i * np + p] = c[p].median;
			ooms[i * np + p] = c[p].ooms;
		}
		print_row(stdout, false, a->sweep, values[i], c, np);
		if (md)
			print_row(md, true, a->sweep, values[i], c, np);
		fflush(stdout);
		for (size_t s = 0; s < ns; s++)
			vgmo__bench_set_free(&sets[s]);
	}
	if (md && fclose(md) != 0 && rc == CLI_EXIT_OK)
		rc = cli_fail("%s: cannot write the tables", a->markdown);
	if (rc == CLI_EXIT_OK && a->plot &&
	    vgmo__bench_sweep_svg(a->plot, a->sweep, a->o.gpu, values, nv,
	                          a->policies, np, med, ooms, err,
	                          sizeof(err)) != VGMO_OK)
		rc = cli_fail("%s", err);
	free(sets);
	return rc;
}
