/*
 * test_cost.c - the learned memory cost (lib/engine/cost.c), the strategy table
 * and adaptive's levels (lib/engine/strategy.c), and the promises the
 * strategies make about running out of memory, checked on simulated workers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cost.h"
#include "engine_internal.h"
#include "strategy.h"
#include "util.h"

#define GIB 1073741824.0

static void items_x(double n, double *x)
{
	memset(x, 0, VGMO__COST_MAX * sizeof(*x));
	x[0] = 1;
	x[VGMO__X_ITEMS] = n;
}

static void test_normal_quantile(void **state)
{
	(void)state;
	assert_true(fabs(vgmo__normal_upper(0.5)) < 1e-9);
	assert_true(fabs(vgmo__normal_upper(0.05) - 1.6448536) < 1e-6);
	assert_true(fabs(vgmo__normal_upper(1e-3) - 3.0902323) < 1e-6);
	assert_true(fabs(vgmo__normal_upper(1e-4) - 3.7190165) < 1e-6);
	assert_true(fabs(vgmo__normal_upper(0.2) - 0.8416212) < 1e-6);
}

/* With the base pinned, one batch size tells the cost per item. */
static void test_pinned_base(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	vgmo__cost c;

	(void)state;
	vgmo__cost_init(&c, 2, prior, 0);
	assert_false(vgmo__cost_fitted(&c));
	items_x(4, x);
	vgmo__cost_add(&c, x, 16 * GIB + 4 * 4.2 * GIB, 16 * GIB);
	assert_true(vgmo__cost_fitted(&c));
	assert_true(vgmo__cost_base(&c) == 16 * GIB);
	items_x(12, x);
	/* Within a few per cent of 12 x 4.2 GiB, and not below it by much:
	 * the pessimistic prior on the intercept charges items. */
	assert_true(fabs(vgmo__cost_variable(&c, x) - 12 * 4.2 * GIB) <
	            0.07 * 12 * 4.2 * GIB);
}

/* Without a base, one batch size charges everything to the items (an
 * upper bound); two sizes separate fixed from per-item costs. */
static void test_intercept(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	vgmo__cost c;

	(void)state;
	vgmo__cost_init(&c, 2, prior, 0);
	for (int i = 0; i < 5; i++) {
		items_x(4, x);
		vgmo__cost_add(&c, x, 10 * GIB + 4 * GIB, 0);
	}
	items_x(8, x);
	assert_true(vgmo__cost_variable(&c, x) >= 0.9 * (10 + 8) * GIB);
	for (int i = 0; i < 40; i++) {
		double n = i % 2 ? 4 : 12;

		items_x(n, x);
		vgmo__cost_add(&c, x, 10 * GIB + n * GIB, 0);
	}
	items_x(20, x);
	/* Within 10 %, and rather above than below. */
	assert_true(vgmo__cost_variable(&c, x) > 29 * GIB &&
	            vgmo__cost_variable(&c, x) < 33 * GIB);
}

/* Exact reports narrow the margin; noisy ones keep it wide. */
static void test_factor(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	double z = vgmo__normal_upper(1e-3), f0, f;
	vgmo__cost exact, noisy;
	vgmo__rng r;

	(void)state;
	vgmo__rng_seed(&r, 3);
	vgmo__cost_init(&exact, 2, prior, 8 * GIB);
	vgmo__cost_init(&noisy, 2, prior, 8 * GIB);
	f0 = vgmo__cost_factor(&exact, z);
	assert_true(f0 > 1.5); /* a prior may be far off */
	for (int i = 0; i < 150; i++) {
		double n = 4 + i % 5;

		items_x(n, x);
		vgmo__cost_add(&exact, x, 8 * GIB + n * 2 * GIB, 8 * GIB);
		vgmo__cost_add(
		        &noisy, x,
		        8 * GIB + n * 2 * GIB * exp(0.1 * vgmo__rng_normal(&r)),
		        8 * GIB);
	}
	f = vgmo__cost_factor(&exact, z);
	assert_true(f < 1.15 && f < f0);
	assert_true(vgmo__cost_factor(&noisy, z) > 1.2);
	/* A lower probability, a wider margin. */
	assert_true(vgmo__cost_factor(&noisy, vgmo__normal_upper(1e-4)) >
	            vgmo__cost_factor(&noisy, z));
}

