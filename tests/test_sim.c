/*
 * test_sim.c - the simulated GPU: presets, determinism, the caching
 * allocator, OOM, several GPUs, and the workload switch.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
#include "engine_internal.h"
#include "sim.h"
#include "util.h"

static vgmo_engine *make(const char *preset, unsigned gpus, uint64_t seed,
                         const char *workload)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;
	char err[256];

	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.preset = preset;
	o.sim.gpus = gpus;
	o.sim.seed = seed;
	o.sim.workload = workload;
	assert_int_equal(vgmo_engine_create(&e, &c, &o, err, sizeof(err)),
	                 VGMO_OK);
	return e;
}

static void test_presets(void **state)
{
	struct {
		const char *name;
		uint64_t mib;
	} want[] = {{"l4-24gb", 23034},      {"a10-24gb", 23028},
	            {"rtx4090-24gb", 24564}, {"l40s-48gb", 46068},
	            {"a100-40gb", 40960},    {"a100-80gb", 81920},
	            {"h100-80gb", 81559},    {"h200-141gb", 143771}};

	(void)state;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(want); i++) {
		vgmo_engine *e = make(want[i].name, 1, 1, "none");

		assert_true(e->samples[0].memory_total ==
		            want[i].mib * VGMO__MIB);
		assert_non_null(strstr(e->samples[0].name, "(sim)"));
		assert_string_equal(vgmo_engine_backend(e), "sim");
		vgmo_engine_destroy(e);
	}
	for (size_t i = 0; i < VGMO__ARRAY_LEN(want); i++)
		assert_string_equal(vgmo_sim_presets()[i], want[i].name);
	assert_null(vgmo_sim_presets()[VGMO__ARRAY_LEN(want)]);
}

static void test_idle_gpu(void **state)
{
	vgmo_engine *e = make("h100-80gb", 1, 1, "none");

	(void)state;
	assert_int_equal(vgmo_engine_sim_run(e, 60), VGMO_OK);
	assert_true(e->samples[0].memory_used == 0);
	assert_true(e->samples[0].utilization == 0);
	assert_false(e->samples[0].present & VGMO_HAS_FRAGMENTATION);
	/* Energy and power are simulated; nothing is claimed that the
	 * simulator does not model (MIG). An idle GPU lists no process. */
	assert_true(e->samples[0].present & VGMO_HAS_PROCESSES);
	assert_int_equal(e->samples[0].process_count, 0);
	assert_false(e->samples[0].present & VGMO_HAS_MIG_MODE);
	vgmo_engine_destroy(e);
}

/* The synthetic worker is a process of its GPU, holding all it uses. */
static void test_processes(void **state)
{
	vgmo_engine *e = make("h100-80gb", 1, 1, "vlm");
	const vgmo_gpu_sample *g;

	(void)state;
	assert_int_equal(vgmo_engine_sim_run(e, 120), VGMO_OK);
	g = &e->samples[0];
	assert_true(g->present & VGMO_HAS_PROCESSES);
	assert_int_equal(g->process_count, 1);
	assert_int_equal(g->processes[0].pid, 0);
	assert_string_equal(g->processes[0].name, "vlm-worker (sim)");
	assert_true(g->processes[0].used_bytes == g->memory_used);
	vgmo_engine_destroy(e);
}

static void fingerprint(vgmo_engine *e, double *out, size_t n)
{
	vgmo_snapshot *s;

	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	memset(out, 0, n * sizeof(*out));
	out[0] = (double)vgmo_snapshot_gpu(s, 0)->memory_used;
	out[1] = vgmo_snapshot_gpu(s, 0)->utilization;
	out[2] = vgmo_snapshot_gpu(s, 0)->temperature_c;
	out[3] = vgmo_snapshot_worker(s, 0)->model.item_bytes;
	out[4] = vgmo_snapshot_worker(s, 0)->batch_size;
	out[5] = (double)vgmo_snapshot_counters(s)->batch_size_changes;
	out[6] = (double)vgmo_snapshot_worker(s, 0)->reports;
	vgmo_snapshot_free(s);
}

