/*
 * bench_report.c - a benchmark's results as JSON (one entry per policy), as
 * a table, and checked against the targets of docs/benchmarks.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

static json_t *policy_json(const vgmo__bench_result *r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "policy", json_string(r->policy));
	json_object_set_new(o, "items_per_s", json_real(r->items_per_s));
	json_object_set_new(o, "ooms", json_integer((json_int_t)r->ooms));
	json_object_set_new(o, "ratio_to_oracle",
	                    r->ratio_to_oracle >= 0
	                            ? json_real(r->ratio_to_oracle)
	                            : json_null());
	json_object_set_new(o, "batch_size_changes",
	                    json_integer((json_int_t)r->batch_size_changes));
	json_object_set_new(o, "p95_memory_usage",
	                    json_real(r->p95_memory_usage));
	json_object_set_new(o, "mean_batch_size",
	                    json_real(r->mean_batch_size));
	json_object_set_new(o, "completed",
	                    json_integer((json_int_t)r->completed));
	json_object_set_new(o, "dropped", json_integer((json_int_t)r->dropped));
	json_object_set_new(o, "batches", json_integer((json_int_t)r->batches));
	json_object_set_new(o, "oom_seconds", json_real(r->oom_seconds));
	return o;
}

json_t *vgmo__bench_json(const char *workload, const vgmo__bench_opts *o,
                         const vgmo__bench_result *r, size_t n)
{
	json_t *root = json_object(), *list = json_array();

	if (root == NULL || list == NULL) {
		json_decref(list);
		json_decref(root);
		return NULL;
	}
	json_object_set_new(root, "workload", json_string(workload));
	json_object_set_new(root, "model", json_string(o->model.name));
	json_object_set_new(root, "gpu", json_string(o->gpu));
	json_object_set_new(root, "duration", json_real(o->duration));
	json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(root, "unit",
	                    json_string(o->unit_items ? "items" : "tokens"));
	json_object_set_new(root, "max_batch_size",
	                    json_integer(o->cfg.max_batch_size));
	json_object_set_new(root, "requests",
	                    json_integer((json_int_t)o->trace->nreq));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, policy_json(&r[i]));
	json_object_set_new(root, "policies", list);
	return root;
}

void vgmo__bench_table(FILE *f, const char *workload, const vgmo__bench_opts *o,
                       const vgmo__bench_result *r, size_t n)
{
	fprintf(f,
	        "workload %s: %zu requests, %s on %s, %.0f s, seed %llu, "
	        "vgmo counting %s\n",
	        workload, o->trace->nreq, o->model.name, o->gpu, o->duration,
	        (unsigned long long)o->seed,
	        o->unit_items ? "items" : "tokens");
	fprintf(f, "  %-13s %9s %7s %5s %8s %8s %10s\n", "policy", "items/s",
	        "ratio", "OOMs", "changes", "p95 mem", "mean batch");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  %-13s %9.3f ", r[i].policy, r[i].items_per_s);
		if (r[i].ratio_to_oracle >= 0)
			fprintf(f, "%7.3f", r[i].ratio_to_oracle);
		else
			fprintf(f, "%7s", "-");
		fprintf(f, " %5llu %8llu %7.1f%% %10.1f\n",
		        (unsigned long long)r[i].ooms,
		        (unsigned long long)r[i].batch_size_changes,
		        100.0 * r[i].p95_memory_usage, r[i].mean_batch_size);
	}
}

static const vgmo__bench_result *named(const vgmo__bench_result *r, size_t n,
                                       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].policy, name) == 0)
			return &r[i];
	return NULL;
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

int vgmo__bench_targets(const vgmo__bench_result *r, size_t n, char *why,
                        size_t len)
{
	static const struct {
		const char *name;
		double ratio; /* 0: none */
	} goals[] = {{"conservative", 0},
	             {"balanced", 0.95},
	             {"aggressive", 0.97},
	             {"adaptive", 0.95}};
	static const char *const baselines[] = {"halve-on-oom", "binsearch",
	                                        "fixed", "seed"};
	size_t used = 0;
	int checked = 0, missed = 0;

	if (len)
		why[0] = '\0';
	for (size_t g = 0; g < 4; g++) {
		const vgmo__bench_result *v = named(r, n, goals[g].name);

		if (v == NULL)
			continue;
		checked++;
		if (v->ooms) {
			missed++;
			miss(why, len, &used, "%s had %llu OOMs", v->policy,
			     (unsigned long long)v->ooms);
		}
		if (goals[g].ratio > 0 && v->ratio_to_oracle >= 0 &&
		    v->ratio_to_oracle < goals[g].ratio) {
			missed++;
			miss(why, len, &used, "%s at %.3f of oracle (< %.2f)",
			     v->policy, v->ratio_to_oracle, goals[g].ratio);
		}
		for (size_t b = 0; b < 4; b++) {
			const vgmo__bench_result *x = named(r, n, baselines[b]);

			/* A tie (no queue: everyone serves every request)
			 * is not a loss. */
			if (x == NULL || v->items_per_s > x->items_per_s ||
			    v->ooms < x->ooms ||
			    (v->ooms == x->ooms &&
			     v->items_per_s >= 0.999 * x->items_per_s))
				continue;
			missed++;
			miss(why, len, &used,
			     "%s beats %s on neither items/s "
			     "nor OOMs",
			     v->policy, x->policy);
		}
	}
	return checked ? missed : -1;
}
