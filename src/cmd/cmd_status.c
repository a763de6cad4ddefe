/*
 * cmd_status.c - `vgmo status`. With an engine option (--backend, --sim-*,
 * --config, --nvml-library, a config flag, --sim-warmup) it builds an
 * engine in this process, lets the simulated workload warm the memory model
 * up, runs one optimization pass and prints a snapshot: the one-shot local
 * read. Otherwise it asks the daemon (GET /v1/status). Both print the same
 * table (status_table.c) from the same JSON, or the JSON itself.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "remote.h"
#include "csv_out.h"
#include "status_table.h"

#define DEFAULT_WARMUP 120.0 /* virtual seconds */
#define MAX_WARMUP 86400.0

enum { OPT_JSON = 1, OPT_SIM_WARMUP, OPT_FORMAT, OPT_FIELDS };

static const cli_option status_options[] = {
        {"json", NULL, "print the status as JSON (--format json)", OPT_JSON},
        CSV_OPTS_ROWS(OPT_FORMAT, OPT_FIELDS),
        {"sim-warmup", "SECONDS",
         "simulated seconds to run first (default 120; local read)",
         OPT_SIM_WARMUP},
        {NULL, NULL, NULL, 0}};

static const cli_group status_groups[] = {
        {"Options", status_options},
        {"Daemon (the default, without engine options)", remote_options},
        {"Engine options (read the GPUs in this process instead)",
         cli_engine_options},
        {"Configuration (local read; overrides --config and VGMO_* "
         "variables)",
         cli_config_options},
        {NULL, NULL}};

struct status_args {
	cli_engine_opts engine;
	remote_opts server;
	csv_opts out;
	csv_selection cols;
	bool help;
	bool local;  /* an engine option was given */
	bool remote; /* --server, --token-file or --cacert given */
	double warmup;
};

static void print_help(void)
{
	cli_print_help(
	        stdout, "status [options]",
	        "Prints the memory status of every GPU, as the daemon (`vgmo "
	        "serve`) sees it.\nWith an engine option it reads the GPUs "
	        "once in this process instead, runs one\noptimization pass "
	        "and prints that; on the simulated GPU the synthetic VLM\n"
	        "workload first runs for --sim-warmup virtual seconds (it "
	        "takes milliseconds).",
	        status_groups);
}

static int parse_option(void *ctx, const char *cmd, const cli_option *opt,
                        const char *value)
{
	struct status_args *a = ctx;

	switch (opt->id) {
	case OPT_JSON:
		return csv_opts_format(&a->out, cmd, "json");
	case OPT_FORMAT:
		return csv_opts_format(&a->out, cmd, value);
	case OPT_FIELDS:
		return csv_opts_fields(&a->out, value);
	case OPT_SIM_WARMUP:
		a->local = true;
		if (!cli_parse_double(value, &a->warmup) || a->warmup < 0.0 ||
		    a->warmup > MAX_WARMUP)
			return cli_usage_error(
			        cmd,
			        "invalid --sim-warmup '%s': not a "
			        "number of seconds in 0..%.0f",
			        value, MAX_WARMUP);
		return CLI_EXIT_OK;
	default:
		if (remote_opts_owns(opt->id)) {
			a->remote = true;
			return remote_opts_set(&a->server, cmd, opt, value);
		}
		a->local = true;
		return cli_engine_opts_set(&a->engine, cmd, opt, value);
	}
}

