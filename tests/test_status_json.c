/*
 * test_status_json.c - vgmo_snapshot_status_json() on the simulated GPU:
 * the seed's keys, the 0..1 fraction, MiB arithmetic, and null (never 0)
 * for every value the device does not report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vgmo/vgmo.h"
#include "worker_json.h"

#define MIB 1048576.0

/* One engine, its snapshot and the JSON parsed back. */
struct fixture {
	vgmo_engine *engine;
	vgmo_snapshot *snap;
	json_t *root;
};

static void open_fixture(struct fixture *f, const char *workload, unsigned gpus,
                         double warmup)
{
	vgmo_engine_options opts;
	json_error_t jerr;
	vgmo_config cfg;
	char err[512] = "";
	char *text;

	memset(f, 0, sizeof(*f));
	vgmo_config_defaults(&cfg);
	vgmo_engine_options_init(&opts);
	opts.backend = "sim";
	opts.sim.workload = workload;
	opts.sim.gpus = gpus;
	opts.sim.seed = 7;
	assert_int_equal(
	        vgmo_engine_create(&f->engine, &cfg, &opts, err, sizeof(err)),
	        VGMO_OK);
	if (warmup > 0.0)
		assert_int_equal(vgmo_engine_sim_run(f->engine, warmup),
		                 VGMO_OK);
	assert_int_equal(vgmo_engine_sample(f->engine), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(f->engine, &f->snap), VGMO_OK);
	text = vgmo_snapshot_status_json(f->snap, 2);
	assert_non_null(text);
	f->root = json_loads(text, 0, &jerr);
	if (f->root == NULL)
		fail_msg("invalid JSON at %d:%d: %s\n%s", jerr.line,
		         jerr.column, jerr.text, text);
	free(text);
	assert_true(json_is_object(f->root));
}

static void close_fixture(struct fixture *f)
{
	json_decref(f->root);
	vgmo_snapshot_free(f->snap);
	vgmo_engine_destroy(f->engine);
}

static json_t *get(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		fail_msg("key \"%s\" is missing", key);
	return v;
}

static double number(const json_t *o, const char *key)
{
	json_t *v = get(o, key);

	if (!json_is_number(v))
		fail_msg("\"%s\" is not a number", key);
	return json_number_value(v);
}

/* `key` holds a value exactly when the device reports it. */
static void want_present(const json_t *o, const char *key, bool present)
{
	json_t *v = get(o, key);

	if (present && json_is_null(v))
		fail_msg("\"%s\" is null but the device reports it", key);
	if (!present && !json_is_null(v))
		fail_msg("\"%s\" is not null but the device does not report "
		         "it",
		         key);
}

static void want_close(double got, double want)
{
	double tol = 1e-9 * (want < 0 ? -want : want) + 1e-9;

	if (got - want > tol || want - got > tol)
		fail_msg("got %.17g, want %.17g", got, want);
}

static const char *const top_keys[] = {"status",
                                       "gpu_available",
                                       "current_batch_size",
                                       "optimal_batch_size",
                                       "optimization_enabled",
                                       "memory_usage_percent",
                                       "memory_usage_mb",
                                       "total_memory_mb",
                                       "free_memory_mb",
                                       "gpu_utilization",
                                       "gpu_temperature",
                                       "gpu_power_usage",
                                       "memory_fragmentation",
                                       "timestamp",
                                       "backend",
                                       "strategy",
                                       "gpus",
                                       "workers",
                                       "counters"};

static const char *const gpu_keys[] = {"index",
                                       "parent",
                                       "name",
                                       "uuid",
                                       "pci_bus_id",
                                       "up",
                                       "down_reason",
                                       "status",
                                       "memory_usage_percent",
                                       "memory_usage_mb",
                                       "total_memory_mb",
                                       "free_memory_mb",
                                       "reserved_memory_mb",
                                       "memory_total_bytes",
                                       "memory_used_bytes",
                                       "memory_free_bytes",
                                       "memory_reserved_bytes",
                                       "memory_api",
                                       "gpu_utilization",
                                       "gpu_temperature",
                                       "gpu_power_usage",
                                       "energy_joules",
                                       "memory_fragmentation",
                                       "mig_enabled",
                                       "processes",
                                       "sampled_at",
                                       "current_batch_size",
                                       "optimal_batch_size"};

