/*
 * cmd_benchmark_args.c - `vgmo benchmark`'s command line: its options and
 * help, their values checked (policies, seeds, durations, truth
 * parameters), and the settings every workload shares prepared from them
 * (model, configuration, batch bound, a --trace file loaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "cmd_benchmark.h"
#include "trace.h"

enum {
	OPT_DURATION = 1,
	OPT_OUTPUT,
	OPT_MARKDOWN,
	OPT_WORKLOAD,
	OPT_TRACE,
	OPT_MODEL,
	OPT_MAX_PIXELS,
	OPT_GPU,
	OPT_POLICIES,
	OPT_SEED,
	OPT_SEEDS,
	OPT_PLOT,
	OPT_MAX_BATCH,
	OPT_UNIT,
	OPT_NO_PRIOR,
	OPT_UNDECLARED,
	OPT_CONFIG,
	OPT_WRITE_TRACE,
	OPT_TRUTH,
	OPT_SWEEP,
	OPT_FIXED,
	OPT_TOKEN_BUDGET,
	OPT_STRICT,
	OPT_LIST_TRUTH,
	OPT_QUIET,
};

static const cli_option options[] = {
        {"workload", "NAME|all", "a built-in workload, or all (default)",
         OPT_WORKLOAD},
        {"trace", "FILE", "run a JSON Lines trace instead (docs/traces.md)",
         OPT_TRACE},
        {"gpu", "PRESET", "simulated GPU (default h100-80gb)", OPT_GPU},
        {"model", "NAME|FILE", "model preset or JSON (default qwen2-vl-7b)",
         OPT_MODEL},
        {"max-pixels", "N", "cap a dynamic-resolution model's image pixels",
         OPT_MAX_PIXELS},
        {"seeds", "A-B|N", "seeds of workload and truth (default 1-10)",
         OPT_SEEDS},
        {"seed", "N", "one seed (same as --seeds N)", OPT_SEED},
        {"duration", "S|auto",
         "virtual seconds per run (default auto: 3600 s, longer until the "
         "oracle runs 200 batches)",
         OPT_DURATION},
        {"policies", "LIST", "comma-separated (default: all of them)",
         OPT_POLICIES},
        {"max-batch-size", "N",
         "largest batch for every policy but seed (default 256, above "
         "the daemon's 16 so that no policy is capped)",
         OPT_MAX_BATCH},
        {"unit", "tokens|items",
         "what vgmo's strategies count (default tokens)", OPT_UNIT},
        {"no-prior", NULL, "vgmo starts without the planner's estimate",
         OPT_NO_PRIOR},
        {"undeclared", NULL,
         "the worker does not declare its attention and logits (vgmo "
         "learns their costs from the reports)",
         OPT_UNDECLARED},
        {"config", "FILE", "thresholds, reserve and intervals (JSON)",
         OPT_CONFIG},
        {"truth", "KEY=VALUE",
         "set a truth-model parameter (repeatable; see below)", OPT_TRUTH},
        {"sweep", "KEY", "run across a truth parameter's documented range",
         OPT_SWEEP},
        {"fixed", "N", "the batch size of policy fixed (default 4)", OPT_FIXED},
        {"token-budget", "N", "the budget of policy tokens", OPT_TOKEN_BUDGET},
        {"output", "FILE", "write the results as JSON", OPT_OUTPUT},
        {"markdown", "FILE", "write the tables as Markdown", OPT_MARKDOWN},
        {"plot", "FILE.svg",
         "write memory and batch size over time (first "
         "seed; with --sweep: ratio across the range)",
         OPT_PLOT},
        {"write-trace", "FILE", "also write the generated trace (first seed)",
         OPT_WRITE_TRACE},
        {"strict", NULL, "exit 1 when a target is missed", OPT_STRICT},
        {"list-truth", NULL,
         "print the truth-model parameters as a Markdown table",
         OPT_LIST_TRUTH},
        {"quiet", NULL, "no progress", OPT_QUIET},
        {NULL, NULL, NULL, 0}};

static const cli_group groups[] = {{"Options", options}, {NULL, NULL}};

void bench_print_help(void)
{
	const vgmo__truth_param_info *t = vgmo__truth_param_table();
	const char *const *w;

	cli_print_help(
	        stdout, "benchmark [options]",
	        "Runs batch-size policies side by side on the same workloads "
	        "on "
	        "the simulated\nGPU, on a virtual clock, over seeds: vgmo's "
	        "four "
	        "strategies, Accelerate's and\nLightning's batch-size finders "
	        "as their users run them, the seed's formula, the\nbest fixed "
	        "batch size and the best static token budget in hindsight, "
	        "and an\noracle that knows every batch's true memory need. The "
	        "truth the simulator\nruns is a model of its own, not vgmo's "
	        "planner (docs/benchmarks.md).",
	        groups);
	fputs("\nWorkloads:\n", stdout);
	for (w = vgmo__workloads(); *w; w++)
		printf("  %-13s %s\n", *w, vgmo__workload_about(*w));
	fputs("\nPolicies:\n", stdout);
	for (w = vgmo__bench_policies(); *w; w++)
		printf("  %-13s %s\n", *w, vgmo__bench_policy_about(*w));
	printf("  %-13s %s\n  %-13s %s\n", "fixed",
	       vgmo__bench_policy_about("fixed"), "tokens",
	       vgmo__bench_policy_about("tokens"));
	fputs("\nTruth-model parameters (--truth KEY=VALUE, --sweep KEY):\n",
	      stdout);
	for (int i = 0; i < VGMO__TP_COUNT; i++)
		printf("  %-17s default %g, range [%g, %g]\n", t[i].key,
		       t[i].def, t[i].lo, t[i].hi);
	fputs("\nTargets, checked per workload (docs/benchmarks.md): every "
	      "vgmo "
	      "strategy without\nOOMs; at least as fast as each baseline with "
	      "no more OOMs, seed by seed; median\nratio to the oracle >= "
	      "0.97 for balanced and 0.98 for aggressive and adaptive\n(0.92 "
	      "for balanced on 24 GB cards).\n",
	      stdout);
}

void bench_list_truth(void)
{
	const vgmo__truth_param_info *t = vgmo__truth_param_table();

	puts("| parameter | default | range | what it stands for | where the "
	     "range comes from |\n| --- | ---: | --- | --- | --- |");
	for (int i = 0; i < VGMO__TP_COUNT; i++)
		printf("| `%s` | %g | %s%g to %g | %s | %s |\n", t[i].key,
		       t[i].def, t[i].discrete ? "integers " : "", t[i].lo,
		       t[i].hi, t[i].about, t[i].source);
}

static int set_policies(bench_args *a, const char *cmd, const char *list)
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
		if (a->npolicies == BENCH_MAX_POLICIES)
			return cli_usage_error(cmd, "--policies: too many");
		a->policies[a->npolicies++] = tok;
	}
	if (a->npolicies == 0)
		return cli_usage_error(cmd, "--policies: empty list");
	return CLI_EXIT_OK;
}

static int set_seeds(bench_args *a, const char *cmd, const char *v)
{
	const char *dash = strchr(v, '-');
	char lo[32];
	size_t n = dash ? (size_t)(dash - v) : strlen(v);

	if (n == 0 || n >= sizeof(lo))
		goto bad;
	memcpy(lo, v, n);
	lo[n] = '\0';
	if (!cli_parse_u64(lo, &a->seed_lo))
		goto bad;
	a->seed_hi = a->seed_lo;
	if (dash && !cli_parse_u64(dash + 1, &a->seed_hi))
		goto bad;
	if (a->seed_hi < a->seed_lo || a->seed_hi - a->seed_lo >= 1000)
		goto bad;
	return CLI_EXIT_OK;
bad:
	return cli_usage_error(cmd,
	                       "invalid --seeds '%s': expected N or A-B (A <= "
	                       "B, at most 1000 seeds)",
	                       v);
}

static int parse_number(bench_args *a, const char *cmd, const cli_option *opt,
                        const char *v)
{
	long l;

	switch (opt->id) {
	case OPT_DURATION:
		if (strcmp(v, "auto") == 0) {
			a->auto_duration = true;
			return CLI_EXIT_OK;
		}
		if (!cli_parse_double(v, &a->o.duration) ||
		    !(a->o.duration > 0) || a->o.duration > 500000)
			return cli_usage_error(
			        cmd,
			        "invalid --duration '%s': auto, or a number "
			        "of seconds in (0, 500000]",
			        v);
		a->auto_duration = false;
		return CLI_EXIT_OK;
	case OPT_MAX_BATCH:
		if (!cli_parse_long(v, 1, 100000, &l))
			return cli_usage_error(cmd,
			                       "invalid --max-batch-size '%s': "
			                       "not an integer in 1..100000",
			                       v);
		a->max_batch = l;
		return CLI_EXIT_OK;
	case OPT_MAX_PIXELS:
		if (!cli_parse_long(v, 3136, 1L << 30, &l))
			return cli_usage_error(
			        cmd,
			        "invalid --max-pixels '%s': not an "
			        "integer in 3136..%ld",
			        v, 1L << 30);
		a->max_pixels = l;
		return CLI_EXIT_OK;
	case OPT_FIXED:
		if (!cli_parse_long(v, 1, 100000, &l))
			return cli_usage_error(cmd,
			                       "invalid --fixed '%s': not an "
			                       "integer in 1..100000",
			                       v);
		a->o.fixed_size = (int)l;
		return CLI_EXIT_OK;
	case OPT_TOKEN_BUDGET:
		if (!cli_parse_long(v, 1, 1000000000L, &l))
			return cli_usage_error(
			        cmd,
			        "invalid --token-budget '%s': not "
			        "an integer in 1..1000000000",
			        v);
		a->o.token_budget = (double)l;
		return CLI_EXIT_OK;
	default:
		return CLI_EXIT_OK;
	}
}

static int parse_value(bench_args *a, const char *cmd, const cli_option *opt,
                       const char *v)
{
	char err[256];
	int k;

	switch (opt->id) {
	case OPT_SEED:
	case OPT_SEEDS:
		return set_seeds(a, cmd, v);
	case OPT_UNIT:
		if (strcmp(v, "tokens") && strcmp(v, "items"))
			return cli_usage_error(cmd,
			                       "invalid --unit '%s' (choose "
			                       "tokens or items)",
			                       v);
		a->o.unit_items = strcmp(v, "items") == 0;
		return CLI_EXIT_OK;
	case OPT_GPU:
		if (vgmo_gpu_preset_memory(v, &(uint64_t){0}) != VGMO_OK) {
			char known[256];

			cli_preset_list(known, sizeof(known));
			return cli_usage_error(cmd,
			                       "unknown --gpu '%s' (choose "
			                       "one of %s)",
			                       v, known);
		}
		a->o.gpu = v;
		return CLI_EXIT_OK;
	case OPT_POLICIES:
		return set_policies(a, cmd, v);
	case OPT_WORKLOAD:
		if (strcmp(v, "all") && vgmo__workload_about(v) == NULL)
			return cli_usage_error(cmd,
			                       "unknown --workload '%s' (see "
			                       "--help for the list, or all)",
			                       v);
		a->workload = v;
		return CLI_EXIT_OK;
	case OPT_TRUTH:
		if (vgmo__truth_param_parse(&a->o.truth, v, err, sizeof(err)) !=
		    VGMO_OK)
			return cli_usage_error(cmd, "--truth: %s", err);
		k = vgmo__truth_param_index(strtok(strcpy(err, v), "="));
		if (k >= 0)
			a->o.truth_set[k] = true;
		return CLI_EXIT_OK;
	case OPT_SWEEP:
		if (vgmo__truth_param_index(v) < 0)
			return cli_usage_error(
			        cmd,
			        "--sweep: unknown truth parameter "
			        "'%s' (see --help)",
			        v);
		a->sweep = v;
		return CLI_EXIT_OK;
	default:
		return parse_number(a, cmd, opt, v);
	}
}

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *v)
{
	bench_args *a = ctx;

	switch (opt->id) {
	case OPT_OUTPUT:
		a->output = v;
		break;
	case OPT_MARKDOWN:
		a->markdown = v;
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
	case OPT_UNDECLARED:
		a->o.undeclared = true;
		break;
	case OPT_STRICT:
		a->strict = true;
		break;
	case OPT_LIST_TRUTH:
		a->list_truth = true;
		break;
	case OPT_QUIET:
		a->quiet = true;
		break;
	default:
		return parse_value(a, cmd, opt, v);
	}
	return CLI_EXIT_OK;
}

int bench_parse_args(bench_args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	vgmo__bench_opts_init(&a->o);
	a->workload = "all";
	a->seed_lo = 1;
	a->seed_hi = 10;
	a->auto_duration = true;
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

/* Settings every workload shares: model, configuration, batch bound. */
int bench_prepare(bench_args *a)
{
	char err[1024] = "";

	if (a->model && vgmo_model_resolve(a->model, &a->o.model, err,
	                                   sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (a->max_pixels) {
		if (a->o.model.image_rule != VGMO_IMAGE_PIXELS)
			return cli_fail("--max-pixels: model %s does not size "
			                "images by pixels",
			                a->o.model.name);
		a->o.model.max_pixels = (uint64_t)a->max_pixels;
		if (a->o.model.min_pixels > a->o.model.max_pixels)
			a->o.model.min_pixels = a->o.model.max_pixels;
	}
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
	for (size_t i = 0; i < a->npolicies; i++)
		if (strcmp(a->policies[i], "tokens") == 0 &&
		    !(a->o.token_budget >= 1))
			return cli_fail("policy tokens needs --token-budget N");
	if (a->trace) {
		if (vgmo__trace_load(&a->file, a->trace, err, sizeof(err)) !=
		    VGMO_OK)
			return cli_fail("%s", err);
		a->have_file = true;
		if (a->auto_duration) {
			const vgmo__trace *t = &a->file;

			/* The whole trace, and the queue it leaves. */
			a->o.duration = t->req[t->nreq - 1].t + 1;
			a->auto_duration = false;
		}
	}
	return CLI_EXIT_OK;
}
