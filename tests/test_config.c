/*
 * test_config.c - "did you mean", defaults and field flags, validation and
 * the strategies (JSON and files: test_config_json.c, test_config_file.c;
 * set_field and the environment: test_config_env.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_fields.h"
#include "suggest.h"
#include "util.h"
#include "vgmo/vgmo.h"

#include "test_config_util.h"

/* "did you mean": edit distance, the thresholds, the nearest key. */
static void test_suggest(void **state)
{
	vgmo__suggestion s;

	(void)state;
	assert_int_equal(vgmo__edit_distance("stauts", "status"), 1);
	assert_int_equal(vgmo__edit_distance("Status", "status"), 0);
	assert_int_equal(vgmo__edit_distance("", "abc"), 3);
	assert_int_equal(vgmo__edit_distance("kitten", "sitting"), 3);
	assert_string_equal(vgmo__config_key_suggest("max_batch_sise"),
	                    "max_batch_size");
	assert_string_equal(vgmo__config_key_suggest("strategie"), "strategy");
	assert_null(vgmo__config_key_suggest("colour"));
	/* Short words allow one edit only; the nearest wins. */
	vgmo__suggest_init(&s, "opt");
	vgmo__suggest_consider(&s, "plan");
	assert_null(s.best);
	vgmo__suggest_consider(&s, "opts");
	assert_string_equal(s.best, "opts");
	vgmo__suggest_init(&s, "serv");
	vgmo__suggest_consider(&s, "server");
	vgmo__suggest_consider(&s, "serve");
	assert_string_equal(s.best, "serve");
}

/* ----------------------------------------------------------- defaults */

/* Every field has a flag: positions 0..N-1 each once, names unique, and the
 * help line's default is the one vgmo_config_defaults() sets. */
static void test_field_flags(void **state)
{
	bool seen[VGMO_CONFIG_FIELD_COUNT] = {false};
	char help[128];

	(void)state;
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++) {
		const vgmo__config_field *f = &vgmo__config_fields[i];

		assert_non_null(f->flag);
		assert_non_null(f->metavar);
		assert_true(f->flag_pos >= 0 &&
		            f->flag_pos < VGMO_CONFIG_FIELD_COUNT);
		assert_false(seen[f->flag_pos]);
		seen[f->flag_pos] = true;
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(f->flag,
			                        vgmo__config_fields[j].flag);
	}
	vgmo__config_field_help(
	        vgmo__config_field_find("memory_threshold_warning", 24), help,
	        sizeof(help));
	assert_string_equal(help,
	                    "memory_threshold_warning, 0..1 (default 0.80)");
	vgmo__config_field_help(
	        vgmo__config_field_find("memory_reserve_mb", 17), help,
	        sizeof(help));
	assert_string_equal(help, "memory_reserve_mb, MiB (default 1024)");
	vgmo__config_field_help(vgmo__config_field_find("enabled", 7), help,
	                        sizeof(help));
	assert_string_equal(help, "enabled: optimize at all (default true)");
	vgmo__config_field_help(vgmo__config_field_find("cleanup_interval", 16),
	                        help, sizeof(help));
	assert_string_equal(help, "cleanup_interval, seconds (default 300)");
}

static void test_defaults(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	assert_true(cfg.enabled);
	assert_int_equal(cfg.strategy, VGMO_STRATEGY_BALANCED);
	assert_true(cfg.monitoring_interval == 5.0);
	assert_true(cfg.memory_threshold_warning == 0.8);
	assert_true(cfg.memory_threshold_critical == 0.9);
	assert_true(cfg.memory_threshold_oom == 0.95);
	assert_true(cfg.temperature_threshold == 80.0);
	assert_true(cfg.optimization_interval == 60.0);
	assert_true(cfg.cleanup_interval == 300.0);
	assert_int_equal(cfg.max_batch_size, 16);
	assert_int_equal(cfg.min_batch_size, 1);
	assert_true(cfg.memory_reserve_mb == 1024);
	assert_true(cfg.gc_threshold == 0.85);
	assert_true(cfg.fragmentation_threshold == 0.3);
	assert_int_equal(validate(&cfg, err), VGMO_OK);
	vgmo_config_defaults(NULL); /* tolerated */
}

/* --------------------------------------------------------- validation */

