/*
 * test_config.c - defaults, validation, JSON load/save, the environment
 * overlay, set_field and the atomic file helpers.
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

#define ERRLEN 2048

/* ------------------------------------------------------------ helpers */

static void assert_config_equal(const vgmo_config *a, const vgmo_config *b)
{
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->strategy, b->strategy);
	assert_true(a->monitoring_interval == b->monitoring_interval);
	assert_true(a->memory_threshold_warning == b->memory_threshold_warning);
	assert_true(a->memory_threshold_critical ==
	            b->memory_threshold_critical);
	assert_true(a->memory_threshold_oom == b->memory_threshold_oom);
	assert_true(a->temperature_threshold == b->temperature_threshold);
	assert_true(a->optimization_interval == b->optimization_interval);
	assert_true(a->cleanup_interval == b->cleanup_interval);
	assert_int_equal(a->max_batch_size, b->max_batch_size);
	assert_int_equal(a->min_batch_size, b->min_batch_size);
	assert_true(a->memory_reserve_mb == b->memory_reserve_mb);
	assert_true(a->gc_threshold == b->gc_threshold);
	assert_true(a->fragmentation_threshold == b->fragmentation_threshold);
}

/* A valid config that differs from the defaults in every field, so a test
 * can tell "unchanged" from "reset to defaults". */
static void odd_config(vgmo_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = false;
	cfg->strategy = VGMO_STRATEGY_CONSERVATIVE;
	cfg->monitoring_interval = 2.5;
	cfg->memory_threshold_warning = 0.6;
	cfg->memory_threshold_critical = 0.7;
	cfg->memory_threshold_oom = 0.75;
	cfg->temperature_threshold = 85.5;
	cfg->optimization_interval = 30;
	cfg->cleanup_interval = 120;
	cfg->max_batch_size = 12;
	cfg->min_batch_size = 3;
	cfg->memory_reserve_mb = 2048;
	cfg->gc_threshold = 0.5;
	cfg->fragmentation_threshold = 0.2;
}

