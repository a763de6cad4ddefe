/*
 * test_metrics_series.c - the Prometheus renderer (lib/format/metrics.c):
 * the text format's structure, the counters, absent fields and down
 * devices (through the fake NVML), workers without a plan, and numbers.
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

#ifndef VGMO_FAKE_NVML_DIR
#define VGMO_FAKE_NVML_DIR "tests/fake_nvml"
#endif

static void test_structure(void **state)
{
	vgmo_engine *e = sim_engine(3, 5);
	char *text = render(e, &extra);

	(void)state;
	check_structure(text);
	assert_non_null(strstr(text, "vgmo_build_info{version=\"" VGMO_VERSION
	                             "\",backend=\"sim\"} 1\n"));
	assert_non_null(strstr(text, "vlm_monitoring_enabled 1\n"));
	assert_non_null(strstr(text, "vlm_temperature_threshold_celsius 80\n"));
	free(text);
	text = render(e, NULL);
	assert_null(strstr(text, "vlm_monitoring_enabled"));
	free(text);
	vgmo_engine_destroy(e);
}

static unsigned long long value_of(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	if (p == NULL)
		fail_msg("no series %s", series);
	return strtoull(p + strlen(series), NULL, 10);
}

static void test_counters(void **state)
{
	vgmo_engine *e = sim_engine(1, 1);
	vgmo_snapshot *s;
	const vgmo_counters *c;
	vgmo_result r;
	char *text;

	(void)state;
	assert_int_equal(vgmo_engine_optimize(e, true, &r), VGMO_OK);
	assert_int_equal(vgmo_engine_cleanup(e, &r), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	c = vgmo_snapshot_counters(s);
	text = vgmo__metrics_render(s, NULL, NULL);
	assert_non_null(text);
	assert_true(c->optimizations >= 2);
	assert_true(c->cleanups >= 1);
	assert_int_equal(value_of(text, "\nvlm_memory_optimizations_total "),
	                 c->optimizations);
	assert_int_equal(
	        value_of(text, "\nvlm_memory_optimizations_success_total "),
	        c->optimizations_success);
	assert_int_equal(
	        value_of(text, "\nvlm_memory_optimization_failures_total "),
	        c->optimization_failures);
	assert_int_equal(value_of(text, "\nvlm_memory_cleanups_total "),
	                 c->cleanups);
	assert_int_equal(
	        value_of(text, "\nvlm_batch_size_optimizations_total "),
	        c->batch_size_changes);
	assert_int_equal(value_of(text, "\nvlm_memory_freed_bytes_total "),
	                 c->freed_bytes);
	assert_non_null(strstr(text, "# TYPE vlm_memory_cleanups_total "
	                             "counter\n"));
	free(text);
	vgmo_snapshot_free(s);
	vgmo_engine_destroy(e);
}

/* Three GPUs on the fake NVML: 0 reports everything, 1 no temperature,
 * power or utilization, 2 is lost from its first call. */
static void test_absent_and_down(void **state)
{
	const char *dir = getenv("VGMO_FAKE_NVML_DIR");
	char scenario[] = "/tmp/vgmo-test-metrics-XXXXXX";
	char lib[512], err[512] = "";
	vgmo_engine_options opts;
	vgmo_engine *e = NULL;
	vgmo_config cfg;
	char *text;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(scenario);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("devices 3\n"
	      "device 0 uuid GPU-aaaa total 1000 used 250 reserved 50 util 37 "
	      "temp 45 power_mw 250500\n"
	      "device 1 uuid GPU-bbbb total 2000 used 100\n"
	      "unsupported 1 temp power util energy\n"
	      "device 2 uuid GPU-cccc\n"
	      "fail 2 lost_after 1 back_after 0\n",
	      f);
	assert_int_equal(fclose(f), 0);
	setenv("VGMO_FAKE_NVML_SCENARIO", scenario, 1);
	snprintf(lib, sizeof(lib), "%s/full/libnvidia-ml.so.1",
	         dir ? dir : VGMO_FAKE_NVML_DIR);
	vgmo_config_defaults(&cfg);
	vgmo_engine_options_init(&opts);
	opts.backend = "nvml";
	opts.nvml_library = lib;
	opts.clock = &fixed_clock;
	if (vgmo_engine_create(&e, &cfg, &opts, err, sizeof(err)) != VGMO_OK)
		fail_msg("engine: %s", err);
	text = render(e, &extra);
	check_structure(text);
	/* GPU 0: everything, exactly. */
	assert_non_null(strstr(text,
	                       "\nvlm_gpu_up{gpu=\"0\",uuid=\"GPU-aaaa\"} "
	                       "1\n"));
	assert_non_null(strstr(text, "\nvlm_memory_usage_percent{gpu=\"0\","
	                             "uuid=\"GPU-aaaa\"} 0.25\n"));
	assert_non_null(strstr(text, "\nvlm_gpu_utilization_percent{gpu=\"0\","
	                             "uuid=\"GPU-aaaa\"} 37\n"));
	assert_non_null(strstr(text, "\nvlm_gpu_power_usage_watts{gpu=\"0\","
	                             "uuid=\"GPU-aaaa\"} 250.5\n"));
	assert_non_null(strstr(text, "\nvlm_memory_total_bytes{gpu=\"0\","
	                             "uuid=\"GPU-aaaa\"} 1000\n"));
	/* GPU 1: no temperature, power or utilization series at all. */
	assert_non_null(strstr(text, "\nvlm_memory_used_bytes{gpu=\"1\""));
	assert_null(strstr(text, "vlm_gpu_temperature_celsius{gpu=\"1\""));
	assert_null(strstr(text, "vlm_gpu_power_usage_watts{gpu=\"1\""));
	assert_null(strstr(text, "vlm_gpu_utilization_percent{gpu=\"1\""));
	/* GPU 2: down, so vlm_gpu_up 0 and nothing else. */
	assert_non_null(strstr(text, "\nvlm_gpu_up{gpu=\"2\","));
	assert_non_null(
	        strstr(strstr(text, "\nvlm_gpu_up{gpu=\"2\","), "} 0\n"));
	/* Only the daemon's own counter keeps going beside it. */
	for (const char *p = text; (p = strstr(p, "gpu=\"2\"")) != NULL; p++) {
		const char *line = p;

		while (line > text && line[-1] != '\n')
			line--;
		if (strncmp(line, "vlm_gpu_up{", 11) != 0 &&
		    strncmp(line, "vlm_client_leases_expired_total{", 32) != 0)
			fail_msg("a down GPU has a series: %.80s", line);
	}
	free(text);
	vgmo_engine_destroy(e);
	unsetenv("VGMO_FAKE_NVML_SCENARIO");
	unlink(scenario);
}

