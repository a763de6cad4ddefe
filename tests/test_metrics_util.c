/*
 * test_metrics_util.c - a deterministic simulated engine and its rendering
 * for the test_metrics* executables.
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

static double fixed_mono(void *ctx)
{
	(void)ctx;
	return 1000.0;
}

static double fixed_wall(void *ctx)
{
	(void)ctx;
	return WALL0;
}

const vgmo_clock fixed_clock = {fixed_mono, fixed_wall, NULL};

static const char *const odd_name = "a\\b\"c\nd";

/* A simulated engine whose every number is fixed: GPUs, seed, clock, and
 * the reports fed to it. */
vgmo_engine *sim_engine(unsigned gpus, unsigned workers)
{
	vgmo_engine_options opts;
	vgmo_engine *e = NULL;
	vgmo_config cfg;
	char err[512] = "";
	vgmo_report r = {
	        .items = 4, .peak_bytes = UINT64_C(20) << 30, .seconds = 0.5};
	vgmo_decision d;
	vgmo_result res;
	int id;

	vgmo_config_defaults(&cfg);
	vgmo_engine_options_init(&opts);
	opts.backend = "sim";
	opts.sim.gpus = gpus;
	opts.sim.seed = 7;
	opts.clock = &fixed_clock;
	if (vgmo_engine_create(&e, &cfg, &opts, err, sizeof(err)) != VGMO_OK)
		fail_msg("engine: %s", err);
	assert_int_equal(
	        vgmo_engine_worker_add(e, odd_name, gpus - 1, 1.0, &id),
	        VGMO_OK);
	assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
	for (unsigned i = 1; i < workers; i++) {
		char name[32];

		snprintf(name, sizeof(name), "client-%02u", i);
		assert_int_equal(
		        vgmo_engine_worker_add(e, name, i % gpus, 1.0, &id),
		        VGMO_OK);
	}
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_int_equal(vgmo_engine_optimize(e, true, &res), VGMO_OK);
	return e;
}

char *render(vgmo_engine *e, const vgmo__metrics_extra *x)
{
	vgmo_snapshot *s;
	size_t len = 0;
	char *text;

	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	text = vgmo__metrics_render(s, x, &len);
	vgmo_snapshot_free(s);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

const vgmo__metrics_extra extra = {true, true, WALL0 - 60};

/* Every family has HELP and TYPE once, before its samples, and every
 * sample belongs to the family declared last. */
void check_structure(const char *text)
{
	char family[128] = "", line[2048];
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (p[n] == '\n');
		if (strncmp(line, "# HELP ", 7) == 0) {
			char key[160];

			sscanf(line + 7, "%127s", family);
			snprintf(key, sizeof(key), "# HELP %s ", family);
			assert_ptr_equal(strstr(text, key),
			                 strstr(strstr(text, key), key));
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(
			        strncmp(line + 7, family, strlen(family)), 0);
			continue;
		}
		if (strncmp(line, family, strlen(family)) != 0 ||
		    (line[strlen(family)] != '{' &&
		     line[strlen(family)] != ' '))
			fail_msg("sample outside its family %s: %s", family,
			         line);
	}
}
