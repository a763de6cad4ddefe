/*
 * test_shares.c - several workers on one GPU: budgets by weight and by
 * demand that never add up past the device's budget, newcomers and OOMs
 * heard at once, leases, client memory on the simulated GPU, freed bytes.
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
#include "util.h"

#define GIB ((double)VGMO__GIB)

static vgmo_engine *make(double lease)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;

	vgmo_config_defaults(&c);
	c.max_batch_size = 64;
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "none";
	o.lease_seconds = lease;
	assert_int_equal(vgmo_engine_create(&e, &c, &o, NULL, 0), VGMO_OK);
	return e;
}

static int client(vgmo_engine *e, const char *name, double weight)
{
	vgmo_worker_spec sp = {.name = name, .weight = weight, .leased = true};
	int id;
	bool existed;

	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id, &existed),
	                 VGMO_OK);
	return id;
}

/* One batch: fixed + n x item bytes, allocator holding the peak. */
static vgmo_decision report(vgmo_engine *e, int id, uint32_t n, double fixed,
                            double item)
{
	vgmo_report r = {0};
	vgmo_decision d;
	double peak = fixed + n * item;

	r.items = n;
	r.peak_bytes = (uint64_t)peak;
	r.allocated_bytes = (uint64_t)fixed;
	r.reserved_bytes = (uint64_t)(peak * 1.02);
	r.seconds = 1.0;
	assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
	return d;
}

static const vgmo__worker *W(vgmo_engine *e, int id)
{
	return vgmo__worker_get(e, id);
}

static double device_budget(vgmo_engine *e)
{
	const vgmo_gpu_sample *s = &e->samples[0];
	double unattributed = (double)e->unattributed[0];

	/* The thresholds classify; the room is the GPU less what no worker
	 * holds, less the reserve. */
	return (double)s->memory_total -
	       (double)e->cfg.memory_reserve_mb * (double)VGMO__MIB -
	       unattributed;
}

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

static void test_lease_expiry(void **state)
{
	vgmo_engine *e = make(10);
	vgmo_snapshot *s;
	int a, b;

	(void)state;
	a = client(e, "a", 1.0);
	b = client(e, "b", 1.0);
	report(e, a, 4, 8 * GIB, 4 * GIB);
	report(e, b, 4, 8 * GIB, 4 * GIB);
	/* a keeps reporting; b goes quiet. */
	for (int t = 0; t < 15; t++) {
		assert_int_equal(vgmo_engine_sim_run(e, 1), VGMO_OK);
		report(e, a, 4, 8 * GIB, 4 * GIB);
	}
	assert_non_null(W(e, b));
	assert_true(W(e, b)->unhealthy);
	assert_false(W(e, a)->unhealthy);
	for (int t = 0; t < 10; t++) {
		assert_int_equal(vgmo_engine_sim_run(e, 1), VGMO_OK);
		report(e, a, 4, 8 * GIB, 4 * GIB);
	}
	/* Dropped after two lease lengths; its share went back to a. */
	assert_null(W(e, b));
	assert_true(W(e, a)->share > 0.99);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_int_equal(vgmo_snapshot_leases_expired(s, 0), 1);
	vgmo_snapshot_free(s);
	/* Reporting for a dropped client is refused. */
	{
		vgmo_report r = {.items = 1, .peak_bytes = 1};

		assert_int_equal(vgmo_engine_report(e, b, &r, NULL),
		                 VGMO_ERR_NOT_FOUND);
	}
	vgmo_engine_destroy(e);
}