/* A worker not yet planned has no optimum: no vlm_optimal_batch_size
 * series (it was 0), as its JSON has null. Its batch size is known. */
static void test_unplanned_worker(void **state)
{
	vgmo_engine *e = sim_engine(1, 1);
	vgmo_worker_view w;
	char *text;
	int id;

	(void)state;
	assert_int_equal(vgmo_engine_worker_add(e, "fresh", 0, 1.0, &id),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_worker_view(e, id, &w, NULL), VGMO_OK);
	assert_int_equal(w.optimal_batch_size, 0);
	text = render(e, &extra);
	check_structure(text);
	assert_non_null(strstr(text, "\nvlm_current_batch_size{"));
	assert_non_null(strstr(text, "client=\"fresh\"} "));
	for (const char *p = text; (p = strstr(p, "client=\"fresh\"")) != NULL;
	     p++) {
		const char *line = p;

		while (line > text && line[-1] != '\n')
			line--;
		if (strncmp(line, "vlm_optimal_batch_size{", 23) == 0)
			fail_msg("an unknown optimum has a series: %.120s",
			         line);
	}
	free(text);
	vgmo_engine_destroy(e);
}

/* Sample values as Prometheus reads them back: within the last digit of
 * what "%.15g" prints, integers exact, special values spelled its way. */
static void test_number_format(void **state)
{
	static const double values[] = {0,
	                                1,
	                                -1,
	                                0.5,
	                                0.1,
	                                0.20627766401301,
	                                80.25,
	                                1e15,
	                                123456789012345678.0,
	                                1e-300,
	                                0.00123,
	                                -0.000999,
	                                0.99999999999999999,
	                                9.9999999999999999,
	                                1700000000.123456,
	                                85520809984.0,
	                                -273.15,
	                                3.0e-5};
	char expect[64];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		vgmo__text t = {0};
		double back;

		vgmo__text_double(&t, values[i]);
		assert_false(t.oom);
		t.p[t.len] = '\0';
		back = strtod(t.p, NULL);
		snprintf(expect, sizeof(expect), "%.15g", values[i]);
		if (fabs(back - values[i]) > 1e-13 * fabs(values[i]) + 1e-300)
			fail_msg("%.17g printed as %s (%%.15g: %s)", values[i],
			         t.p, expect);
		if (fabs(values[i]) >= 1e-3 && fabs(values[i]) < 1e15 &&
		    strchr(t.p, 'e') != NULL)
			fail_msg("%s: exponent in the fixed-point range", t.p);
		free(t.p);
	}
	{
		vgmo__text t = {0};

		vgmo__text_double(&t, NAN);
		vgmo__text_put(&t, " ", 1);
		vgmo__text_double(&t, INFINITY);
		vgmo__text_put(&t, " ", 1);
		vgmo__text_double(&t, -INFINITY);
		vgmo__text_put(&t, " ", 1);
		vgmo__text_double(&t, 42.0);
		t.p[t.len] = '\0';
		assert_string_equal(t.p, "NaN +Inf -Inf 42");
		free(t.p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_structure),
	        cmocka_unit_test(test_counters),
	        cmocka_unit_test(test_absent_and_down),
	        cmocka_unit_test(test_unplanned_worker),
	        cmocka_unit_test(test_number_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
