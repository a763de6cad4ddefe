/*
 * test_config_env.c - fields by name: set_field and the environment
 * overlay (alone, after a file, its errors, the process environment).
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

/* ---------------------------------------------------------- set_field */

static void test_set_field(void **state)
{
	vgmo_config cfg, before;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "enabled", "false", err, ERRLEN),
	        VGMO_OK);
	assert_false(cfg.enabled);
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "enabled", "1", err, ERRLEN),
	        VGMO_OK);
	assert_true(cfg.enabled);
	assert_int_equal(vgmo_config_set_field(&cfg, "strategy", "aggressive",
	                                       err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(cfg.strategy, VGMO_STRATEGY_AGGRESSIVE);
	assert_int_equal(vgmo_config_set_field(&cfg, "memory_threshold_warning",
	                                       "0.75", err, ERRLEN),
	                 VGMO_OK);
	assert_true(cfg.memory_threshold_warning == 0.75);
	assert_int_equal(vgmo_config_set_field(&cfg, "cleanup_interval", "1e3",
	                                       err, ERRLEN),
	                 VGMO_OK);
	assert_true(cfg.cleanup_interval == 1000.0);
	assert_int_equal(vgmo_config_set_field(&cfg, "max_batch_size", "+32",
	                                       err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(cfg.max_batch_size, 32);
	assert_int_equal(vgmo_config_set_field(&cfg, "memory_reserve_mb",
	                                       "9000000000", err, ERRLEN),
	                 VGMO_OK);
	assert_true(cfg.memory_reserve_mb == INT64_C(9000000000));

	/* set_field does not check cross-field rules. */
	assert_int_equal(vgmo_config_set_field(&cfg, "min_batch_size", "64",
	                                       err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(validate(&cfg, err), VGMO_ERR_CONFIG);

	memcpy(&before, &cfg, sizeof(cfg));
	assert_int_equal(vgmo_config_set_field(&cfg, "foo", "1", err, ERRLEN),
	                 VGMO_ERR_INVALID);
	assert_string_equal(err, "unknown key \"foo\"");
	assert_int_equal(vgmo_config_set_field(&cfg, "max_batch_size", "4.5",
	                                       err, ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_string_equal(err, "key \"max_batch_size\": expected an integer, "
	                         "got \"4.5\"");
	assert_int_equal(vgmo_config_set_field(&cfg, "max_batch_size",
	                                       "3000000000", err, ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_contains(err, "out of range");
	assert_int_equal(vgmo_config_set_field(&cfg, "memory_reserve_mb",
	                                       "99999999999999999999", err,
	                                       ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_contains(err, "out of range");
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "gc_threshold", "nan", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_string_equal(err, "key \"gc_threshold\": expected a number, got "
	                         "\"nan\"");
	assert_int_equal(vgmo_config_set_field(&cfg, "gc_threshold", "1e999",
	                                       err, ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_contains(err, "number out of range");
	assert_int_equal(vgmo_config_set_field(&cfg, "gc_threshold", " 0.5",
	                                       err, ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_int_equal(vgmo_config_set_field(&cfg, "gc_threshold", "0.5x",
	                                       err, ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_int_equal(vgmo_config_set_field(&cfg, "gc_threshold", "0x1p-1",
	                                       err, ERRLEN),
	                 VGMO_ERR_PARSE);
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "gc_threshold", "-", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "gc_threshold", "1e", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "gc_threshold", "", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_string_equal(err, "key \"gc_threshold\": empty value");
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "enabled", "yes", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_string_equal(err, "key \"enabled\": expected true, false, 1 or "
	                         "0, got \"yes\"");
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "strategy", "turbo", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_contains(err, "expected conservative, balanced, aggressive or "
	                     "adaptive, got \"turbo\"");
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "strategy", "x\"\n", err, ERRLEN),
	        VGMO_ERR_PARSE);
	assert_contains(err, "got \"x\\\"\\x0a\""); /* escaped in messages */
	assert_memory_equal(&before, &cfg, sizeof(cfg));

	assert_int_equal(
	        vgmo_config_set_field(NULL, "enabled", "1", err, ERRLEN),
	        VGMO_ERR_INVALID);
	assert_int_equal(
	        vgmo_config_set_field(&cfg, "enabled", NULL, err, ERRLEN),
	        VGMO_ERR_INVALID);
}

/* ------------------------------------------------------- environment */

static void test_env_overlay(void **state)
{
	const char *const env[] = {
	        "PATH=/usr/bin",
	        "VGMO_MEMORY_THRESHOLD_WARNING=0.75",
	        "VGMO_ENABLED=false",
	        "VGMO_STRATEGY=adaptive",
	        "VGMO_MAX_BATCH_SIZE=24",
	        "VGMO_MEMORY_RESERVE_MB=0",
	        "VGMO_NVML_LIBRARY=/nope/libnvidia-ml.so.1", /* not a field */
	        "VGMO_SERVER=",          /* not a field, even empty */
	        "VGMO_enabled=garbage",  /* lowercase: not a field */
	        "VGMO_MAX_BATCH=abc",    /* a prefix of a field */
	        "VGMO_MAX_BATCH_SIZE=2", /* second definition: ignored */
	        "VGMO_NO_EQUALS",
	        NULL,
	};
	vgmo_config cfg, expect;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	vgmo_config_defaults(&expect);
	expect.memory_threshold_warning = 0.75;
	expect.enabled = false;
	expect.strategy = VGMO_STRATEGY_ADAPTIVE;
	expect.max_batch_size = 24;
	expect.memory_reserve_mb = 0;
	assert_int_equal(vgmo_config_apply_env(&cfg, env, err, ERRLEN),
	                 VGMO_OK);
	assert_config_equal(&cfg, &expect);

	/* No VGMO_ variables: nothing changes. */
	{
		const char *const none[] = {"HOME=/root", NULL};

		assert_int_equal(vgmo_config_apply_env(&cfg, none, err, ERRLEN),
		                 VGMO_OK);
		assert_config_equal(&cfg, &expect);
	}
}

static void test_env_after_file(void **state)
{
	const char *const env[] = {"VGMO_MAX_BATCH_SIZE=8",
	                           "VGMO_MEMORY_THRESHOLD_WARNING=0.5", NULL};
	vgmo_config cfg;
	char path[512];
	char err[ERRLEN];

	(void)state;
	fixture(path, sizeof(path), "valid.json"); /* max 32, warning 0.7 */
	vgmo_config_defaults(&cfg);
	assert_int_equal(vgmo_config_load_file(&cfg, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(vgmo_config_apply_env(&cfg, env, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(cfg.max_batch_size, 8);                /* env wins */
	assert_true(cfg.memory_threshold_warning == 0.5);       /* env wins */
	assert_int_equal(cfg.strategy, VGMO_STRATEGY_ADAPTIVE); /* file */
}

static void test_env_errors(void **state)
{
	static const struct {
		const char *entry;
		vgmo_err code;
		const char *message;
	} cases[] = {
	        {"VGMO_MAX_BATCH_SIZE=abc", VGMO_ERR_PARSE,
	         "environment variable VGMO_MAX_BATCH_SIZE: expected an "
	         "integer, got \"abc\""},
	        {"VGMO_MIN_BATCH_SIZE=2 ", VGMO_ERR_PARSE,
	         "environment variable VGMO_MIN_BATCH_SIZE: expected an "
	         "integer, got \"2 \""},
	        {"VGMO_GC_THRESHOLD=", VGMO_ERR_PARSE,
	         "environment variable VGMO_GC_THRESHOLD: empty value"},
	        {"VGMO_GC_THRESHOLD=inf", VGMO_ERR_PARSE,
	         "environment variable VGMO_GC_THRESHOLD: expected a number, "
	         "got \"inf\""},
	        {"VGMO_ENABLED=TRUE", VGMO_ERR_PARSE,
	         "environment variable VGMO_ENABLED: expected true, false, 1 "
	         "or 0, got \"TRUE\""},
	        {"VGMO_STRATEGY=fast", VGMO_ERR_PARSE,
	         "environment variable VGMO_STRATEGY: expected conservative, "
	         "balanced, aggressive or adaptive, got \"fast\""},
	        {"VGMO_MEMORY_THRESHOLD_OOM=0.85", VGMO_ERR_CONFIG,
	         "environment: invalid configuration: memory_threshold_oom: "
	         "must be greater than memory_threshold_critical (0.85 <= "
	         "0.9)"},
	};
	vgmo_config cfg, before;
	char err[ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A good variable before the bad one is not applied either. */
		const char *const env[] = {"VGMO_MONITORING_INTERVAL=1",
		                           cases[i].entry, NULL};

		vgmo_config_defaults(&cfg);
		memcpy(&before, &cfg, sizeof(cfg));
		assert_int_equal(vgmo_config_apply_env(&cfg, env, err, ERRLEN),
		                 cases[i].code);
		assert_string_equal(err, cases[i].message);
		assert_memory_equal(&before, &cfg, sizeof(cfg));
	}
}

static void test_env_process(void **state)
{
	vgmo_config cfg;
	char err[ERRLEN];

	(void)state;
	vgmo_config_defaults(&cfg);
	assert_int_equal(setenv("VGMO_CLEANUP_INTERVAL", "42.5", 1), 0);
	assert_int_equal(setenv("VGMO_NVML_LIBRARY", "/x/libnvidia-ml.so", 1),
	                 0);
	assert_int_equal(vgmo_config_apply_env(&cfg, NULL, err, ERRLEN),
	                 VGMO_OK);
	assert_true(cfg.cleanup_interval == 42.5);
	assert_int_equal(unsetenv("VGMO_CLEANUP_INTERVAL"), 0);
	assert_int_equal(unsetenv("VGMO_NVML_LIBRARY"), 0);
	assert_int_equal(vgmo_config_apply_env(NULL, NULL, err, ERRLEN),
	                 VGMO_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_set_field),
	        cmocka_unit_test(test_env_overlay),
	        cmocka_unit_test(test_env_after_file),
	        cmocka_unit_test(test_env_errors),
	        cmocka_unit_test(test_env_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
