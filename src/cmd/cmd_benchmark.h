/*
 * cmd_benchmark.h - what `vgmo benchmark`'s files share: the parsed
 * command line (cmd_benchmark_args.c), the runner of workload sets
 * (cmd_benchmark.c), and the sweep (cmd_benchmark_sweep.c).
 */
#ifndef VGMO_SRC_CMD_BENCHMARK_H
#define VGMO_SRC_CMD_BENCHMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "trace.h"

#define BENCH_MAX_POLICIES 16
#define BENCH_MAX_WORKLOADS 32

typedef struct bench_args {
	vgmo__bench_opts o;
	const char *output, *markdown, *workload, *trace, *model, *plot;
	const char *config, *write_trace, *sweep;
	const char *policies[BENCH_MAX_POLICIES]; /* point into policy_buf */
	size_t npolicies;
	char policy_buf[512];
	long max_batch, max_pixels;
	uint64_t seed_lo, seed_hi;
	bool auto_duration, strict, quiet, help, list_truth;
	vgmo__trace file; /* --trace, loaded */
	bool have_file;
} bench_args;

/* Parses argv into *a (zeroed first). Returns an exit code (a usage error
 * printed). The caller frees a->file when a->have_file. */
int bench_parse_args(bench_args *a, int argc, char **argv);
void bench_print_help(void);
/* --list-truth: the truth parameters --truth and --sweep take. */
void bench_list_truth(void);
/* Settings every workload shares: model, configuration, batch bound, the
 * --trace file loaded. Returns an exit code (the error printed). */
int bench_prepare(bench_args *a);

/* Runs every workload the arguments name with options `o`; fills
 * sets[0..*nsets). Returns an exit code (the error printed). */
int bench_run_sets(bench_args *a, const vgmo__bench_opts *o,
                   vgmo__bench_set *sets, size_t *nsets);

/* `--sweep KEY`: the policies across the parameter's range. */
int bench_sweep(bench_args *a);

#endif
