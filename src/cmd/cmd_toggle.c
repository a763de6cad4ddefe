/*
 * cmd_toggle.c - `vgmo enable`, `disable`, `start-monitoring` and
 * `stop-monitoring`: one POST to the daemon each; the change lasts across
 * the daemon's restarts.
 */
#include <string.h>

#include "cli.h"
#include "remote.h"

enum { OPT_JSON = 1 };

static const cli_option toggle_options[] = {
        {"json", NULL, "print the daemon's JSON answer", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group toggle_groups[] = {
        {"Options", toggle_options}, {"Daemon", remote_options}, {NULL, NULL}};

struct toggle {
	const char *path;        /* what to POST */
	const char *key;         /* the boolean in the answer */
	const char *what;        /* "optimization", "monitoring" */
	const char *on, *off;    /* its two states */
	const char *description; /* for --help */
};

static const struct toggle enable = {
        "/v1/enable",
        "optimization_enabled",
        "optimization",
        "enabled",
        "disabled",
        "Lets the daemon optimize again (batch sizes, cleanups)."};
static const struct toggle disable = {
        "/v1/disable",
        "optimization_enabled",
        "optimization",
        "enabled",
        "disabled",
        "Stops the daemon from optimizing: it keeps monitoring and "
        "serving metrics,\nbut changes no batch size and runs no "
        "cleanup."};
static const struct toggle start_monitoring = {
        "/v1/monitoring/start",
        "monitoring",
        "monitoring",
        "on",
        "off",
        "Starts the daemon's background sampling (and the optimization "
        "and cleanup\nloops that follow it)."};
static const struct toggle stop_monitoring = {
        "/v1/monitoring/stop",
        "monitoring",
        "monitoring",
        "on",
        "off",
        "Stops the daemon's background sampling; /ready answers 503 "
        "until it starts\nagain."};

static int run_toggle(const struct toggle *t, int argc, char **argv)
{
	remote_response r = {0};
	const json_t *state;
	char synopsis[64];
	remote_opts co;
	remote *c = NULL;
	bool json = false, help;
	int rc;

	remote_opts_init(&co);
	rc = remote_parse_args(argc, argv, toggle_groups, &co, remote_json_only,
	                       NULL, &json, &help);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (help) {
		snprintf(synopsis, sizeof(synopsis), "%s [options]", argv[0]);
		cli_print_help(stdout, synopsis, t->description, toggle_groups);
		return CLI_EXIT_OK;
	}
	rc = remote_open(&c, &co);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = remote_call(c, "POST", t->path, NULL, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	state = json_object_get(r.json, t->key);
	if (json)
		rc = remote_print_body(&r);
	else if (json_is_boolean(state))
		printf("%s %s\n", t->what,
		       json_is_true(state) ? t->on : t->off);
	else
		rc = cli_fail("the daemon's answer has no \"%s\"", t->key);
out:
	remote_response_free(&r);
	remote_close(c);
	return rc;
}

int cmd_enable(int argc, char **argv)
{
	return run_toggle(&enable, argc, argv);
}

int cmd_disable(int argc, char **argv)
{
	return run_toggle(&disable, argc, argv);
}

int cmd_start_monitoring(int argc, char **argv)
{
	return run_toggle(&start_monitoring, argc, argv);
}

int cmd_stop_monitoring(int argc, char **argv)
{
	return run_toggle(&stop_monitoring, argc, argv);
}