static void test_validate_threshold_bounds(void **state)
{
	double *fields[5];
	const char *names[5] = {"memory_threshold_warning",
	                        "memory_threshold_critical",
	                        "memory_threshold_oom", "gc_threshold",
	                        "fragmentation_threshold"};
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	/* 0 and 1 are inside. */
	vgmo_config_defaults(&cfg);
	cfg.memory_threshold_warning = 0.0;
	cfg.memory_threshold_critical = 0.5;
	cfg.memory_threshold_oom = 1.0;
	cfg.gc_threshold = 0.0;
	cfg.fragmentation_threshold = 1.0;
	assert_int_equal(validate(&cfg, err), VGMO_OK);
	cfg.gc_threshold = 1.0;
	cfg.fragmentation_threshold = 0.0;
	assert_int_equal(validate(&cfg, err), VGMO_OK);

	/* Just outside, each on its own. */
	for (size_t i = 0; i < 5; i++) {
		const double bad[] = {-0.01, 1.01, NAN, INFINITY, -INFINITY};

		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			vgmo_config_defaults(&cfg);
			fields[0] = &cfg.memory_threshold_warning;
			fields[1] = &cfg.memory_threshold_critical;
			fields[2] = &cfg.memory_threshold_oom;
			fields[3] = &cfg.gc_threshold;
			fields[4] = &cfg.fragmentation_threshold;
			*fields[i] = bad[j];
			assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
			assert_true(strncmp(err, names[i], strlen(names[i])) ==
			            0);
			assert_contains(err, "must be a number from 0 to 1");
		}
	}
}

static void test_validate_threshold_order(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	cfg.memory_threshold_warning = 0.9; /* == critical */
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "memory_threshold_critical: must be greater "
	                         "than memory_threshold_warning (0.9 <= 0.9)");

	vgmo_config_defaults(&cfg);
	cfg.memory_threshold_oom = 0.9; /* == critical */
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "memory_threshold_oom: must be greater than "
	                         "memory_threshold_critical (0.9 <= 0.9)");

	vgmo_config_defaults(&cfg);
	cfg.memory_threshold_warning = 0.95; /* above critical */
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_contains(err, "memory_threshold_critical: must be greater");

	/* Critical out of range: warning vs oom still checked. */
	vgmo_config_defaults(&cfg);
	cfg.memory_threshold_critical = NAN;
	cfg.memory_threshold_warning = 0.97;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_contains(err, "memory_threshold_critical: must be a number");
	assert_contains(err, "memory_threshold_oom: must be greater than "
	                     "memory_threshold_warning");
}

static void test_validate_batch_sizes(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	cfg.min_batch_size = cfg.max_batch_size = 8; /* min == max */
	assert_int_equal(validate(&cfg, err), VGMO_OK);
	cfg.min_batch_size = cfg.max_batch_size = 1;
	assert_int_equal(validate(&cfg, err), VGMO_OK);

	vgmo_config_defaults(&cfg);
	cfg.min_batch_size = 0;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "min_batch_size: must be at least 1 (got 0)");

	vgmo_config_defaults(&cfg);
	cfg.min_batch_size = 9;
	cfg.max_batch_size = 8;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "max_batch_size: must be at least "
	                         "min_batch_size (8 < 9)");

	vgmo_config_defaults(&cfg);
	cfg.max_batch_size = 0;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "max_batch_size: must be at least 1 (got 0)");
}

static void test_validate_intervals(void **state)
{
	const char *names[] = {"monitoring_interval", "optimization_interval",
	                       "cleanup_interval", "temperature_threshold"};
	const double bad[] = {0.0, -1.0, NAN, INFINITY};
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 4; j++) {
			double *f[4];

			vgmo_config_defaults(&cfg);
			f[0] = &cfg.monitoring_interval;
			f[1] = &cfg.optimization_interval;
			f[2] = &cfg.cleanup_interval;
			f[3] = &cfg.temperature_threshold;
			*f[i] = bad[j];
			assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
			assert_true(strncmp(err, names[i], strlen(names[i])) ==
			            0);
			assert_contains(err, "greater than 0");
		}
	}
	/* Each at its bounds, and just past them. */
	vgmo_config_defaults(&cfg);
	cfg.monitoring_interval = VGMO_CONFIG_INTERVAL_MIN;
	cfg.optimization_interval = VGMO_CONFIG_INTERVAL_MAX;
	cfg.cleanup_interval = VGMO_CONFIG_INTERVAL_MIN;
	cfg.temperature_threshold = VGMO_CONFIG_TEMPERATURE_MAX;
	assert_int_equal(validate(&cfg, err), VGMO_OK);
	cfg.monitoring_interval = 1e-9; /* the loop would spin */
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "monitoring_interval: must be at least 0.1 "
	                         "(got 1e-09)");
	vgmo_config_defaults(&cfg);
	cfg.monitoring_interval = 3601;
	cfg.optimization_interval = 1e300;
	cfg.cleanup_interval = 0.05;
	cfg.temperature_threshold = 0.5;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(
	        err, "monitoring_interval: must be at most 3600 (got 3601); "
	             "temperature_threshold: must be at least 1 (got 0.5); "
	             "optimization_interval: must be at most 1e+07 (got "
	             "1e+300); cleanup_interval: must be at least 0.1 (got "
	             "0.05)");
}

