/*
 * test_engine.c - the engine on the simulated GPU: classification, the
 * learned model, strategies, OOM back-off, no flapping, history, the
 * config and the backend (cleanup and climbs: test_engine_cleanup.c).
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

static void test_classify_boundaries(void **state)
{
	vgmo_config c;

	(void)state;
	vgmo_config_defaults(&c);
	assert_int_equal(vgmo_classify(&c, 0.0), VGMO_STATUS_HEALTHY);
	assert_int_equal(vgmo_classify(&c, 0.7999), VGMO_STATUS_HEALTHY);
	assert_int_equal(vgmo_classify(&c, 0.80), VGMO_STATUS_WARNING);
	assert_int_equal(vgmo_classify(&c, 0.8999), VGMO_STATUS_WARNING);
	assert_int_equal(vgmo_classify(&c, 0.90), VGMO_STATUS_CRITICAL);
	assert_int_equal(vgmo_classify(&c, 0.9499), VGMO_STATUS_CRITICAL);
	assert_int_equal(vgmo_classify(&c, 0.95), VGMO_STATUS_OOM);
	assert_int_equal(vgmo_classify(&c, 1.0), VGMO_STATUS_OOM);
	assert_string_equal(vgmo_status_name(VGMO_STATUS_CRITICAL), "critical");
}

static void test_status_from_device(void **state)
{
	vgmo_engine *e = make_default("none");
	vgmo__sim *sim = vgmo__sim_of(e->ops, e->bctx);
	uint64_t total = vgmo__sim_preset_find("h100-80gb")->total;
	vgmo_snapshot *s;

	(void)state;
	vgmo__sim_set_external(sim, 0, (uint64_t)(0.91 * (double)total));
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_int_equal(vgmo_snapshot_status(s), VGMO_STATUS_CRITICAL);
	assert_int_equal(vgmo_snapshot_most_loaded(s), 0);
	assert_string_equal(vgmo_snapshot_backend(s), "sim");
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static const vgmo_worker_view *default_view(const vgmo_snapshot *s)
{
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++)
		if (vgmo_snapshot_worker(s, i)->id == VGMO_DEFAULT_WORKER)
			return vgmo_snapshot_worker(s, i);
	return NULL;
}

/* The OOMs a run may have and keep its promise: the strategy's per-batch
 * probability times the batches, three times over for the count's own
 * noise, plus one. The simulated worker's items spread 25 % each (far
 * noisier than a VLM's batches, whose shapes are known): zero OOMs is not
 * what the promise says there. */
static void within_promise(const vgmo_worker_view *w, vgmo_strategy s)
{
	double allowed =
	        3.0 * vgmo__strategy(s)->p_oom * (double)w->reports + 1;

	if ((double)w->ooms > allowed)
		fail_msg("%llu OOMs in %llu batches (promise: %g each)",
		         (unsigned long long)w->ooms,
		         (unsigned long long)w->reports,
		         vgmo__strategy(s)->p_oom);
}

/* vgmo_engine_step: a virtual clock moves with the elapsed time, at most
 * one second a step; another engine ticks. */
static void test_step(void **state)
{
	vgmo_engine *e = make_default("vlm");
	double t0 = e->vmono;

	(void)state;
	assert_int_equal(vgmo_engine_step(e, -1), VGMO_ERR_INVALID);
	assert_int_equal(vgmo_engine_step(e, 5.0), VGMO_OK);
	assert_true(fabs(e->vmono - t0 - 1.0) < 1e-9);
	assert_int_equal(vgmo_engine_step(e, 0.25), VGMO_OK);
	assert_true(fabs(e->vmono - t0 - 1.25) < 1e-9);
	vgmo_engine_destroy(e);
}

