/*
 * test_shares_util.c - the helpers of test_shares_util.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_shares_util.h"

vgmo_engine *make(double lease)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;

	vgmo_config_defaults(&c);
	c.max_batch_size = 64;
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "none";
	o.lease_seconds = lease;
	assert_int_equal(vgmo_engine_create(&e, &c, &o, NULL, 0), VGMO_OK);
	return e;
}

int client(vgmo_engine *e, const char *name, double weight)
{
	vgmo_worker_spec sp = {.name = name, .weight = weight, .leased = true};
	int id;
	bool existed;

	assert_int_equal(vgmo_engine_worker_register(e, &sp, &id, &existed),
	                 VGMO_OK);
	return id;
}

/* One batch: fixed + n x item bytes, allocator holding the peak. */
vgmo_decision report(vgmo_engine *e, int id, uint32_t n, double fixed,
                     double item)
{
	vgmo_report r = {0};
	vgmo_decision d;
	double peak = fixed + n * item;

	r.items = n;
	r.peak_bytes = (uint64_t)peak;
	r.allocated_bytes = (uint64_t)fixed;
	r.reserved_bytes = (uint64_t)(peak * 1.02);
	r.seconds = 1.0;
	assert_int_equal(vgmo_engine_report(e, id, &r, &d), VGMO_OK);
	return d;
}

const vgmo__worker *W(vgmo_engine *e, int id)
{
	return vgmo__worker_get(e, id);
}

double device_budget(vgmo_engine *e)
{
	const vgmo_gpu_sample *s = &e->samples[0];
	double unattributed = (double)e->unattributed[0];

	/* The thresholds classify; the room is the GPU less what no worker
	 * holds, less the reserve. */
	return (double)s->memory_total -
	       (double)e->cfg.memory_reserve_mb * (double)VGMO__MIB -
	       unattributed;
}