static void test_client_memory_counts_on_sim(void **state)
{
	vgmo_engine *e = make(0);
	int a;
	uint64_t before, un;
	vgmo_snapshot *s;

	(void)state;
	vgmo_engine_sample(e);
	before = e->samples[0].memory_used;
	a = client(e, "a", 1.0);
	report(e, a, 4, 8 * GIB, 4 * GIB); /* reserved = 24 GiB x 1.02 */
	vgmo_engine_sample(e);
	assert_true(e->samples[0].memory_used - before ==
	            (uint64_t)(24 * GIB * 1.02));
	/* Reported fragmentation, what the peak (24 GiB) left unused of the
	 * reserve, 1 - 24/24.48, shows on the device. */
	assert_true(e->samples[0].present & VGMO_HAS_FRAGMENTATION);
	assert_true(fabs(e->samples[0].fragmentation - (1 - 24 / (24 * 1.02))) <
	            1e-6);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_true(vgmo_snapshot_unattributed(s, 0, &un));
	assert_true(un == 0);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void test_freed_bytes_reported(void **state)
{
	vgmo_engine *e = make(0);
	vgmo_report r = {0};
	vgmo_snapshot *s;
	const vgmo_result *h;
	int a;

	(void)state;
	a = client(e, "a", 1.0);
	r.items = 2;
	r.peak_bytes = (uint64_t)(10 * GIB);
	r.freed_bytes = 3 * VGMO__GIB;
	assert_int_equal(vgmo_engine_report(e, a, &r, NULL), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_true(vgmo_snapshot_counters(s)->freed_bytes == 3 * VGMO__GIB);
	h = NULL;
	for (size_t i = 0; i < vgmo_snapshot_history_count(s); i++)
		if (strcmp(vgmo_snapshot_history(s, i)->action_taken,
		           VGMO_ACTION_MEMORY_CLEANUP) == 0)
			h = vgmo_snapshot_history(s, i);
	assert_non_null(h);
	assert_true(fabs(h->memory_freed_mb - 3072) < 1e-9);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void test_register_resumes_and_validates(void **state)
{
	vgmo_engine *e = make(0);
	vgmo_worker_spec sp = {.name = "a", .leased = true};
	int id, id2;
	bool existed;

	(void)state;
	id = client(e, "a", 1.0);
	report(e, id, 4, 8 * GIB, 4 * GIB);
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id2, &existed),
	                 VGMO_OK);
	assert_true(existed);
	assert_int_equal(id, id2);
	assert_int_equal(W(e, id)->cost.samples, 1);
	sp.unit = "furlongs";
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id2, NULL),
	                 VGMO_ERR_INVALID);
	sp.unit = NULL;
	sp.weight = -1;
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id2, NULL),
	                 VGMO_ERR_INVALID);
	sp.weight = 1;
	sp.gpu = 7;
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id2, NULL),
	                 VGMO_ERR_NOT_FOUND);
	vgmo_engine_destroy(e);
}

/* Ids are never reused; slots are: churn does not grow the table. */
static void test_ids_unique_slots_reused(void **state)
{
	vgmo_engine *e = make(10);
	int prev = 0, id;
	size_t table;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		id = client(e, "churn", 1.0);
		assert_true(id > prev);
		prev = id;
		assert_int_equal(vgmo_engine_worker_remove(e, id), VGMO_OK);
		assert_null(W(e, id));
	}
	table = e->nworkers;
	assert_true(table <= 8);
	/* A stale id never reaches the worker now in its slot. */
	id = client(e, "new", 1.0);
	for (int old = 1; old < id; old++)
		assert_null(W(e, old));
	assert_non_null(W(e, id));
	assert_int_equal(vgmo_engine_worker_remove(e, prev),
	                 VGMO_ERR_NOT_FOUND);
	/* Growth keeps every live worker reachable. */
	for (int i = 0; i < 100; i++) {
		char name[16];

		snprintf(name, sizeof(name), "g%d", i);
		assert_non_null(W(e, client(e, name, 1.0)));
	}
	assert_non_null(W(e, id));
	assert_int_equal(e->nlive, 102);
	vgmo_engine_destroy(e);
}

