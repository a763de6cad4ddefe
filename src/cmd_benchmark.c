/*
 * cmd_benchmark.c - `vgmo benchmark`: batch-size policies side by side on
 * the same workload, on the simulated GPU's virtual clock (lib/bench.h).
 * Prints a table, writes JSON (--output) and an SVG plot (--plot).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "trace.h"

#define MAX_POLICIES 16
#define MAX_WORKLOADS 8

enum {
	OPT_DURATION = 1,
	OPT_OUTPUT,
	OPT_WORKLOAD,
	OPT_TRACE,
	OPT_MODEL,
	OPT_GPU,
	OPT_POLICIES,
	OPT_SEED,
	OPT_PLOT,
	OPT_MAX_BATCH,
	OPT_UNIT,
	OPT_NO_PRIOR,
	OPT_CONFIG,
	OPT_WRITE_TRACE,
	OPT_QUIET,
};

static const cli_option options[] = {
        {"duration", "S", "virtual seconds per policy (default 300)",
         OPT_DURATION},
        {"output", "FILE", "write the results as JSON", OPT_OUTPUT},
        {"workload", "NAME|all",
         "docs, photos, mixed, drift, cotenant, or all (default)",
         OPT_WORKLOAD},
        {"trace", "FILE", "run a JSON Lines trace instead (docs/traces.md)",
         OPT_TRACE},
        {"model", "NAME|FILE", "model preset or JSON (default qwen2-vl-7b)",
         OPT_MODEL},
        {"gpu", "PRESET", "simulated GPU (default h100-80gb)", OPT_GPU},
        {"policies", "LIST", "comma-separated (default: all of them)",
         OPT_POLICIES},
        {"seed", "N", "seed of the workload and the simulator (default 1)",
         OPT_SEED},
        {"plot", "FILE.svg", "write memory and batch size over time", OPT_PLOT},
        {"max-batch-size", "N", "largest batch for every policy (256)",
         OPT_MAX_BATCH},
        {"unit", "tokens|items",
         "what vgmo's strategies count (default tokens)", OPT_UNIT},
        {"no-prior", NULL, "vgmo starts without the planner's estimate",
         OPT_NO_PRIOR},
        {"config", "FILE", "thresholds, reserve and intervals (JSON)",
         OPT_CONFIG},
        {"write-trace", "FILE", "also write the generated trace",
         OPT_WRITE_TRACE},
        {"quiet", NULL, "no progress bar", OPT_QUIET},
        {NULL, NULL, NULL, 0}};

static const cli_group groups[] = {{"Options", options}, {NULL, NULL}};

typedef struct args {
	vgmo__bench_opts o;
	const char *output, *workload, *trace, *model, *plot, *config;
	const char *write_trace;
	const char *policies[MAX_POLICIES]; /* point into policy_buf */
	size_t npolicies;
	char policy_buf[512];
	long max_batch;
	bool quiet, help;
} args;

static void print_help(void)
{
	const char *const *w;

	cli_print_help(
	        stdout, "benchmark [options]",
	        "Runs batch-size policies side by side on the same workload "
	        "on the simulated\nGPU, on a virtual clock (300 s take well "
	        "under a second each): vgmo's four\nstrategies, the seed's "
	        "fixed batch and formula, Accelerate's halve-on-oom,\n"
	        "Lightning's binsearch, and an oracle that knows every "
	        "batch's true peak.",
	        groups);
	fputs("\nWorkloads:\n", stdout);
	for (w = vgmo__workloads(); *w; w++)
		printf("  %-10s %s\n", *w, vgmo__workload_about(*w));
	fputs("\nPolicies:\n", stdout);
	for (w = vgmo__bench_policies(); *w; w++)
		printf("  %-13s %s\n", *w, vgmo__bench_policy_about(*w));
}

