/*
 * test_engine_cleanup.c - the engine on the simulated GPU: cache cleanup
 * (when it runs, what it frees), item climbs and the OOM ceiling.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine_internal.h"
#include "sim.h"
#include "util.h"

#include "test_engine_util.h"

static uint64_t hook_calls(void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_cleanup_measures_freed(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_result r;
	vgmo_snapshot *s;
	double used_before, used_after;
	int calls = 0;

	(void)state;
	vgmo_config_defaults(&c);
	c.cleanup_interval = 1e6; /* no automatic cleanup */
	e = make(&c, "vlm", 1, 1000);
	assert_int_equal(vgmo_engine_add_cleanup(e, hook_calls, &calls),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_sim_run(e, 120), VGMO_OK);
	vgmo_engine_sample(e);
	used_before = (double)e->samples[0].memory_used;
	assert_int_equal(vgmo_engine_cleanup(e, &r), VGMO_OK);
	used_after = (double)e->samples[0].memory_used;
	assert_int_equal(calls, 1);
	assert_true(r.success);
	assert_true(r.gc_performed);
	assert_string_equal(r.action_taken, VGMO_ACTION_MEMORY_CLEANUP);
	/* The allocator's cache went back: what was freed is what the
	 * device shows, not a constant. */
	assert_true(r.memory_freed_mb > 1000);
	assert_true(fabs(r.memory_freed_mb * 1048576.0 -
	                 (used_before - used_after)) < 1.0);
	assert_true(r.fragmentation_reduced);
	/* A second cleanup right away frees nothing. */
	assert_int_equal(vgmo_engine_cleanup(e, &r), VGMO_OK);
	assert_true(r.memory_freed_mb == 0);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_int_equal(vgmo_snapshot_counters(s)->cleanups, 2);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void use_fraction(vgmo_engine *e, double usage)
{
	double total, ours;

	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0, 0);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	total = (double)e->samples[0].memory_total;
	ours = vgmo_sample_usage(&e->samples[0]) * total;
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
	                       (uint64_t)(usage * total - ours));
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_true(fabs(vgmo_sample_usage(&e->samples[0]) - usage) < 0.001);
}

static uint64_t cleanups(vgmo_engine *e)
{
	vgmo_snapshot *s;
	uint64_t n;

	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	n = vgmo_snapshot_counters(s)->cleanups;
	vgmo_snapshot_free(s);
	return n;
}

/* An optimization pass at critical (and OOM) memory also empties the
 * caches; at warning it only resizes. */
static void test_optimize_cleans_at_critical(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_result r;
	int calls = 0;

	(void)state;
	vgmo_config_defaults(&c);
	c.cleanup_interval = 1e6; /* no cleanup but the pass's */
	e = make(&c, "none", 1, 100);
	assert_int_equal(vgmo_engine_add_cleanup(e, hook_calls, &calls),
	                 VGMO_OK);
	use_fraction(e, 0.87);
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_BATCH);
	assert_false(r.gc_performed);
	assert_int_equal(calls, 0);
	assert_int_equal(cleanups(e), 0);
	use_fraction(e, 0.92);
	e->vmono = e->vmono + 1; /* one thread: no atomic add needed */
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_CRITICAL);
	assert_true(r.gc_performed);
	assert_int_equal(calls, 1);
	assert_int_equal(cleanups(e), 1);
	use_fraction(e, 0.97);
	e->vmono = e->vmono + 1; /* one thread: no atomic add needed */
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_MEMORY_CLEANUP);
	assert_true(r.gc_performed);
	assert_int_equal(cleanups(e), 2);
	vgmo_engine_destroy(e);
}

/* The periodic cleanup runs when usage passes gc_threshold (here at
 * warning, where the optimization pass does not clean), not below it. */
static void test_tick_cleans_past_gc_threshold(void **state)
{
	vgmo_config c;
	vgmo_engine *e;

	(void)state;
	vgmo_config_defaults(&c);
	c.cleanup_interval = 30;
	e = make(&c, "none", 1, 100);
	use_fraction(e, 0.5);
	assert_int_equal(vgmo_engine_sim_run(e, 100), VGMO_OK);
	assert_int_equal(cleanups(e), 0);
	use_fraction(e, 0.87); /* gc_threshold is 0.85 */
	assert_int_equal(vgmo_engine_sim_run(e, 100), VGMO_OK);
	/* Once per cleanup_interval, not at every sample. */
	if (!(cleanups(e) >= 3 && cleanups(e) <= 4))
		fail_msg("%llu cleanups in 100 s, every 30 s",
		         (unsigned long long)cleanups(e));
	vgmo_engine_destroy(e);
}

