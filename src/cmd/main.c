/*
 * main.c - `vgmo <command> [options]`: finds the command in a static table
 * and runs it. A command is one file, src/cmd/cmd_<name>.c (see cli.h); adding
 * one is one row here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "suggest.h"

struct command {
	const char *name;
	const char *summary; /* one line for `vgmo --help` */
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
        {"serve", "run the node daemon (metrics, health, JSON API)", cmd_serve},
        {"status", "print the memory status (the daemon's, or read once here)",
         cmd_status},
        {"monitor", "watch the daemon's status live", cmd_monitor},
        {"optimize", "run one optimization pass on the daemon now",
         cmd_optimize},
        {"set-batch-size", "set (or clear) the batch size by hand",
         cmd_set_batch_size},
        {"enable", "let the daemon optimize", cmd_enable},
        {"disable", "stop the daemon from optimizing", cmd_disable},
        {"start-monitoring", "start the daemon's background sampling",
         cmd_start_monitoring},
        {"stop-monitoring", "stop the daemon's background sampling",
         cmd_stop_monitoring},
        {"configure", "change the daemon's configuration", cmd_configure},
        {"history", "print the daemon's optimization history", cmd_history},
        {"export-config", "print or save the daemon's configuration",
         cmd_export_config},
        {"import-config", "apply a configuration file to the daemon",
         cmd_import_config},
        {"plan", "memory plan and largest batches for a VLM on a GPU",
         cmd_plan},
        {"benchmark", "compare batch-size policies on a simulated workload",
         cmd_benchmark},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

/* "unknown command 'X'", with the nearest command when one is close. */
static int unknown_command(const char *name)
{
	vgmo__suggestion s;

	vgmo__suggest_init(&s, name);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		vgmo__suggest_consider(&s, commands[i].name);
	vgmo__suggest_consider(&s, "help");
	if (s.best != NULL)
		return cli_usage_error(NULL,
		                       "unknown command '%s' (did you mean "
		                       "'%s'?)",
		                       name, s.best);
	return cli_usage_error(NULL, "unknown command '%s'", name);
}

static void print_help(FILE *f)
{
	fputs("usage: vgmo <command> [options]\n"
	      "       vgmo <command> --help\n"
	      "       vgmo --version\n\n"
	      "GPU memory optimizer for vision-language-model inference.\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(f, "  %-16s  %s\n", commands[i].name,
		        commands[i].summary);
	fputs("\nOptions:\n"
	      "  -h, --help     show this help and exit\n"
	      "  -V, --version  show the version and exit\n\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n",
	      f);
}

/* `vgmo help [COMMAND]`: the same as `vgmo [COMMAND] --help`. */
static int help_command(int argc, char **argv)
{
	const struct command *c;
	char help[] = "--help";
	char *sub[3];

	if (argc < 2) {
		print_help(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error(NULL, "help takes one command name");
	c = find_command(argv[1]);
	if (c == NULL)
		return unknown_command(argv[1]);
	sub[0] = argv[1];
	sub[1] = help;
	sub[2] = NULL;
	return c->run(2, sub);
}

static int dispatch(int argc, char **argv)
{
	const char *arg = argc > 1 ? argv[1] : NULL;
	const struct command *c;

	if (argc < 2)
		return cli_usage_error(NULL, "missing command");
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		print_help(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
		printf("vgmo %s\n", VGMO_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(arg, "help") == 0)
		return help_command(argc - 1, argv + 1);
	if (arg[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", arg);
	c = find_command(arg);
	if (c == NULL)
		return unknown_command(arg);
	cli_check_env();
	return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	int rc;

	cli_config_options_init();
	rc = dispatch(argc, argv);

	/* Output that did not arrive (a full disk, a closed pipe) is a
	 * failure, not a success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vgmo: cannot write the output: %s\n",
		        strerror(errno));
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_FAILURE;
	}
	return rc;
}