static void fixture(char *buf, size_t size, const char *name)
{
	const char *src = getenv("VGMO_TEST_SRC");

	snprintf(buf, size, "%s/data/config/%s", src ? src : "tests", name);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

static vgmo_err validate(const vgmo_config *cfg, char *err)
{
	return vgmo_config_validate(cfg, err, ERRLEN);
}

/* A fresh empty directory per test; removed (with its plain files) after. */
typedef struct tmpdir {
	char path[256];
} tmpdir;

static int tmpdir_setup(void **state)
{
	tmpdir *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/vgmo-test-config-XXXXXX",
	         base && *base ? base : "/tmp");
	if (mkdtemp(t->path) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		remove_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int tmpdir_teardown(void **state)
{
	tmpdir *t = *state;

	remove_tree(t->path);
	free(t);
	return 0;
}

/* Entries in `dir` other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
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

/* --------------------------------------------------------------- JSON */

static void test_to_json(void **state)
{
	static const char expected[] = "{\n"
	                               "  \"enabled\": true,\n"
	                               "  \"strategy\": \"balanced\",\n"
	                               "  \"monitoring_interval\": 5.0,\n"
	                               "  \"memory_threshold_warning\": 0.8,\n"
	                               "  \"memory_threshold_critical\": 0.9,\n"
	                               "  \"memory_threshold_oom\": 0.95,\n"
	                               "  \"temperature_threshold\": 80.0,\n"
	                               "  \"optimization_interval\": 60.0,\n"
	                               "  \"cleanup_interval\": 300.0,\n"
	                               "  \"max_batch_size\": 16,\n"
	                               "  \"min_batch_size\": 1,\n"
	                               "  \"memory_reserve_mb\": 1024,\n"
	                               "  \"gc_threshold\": 0.85,\n"
	                               "  \"fragmentation_threshold\": 0.3\n"
	                               "}";
	vgmo_config cfg;
	char *json;

	(void)state;
	vgmo_config_defaults(&cfg);
	json = vgmo_config_to_json(&cfg);
	assert_non_null(json);
	assert_string_equal(json, expected);
	free(json);

	/* Not representable in JSON: written as null. */
	cfg.gc_threshold = NAN;
	json = vgmo_config_to_json(&cfg);
	assert_non_null(json);
	assert_contains(json, "\"gc_threshold\": null,");
	free(json);
	assert_null(vgmo_config_to_json(NULL));
}

static void test_json_round_trip(void **state)
{
	vgmo_config cfg, back;
	char err[ERRLEN];
	char *json;

	(void)state;
	odd_config(&cfg);
	/* Values that need many digits, tiny and huge magnitudes. */
	cfg.memory_threshold_critical = 1.0 / 3.0;
	cfg.memory_threshold_warning = 0.1 * 3.0 / 4.0;
	cfg.memory_threshold_oom = 0.9999999999999999;
	cfg.gc_threshold = 1e-7;
	cfg.fragmentation_threshold = 5e-324; /* smallest subnormal */
	cfg.cleanup_interval = 9999999.875;
	cfg.monitoring_interval = 3599.125;
	cfg.memory_reserve_mb = VGMO_CONFIG_RESERVE_MB_MAX;
	cfg.max_batch_size = VGMO_BATCH_MAX;
	cfg.strategy = VGMO_STRATEGY_ADAPTIVE;
	assert_int_equal(validate(&cfg, err), VGMO_OK);

	json = vgmo_config_to_json(&cfg);
	assert_non_null(json);
	vgmo_config_defaults(&back);
	assert_int_equal(vgmo_config_load_string(&back, json, strlen(json),
	                                         "round trip", err, ERRLEN),
	                 VGMO_OK);
	assert_config_equal(&cfg, &back);
	assert_contains(json, "\"gc_threshold\": 1e-07,");
	assert_contains(json, "\"memory_reserve_mb\": 16777216,");
	free(json);
}

static void test_load_string_subset(void **state)
{
	vgmo_config cfg, expect;
	char err[ERRLEN];
	const char *text =
	        "{\"strategy\": \"aggressive\", \"gc_threshold\": 1, "
	        "\"min_batch_size\": 2}";

	(void)state;
	odd_config(&cfg);
	odd_config(&expect);
	expect.strategy = VGMO_STRATEGY_AGGRESSIVE;
	expect.gc_threshold = 1.0; /* a JSON integer for a double */
	expect.min_batch_size = 2;
	assert_int_equal(vgmo_config_load_string(&cfg, text, strlen(text),
	                                         "request body", err, ERRLEN),
	                 VGMO_OK);
	assert_config_equal(&cfg, &expect);

	/* An empty object changes nothing. */
	assert_int_equal(
	        vgmo_config_load_string(&cfg, "{}", 2, "x", err, ERRLEN),
	        VGMO_OK);
	assert_config_equal(&cfg, &expect);
}

static void test_load_file_valid(void **state)
{
	vgmo_config cfg, expect;
	char path[512];
	char err[ERRLEN];

	(void)state;
	fixture(path, sizeof(path), "valid.json");
	vgmo_config_defaults(&cfg);
	vgmo_config_defaults(&expect);
	expect.strategy = VGMO_STRATEGY_ADAPTIVE;
	expect.memory_threshold_warning = 0.7;
	expect.max_batch_size = 32;
	assert_int_equal(vgmo_config_load_file(&cfg, path, err, ERRLEN),
	                 VGMO_OK);
	assert_config_equal(&cfg, &expect);
}

typedef struct bad_file {
	const char *name;
	vgmo_err code;
	const char *message; /* after "PATH" */
} bad_file;

static const bad_file bad_files[] = {
        {"syntax_error.json", VGMO_ERR_PARSE, ":3:12: '}' expected"},
        {"unknown_key.json", VGMO_ERR_PARSE, ":3:3: unknown key \"foo\""},
        {"wrong_type_integer.json", VGMO_ERR_PARSE,
         ":3:5: key \"max_batch_size\": expected an integer, got a string"},
        {"wrong_type_boolean.json", VGMO_ERR_PARSE,
         ":2:3: key \"enabled\": expected a boolean, got a string"},
        {"wrong_type_number.json", VGMO_ERR_PARSE,
         ":3:3: key \"gc_threshold\": expected a number, got a string"},
        {"wrong_type_string.json", VGMO_ERR_PARSE,
         ":2:3: key \"strategy\": expected a string, got an integer"},
        {"unknown_strategy.json", VGMO_ERR_PARSE,
         ":2:3: key \"strategy\": unknown strategy \"turbo\" (expected "
         "conservative, balanced, aggressive or adaptive)"},
        {"duplicate_key.json", VGMO_ERR_PARSE, ":3:18: duplicate object key"},
        {"trailing_garbage.json", VGMO_ERR_PARSE, ":4:3: end of file expected"},
        {"top_level_array.json", VGMO_ERR_PARSE,
         ":1:1: the top level must be an object, got an array"},
        {"integer_as_real.json", VGMO_ERR_PARSE,
         ":3:3: key \"min_batch_size\": expected an integer, got a real "
         "number"},
        {"cross_field.json", VGMO_ERR_CONFIG,
         ": invalid configuration: memory_threshold_critical: must be greater "
         "than memory_threshold_warning (0.9 <= 0.9)"},
};

static void test_load_file_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const bad_file *b = &bad_files[i];
		vgmo_config cfg, before;
		char path[512], expected[1024];
		char err[ERRLEN] = "";

		fixture(path, sizeof(path), b->name);
		snprintf(expected, sizeof(expected), "%s%s", path, b->message);
		odd_config(&cfg);
		memcpy(&before, &cfg, sizeof(cfg));
		assert_int_equal(vgmo_config_load_file(&cfg, path, err, ERRLEN),
		                 b->code);
		if (strcmp(err, expected) != 0)
			fail_msg("%s: got \"%s\", expected \"%s\"", b->name,
			         err, expected);
		assert_memory_equal(&before, &cfg, sizeof(cfg));
	}
}

