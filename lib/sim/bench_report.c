/*
 * bench_report.c - a benchmark's results over seeds as JSON (every run and
 * the summaries), as a table (plain or Markdown), and checked against the
 * targets of docs/benchmarks.md.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"
#include "util.h"

static json_t *num_or_null(double v)
{
	return v >= 0 && isfinite(v) ? json_real(v) : json_null();
}

static json_t *run_json(const vgmo__bench_result *r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "policy", json_string(r->policy));
	json_object_set_new(o, "items_per_s", json_real(r->items_per_s));
	json_object_set_new(o, "ratio_to_oracle",
	                    num_or_null(r->ratio_to_oracle));
	json_object_set_new(o, "ooms", json_integer((json_int_t)r->ooms));
	json_object_set_new(o, "refused", json_integer((json_int_t)r->refused));
	json_object_set_new(o, "dropped", json_integer((json_int_t)r->dropped));
	json_object_set_new(o, "latency_p50_s", num_or_null(r->latency_p50));
	json_object_set_new(o, "latency_p95_s", num_or_null(r->latency_p95));
	json_object_set_new(o, "batch_size_changes",
	                    json_integer((json_int_t)r->batch_size_changes));
	json_object_set_new(o, "p95_memory_usage",
	                    json_real(r->p95_memory_usage));
	json_object_set_new(o, "mean_batch_size",
	                    json_real(r->mean_batch_size));
	json_object_set_new(o, "completed",
	                    json_integer((json_int_t)r->completed));
	json_object_set_new(o, "batches", json_integer((json_int_t)r->batches));
	json_object_set_new(o, "oom_seconds", json_real(r->oom_seconds));
	json_object_set_new(o, "setting", num_or_null(r->setting));
	return o;
}

static json_t *summary_json(const vgmo__bench_summary *m)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "policy", json_string(m->policy));
	json_object_set_new(o, "ratio_median", num_or_null(m->ratio_median));
	json_object_set_new(o, "ratio_min", num_or_null(m->ratio_min));
	json_object_set_new(o, "ooms_median", json_real(m->ooms_median));
	json_object_set_new(o, "ooms_max", json_real(m->ooms_max));
	json_object_set_new(o, "refused_median", json_real(m->refused_median));
	json_object_set_new(o, "refused_max", json_real(m->refused_max));
	json_object_set_new(o, "latency_p50_median_s",
	                    num_or_null(m->p50_median));
	json_object_set_new(o, "latency_p95_median_s",
	                    num_or_null(m->p95_median));
	json_object_set_new(o, "latency_p95_max_s", num_or_null(m->p95_max));
	json_object_set_new(o, "items_per_s_median",
	                    num_or_null(m->items_per_s_median));
	json_object_set_new(o, "setting_median",
	                    num_or_null(m->setting_median));
	return o;
}

json_t *vgmo__bench_json(const vgmo__bench_set *s)
{
	const vgmo__bench_opts *o = &s->opts[0];
	json_t *root = json_object(), *runs = json_array(), *sum = json_array();
	vgmo__truth_params tp;
	json_t *truth = json_object();

	if (root == NULL || runs == NULL || sum == NULL || truth == NULL) {
		json_decref(truth);
		json_decref(sum);
		json_decref(runs);
		json_decref(root);
		return NULL;
	}
	vgmo__bench_truth_params(o, &tp);
	for (int k = 0; k < VGMO__TP_COUNT; k++)
		json_object_set_new(truth, vgmo__truth_param_table()[k].key,
		                    json_real(tp.v[k]));
	json_object_set_new(root, "workload", json_string(s->workload));
	json_object_set_new(root, "model", json_string(o->model.name));
	json_object_set_new(root, "gpu", json_string(o->gpu));
	json_object_set_new(root, "unit",
	                    json_string(o->unit_items ? "items" : "tokens"));
	json_object_set_new(root, "max_batch_size",
	                    json_integer(o->cfg.max_batch_size));
	json_object_set_new(root, "truth", truth);
	for (size_t k = 0; k < s->nseeds; k++) {
		json_t *run = json_object(), *list = json_array();

		json_object_set_new(run, "seed",
		                    json_integer((json_int_t)s->opts[k].seed));
		json_object_set_new(run, "duration",
		                    json_real(s->opts[k].duration));
		json_object_set_new(
		        run, "requests",
		        json_integer((json_int_t)s->opts[k].trace->nreq));
		json_object_set_new(
		        run, "oracle_batches",
		        json_integer((json_int_t)s->oracle_batches[k]));
		for (size_t p = 0; p < s->npolicies; p++)
			json_array_append_new(
			        list,
			        run_json(vgmo__bench_set_result(s, k, p)));
		json_object_set_new(run, "policies", list);
		json_array_append_new(runs, run);
	}
	for (size_t p = 0; p < s->npolicies; p++) {
		vgmo__bench_summary m;

		vgmo__bench_summarise(s, p, &m);
		json_array_append_new(sum, summary_json(&m));
	}
	json_object_set_new(root, "runs", runs);
	json_object_set_new(root, "summary", sum);
	return root;
}

static void seconds(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else if (v < 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

void vgmo__bench_table(FILE *f, const vgmo__bench_set *s, bool markdown)
{
	const vgmo__bench_opts *o = &s->opts[0];
	double dmin = INFINITY, dmax = 0;
	uint64_t bmin = UINT64_MAX;
	const char *sep = markdown ? " | " : "  ";

	for (size_t k = 0; k < s->nseeds; k++) {
		dmin = fmin(dmin, s->opts[k].duration);
		dmax = fmax(dmax, s->opts[k].duration);
		if (s->oracle_batches[k] < bmin)
			bmin = s->oracle_batches[k];
	}
	fprintf(f,
	        "%sworkload %s: %s on %s, seeds %llu-%llu, %.0f-%.0f s, "
	        "oracle batches >= %llu, vgmo counting %s%s\n",
	        markdown ? "\n**" : "", s->workload, o->model.name, o->gpu,
	        (unsigned long long)s->opts[0].seed,
	        (unsigned long long)s->opts[s->nseeds - 1].seed, dmin, dmax,
	        (unsigned long long)bmin, o->unit_items ? "items" : "tokens",
	        markdown ? "**" : "");
	if (markdown)
		fputs("\n| policy | ratio to oracle, median (min) | OOMs, "
		      "median (max) | refused, median (max) | latency p50 / "
		      "p95, s (median) | setting |\n| --- | ---: | ---: | "
		      "---: | ---: | ---: |\n",
		      f);
	else
		fprintf(f, "  %-13s %-15s %-11s %-11s %-15s %s\n", "policy",
		        "ratio med(min)", "OOMs (max)", "refused", "p50/p95 s",
		        "setting");
	for (size_t p = 0; p < s->npolicies; p++) {
		vgmo__bench_summary m;
		char ratio[32], ooms[32], ref[32], p50[16], p95[16], lat[40];
		char set[24];

		vgmo__bench_summarise(s, p, &m);
		if (m.ratio_median >= 0)
			snprintf(ratio, sizeof(ratio), "%.3f (%.3f)",
			         m.ratio_median, m.ratio_min);
		else
			snprintf(ratio, sizeof(ratio), "-");
		snprintf(ooms, sizeof(ooms), "%g (%g)", m.ooms_median,
		         m.ooms_max);
		snprintf(ref, sizeof(ref), "%g (%g)", m.refused_median,
		         m.refused_max);
		seconds(p50, sizeof(p50), m.p50_median);
		seconds(p95, sizeof(p95), m.p95_median);
		snprintf(lat, sizeof(lat), "%s / %s", p50, p95);
		if (m.setting_median >= 0)
			snprintf(set, sizeof(set), "%.0f", m.setting_median);
		else
			snprintf(set, sizeof(set), "-");
		if (markdown)
			fprintf(f, "| %s%s%s%s%s%s%s%s%s%s%s |\n", m.policy,
			        sep, ratio, sep, ooms, sep, ref, sep, lat, sep,
			        set);
		else
			fprintf(f, "  %-13s %-15s %-11s %-11s %-15s %s\n",
			        m.policy, ratio, ooms, ref, lat, set);
	}
}

void vgmo__bench_overview(FILE *f, const vgmo__bench_set *sets, size_t n)
{
	if (n == 0)
		return;
	fputs("| workload |", f);
	for (size_t p = 0; p < sets[0].npolicies; p++)
		fprintf(f, " %s |", sets[0].policies[p]);
	fputs("\n| --- |", f);
	for (size_t p = 0; p < sets[0].npolicies; p++)
		fputs(" ---: |", f);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "| %s |", sets[i].workload);
		for (size_t p = 0; p < sets[i].npolicies; p++) {
			vgmo__bench_summary m;

			vgmo__bench_summarise(&sets[i], p, &m);
			if (m.ratio_median >= 0)
				fprintf(f, " %.3f", m.ratio_median);
			else
				fputs(" -", f);
			if (m.ooms_max > 0)
				fprintf(f, " **(%g)**", m.ooms_max);
			fputs(" |", f);
		}
		fputc('\n', f);
	}
}

__attribute__((format(printf, 4, 5))) static void
miss(char *why, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*used >= len)
		return;
	if (*used && *used + 2 < len) {
		memcpy(why + *used, "; ", 3);
		*used += 2;
	}
	va_start(ap, fmt);
	k = vsnprintf(why + *used, len - *used, fmt, ap);
	va_end(ap);
	if (k > 0)
		*used += (size_t)k < len - *used ? (size_t)k : len - *used;
}

/* Refused requests a strategy may have beyond the oracle's: a share of
 * them, and a few (requests refused in doubt the oracle knew would fit). */
