/*
 * test_benchmark_truth.c - `vgmo benchmark`: the truth model, the
 * baselines on identical requests, requests that never fit, sets over
 * seeds with their JSON and SVG outputs, and the published targets.
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

/* ------------------------------------------------ the truth model */

static void truth_for(vgmo__vlm_truth *t, const vgmo__truth_params *p)
{
	vgmo_vlm_model m;

	assert_int_equal(vgmo_model_preset_find("qwen2-vl-7b", &m), VGMO_OK);
	vgmo__vlm_truth_init(t, &m, VGMO_DTYPE_BF16, p, 450e12, 2.5e12, 1);
}

static vgmo__vlm_req req(uint64_t id, uint32_t image, uint32_t text,
                         uint32_t out)
{
	vgmo__vlm_req r = {0};

	r.id = id;
	r.nimages = image ? 1 : 0;
	r.image_tokens = r.max_image_tokens = image;
	r.text_tokens = text;
	r.output_tokens = out;
	return r;
}

/* The truth is not the planner: on a padded batch the two disagree, and
 * each of the truth's assumptions moves its peak the way it says. */
static void test_truth_model(void **state)
{
	vgmo__vlm_req b[4] = {req(1, 4000, 50, 200), req(2, 300, 20, 200),
	                      req(3, 300, 20, 200), req(4, 300, 20, 200)};
	vgmo__batch_shape shape = {0};
	vgmo__truth_params p;
	vgmo__vlm_truth t;
	vgmo__vlm_cost c, c2;
	double plan, truth;

	(void)state;
	vgmo__truth_params_defaults(&p);
	truth_for(&t, &p);
	vgmo__vlm_cost_of(&t, b, 4, &c);
	for (size_t i = 0; i < 4; i++) {
		shape.image_tokens += b[i].image_tokens;
		shape.text_tokens += b[i].text_tokens;
		shape.output_tokens += b[i].output_tokens;
	}
	shape.requests = 4;
	plan = vgmo__estimate_fixed(&t.model, VGMO_DTYPE_BF16) +
	       vgmo__estimate_batch(&t.model, VGMO_DTYPE_BF16, &shape);
	truth = vgmo__vlm_need(&t, c.peak, 0, b, 4);
	/* Padded to the longest prompt: the truth holds about four times
	 * the first request's activations, the planner the sum. */
	if (fabs(truth - plan) < 0.1 * (truth - t.weights))
		fail_msg("planner %.3g and truth %.3g agree", plan, truth);
	/* Packed is cheaper than padded. */
	p.v[VGMO__TP_PADDING] = 0;
	truth_for(&t, &p);
	vgmo__vlm_cost_of(&t, b, 4, &c2);
	assert_true(c2.prefill < 0.6 * c.prefill);
	/* Eager attention adds heads x L^2; full logits vocab x L. */
	vgmo__truth_params_defaults(&p);
	p.v[VGMO__TP_ATTENTION] = 2;
	truth_for(&t, &p);
	vgmo__vlm_cost_of(&t, b, 1, &c2);
	vgmo__truth_params_defaults(&p);
	truth_for(&t, &p);
	vgmo__vlm_cost_of(&t, b, 1, &c);
	assert_true(c2.prefill - c.prefill > 6.0 * 28 * 4074.0 * 4074.0 * 0.99);
	p.v[VGMO__TP_LOGITS] = 1;
	truth_for(&t, &p);
	vgmo__vlm_cost_of(&t, b, 1, &c2);
	assert_true(c2.prefill - c.prefill > 4000.0 * 152064 * 5.9);
	/* Longer outputs: the decode's cache grows; a short output keeps the
	 * prefill the peak. */
	vgmo__truth_params_defaults(&p);
	p.v[VGMO__TP_OUTPUT_FILL] = 1.0;
	truth_for(&t, &p);
	b[0].output_tokens = 60000;
	vgmo__vlm_cost_of(&t, b, 1, &c2);
	assert_true(c2.decode > c2.prefill);
	assert_true(c2.peak == t.weights + c2.decode);
	assert_true(vgmo__vlm_generated(&t, &b[0]) <= 60000);
	/* Fragmentation builds up over batches, up to frag_max. */
	assert_true(vgmo__vlm_fragmentation(&t, 0) == 0);
	assert_true(vgmo__vlm_fragmentation(&t, 50) > 0.6 * 0.08);
	assert_true(vgmo__vlm_fragmentation(&t, 1e6) <= 0.08 + 1e-12);
	/* Parameters: names, ranges, KEY=VALUE. */
	{
		char err[256];

		assert_int_equal(vgmo__truth_param_parse(&p, "act_scale=1.5",
		                                         err, sizeof(err)),
		                 VGMO_OK);
		assert_true(p.v[VGMO__TP_ACT_SCALE] == 1.5);
		assert_int_equal(vgmo__truth_param_parse(&p, "act_scale=3", err,
		                                         sizeof(err)),
		                 VGMO_ERR_INVALID);
		assert_non_null(strstr(err, "[0.8, 2]"));
		assert_int_equal(vgmo__truth_param_parse(&p, "padding=0.5", err,
		                                         sizeof(err)),
		                 VGMO_ERR_INVALID);
		assert_int_equal(
		        vgmo__truth_param_parse(&p, "nope=1", err, sizeof(err)),
		        VGMO_ERR_INVALID);
		assert_non_null(strstr(err, "nope"));
		assert_int_equal(vgmo__truth_param_parse(&p, "padding", err,
		                                         sizeof(err)),
		                 VGMO_ERR_INVALID);
		assert_int_equal(vgmo__truth_param_parse(&p, "padding=x", err,
		                                         sizeof(err)),
		                 VGMO_ERR_INVALID);
	}
}