/* Small batches' errors say little about the large ones: a worker whose
 * 1-item batches are off by 30 % either way (a few MiB of noise) and whose
 * 40-item ones are exact keeps the margin of the large ones; a small
 * batch far over its prediction does not set the floor either. */
static void test_small_batches_weigh_less(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 64 * 1048576.0}, x[VGMO__COST_MAX];
	double z = vgmo__normal_upper(1e-3);
	vgmo__cost c;
	vgmo__rng r;

	(void)state;
	vgmo__rng_seed(&r, 5);
	vgmo__cost_init(&c, 2, prior, 8 * GIB);
	for (int i = 0; i < 200; i++) {
		double n = i % 2 ? 40 : 1;
		double noise = n == 1 ? exp(0.3 * vgmo__rng_normal(&r)) : 1;

		items_x(n, x);
		vgmo__cost_add(&c, x, 8 * GIB + n * 64 * 1048576.0 * noise,
		               8 * GIB);
	}
	items_x(1, x);
	vgmo__cost_add(&c, x, 8 * GIB + 64 * 1048576.0 * 2.0, 8 * GIB);
	if (!(vgmo__cost_factor(&c, z) < 1.25))
		fail_msg("factor %.3f", vgmo__cost_factor(&c, z));
}

/* A lasting change of cost is detected, and learned within a few dozen
 * reports instead of the hundreds the old ones would take to fade. */
/* The margin never falls below the largest error of late, however small
 * the spread: one batch 40 % over an exact model's prediction lifts the
 * factor to 1.4 at once, even at z = 0, and it fades slowly after. */
static void test_factor_floor_is_the_largest_error(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	vgmo__cost c;
	double f;

	(void)state;
	vgmo__cost_init(&c, 2, prior, 8 * GIB);
	for (int i = 0; i < 150; i++) {
		double n = 4 + i % 5;

		items_x(n, x);
		vgmo__cost_add(&c, x, 8 * GIB + n * 2 * GIB, 8 * GIB);
	}
	assert_true(vgmo__cost_factor(&c, 0) < 1.05);
	items_x(6, x);
	vgmo__cost_add(&c, x, 8 * GIB + 6 * 2 * GIB * 1.4, 8 * GIB);
	f = vgmo__cost_factor(&c, 0);
	if (!(f > 1.39 && f < 1.41))
		fail_msg("factor %.4f after a batch 40 %% over", f);
	for (int i = 0; i < 10; i++) {
		double n = 4 + i % 5;

		items_x(n, x);
		vgmo__cost_add(&c, x, 8 * GIB + n * 2 * GIB, 8 * GIB);
	}
	f = vgmo__cost_factor(&c, 0);
	assert_true(f > 1.3 && f < 1.4);
}

static void test_shift(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	vgmo__cost c;
	int i;

	(void)state;
	vgmo__cost_init(&c, 2, prior, 8 * GIB);
	for (i = 0; i < 200; i++) {
		items_x(4 + i % 3, x);
		vgmo__cost_add(&c, x, 8 * GIB + (4 + i % 3) * GIB, 8 * GIB);
	}
	assert_int_equal(c.shifts, 0);
	for (i = 0; i < 30; i++) {
		items_x(4 + i % 3, x);
		vgmo__cost_add(&c, x, 8 * GIB + (4 + i % 3) * 1.6 * GIB,
		               8 * GIB);
	}
	assert_true(c.shifts >= 1);
	items_x(5, x);
	assert_true(fabs(vgmo__cost_variable(&c, x) - 8 * GIB) < 0.5 * GIB);
}

