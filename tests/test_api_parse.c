/*
 * test_api_parse.c - strict parsing of the API's request bodies
 * (src/daemon/api_parse.c): malformed JSON with line and column, wrong types
 * and unknown or duplicate keys naming the field, deep nesting and NUL bytes
 * refused before jansson, the batch-size range, ?limit=, and the field
 * taken from configuration errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_parse.h"

static void want_error(vgmo_err rc, const api_error *e, unsigned status,
                       const char *field, const char *fragment)
{
	if (rc == VGMO_OK)
		fail_msg("accepted; wanted an error containing \"%s\"",
		         fragment);
	assert_int_equal(e->status, status);
	if (strcmp(e->field, field) != 0)
		fail_msg("field \"%s\", want \"%s\" (%s)", e->field, field,
		         e->message);
	if (strstr(e->message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e->message, fragment);
}

static vgmo_err batch(const char *body, int *size, api_error *e)
{
	return api_parse_batch_size(body, strlen(body), 1, 16, size, e);
}

static void test_batch_size_valid(void **state)
{
	api_error e;
	int n = -1;

	(void)state;
	assert_int_equal(batch("{\"batch_size\": 8}", &n, &e), VGMO_OK);
	assert_int_equal(n, 8);
	assert_int_equal(batch(" {\"batch_size\":16}\n", &n, &e), VGMO_OK);
	assert_int_equal(n, 16);
	assert_int_equal(batch("{\"batch_size\": 1}", &n, &e), VGMO_OK);
	assert_int_equal(n, 1);
	assert_int_equal(batch("{\"batch_size\": null}", &n, &e), VGMO_OK);
	assert_int_equal(n, 0);
	n = 5;
	assert_int_equal(batch("{\"batch_size\": 0}", &n, &e), VGMO_OK);
	assert_int_equal(n, 0);
}

static void test_batch_size_range(void **state)
{
	api_error e;
	int n = 3;

	(void)state;
	want_error(batch("{\"batch_size\": 17}", &n, &e), &e, 400, "batch_size",
	           "request body:1:2: key \"batch_size\": 17 is "
	           "outside [1, 16]");
	want_error(batch("{\"batch_size\": -1}", &n, &e), &e, 400, "batch_size",
	           "outside [1, 16]");
	want_error(batch("{\"batch_size\": 99999999999999999}", &n, &e), &e,
	           400, "batch_size", "outside");
	assert_int_equal(n, 3); /* untouched on error */
}

static void test_wrong_type(void **state)
{
	api_error e;
	int n = 0;

	(void)state;
	want_error(batch("{\n  \"batch_size\": \"8\"\n}", &n, &e), &e, 400,
	           "batch_size",
	           "request body:2:3: key \"batch_size\": expected an "
	           "integer or null, got a string");
	want_error(batch("{\"batch_size\": 8.0}", &n, &e), &e, 400,
	           "batch_size", "got a real number");
	want_error(batch("{\"batch_size\": true}", &n, &e), &e, 400,
	           "batch_size", "got a boolean");
	want_error(batch("{\"batch_size\": [8]}", &n, &e), &e, 400,
	           "batch_size", "got an array");
}

static void test_unknown_and_missing_keys(void **state)
{
	api_error e;
	int n = 0;

	(void)state;
	want_error(batch("{\"batch_size\": 8, \"bacth\": 1}", &n, &e), &e, 400,
	           "bacth", "request body:1:19: unknown key \"bacth\"");
	want_error(batch("{}", &n, &e), &e, 400, "batch_size",
	           "key \"batch_size\" is required");
	want_error(batch("[8]", &n, &e), &e, 400, "",
	           "the top level must be an object, got an array");
	want_error(batch("8", &n, &e), &e, 400, "", "request body:1:1:");
}

static void test_malformed(void **state)
{
	api_error e;
	int n = 0;

	(void)state;
	want_error(batch("{\"batch_size\": 8", &n, &e), &e, 400, "",
	           "request body:1:");
	want_error(batch("{\n\"batch_size\" 8}", &n, &e), &e, 400, "",
	           "request body:2:");
	want_error(batch("{\"batch_size\": 8} x", &n, &e), &e, 400, "",
	           "request body:1:");
	want_error(batch("", &n, &e), &e, 400, "", "request body:");
	/* the column jansson reports, on the right line */
	want_error(batch("{\n\n   \"batch_size\": 8,,\n}", &n, &e), &e, 400, "",
	           "request body:3:");
}