#define REFUSED_SLACK 0.1
#define REFUSED_SLACK_N 3

/* Median ratio to the oracle each strategy must reach on a GPU (0: no
 * goal). 24 GB cards leave a few GB after a 7B model's weights; their
 * goal is lower. */
static double ratio_goal(const char *gpu, const char *strategy)
{
	bool small = strstr(gpu, "24gb") != NULL;

	if (strcmp(strategy, "balanced") == 0)
		return small ? 0.92 : 0.97;
	if (!small && (strcmp(strategy, "aggressive") == 0 ||
	               strcmp(strategy, "adaptive") == 0))
		return 0.98;
	return 0;
}

int vgmo__bench_targets(const vgmo__bench_set *s, char *why, size_t len)
{
	static const char *const baselines[] = {
	        "accelerate", "lightning", "seed", "best-fixed", "best-tokens"};
	size_t used = 0;
	int checked = 0, missed = 0,
	    oracle = vgmo__bench_set_policy(s, "oracle");
	vgmo__bench_summary o = {0};

	if (len)
		why[0] = '\0';
	if (oracle >= 0)
		vgmo__bench_summarise(s, (size_t)oracle, &o);
	for (size_t p = 0; p < s->npolicies; p++) {
		const char *name = s->policies[p];
		vgmo__bench_summary m;
		double goal;

		if (!vgmo__bench_is_vgmo(name))
			continue;
		checked++;
		vgmo__bench_summarise(s, p, &m);
		if (m.ooms_max > 0) {
			missed++;
			miss(why, len, &used, "%s ran out of memory (up to %g)",
			     name, m.ooms_max);
		}
		/* Refusing is no way to be fast: a request the oracle runs
		 * and vgmo refuses is work lost (REFUSED_SLACK allowed). */
		if (oracle >= 0 &&
		    m.refused_median > o.refused_median * (1 + REFUSED_SLACK) +
		                               REFUSED_SLACK_N) {
			missed++;
			miss(why, len, &used,
			     "%s refused %g requests a run (median) where the "
			     "oracle refused %g",
			     name, m.refused_median, o.refused_median);
		}
		goal = ratio_goal(s->opts[0].gpu, name);
		if (goal > 0 && m.ratio_median >= 0 && m.ratio_median < goal) {
			missed++;
			miss(why, len, &used,
			     "%s at %.3f of the oracle (< %.2f)", name,
			     m.ratio_median, goal);
		}
		for (size_t b = 0; b < VGMO__ARRAY_LEN(baselines); b++) {
			int bi = vgmo__bench_set_policy(s, baselines[b]);
			size_t lost = 0;

			if (bi < 0)
				continue;
			for (size_t k = 0; k < s->nseeds; k++) {
				const vgmo__bench_result *v =
				        vgmo__bench_set_result(s, k, p);
				const vgmo__bench_result *x =
				        vgmo__bench_set_result(s, k,
				                               (size_t)bi);

				if (v->items_per_s < x->items_per_s ||
				    v->ooms > x->ooms)
					lost++;
			}
			if (lost) {
				missed++;
				miss(why, len, &used,
				     "%s not both as fast and as free of OOMs "
				     "as %s (seeds lost: %zu of %zu)",
				     name, baselines[b], lost, s->nseeds);
			}
		}
	}
	return checked ? missed : -1;
}