/* An OOM teaches a lower bound: the margin and the cost grow. */
static void test_oom(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	double z = vgmo__normal_upper(1e-3), before;
	vgmo__cost c;

	(void)state;
	vgmo__cost_init(&c, 2, prior, 8 * GIB);
	for (int i = 0; i < 30; i++) {
		items_x(4, x);
		vgmo__cost_add(&c, x, 12 * GIB, 8 * GIB);
	}
	before = vgmo__cost_factor(&c, z) * vgmo__cost_variable(&c, x);
	items_x(10, x);
	vgmo__cost_oom(&c, x, 8 * GIB + 20 * GIB);
	items_x(10, x);
	assert_true(vgmo__cost_factor(&c, z) * vgmo__cost_variable(&c, x) >
	            20 * GIB);
	items_x(4, x);
	assert_true(vgmo__cost_factor(&c, z) * vgmo__cost_variable(&c, x) >
	            before);
}

/* Costs stay >= 0 whatever the reports say. */
static void test_nonnegative(void **state)
{
	double prior[VGMO__COST_MAX] = {0, 1 * GIB}, x[VGMO__COST_MAX];
	vgmo__cost c;

	(void)state;
	vgmo__cost_init(&c, 2, prior, 0);
	for (int i = 0; i < 20; i++) {
		double n = 1 + i % 4;

		items_x(n, x);
		vgmo__cost_add(&c, x, (20 - 2 * n) * GIB, 0);
	}
	for (unsigned j = 0; j < c.k; j++)
		assert_true(c.theta[0][j] >= 0);
}

/* The allocator's overhead: a constant (workspaces) plus a share. */
static void test_overhead(void **state)
{
	vgmo__overhead o;

	(void)state;
	vgmo__overhead_init(&o);
	for (int i = 0; i < 50; i++) {
		double v = (1 + i % 5) * GIB;

		vgmo__overhead_add(&o, v, 256.0 * 1048576 + 0.08 * v);
	}
	/* The constant part: at least the workspaces, at most the least
	 * extra seen. */
	assert_true(o.fixed >= 250.0 * 1048576 && o.fixed <= 345.0 * 1048576);
	assert_true(fabs(o.share - 0.08) < 0.02);
	assert_true(vgmo__with_overhead(&o, 10 * GIB) > 10.8 * GIB);
	assert_true(vgmo__with_overhead(NULL, 10 * GIB) == 10 * GIB);
}

/* The table: the promises, in order, and the reserve. */
static void test_table(void **state)
{
	(void)state;
	assert_true(vgmo__strategy(VGMO_STRATEGY_CONSERVATIVE)->p_oom <
	            vgmo__strategy(VGMO_STRATEGY_BALANCED)->p_oom);
	assert_true(vgmo__strategy(VGMO_STRATEGY_CONSERVATIVE)->reserve ==
	            VGMO__RESERVE_ALWAYS);
	assert_true(vgmo__strategy(VGMO_STRATEGY_BALANCED)->reserve ==
	            VGMO__RESERVE_RISE);
	assert_true(vgmo__strategy(VGMO_STRATEGY_AGGRESSIVE)->reserve ==
	            VGMO__RESERVE_NEVER);
	assert_true(vgmo__strategy(VGMO_STRATEGY_ADAPTIVE)->adaptive);
	assert_false(vgmo__strategy(VGMO_STRATEGY_AGGRESSIVE)->adaptive);
	assert_true(vgmo__strategy_z(VGMO_STRATEGY_CONSERVATIVE) >
	            vgmo__strategy_z(VGMO_STRATEGY_BALANCED));
	/* Out of range: balanced. */
	assert_string_equal(vgmo__strategy((vgmo_strategy)99)->name,
	                    "balanced");
}

/* Adaptive keeps the first level unless another is clearly faster, twice;
 * then it settles. */
static void test_levels(void **state)
{
	vgmo__levels l;
	int i;

	(void)state;
	vgmo__levels_reset(&l);
	for (i = 0; i < 10 * VGMO__LEVEL_REPORTS && !l.settled; i++)
		vgmo__levels_add(&l, 100, 1.0); /* every level the same */
	assert_true(l.settled);
	assert_int_equal(l.level, 0);
	vgmo__levels_reset(&l);
	for (i = 0; i < 10 * VGMO__LEVEL_REPORTS && !l.settled; i++)
		vgmo__levels_add(&l, l.level == 2 ? 150 : 100, 1.0);
	assert_true(l.settled);
	assert_int_equal(l.level, 2);
	assert_true(vgmo__levels_now(&l)->waste > 0);
	vgmo__levels_add(&l, 0, 1); /* ignored */
	assert_int_equal(l.level, 2);
}

