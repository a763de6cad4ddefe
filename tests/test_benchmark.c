/*
 * test_benchmark.c - `vgmo benchmark`: determinism for a seed, the oracle
 * as the upper bound where nothing is padded, no policy reading the simulator's
 * hidden state, the engine's unit calls and the simulated GPU running VLM
 * workloads (the truth model, baselines, targets and outputs:
 * test_benchmark_truth.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine_internal.h"
#include "sim.h"
#include "vlm_models.h"
#include "util.h"
#include "test_benchmark_util.h"

/* Field by field: the structs' padding is not part of the result (and
 * valgrind sees it uninitialised). */
static bool same_points(const vgmo__bench_point *a, const vgmo__bench_point *b,
                        size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].t != b[i].t || a[i].usage != b[i].usage ||
		    a[i].limit != b[i].limit || a[i].items != b[i].items ||
		    a[i].oom != b[i].oom)
			return false;
	return true;
}

static void test_deterministic(void **state)
{
	vgmo__bench_result a, b, c;
	fixture f;

	(void)state;
	setup(&f, "mixed", 7);
	run(&f.o, "adaptive", &a);
	run(&f.o, "adaptive", &b);
	assert_true(a.items_per_s == b.items_per_s);
	assert_int_equal(a.npoints, b.npoints);
	assert_true(same_points(a.points, b.points, a.npoints));
	f.o.seed = 8; /* same trace, other hidden draws */
	run(&f.o, "adaptive", &c);
	assert_true(a.npoints != c.npoints ||
	            !same_points(a.points, c.points, a.npoints));
	vgmo__bench_result_free(&a);
	vgmo__bench_result_free(&b);
	vgmo__bench_result_free(&c);
	vgmo__trace_free(&f.trace);
}

/* The oracle fills the memory to the last block and never runs out of
 * it; where nothing is padded (a packed worker) on steady workloads,
 * nothing beats it by more than a per cent or two. A policy may beat it
 * where a padded worker's shapes mix (padding to the longest prompt,
 * generation to the longest output): it is a maximum-fill reference,
 * and vgmo cuts a padded worker's batches by time. */
static void test_oracle_reference(void **state)
{
	static const char *const steady[] = {"docs", "photos"};
	const char *const *p = vgmo__bench_policies();
	size_t n = 0;

	(void)state;
	while (p[n])
		n++;
	for (const char *const *w = vgmo__workloads(); *w; w++) {
		vgmo__bench_result r;
		fixture f;

		setup_for(&f, *w, 1, 600);
		run(&f.o, "oracle", &r);
		if (r.ooms)
			fail_msg("the oracle ran out of memory on %s", *w);
		assert_true(r.completed > 0);
		vgmo__bench_result_free(&r);
		vgmo__trace_free(&f.trace);
	}
	for (size_t k = 0; k < 2; k++) {
		vgmo__bench_result r[16];
		fixture f;

		setup(&f, steady[k], 2);
		f.o.truth.v[VGMO__TP_PADDING] = 0;
		f.o.truth_set[VGMO__TP_PADDING] = true;
		for (size_t i = 0; i < n; i++)
			run(&f.o, p[i], &r[i]);
		vgmo__bench_ratios(r, n);
		for (size_t i = 0; i < n; i++) {
			if (r[i].ratio_to_oracle > 1.015)
				fail_msg("%s beats the oracle on %s: %.4f",
				         r[i].policy, steady[k],
				         r[i].ratio_to_oracle);
			vgmo__bench_result_free(&r[i]);
		}
		vgmo__trace_free(&f.trace);
	}
}

typedef struct hook {
	double at, factor;
	bool done;
} hook;

/* Makes every request's decoder activations costlier from `at` on. */
static void change_costs(void *ctx, double now, vgmo__vlm_truth *t)
{
	hook *h = ctx;

	if (!h->done && now >= h->at) {
		t->p.v[VGMO__TP_ACT_SCALE] *= h->factor;
		vgmo__vlm_truth_derive(t);
		h->done = true;
	}
}

static size_t first_at(const vgmo__bench_result *r, double t)
{
	size_t k = 0;

	while (k < r->npoints && r->points[k].t < t)
		k++;
	return k;
}

/* The hidden costs change at 300 s. Until a batch has run under them, no
 * policy but the oracle decides differently. */
static void test_no_hidden_state(void **state)
{
	const char *const *p = vgmo__bench_policies();
	fixture f;

	(void)state;
	setup(&f, "photos", 1);
	for (; *p; p++) {
		vgmo__bench_result a, b;
		hook h = {300, 1.5, false};
		size_t k;

		if (strncmp(*p, "best-", 5) == 0)
			continue; /* searches: runs of fixed and tokens */
		run(&f.o, *p, &a);
		f.o.hidden_hook = change_costs;
		f.o.hook_ctx = &h;
		run(&f.o, *p, &b);
		f.o.hidden_hook = NULL;
		assert_true(h.done);
		k = first_at(&a, 300);
		assert_int_equal(k, first_at(&b, 300));
		for (size_t i = 0; i < k; i++)
			assert_true(a.points[i].limit == b.points[i].limit);
		if (strcmp(*p, "oracle") == 0) {
			assert_true(b.points[k].limit < a.points[k].limit);
		} else {
			assert_true(a.points[k].limit == b.points[k].limit);
			assert_true(a.points[k].items == b.points[k].items);
		}
		vgmo__bench_result_free(&a);
		vgmo__bench_result_free(&b);
	}
	vgmo__trace_free(&f.trace);
}

