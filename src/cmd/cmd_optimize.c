/*
 * cmd_optimize.c - `vgmo optimize`: asks the daemon for one optimization
 * pass now (POST /v1/optimize) and prints what it did.
 */
#include <string.h>

#include "cli.h"
#include "remote.h"

enum { OPT_JSON = 1 };

static const cli_option optimize_options[] = {
        {"json", NULL, "print the daemon's JSON answer", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group optimize_groups[] = {{"Options", optimize_options},
                                            {"Daemon", remote_options},
                                            {NULL, NULL}};

static const char *yes_no(const json_t *r, const char *key)
{
	return json_is_true(json_object_get(r, key)) ? "yes" : "no";
}

static void print_result(const json_t *r)
{
	const char *error = remote_json_string(r, "error_message");
	const char *reason = remote_json_string(r, "reason");
	double old_size, new_size, freed;

	printf("action:                 %s\n",
	       remote_json_string(r, "action_taken")
	               ? remote_json_string(r, "action_taken")
	               : "-");
	printf("success:                %s\n", yes_no(r, "success"));
	if (remote_json_number(r, "new_batch_size", &new_size)) {
		if (remote_json_number(r, "old_batch_size", &old_size))
			printf("batch size:             %.0f -> %.0f\n",
			       old_size, new_size);
		else
			printf("batch size:             %.0f\n", new_size);
	} else {
		printf("batch size:             unchanged\n");
	}
	if (remote_json_number(r, "memory_freed_mb", &freed))
		printf("memory freed:           %.1f MiB\n", freed);
	else
		printf("memory freed:           -\n");
	printf("gc performed:           %s\n", yes_no(r, "gc_performed"));
	printf("fragmentation reduced:  %s\n",
	       yes_no(r, "fragmentation_reduced"));
	if (reason != NULL)
		printf("reason:                 %s\n", reason);
	if (error != NULL)
		printf("error:                  %s\n", error);
}

int cmd_optimize(int argc, char **argv)
{
	remote_response r = {0};
	remote_opts co;
	remote *c = NULL;
	bool json = false, help;
	int rc;

	remote_opts_init(&co);
	rc = remote_parse_args(argc, argv, optimize_groups, &co,
	                       remote_json_only, NULL, &json, &help);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (help) {
		cli_print_help(stdout, "optimize [options]",
		               "Asks the daemon for one optimization pass "
		               "now and prints what it did.\nExits 1 when "
		               "the pass failed.",
		               optimize_groups);
		return CLI_EXIT_OK;
	}
	rc = remote_open(&c, &co);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = remote_call(c, "POST", "/v1/optimize", NULL, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (json)
		rc = remote_print_body(&r);
	else
		print_result(r.json);
	if (!json_is_true(json_object_get(r.json, "success"))) {
		const char *error = remote_json_string(r.json, "error_message");

		rc = cli_fail("the optimization pass failed%s%s",
		              error ? ": " : "", error ? error : "");
	}
out:
	remote_response_free(&r);
	remote_close(c);
	return rc;
}