static void test_model_learns_sim_cost(void **state)
{
	vgmo_engine *e = make_default("vlm");
	const vgmo__sim_worker_truth *t =
	        vgmo__sim_truth(vgmo__sim_of(e->ops, e->bctx), 0);
	const vgmo_worker_view *w;
	vgmo_snapshot *s;

	(void)state;
	assert_int_equal(vgmo_engine_sim_run(e, 1800), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	w = default_view(s);
	assert_non_null(w);
	assert_true(w->model.fitted);
	assert_true(w->reports > 500);
	/* Within 10 % of the simulator's hidden mean per-item cost. */
	assert_true(fabs(w->model.item_bytes - t->item_mean) <
	            0.10 * t->item_mean);
	within_promise(w, VGMO_STRATEGY_BALANCED);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static int settled_batch(vgmo_strategy st)
{
	vgmo_config c;
	vgmo_engine *e;
	int n;

	vgmo_config_defaults(&c);
	c.strategy = st;
	c.max_batch_size = 64;
	e = make(&c, "vlm", 11, 1000);
	assert_int_equal(vgmo_engine_sim_run(e, 900), VGMO_OK);
	n = vgmo_engine_batch_size(e, VGMO_DEFAULT_WORKER);
	vgmo_engine_destroy(e);
	return n;
}

static void test_strategies_order(void **state)
{
	int cons = settled_batch(VGMO_STRATEGY_CONSERVATIVE);
	int bal = settled_batch(VGMO_STRATEGY_BALANCED);
	int aggr = settled_batch(VGMO_STRATEGY_AGGRESSIVE);
	int adap = settled_batch(VGMO_STRATEGY_ADAPTIVE);

	(void)state;
	/* Conservative keeps the reserve and a 1e-4 margin; balanced, alone
	 * on the GPU, and aggressive go to the OOM line at 1e-3. */
	assert_true(cons >= 1);
	assert_true(cons <= bal && bal <= aggr);
	assert_true(adap >= bal - 1 && adap <= aggr + 1);
}

static void test_oom_halves_at_once(void **state)
{
	vgmo_engine *e = make_default("none");
	vgmo_report r = {0};
	vgmo_decision d;
	vgmo_snapshot *s;
	const vgmo_result *h;
	int id;

	(void)state;
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, &id), VGMO_OK);
	assert_int_equal(vgmo_engine_set_batch_size(e, id, 12, NULL, 0),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_set_batch_size(e, id, 0, NULL, 0),
	                 VGMO_OK); /* clear the override, keep 12 for now */
	e->workers[id]->batch_size = 12;
	r.items = 12;
	r.oom = true;
	assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
	assert_int_equal(d.batch_size, 6);
	assert_true(d.changed);
	assert_true(d.cleanup);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	h = vgmo_snapshot_history(s, vgmo_snapshot_history_count(s) - 1);
	assert_string_equal(h->action_taken, VGMO_ACTION_OOM_BACKOFF);
	assert_int_equal(h->new_batch_size, 6);
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++)
		if (vgmo_snapshot_worker(s, i)->id == id)
			assert_int_equal(
			        vgmo_snapshot_worker(s, i)->model.ceiling, 12);
	vgmo_snapshot_free(s);
	/* Never recommended at or past the ceiling afterwards. */
	for (int i = 0; i < 40; i++) {
		r.oom = false;
		r.items = (uint32_t)vgmo_engine_batch_size(e, id);
		r.peak_bytes = UINT64_C(1) << 30;
		r.allocated_bytes = UINT64_C(1) << 29;
		r.reserved_bytes = UINT64_C(1) << 30;
		assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
		assert_true(d.batch_size < 12);
	}
	vgmo_engine_destroy(e);
}

/* Another process takes half the free memory: the worker's room drops by
 * that at once (no waiting for the optimization interval), its batch size
 * follows, and nothing runs out of memory. */
