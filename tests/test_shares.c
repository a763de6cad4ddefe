/*
 * test_shares.c - several workers on one GPU: budgets by weight and by
 * demand that never add up past the device's budget, newcomers and OOMs
 * heard at once, the reserve and balanced's headroom from the others'
 * rise, what a worker holds. Leases and registration: test_leases.c.
 */
#include <math.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine_internal.h"
#include "sim.h"
#include "test_shares_util.h"
#include "util.h"

static void test_split_by_weight_never_exceeds(void **state)
{
	vgmo_engine *e = make(0);
	int a, b;

	(void)state;
	a = client(e, "a", 1.0);
	b = client(e, "b", 3.0);
	/* Both hungry (4 GiB an item, 64 items wanted): 1:3. */
	for (int i = 0; i < 30; i++) {
		report(e, a, 4 + i % 3, 8 * GIB, 4 * GIB);
		report(e, b, 4 + i % 3, 8 * GIB, 4 * GIB);
		e->vmono = e->vmono + 1; /* one thread: no atomic add needed */
		vgmo_engine_sample(e);
	}
	assert_true(fabs(W(e, b)->budget / W(e, a)->budget - 3.0) < 0.01);
	assert_true(W(e, a)->budget + W(e, b)->budget <=
	            device_budget(e) * 1.0000001);
	assert_true(fabs(W(e, a)->share + W(e, b)->share - 1.0) < 1e-9);
	/* The default worker, which nobody runs, takes no share. */
	assert_true(W(e, VGMO_DEFAULT_WORKER)->share == 0);
	vgmo_engine_destroy(e);
}

static void test_demand_leaves_room(void **state)
{
	vgmo_engine *e = make(0);
	int small, big;

	(void)state;
	small = client(e, "small", 1.0);
	big = client(e, "big", 1.0);
	/* "small" needs at most 2 + 64 x 0.05 GiB = 5.2 GiB: it keeps that,
	 * with its margin and the allocator's overhead, and leaves the rest
	 * to "big". */
	for (int i = 0; i < 30; i++) {
		report(e, small, 8 + i % 4, 2 * GIB, 0.05 * GIB);
		report(e, big, 4 + i % 3, 8 * GIB, 4 * GIB);
		e->vmono = e->vmono + 1; /* one thread: no atomic add needed */
		vgmo_engine_sample(e);
	}
	if (!(W(e, small)->budget < 8 * GIB))
		fail_msg("small keeps %.2f GiB", W(e, small)->budget / GIB);
	assert_true(W(e, big)->budget > 0.85 * device_budget(e));
	assert_true(W(e, small)->budget + W(e, big)->budget <=
	            device_budget(e) * 1.0000001);
	vgmo_engine_destroy(e);
}

static void test_newcomer_heard_next_report(void **state)
{
	vgmo_engine *e = make(0);
	int a, b;
	double alone;
	vgmo_decision d;

	(void)state;
	a = client(e, "a", 1.0);
	for (int i = 0; i < 20; i++)
		report(e, a, 4 + i % 3, 8 * GIB, 4 * GIB);
	alone = W(e, a)->budget;
	b = client(e, "b", 1.0);
	(void)b;
	/* No sample in between: the very next report already has half. */
	d = report(e, a, 5, 8 * GIB, 4 * GIB);
	assert_true(W(e, a)->budget < 0.6 * alone);
	/* ... and the batch size follows the smaller budget. */
	{
		double x[VGMO__COST_MAX] = {1, d.batch_size};

		assert_true(vgmo__cost_base(&W(e, a)->cost) +
		                    vgmo__cost_variable(&W(e, a)->cost, x) <=
		            W(e, a)->budget);
	}
	vgmo_engine_destroy(e);
}

/* Water-filling keeps for a worker only what it needs when that is less
 * than its weighted share: one that needs more than half, beside a
 * hungrier one of the same weight, gets half, not its need. */
