/*
 * test_trace.c - the JSON Lines trace format (parser errors name the line
 * and the field), other processes' memory over time, the writer, and the
 * built-in workload generators.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "trace.h"
#include "util.h"

#define GIB 1073741824.0

static void data_path(char *buf, size_t len, const char *name)
{
	const char *src = getenv("VGMO_TEST_SRC");

	snprintf(buf, len, "%s/data/traces/%s", src ? src : "tests", name);
}

static void test_parse_file(void **state)
{
	vgmo__trace t;
	char path[512], err[256];

	(void)state;
	data_path(path, sizeof(path), "small.jsonl");
	assert_int_equal(vgmo__trace_load(&t, path, err, sizeof(err)), VGMO_OK);
	assert_int_equal(t.nreq, 3);
	assert_int_equal(t.nev, 1);
	assert_int_equal(t.req[0].nimages, 2);
	assert_int_equal(t.img[t.req[0].first_image + 1].h, 2200);
	assert_int_equal(t.req[1].output_tokens, 96);
	/* Defaults: no images, 256 output tokens. */
	assert_int_equal(t.req[2].nimages, 0);
	assert_int_equal(t.req[2].text_tokens, 900);
	assert_int_equal(t.req[2].output_tokens, VGMO__TRACE_DEFAULT_OUTPUT);
	assert_true(t.req[2].t == 2.25);
	vgmo__trace_free(&t);
}

static void expect_error(const char *text, const char *want)
{
	vgmo__trace t;
	char err[256] = "";

	assert_int_equal(vgmo__trace_parse(&t, text, strlen(text), "w.jsonl",
	                                   err, sizeof(err)),
	                 VGMO_ERR_PARSE);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, want);
	assert_int_equal(t.nreq, 0);
	assert_null(t.req);
}

static void test_parse_errors(void **state)
{
	char path[512], err[256];
	vgmo__trace t;

	(void)state;
	expect_error("{\"t\": 0, \"text_tokens\": 5}\n{\"t\": \"soon\"}\n",
	             "w.jsonl:2: field \"t\": must be a number");
	expect_error("{\"t\": 3, \"text_tokens\": 5}\n{\"t\": 2, "
	             "\"text_tokens\": 5}\n",
	             "w.jsonl:2: field \"t\": goes back in time");
	expect_error("{\"text_tokens\": 5}", "w.jsonl:1: field \"t\": missing");
	expect_error("\n\n{\"t\": 0, \"images\": [[10, 10], [0, 5]]}",
	             "w.jsonl:3: field \"images\": image 2 is not");
	expect_error("{\"t\": 0, \"images\": {\"w\": 5}}",
	             "w.jsonl:1: field \"images\": must be an array");
	expect_error("{\"t\": 0, \"text_tokens\": -1}",
	             "w.jsonl:1: field \"text_tokens\"");
	expect_error("{\"t\": 0, \"output_tokens\": 1.5, \"text_tokens\": 1}",
	             "w.jsonl:1: field \"output_tokens\"");
	expect_error("{\"t\": 0, \"prompt\": \"hi\"}",
	             "w.jsonl:1: field \"prompt\": unknown field");
	expect_error("{\"t\": 0, \"images\": []}",
	             "w.jsonl:1: field \"images\": a request needs");
	expect_error("{\"t\": 0, \"external_bytes\": 5, \"text_tokens\": 3}",
	             "w.jsonl:1: field \"external_bytes\": a line is either");
	expect_error("{\"t\": 0, \"external_bytes\": -5}",
	             "w.jsonl:1: field \"external_bytes\"");
	/* Held as a double: past 2^53 it would not be written back as read
	 * (found by tests/fuzz/fuzz_trace.c: 2^63 - 1 came back as 2^63). */
	expect_error("{\"t\": 0, \"text_tokens\": 1}\n{\"t\": 0, "
	             "\"external_bytes\": 9223372036854775807}",
	             "w.jsonl:2: field \"external_bytes\": must be an integer "
	             "number of bytes, 0 to 2^53");
	expect_error("{\"t\": 0, \"text_tokens\": 1}\n{\"t\": 0, "
	             "\"external_bytes\": 9007199254740993}",
	             "w.jsonl:2: field \"external_bytes\"");
	expect_error("{\"t\": 0, \"text_tokens\": 3, \"ramp\": 2}",
	             "w.jsonl:1: field \"ramp\"");
	expect_error("{\"t\": 0, \"text_tokens\": 3}\n{\"t\": 1,,}",
	             "w.jsonl:2:");
	expect_error("[1, 2]", "w.jsonl:1: a line is a JSON object");
	expect_error("# only a comment\n\n", "w.jsonl: the trace has no "
	                                     "requests");
	/* From a file: the message names the file. */
	data_path(path, sizeof(path), "bad_image.jsonl");
	assert_int_equal(vgmo__trace_load(&t, path, err, sizeof(err)),
	                 VGMO_ERR_PARSE);
	assert_non_null(strstr(err, "bad_image.jsonl:2: field \"images\": "
	                            "image 2"));
	assert_int_not_equal(
	        vgmo__trace_load(&t, "/nonexistent.jsonl", err, sizeof(err)),
	        VGMO_OK);
}