static void test_rise_acts_at_once(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_snapshot *s;
	double room_before, free_before;
	int before;

	(void)state;
	vgmo_config_defaults(&c);
	c.optimization_interval = 3600; /* the interval alone won't do it */
	c.strategy = VGMO_STRATEGY_AGGRESSIVE;
	e = make(&c, "vlm", 5, 1000);
	assert_int_equal(vgmo_engine_sim_run(e, 600), VGMO_OK);
	before = vgmo_engine_batch_size(e, VGMO_DEFAULT_WORKER);
	room_before = e->workers[0]->budget_oom;
	free_before = (double)e->samples[0].memory_free;
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
	                       (uint64_t)(0.5 * free_before));
	assert_int_equal(vgmo_engine_sim_run(e, 6), VGMO_OK);
	assert_true(fabs(room_before - e->workers[0]->budget_oom -
	                 0.5 * free_before) < 0.01 * room_before);
	assert_int_equal(vgmo_engine_sim_run(e, 600), VGMO_OK);
	assert_true(vgmo_engine_batch_size(e, VGMO_DEFAULT_WORKER) <= before);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	within_promise(default_view(s), VGMO_STRATEGY_AGGRESSIVE);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void test_no_flap_when_stationary(void **state)
{
	vgmo_engine *e = make_default("vlm");
	vgmo_snapshot *s;
	uint64_t changes;

	(void)state;
	assert_int_equal(vgmo_engine_sim_run(e, 600), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	changes = vgmo_snapshot_counters(s)->batch_size_changes;
	vgmo_snapshot_free(s);
	/* An hour of a noisy but stationary workload (item costs spread 25 %,
	 * over a thousand batches): a few one-step changes at most, when the
	 * margin its own errors call for moves, and never back within 64
	 * batches of a shrink. */
	assert_int_equal(vgmo_engine_sim_run(e, 3600), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_true(vgmo_snapshot_counters(s)->batch_size_changes - changes <=
	            8);
	within_promise(default_view(s), VGMO_STRATEGY_BALANCED);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void test_history_bounded(void **state)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_snapshot *s;
	vgmo_result r;

	(void)state;
	vgmo_config_defaults(&c);
	e = make(&c, "none", 1, 5);
	for (int i = 0; i < 20; i++) {
		e->vmono = e->vmono + 1; /* one thread: no atomic add needed */
		assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	}
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_int_equal(vgmo_snapshot_history_count(s), 5);
	for (size_t i = 1; i < 5; i++)
		assert_true(vgmo_snapshot_history(s, i)->timestamp >
		            vgmo_snapshot_history(s, i - 1)->timestamp);
	/* The newest is the last optimization. */
	assert_true(vgmo_snapshot_history(s, 4)->timestamp == r.timestamp);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void test_interval_and_disabled(void **state)
{
	vgmo_engine *e = make_default("none");
	vgmo_result r;

	(void)state;
	/* The first pass sizes the idle GPU's default worker... */
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_BATCH);
	/* ...the next finds nothing to do. */
	e->vmono = e->vmono + 61; /* one thread: no atomic add needed */
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_NONE);
	assert_int_equal(vgmo_engine_optimize(e, false, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_INTERVAL);
	e->vmono = e->vmono + 61; /* one thread: no atomic add needed */
	assert_int_equal(vgmo_engine_optimize(e, false, &r), VGMO_OK);
	assert_string_not_equal(r.action_taken, VGMO_ACTION_INTERVAL);
	vgmo_engine_set_enabled(e, false);
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_string_equal(r.action_taken, VGMO_ACTION_DISABLED);
	vgmo_engine_destroy(e);
}

static void test_manual_batch_size(void **state)
{
	vgmo_engine *e = make_default("vlm");
	char err[256] = "";

	(void)state;
	assert_int_equal(vgmo_engine_set_batch_size(e, VGMO_DEFAULT_WORKER, 17,
	                                            err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "[1, 16]"));
	assert_int_equal(
	        vgmo_engine_set_batch_size(e, VGMO_DEFAULT_WORKER, 0, NULL, 0),
	        VGMO_OK);
	assert_int_equal(
	        vgmo_engine_set_batch_size(e, VGMO_DEFAULT_WORKER, 3, NULL, 0),
	        VGMO_OK);
	assert_int_equal(vgmo_engine_sim_run(e, 300), VGMO_OK);
	assert_int_equal(vgmo_engine_batch_size(e, VGMO_DEFAULT_WORKER), 3);
	vgmo_engine_destroy(e);
}

static void test_config_change_revalidates(void **state)
{
	vgmo_engine *e = make_default("none");
	vgmo_config c;
	char err[256];

	(void)state;
	vgmo_engine_get_config(e, &c);
	c.memory_threshold_warning = 0.95;
	assert_int_equal(vgmo_engine_set_config(e, &c, err, sizeof(err)),
	                 VGMO_ERR_CONFIG);
	vgmo_engine_get_config(e, &c);
	assert_true(c.memory_threshold_warning == 0.8);
	c.max_batch_size = 2;
	assert_int_equal(vgmo_engine_set_config(e, &c, err, sizeof(err)),
	                 VGMO_OK);
	assert_true(vgmo_engine_batch_size(e, VGMO_DEFAULT_WORKER) <= 2);
	vgmo_engine_destroy(e);
}

static void test_unknown_backend(void **state)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;
	char err[256];

	(void)state;
	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "opencl";
	assert_int_equal(vgmo_engine_create(&e, &c, &o, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_null(e);
	assert_non_null(strstr(err, "opencl"));
	o.backend = "sim";
	o.sim.preset = "tpu-v9";
	assert_int_equal(vgmo_engine_create(&e, &c, &o, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "tpu-v9"));
}

/* Another process's memory brings the device to `usage` of its total. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_classify_boundaries),
	        cmocka_unit_test(test_status_from_device),
	        cmocka_unit_test(test_step),
	        cmocka_unit_test(test_model_learns_sim_cost),
	        cmocka_unit_test(test_strategies_order),
	        cmocka_unit_test(test_oom_halves_at_once),
	        cmocka_unit_test(test_rise_acts_at_once),
	        cmocka_unit_test(test_no_flap_when_stationary),
	        cmocka_unit_test(test_history_bounded),
	        cmocka_unit_test(test_interval_and_disabled),
	        cmocka_unit_test(test_manual_batch_size),
	        cmocka_unit_test(test_config_change_revalidates),
	        cmocka_unit_test(test_unknown_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
