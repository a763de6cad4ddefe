/*
 * cli_engine.c - the options of every command that builds an engine
 * (backend, simulated GPU, configuration flags), the configuration built
 * from defaults, file, environment and flags, and the engine created.
 */
#include "cli.h"
#include "config_fields.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------ engine options */

const cli_option cli_engine_options[] = {
        {"backend", "auto|nvml|sim",
         "default auto: NVML if a driver answers, else sim", CLI_ID_BACKEND},
        {"config", "FILE", "JSON configuration file", CLI_ID_CONFIG},
        {"sim-preset", "NAME", "simulated GPU model (default h100-80gb)",
         CLI_ID_SIM_PRESET},
        {"sim-gpus", "N", "simulated GPUs, 1..64 (default 1)", CLI_ID_SIM_GPUS},
        {"sim-seed", "N", "seed of the simulation (default 1)",
         CLI_ID_SIM_SEED},
        {"sim-workload", "NAME|none", "vlm (default), or none for an idle GPU",
         CLI_ID_SIM_WORKLOAD},
        {"nvml-library", "PATH",
         "NVML library path (default $VGMO_NVML_LIBRARY)", CLI_ID_NVML_LIBRARY},
        {NULL, NULL, NULL, 0}};

/* The config flags, one per field of the configuration table
 * (config_fields.h), in the order of each field's flag_pos: name, metavar
 * and help line all come from the field, the default in the help from
 * vgmo_config_defaults(). Built once by cli_config_options_init(). */
cli_option cli_config_options[CLI_CONFIG_FLAG_COUNT + 1];
static const vgmo__config_field *flag_field[CLI_CONFIG_FLAG_COUNT];
static char flag_help[CLI_CONFIG_FLAG_COUNT][96];

void cli_config_options_init(void)
{
	static bool built;

	if (built)
		return;
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++) {
		const vgmo__config_field *f = &vgmo__config_fields[i];
		int pos = f->flag_pos;

		/* test_config checks that the positions are 0..N-1, each
		 * once. */
		if (pos < 0 || pos >= CLI_CONFIG_FLAG_COUNT)
			continue;
		flag_field[pos] = f;
		vgmo__config_field_help(f, flag_help[pos],
		                        sizeof(flag_help[pos]));
		cli_config_options[pos] =
		        (cli_option){f->flag, f->metavar, flag_help[pos],
		                     CLI_ID_CONFIG_FLAG + pos};
	}
	cli_config_options[CLI_CONFIG_FLAG_COUNT] = (cli_option){0};
	built = true;
}

void cli_engine_opts_init(cli_engine_opts *o)
{
	memset(o, 0, sizeof(*o));
}

static bool is_config_flag(int id)
{
	return id >= CLI_ID_CONFIG_FLAG &&
	       id < CLI_ID_CONFIG_FLAG + CLI_CONFIG_FLAG_COUNT;
}

bool cli_engine_opts_owns(int id)
{
	return (id >= CLI_ID_BACKEND && id <= CLI_ID_NVML_LIBRARY) ||
	       is_config_flag(id);
}

const char *cli_config_flag_key(int id)
{
	return is_config_flag(id) ? flag_field[id - CLI_ID_CONFIG_FLAG]->name
	                          : NULL;
}

static int set_config_flag(cli_engine_opts *o, const char *cmd,
                           const cli_option *opt, const char *value)
{
	int i = opt->id - CLI_ID_CONFIG_FLAG;
	vgmo_strategy strategy;
	double d;
	long l;

	switch (flag_field[i]->type) {
	case VGMO__FIELD_STRATEGY:
		if (vgmo_strategy_parse(value, &strategy) != VGMO_OK)
			return cli_usage_error(
			        cmd,
			        "invalid --%s '%s' (choose conservative, "
			        "balanced, aggressive or adaptive)",
			        opt->name, value);
		break;
	case VGMO__FIELD_DOUBLE:
		if (!cli_parse_double(value, &d))
			return cli_usage_error(
			        cmd, "invalid --%s '%s': not a number",
			        opt->name, value);
		break;
	case VGMO__FIELD_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return cli_usage_error(
			        cmd,
			        "invalid --%s '%s': expected true or false",
			        opt->name, value);
		break;
	case VGMO__FIELD_INT:
	case VGMO__FIELD_INT64:
		if (cli_is_integer(value) &&
		    !cli_parse_long(value, INT_MIN, INT_MAX, &l))
			return cli_usage_error(cmd,
			                       "invalid --%s '%s': out of "
			                       "range (at most %d)",
			                       opt->name, value, INT_MAX);
		if (!cli_parse_long(value, INT_MIN, INT_MAX, &l))
			return cli_usage_error(
			        cmd, "invalid --%s '%s': not an integer",
			        opt->name, value);
		break;
	}
	o->config_flags[i] = value;
	return CLI_EXIT_OK;
}

static bool known_preset(const char *name)
{
	for (const char *const *p = vgmo_sim_presets(); p && *p; p++) {
		if (strcmp(*p, name) == 0)
			return true;
	}
	return false;
}

