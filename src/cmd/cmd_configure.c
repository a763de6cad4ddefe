/*
 * cmd_configure.c - `vgmo configure [--strategy S] [--warning-threshold F]
 * ...`: reads the daemon's configuration, applies the flags, validates the
 * result here as the seed did (every invalid field reported at once,
 * nothing sent), then sends the changed keys (PUT /v1/config). Without a
 * flag it prints the configuration.
 */
#include <string.h>

#include "cli.h"
#include "remote.h"
#include "config_remote.h"

#define ERR_MAX 2048

enum { OPT_JSON = 1 };

static const cli_option configure_options[] = {
        {"json", NULL, "print the daemon's JSON answer", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group configure_groups[] = {
        {"Options", configure_options},
        {"Configuration", cli_config_options},
        {"Daemon", remote_options},
        {NULL, NULL}};

struct configure_args {
	remote_opts remote;
	cli_engine_opts flags; /* only config_flags[] is used */
	bool json;
	bool help;
	bool any;
};

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	struct configure_args *a = ctx;
	int rc;

	if (opt->id == OPT_JSON) {
		a->json = true;
		return CLI_EXIT_OK;
	}
	/* Checks the value's form (a usage error when malformed). */
	rc = cli_engine_opts_set(&a->flags, cmd, opt, value);
	if (rc == CLI_EXIT_OK)
		a->any = true;
	return rc;
}

static int parse_args(struct configure_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	remote_opts_init(&a->remote);
	cli_engine_opts_init(&a->flags);
	return remote_parse_args(argc, argv, configure_groups, &a->remote,
	                         on_option, NULL, a, &a->help);
}

/* Applies the flags to *cfg and validates; on failure prints every invalid
 * field in one line. *keys receives the keys the flags set. */
static int apply_flags(void *ctx, vgmo_config *cfg, json_t **keys)
{
	const struct configure_args *a = ctx;
	char err[ERR_MAX] = "", one[512];
	size_t len = 0;
	vgmo_err e;

	*keys = json_object();
	if (*keys == NULL)
		return cli_fail("out of memory");
	for (int i = 0; i < CLI_CONFIG_FLAG_COUNT; i++) {
		const char *key = cli_config_flag_key(CLI_ID_CONFIG_FLAG + i);
		const char *value = a->flags.config_flags[i];

		if (value == NULL)
			continue;
		if (json_object_set_new(*keys, key, json_true()) != 0)
			return cli_fail("out of memory");
		e = vgmo_config_set_field(cfg, key, value, one, sizeof(one));
		if (e != VGMO_OK && len < sizeof(err))
			len += (size_t)snprintf(err + len, sizeof(err) - len,
			                        "%s%s", len ? "; " : "", one);
	}
	if (len > 0)
		return cli_fail("invalid configuration: %s", err);
	e = vgmo_config_validate(cfg, err, sizeof(err));
	if (e != VGMO_OK)
		return cli_fail("invalid configuration: %s",
		                err[0] ? err : vgmo_strerror(e));
	return CLI_EXIT_OK;
}

static void print_help(void)
{
	cli_print_help(
	        stdout, "configure [configuration flags] [options]",
	        "Changes the daemon's configuration; the change lasts across "
	        "restarts.\nThe flags are applied to the daemon's current "
	        "configuration and the result is\nvalidated first: every "
	        "invalid field is reported at once and nothing changes.\n"
	        "Without a flag, prints the configuration.",
	        configure_groups);
}

int cmd_configure(int argc, char **argv)
{
	struct configure_args a;
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			print_help();
		return rc;
	}
	return config_remote_change(&a.remote, a.json,
	                            a.any ? apply_flags : NULL, &a,
	                            "configuration updated:");
}