static void test_duplicate_key(void **state)
{
	api_error e;
	int n = 0;

	(void)state;
	want_error(batch("{\"batch_size\": 8, \"batch_size\": 9}", &n, &e), &e,
	           400, "batch_size", "duplicate");
}

static void test_nul_refused(void **state)
{
	const char body[] = "{\"batch_size\":\n 8\0}";
	api_error e;
	int n = 0;

	(void)state;
	want_error(api_parse_batch_size(body, sizeof(body) - 1, 1, 16, &n, &e),
	           &e, 400, "", "request body:2:3: NUL byte");
	/* an escaped NUL inside a string is refused by jansson itself */
	want_error(batch("{\"batch\\u0000_size\": 8}", &n, &e), &e, 400, "",
	           "request body:1:");
}

static void test_deep_nesting(void **state)
{
	char body[200];
	api_error e;
	json_t *j = NULL;
	size_t i, n = 0;

	(void)state;
	/* 32 levels: accepted by the precheck */
	body[n++] = '{';
	memcpy(body + n, "\"a\":", 4);
	n += 4;
	for (i = 0; i < 31; i++)
		body[n++] = '[';
	for (i = 0; i < 31; i++)
		body[n++] = ']';
	body[n++] = '}';
	body[n] = '\0';
	assert_int_equal(api_parse_precheck(body, n, &e), VGMO_OK);
	assert_int_equal(api_parse_object(body, n, &j, &e), VGMO_OK);
	json_decref(j);

	/* 33 levels: refused, at the 33rd bracket */
	n = 0;
	body[n++] = '{';
	memcpy(body + n, "\"a\":", 4);
	n += 4;
	for (i = 0; i < 32; i++)
		body[n++] = '[';
	for (i = 0; i < 32; i++)
		body[n++] = ']';
	body[n++] = '}';
	body[n] = '\0';
	want_error(api_parse_object(body, n, &j, &e), &e, 400, "",
	           "request body:1:37: nesting deeper than 32 levels");
	assert_null(j);

	/* brackets inside strings do not count */
	memset(body, '[', 100);
	memcpy(body, "{\"a\": \"", 7);
	memcpy(body + 100, "\\\"\"}", 5);
	body[104] = '\0';
	if (api_parse_precheck(body, 104, &e) != VGMO_OK)
		fail_msg("%s", e.message);
}

static void test_no_body(void **state)
{
	api_error e;

	(void)state;
	assert_int_equal(api_parse_no_body("", 0, &e), VGMO_OK);
	assert_int_equal(api_parse_no_body(" \r\n", 3, &e), VGMO_OK);
	assert_int_equal(api_parse_no_body("{}", 2, &e), VGMO_OK);
	want_error(api_parse_no_body("{\"force\":true}", 14, &e), &e, 400,
	           "force", "unknown key \"force\"");
	want_error(api_parse_no_body("{", 1, &e), &e, 400, "",
	           "request body:1:");
}

static void test_limit(void **state)
{
	api_error e;
	int n = 0;

	(void)state;
	assert_int_equal(api_parse_limit(NULL, 100, 10000, &n, &e), VGMO_OK);
	assert_int_equal(n, 100);
	assert_int_equal(api_parse_limit("5", 100, 10000, &n, &e), VGMO_OK);
	assert_int_equal(n, 5);
	assert_int_equal(api_parse_limit("10000", 100, 10000, &n, &e), VGMO_OK);
	want_error(api_parse_limit("0", 100, 10000, &n, &e), &e, 400, "limit",
	           "1..10000");
	want_error(api_parse_limit("10001", 100, 10000, &n, &e), &e, 400,
	           "limit", "1..10000");
	want_error(api_parse_limit("5x", 100, 10000, &n, &e), &e, 400, "limit",
	           "\"5x\"");
	want_error(api_parse_limit("-5", 100, 10000, &n, &e), &e, 400, "limit",
	           "");
	want_error(api_parse_limit("", 100, 10000, &n, &e), &e, 400, "limit",
	           "");
}