static const char *const worker_keys[] = {"id",
                                          "name",
                                          "gpu",
                                          "weight",
                                          "unit",
                                          "batch_size",
                                          "optimal_batch_size",
                                          "manual_batch_size",
                                          "budget_bytes",
                                          "share",
                                          "fragmentation",
                                          "reports",
                                          "ooms",
                                          "throughput_items_per_s",
                                          "last_report_seconds_ago",
                                          "model",
                                          "padding",
                                          "attention",
                                          "vision_attention",
                                          "logits"};

static const char *const model_keys[] = {"fitted",      "samples",
                                         "fixed_bytes", "item_bytes",
                                         "sigma_bytes", "ceiling"};

static const char *const counter_keys[] = {
        "optimizations", "optimizations_success", "optimization_failures",
        "cleanups",      "batch_size_changes",    "freed_bytes",
        "samples"};

static void check_keys(const json_t *o, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)get(o, keys[i]);
	assert_int_equal(json_object_size(o), n);
}

#define CHECK_KEYS(o, keys) check_keys(o, keys, sizeof(keys) / sizeof(*keys))

/* The memory fields of `o` describe `g`: a 0..1 fraction and MiB. */
static void check_memory(const json_t *o, const vgmo_gpu_sample *g)
{
	double usage = number(o, "memory_usage_percent");

	assert_true(usage >= 0.0 && usage <= 1.0);
	want_close(usage, (double)g->memory_used / (double)g->memory_total);
	want_close(usage, vgmo_sample_usage(g));
	want_close(number(o, "memory_usage_mb"), (double)g->memory_used / MIB);
	want_close(number(o, "total_memory_mb"), (double)g->memory_total / MIB);
	want_close(number(o, "free_memory_mb"), (double)g->memory_free / MIB);
}

/* The first worker on GPU `gpu` in the snapshot, or NULL. */
static const vgmo_worker_view *worker_on(const vgmo_snapshot *s, unsigned gpu)
{
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->gpu == gpu)
			return w;
	}
	return NULL;
}

static void check_gpu(const vgmo_snapshot *s, size_t i, const json_t *j)
{
	const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);
	const vgmo_worker_view *w = worker_on(s, g->index);
	uint32_t p = g->up ? g->present : 0;

	CHECK_KEYS(j, gpu_keys);
	assert_int_equal(json_integer_value(get(j, "index")), g->index);
	want_present(j, "parent", g->parent >= 0);
	assert_string_equal(json_string_value(get(j, "name")), g->name);
	assert_true(json_is_boolean(get(j, "up")));
	assert_int_equal(json_is_true(get(j, "up")), g->up);
	want_present(j, "down_reason", !g->up);
	want_present(j, "pci_bus_id", g->present & VGMO_HAS_PCI);
	/* The status is classified from the memory: unknown with it. */
	want_present(j, "status", p & VGMO_HAS_MEMORY);
	want_present(j, "memory_usage_mb", p & VGMO_HAS_MEMORY);
	want_present(j, "total_memory_mb", p & VGMO_HAS_MEMORY);
	want_present(j, "free_memory_mb", p & VGMO_HAS_MEMORY);
	want_present(j, "memory_total_bytes", p & VGMO_HAS_MEMORY);
	want_present(j, "memory_used_bytes", p & VGMO_HAS_MEMORY);
	want_present(j, "memory_free_bytes", p & VGMO_HAS_MEMORY);
	want_present(j, "reserved_memory_mb", p & VGMO_HAS_RESERVED);
	want_present(j, "memory_reserved_bytes", p & VGMO_HAS_RESERVED);
	want_present(j, "gpu_utilization", p & VGMO_HAS_UTILIZATION);
	want_present(j, "gpu_temperature", p & VGMO_HAS_TEMPERATURE);
	want_present(j, "gpu_power_usage", p & VGMO_HAS_POWER);
	want_present(j, "energy_joules", p & VGMO_HAS_ENERGY);
	want_present(j, "memory_fragmentation", p & VGMO_HAS_FRAGMENTATION);
	want_present(j, "mig_enabled", p & VGMO_HAS_MIG_MODE);
	want_present(j, "processes", p & VGMO_HAS_PROCESSES);
	want_present(j, "current_batch_size", w != NULL);
	/* Before its first plan a worker's optimum is unknown: null. */
	want_present(j, "optimal_batch_size",
	             w != NULL && w->optimal_batch_size > 0);
	if (w != NULL)
		assert_int_equal(
		        json_integer_value(get(j, "current_batch_size")),
		        w->batch_size);
	if (p & VGMO_HAS_MEMORY) {
		check_memory(j, g);
		assert_int_equal(
		        json_integer_value(get(j, "memory_total_bytes")),
		        (json_int_t)g->memory_total);
		assert_string_equal(
		        json_string_value(get(j, "status")),
		        vgmo_status_name(vgmo_snapshot_gpu_status(s, i)));
	}
	if (p & VGMO_HAS_UTILIZATION) {
		double u = number(j, "gpu_utilization");

		assert_true(u >= 0.0 && u <= 1.0);
	}
	if (p & VGMO_HAS_FRAGMENTATION) {
		double fr = number(j, "memory_fragmentation");

		assert_true(fr >= 0.0 && fr <= 1.0);
	}
	if (p & VGMO_HAS_PROCESSES)
		assert_int_equal(json_array_size(get(j, "processes")),
		                 g->process_count);
}