static void test_deterministic_for_a_seed(void **state)
{
	double a[7], b[7], c[7];
	vgmo_engine *e;

	(void)state;
	e = make("h100-80gb", 1, 42, "vlm");
	vgmo_engine_sim_run(e, 300);
	fingerprint(e, a, 7);
	vgmo_engine_destroy(e);
	e = make("h100-80gb", 1, 42, "vlm");
	vgmo_engine_sim_run(e, 300);
	fingerprint(e, b, 7);
	vgmo_engine_destroy(e);
	e = make("h100-80gb", 1, 43, "vlm");
	vgmo_engine_sim_run(e, 300);
	fingerprint(e, c, 7);
	vgmo_engine_destroy(e);
	assert_memory_equal(a, b, sizeof(a));
	assert_true(memcmp(a, c, sizeof(a)) != 0);
}

static void test_allocator_and_oom(void **state)
{
	vgmo_engine *e = make("a100-40gb", 1, 3, "vlm");
	vgmo__sim *sim = vgmo__sim_of(e->ops, e->bctx);
	const vgmo__sim_worker_truth *t = vgmo__sim_truth(sim, 0);
	vgmo_report r;
	double d;

	(void)state;
	/* A small batch fits; the allocator keeps what it reserved. */
	d = vgmo__sim_run_batch(sim, 0, 2, 0, &r);
	assert_true(d > 0);
	assert_false(r.oom);
	assert_true(r.peak_bytes > t->weights + t->fixed_act);
	assert_true(r.reserved_bytes >= r.peak_bytes);
	assert_true(r.allocated_bytes == t->weights);
	vgmo_engine_sample(e);
	assert_true(e->samples[0].present & VGMO_HAS_FRAGMENTATION);
	/* What the batch's peak did not use of the reserve: rounding and
	 * overhead, not the cache kept for the next batch. */
	assert_true(fabs(e->samples[0].fragmentation -
	                 (1.0 - (double)r.peak_bytes /
	                                (double)r.reserved_bytes)) < 1e-6);
	/* Far more items than the device holds: OOM, no peak reported. */
	vgmo__sim_run_batch(sim, 0, 200, 0, &r);
	assert_true(r.oom);
	assert_true(r.peak_bytes == 0);
	/* Cleanup returns the cache. */
	assert_int_equal(vgmo__backend_sim.cleanup(sim, 0), VGMO_OK);
	vgmo_engine_sample(e);
	assert_true(e->samples[0].fragmentation < 0.01);
	vgmo_engine_destroy(e);
}

static void test_several_gpus(void **state)
{
	vgmo_engine *e = make("l4-24gb", 4, 9, "vlm");
	vgmo_snapshot *s;

	(void)state;
	assert_int_equal(e->ndev, 4);
	assert_int_equal(vgmo_engine_sim_run(e, 300), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	assert_int_equal(vgmo_snapshot_gpu_count(s), 4);
	/* One synthetic worker per GPU, each with its own reports. */
	assert_int_equal(vgmo_snapshot_worker_count(s), 4);
	for (size_t i = 0; i < 4; i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		assert_int_equal(w->gpu, i);
		assert_true(w->reports > 50);
		assert_true(vgmo_snapshot_gpu(s, i)->memory_used > 0);
		assert_string_not_equal(
		        vgmo_snapshot_gpu(s, i)->uuid,
		        vgmo_snapshot_gpu(s, (i + 1) % 4)->uuid);
	}
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

static void test_run_needs_sim(void **state)
{
	vgmo_engine *e = make("h100-80gb", 1, 1, "none");

	(void)state;
	assert_int_equal(vgmo_engine_sim_run(e, -1), VGMO_ERR_INVALID);
	assert_int_equal(vgmo_engine_sim_run(e, 0), VGMO_OK);
	vgmo_engine_destroy(e);
}

static void test_bad_options(void **state)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;
	char err[256];

	(void)state;
	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "chess";
	assert_int_equal(vgmo_engine_create(&e, &c, &o, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "chess"));
	o.sim.workload = "vlm";
	o.sim.gpus = 65;
	assert_int_equal(vgmo_engine_create(&e, &c, &o, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_presets),
	        cmocka_unit_test(test_idle_gpu),
	        cmocka_unit_test(test_processes),
	        cmocka_unit_test(test_deterministic_for_a_seed),
	        cmocka_unit_test(test_allocator_and_oom),
	        cmocka_unit_test(test_several_gpus),
	        cmocka_unit_test(test_run_needs_sim),
	        cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