/* The built-in worker keeps its weight whatever a client registers. */
static void test_default_name_refused(void **state)
{
	vgmo_engine *e = make(10);
	vgmo_worker_spec sp = {
	        .name = "default", .weight = 1e6, .leased = true};
	int id = -1;
	bool existed = false;

	(void)state;
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id, &existed),
	                 VGMO_ERR_PERMISSION);
	assert_true(W(e, VGMO_DEFAULT_WORKER)->weight == 1.0);
	assert_false(W(e, VGMO_DEFAULT_WORKER)->leased);
	vgmo_engine_destroy(e);
}

/* A cap on leased workers; a slot freed by a lease lets the next in. */
static void test_client_cap(void **state)
{
	vgmo_engine *e = make(1);
	vgmo_worker_spec sp = {.name = "over", .leased = true};
	int id;

	(void)state;
	vgmo_engine_set_max_clients(e, 3);
	client(e, "a", 1.0);
	client(e, "b", 1.0);
	client(e, "c", 1.0);
	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id, NULL),
	                 VGMO_ERR_STATE);
	/* Re-registering one that is in does not count twice. */
	client(e, "a", 2.0);
	assert_int_equal(vgmo_engine_sim_run(e, 12), VGMO_OK);
	assert_int_equal(e->nleased, 0);
	client(e, "over", 1.0);
	vgmo_engine_destroy(e);
}

/* 4000 clients expiring at once: one pass, linear (each registration
 * recomputes its device's budgets, so registering them all is the
 * quadratic yardstick); and leases run out while monitoring is stopped. */
static void test_mass_expiry_linear(void **state)
{
	vgmo_engine *e = make(1);
	double t0, registering, expiring;

	(void)state;
	t0 = vgmo__mono_now();
	for (int i = 0; i < 4000; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%d", i);
		client(e, name, 1.0);
	}
	registering = vgmo__mono_now() - t0;
	vgmo_engine_set_monitoring(e, false);
	t0 = vgmo__mono_now();
	assert_int_equal(vgmo_engine_sim_run(e, 12), VGMO_OK);
	expiring = vgmo__mono_now() - t0;
	assert_int_equal(e->nleased, 0);
	assert_int_equal(e->nlive, 1);
	assert_true(expiring < registering / 10);
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
	assert_true(vgmo__others_rise(&o, t) == 0);
	/* A spike inside a bucket with a normal sample. */
	vgmo__others_add(&o, t, 2 * GIB);
	vgmo__others_add(&o, t + 5, 5 * GIB);
	t += 10;
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 2 * GIB);
	assert_true(vgmo__others_rise(&o, t) == 0);
	/* A dip, then a step of 3 GiB over the dip that holds. */
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 1 * GIB);
	vgmo__others_add(&o, t, 4 * GIB);
	assert_true(vgmo__others_rise(&o, t + 1) == 0); /* still open */
	for (int i = 0; i < 4; i++, t += 5)
		vgmo__others_add(&o, t, 4 * GIB);
	assert_true(fabs(vgmo__others_rise(&o, t) - 3 * GIB) < 1.0);
	/* Flat for the whole window: forgotten. */
	for (int i = 0; i < 130; i++, t += 5)
		vgmo__others_add(&o, t, 4 * GIB);
	assert_true(vgmo__others_rise(&o, t) == 0);
	vgmo__others_clear(&o);
	assert_true(vgmo__others_rise(&o, t) == 0);
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
	        cmocka_unit_test(test_lease_expiry),
	        cmocka_unit_test(test_client_memory_counts_on_sim),
	        cmocka_unit_test(test_freed_bytes_reported),
	        cmocka_unit_test(test_register_resumes_and_validates),
	        cmocka_unit_test(test_ids_unique_slots_reused),
	        cmocka_unit_test(test_default_name_refused),
	        cmocka_unit_test(test_client_cap),
	        cmocka_unit_test(test_mass_expiry_linear),
	        cmocka_unit_test(test_need_above_share_gets_the_share),
	        cmocka_unit_test(test_oom_budget_adds_the_reserve),
	        cmocka_unit_test(test_held_by_its_process),
	        cmocka_unit_test(test_others_rise),
	        cmocka_unit_test(test_balanced_reserve_follows_the_rise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
