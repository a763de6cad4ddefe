/*
 * cmd_batch.c - `vgmo set-batch-size N|auto`: sets the manual batch size of
 * the default worker on the daemon (PUT /v1/batch-size), or clears it.
 * Outside [min_batch_size, max_batch_size] is refused before asking, as
 * the seed did (the daemon refuses it too).
 */
#include <limits.h>
#include <string.h>

#include "cli.h"
#include "remote.h"

enum { OPT_JSON = 1 };

static const cli_option batch_options[] = {
        {"json", NULL, "print the daemon's JSON answer", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group batch_groups[] = {
        {"Options", batch_options}, {"Daemon", remote_options}, {NULL, NULL}};

struct batch_args {
	remote_opts remote;
	bool json;
	bool help;
	bool clear;            /* "auto" */
	const char *size_text; /* N or "auto", as given */
	long size;
};

static int parse_size(struct batch_args *a, const char *cmd, const char *s)
{
	if (strcmp(s, "auto") == 0) {
		a->clear = true;
		return CLI_EXIT_OK;
	}
	if (!cli_parse_long(s, INT_MIN, INT_MAX, &a->size))
		return cli_usage_error(cmd,
		                       "invalid batch size '%s': not an "
		                       "integer (or 'auto')",
		                       s);
	return CLI_EXIT_OK;
}

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	struct batch_args *a = ctx;

	(void)cmd;
	(void)value;
	a->json = a->json || opt->id == OPT_JSON;
	return CLI_EXIT_OK;
}

static int on_arg(void *ctx, const char *cmd, const char *value)
{
	struct batch_args *a = ctx;

	if (a->size_text != NULL)
		return cli_usage_error(cmd, "unexpected argument '%s'", value);
	a->size_text = value;
	return CLI_EXIT_OK;
}

static int parse_args(struct batch_args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	remote_opts_init(&a->remote);
	rc = remote_parse_args(argc, argv, batch_groups, &a->remote, on_option,
	                       on_arg, a, &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	if (a->size_text == NULL)
		return cli_usage_error(argv[0], "missing the batch size N (or "
		                                "'auto')");
	return parse_size(a, argv[0], a->size_text);
}

/* The seed's check, against the daemon's configuration. */
static int check_range(remote *c, long size)
{
	remote_response r = {0};
	double lo, hi;
	int rc;

	rc = remote_call(c, "GET", "/v1/config", NULL, &r);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (remote_json_number(r.json, "min_batch_size", &lo) &&
	    remote_json_number(r.json, "max_batch_size", &hi) &&
	    ((double)size < lo || (double)size > hi))
		rc = cli_fail("invalid batch size %ld: must be between %.0f "
		              "and %.0f (min_batch_size and max_batch_size)",
		              size, lo, hi);
	remote_response_free(&r);
	return rc;
}

static void print_answer(const json_t *j, bool cleared)
{
	double size = 0;
	char batch[80];

	remote_json_number(j, "batch_size", &size);
	if (cleared)
		printf("manual batch size cleared; the optimizer sets it "
		       "again\n");
	else if (json_is_number(json_object_get(j, "manual_batch_size")))
		printf("batch size set to %.0f (manual; lasts until "
		       "'vgmo set-batch-size auto')\n",
		       size);
	remote_batch_text(j, "batch_size", batch, sizeof(batch));
	printf("batch size: %s\n", batch);
}

int cmd_set_batch_size(int argc, char **argv)
{
	remote_response r = {0};
	struct batch_args a;
	json_t *body = NULL;
	remote *c = NULL;
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			cli_print_help(
			        stdout, "set-batch-size N|auto [options]",
			        "Sets the batch size of the daemon's default "
			        "worker by hand. It must lie in\n"
			        "[min_batch_size, max_batch_size] and lasts "
			        "(restarts included) until\n'vgmo "
			        "set-batch-size auto' hands it back to the "
			        "optimizer.",
			        batch_groups);
		return rc;
	}
	rc = remote_open(&c, &a.remote);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (!a.clear) {
		rc = check_range(c, a.size);
		if (rc != CLI_EXIT_OK)
			goto out;
	}
	body = json_pack("{s:o}", "batch_size",
	                 a.clear ? json_null() : json_integer(a.size));
	if (body == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	rc = remote_call(c, "PUT", "/v1/batch-size", body, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (a.json)
		rc = remote_print_body(&r);
	else
		print_answer(r.json, a.clear);
out:
	json_decref(body);
	remote_response_free(&r);
	remote_close(c);
	return rc;
}