static void check_worker(const vgmo_worker_view *w, const json_t *j)
{
	const json_t *m = get(j, "model");

	CHECK_KEYS(j, worker_keys);
	CHECK_KEYS(m, model_keys);
	assert_int_equal(json_integer_value(get(j, "id")), w->id);
	assert_string_equal(json_string_value(get(j, "name")), w->name);
	assert_int_equal(json_integer_value(get(j, "batch_size")),
	                 w->batch_size);
	assert_int_equal(json_integer_value(get(j, "reports")), w->reports);
	want_present(j, "manual_batch_size", w->manual_batch_size != 0);
	want_present(j, "budget_bytes", w->has_budget);
	want_present(j, "share", w->has_budget);
	want_present(j, "last_report_seconds_ago", w->last_report_age >= 0.0);
	/* Before its first plan a worker's optimum is unknown: null. */
	want_present(j, "optimal_batch_size", w->optimal_batch_size > 0);
	assert_string_equal(json_string_value(get(j, "unit")), w->unit);
	want_present(j, "fragmentation", w->has_fragmentation);
	want_present(j, "throughput_items_per_s", w->throughput >= 0.0);
	want_present(m, "ceiling", w->model.ceiling > 0);
	assert_int_equal(json_is_true(get(m, "fitted")), w->model.fitted);
	assert_int_equal(json_integer_value(get(m, "samples")),
	                 w->model.samples);
	want_close(number(m, "item_bytes"), w->model.item_bytes);
}

static void check_status(const struct fixture *f)
{
	const vgmo_snapshot *s = f->snap;
	const json_t *root = f->root;
	int hot = vgmo_snapshot_most_loaded(s);
	const json_t *gpus = get(root, "gpus");
	const json_t *workers = get(root, "workers");
	const vgmo_worker_view *def = NULL;

	CHECK_KEYS(root, top_keys);
	assert_string_equal(json_string_value(get(root, "backend")), "sim");
	assert_string_equal(json_string_value(get(root, "status")),
	                    vgmo_status_name(vgmo_snapshot_status(s)));
	assert_string_equal(json_string_value(get(root, "strategy")),
	                    "balanced");
	assert_true(json_is_true(get(root, "gpu_available")));
	assert_true(json_is_true(get(root, "optimization_enabled")));
	want_close(number(root, "timestamp"), vgmo_snapshot_time(s));
	CHECK_KEYS(get(root, "counters"), counter_keys);
	assert_int_equal(
	        json_integer_value(get(get(root, "counters"), "samples")),
	        vgmo_snapshot_counters(s)->samples);

	/* The top level describes the most loaded GPU. */
	assert_true(hot >= 0);
	check_memory(root, vgmo_snapshot_gpu(s, (size_t)hot));
	want_present(root, "gpu_temperature",
	             vgmo_snapshot_gpu(s, (size_t)hot)->present &
	                     VGMO_HAS_TEMPERATURE);

	assert_int_equal(json_array_size(gpus), vgmo_snapshot_gpu_count(s));
	for (size_t i = 0; i < vgmo_snapshot_gpu_count(s); i++)
		check_gpu(s, i, json_array_get(gpus, i));

	assert_int_equal(json_array_size(workers),
	                 vgmo_snapshot_worker_count(s));
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		check_worker(w, json_array_get(workers, i));
		if (w->id == VGMO_DEFAULT_WORKER)
			def = w;
	}
	assert_non_null(def);
	assert_int_equal(json_integer_value(get(root, "current_batch_size")),
	                 def->batch_size);
	assert_int_equal(json_integer_value(get(root, "optimal_batch_size")),
	                 def->optimal_batch_size);
}

