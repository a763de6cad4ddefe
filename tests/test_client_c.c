/*
 * test_client_c.c - vgmo_client_* against a real `vgmo serve --backend sim`
 * ($VGMO_TEST_BIN/vgmo, started here with fork and exec on a free loopback
 * port): registration, reports converging to the per-item cost, OOM
 * back-off, a daemon restart in the middle of a run, the bearer token,
 * leaving, and arguments refused before any request. The daemon's view is
 * read back with the library's own HTTP transport (client_http.h).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client_http.h"
#include "test_client_c_util.h"
#include "vgmo/vgmo.h"

#define GIB ((uint64_t)1 << 30)

/* A batch of n items that peaks at fixed + n x cost. */
static vgmo_err step(vgmo_client *c, uint64_t fixed, uint64_t cost,
                     vgmo_decision *out)
{
	char err[256];
	int n = vgmo_client_batch_size(c);
	vgmo_report r = {
	        .items = (uint32_t)n,
	        .peak_bytes = fixed + (uint64_t)n * cost,
	        .allocated_bytes = fixed,
	        .reserved_bytes = fixed + (uint64_t)n * cost + GIB / 4,
	        .seconds = 0.01 * n,
	};

	return vgmo_client_report(c, &r, out, err, sizeof(err));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* -------------------------------------------------------------- tests */

static void test_refused_before_any_request(void **state)
{
	struct fixture *f = *state;
	vgmo_client *c = (vgmo_client *)f; /* must be reset to NULL */
	char err[256] = "";

	assert_int_equal(vgmo_client_open(&c, "ftp://x", "w", 0, 1, NULL, err,
	                                  sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_null(c);
	assert_non_null(strstr(err, "URL"));
	assert_int_equal(vgmo_client_open(&c, "http://127.0.0.1:1", "bad name",
	                                  0, 1, NULL, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_int_equal(vgmo_client_open(&c, "http://127.0.0.1:1", "w", 0, 1,
	                                  "two words", err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	/* Nobody listens on port 1. */
	assert_int_equal(vgmo_client_open(&c, "http://127.0.0.1:1", "w", 0, 1,
	                                  NULL, err, sizeof(err)),
	                 VGMO_ERR_IO);
	assert_non_null(strstr(err, "http://127.0.0.1:1"));
	assert_null(c);
	vgmo_client_close(NULL);
	assert_int_equal(vgmo_client_batch_size(NULL), -1);
	assert_int_equal(vgmo_client_report_oom(NULL, 1, NULL, NULL, 0),
	                 VGMO_ERR_INVALID);
}

static void test_register_and_converge(void **state)
{
	struct fixture *f = *state;
	const uint64_t fixed = 10 * GIB, cost = 6 * GIB;
	vgmo_report bad = {.items = 0, .peak_bytes = GIB};
	vgmo_decision d = {0};
	vgmo_client *c = NULL;
	char err[256] = "";
	json_t *seen, *model;
	double item;

	daemon_start(f, 0, NULL);
	assert_int_equal(vgmo_client_open(&c, f->d.url, "c-worker", 0, 0, NULL,
	                                  err, sizeof(err)),
	                 VGMO_OK);
	assert_true(vgmo_client_id(c) >= 0);
	assert_true(vgmo_client_batch_size(c) >= 1);
	for (int i = 0; i < 40; i++)
		assert_int_equal(step(c, fixed, cost, &d), VGMO_OK);
	assert_int_equal(d.batch_size, vgmo_client_batch_size(c));
	seen = get_client(f, vgmo_client_id(c));
	assert_non_null(seen);
	assert_string_equal(json_string_value(json_object_get(seen, "name")),
	                    "c-worker");
	assert_int_equal(json_integer_value(json_object_get(seen, "reports")),
	                 40);
	assert_int_equal(
	        json_integer_value(json_object_get(seen, "batch_size")),
	        d.batch_size);
	model = json_object_get(seen, "model");
	item = json_number_value(json_object_get(model, "item_bytes"));
	assert_true(item > 0.9 * (double)cost && item < 1.1 * (double)cost);
	assert_true(fixed + (uint64_t)d.batch_size * cost <=
	            (uint64_t)json_integer_value(
	                    json_object_get(seen, "budget_bytes")));
	json_decref(seen);

	/* A report the daemon could never take is refused here. */
	assert_int_equal(vgmo_client_report(c, &bad, &d, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_int_equal(d.batch_size, vgmo_client_batch_size(c));

	/* Leaving: the daemon forgets the client at once. */
	int64_t id = vgmo_client_id(c);
	vgmo_client_close(c);
	assert_null(get_client(f, id));
}

static void test_oom_halves(void **state)
{
	struct fixture *f = *state;
	vgmo_decision d = {0};
	vgmo_client *c = NULL;
	vgmo_report r = {0};
	char err[256] = "";
	json_t *seen;
	int n;

	daemon_start(f, 0, NULL);
	assert_int_equal(vgmo_client_open(&c, f->d.url, "oomer", 0, 1, NULL,
	                                  err, sizeof(err)),
	                 VGMO_OK);
	for (int i = 0; i < 20; i++)
		assert_int_equal(step(c, 4 * GIB, GIB, &d), VGMO_OK);
	n = d.batch_size;
	assert_true(n >= 4);
	assert_int_equal(
	        vgmo_client_report_oom(c, (uint32_t)n, &d, err, sizeof(err)),
	        VGMO_OK);
	assert_true(d.batch_size <= n / 2);
	assert_true(d.changed);
	assert_true(d.cleanup);
	/* What the cleanup freed goes with the next report. */
	r.items = (uint32_t)d.batch_size;
	r.peak_bytes = 4 * GIB + (uint64_t)d.batch_size * GIB;
	r.freed_bytes = 3 * GIB;
	assert_int_equal(vgmo_client_report(c, &r, &d, err, sizeof(err)),
	                 VGMO_OK);
	assert_false(d.cleanup);
	seen = get_client(f, vgmo_client_id(c));
	assert_int_equal(json_integer_value(json_object_get(seen, "ooms")), 1);
	json_decref(seen);
	vgmo_client_close(c);
}

/* A tokens worker asks before it runs: one request that fits, one that
 * never could, a plan of the head of its queue, a batch reported with its
 * shapes; with the daemon gone, answers still usable. */
static void test_fit_and_plan(void **state)
{
	struct fixture *f = *state;
	vgmo_worker_spec sp = {.name = "tok",
	                       .unit = "tokens",
	                       .model = "qwen2-vl-7b",
	                       .padding = VGMO_PADDING_PACKED};
	vgmo_request_shape q[3] = {{.images = 1,
	                            .image_tokens = 1200,
	                            .text_tokens = 80,
	                            .output_tokens = 256},
	                           {.images = 1,
	                            .image_tokens = 900,
	                            .text_tokens = 40,
	                            .output_tokens = 128},
	                           {.text_tokens = 300, .output_tokens = 64}};
	vgmo_request_shape huge = {.text_tokens = 5000000, .output_tokens = 16};
	vgmo_request_shape longer = {.text_tokens = 25000, .output_tokens = 16};
	vgmo_report r = {.items = 2, .peak_bytes = 18 * GIB, .seconds = 0.5};
	vgmo_batch_plan p;
	vgmo_decision d;
	vgmo_client *c = NULL, *eager = NULL, *plain = NULL;
	char err[256] = "";
	json_t *seen;
	vgmo_fit fit;

	daemon_start(f, 0, NULL);
	assert_int_equal(vgmo_client_open_spec(&c, f->d.url, &sp, NULL, err,
	                                       sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(vgmo_client_fit(c, &q[0], &fit, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(fit.verdict, VGMO_FIT_OK);
	assert_true(fit.need_bytes > 15 * GIB && fit.need_bytes < 40 * GIB);
	assert_true(fit.room_bytes > fit.need_bytes);
	/* 5 M tokens of KV cache alone are far more than 80 GB. */
	assert_int_equal(vgmo_client_fit(c, &huge, &fit, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(fit.verdict, VGMO_FIT_NEVER);
	assert_true(fit.max_prompt_tokens > 1000 &&
	            fit.max_prompt_tokens < huge.text_tokens);
	assert_non_null(strstr(fit.reason, "never fits"));
	assert_int_equal(vgmo_client_plan(c, q, 3, &p, err, sizeof(err)),
	                 VGMO_OK);
	assert_true(p.take >= 1 && p.take <= 3);
	assert_int_equal(p.head.verdict, VGMO_FIT_OK);
	assert_int_equal(
	        vgmo_client_report_batch(c, &r, q, 2, &d, err, sizeof(err)),
	        VGMO_OK);
	assert_true(d.batch_size >= 1);
	assert_int_equal(
	        vgmo_client_report_batch(c, &r, q, 3, &d, err, sizeof(err)),
	        VGMO_ERR_INVALID);
	seen = get_client(f, vgmo_client_id(c));
	assert_non_null(seen);
	assert_string_equal(json_string_value(json_object_get(seen, "unit")),
	                    "tokens");
	assert_int_equal(json_integer_value(json_object_get(seen, "reports")),
	                 1);
	json_decref(seen);

	/* Declared eager attention reaches the daemon's prior: a prompt a
	 * client that declares nothing may run never fits; an attention out of
	 * range is refused before any request. */
	sp.name = "tok-eager";
	sp.attention = (vgmo_attention)9;
	assert_int_equal(vgmo_client_open_spec(&eager, f->d.url, &sp, NULL, err,
	                                       sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "attention"));
	sp.attention = VGMO_ATTENTION_EAGER;
	assert_int_equal(vgmo_client_open_spec(&eager, f->d.url, &sp, NULL, err,
	                                       sizeof(err)),
	                 VGMO_OK);
	sp.name = "tok-plain";
	sp.attention = VGMO_ATTENTION_UNKNOWN;
	assert_int_equal(vgmo_client_open_spec(&plain, f->d.url, &sp, NULL, err,
	                                       sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(
	        vgmo_client_fit(plain, &longer, &fit, err, sizeof(err)),
	        VGMO_OK);
	assert_int_not_equal(fit.verdict, VGMO_FIT_NEVER);
	vgmo_client_close(plain);
	assert_int_equal(
	        vgmo_client_fit(eager, &longer, &fit, err, sizeof(err)),
	        VGMO_OK);
	assert_int_equal(fit.verdict, VGMO_FIT_NEVER);
	vgmo_client_close(eager);

	/* The daemon gone: usable answers, and the error says so. */
	daemon_stop(f);
	assert_int_not_equal(vgmo_client_fit(c, &huge, &fit, err, sizeof(err)),
	                     VGMO_OK);
	assert_int_equal(fit.verdict, VGMO_FIT_OK);
	assert_int_not_equal(vgmo_client_plan(c, q, 3, &p, err, sizeof(err)),
	                     VGMO_OK);
	assert_true(p.take >= 1 && p.take <= 3);
	vgmo_client_close(c);
}

static void test_daemon_restart(void **state)
{
	struct fixture *f = *state;
	vgmo_decision d = {0};
	vgmo_client *c = NULL;
	char err[256] = "";
	int n, port, i;
	vgmo_err rc;

	daemon_start(f, 0, NULL);
	port = f->d.port;
	assert_int_equal(vgmo_client_open(&c, f->d.url, "survivor", 0, 1, NULL,
	                                  err, sizeof(err)),
	                 VGMO_OK);
	for (i = 0; i < 10; i++)
		assert_int_equal(step(c, 4 * GIB, 2 * GIB, &d), VGMO_OK);
	n = d.batch_size;
	daemon_stop(f);
	/* Away: the last batch size, an error the loop may ignore. */
	assert_int_equal(step(c, 4 * GIB, 2 * GIB, &d), VGMO_ERR_IO);
	assert_int_equal(d.batch_size, n);
	/* Backing off: no request, the same answer at once. */
	rc = vgmo_client_report_oom(c, (uint32_t)n, &d, err, sizeof(err));
	assert_int_equal(rc, VGMO_ERR_IO);
	assert_non_null(strstr(err, "retrying"));
	assert_int_equal(d.batch_size, n / 2 > 0 ? n / 2 : 1);
	daemon_start(f, port, NULL);
	for (i = 0; i < 100; i++) {
		rc = step(c, 4 * GIB, 2 * GIB, &d);
		if (rc == VGMO_OK)
			break;
		assert_int_equal(rc, VGMO_ERR_IO);
		sleep_ms(50);
	}
	assert_int_equal(rc, VGMO_OK);
	assert_true(vgmo_client_id(c) >= 0);
	json_t *seen = get_client(f, vgmo_client_id(c));
	assert_non_null(seen);
	assert_string_equal(json_string_value(json_object_get(seen, "name")),
	                    "survivor");
	json_decref(seen);
	vgmo_client_close(c);
}

static void test_token(void **state)
{
	struct fixture *f = *state;
	vgmo_client *c = NULL;
	char path[128], err[256] = "";
	FILE *tf;

	snprintf(path, sizeof(path), "%s/token", f->dir);
	tf = fopen(path, "w");
	assert_non_null(tf);
	fputs("c-s3cret\n", tf);
	fclose(tf);
	daemon_start(f, 0, path);
	assert_int_equal(vgmo_client_open(&c, f->d.url, "w", 0, 1, NULL, err,
	                                  sizeof(err)),
	                 VGMO_ERR_PERMISSION);
	assert_int_equal(vgmo_client_open(&c, f->d.url, "w", 0, 1, "wrong", err,
	                                  sizeof(err)),
	                 VGMO_ERR_PERMISSION);
	assert_int_equal(vgmo_client_open(&c, f->d.url, "w", 0, 1, "c-s3cret",
	                                  err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(vgmo_client_report_oom(c, 2, NULL, err, sizeof(err)),
	                 VGMO_OK);
	vgmo_client_close(c);
	/* A GPU the daemon does not have is refused. */
	assert_int_equal(vgmo_client_open(&c, f->d.url, "w", 9, 1, "c-s3cret",
	                                  err, sizeof(err)),
	                 VGMO_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_refused_before_any_request,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_register_and_converge,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_oom_halves, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_fit_and_plan, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_daemon_restart, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_token, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