/* Every integer field at INT_MAX (INT64_MAX for the 64-bit one) is refused
 * with its range, and accepted at the top of it. */
static void test_validate_integers_at_max(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	cfg.max_batch_size = INT_MAX;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "max_batch_size: must be at most 1000000 "
	                         "(got 2147483647)");
	vgmo_config_defaults(&cfg);
	cfg.min_batch_size = INT_MAX;
	cfg.max_batch_size = INT_MAX;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "max_batch_size: must be at most 1000000 "
	                         "(got 2147483647); min_batch_size: must be "
	                         "at most 1000000 (got 2147483647)");
	vgmo_config_defaults(&cfg);
	cfg.memory_reserve_mb = INT64_MAX;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "memory_reserve_mb: must be at most 16777216 "
	                         "(got 9223372036854775807)");
	vgmo_config_defaults(&cfg);
	cfg.min_batch_size = cfg.max_batch_size = VGMO_BATCH_MAX;
	cfg.memory_reserve_mb = VGMO_CONFIG_RESERVE_MB_MAX;
	assert_int_equal(validate(&cfg, err), VGMO_OK);
}

static void test_validate_reserve_and_strategy(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	cfg.memory_reserve_mb = 0;
	assert_int_equal(validate(&cfg, err), VGMO_OK);
	cfg.memory_reserve_mb = -1;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "memory_reserve_mb: must be at least 0 "
	                         "(got -1)");

	vgmo_config_defaults(&cfg);
	cfg.strategy = (vgmo_strategy)7;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(err, "strategy: unknown strategy 7");

	assert_int_equal(vgmo_config_validate(NULL, err, ERRLEN),
	                 VGMO_ERR_INVALID);
}

static void test_validate_reports_all(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];
	char small[40];

	(void)state;
	vgmo_config_defaults(&cfg);
	cfg.monitoring_interval = 0;
	cfg.gc_threshold = 1.5;
	cfg.min_batch_size = 0;
	cfg.fragmentation_threshold = NAN;
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);
	assert_string_equal(
	        err, "monitoring_interval: must be a finite number greater "
	             "than 0 (got 0); min_batch_size: must be at least 1 (got "
	             "0); gc_threshold: must be a number from 0 to 1 (got "
	             "1.5); fragmentation_threshold: must be a number from 0 "
	             "to 1 (got nan)");

	/* A short buffer is cut, still terminated; NULL is fine. */
	assert_int_equal(vgmo_config_validate(&cfg, small, sizeof(small)),
	                 VGMO_ERR_CONFIG);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(vgmo_config_validate(&cfg, NULL, 0), VGMO_ERR_CONFIG);
}

/* --------------------------------------------------------- strategies */

static void test_strategy_names(void **state)
{
	const char *names[] = {"conservative", "balanced", "aggressive",
	                       "adaptive"};
	vgmo_strategy s;

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_string_equal(vgmo_strategy_name((vgmo_strategy)i),
		                    names[i]);
		assert_int_equal(vgmo_strategy_parse(names[i], &s), VGMO_OK);
		assert_int_equal(s, i);
	}
	assert_string_equal(vgmo_strategy_name((vgmo_strategy)42), "unknown");
	assert_int_equal(vgmo_strategy_parse("Balanced", &s), VGMO_ERR_INVALID);
	assert_int_equal(vgmo_strategy_parse("", &s), VGMO_ERR_INVALID);
	assert_int_equal(vgmo_strategy_parse(NULL, &s), VGMO_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_suggest),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_field_flags),
	        cmocka_unit_test(test_validate_threshold_bounds),
	        cmocka_unit_test(test_validate_threshold_order),
	        cmocka_unit_test(test_validate_batch_sizes),
	        cmocka_unit_test(test_validate_intervals),
	        cmocka_unit_test(test_validate_integers_at_max),
	        cmocka_unit_test(test_validate_reserve_and_strategy),
	        cmocka_unit_test(test_validate_reports_all),
	        cmocka_unit_test(test_strategy_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