static void test_load_string_errors(void **state)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
	        {"{\"max_batch_size\": 3000000000}",
	         "s:1:2: key \"max_batch_size\": integer 3000000000 out of "
	         "range [-2147483648, 2147483647]"},
	        {"{\"max_batch_size\": 4.0}",
	         "s:1:2: key \"max_batch_size\": expected an integer, got a "
	         "real number"},
	        {"{\"memory_reserve_mb\": 1e3}",
	         "s:1:2: key \"memory_reserve_mb\": expected an integer, got a "
	         "real number"},
	        {"{\"memory_reserve_mb\": 99999999999999999999}",
	         "s:1:42: too big integer near '99999999999999999999'"},
	        {"{\"enabled\": 1}",
	         "s:1:2: key \"enabled\": expected a boolean, got an integer"},
	        {"{\"enabled\": null}",
	         "s:1:2: key \"enabled\": expected a boolean, got null"},
	        {"{\"gc_threshold\": true}",
	         "s:1:2: key \"gc_threshold\": expected a number, got a "
	         "boolean"},
	        {"{\"gc_threshold\": [0.5]}",
	         "s:1:2: key \"gc_threshold\": expected a number, got an "
	         "array"},
	        /* The position is that of the offending key, not of an
	         * earlier occurrence of the same text inside a value. */
	        {"{\"x\": {\"enabled\": 1},\n \"enabled\": 2}",
	         "s:1:2: unknown key \"x\""},
	        {"{\"gc_threshold\": 0.5,\n   \"foo\": {\"enabled\": 1}}",
	         "s:2:4: unknown key \"foo\""},
	        {"{\n\"\xc3\xa9t\xc3\xa9\": 1}",
	         "s:2:1: unknown key \"\xc3\xa9t"
	         "\xc3\xa9\""},
	        {"  \"enabled\"", "s:1:11: '[' or '{' expected near "
	                          "'\"enabled\"'"},
	        {"", "s:1:0: '[' or '{' expected near end of file"},
	        {"{\"gc_threshold\": 2}", "s: invalid configuration: "
	                                  "gc_threshold: must be a number from "
	                                  "0 to 1 (got 2)"},
	        /* jansson's edge cases: each refused with where it is. Deep
	         * nesting before jansson recurses (its limit is 2048). */
	        {"{\"gc_threshold\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	         "s:1:49: nesting deeper than 32 levels"},
	        {"[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]",
	         "s:1:1: the top level must be an object, got an array"},
	        {"{\"strategy\": \"bal\\u0000anced\"}",
	         "s:1:29: \\u0000 is not allowed without JSON_ALLOW_NUL near "
	         "'\"bal\\u0000anced\"'"},
	        {"{\"gc_threshold\": 0.5,\n \"gc_threshold\": 0.6}",
	         "s:2:15: duplicate object key near '\"gc_threshold\"'"},
	        {"{\"monitoring_interval\": 1e400}",
	         "s:1:29: real number overflow near '1e400'"},
	        {"{\"memory_reserve_mb\": 9223372036854775808}",
	         "s:1:41: too big integer near '9223372036854775808'"},
	        {"{\"memory_reserve_mb\": -9223372036854775809}",
	         "s:1:42: too big negative integer near "
	         "'-9223372036854775809'"},
	        {"{\"strategy\": \"\xff\"}",
	         "s:1:14: unable to decode byte 0xff near '\"'"},
	        {"{\"strategy\": \"\\ud800\"}",
	         "s:1:21: invalid Unicode '\\uD800' near '\"\\ud800\"'"},
	};
	vgmo_config cfg, before;
	char err[ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		odd_config(&cfg);
		memcpy(&before, &cfg, sizeof(cfg));
		err[0] = '\0';
		assert_int_not_equal(
		        vgmo_config_load_string(&cfg, cases[i].text,
		                                strlen(cases[i].text), "s", err,
		                                ERRLEN),
		        VGMO_OK);
		if (strcmp(err, cases[i].message) != 0)
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i,
			         err, cases[i].message);
		assert_memory_equal(&before, &cfg, sizeof(cfg));
	}

	/* A NUL inside the text is not the end of it. */
	assert_int_equal(
	        vgmo_config_load_string(&cfg, "{}\0{}", 5, "nul", err, ERRLEN),
	        VGMO_ERR_PARSE);
	/* Only `len` bytes are read. */
	assert_int_equal(vgmo_config_load_string(&cfg, "{}garbage", 2, "len",
	                                         err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(
	        vgmo_config_load_string(&cfg, NULL, 0, "null", err, ERRLEN),
	        VGMO_ERR_INVALID);
}

static void test_load_file_missing(void **state)
{
	tmpdir *t = *state;
	vgmo_config cfg, before;
	char path[512], expected[600];
	char err[ERRLEN];

	snprintf(path, sizeof(path), "%s/absent.json", t->path);
	snprintf(expected, sizeof(expected), "%s: %s", path, strerror(ENOENT));
	vgmo_config_defaults(&cfg);
	memcpy(&before, &cfg, sizeof(cfg));
	assert_int_equal(vgmo_config_load_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_string_equal(err, expected);
	assert_memory_equal(&before, &cfg, sizeof(cfg));

	/* A directory is not a config file. */
	assert_int_equal(vgmo_config_load_file(&cfg, t->path, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, strerror(EISDIR));
}

static void test_save_then_load(void **state)
{
	tmpdir *t = *state;
	vgmo_config cfg, back;
	char path[512];
	char err[ERRLEN];
	char *text = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/config.json", t->path);
	odd_config(&cfg);
	cfg.memory_threshold_warning = 0.1 + 0.2;
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(count_entries(t->path), 1); /* no temp file left */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	vgmo_config_defaults(&back);
	assert_int_equal(vgmo_config_load_file(&back, path, err, ERRLEN),
	                 VGMO_OK);
	assert_config_equal(&cfg, &back);

	assert_int_equal(vgmo__read_file(path, 4096, &text, &len, err, ERRLEN),
	                 VGMO_OK);
	assert_true(len > 2);
	assert_int_equal(text[len - 1], '\n');
	assert_int_equal(text[len], '\0');
	free(text);

	/* Replacing keeps the existing file's mode. */
	assert_int_equal(chmod(path, 0600), 0);
	cfg.max_batch_size = 99;
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(vgmo_config_load_file(&back, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(back.max_batch_size, 99);
	assert_int_equal(count_entries(t->path), 1);
}

static void test_save_errors(void **state)
{
	tmpdir *t = *state;
	vgmo_config cfg;
	char path[512], sub[512];
	char err[ERRLEN];
	struct stat st;

	vgmo_config_defaults(&cfg);

	/* Into a directory that does not exist: fails, creates nothing. */
	snprintf(path, sizeof(path), "%s/nope/config.json", t->path);
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, path);
	assert_contains(err, strerror(ENOENT));
	assert_int_equal(count_entries(t->path), 0);

	/* Over a directory: the rename fails, the temp file is removed. */
	snprintf(path, sizeof(path), "%s/taken", t->path);
	snprintf(sub, sizeof(sub), "%s/taken/inside", t->path);
	assert_int_equal(mkdir(path, 0755), 0);
	write_text(sub, "keep");
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, path);
	assert_int_equal(count_entries(t->path), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* An invalid config is not saved. */
	snprintf(path, sizeof(path), "%s/invalid.json", t->path);
	cfg.min_batch_size = 0;
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_CONFIG);
	assert_contains(err, "min_batch_size: must be at least 1");
	assert_int_equal(count_entries(t->path), 1);
}

/* ------------------------------------------------------ file helpers */

static void test_read_file_limits(void **state)
{
	tmpdir *t = *state;
	char path[512];
	char err[ERRLEN];
	char *text = NULL;
	size_t len = 99;

	snprintf(path, sizeof(path), "%s/ten", t->path);
	write_text(path, "0123456789");
	assert_int_equal(vgmo__read_file(path, 10, &text, &len, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);

	text = (char *)1;
	assert_int_equal(vgmo__read_file(path, 9, &text, &len, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_null(text);
	assert_int_equal(len, 0);
	assert_contains(err, path);
	assert_contains(err, "larger than the limit of 9 bytes");

	/* Files whose size stat does not know are capped while reading. */
	assert_int_equal(vgmo__read_file("/proc/self/status", 16, &text, &len,
	                                 err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, "larger than the limit of 16 bytes");

	snprintf(path, sizeof(path), "%s/empty", t->path);
	write_text(path, "");
	assert_int_equal(vgmo__read_file(path, 0, &text, NULL, err, ERRLEN),
	                 VGMO_OK);
	assert_string_equal(text, "");
	free(text);
}

static void test_write_file_atomic(void **state)
{
	tmpdir *t = *state;
	char path[512];
	char err[ERRLEN];
	char *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/data", t->path);
	write_text(path, "old contents");
	assert_int_equal(vgmo__write_file_atomic(path, "new", 3, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(vgmo__read_file(path, 100, &text, &len, err, ERRLEN),
	                 VGMO_OK);
	assert_string_equal(text, "new");
	free(text);
	assert_int_equal(count_entries(t->path), 1);

	/* An empty path is refused. */
	assert_int_equal(vgmo__write_file_atomic("", "x", 1, err, ERRLEN),
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
	        cmocka_unit_test(test_set_field),
	        cmocka_unit_test(test_to_json),
	        cmocka_unit_test(test_json_round_trip),
	        cmocka_unit_test(test_load_string_subset),
	        cmocka_unit_test(test_load_file_valid),
	        cmocka_unit_test(test_load_file_errors),
	        cmocka_unit_test(test_load_string_errors),
	        cmocka_unit_test_setup_teardown(test_load_file_missing,
	                                        tmpdir_setup, tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_save_then_load,
	                                        tmpdir_setup, tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_save_errors, tmpdir_setup,
	                                        tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_read_file_limits,
	                                        tmpdir_setup, tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_write_file_atomic,
	                                        tmpdir_setup, tmpdir_teardown),
	        cmocka_unit_test(test_env_overlay),
	        cmocka_unit_test(test_env_after_file),
	        cmocka_unit_test(test_env_errors),
	        cmocka_unit_test(test_env_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