static int parse_args(struct status_args *a, int argc, char **argv)
{
	const char *cmd = argv[0];
	int rc;

	memset(a, 0, sizeof(*a));
	cli_engine_opts_init(&a->engine);
	remote_opts_init(&a->server);
	a->warmup = DEFAULT_WARMUP;
	rc = cli_parse_args(argc, argv, status_groups, parse_option, NULL, a,
	                    &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	rc = csv_opts_finish(&a->out, cmd, csv_gpu_columns, &a->cols);
	if (rc != CLI_EXIT_OK || a->out.list_fields)
		return rc;
	if (a->local && a->remote)
		return cli_usage_error(
		        cmd, "--server, --token-file and --cacert ask the "
		             "daemon; engine and configuration options read "
		             "the GPUs in this process: use one or the other");
	return CLI_EXIT_OK;
}

/* ----------------------------------------------------------- the daemon */

static int remote_status(const struct status_args *a)
{
	remote_response st = {0}, cfg = {0};
	remote *c = NULL;
	int rc;

	rc = remote_open(&c, &a->server);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = remote_call(c, "GET", "/v1/status", NULL, &st);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (a->out.format == CSV_FORMAT_JSON) {
		rc = remote_print_body(&st);
		goto out;
	}
	if (a->out.format == CSV_FORMAT_CSV) {
		csv_print(stdout, &a->cols, json_object_get(st.json, "gpus"));
		goto out;
	}
	rc = remote_call(c, "GET", "/v1/config", NULL, &cfg);
	if (rc != CLI_EXIT_OK)
		goto out;
	status_table_print(stdout, st.json, cfg.json, status_table_colour());
out:
	remote_response_free(&cfg);
	remote_response_free(&st);
	remote_close(c);
	return rc;
}

/* ----------------------------------------------------------- this process */

static bool workload_runs(const vgmo_engine *e, const vgmo_engine_options *opts)
{
	const char *workload = opts->sim.workload;

	return strcmp(vgmo_engine_backend(e), "sim") == 0 &&
	       (workload == NULL || strcmp(workload, "none") != 0);
}

/* Prints the snapshot as JSON, or as the table or CSV made from that
 * JSON. */
static int print_snapshot(const vgmo_snapshot *s, const struct status_args *a)
{
	char *text = vgmo_snapshot_status_json(s, 2);
	char *cfg_text = NULL;
	json_t *status = NULL, *cfg = NULL;
	int rc = CLI_EXIT_OK;

	if (text == NULL)
		return cli_fail("cannot format the status: %s",
		                vgmo_strerror(VGMO_ERR_NOMEM));
	if (a->out.format == CSV_FORMAT_JSON) {
		puts(text);
		goto out;
	}
	cfg_text = vgmo_config_to_json(vgmo_snapshot_config(s));
	status = json_loads(text, 0, NULL);
	cfg = cfg_text ? json_loads(cfg_text, 0, NULL) : NULL;
	if (status == NULL || cfg == NULL) {
		rc = cli_fail("cannot format the status: %s",
		              vgmo_strerror(VGMO_ERR_NOMEM));
		goto out;
	}
	if (a->out.format == CSV_FORMAT_CSV)
		csv_print(stdout, &a->cols, json_object_get(status, "gpus"));
	else
		status_table_print(stdout, status, cfg, status_table_colour());
out:
	json_decref(cfg);
	json_decref(status);
	free(cfg_text);
	free(text);
	return rc;
}

static int local_status(const struct status_args *a)
{
	vgmo_engine_options opts;
	vgmo_snapshot *snap = NULL;
	vgmo_engine *e = NULL;
	vgmo_result res;
	vgmo_config cfg;
	vgmo_err err;
	int rc;

	rc = cli_build_config(&a->engine, &cfg);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_engine_create(&a->engine, &cfg, &opts, &e);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (workload_runs(e, &opts) && a->warmup > 0.0) {
		err = vgmo_engine_sim_run(e, a->warmup);
		if (err != VGMO_OK) {
			rc = cli_fail("simulated workload failed: %s",
			              vgmo_strerror(err));
			goto out_engine;
		}
	}
	/* Not fatal: the status of a GPU that cannot be optimized (a device
	 * that is down) is what the user asked for. */
	memset(&res, 0, sizeof(res));
	err = vgmo_engine_optimize(e, true, &res);
	if (err != VGMO_OK)
		fprintf(stderr, "vgmo: optimization pass failed: %s\n",
		        res.error_message[0] ? res.error_message
		                             : vgmo_strerror(err));
	err = vgmo_engine_snapshot(e, &snap);
	if (err != VGMO_OK) {
		rc = cli_fail("cannot take a snapshot: %s", vgmo_strerror(err));
		goto out_engine;
	}
	rc = print_snapshot(snap, a);
	vgmo_snapshot_free(snap);
out_engine:
	vgmo_engine_destroy(e);
	return rc;
}

int cmd_status(int argc, char **argv)
{
	struct status_args a;
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			print_help();
		return rc;
	}
	if (a.out.list_fields) {
		csv_print_columns(stdout, csv_gpu_columns);
		return CLI_EXIT_OK;
	}
	return a.local ? local_status(&a) : remote_status(&a);
}
