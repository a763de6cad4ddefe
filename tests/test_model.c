/*
 * test_model.c - the online memory model and the batch-size policy.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model.h"
#include "policy.h"
#include "util.h"

#define GB 1e9

static void feed(vgmo__model *m, vgmo__rng *rng, double fixed, double item,
                 double sd, int from, int to, int reps)
{
	for (int r = 0; r < reps; r++)
		for (int n = from; n <= to; n++) {
			double peak = fixed;

			for (int i = 0; i < n; i++)
				peak += item * (1 + sd * vgmo__rng_normal(rng));
			vgmo__model_add(m, (uint32_t)n, peak, fixed * 0.9);
		}
}

static void test_prior_before_reports(void **state)
{
	vgmo__model m;
	double a, b;

	(void)state;
	vgmo__model_init(&m, 1.5 * GB);
	assert_false(vgmo__model_fitted(&m));
	vgmo__model_coefficients(&m, &a, &b, NULL);
	assert_true(a == 0);
	assert_true(b == 1.5 * GB);
	/* The prior carries a 25 % margin. */
	assert_true(fabs(vgmo__model_margin(&m, 4) - 1.5 * GB) < 1);
}

static void test_fit_converges(void **state)
{
	vgmo__model m;
	vgmo__rng rng;
	double a, b, s;

	(void)state;
	vgmo__rng_seed(&rng, 7);
	vgmo__model_init(&m, GB);
	feed(&m, &rng, 20 * GB, 3 * GB, 0.2, 2, 12, 30);
	vgmo__model_coefficients(&m, &a, &b, &s);
	assert_true(fabs(b - 3 * GB) < 0.05 * 3 * GB);
	assert_true(fabs(a - 20 * GB) < 0.05 * 20 * GB);
	/* Noise per sqrt(item) is 0.2 * 3 GB. */
	assert_true(s > 0.4 * GB && s < 0.8 * GB);
}

static void test_single_size_is_pessimistic(void **state)
{
	vgmo__model m;
	vgmo__rng rng;
	double a, b;

	(void)state;
	vgmo__rng_seed(&rng, 3);
	vgmo__model_init(&m, GB);
	feed(&m, &rng, 20 * GB, 3 * GB, 0.0, 4, 4, 10);
	vgmo__model_coefficients(&m, &a, &b, NULL);
	/* The intercept is what the worker holds between batches (18 GB);
	 * everything else is charged to the items, so larger batches are
	 * over- rather than under-estimated. */
	assert_true(fabs(a - 18 * GB) < 1e3);
	assert_true(b >= 3 * GB);
	assert_true(vgmo__model_predict(&m, 8) >= 20 * GB + 8 * 3 * GB);
}

static void test_oom_ceiling_and_relax(void **state)
{
	vgmo__model m;

	(void)state;
	vgmo__model_init(&m, GB);
	vgmo__model_oom(&m, 10);
	assert_int_equal(m.ceiling, 10);
	vgmo__model_oom(&m, 12); /* a larger OOM does not raise it */
	assert_int_equal(m.ceiling, 10);
	for (int i = 0; i < 63; i++)
		vgmo__model_add(&m, 5, 10 * GB, 0);
	assert_int_equal(m.ceiling, 10);
	vgmo__model_add(&m, 5, 10 * GB, 0);
	assert_int_equal(m.ceiling, 11);
}

/* A model with no noise: peak(n) = 10 GB + 2 GB n, fitted exactly. */
static void exact_model(vgmo__model *m)
{
	vgmo__model_init(m, GB);
	for (int r = 0; r < 50; r++)
		for (int n = 1; n <= 8; n++)
			vgmo__model_add(m, (uint32_t)n, 10 * GB + 2 * GB * n,
			                0);
}

static int target(vgmo_strategy s, const vgmo__model *m, double crit,
                  double oom, int max)
{
	vgmo_config c;
	vgmo__policy_in in = {0};

	vgmo_config_defaults(&c);
	c.strategy = s;
	c.max_batch_size = max;
	in.cfg = &c;
	in.model = m;
	in.budget_critical = crit;
	in.budget_oom = oom;
	in.current = 4;
	return vgmo__policy_target(&in);
}

