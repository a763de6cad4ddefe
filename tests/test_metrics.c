/*
 * test_metrics.c - the Prometheus renderer (lib/format/metrics.c): a golden
 * file for a deterministic simulated engine (fixed clock, fixed seed), label
 * escaping and the rendering time (the series themselves:
 * test_metrics_series.c).
 *
 * VGMO_UPDATE_GOLDEN=1 rewrites tests/data/metrics/golden.prom.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_metrics_util.h"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The engine's policy and accounting have their own tests. Here their
 * values are set to 0 (batch sizes, counters, unattributed memory), and the
 * families whose very presence follows the policy (a client's budget and
 * share) are left out, so that the golden file pins the format, the
 * families, the labels and the device values. */
static const char *const zeroed[] = {"vlm_current_batch_size{",
                                     "vlm_optimal_batch_size{",
                                     "vlm_memory_unattributed_bytes{",
                                     "vlm_client_ooms_total{",
                                     "vlm_memory_optimizations_total ",
                                     "vlm_memory_optimizations_success_total ",
                                     "vlm_memory_optimization_failures_total ",
                                     "vlm_memory_cleanups_total ",
                                     "vlm_batch_size_optimizations_total ",
                                     "vlm_memory_freed_bytes_total ",
                                     "vlm_gpu_samples_total "};
static const char *const dropped[] = {"vlm_client_budget_bytes",
                                      "vlm_client_share_ratio"};

static bool starts(const char *line, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(line, list[i], strlen(list[i])) == 0)
			return true;
	return false;
}

/* The family a line belongs to: its metric name, or the name after
 * "# HELP " / "# TYPE ". */
static bool in_dropped(const char *line)
{
	if (strncmp(line, "# HELP ", 7) == 0 ||
	    strncmp(line, "# TYPE ", 7) == 0)
		line += 7;
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		size_t n = strlen(dropped[i]);

		if (strncmp(line, dropped[i], n) == 0 &&
		    (line[n] == ' ' || line[n] == '{'))
			return true;
	}
	return false;
}

static char *normalise(const char *text)
{
	const char *head = "# (policy values set to 0, policy families left "
	                   "out: see tests/test_metrics.c)\n";
	char *out = malloc(strlen(head) + strlen(text) + 1);
	size_t o;

	assert_non_null(out);
	strcpy(out, head);
	o = strlen(head);
	while (*text != '\0') {
		size_t n = strcspn(text, "\n");
		size_t next = n + (text[n] == '\n');

		if (in_dropped(text)) {
			text += next;
			continue;
		}
		memcpy(out + o, text, n);
		if (starts(text, zeroed, sizeof(zeroed) / sizeof(zeroed[0]))) {
			while (n > 0 && text[n - 1] != ' ')
				n--;
			out[o + n++] = '0';
		}
		o += n;
		out[o++] = '\n';
		text += next;
	}
	out[o] = '\0';
	return out;
}

static void test_golden(void **state)
{
	const char *src = getenv("VGMO_TEST_SRC");
	char path[512];
	vgmo_engine *e = sim_engine(2, 1);
	char *raw = render(e, &extra), *want;
	char *got = normalise(raw);

	(void)state;
	snprintf(path, sizeof(path), "%s/data/metrics/golden.prom",
	         src ? src : "tests");
	if (getenv("VGMO_UPDATE_GOLDEN") != NULL) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
	}
	want = read_all(path);
	if (want == NULL)
		fail_msg("cannot read %s", path);
	if (strcmp(got, want) != 0) {
		size_t i = 0;

		while (got[i] == want[i])
			i++;
		fail_msg("differs from %s at byte %zu:\n--- got\n%.200s\n--- "
		         "want\n%.200s",
		         path, i, got + i, want + i);
	}
	free(want);
	free(got);
	free(raw);
	vgmo_engine_destroy(e);
}

static void test_label_escaping(void **state)
{
	vgmo_engine *e = sim_engine(1, 1);
	char *text = render(e, NULL);

	(void)state;
	assert_non_null(strstr(text, "client=\"a\\\\b\\\"c\\nd\"} "));
	/* The raw newline never reaches the output inside a label. */
	assert_null(strstr(text, "c\nd"));
	free(text);
	vgmo_engine_destroy(e);
}

static void test_invalid_utf8_label(void **state)
{
	vgmo_engine *e = sim_engine(1, 1);
	char *text;
	int id;

	(void)state;
	assert_int_equal(
	        vgmo_engine_worker_add(e, "x\xff\xc3\xa9y", 0, 1.0, &id),
	        VGMO_OK);
	text = render(e, NULL);
	assert_non_null(strstr(text, "client=\"x?\xc3\xa9y\""));
	free(text);
	vgmo_engine_destroy(e);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 8 GPUs and 50 clients: reported, and bounded loosely enough for
 * sanitizer builds (the target, under 100 us, is checked by the bench). */
static void test_speed(void **state)
{
	vgmo_engine *e = sim_engine(8, 50);
	vgmo_snapshot *s;
	const int rounds = 2000;
	size_t len = 0;
	double t0, per;

	(void)state;
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	t0 = now_s();
	for (int i = 0; i < rounds; i++)
		free(vgmo__metrics_render(s, &extra, &len));
	per = (now_s() - t0) / rounds;
	print_message("render 8 GPUs + 50 clients: %.1f us, %zu bytes\n",
	              per * 1e6, len);
	assert_true(per < 2e-3);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_golden),
	        cmocka_unit_test(test_label_escaping),
	        cmocka_unit_test(test_invalid_utf8_label),
	        cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
