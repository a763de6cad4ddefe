/*
 * cli.h - what every `vgmo` subcommand shares: exit codes, messages, strict
 * number parsing (cli.c), an argv parser driven by option tables and the help
 * text (cli_parser.c), and the options of every command that builds an
 * engine: backend, sim, config flags (cli_engine.c).
 *
 * A subcommand is one file, src/cmd/cmd_<name>.c (serve:
 * src/daemon/cmd_serve.c), exporting one function `int cmd_<name>(int argc,
 * char **argv)` (argv[0] is the command's name) that returns an exit code;
 * main.c lists it in its command table.
 */
#ifndef VGMO_SRC_CLI_H
#define VGMO_SRC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vgmo/vgmo.h"

/* ------------------------------------------------------------ commands */

int cmd_serve(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* the commands that ask a daemon (remote.h) */
int cmd_monitor(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_set_batch_size(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_start_monitoring(int argc, char **argv);
int cmd_stop_monitoring(int argc, char **argv);
int cmd_configure(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_export_config(int argc, char **argv);
int cmd_import_config(int argc, char **argv);
/* VLM planning and the benchmark (cmd_plan.c, cmd_benchmark.c) */
int cmd_plan(int argc, char **argv);
/* `vgmo plan --check FILE` (cmd_plan_check.c): `override` NULL compares
 * each point with the preset its model names. */
int cmd_plan_check(const char *path, const vgmo_vlm_model *override, bool json);
int cmd_benchmark(int argc, char **argv);

/* ---------------------------------------------------------- exit codes */

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILURE = 1, /* the command could not do its job */
	CLI_EXIT_USAGE = 2    /* the command line is wrong */
};

/* Prints "vgmo <cmd>: <message>" and "try 'vgmo <cmd> --help'" on stderr
 * (cmd NULL: "vgmo: ..." and "try 'vgmo --help'"); returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Warns on stderr, one line each, about VGMO_* environment variables that
 * vgmo does not read, naming the nearest one it does (env_check.c). */
void cli_check_env(void);

/* Prints "vgmo: <message>" on stderr; returns CLI_EXIT_FAILURE. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints `text` (a JSON document json_dumps made, freed here) on stdout;
 * NULL (json_dumps ran out of memory) is a failure. */
int cli_put_json_text(char *text);

/* The simulated GPU presets as "a, b, c" in out[size] (cut short when
 * it does not fit). */
void cli_preset_list(char *out, size_t size);

/* ------------------------------------------------------------- numbers */

/* Strict: the whole string is one base-10 number (no blanks, no trailing
 * characters), in range. False otherwise; *out is then untouched. */
bool cli_parse_double(const char *s, double *out); /* finite only */
bool cli_parse_long(const char *s, long min, long max, long *out);
bool cli_parse_u64(const char *s, uint64_t *out);
/* True when s is an optional sign and decimal digits only, whatever its
 * size: tells "too large" from "not an integer". */
bool cli_is_integer(const char *s);

/* -------------------------------------------------------------- parser */

/* One long option. Tables end with an entry whose name is NULL. */
typedef struct cli_option {
	const char *name;    /* without the leading "--" */
	const char *metavar; /* NULL: takes no value */
	const char *help;    /* one line */
	int id;              /* what cli_next reports */
} cli_option;

/* Option ids: a command's own options use ids below CLI_ID_SHARED. */
enum {
	CLI_ID_SHARED = 100,
	CLI_ID_HELP = CLI_ID_SHARED,
	/* engine options */
	CLI_ID_BACKEND = 200,
	CLI_ID_CONFIG,
	CLI_ID_SIM_PRESET,
	CLI_ID_SIM_GPUS,
	CLI_ID_SIM_SEED,
	CLI_ID_SIM_WORKLOAD,
	CLI_ID_NVML_LIBRARY,
	/* config flags, in the order of cli_config_options[] */
	CLI_ID_CONFIG_FLAG = 300
};

/* Shared option tables. */
extern const cli_option cli_engine_options[]; /* --backend ... */

/* One flag per configuration field (--strategy ...), built from the field
 * table by cli_config_options_init(), which main() calls before any
 * command runs. */
#define CLI_CONFIG_FLAG_COUNT VGMO_CONFIG_FIELD_COUNT
extern cli_option cli_config_options[CLI_CONFIG_FLAG_COUNT + 1];
void cli_config_options_init(void);

typedef enum cli_next_kind {
	CLI_NEXT_END = 0, /* no more arguments */
	CLI_NEXT_OPTION,  /* *opt and *value (NULL for a flag) are set */
	CLI_NEXT_ARG,     /* a positional argument in *value */
	CLI_NEXT_ERROR    /* usage error, already printed */
} cli_next_kind;

/* A titled table of options, for the parser and the help text. A list of
 * groups ends with an entry whose `options` is NULL. */
typedef struct cli_group {
	const char *title;
	const cli_option *options;
} cli_group;

/* Walks argv[1..argc-1] of command `cmd`. `--name value`, `--name=value`,
 * `--` (the rest are positional), `-h`/`--help` (id CLI_ID_HELP) are
 * understood; names must match exactly (no abbreviations). */
typedef struct cli_parser {
	int argc;
	char **argv;
	int next;
	bool rest_positional;
	const char *cmd;
	const cli_group *groups;
} cli_parser;

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv,
                     const cli_group *groups);
cli_next_kind cli_next(cli_parser *p, const cli_option **opt,
                       const char **value);

/* What a command does with one of its options (never -h/--help) or one
 * positional argument; CLI_EXIT_OK, or an exit code after printing why. */
typedef int (*cli_option_fn)(void *ctx, const char *cmd, const cli_option *opt,
                             const char *value);
typedef int (*cli_arg_fn)(void *ctx, const char *cmd, const char *value);

/* The parse loop of command argv[0]: walks argv with `groups`, giving each
 * option to `on_option` and each positional argument to `on_arg` (NULL:
 * the command takes none, "unexpected argument"). Stops at -h/--help with
 * *help set. Returns CLI_EXIT_OK, or the first other exit code
 * (CLI_EXIT_USAGE for a malformed command line, already printed). */
int cli_parse_args(int argc, char **argv, const cli_group *groups,
                   cli_option_fn on_option, cli_arg_fn on_arg, void *ctx,
                   bool *help);

/* Prints "usage: vgmo <synopsis>", the description, then every option of
 * `groups` under its title (and -h, --help), and, when cli_engine_options
 * is among them, the simulated GPU presets. */
void cli_print_help(FILE *f, const char *synopsis, const char *description,
                    const cli_group *groups);

/* ------------------------------------------------------ engine options */

/* Options of a command that builds an engine. Strings point into argv. */
typedef struct cli_engine_opts {
	const char *backend;      /* "auto", "nvml" or "sim" */
	const char *config_path;  /* NULL: none */
	const char *sim_preset;   /* NULL: the engine's default */
	const char *sim_workload; /* NULL: the engine's default */
	const char *nvml_library; /* NULL: the engine's default */
	double lease_seconds;     /* 0: the engine's default (serve --lease) */
	unsigned sim_gpus;
	uint64_t sim_seed;
	bool sim_seed_set;
	/* values of the config flags, by position in cli_config_options[];
	 * NULL when not given */
	const char *config_flags[CLI_CONFIG_FLAG_COUNT];
} cli_engine_opts;

void cli_engine_opts_init(cli_engine_opts *o);

/* True when option id `id` belongs to cli_engine_options or
 * cli_config_options. */
bool cli_engine_opts_owns(int id);

/* Checks and records one engine or config option. Returns CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing why (unknown backend or preset, malformed
 * number, ...). */
int cli_engine_opts_set(cli_engine_opts *o, const char *cmd,
                        const cli_option *opt, const char *value);

/* The config key a config flag sets ("--warning-threshold" ->
 * "memory_threshold_warning"); NULL when `id` is not a config flag. */
const char *cli_config_flag_key(int id);

/* defaults < --config file < VGMO_* environment < flags, then validation.
 * Returns CLI_EXIT_OK, or CLI_EXIT_FAILURE after printing the full reason. */
int cli_build_config(const cli_engine_opts *o, vgmo_config *cfg);

/* Fills the engine options from `o` (leaving the engine's defaults where the
 * user said nothing), creates the engine, and prints its backend-selection
 * notice, if any, as "vgmo: <notice>" on stderr. `opts_out` receives the
 * options used (its strings point into argv). Returns CLI_EXIT_OK with
 * *out set, or CLI_EXIT_FAILURE after printing why. The caller destroys the
 * engine. */
int cli_engine_create(const cli_engine_opts *o, const vgmo_config *cfg,
                      vgmo_engine_options *opts_out, vgmo_engine **out);

#endif
