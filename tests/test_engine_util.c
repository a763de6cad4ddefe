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

vgmo_engine *make_tokens_worker(int *id, const char *model,
                                vgmo_padding padding)
{
	vgmo_config c;
	vgmo_engine *e;
	vgmo_vlm_model m;

	vgmo_config_defaults(&c);
	c.max_batch_size = 64;
	e = make(&c, "none", 1, 0);
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, id), VGMO_OK);
	assert_int_equal(vgmo_model_preset_find(model, &m), VGMO_OK);
	assert_int_equal(vgmo_engine_set_worker_model(e, *id, &m, padding),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	return e;
}