static void test_need_above_share_gets_the_share(void **state)
{
	vgmo_engine *e = make(0);
	int mid, big;

	(void)state;
	mid = client(e, "mid", 1.0);
	big = client(e, "big", 1.0);
	/* "mid" needs 8 + 64 x 0.7 GiB = 52.8 GiB (with its margin) of
	 * about 77: more than half, less than all. */
	for (int i = 0; i < 30; i++) {
		report(e, mid, 8 + i % 4, 8 * GIB, 0.7 * GIB);
		report(e, big, 4 + i % 3, 8 * GIB, 4 * GIB);
		e->vmono = e->vmono + 1; /* one thread: no atomic add needed */
		vgmo_engine_sample(e);
	}
	assert_true(fabs(W(e, mid)->share - 0.5) < 1e-9);
	assert_true(fabs(W(e, big)->share - 0.5) < 1e-9);
	assert_true(fabs(W(e, mid)->budget - W(e, big)->budget) < 1.0);
	vgmo_engine_destroy(e);
}

/* To the OOM line a worker's budget is the critical one plus its part
 * of the reserve: alone, the whole reserve; shared, in the same
 * proportion. */
static void test_oom_budget_adds_the_reserve(void **state)
{
	vgmo_engine *e = make(0);
	double reserve = (double)e->cfg.memory_reserve_mb * (double)VGMO__MIB;
	int a, b;

	(void)state;
	assert_true(reserve > 0);
	a = client(e, "a", 1.0);
	for (int i = 0; i < 10; i++)
		report(e, a, 4 + i % 3, 8 * GIB, 4 * GIB);
	assert_true(fabs(W(e, a)->budget - device_budget(e)) < 1.0);
	assert_true(fabs(W(e, a)->budget_oom - W(e, a)->budget - reserve) <
	            1.0);
	b = client(e, "b", 3.0);
	for (int i = 0; i < 10; i++) {
		report(e, a, 4 + i % 3, 8 * GIB, 4 * GIB);
		report(e, b, 4 + i % 3, 8 * GIB, 4 * GIB);
	}
	assert_true(fabs(W(e, a)->budget_oom - W(e, a)->budget -
	                 0.25 * reserve) < 1.0);
	assert_true(fabs(W(e, b)->budget_oom - W(e, b)->budget -
	                 0.75 * reserve) < 1.0);
	vgmo_engine_destroy(e);
}

/* Where the backend lists processes, a worker holds what its process
 * uses on the device (here 30 GiB: a second allocator besides the 10 it
 * reported), not what it reported; another process's figure is not its.
 */
static void test_held_by_its_process(void **state)
{
	vgmo_engine *e = make(0);
	vgmo_worker_spec sp = {
	        .name = "p", .weight = 1.0, .leased = true, .pid = 4242};
	vgmo_gpu_sample *s = &e->samples[0];
	uint64_t reported, plain;
	int id;

	(void)state;
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id, NULL),
	                 VGMO_OK);
	report(e, id, 4, 8 * GIB, 0.5 * GIB);
	reported = W(e, id)->last_reserved;
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
	                       UINT64_C(40) << 30);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	plain = e->unattributed[0];
	s->processes[0] =
	        (vgmo_gpu_process){.pid = 7, .used_bytes = UINT64_C(5) << 30};
	s->processes[1] = (vgmo_gpu_process){.pid = 4242,
	                                     .used_bytes = UINT64_C(30) << 30};
	s->process_count = 2;
	s->present |= VGMO_HAS_PROCESSES;
	e->fresh_sample = true;
	vgmo__device_budgets(e, 0);
	assert_true(e->unattributed[0] ==
	            plain - ((UINT64_C(30) << 30) - reported));
	vgmo_engine_destroy(e);
}

/* The others' rise: a step that holds counts once its bucket closes; a
 * sample between two normal ones in the same bucket does not; the lowest
 * figure before it is the start; ten minutes later it is forgotten. */
static void test_others_rise(void **state)
{
	vgmo__others o;
	double t = 1000;

	(void)state;
	vgmo__others_clear(&o);
	for (int i = 0; i < 30; i++, t += 5)
		vgmo__others_add(&o, t, 2 * GIB);
	assert_true(vgmo__others_rise(&o, t, INFINITY) == 0);
	/* A spike inside a bucket with a normal sample. */
	vgmo__others_add(&o, t, 2 * GIB);
	vgmo__others_add(&o, t + 5, 5 * GIB);
	t += 10;
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 2 * GIB);
	assert_true(vgmo__others_rise(&o, t, INFINITY) == 0);
	/* A dip, then a step of 3 GiB over the dip that holds. */
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 1 * GIB);
	vgmo__others_add(&o, t, 4 * GIB);
	assert_true(vgmo__others_rise(&o, t + 1, INFINITY) ==
	            0); /* still open */
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 4 * GIB);
	assert_true(fabs(vgmo__others_rise(&o, t, INFINITY) - 3 * GIB) < 1.0);
	/* Flat for the whole window: forgotten. */
	for (int i = 0; i < 130; i++, t += 5)
		vgmo__others_add(&o, t, 4 * GIB);
	assert_true(vgmo__others_rise(&o, t, INFINITY) == 0);
	vgmo__others_clear(&o);
	assert_true(vgmo__others_rise(&o, t, INFINITY) == 0);
}