void cli_preset_list(char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	for (const char *const *p = vgmo_sim_presets(); p && *p; p++) {
		int n = snprintf(out + len, size - len, "%s%s", len ? ", " : "",
		                 *p);

		if (n < 0 || (size_t)n >= size - len) {
			out[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
}

static int set_sim_preset(cli_engine_opts *o, const char *cmd,
                          const char *value)
{
	char list[256];

	if (known_preset(value)) {
		o->sim_preset = value;
		return CLI_EXIT_OK;
	}
	cli_preset_list(list, sizeof(list));
	return cli_usage_error(cmd, "unknown --sim-preset '%s' (choose %s)",
	                       value, list);
}

int cli_engine_opts_set(cli_engine_opts *o, const char *cmd,
                        const cli_option *opt, const char *value)
{
	long gpus;

	switch (opt->id) {
	case CLI_ID_BACKEND:
		if (strcmp(value, "auto") != 0 && strcmp(value, "nvml") != 0 &&
		    strcmp(value, "sim") != 0)
			return cli_usage_error(
			        cmd,
			        "unknown --backend '%s' (choose auto, "
			        "nvml or sim)",
			        value);
		o->backend = value;
		return CLI_EXIT_OK;
	case CLI_ID_CONFIG:
		o->config_path = value;
		return CLI_EXIT_OK;
	case CLI_ID_SIM_PRESET:
		return set_sim_preset(o, cmd, value);
	case CLI_ID_SIM_GPUS:
		if (!cli_parse_long(value, 1, 64, &gpus))
			return cli_usage_error(
			        cmd,
			        "invalid --sim-gpus '%s': not an integer "
			        "in 1..64",
			        value);
		o->sim_gpus = (unsigned)gpus;
		return CLI_EXIT_OK;
	case CLI_ID_SIM_SEED:
		if (!cli_parse_u64(value, &o->sim_seed))
			return cli_usage_error(
			        cmd,
			        "invalid --sim-seed '%s': not an unsigned "
			        "64-bit integer",
			        value);
		o->sim_seed_set = true;
		return CLI_EXIT_OK;
	case CLI_ID_SIM_WORKLOAD:
		o->sim_workload = value;
		return CLI_EXIT_OK;
	case CLI_ID_NVML_LIBRARY:
		o->nvml_library = value;
		return CLI_EXIT_OK;
	default:
		break;
	}
	if (is_config_flag(opt->id))
		return set_config_flag(o, cmd, opt, value);
	return cli_usage_error(cmd, "option '--%s' is not an engine option",
	                       opt->name);
}

/* --------------------------------------------------------- config build */

int cli_build_config(const cli_engine_opts *o, vgmo_config *cfg)
{
	char err[2048] = "";
	vgmo_err rc;

	vgmo_config_defaults(cfg);
	if (o->config_path != NULL) {
		rc = vgmo_config_load_file(cfg, o->config_path, err,
		                           sizeof(err));
		if (rc != VGMO_OK && strstr(err, o->config_path) == NULL)
			return cli_fail("%s: %s", o->config_path,
			                err[0] ? err : vgmo_strerror(rc));
		if (rc != VGMO_OK)
			return cli_fail("%s", err);
	}
	/* Its messages name the variable or say "environment". */
	rc = vgmo_config_apply_env(cfg, NULL, err, sizeof(err));
	if (rc != VGMO_OK)
		return cli_fail("%s", err[0] ? err : vgmo_strerror(rc));
	for (int i = 0; i < CLI_CONFIG_FLAG_COUNT; i++) {
		if (o->config_flags[i] == NULL)
			continue;
		rc = vgmo_config_set_field(cfg, flag_field[i]->name,
		                           o->config_flags[i], err,
		                           sizeof(err));
		if (rc != VGMO_OK)
			return cli_fail("--%s: %s", cli_config_options[i].name,
			                err[0] ? err : vgmo_strerror(rc));
	}
	rc = vgmo_config_validate(cfg, err, sizeof(err));
	if (rc != VGMO_OK)
		return cli_fail("invalid configuration: %s",
		                err[0] ? err : vgmo_strerror(rc));
	return CLI_EXIT_OK;
}

/* --------------------------------------------------------------- engine */

int cli_engine_create(const cli_engine_opts *o, const vgmo_config *cfg,
                      vgmo_engine_options *opts, vgmo_engine **out)
{
	char err[1024] = "";
	const char *notice;
	vgmo_err rc;

	vgmo_engine_options_init(opts);
	if (o->backend != NULL)
		opts->backend = o->backend;
	if (o->sim_preset != NULL)
		opts->sim.preset = o->sim_preset;
	if (o->sim_gpus != 0)
		opts->sim.gpus = o->sim_gpus;
	if (o->sim_seed_set)
		opts->sim.seed = o->sim_seed;
	if (o->sim_workload != NULL)
		opts->sim.workload = o->sim_workload;
	if (o->nvml_library != NULL)
		opts->nvml_library = o->nvml_library;
	opts->lease_seconds = o->lease_seconds;
	*out = NULL;
	rc = vgmo_engine_create(out, cfg, opts, err, sizeof(err));
	if (rc != VGMO_OK)
		return cli_fail("%s", err[0] ? err : vgmo_strerror(rc));
	notice = vgmo_engine_notice(*out);
	if (notice != NULL && notice[0] != '\0')
		fprintf(stderr, "vgmo: %s\n", notice);
	return CLI_EXIT_OK;
}