static int set_policies(args *a, const char *cmd, const char *list)
{
	char *save = NULL, *tok;

	if (strlen(list) >= sizeof(a->policy_buf))
		return cli_usage_error(cmd, "--policies: list too long");
	strcpy(a->policy_buf, list);
	a->npolicies = 0;
	for (tok = strtok_r(a->policy_buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (vgmo__bench_policy_about(tok) == NULL)
			return cli_usage_error(
			        cmd,
			        "--policies: unknown policy '%s' (see "
			        "--help)",
			        tok);
		if (a->npolicies == MAX_POLICIES)
			return cli_usage_error(cmd, "--policies: too many");
		a->policies[a->npolicies++] = tok;
	}
	if (a->npolicies == 0)
		return cli_usage_error(cmd, "--policies: empty list");
	return CLI_EXIT_OK;
}

static int parse_value(args *a, const char *cmd, const cli_option *opt,
                       const char *v)
{
	long l;

	switch (opt->id) {
	case OPT_DURATION:
		if (!cli_parse_double(v, &a->o.duration) ||
		    !(a->o.duration > 0) || a->o.duration > 86400 * 7)
			return cli_usage_error(
			        cmd,
			        "invalid --duration '%s': not a "
			        "number of seconds in (0, 604800]",
			        v);
		return CLI_EXIT_OK;
	case OPT_SEED:
		if (!cli_parse_u64(v, &a->o.seed))
			return cli_usage_error(cmd,
			                       "invalid --seed '%s': not an "
			                       "unsigned 64-bit integer",
			                       v);
		return CLI_EXIT_OK;
	case OPT_MAX_BATCH:
		if (!cli_parse_long(v, 1, 100000, &l))
			return cli_usage_error(cmd,
			                       "invalid --max-batch-size '%s': "
			                       "not an integer in 1..100000",
			                       v);
		a->max_batch = l;
		return CLI_EXIT_OK;
	case OPT_UNIT:
		if (strcmp(v, "tokens") && strcmp(v, "items"))
			return cli_usage_error(cmd,
			                       "invalid --unit '%s' (choose "
			                       "tokens or items)",
			                       v);
		a->o.unit_items = strcmp(v, "items") == 0;
		return CLI_EXIT_OK;
	case OPT_GPU:
		if (vgmo_gpu_preset_memory(v, &(uint64_t){0}) != VGMO_OK)
			return cli_usage_error(
			        cmd,
			        "unknown --gpu '%s' (choose "
			        "h100-80gb, a100-40gb or l4-24gb)",
			        v);
		a->o.gpu = v;
		return CLI_EXIT_OK;
	case OPT_POLICIES:
		return set_policies(a, cmd, v);
	case OPT_WORKLOAD:
		if (strcmp(v, "all") && vgmo__workload_about(v) == NULL)
			return cli_usage_error(
			        cmd,
			        "unknown --workload '%s' (choose "
			        "docs, photos, mixed, drift, "
			        "cotenant or all)",
			        v);
		a->workload = v;
		return CLI_EXIT_OK;
	default:
		break;
	}
	return CLI_EXIT_OK;
}

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *v)
{
	args *a = ctx;

	switch (opt->id) {
	case OPT_OUTPUT:
		a->output = v;
		break;
	case OPT_TRACE:
		a->trace = v;
		break;
	case OPT_MODEL:
		a->model = v;
		break;
	case OPT_PLOT:
		a->plot = v;
		break;
	case OPT_CONFIG:
		a->config = v;
		break;
	case OPT_WRITE_TRACE:
		a->write_trace = v;
		break;
	case OPT_NO_PRIOR:
		a->o.no_prior = true;
		break;
	case OPT_QUIET:
		a->quiet = true;
		break;
	default:
		return parse_value(a, cmd, opt, v);
	}
	return CLI_EXIT_OK;
}