/* The config loader's messages, turned into errors naming the field. */
static void test_config_errors(void **state)
{
	vgmo_config cfg;
	char err[1024];
	api_error e;
	vgmo_err rc;
	const char *wrong = "{\"max_batch_size\": \"big\"}";
	const char *unknown = "{\"max_batch\": 3}";
	const char *one = "{\"memory_threshold_warning\": 0.99}";
	const char *two = "{\"min_batch_size\": 9, \"max_batch_size\": 4, "
	                  "\"memory_threshold_oom\": 2}";
	const char *nul = "{\"strategy\": \"bal\\u0000anced\"}";
	const char *dup = "{\"max_batch_size\": 8, \"max_batch_size\": 9}";

	(void)state;
	vgmo_config_defaults(&cfg);
	rc = vgmo_config_load_string(&cfg, wrong, strlen(wrong), API_SOURCE,
	                             err, sizeof(err));
	api_error_from_config(&e, rc, err);
	want_error(rc, &e, 400, "max_batch_size", "request body:1:2:");

	rc = vgmo_config_load_string(&cfg, unknown, strlen(unknown), API_SOURCE,
	                             err, sizeof(err));
	api_error_from_config(&e, rc, err);
	want_error(rc, &e, 400, "max_batch", "unknown key");

	rc = vgmo_config_load_string(&cfg, one, strlen(one), API_SOURCE, err,
	                             sizeof(err));
	api_error_from_config(&e, rc, err);
	want_error(rc, &e, 400, "memory_threshold_critical",
	           "invalid configuration");
	assert_string_equal(e.fields, "memory_threshold_critical");

	/* several invalid fields: all listed, no single field */
	rc = vgmo_config_load_string(&cfg, two, strlen(two), API_SOURCE, err,
	                             sizeof(err));
	api_error_from_config(&e, rc, err);
	want_error(rc, &e, 400, "", "max_batch_size");
	assert_non_null(strstr(e.message, "memory_threshold_oom"));
	assert_non_null(strstr(e.fields, "max_batch_size"));
	assert_non_null(strstr(e.fields, "memory_threshold_oom"));
	assert_non_null(strchr(e.fields, ','));

	api_error_from_config(&e, VGMO_ERR_IO, "state dir: No space left");
	assert_int_equal(e.status, 503);

	/* jansson's "near '...'" names a field only for a duplicate key: a
	 * \u0000 in a value is about no field ("bal" was taken for one). */
	rc = vgmo_config_load_string(&cfg, nul, strlen(nul), API_SOURCE, err,
	                             sizeof(err));
	api_error_from_config(&e, rc, err);
	want_error(rc, &e, 400, "", "request body:1:29: \\u0000");
	rc = vgmo_config_load_string(&cfg, dup, strlen(dup), API_SOURCE, err,
	                             sizeof(err));
	api_error_from_config(&e, rc, err);
	want_error(rc, &e, 400, "max_batch_size", "duplicate object key");
}

static void test_status_map(void **state)
{
	(void)state;
	assert_int_equal(api_status_of(VGMO_OK), 200);
	assert_int_equal(api_status_of(VGMO_ERR_INVALID), 400);
	assert_int_equal(api_status_of(VGMO_ERR_CONFIG), 400);
	assert_int_equal(api_status_of(VGMO_ERR_PARSE), 400);
	assert_int_equal(api_status_of(VGMO_ERR_NOT_FOUND), 404);
	assert_int_equal(api_status_of(VGMO_ERR_IO), 503);
	assert_int_equal(api_status_of(VGMO_ERR_NOMEM), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_batch_size_valid),
	        cmocka_unit_test(test_batch_size_range),
	        cmocka_unit_test(test_wrong_type),
	        cmocka_unit_test(test_unknown_and_missing_keys),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_duplicate_key),
	        cmocka_unit_test(test_nul_refused),
	        cmocka_unit_test(test_deep_nesting),
	        cmocka_unit_test(test_no_body),
	        cmocka_unit_test(test_limit),
	        cmocka_unit_test(test_config_errors),
	        cmocka_unit_test(test_status_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
