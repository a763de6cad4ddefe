/*
 * test_benchmark_util.c - a generated trace and a benchmark run for the
 * test_benchmark* executables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_benchmark_util.h"

void setup_for(fixture *f, const char *workload, uint64_t seed, double duration)
{
	vgmo__bench_opts_init(&f->o);
	f->o.seed = seed;
	f->o.duration = duration;
	assert_int_equal(vgmo__trace_generate(&f->trace, workload,
	                                      f->o.duration, seed, NULL, 0),
	                 VGMO_OK);
	f->o.trace = &f->trace;
}

void setup(fixture *f, const char *workload, uint64_t seed)
{
	setup_for(f, workload, seed, 900);
}

void run(const vgmo__bench_opts *o, const char *policy, vgmo__bench_result *r)
{
	char err[256] = "";

	if (vgmo__bench_run(o, policy, r, err, sizeof(err)) != VGMO_OK)
		fail_msg("%s: %s", policy, err);
}