static int parse_args(args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	vgmo__bench_opts_init(&a->o);
	a->workload = "all";
	rc = cli_parse_args(argc, argv, groups, on_option, NULL, a, &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	if (a->trace && strcmp(a->workload, "all") != 0)
		return cli_usage_error(argv[0],
		                       "--trace and --workload exclude "
		                       "each other");
	if (a->write_trace && (a->trace || !strcmp(a->workload, "all")))
		return cli_usage_error(argv[0], "--write-trace needs one "
		                                "--workload NAME");
	return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- run */

typedef struct progress {
	const char *workload, *policy;
	bool on;
} progress;

static void show_progress(void *ctx, double fraction)
{
	const progress *p = ctx;
	int filled = (int)(fraction * 30);

	if (!p->on)
		return;
	fprintf(stderr, "\r  %-9s %-13s [%.*s%*s] %3.0f%%", p->workload,
	        p->policy, filled, "##############################",
	        30 - filled, "", 100 * fraction);
	fflush(stderr);
}

/* Settings every workload shares: model, configuration, batch bound. */
static int prepare(args *a)
{
	char err[1024] = "";

	if (a->model && vgmo_model_resolve(a->model, &a->o.model, err,
	                                   sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (a->config) {
		/* The benchmark's own default maximum, unless the file says. */
		a->o.cfg.max_batch_size = 16;
		if (vgmo_config_load_file(&a->o.cfg, a->config, err,
		                          sizeof(err)) != VGMO_OK)
			return cli_fail("%s", err);
		if (a->o.cfg.max_batch_size == 16 && a->max_batch == 0)
			a->o.cfg.max_batch_size = 256;
	}
	if (a->max_batch)
		a->o.cfg.max_batch_size = (int)a->max_batch;
	if (a->o.cfg.min_batch_size > a->o.cfg.max_batch_size)
		a->o.cfg.min_batch_size = a->o.cfg.max_batch_size;
	if (a->npolicies == 0)
		for (const char *const *p = vgmo__bench_policies(); *p; p++)
			a->policies[a->npolicies++] = *p;
	return CLI_EXIT_OK;
}

static int load_trace(const args *a, const char *workload, vgmo__trace *t)
{
	char err[1024] = "";
	uint64_t total = 0;
	FILE *f;
	vgmo_err rc;

	if (a->trace)
		rc = vgmo__trace_load(t, a->trace, err, sizeof(err));
	else if (vgmo_gpu_preset_memory(a->o.gpu, &total) == VGMO_OK)
		rc = vgmo__trace_generate(t, workload, a->o.duration, a->o.seed,
		                          total, err, sizeof(err));
	else
		rc = VGMO_ERR_NOT_FOUND;
	if (rc != VGMO_OK)
		return cli_fail("%s", err[0] ? err : vgmo_strerror(rc));
	if (a->write_trace) {
		f = fopen(a->write_trace, "w");
		rc = f ? vgmo__trace_write(t, f) : VGMO_ERR_IO;
		if (f && fclose(f) != 0)
			rc = VGMO_ERR_IO;
		if (rc != VGMO_OK)
			return cli_fail("%s: cannot write the trace",
			                a->write_trace);
	}
	return CLI_EXIT_OK;
}

/* Runs every policy (and the oracle, for the ratios) on one workload. */
static int run_workload(const args *a, vgmo__bench_opts *o, const char *name,
                        vgmo__bench_result *res, size_t *nres)
{
	progress pr = {name, NULL, !a->quiet && isatty(STDERR_FILENO)};
	const char *list[MAX_POLICIES + 1];
	size_t n = 0;
	bool oracle = false;
	char err[1024] = "";

	for (size_t i = 0; i < a->npolicies; i++) {
		list[n++] = a->policies[i];
		oracle = oracle || strcmp(a->policies[i], "oracle") == 0;
	}
	if (!oracle)
		list[n++] = "oracle";
	o->progress = show_progress;
	o->progress_ctx = &pr;
	for (size_t i = 0; i < n; i++) {
		pr.policy = list[i];
		if (vgmo__bench_run(o, list[i], &res[i], err, sizeof(err)) !=
		    VGMO_OK) {
			for (size_t k = 0; k < i; k++)
				vgmo__bench_result_free(&res[k]);
			if (pr.on)
				fputc('\n', stderr);
			return cli_fail("%s", err);
		}
	}
	if (pr.on)
		fputs("\r\033[K", stderr);
	vgmo__bench_ratios(res, n);
	*nres = n;
	return CLI_EXIT_OK;
}

typedef struct workload_run {
	const char *name;
	vgmo__trace trace;
	vgmo__bench_opts opts;
	vgmo__bench_result res[MAX_POLICIES + 1];
	size_t n;
} workload_run;

static int report(const args *a, workload_run *w, size_t nw)
{
	vgmo__bench_section sec[MAX_WORKLOADS];
	json_t *root = json_object(), *list = json_array();
	char why[1024], err[1024] = "";
	int rc = CLI_EXIT_OK;

	for (size_t i = 0; i < nw; i++) {
		int missed;

		vgmo__bench_table(stdout, w[i].name, &w[i].opts, w[i].res,
		                  w[i].n);
		missed =
		        vgmo__bench_targets(w[i].res, w[i].n, why, sizeof(why));
		if (missed == 0)
			puts("  targets: all met");
		else if (missed > 0)
			printf("  targets: %d missed: %s\n", missed, why);
		if (i + 1 < nw)
			putchar('\n');
		json_array_append_new(list,
		                      vgmo__bench_json(w[i].name, &w[i].opts,
		                                       w[i].res, w[i].n));
		sec[i] = (vgmo__bench_section){w[i].name, &w[i].opts, w[i].res,
		                               w[i].n};
	}
	json_object_set_new(root, "version", json_string(VGMO_VERSION));
	json_object_set(root, "workloads", list);
	if (a->output && json_dump_file(root, a->output,
	                                JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	                                        JSON_REAL_PRECISION(6)) != 0)
		rc = cli_fail("%s: cannot write the results", a->output);
	if (rc == CLI_EXIT_OK && a->plot &&
	    vgmo__bench_svg(a->plot, sec, nw, err, sizeof(err)) != VGMO_OK)
		rc = cli_fail("%s", err);
	json_decref(list);
	json_decref(root);
	return rc;
}

int cmd_benchmark(int argc, char **argv)
{
	workload_run *w = NULL;
	const char *single[2] = {NULL, NULL};
	const char *const *names = single;
	size_t nw = 0;
	args a;
	int rc = parse_args(&a, argc, argv);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (a.help) {
		print_help();
		return CLI_EXIT_OK;
	}
	rc = prepare(&a);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (a.trace) {
		single[0] = a.trace;
		names = single;
	} else if (strcmp(a.workload, "all") == 0) {
		names = vgmo__workloads();
	} else {
		single[0] = a.workload;
		names = single;
	}
	w = calloc(MAX_WORKLOADS, sizeof(*w));
	if (w == NULL)
		return cli_fail("out of memory");
	for (; names[nw] && nw < MAX_WORKLOADS && rc == CLI_EXIT_OK; nw++) {
		w[nw].name = names[nw];
		w[nw].opts = a.o;
		rc = load_trace(&a, names[nw], &w[nw].trace);
		w[nw].opts.trace = &w[nw].trace;
		if (rc == CLI_EXIT_OK)
			rc = run_workload(&a, &w[nw].opts, names[nw], w[nw].res,
			                  &w[nw].n);
	}
	if (rc == CLI_EXIT_OK)
		rc = report(&a, w, nw);
	for (size_t i = 0; i < nw; i++) {
		for (size_t k = 0; k < w[i].n; k++)
			vgmo__bench_result_free(&w[i].res[k]);
		vgmo__trace_free(&w[i].trace);
	}
	free(w);
	return rc;
}
