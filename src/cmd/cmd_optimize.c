/*
 * cmd_optimize.c - `vgmo optimize`: asks the daemon for one optimization
 * pass now (POST /v1/optimize) and prints what it did.
 */
#include <string.h>

#include "cli.h"
#include "client.h"

enum { OPT_JSON = 1 };

static const cli_option optimize_options[] = {
        {"json", NULL, "print the daemon's JSON answer", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group optimize_groups[] = {{"Options", optimize_options},
                                            {"Daemon", client_options},
                                            {NULL, NULL}};

static const char *yes_no(const json_t *r, const char *key)
{
	return json_is_true(json_object_get(r, key)) ? "yes" : "no";
}

static void print_result(const json_t *r)
{
	const char *error = client_json_string(r, "error_message");
	const char *reason = client_json_string(r, "reason");
	double old_size, new_size, freed;

	printf("action:                 %s\n",
	       client_json_string(r, "action_taken")
	               ? client_json_string(r, "action_taken")
	               : "-");
	printf("success:                %s\n", yes_no(r, "success"));
	if (client_json_number(r, "new_batch_size", &new_size)) {
		if (client_json_number(r, "old_batch_size", &old_size))
			printf("batch size:             %.0f -> %.0f\n",
			       old_size, new_size);
		else
			printf("batch size:             %.0f\n", new_size);
	} else {
		printf("batch size:             unchanged\n");
	}
	if (client_json_number(r, "memory_freed_mb", &freed))
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
	client_response r = {0};
	client_opts co;
	client *c = NULL;
	bool json = false, help;
	int rc;

	client_opts_init(&co);
	rc = client_parse_args(argc, argv, optimize_groups, &co,
	                       client_json_only, NULL, &json, &help);
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
	rc = client_open(&c, &co);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = client_call(c, "POST", "/v1/optimize", NULL, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (json)
		rc = client_print_body(&r);
	else
		print_result(r.json);
	if (!json_is_true(json_object_get(r.json, "success"))) {
		const char *error = client_json_string(r.json, "error_message");

		rc = cli_fail("the optimization pass failed%s%s",
		              error ? ": " : "", error ? error : "");
	}
out:
	client_response_free(&r);
	client_close(c);
	return rc;
}