static void test_external(void **state)
{
	const char *text =
	        "{\"t\": 0, \"text_tokens\": 1}\n"
	        "{\"t\": 10, \"external_bytes\": 1000}\n"
	        "{\"t\": 20, \"external_bytes\": 3000, \"ramp\": 10}\n"
	        "{\"t\": 25, \"external_bytes\": 0, \"ramp\": 5}\n";
	vgmo__trace t;

	(void)state;
	assert_int_equal(
	        vgmo__trace_parse(&t, text, strlen(text), "x", NULL, 0),
	        VGMO_OK);
	assert_true(vgmo__trace_external(&t, 5, 0) == 0);
	assert_true(vgmo__trace_external(&t, 10, 0) == 1000);
	assert_true(vgmo__trace_external(&t, 19.99, 0) == 1000);
	/* Half way up the ramp from 1000 to 3000 ... */
	assert_true(fabs(vgmo__trace_external(&t, 22.5, 0) - 1500) < 1e-9);
	/* ... cut short at 25 (2000), then down to 0 over 5 s. */
	assert_true(fabs(vgmo__trace_external(&t, 25, 0) - 2000) < 1e-9);
	assert_true(fabs(vgmo__trace_external(&t, 27.5, 0) - 1000) < 1e-9);
	assert_true(vgmo__trace_external(&t, 100, 0) == 0);
	vgmo__trace_free(&t);
}