static void test_policy_isolation(void **state)
{
	vgmo__bench_policy *pol = NULL;
	vgmo__bench_result r;
	fixture f;
	char err[256] = "";

	(void)state;
	setup(&f, "photos", 1);
	/* The oracle cannot run without the truth; nothing else gets it. */
	assert_int_equal(
	        vgmo__bench_policy_open(&pol, "oracle", &f.o, NULL, NULL),
	        VGMO_ERR_INVALID);
	assert_null(pol);
	assert_int_equal(vgmo__bench_run(&f.o, "magic", &r, err, sizeof(err)),
	                 VGMO_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "magic"));
	/* The searches are not policies a worker runs. */
	assert_int_equal(
	        vgmo__bench_policy_open(&pol, "best-fixed", &f.o, NULL, NULL),
	        VGMO_ERR_INVALID);
	/* A token budget is needed for "tokens". */
	assert_int_equal(vgmo__bench_run(&f.o, "tokens", &r, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "tokens"));
	vgmo__trace_free(&f.trace);
}

static vgmo_engine *sim_engine(const char *workload, char *err, size_t len)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;

	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = workload;
	vgmo_engine_create(&e, &c, &o, err, len);
	return e;
}

static void test_unit_calls(void **state)
{
	vgmo_unit_decision d;
	vgmo_report r = {0};
	char err[256];
	vgmo_engine *e = sim_engine("none", err, sizeof(err));
	int id;

	(void)state;
	assert_non_null(e);
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, &id), VGMO_OK);
	/* No prior, no report: the item batch size. */
	assert_int_equal(vgmo_engine_unit_decision(e, id, &d), VGMO_OK);
	assert_true(d.unit_budget == 0);
	assert_int_equal(d.max_items, 4);
	assert_int_equal(vgmo_engine_unit_decision(e, 99, &d),
	                 VGMO_ERR_NOT_FOUND);
	assert_int_equal(vgmo_engine_set_unit_prior(e, id, 0, 0),
	                 VGMO_ERR_INVALID);
	/* 16 GiB fixed + 200 kB per token, at the wide margin of a prior, in
	 * half the GPU (the default worker shares it): 30k to 150k tokens;
	 * one request at first, it climbs from there. */
	assert_int_equal(
	        vgmo_engine_set_unit_prior(e, id, UINT64_C(16) << 30, 200e3),
	        VGMO_OK);
	assert_int_equal(vgmo_engine_unit_decision(e, id, &d), VGMO_OK);
	if (!(d.unit_budget > 30000 && d.unit_budget < 150000))
		fail_msg("unit budget %llu", (unsigned long long)d.unit_budget);
	assert_int_equal(d.max_items, 1);
	/* An OOM at 200000 tokens: the budget shrinks below what failed,
	 * and a cleanup is asked for. */
	r.items = 10;
	r.oom = true;
	assert_int_equal(vgmo_engine_report_units(e, id, &r, 200000, &d),
	                 VGMO_OK);
	assert_true(d.unit_budget < 200000);
	assert_true(d.cleanup);
	assert_int_equal(vgmo_engine_report_units(e, id, &r, 0, &d),
	                 VGMO_ERR_INVALID);
	/* A manual batch size wins. */
	assert_int_equal(vgmo_engine_set_batch_size(e, id, 3, NULL, 0),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_unit_decision(e, id, &d), VGMO_OK);
	assert_true(d.unit_budget == 0);
	assert_int_equal(d.max_items, 3);
	vgmo_engine_destroy(e);
}

static void test_sim_runs_vlm_workloads(void **state)
{
	char err[512] = "";
	vgmo_engine *e;
	vgmo_snapshot *s;

	(void)state;
	e = sim_engine("docs:llava-1.5-7b", err, sizeof(err));
	assert_non_null(e);
	assert_string_equal(
	        vgmo__sim_vlm(vgmo__sim_of(e->ops, e->bctx), 0)->model.name,
	        "llava-1.5-7b");
	assert_int_equal(vgmo_engine_sim_run(e, 600), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_true(vgmo_snapshot_worker(s, 0)->reports > 20);
	assert_true(
	        vgmo_snapshot_gpu(s, 0)->memory_used >
	        vgmo_model_weights_bytes(
	                &vgmo__sim_vlm(vgmo__sim_of(e->ops, e->bctx), 0)->model,
	                VGMO_DTYPE_BF16));
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
	/* The default model; "requests" leaves the worker to the caller. */
	e = sim_engine("cotenant", err, sizeof(err));
	assert_non_null(e);
	assert_string_equal(
	        vgmo__sim_vlm(vgmo__sim_of(e->ops, e->bctx), 0)->model.name,
	        "qwen2-vl-7b");
	vgmo_engine_destroy(e);
	e = sim_engine("requests", err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(vgmo_engine_sim_run(e, 60), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_true(vgmo_snapshot_worker(s, 0)->reports == 0);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
	assert_null(sim_engine("docs:gpt-9", err, sizeof(err)));
	assert_non_null(strstr(err, "gpt-9"));
	assert_null(sim_engine("chess", err, sizeof(err)));
	assert_non_null(strstr(err, "chess"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_deterministic),
	        cmocka_unit_test(test_oracle_reference),
	        cmocka_unit_test(test_no_hidden_state),
	        cmocka_unit_test(test_policy_isolation),
	        cmocka_unit_test(test_unit_calls),
	        cmocka_unit_test(test_sim_runs_vlm_workloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
