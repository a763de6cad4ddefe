/*
 * test_engine_util.c - engines on the simulated GPU for the test_engine*
 * executables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_engine_util.h"

vgmo_engine *make(const vgmo_config *cfg, const char *workload, uint64_t seed,
                  size_t history)
{
	vgmo_engine_options o;
	vgmo_engine *e = NULL;
	char err[256];

	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = workload;
	o.sim.seed = seed;
	o.history_capacity = history;
	assert_int_equal(vgmo_engine_create(&e, cfg, &o, err, sizeof(err)),
	                 VGMO_OK);
	return e;
}

vgmo_engine *make_default(const char *workload)
{
	vgmo_config c;

	vgmo_config_defaults(&c);
	return make(&c, workload, 1, 1000);
}