static void test_idle_gpu(void **state)
{
	struct fixture f;

	(void)state;
	open_fixture(&f, "none", 1, 0.0);
	check_status(&f);
	close_fixture(&f);
}

static void test_vlm_workload(void **state)
{
	const vgmo_worker_view *w;
	struct fixture f;

	(void)state;
	open_fixture(&f, "vlm", 1, 120.0);
	check_status(&f);
	/* The workload reported batches: the learned model is in the JSON. */
	w = vgmo_snapshot_worker(f.snap, 0);
	assert_true(w->reports > 0);
	close_fixture(&f);
}

static void test_several_gpus(void **state)
{
	struct fixture f;

	(void)state;
	open_fixture(&f, "vlm", 3, 30.0);
	check_status(&f);
	assert_int_equal(json_array_size(get(f.root, "gpus")), 3);
	close_fixture(&f);
}

/* The simulated GPU does not report energy or a PCI bus: null, not 0. */
static void test_sim_absent_fields_are_null(void **state)
{
	const vgmo_gpu_sample *g;
	const json_t *gpu;
	struct fixture f;

	(void)state;
	open_fixture(&f, "none", 1, 0.0);
	g = vgmo_snapshot_gpu(f.snap, 0);
	gpu = json_array_get(get(f.root, "gpus"), 0);
	if (!(g->present & VGMO_HAS_ENERGY))
		assert_true(json_is_null(get(gpu, "energy_joules")));
	if (!(g->present & VGMO_HAS_PCI))
		assert_true(json_is_null(get(gpu, "pci_bus_id")));
	assert_true(json_is_null(get(gpu, "parent")));
	assert_true(json_is_null(get(gpu, "down_reason")));
	close_fixture(&f);
}

static void test_indent(void **state)
{
	struct fixture f;
	json_t *compact;
	char *text;

	(void)state;
	open_fixture(&f, "none", 1, 0.0);
	text = vgmo_snapshot_status_json(f.snap, 0);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	compact = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(compact);
	assert_true(json_equal(compact, f.root));
	json_decref(compact);
	close_fixture(&f);
}

static void test_null_snapshot(void **state)
{
	(void)state;
	assert_null(vgmo_snapshot_status_json(NULL, 2));
}

/* The one worker renderer (/v1/status and the client endpoints): every
 * unknown of the view is null, every known value is itself, 0 included. */
static void test_worker_unknowns(void **state)
{
	vgmo_worker_view w = {.id = 3,
	                      .name = "w",
	                      .gpu = 1,
	                      .weight = 1.0,
	                      .batch_size = 4,
	                      .unit = "items",
	                      .throughput = -1,
	                      .last_report_age = -1,
	                      .share = -1};
	static const char *const unknown[] = {
	        "optimal_batch_size",     "manual_batch_size",
	        "budget_bytes",           "share",
	        "fragmentation",          "throughput_items_per_s",
	        "last_report_seconds_ago"};
	json_t *j = vgmo__worker_json(&w);

	(void)state;
	assert_non_null(j);
	CHECK_KEYS(j, worker_keys);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(*unknown); i++)
		want_present(j, unknown[i], false);
	want_present(get(j, "model"), "ceiling", false);
	json_decref(j);

	/* Known, and 0 where 0 is a value: a budget of 0 bytes, a share of
	 * 0, no fragmentation, a report just now. */
	w.optimal_batch_size = 6;
	w.has_budget = true;
	w.budget_bytes = 0;
	w.share = 0;
	w.has_fragmentation = true;
	w.fragmentation = 0;
	w.throughput = 0;
	w.last_report_age = 0;
	j = vgmo__worker_json(&w);
	assert_non_null(j);
	for (size_t i = 1; i < sizeof(unknown) / sizeof(*unknown); i++)
		if (strcmp(unknown[i], "manual_batch_size") != 0) {
			want_present(j, unknown[i], true);
			assert_true(json_number_value(get(j, unknown[i])) ==
			            0.0);
		}
	assert_int_equal(json_integer_value(get(j, "optimal_batch_size")), 6);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_idle_gpu),
	        cmocka_unit_test(test_vlm_workload),
	        cmocka_unit_test(test_several_gpus),
	        cmocka_unit_test(test_sim_absent_fields_are_null),
	        cmocka_unit_test(test_indent),
	        cmocka_unit_test(test_null_snapshot),
	        cmocka_unit_test(test_worker_unknowns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