static char *write_to_string(const vgmo__trace *t, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(vgmo__trace_write(t, f), VGMO_OK);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_generators(void **state)
{
	(void)state;
	for (const char *const *w = vgmo__workloads(); *w; w++) {
		vgmo__trace a, b, c, back;
		char *text, *again;
		size_t len, len2;

		assert_int_equal(vgmo__trace_generate(&a, *w, 300, 1, NULL, 0),
		                 VGMO_OK);
		assert_int_equal(vgmo__trace_generate(&b, *w, 300, 1, NULL, 0),
		                 VGMO_OK);
		assert_int_equal(vgmo__trace_generate(&c, *w, 300, 2, NULL, 0),
		                 VGMO_OK);
		assert_true(a.nreq > 300);
		assert_int_equal(a.nreq, b.nreq);
		assert_memory_equal(a.req, b.req, a.nreq * sizeof(*a.req));
		assert_true(a.nreq != c.nreq ||
		            memcmp(a.req, c.req, a.nreq * sizeof(*a.req)) != 0);
		for (size_t i = 0; i < a.nreq; i++) {
			assert_true(a.req[i].t >= 0 && a.req[i].t < 300);
			assert_true(i == 0 || a.req[i].t >= a.req[i - 1].t);
		}
		/* Written and read back, it is the same trace. */
		text = write_to_string(&a, &len);
		assert_int_equal(
		        vgmo__trace_parse(&back, text, len, *w, NULL, 0),
		        VGMO_OK);
		again = write_to_string(&back, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(text, again, len);
		assert_int_equal(back.nreq, a.nreq);
		free(text);
		free(again);
		vgmo__trace_free(&back);
		vgmo__trace_free(&a);
		vgmo__trace_free(&b);
		vgmo__trace_free(&c);
	}
}

static void test_scenarios(void **state)
{
	const double total = (double)(UINT64_C(81559) << 20);
	vgmo__trace t;
	char err[256];

	(void)state;
	/* drift: a slow leak to a fifth of the GPU. */
	assert_int_equal(vgmo__trace_generate(&t, "drift", 300, 1, NULL, 0),
	                 VGMO_OK);
	assert_true(vgmo__trace_external(&t, 0, total) == 0);
	assert_true(vgmo__trace_external(&t, 150, total) > 0.05 * total);
	assert_true(fabs(vgmo__trace_external(&t, 300, total) - 0.2 * total) <
	            1);
	vgmo__trace_free(&t);
	/* cotenant: nothing until half way, then 35 % within 40 s. */
	assert_int_equal(vgmo__trace_generate(&t, "cotenant", 300, 1, NULL, 0),
	                 VGMO_OK);
	assert_true(vgmo__trace_external(&t, 149, total) == 0);
	assert_true(fabs(vgmo__trace_external(&t, 200, total) - 0.35 * total) <
	            1);
	vgmo__trace_free(&t);
	/* mixed: text-only requests among the others. */
	assert_int_equal(vgmo__trace_generate(&t, "mixed", 300, 1, NULL, 0),
	                 VGMO_OK);
	{
		size_t text_only = 0;

		for (size_t i = 0; i < t.nreq; i++)
			text_only += t.req[i].nimages == 0;
		assert_true(text_only > 0 && text_only < t.nreq / 3);
	}
	vgmo__trace_free(&t);
	assert_int_equal(
	        vgmo__trace_generate(&t, "chess", 300, 1, err, sizeof(err)),
	        VGMO_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "chess"));
	assert_int_equal(
	        vgmo__trace_generate(&t, "docs", -1, 1, err, sizeof(err)),
	        VGMO_ERR_INVALID);
}

/* The adversarial workloads do what their descriptions say. */
static void test_adversarial(void **state)
{
	const double total = 1e11;
	vgmo__trace t;
	size_t n = 0, big = 0;

	(void)state;
	/* idle-burst: nothing much for 40 %, 60 % held from 30 % on, then a
	 * burst. */
	assert_int_equal(
	        vgmo__trace_generate(&t, "idle-burst", 1000, 1, NULL, 0),
	        VGMO_OK);
	for (size_t i = 0; i < t.nreq; i++)
		n += t.req[i].t < 400;
	assert_true(n < 40 && t.nreq > 1000);
	assert_true(fabs(vgmo__trace_external(&t, 399, total) - 0.6 * total) <
	            1);
	assert_true(vgmo__trace_external(&t, 900, total) == 0);
	vgmo__trace_free(&t);
	/* flapping: on and off every minute. */
	assert_int_equal(vgmo__trace_generate(&t, "flapping", 600, 1, NULL, 0),
	                 VGMO_OK);
	assert_true(vgmo__trace_external(&t, 60, total) > 0.39 * total);
	assert_true(vgmo__trace_external(&t, 120, total) < 0.01 * total);
	assert_true(vgmo__trace_external(&t, 180, total) > 0.39 * total);
	vgmo__trace_free(&t);
	/* leak: grows, never past 45 %. */
	assert_int_equal(vgmo__trace_generate(&t, "leak", 3000, 1, NULL, 0),
	                 VGMO_OK);
	assert_true(vgmo__trace_external(&t, 500, total) <
	            vgmo__trace_external(&t, 900, total));
	assert_true(fabs(vgmo__trace_external(&t, 2999, total) - 0.45 * total) <
	            0.006 * total);
	vgmo__trace_free(&t);
	/* huge-tail: a few requests of many 600 dpi pages or panoramas. */
	assert_int_equal(
	        vgmo__trace_generate(&t, "huge-tail", 3000, 1, NULL, 0),
	        VGMO_OK);
	for (size_t i = 0; i < t.nreq; i++) {
		const vgmo__trace_image *im = &t.img[t.req[i].first_image];

		big += t.req[i].nimages > 0 && (double)im->w * im->h >= 3.3e7;
	}
	assert_true(big > 0.01 * t.nreq && big < 0.06 * t.nreq);
	vgmo__trace_free(&t);
	/* long-outputs: short, then thousands of tokens. */
	assert_int_equal(
	        vgmo__trace_generate(&t, "long-outputs", 1000, 1, NULL, 0),
	        VGMO_OK);
	for (size_t i = 0; i < t.nreq; i++)
		assert_true(t.req[i].t < 500 ? t.req[i].output_tokens <= 160
		                             : t.req[i].output_tokens >= 1000);
	vgmo__trace_free(&t);
	/* multi-image: 4 to 16 images each. */
	assert_int_equal(
	        vgmo__trace_generate(&t, "multi-image", 300, 1, NULL, 0),
	        VGMO_OK);
	for (size_t i = 0; i < t.nreq; i++)
		assert_true(t.req[i].nimages >= 4 && t.req[i].nimages <= 16);
	vgmo__trace_free(&t);
	/* vision-heavy: a truth parameter in the trace. */
	assert_int_equal(
	        vgmo__trace_generate(&t, "vision-heavy", 300, 1, NULL, 0),
	        VGMO_OK);
	assert_int_equal(t.ntruth, 1);
	assert_string_equal(t.truth[0].key, "vision_scale");
	assert_true(t.truth[0].value > 3);
	vgmo__trace_free(&t);
}

/* Fractions of the GPU and truth lines: parsed, checked, written back. */
static void test_fraction_and_truth(void **state)
{
	const char *text = "{\"truth\": {\"padding\": 0, \"act_scale\": 1.5}}\n"
	                   "{\"t\": 0, \"text_tokens\": 1}\n"
	                   "{\"t\": 10, \"external_fraction\": 0.5}\n"
	                   "{\"t\": 20, \"external_bytes\": 1000, "
	                   "\"ramp\": 10}\n";
	vgmo__trace t, back;
	char *out;
	size_t len;

	(void)state;
	assert_int_equal(
	        vgmo__trace_parse(&t, text, strlen(text), "x", NULL, 0),
	        VGMO_OK);
	assert_int_equal(t.ntruth, 2);
	assert_true(vgmo__trace_external(&t, 15, 4000) == 2000);
	/* Half way from 2000 bytes down to 1000. */
	assert_true(fabs(vgmo__trace_external(&t, 25, 4000) - 1500) < 1e-9);
	out = write_to_string(&t, &len);
	assert_non_null(strstr(out, "\"external_fraction\": 0.5"));
	assert_non_null(strstr(out, "\"truth\": {\"padding\": 0"));
	assert_int_equal(vgmo__trace_parse(&back, out, len, "y", NULL, 0),
	                 VGMO_OK);
	assert_int_equal(back.ntruth, 2);
	assert_true(back.truth[1].value == 1.5);
	free(out);
	vgmo__trace_free(&back);
	vgmo__trace_free(&t);
	expect_error("{\"t\": 0, \"external_fraction\": 1.5}",
	             "w.jsonl:1: field \"external_fraction\": must be a "
	             "number in [0, 1]");
	expect_error("{\"t\": 0, \"external_fraction\": 0.5, "
	             "\"external_bytes\": 1}",
	             "w.jsonl:1: field \"external_fraction\": give");
	expect_error("{\"truth\": {\"paddin\": 1}}",
	             "w.jsonl:1: field \"truth\": truth: unknown parameter "
	             "\"paddin\"");
	expect_error("{\"truth\": {\"act_scale\": 9}}",
	             "w.jsonl:1: field \"truth\": truth: act_scale must be a "
	             "number in [0.8, 2]");
	expect_error("{\"truth\": {\"act_scale\": \"big\"}}",
	             "w.jsonl:1: field \"truth\": \"act_scale\" must be a "
	             "number");
	expect_error("{\"truth\": {}, \"t\": 1}",
	             "w.jsonl:1: field \"truth\": a truth line holds nothing "
	             "else");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_file),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_external),
	        cmocka_unit_test(test_generators),
	        cmocka_unit_test(test_scenarios),
	        cmocka_unit_test(test_adversarial),
	        cmocka_unit_test(test_fraction_and_truth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