/* ------------------------------------------------------- baselines */

/* A trace of identical requests, a truth without noise: the largest
 * batch that fits is one number, k, and each baseline's path is known. */
typedef struct same {
	vgmo__trace trace;
	vgmo__bench_opts o;
	size_t k;
	uint64_t units;
} same;

static void setup_same(same *s, double duration)
{
	vgmo__trace_image img = {2000, 2000};
	vgmo__vlm_req q[300];
	vgmo__truth_params tp;
	vgmo__vlm_truth t;
	uint64_t total;

	/* A backlog: every request waits from the start. */
	vgmo__trace_init(&s->trace);
	for (int i = 0; i < 4000; i++)
		assert_int_equal(
		        vgmo__trace_add_request(&s->trace, 0, &img, 1, 64, 1),
		        VGMO_OK);
	vgmo__bench_opts_init(&s->o);
	s->o.trace = &s->trace;
	s->o.duration = duration;
	s->o.truth.v[VGMO__TP_FRAG_MAX] = 0;
	s->o.truth_set[VGMO__TP_FRAG_MAX] = true;
	s->o.truth.v[VGMO__TP_ROUNDING] = 0;
	s->o.truth_set[VGMO__TP_ROUNDING] = true;
	/* The largest batch that fits, from the truth itself. */
	vgmo__bench_truth_params(&s->o, &tp);
	vgmo__vlm_truth_init(&t, &s->o.model, VGMO_DTYPE_BF16, &tp, 1, 1, 1);
	for (size_t i = 0; i < 300; i++)
		vgmo__vlm_req_from_trace(&s->o.model, &s->trace, i, i, 0,
		                         &q[i]);
	assert_int_equal(vgmo_gpu_preset_memory("h100-80gb", &total), VGMO_OK);
	s->k = vgmo__vlm_largest_fit(&t, q, 300, (double)total - t.context, 0);
	s->units = vgmo__bench_units(&q[0]);
	if (s->k < 8 || s->k > 64)
		fail_msg("k = %zu", s->k);
}

