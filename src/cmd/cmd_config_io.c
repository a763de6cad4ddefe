/*
 * cmd_config_io.c - `vgmo export-config [--output FILE]` and `vgmo
 * import-config FILE`: the daemon's configuration to and from a JSON file
 * (the format of `--config FILE`).
 */
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "remote.h"
#include "config_remote.h"

#define ERR_MAX 2048

enum { OPT_JSON = 1, OPT_OUTPUT };

static const cli_option export_options[] = {
        {"output", "FILE", "write the file (atomically) instead of printing it",
         OPT_OUTPUT},
        {NULL, NULL, NULL, 0}};

static const cli_option import_options[] = {
        {"json", NULL, "print the daemon's JSON answer", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group export_groups[] = {
        {"Options", export_options}, {"Daemon", remote_options}, {NULL, NULL}};

static const cli_group import_groups[] = {
        {"Options", import_options}, {"Daemon", remote_options}, {NULL, NULL}};

struct io_args {
	remote_opts remote;
	const char *file; /* --output FILE, or import's FILE */
	bool json;
	bool help;
};

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	struct io_args *a = ctx;

	(void)cmd;
	if (opt->id == OPT_JSON)
		a->json = true;
	else if (opt->id == OPT_OUTPUT)
		a->file = value;
	return CLI_EXIT_OK;
}

/* import's FILE. */
static int on_file(void *ctx, const char *cmd, const char *value)
{
	struct io_args *a = ctx;

	if (a->file != NULL)
		return cli_usage_error(cmd, "unexpected argument '%s'", value);
	a->file = value;
	return CLI_EXIT_OK;
}

/* Options of either command; `positional`: import's FILE. */
static int parse_args(struct io_args *a, int argc, char **argv,
                      const cli_group *groups, bool positional)
{
	int rc;

	memset(a, 0, sizeof(*a));
	remote_opts_init(&a->remote);
	rc = remote_parse_args(argc, argv, groups, &a->remote, on_option,
	                       positional ? on_file : NULL, a, &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	if (positional && a->file == NULL)
		return cli_usage_error(argv[0],
		                       "missing the configuration FILE");
	return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- export */

int cmd_export_config(int argc, char **argv)
{
	remote_response r = {0};
	char err[ERR_MAX] = "";
	struct io_args a;
	remote *c = NULL;
	vgmo_config cfg;
	char *text;
	vgmo_err e;
	int rc;

	rc = parse_args(&a, argc, argv, export_groups, false);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			cli_print_help(
			        stdout,
			        "export-config [--output FILE] [options]",
			        "Prints the daemon's configuration as JSON "
			        "(all "
			        "14 keys), or writes it to FILE\natomically. "
			        "The file is what `import-config` and "
			        "`--config` read.",
			        export_groups);
		return rc;
	}
	rc = remote_open(&c, &a.remote);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = config_remote_get(c, &cfg, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (a.file != NULL) {
		struct stat sb;

		/* The file is replaced by a rename: never over a device node,
		 * a FIFO or a link (as root, /dev/null would be lost). */
		if (lstat(a.file, &sb) == 0 && !S_ISREG(sb.st_mode)) {
			rc = cli_fail("%s: not a regular file; refusing to "
			              "replace it",
			              a.file);
			goto out;
		}
		e = vgmo_config_save_file(&cfg, a.file, err, sizeof(err));
		if (e != VGMO_OK)
			rc = cli_fail("%s", err[0] ? err : vgmo_strerror(e));
		else
			printf("configuration exported to %s\n", a.file);
		goto out;
	}
	text = vgmo_config_to_json(&cfg);
	if (text == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	puts(text);
	free(text);
out:
	remote_response_free(&r);
	remote_close(c);
	return rc;
}

/* ---------------------------------------------------------------- import */

/* Overlays FILE on the daemon's configuration and validates the result:
 * syntax errors name the file, line and column; every invalid field is
 * reported at once. `keys` receives the file's keys. */
static int load_file(void *ctx, vgmo_config *cfg, json_t **keys)
{
	const char *path = ctx;
	char err[ERR_MAX] = "";
	json_error_t jerr;
	vgmo_err e;

	e = vgmo_config_load_file(cfg, path, err, sizeof(err));
	if (e != VGMO_OK && strstr(err, path) == NULL)
		return cli_fail("%s: %s", path,
		                err[0] ? err : vgmo_strerror(e));
	if (e != VGMO_OK)
		return cli_fail("%s", err);
	*keys = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*keys))
		return cli_fail("%s:%d:%d: %s", path, jerr.line, jerr.column,
		                jerr.text);
	return CLI_EXIT_OK;
}

int cmd_import_config(int argc, char **argv)
{
	char done[ERR_MAX];
	struct io_args a;
	int rc;

	rc = parse_args(&a, argc, argv, import_groups, true);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			cli_print_help(
			        stdout, "import-config FILE [options]",
			        "Applies the keys of a JSON configuration file "
			        "(any of the 14) to the daemon;\nthe others "
			        "keep "
			        "their values. The result is validated first: "
			        "every invalid\nfield is reported at once and "
			        "nothing changes.",
			        import_groups);
		return rc;
	}
	snprintf(done, sizeof(done), "configuration imported from %s:", a.file);
	return config_remote_change(&a.remote, a.json, load_file,
	                            (void *)a.file, done);
}