/* Over a span: a neighbour leaking 2 GiB in ten minutes rises by little
 * within 20 seconds, one that jumps by 1 GiB rises by the jump, even
 * between two samples far apart. */
static void test_others_rise_over_a_span(void **state)
{
	vgmo__others o;
	double t = 1000;

	(void)state;
	vgmo__others_clear(&o);
	for (int i = 0; i <= 120; i++, t += 5)
		vgmo__others_add(&o, t, 1 * GIB + i * (2 * GIB / 120));
	assert_true(vgmo__others_rise(&o, t, INFINITY) > 1.5 * GIB);
	assert_true(vgmo__others_rise(&o, t, 20) < 0.1 * GIB);
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 4 * GIB);
	assert_true(vgmo__others_rise(&o, t, 20) > 0.95 * GIB);
	/* Two samples 100 s apart, in buckets in a row. */
	vgmo__others_clear(&o);
	vgmo__others_add(&o, t, 1 * GIB);
	vgmo__others_add(&o, t + 100, 2 * GIB);
	assert_true(fabs(vgmo__others_rise(&o, t + 200, 20) - 1 * GIB) < 1.0);
}

/* Balanced: the reserve in the room as far as the others rose (none: to
 * the OOM line), never below what the worker's allocator holds;
 * conservative: the whole reserve; aggressive: none. */
static void test_balanced_reserve_follows_the_rise(void **state)
{
	vgmo_engine *e = make(0);
	double reserve = (double)e->cfg.memory_reserve_mb * (double)VGMO__MIB;
	double room, now;
	int a;

	(void)state;
	a = client(e, "a", 1.0);
	for (int i = 0; i < 10; i++)
		report(e, a, 4 + i % 3, 8 * GIB, 4 * GIB);
	assert_true(vgmo__worker_room(e, W(e, a), &room));
	assert_true(fabs(room - W(e, a)->budget_oom) < 1.0);
	now = vgmo__engine_now(e);
	vgmo__others_clear(&e->others[0]);
	vgmo__others_add(&e->others[0], now - 300, 1 * GIB);
	vgmo__others_add(&e->others[0], now - 200, 1 * GIB + 0.5 * reserve);
	assert_true(vgmo__worker_room(e, W(e, a), &room));
	assert_true(fabs(room - (W(e, a)->budget_oom - 0.5 * reserve)) < 1.0);
	vgmo__others_add(&e->others[0], now - 100, 3 * GIB + reserve);
	assert_true(vgmo__worker_room(e, W(e, a), &room));
	assert_true(fabs(room - W(e, a)->budget) < 1.0);
	/* What its allocator holds stays its own. */
	vgmo__worker_get(e, a)->last_reserved =
	        (uint64_t)(W(e, a)->budget + 0.5 * reserve);
	assert_true(vgmo__worker_room(e, W(e, a), &room));
	assert_true(fabs(room - (double)W(e, a)->last_reserved) < 1.0);
	e->cfg.strategy = VGMO_STRATEGY_CONSERVATIVE;
	assert_true(vgmo__worker_room(e, W(e, a), &room));
	assert_true(fabs(room - W(e, a)->budget) < 1.0);
	e->cfg.strategy = VGMO_STRATEGY_AGGRESSIVE;
	assert_true(vgmo__worker_room(e, W(e, a), &room));
	assert_true(fabs(room - W(e, a)->budget_oom) < 1.0);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_split_by_weight_never_exceeds),
	        cmocka_unit_test(test_demand_leaves_room),
	        cmocka_unit_test(test_newcomer_heard_next_report),
	        cmocka_unit_test(test_need_above_share_gets_the_share),
	        cmocka_unit_test(test_oom_budget_adds_the_reserve),
	        cmocka_unit_test(test_held_by_its_process),
	        cmocka_unit_test(test_others_rise),
	        cmocka_unit_test(test_others_rise_over_a_span),
	        cmocka_unit_test(test_balanced_reserve_follows_the_rise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
