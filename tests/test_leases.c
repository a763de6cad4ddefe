/*
 * test_leases.c - clients of one GPU: leases that expire (and a thousand
 * at once, in linear time), registration that resumes and validates,
 * unique ids and reused slots, the client cap, client memory on the
 * simulated GPU, freed bytes reported.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lease_expiry),
	        cmocka_unit_test(test_client_memory_counts_on_sim),
	        cmocka_unit_test(test_freed_bytes_reported),
	        cmocka_unit_test(test_register_resumes_and_validates),
	        cmocka_unit_test(test_ids_unique_slots_reused),
	        cmocka_unit_test(test_default_name_refused),
	        cmocka_unit_test(test_client_cap),
	        cmocka_unit_test(test_mass_expiry_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