static void test_baselines(void **state)
{
	vgmo__bench_result r;
	size_t pow2 = 128, i;
	same s;

	(void)state;
	setup_same(&s, 400);
	while (pow2 > s.k)
		pow2 /= 2;
	/* accelerate: 128, halved at each OOM, down to the first power of
	 * two below k; never grows. */
	run(&s.o, "accelerate", &r);
	for (i = 0; r.points[i].oom; i++)
		assert_int_equal(r.points[i].limit, 128 >> i);
	assert_int_equal(r.ooms, i);
	for (; i < r.npoints; i++)
		assert_int_equal(r.points[i].limit, pow2);
	vgmo__bench_result_free(&r);
	/* lightning: 2, 4, 8, ... three batches each, bisects after the
	 * failure and holds k. */
	run(&s.o, "lightning", &r);
	assert_int_equal(r.points[0].limit, 2);
	assert_int_equal(r.points[2].limit, 2);
	assert_int_equal(r.points[3].limit, 4);
	/* Each size above k tried once fails: the first doubling past k,
	 * then some bisection steps. */
	assert_true(r.ooms >= 1 && r.ooms <= 8);
	assert_int_equal(r.points[r.npoints - 1].limit, s.k);
	vgmo__bench_result_free(&r);
	/* seed: (free - reserve) / 500 MB, at most its own 16. */
	run(&s.o, "seed", &r);
	assert_int_equal(r.points[r.npoints - 1].limit, 16);
	vgmo__bench_result_free(&r);
	/* best-fixed finds k exactly, with no OOM. */
	run(&s.o, "best-fixed", &r);
	assert_int_equal(r.ooms, 0);
	if (r.setting != (double)s.k)
		fail_msg("best-fixed found %g, not %zu", r.setting, s.k);
	vgmo__bench_result_free(&r);
	/* best-tokens: a budget of k requests' units, no OOM. */
	run(&s.o, "best-tokens", &r);
	assert_int_equal(r.ooms, 0);
	assert_true(r.setting >= (double)(s.k * s.units) &&
	            r.setting < (double)((s.k + 1) * s.units));
	vgmo__bench_result_free(&r);
	/* The oracle: k every time. */
	run(&s.o, "oracle", &r);
	assert_int_equal(r.ooms, 0);
	for (i = 0; i < r.npoints; i++)
		assert_int_equal(r.points[i].items, s.k);
	vgmo__bench_result_free(&r);
	vgmo__trace_free(&s.trace);
}

/* Requests that can never fit: refused at no cost for the baselines and
 * the oracle; vgmo's strategies are not told. */
static void test_never_fitting(void **state)
{
	vgmo__trace_image img[12];
	vgmo__bench_result r;
	vgmo__bench_opts o;
	vgmo__trace t;

	(void)state;
	vgmo__trace_init(&t);
	for (size_t i = 0; i < 12; i++)
		img[i] = (vgmo__trace_image){4960, 7016};
	for (int i = 0; i < 10; i++)
		assert_int_equal(
		        vgmo__trace_add_request(&t, i, img, 12, 64, 64),
		        VGMO_OK);
	vgmo__bench_opts_init(&o);
	o.trace = &t;
	o.duration = 100;
	for (const char *const *p =
	             (const char *const[]){"accelerate", "best-fixed", "oracle",
	                                   NULL};
	     *p; p++) {
		run(&o, *p, &r);
		assert_int_equal(r.ooms, 0);
		assert_int_equal(r.refused, 10);
		assert_int_equal(r.completed, 0);
		vgmo__bench_result_free(&r);
	}
	vgmo__trace_free(&t);
}

/* -------------------------------------------------------- over seeds */