static void test_strategy_factors(void **state)
{
	vgmo__model m;
	int bal;

	(void)state;
	exact_model(&m);
	/* 52 GB fits 20 items (10 + 40 = 50 GB plus the margin). */
	bal = vgmo__largest_fit(&m, 52 * GB, 100);
	assert_int_equal(bal, 20);
	assert_int_equal(
	        target(VGMO_STRATEGY_BALANCED, &m, 52 * GB, 60 * GB, 100), 20);
	assert_int_equal(
	        target(VGMO_STRATEGY_CONSERVATIVE, &m, 52 * GB, 60 * GB, 100),
	        14);
	/* x1.2 = 24, and 24 items (58 GB) fit the OOM budget. */
	assert_int_equal(
	        target(VGMO_STRATEGY_AGGRESSIVE, &m, 52 * GB, 60 * GB, 100),
	        24);
	/* ...but never past the OOM threshold: 54 GB holds 21 items. */
	assert_int_equal(
	        target(VGMO_STRATEGY_AGGRESSIVE, &m, 52 * GB, 54 * GB, 100),
	        21);
	/* Clamped to max_batch_size. */
	assert_int_equal(
	        target(VGMO_STRATEGY_BALANCED, &m, 52 * GB, 60 * GB, 16), 16);
	/* Nothing fits: the minimum. */
	assert_int_equal(target(VGMO_STRATEGY_BALANCED, &m, 5 * GB, 6 * GB, 16),
	                 1);
}

static void test_ceiling_caps_target(void **state)
{
	vgmo__model m;

	(void)state;
	exact_model(&m);
	vgmo__model_oom(&m, 9);
	assert_int_equal(
	        target(VGMO_STRATEGY_AGGRESSIVE, &m, 52 * GB, 60 * GB, 100), 8);
}

static void test_settle(void **state)
{
	vgmo__model m;
	vgmo_config c;
	vgmo__policy_in in = {0};

	(void)state;
	exact_model(&m);
	vgmo_config_defaults(&c);
	c.max_batch_size = 64;
	in.cfg = &c;
	in.model = &m;
	in.budget_critical = 52 * GB;
	in.budget_oom = 60 * GB;

	/* Growth waits for the cool-down. */
	in.current = 10;
	assert_int_equal(vgmo__policy_settle(&in, 20, 19, 0), 10);
	assert_int_equal(vgmo__policy_settle(&in, 20, 19, 10), 19);
	/* A one-step wobble down is ignored while it is safe... */
	in.current = 15;
	assert_int_equal(vgmo__policy_settle(&in, 14, 14, 10), 15);
	/* ...a clear drop is applied at once... */
	assert_int_equal(vgmo__policy_settle(&in, 12, 12, 0), 12);
	/* ...and so is any drop when the current size no longer fits. */
	in.current = 21;
	assert_int_equal(vgmo__policy_settle(&in, 20, 20, 0), 20);
}

static void test_throughput_ewma(void **state)
{
	vgmo__throughput t = {0};

	(void)state;
	vgmo__throughput_add(&t, 4, 2.0);
	assert_true(fabs(t.items_per_s[4] - 2.0) < 1e-12);
	vgmo__throughput_add(&t, 4, 1.0);
	assert_true(t.items_per_s[4] > 2.0 && t.items_per_s[4] < 4.0);
	vgmo__throughput_add(&t, 0, 1.0);    /* ignored */
	vgmo__throughput_add(&t, 4000, 1.0); /* beyond the table: ignored */
	vgmo__throughput_add(&t, 4, 0.0);    /* no time: ignored */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_prior_before_reports),
	        cmocka_unit_test(test_fit_converges),
	        cmocka_unit_test(test_single_size_is_pessimistic),
	        cmocka_unit_test(test_oom_ceiling_and_relax),
	        cmocka_unit_test(test_strategy_factors),
	        cmocka_unit_test(test_ceiling_caps_target),
	        cmocka_unit_test(test_settle),
	        cmocka_unit_test(test_throughput_ewma),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
