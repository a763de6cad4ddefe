/*
 * test_state.c - the daemon's lasting state: atomic save and load,
 * corruption handling, config overrides, the JSON Lines journal with
 * rotation, the audit log, and the engine's history sequence.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "result_json.h"
#include "state.h"
#include "util.h"

static char dir[256];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vgmo-test-state-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_text(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void **state)
{
	vgmo__state a, b;
	char err[256];

	(void)state;
	assert_int_equal(vgmo__state_init(&a), VGMO_OK);
	a.monitoring = false;
	json_object_set_new(a.config_overrides, "max_batch_size",
	                    json_integer(8));
	assert_int_equal(vgmo__state_set_batch(&a, "default", 0, 8), VGMO_OK);
	assert_int_equal(vgmo__state_set_batch(&a, "w2", 1, 3), VGMO_OK);
	assert_int_equal(vgmo__state_set_batch(&a, "w2", 1, 4), VGMO_OK);
	assert_int_equal(a.nbatch, 2);
	assert_int_equal(vgmo__state_save(dir, &a, err, sizeof(err)), VGMO_OK);
	assert_int_equal(vgmo__state_load(dir, &b, err, sizeof(err)), VGMO_OK);
	assert_false(b.monitoring);
	assert_true(json_equal(a.config_overrides, b.config_overrides));
	assert_int_equal(b.nbatch, 2);
	assert_int_equal(b.batch[1].batch_size, 4);
	assert_int_equal(vgmo__state_set_batch(&b, "default", 0, 0), VGMO_OK);
	assert_int_equal(b.nbatch, 1);
	vgmo__state_free(&a);
	vgmo__state_free(&b);
}

static void test_missing_is_empty(void **state)
{
	vgmo__state s;
	char err[256];

	(void)state;
	assert_int_equal(vgmo__state_load(dir, &s, err, sizeof(err)), VGMO_OK);
	assert_true(s.monitoring);
	assert_int_equal(json_object_size(s.config_overrides), 0);
	vgmo__state_free(&s);
}

static void test_corrupt_is_kept(void **state)
{
	vgmo__state s;
	char err[512], path[512];

	(void)state;
	write_text(VGMO__STATE_FILE, "{\"config_overrides\": {\"max_b");
	assert_int_equal(vgmo__state_load(dir, &s, err, sizeof(err)),
	                 VGMO_ERR_PARSE);
	assert_non_null(strstr(err, "corrupted"));
	assert_non_null(strstr(err, ".corrupt-"));
	/* Defaults, and the bad file moved aside. */
	assert_true(s.monitoring);
	snprintf(path, sizeof(path), "%s/%s", dir, VGMO__STATE_FILE);
	assert_int_not_equal(access(path, F_OK), 0);
	vgmo__state_free(&s);
	/* Wrong shape is corruption too. */
	write_text(VGMO__STATE_FILE, "{\"config_overrides\": {}, "
	                             "\"monitoring\": \"yes\", "
	                             "\"batch_size_overrides\": []}");
	assert_int_equal(vgmo__state_load(dir, &s, err, sizeof(err)),
	                 VGMO_ERR_PARSE);
	assert_non_null(strstr(err, "monitoring"));
	vgmo__state_free(&s);
}

static bool exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* A save that died between mkstemp and rename leaves state.json.tmp.XXXXXX;
 * the next start removes those, and only those. */
