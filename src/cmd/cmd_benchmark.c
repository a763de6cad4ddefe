/*
 * cmd_benchmark.c - `vgmo benchmark`: batch-size policies side by side on
 * the same workloads, over seeds, on the simulated GPU's virtual clock
 * (lib/bench.h). Prints a table per workload and the targets missed;
 * writes JSON (--output), Markdown (--markdown) and an SVG plot (--plot).
 * Its command line is cmd_benchmark_args.c; `--sweep KEY` runs across a
 * truth parameter's range (cmd_benchmark_sweep.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "cmd_benchmark.h"
#include "trace.h"

/* ---------------------------------------------------------------- run */

static void show_progress(void *ctx, const char *workload, uint64_t seed,
                          const char *policy)
{
	const bench_args *a = ctx;

	if (a->quiet || !isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r\033[K  %s, seed %llu: %s", workload,
	        (unsigned long long)seed, policy);
	fflush(stderr);
}

int bench_run_sets(bench_args *a, const vgmo__bench_opts *o,
                   vgmo__bench_set *sets, size_t *nsets)
{
	const char *single[2] = {NULL, NULL};
	const char *const *names = single;
	char err[1024] = "";
	size_t n = 0;

	if (a->trace)
		single[0] = a->trace;
	else if (strcmp(a->workload, "all") == 0)
		names = vgmo__workloads();
	else
		single[0] = a->workload;
	for (; names[n] && n < BENCH_MAX_WORKLOADS; n++) {
		vgmo__bench_source src = {
		        .workload = a->trace ? NULL : names[n],
		        .file = a->trace ? &a->file : NULL,
		        .label = names[n],
		        .auto_duration = a->auto_duration,
		};

		if (vgmo__bench_set_run(&sets[n], o, &src, a->seed_lo,
		                        a->seed_hi, a->policies, a->npolicies,
		                        show_progress, a, err,
		                        sizeof(err)) != VGMO_OK) {
			for (size_t k = 0; k < n; k++)
				vgmo__bench_set_free(&sets[k]);
			if (!a->quiet && isatty(STDERR_FILENO))
				fputc('\n', stderr);
			return cli_fail("%s", err);
		}
	}
	if (!a->quiet && isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
	*nsets = n;
	return CLI_EXIT_OK;
}

static int write_trace(const bench_args *a, const vgmo__bench_set *s)
{
	FILE *f = fopen(a->write_trace, "w");
	vgmo_err rc = f ? vgmo__trace_write(&s->traces[0], f) : VGMO_ERR_IO;

	if (f && fclose(f) != 0)
		rc = VGMO_ERR_IO;
	if (rc != VGMO_OK)
		return cli_fail("%s: cannot write the trace", a->write_trace);
	return CLI_EXIT_OK;
}

static int report(const bench_args *a, vgmo__bench_set *sets, size_t n)
{
	vgmo__bench_section sec[BENCH_MAX_WORKLOADS];
	json_t *root = json_object(), *list = json_array();
	char why[4096], err[1024] = "";
	FILE *md = NULL;
	int rc = CLI_EXIT_OK, missed_all = 0;

	if (a->markdown && (md = fopen(a->markdown, "w")) == NULL)
		rc = cli_fail("%s: cannot write the tables", a->markdown);
	if (md) {
		fprintf(md,
		        "Median ratio to the oracle over seeds %llu-%llu "
		        "(items/s; in bold: the most OOMs in one run, when "
		        "any), %s on %s:\n\n",
		        (unsigned long long)a->seed_lo,
		        (unsigned long long)a->seed_hi, a->o.model.name,
		        a->o.gpu);
		vgmo__bench_overview(md, sets, n);
		fputs("\n<details><summary>Per workload: ratio median (min), "
		      "OOMs, refused requests, latency, the setting found; "
		      "targets</summary>\n",
		      md);
	}
	for (size_t i = 0; i < n; i++) {
		int missed = vgmo__bench_targets(&sets[i], why, sizeof(why));

		vgmo__bench_table(stdout, &sets[i], false);
		if (md)
			vgmo__bench_table(md, &sets[i], true);
		if (missed == 0)
			puts("  targets: all met (every vgmo strategy: no OOM, "
			     "near the oracle, and as fast and as free of OOMs "
			     "as each baseline on every seed)");
		else if (missed > 0)
			printf("  targets: %d missed: %s\n", missed, why);
		if (md && missed > 0)
			fprintf(md, "\nTargets missed (%d): %s\n", missed, why);
		else if (md && missed == 0)
			fputs("\nTargets: all met.\n", md);
		missed_all += missed > 0 ? missed : 0;
		if (i + 1 < n)
			putchar('\n');
		json_array_append_new(list, vgmo__bench_json(&sets[i]));
		sec[i] = (vgmo__bench_section){sets[i].workload,
		                               &sets[i].opts[0], sets[i].res,
		                               sets[i].npolicies};
	}
	json_object_set_new(root, "version", json_string(VGMO_VERSION));
	json_object_set(root, "workloads", list);
	if (md)
		fputs("\n</details>\n", md);
	if (md && fclose(md) != 0 && rc == CLI_EXIT_OK)
		rc = cli_fail("%s: cannot write the tables", a->markdown);
	if (rc == CLI_EXIT_OK && a->output &&
	    json_dump_file(root, a->output,
	                   JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	                           JSON_REAL_PRECISION(6)) != 0)
		rc = cli_fail("%s: cannot write the results", a->output);
	if (rc == CLI_EXIT_OK && a->plot &&
	    vgmo__bench_svg(a->plot, sec, n, err, sizeof(err)) != VGMO_OK)
		rc = cli_fail("%s", err);
	if (rc == CLI_EXIT_OK && a->write_trace && n == 1)
		rc = write_trace(a, &sets[0]);
	json_decref(list);
	json_decref(root);
	if (rc == CLI_EXIT_OK && a->strict && missed_all > 0)
		rc = CLI_EXIT_FAILURE;
	return rc;
}

int cmd_benchmark(int argc, char **argv)
{
	vgmo__bench_set *sets = NULL;
	size_t n = 0;
	bench_args a;
	int rc = bench_parse_args(&a, argc, argv);

	if (rc != CLI_EXIT_OK)
		goto out;
	if (a.help) {
		bench_print_help();
		goto out;
	}
	if (a.list_truth) {
		bench_list_truth();
		goto out;
	}
	rc = bench_prepare(&a);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (a.sweep) {
		rc = bench_sweep(&a);
		goto out;
	}
	sets = calloc(BENCH_MAX_WORKLOADS, sizeof(*sets));
	if (sets == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	rc = bench_run_sets(&a, &a.o, sets, &n);
	if (rc == CLI_EXIT_OK)
		rc = report(&a, sets, n);
	for (size_t i = 0; i < n; i++)
		vgmo__bench_set_free(&sets[i]);
	free(sets);
out:
	if (a.have_file)
		vgmo__trace_free(&a.file);
	return rc;
}