static void test_sets_and_outputs(void **state)
{
	const char *names[] = {"balanced", "accelerate"};
	vgmo__bench_source src = {"docs", NULL, "docs", true};
	vgmo__bench_section sec;
	vgmo__bench_summary m;
	vgmo__bench_set set;
	vgmo__bench_opts o;
	char path[] = "/tmp/vgmo-test-plot-XXXXXX";
	char buf[65536], err[256], why[1024];
	json_t *j, *run0, *first;
	FILE *in;
	size_t n;
	int fd;

	(void)state;
	vgmo__bench_opts_init(&o);
	o.duration = 600; /* lengthened until the oracle runs 200 batches */
	assert_int_equal(vgmo__bench_set_run(&set, &o, &src, 3, 4, names, 2,
	                                     NULL, NULL, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(set.nseeds, 2);
	assert_int_equal(set.npolicies, 3); /* the oracle added */
	assert_string_equal(set.policies[2], "oracle");
	for (size_t k = 0; k < 2; k++) {
		assert_true(set.opts[k].duration > 600);
		assert_true(set.oracle_batches[k] >= VGMO__BENCH_MIN_BATCHES);
		assert_true(
		        vgmo__bench_set_result(&set, k, 2)->ratio_to_oracle ==
		        1.0);
	}
	vgmo__bench_summarise(&set, 0, &m);
	assert_string_equal(m.policy, "balanced");
	{ /* over two seeds: the median is their mean */
		double r0 = vgmo__bench_set_result(&set, 0, 0)->ratio_to_oracle;
		double r1 = vgmo__bench_set_result(&set, 1, 0)->ratio_to_oracle;

		assert_true(fabs(m.ratio_median - (r0 + r1) / 2) < 1e-9);
		assert_true(m.ratio_min == fmin(r0, r1));
	}
	assert_true(m.p50_median > 0 && m.p95_median >= m.p50_median);
	j = vgmo__bench_json(&set);
	assert_non_null(j);
	run0 = json_array_get(json_object_get(j, "runs"), 0);
	assert_int_equal(json_integer_value(json_object_get(run0, "seed")), 3);
	first = json_array_get(json_object_get(run0, "policies"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "policy")),
	                    "balanced");
	for (const char *const *k =
	             (const char *const[]){"items_per_s", "ooms",
	                                   "ratio_to_oracle", "refused",
	                                   "latency_p95_s", NULL};
	     *k; k++)
		assert_true(json_is_number(json_object_get(first, *k)));
	assert_true(json_is_null(json_object_get(first, "setting")));
	assert_int_equal(json_array_size(json_object_get(j, "summary")), 3);
	assert_true(json_is_number(
	        json_object_get(json_object_get(j, "truth"), "act_scale")));
	json_decref(j);
	/* The table, plain and in Markdown. */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		vgmo__bench_table(f, &set, true);
		fclose(f);
		assert_non_null(strstr(text, "| balanced | "));
		assert_non_null(strstr(text, "seeds 3-4"));
		free(text);
	}
	assert_true(vgmo__bench_targets(&set, why, sizeof(why)) >= 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	sec = (vgmo__bench_section){"docs", &set.opts[0], set.res, 3};
	assert_int_equal(vgmo__bench_svg(path, &sec, 1, err, sizeof(err)),
	                 VGMO_OK);
	in = fopen(path, "r");
	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf) - 1, in);
	buf[n] = '\0';
	fclose(in);
	unlink(path);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "accelerate"));
	assert_int_equal(vgmo__bench_svg("/nonexistent/dir/p.svg", &sec, 1, err,
	                                 sizeof(err)),
	                 VGMO_ERR_IO);
	assert_non_null(strstr(err, "/nonexistent/dir/p.svg"));
	vgmo__bench_set_free(&set);
}

/* "Beats" means at least as fast and no more OOMs, seed by seed. */
static void test_targets_logic(void **state)
{
	const char *names[] = {"balanced", "best-fixed", "oracle"};
	vgmo__bench_result res[6];
	vgmo__bench_opts opts[2];
	uint64_t batches[2] = {300, 300};
	vgmo__bench_set s;
	char why[1024];

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(res));
	strcpy(s.workload, "made-up");
	s.nseeds = 2;
	s.npolicies = 3;
	s.policies = names;
	s.opts = opts;
	s.oracle_batches = batches;
	s.res = res;
	vgmo__bench_opts_init(&opts[0]);
	vgmo__bench_opts_init(&opts[1]);
	for (size_t k = 0; k < 2; k++) {
		strcpy(res[3 * k].policy, "balanced");
		strcpy(res[3 * k + 1].policy, "best-fixed");
		strcpy(res[3 * k + 2].policy, "oracle");
		res[3 * k].items_per_s = 0.99;
		res[3 * k + 1].items_per_s = 0.98;
		res[3 * k + 2].items_per_s = 1.0;
		vgmo__bench_ratios(&res[3 * k], 3);
	}
	assert_int_equal(vgmo__bench_targets(&s, why, sizeof(why)), 0);
	/* Faster, but one OOM more on seed 2: a miss (twice: the OOM, and
	 * not beating best-fixed). */
	res[3].ooms = 1;
	assert_int_equal(vgmo__bench_targets(&s, why, sizeof(why)), 2);
	assert_non_null(strstr(why, "best-fixed (seeds lost: 1 of 2)"));
	res[3].ooms = 0;
	/* Below the median ratio goal. */
	res[0].items_per_s = res[3].items_per_s = 0.985;
	res[1].items_per_s = res[4].items_per_s = 0.90;
	vgmo__bench_ratios(&res[0], 3);
	vgmo__bench_ratios(&res[3], 3);
	assert_int_equal(vgmo__bench_targets(&s, why, sizeof(why)), 0);
	res[0].items_per_s = res[3].items_per_s = 0.95;
	vgmo__bench_ratios(&res[0], 3);
	vgmo__bench_ratios(&res[3], 3);
	assert_int_equal(vgmo__bench_targets(&s, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "balanced at 0.950 of the oracle"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_truth_model),
	        cmocka_unit_test(test_baselines),
	        cmocka_unit_test(test_never_fitting),
	        cmocka_unit_test(test_sets_and_outputs),
	        cmocka_unit_test(test_targets_logic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
