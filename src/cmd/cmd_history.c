/*
 * cmd_history.c - `vgmo history [--limit N]`: the daemon's optimization
 * history (GET /v1/history), oldest first, one line per pass.
 */
#include <string.h>

#include "cli.h"
#include "remote.h"
#include "csv_out.h"

#define LIMIT_MAX 10000L

enum { OPT_JSON = 1, OPT_LIMIT, OPT_FORMAT, OPT_FIELDS };

static const cli_option history_options[] = {
        {"limit", "N", "the last N entries, 1..10000 (default 100)", OPT_LIMIT},
        {"json", NULL, "print the daemon's JSON answer (--format json)",
         OPT_JSON},
        CSV_OPTS_ROWS(OPT_FORMAT, OPT_FIELDS),
        {NULL, NULL, NULL, 0}};

static const cli_group history_groups[] = {
        {"Options", history_options}, {"Daemon", remote_options}, {NULL, NULL}};

struct history_args {
	remote_opts remote;
	long limit; /* 0: the daemon's default */
	csv_opts out;
	csv_selection cols;
	bool help;
};

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	struct history_args *a = ctx;

	if (opt->id == OPT_JSON)
		return csv_opts_format(&a->out, cmd, "json");
	if (opt->id == OPT_FORMAT)
		return csv_opts_format(&a->out, cmd, value);
	if (opt->id == OPT_FIELDS)
		return csv_opts_fields(&a->out, value);
	if (opt->id == OPT_LIMIT &&
	    !cli_parse_long(value, 1, LIMIT_MAX, &a->limit))
		return cli_usage_error(cmd,
		                       "invalid --limit '%s': not an integer "
		                       "in 1..%ld",
		                       value, LIMIT_MAX);
	return CLI_EXIT_OK;
}

static int parse_args(struct history_args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	remote_opts_init(&a->remote);
	rc = remote_parse_args(argc, argv, history_groups, &a->remote,
	                       on_option, NULL, a, &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	return csv_opts_finish(&a->out, argv[0], csv_history_columns, &a->cols);
}

/* "10 -> 8", "8", or "-". */
static void batch_text(const json_t *r, char *buf, size_t size)
{
	double old_size, new_size;

	if (!remote_json_number(r, "new_batch_size", &new_size))
		snprintf(buf, size, "-");
	else if (remote_json_number(r, "old_batch_size", &old_size))
		snprintf(buf, size, "%.0f -> %.0f", old_size, new_size);
	else
		snprintf(buf, size, "%.0f", new_size);
}

static void print_history(const json_t *history)
{
	const json_t *r;
	size_t i;

	if (json_array_size(history) == 0) {
		puts("no optimization recorded yet");
		return;
	}
	printf("%-19s  %-12s  %-33s  %-3s  %-9s  %9s  %s\n", "TIME", "WORKER",
	       "ACTION", "OK", "BATCH", "FREED MiB", "DETAIL");
	json_array_foreach(history, i, r)
	{
		const char *action = remote_json_string(r, "action_taken");
		const char *error = remote_json_string(r, "error_message");
		const char *reason = remote_json_string(r, "reason");
		const char *worker = remote_json_string(r, "worker");
		char when[32], batch[32], freed[32];
		double t = 0, mib;

		remote_json_number(r, "timestamp", &t);
		remote_format_time(t, when, sizeof(when));
		batch_text(r, batch, sizeof(batch));
		if (remote_json_number(r, "memory_freed_mb", &mib))
			snprintf(freed, sizeof(freed), "%.1f", mib);
		else
			snprintf(freed, sizeof(freed), "-");
		printf("%-19s  %-12s  %-33s  %-3s  %-9s  %9s  %s\n", when,
		       worker ? worker : "-", action ? action : "-",
		       json_is_true(json_object_get(r, "success")) ? "yes"
		                                                   : "no",
		       batch, freed, error ? error : (reason ? reason : ""));
	}
}

int cmd_history(int argc, char **argv)
{
	struct history_args a;
	remote_response r = {0};
	const json_t *history;
	remote *c = NULL;
	char path[64];
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			cli_print_help(
			        stdout, "history [--limit N] [options]",
			        "Prints the daemon's optimization history, "
			        "oldest first: when, what, whether\nit "
			        "succeeded, the batch size change, the "
			        "memory freed, and why.",
			        history_groups);
		return rc;
	}
	if (a.out.list_fields) {
		csv_print_columns(stdout, csv_history_columns);
		return CLI_EXIT_OK;
	}
	if (a.limit > 0)
		snprintf(path, sizeof(path), "/v1/history?limit=%ld", a.limit);
	else
		snprintf(path, sizeof(path), "/v1/history");
	rc = remote_open(&c, &a.remote);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = remote_call(c, "GET", path, NULL, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	history = json_object_get(r.json, "history");
	if (a.out.format == CSV_FORMAT_JSON)
		rc = remote_print_body(&r);
	else if (json_is_array(history) && a.out.format == CSV_FORMAT_CSV)
		csv_print(stdout, &a.cols, history);
	else if (json_is_array(history))
		print_history(history);
	else
		rc = cli_fail("the daemon's answer has no \"history\" list");
out:
	remote_response_free(&r);
	remote_close(c);
	return rc;
}
