/*
 * test_benchmark_util.h - a generated trace and a benchmark run for the
 * test_benchmark* executables.
 */
#ifndef VGMO_TEST_BENCHMARK_UTIL_H
#define VGMO_TEST_BENCHMARK_UTIL_H

#include <stdint.h>

#include "bench.h"
#include "trace.h"

typedef struct fixture {
	vgmo__trace trace;
	vgmo__bench_opts o;
} fixture;

/* Default options with `seed`, `duration` and a trace of `workload`
 * generated for them (the caller frees f->trace). */
void setup_for(fixture *f, const char *workload, uint64_t seed,
               double duration);
/* setup_for() over 900 s. */
void setup(fixture *f, const char *workload, uint64_t seed);
/* Runs `policy`; fails the test with its message when it cannot. */
void run(const vgmo__bench_opts *o, const char *policy, vgmo__bench_result *r);

#endif