/* Past gc_threshold, a worker that holds no more than its room keeps its
 * cache: emptying it would only hand its next batch's memory to another
 * process. */
static void test_no_cleanup_within_room(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_report r = {0};
	int id;

	(void)state;
	vgmo_config_defaults(&c);
	c.cleanup_interval = 30;
	e = make(&c, "none", 1, 100);
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, &id), VGMO_OK);
	r.items = 4;
	r.peak_bytes = UINT64_C(8) << 30;
	r.allocated_bytes = UINT64_C(4) << 30;
	r.reserved_bytes = r.peak_bytes; /* no fragmentation */
	assert_int_equal(vgmo_engine_report(e, id, &r, NULL), VGMO_OK);
	use_fraction(e, 0.87);
	assert_int_equal(vgmo_engine_sim_run(e, 100), VGMO_OK);
	assert_true(e->workers[id]->has_budget);
	assert_true((double)e->workers[id]->last_reserved <=
	            e->workers[id]->budget_oom);
	assert_int_equal(cleanups(e), 0);
	vgmo_engine_destroy(e);
}

/* An items worker climbs at most half again the largest batch that ran,
 * so that its margin is learned on the way. */
static void test_items_climb_in_steps(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_report r = {0};
	vgmo_decision d;
	int id, cur, steps = 0;

	(void)state;
	vgmo_config_defaults(&c);
	c.max_batch_size = 1000;
	e = make(&c, "none", 1, 100);
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, &id), VGMO_OK);
	cur = vgmo_engine_batch_size(e, id);
	for (int i = 0; i < 400 && cur < 200; i++) {
		/* 4 GiB of weights, 20 MiB an item: room for thousands. */
		r.items = (uint32_t)cur;
		r.peak_bytes =
		        (UINT64_C(4) << 30) + (uint64_t)cur * (20u << 20);
		r.allocated_bytes = UINT64_C(4) << 30;
		r.reserved_bytes = r.peak_bytes;
		assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
		if (d.batch_size > cur) {
			if (d.batch_size > cur + (cur + 1) / 2)
				fail_msg("climbed from %d to %d", cur,
				         d.batch_size);
			steps++;
		}
		cur = d.batch_size;
	}
	assert_true(cur >= 200);
	assert_true(steps >= 5);
	vgmo_engine_destroy(e);
}

/* After an OOM at n items, no batch size at or past the ceiling, however
 * cheap the batches below it and however much room there is now (the OOM
 * came while another process held most of the GPU): the ceiling rises
 * one item at a time after a run of clean reports, never by the climb.
 * Aggressive, with a large reserve: its room to the OOM line is far more
 * than its demand, which the ceiling caps, asks for. */
static void test_oom_ceiling_holds(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_report r = {0};
	vgmo_decision d;
	int id;

	(void)state;
	vgmo_config_defaults(&c);
	c.max_batch_size = 256;
	c.strategy = VGMO_STRATEGY_AGGRESSIVE;
	c.memory_reserve_mb = 30000;
	e = make(&c, "none", 1, 100);
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, &id), VGMO_OK);
	use_fraction(e, 0.85);
	e->workers[id]->batch_size = 12;
	r.items = 12;
	r.oom = true;
	assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
	assert_int_equal(e->workers[id]->ceiling, 12);
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0, 0);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	for (int i = 0; i < 200; i++) {
		r.oom = false;
		r.items = (uint32_t)vgmo_engine_batch_size(e, id);
		r.peak_bytes = UINT64_C(1) << 30;
		r.allocated_bytes = UINT64_C(1) << 29;
		r.reserved_bytes = UINT64_C(1) << 30;
		assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
		if (d.batch_size >= e->workers[id]->ceiling)
			fail_msg("report %d: batch size %d, ceiling %d", i,
			         d.batch_size, e->workers[id]->ceiling);
	}
	/* Three runs of 64 clean reports: the ceiling rose by three. */
	assert_int_equal(e->workers[id]->ceiling, 15);
	assert_int_equal(vgmo_engine_batch_size(e, id), 14);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cleanup_measures_freed),
	        cmocka_unit_test(test_optimize_cleans_at_critical),
	        cmocka_unit_test(test_tick_cleans_past_gc_threshold),
	        cmocka_unit_test(test_no_cleanup_within_room),
	        cmocka_unit_test(test_items_climb_in_steps),
	        cmocka_unit_test(test_oom_ceiling_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