/* ---------------------------------------------------------- promises */

/* An items worker whose batches cost base + n x item x lognormal(sigma)
 * on a GPU of `room` bytes, run through the engine for `batches` batches:
 * the OOMs it had. */
static unsigned run_worker(vgmo_strategy s, double sigma, unsigned batches,
                           uint64_t seed, double *mean_n)
{
	const double total = 81559.0 * 1048576, base = 16 * GIB,
	             item = 1.5 * GIB;
	vgmo_engine_options eo;
	vgmo_engine *e = NULL;
	vgmo_config c;
	vgmo__rng r;
	unsigned ooms = 0;
	double sum = 0;

	vgmo_config_defaults(&c);
	c.strategy = s;
	c.max_batch_size = 256;
	vgmo_engine_options_init(&eo);
	eo.backend = "sim";
	eo.sim.workload = "none";
	assert_int_equal(vgmo_engine_create(&e, &c, &eo, NULL, 0), VGMO_OK);
	vgmo__rng_seed(&r, seed);
	for (unsigned b = 0; b < batches; b++) {
		int n = vgmo_engine_batch_size(e, VGMO_DEFAULT_WORKER);
		double peak = base;
		vgmo_report rep = {0};

		for (int i = 0; i < n; i++)
			peak += item * exp(sigma * vgmo__rng_normal(&r) -
			                   sigma * sigma / 2);
		rep.items = (uint32_t)n;
		rep.allocated_bytes = (uint64_t)base;
		rep.seconds = 1;
		/* The room: the simulated GPU's total, nothing else on it. */
		if (peak > total) {
			rep.oom = true;
			rep.reserved_bytes = (uint64_t)base;
			ooms++;
		} else {
			rep.peak_bytes = (uint64_t)peak;
			rep.reserved_bytes = (uint64_t)(peak + 0.25 * GIB);
		}
		sum += n;
		vgmo_engine_report(e, VGMO_DEFAULT_WORKER, &rep, NULL);
	}
	*mean_n = sum / batches;
	vgmo_engine_destroy(e);
	return ooms;
}

/* Over 20,000 batches each, with item costs spread 5 %: no strategy
 * exceeds its promise (conservative 1e-4, balanced and aggressive 1e-3,
 * allowed a factor of 3 for the count's own noise), and the batches are
 * large: most of what fits. */
static void test_promises(void **state)
{
	static const vgmo_strategy s[] = {VGMO_STRATEGY_CONSERVATIVE,
	                                  VGMO_STRATEGY_BALANCED,
	                                  VGMO_STRATEGY_AGGRESSIVE};
	double mean_n[3];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		unsigned ooms = 0;

		for (uint64_t seed = 1; seed <= 4; seed++)
			ooms += run_worker(s[i], 0.05, 5000, seed, &mean_n[i]);
		if (ooms > 3.0 * 20000 * vgmo__strategy(s[i])->p_oom + 1)
			fail_msg("%s: %u OOMs in 20000 batches",
			         vgmo__strategy(s[i])->name, ooms);
		/* (79.6 - 16) / 1.5 = 42 items fit on average. */
		assert_true(mean_n[i] > 34);
	}
	assert_true(mean_n[0] <= mean_n[1] + 0.01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_normal_quantile),
	        cmocka_unit_test(test_pinned_base),
	        cmocka_unit_test(test_intercept),
	        cmocka_unit_test(test_factor),
	        cmocka_unit_test(test_factor_floor_is_the_largest_error),
	        cmocka_unit_test(test_small_batches_weigh_less),
	        cmocka_unit_test(test_shift),
	        cmocka_unit_test(test_oom),
	        cmocka_unit_test(test_nonnegative),
	        cmocka_unit_test(test_overhead),
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_levels),
	        cmocka_unit_test(test_promises),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