static void test_clean_temps(void **state)
{
	size_t removed = 99;
	char err[256];

	(void)state;
	write_text(VGMO__STATE_FILE, "{}");
	write_text(VGMO__STATE_FILE ".tmp.a1B2c3", "{\"config_ov");
	write_text(VGMO__STATE_FILE ".tmp.zzzzzz", "");
	write_text(VGMO__STATE_FILE ".tmp.short", "");           /* not ours */
	write_text("history.jsonl.tmp.a1B2c3", "");              /* not ours */
	write_text(VGMO__STATE_FILE ".corrupt-1764230400", "x"); /* kept */
	assert_int_equal(
	        vgmo__state_clean_temps(dir, &removed, err, sizeof(err)),
	        VGMO_OK);
	assert_int_equal(removed, 2);
	assert_false(exists(VGMO__STATE_FILE ".tmp.a1B2c3"));
	assert_false(exists(VGMO__STATE_FILE ".tmp.zzzzzz"));
	assert_true(exists(VGMO__STATE_FILE));
	assert_true(exists(VGMO__STATE_FILE ".tmp.short"));
	assert_true(exists("history.jsonl.tmp.a1B2c3"));
	assert_true(exists(VGMO__STATE_FILE ".corrupt-1764230400"));
	/* Nothing left: nothing to do; no directory: nothing either. */
	assert_int_equal(
	        vgmo__state_clean_temps(dir, &removed, err, sizeof(err)),
	        VGMO_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(vgmo__state_clean_temps("/nonexistent/vgmo", &removed,
	                                         err, sizeof(err)),
	                 VGMO_OK);
}

static void test_config_overrides(void **state)
{
	vgmo_config base, eff, out;
	json_t *diff;
	char err[256];

	(void)state;
	vgmo_config_defaults(&base);
	eff = base;
	eff.max_batch_size = 8;
	eff.strategy = VGMO_STRATEGY_ADAPTIVE;
	diff = vgmo__config_diff(&base, &eff);
	assert_int_equal(json_object_size(diff), 2);
	assert_int_equal(
	        json_integer_value(json_object_get(diff, "max_batch_size")), 8);
	/* A new base keeps the override and takes the rest. */
	base.memory_threshold_warning = 0.7;
	assert_int_equal(vgmo__config_apply_overrides(&base, diff, &out, err,
	                                              sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(out.max_batch_size, 8);
	assert_true(out.memory_threshold_warning == 0.7);
	/* An override that no longer fits the base is dropped with its
	 * reason; the others still apply. */
	base.min_batch_size = 10;
	base.max_batch_size = 12;
	assert_int_equal(vgmo__config_apply_overrides(&base, diff, &out, err,
	                                              sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(out.max_batch_size, 12);
	assert_int_equal(out.strategy, VGMO_STRATEGY_ADAPTIVE);
	assert_non_null(strstr(err, "max_batch_size"));
	assert_null(json_object_get(diff, "max_batch_size"));
	assert_int_equal(json_object_size(diff), 1);
	json_decref(diff);
}

/* Saved state from a version without ranges: every out-of-range value,
 * integers at INT_MAX and INT64_MAX included, is dropped, one reason
 * each; the valid keys, even those that need another key, stay. */
static void test_config_overrides_out_of_range(void **state)
{
	vgmo_config base, out;
	char err[1024];
	json_t *o = json_pack(
	        "{s:i, s:i, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
	        "max_batch_size", INT_MAX, "min_batch_size", INT_MAX,
	        "memory_reserve_mb", (json_int_t)INT64_MAX,
	        "monitoring_interval", 1e-9, "optimization_interval", 1e300,
	        "cleanup_interval", 0.0, "temperature_threshold", 1e6,
	        "memory_threshold_warning", 0.91, "memory_threshold_critical",
	        0.93, "memory_threshold_oom", 0.97);

	(void)state;
	assert_non_null(o);
	vgmo_config_defaults(&base);
	assert_int_equal(
	        vgmo__config_apply_overrides(&base, o, &out, err, sizeof(err)),
	        VGMO_OK);
	assert_int_equal(out.max_batch_size, base.max_batch_size);
	assert_int_equal(out.min_batch_size, base.min_batch_size);
	assert_true(out.memory_reserve_mb == base.memory_reserve_mb);
	assert_true(out.monitoring_interval == base.monitoring_interval);
	assert_true(out.optimization_interval == base.optimization_interval);
	assert_true(out.cleanup_interval == base.cleanup_interval);
	assert_true(out.temperature_threshold == base.temperature_threshold);
	assert_true(out.memory_threshold_warning == 0.91);
	assert_true(out.memory_threshold_critical == 0.93);
	assert_true(out.memory_threshold_oom == 0.97);
	assert_int_equal(json_object_size(o), 3);
	assert_non_null(strstr(err, "max_batch_size"));
	assert_non_null(strstr(err, "memory_reserve_mb"));
	assert_non_null(strstr(err, "monitoring_interval"));
	assert_non_null(strstr(err, "temperature_threshold"));
	json_decref(o);
}

static void count_line(const json_t *line, void *ctx)
{
	(void)line;
	(*(int *)ctx)++;
}

static void test_journal_rotation_and_torn_line(void **state)
{
	char err[256], path[512];
	json_t *line = json_pack("{s:s}", "x", "0123456789");
	size_t skipped;
	int n = 0, after = 0;
	FILE *f;

	(void)state;
	for (int i = 0; i < 50; i++)
		assert_int_equal(vgmo__journal_append(dir, "j.jsonl", line, 400,
		                                      err, sizeof(err)),
		                 VGMO_OK);
	snprintf(path, sizeof(path), "%s/j.jsonl.1", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* A crash mid-write leaves a torn last line: skipped, not fatal. */
	snprintf(path, sizeof(path), "%s/j.jsonl", dir);
	f = fopen(path, "a");
	fputs("{\"x\": \"01", f);
	fclose(f);
	assert_int_equal(vgmo__journal_read(dir, "j.jsonl", count_line, &n,
	                                    &skipped, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(skipped, 1);
	/* Both files hold complete lines; at most 400 bytes + one line
	 * each, 19 bytes a line. */
	assert_true(n > 20 && n <= 50);
	/* The next line after a torn one is not glued to it: the torn one
	 * alone is lost (the next one used to be lost with it). */
	assert_int_equal(
	        vgmo__journal_append(dir, "j.jsonl", line, 0, err, sizeof(err)),
	        VGMO_OK);
	assert_int_equal(vgmo__journal_read(dir, "j.jsonl", count_line, &after,
	                                    &skipped, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(skipped, 1);
	assert_int_equal(after, n + 1);
	json_decref(line);
}

static void test_audit_line(void **state)
{
	char err[256], path[512], text[512];
	json_t *a = json_integer(4), *b = json_integer(8), *j;
	FILE *f;

	(void)state;
	assert_int_equal(vgmo__audit(dir, 1795000000.0, "api:127.0.0.1",
	                             "batch_size.default", a, b, err,
	                             sizeof(err)),
	                 VGMO_OK);
	snprintf(path, sizeof(path), "%s/%s", dir, VGMO__AUDIT_FILE);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "who")),
	                    "api:127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	                    "2026-11-18T11:06:40Z");
	assert_int_equal(json_integer_value(json_object_get(j, "old")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "new")), 8);
	json_decref(j);
	json_decref(a);
	json_decref(b);
}

static void test_result_json_round_trip(void **state)
{
	vgmo_result r = {0}, back;
	json_t *j;

	(void)state;
	r.success = true;
	snprintf(r.action_taken, sizeof(r.action_taken), "%s",
	         VGMO_ACTION_CRITICAL);
	r.memory_freed_mb = 1234.5;
	r.new_batch_size = 6;
	r.old_batch_size = 9;
	r.gc_performed = true;
	r.timestamp = 1795000000.25;
	snprintf(r.worker, sizeof(r.worker), "default");
	j = vgmo__result_to_json(&r);
	assert_true(json_is_null(json_object_get(j, "error_message")));
	assert_int_equal(vgmo__result_from_json(j, &back, NULL, 0), VGMO_OK);
	assert_memory_equal(&r, &back, sizeof(r));
	json_decref(j);
	/* Unknown is null, not 0. */
	r.memory_freed_mb = -1;
	r.new_batch_size = 0;
	j = vgmo__result_to_json(&r);
	assert_true(json_is_null(json_object_get(j, "memory_freed_mb")));
	assert_true(json_is_null(json_object_get(j, "new_batch_size")));
	json_decref(j);
}

static void test_history_sequence(void **state)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e;
	vgmo_result buf[8], r = {0};
	uint64_t next;
	size_t n;

	(void)state;
	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "none";
	o.history_capacity = 4;
	assert_int_equal(vgmo_engine_create(&e, &c, &o, NULL, 0), VGMO_OK);
	snprintf(r.action_taken, sizeof(r.action_taken), "restored");
	vgmo_engine_history_restore(e, &r);
	assert_int_equal(vgmo_engine_history_since(e, 0, buf, 8, &next), 0);
	assert_int_equal(next, 0);
	for (int i = 0; i < 3; i++)
		vgmo_engine_optimize(e, true, NULL);
	n = vgmo_engine_history_since(e, 0, buf, 2, &next);
	assert_int_equal(n, 2);
	assert_int_equal(next, 2);
	n = vgmo_engine_history_since(e, next, buf, 8, &next);
	assert_int_equal(n, 1);
	assert_int_equal(next, 3);
	/* More than the ring holds: the lost ones are skipped. */
	for (int i = 0; i < 10; i++)
		vgmo_engine_optimize(e, true, NULL);
	n = vgmo_engine_history_since(e, next, buf, 8, &next);
	assert_int_equal(n, 4);
	assert_int_equal(next, 13);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_round_trip, make_dir,
	                                        remove_dir),
	        cmocka_unit_test_setup_teardown(test_missing_is_empty, make_dir,
	                                        remove_dir),
	        cmocka_unit_test_setup_teardown(test_corrupt_is_kept, make_dir,
	                                        remove_dir),
	        cmocka_unit_test_setup_teardown(test_clean_temps, make_dir,
	                                        remove_dir),
	        cmocka_unit_test(test_config_overrides),
	        cmocka_unit_test(test_config_overrides_out_of_range),
	        cmocka_unit_test_setup_teardown(
	                test_journal_rotation_and_torn_line, make_dir,
	                remove_dir),
	        cmocka_unit_test_setup_teardown(test_audit_line, make_dir,
	                                        remove_dir),
	        cmocka_unit_test(test_result_json_round_trip),
	        cmocka_unit_test(test_history_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
