/*
 * test_config_json.c - the config as JSON: rendering, round trips, subsets,
 * valid and broken files and strings, a missing file.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_to_json),
	        cmocka_unit_test(test_json_round_trip),
	        cmocka_unit_test(test_load_string_subset),
	        cmocka_unit_test(test_load_file_valid),
	        cmocka_unit_test(test_load_file_errors),
	        cmocka_unit_test(test_load_string_errors),
	        cmocka_unit_test_setup_teardown(test_load_file_missing,
	                                        tmpdir_setup, tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
