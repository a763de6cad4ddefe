/*
 * cli_parser.c - the argv parser driven by option tables (long options
 * only, exact names, the nearest name suggested when one is misspelt) and
 * the help text printed from the same tables.
 */
#include "cli.h"
#include "suggest.h"

#include <stdio.h>
#include <string.h>

/* -------------------------------------------------------------- parser */

static const cli_option help_option = {"help", NULL, "show this help and exit",
                                       CLI_ID_HELP};

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv,
                     const cli_group *groups)
{
	p->argc = argc;
	p->argv = argv;
	p->next = 1;
	p->rest_positional = false;
	p->cmd = cmd;
	p->groups = groups;
}

static const cli_option *find_option(const cli_group *groups, const char *name,
                                     size_t len)
{
	if (strlen(help_option.name) == len &&
	    strncmp(help_option.name, name, len) == 0)
		return &help_option;
	for (const cli_group *g = groups; g && g->options; g++) {
		for (const cli_option *o = g->options; o->name; o++) {
			if (strlen(o->name) == len &&
			    strncmp(o->name, name, len) == 0)
				return o;
		}
	}
	return NULL;
}

/* "unknown option '--X'", with the nearest option of the command when one
 * is close. */
static void unknown_option(const cli_parser *p, const char *name, size_t len)
{
	char word[VGMO__SUGGEST_MAX + 1];
	vgmo__suggestion s;

	snprintf(word, sizeof(word), "%.*s", (int)len, name);
	vgmo__suggest_init(&s, len < sizeof(word) ? word : NULL);
	vgmo__suggest_consider(&s, help_option.name);
	for (const cli_group *g = p->groups; g && g->options; g++) {
		for (const cli_option *o = g->options; o->name; o++)
			vgmo__suggest_consider(&s, o->name);
	}
	if (s.best != NULL)
		cli_usage_error(p->cmd,
		                "unknown option '--%.*s' (did you mean "
		                "'--%s'?)",
		                (int)len, name, s.best);
	else
		cli_usage_error(p->cmd, "unknown option '--%.*s'", (int)len,
		                name);
}

static cli_next_kind take_value(cli_parser *p, const cli_option *o,
                                const char *eq, const char **value)
{
	if (o->metavar == NULL) {
		if (eq != NULL) {
			cli_usage_error(p->cmd, "option '--%s' takes no value",
			                o->name);
			return CLI_NEXT_ERROR;
		}
		*value = NULL;
		return CLI_NEXT_OPTION;
	}
	if (eq != NULL)
		*value = eq + 1;
	else if (p->next < p->argc)
		*value = p->argv[p->next++];
	else
		*value = NULL;
	if (*value == NULL || (*value)[0] == '\0') {
		cli_usage_error(p->cmd, "option '--%s' needs a value (%s)",
		                o->name, o->metavar);
		return CLI_NEXT_ERROR;
	}
	return CLI_NEXT_OPTION;
}

cli_next_kind cli_next(cli_parser *p, const cli_option **opt,
                       const char **value)
{
	const char *arg, *name, *eq;
	size_t len;

	*opt = NULL;
	*value = NULL;
	if (p->next >= p->argc)
		return CLI_NEXT_END;
	arg = p->argv[p->next++];
	if (!p->rest_positional && strcmp(arg, "--") == 0) {
		p->rest_positional = true;
		return cli_next(p, opt, value);
	}
	if (p->rest_positional || arg[0] != '-' || arg[1] == '\0') {
		*value = arg;
		return CLI_NEXT_ARG;
	}
	if (strcmp(arg, "-h") == 0) {
		*opt = &help_option;
		return CLI_NEXT_OPTION;
	}
	if (arg[1] != '-') {
		cli_usage_error(p->cmd, "unknown option '%s'", arg);
		return CLI_NEXT_ERROR;
	}
	name = arg + 2;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	*opt = find_option(p->groups, name, len);
	if (*opt == NULL) {
		unknown_option(p, name, len);
		return CLI_NEXT_ERROR;
	}
	return take_value(p, *opt, eq, value);
}

int cli_parse_args(int argc, char **argv, const cli_group *groups,
                   cli_option_fn on_option, cli_arg_fn on_arg, void *ctx,
                   bool *help)
{
	const char *cmd = argv[0], *value;
	const cli_option *opt;
	cli_next_kind k;
	cli_parser p;
	int rc;

	*help = false;
	cli_parser_init(&p, cmd, argc, argv, groups);
	while ((k = cli_next(&p, &opt, &value)) != CLI_NEXT_END) {
		if (k == CLI_NEXT_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_NEXT_ARG && on_arg == NULL)
			return cli_usage_error(cmd, "unexpected argument '%s'",
			                       value);
		if (k == CLI_NEXT_ARG) {
			rc = on_arg(ctx, cmd, value);
		} else if (opt->id == CLI_ID_HELP) {
			*help = true;
			return CLI_EXIT_OK;
		} else {
			rc = on_option(ctx, cmd, opt, value);
		}
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- help */

static size_t option_width(const cli_option *o)
{
	return (o == &help_option ? 4 : 0) + 2 + strlen(o->name) +
	       (o->metavar ? 1 + strlen(o->metavar) : 0);
}

static void print_option(FILE *f, const cli_option *o, int width)
{
	int n = fprintf(f, "  %s--%s%s%s", o == &help_option ? "-h, " : "",
	                o->name, o->metavar ? " " : "",
	                o->metavar ? o->metavar : "");

	if (n < 0)
		return;
	if (n - 2 > width)
		fprintf(f, "\n%*s", width + 2, "");
	else
		fprintf(f, "%*s", width + 2 - n, "");
	fprintf(f, "  %s\n", o->help);
}

static void print_presets(FILE *f)
{
	const char *const *p = vgmo_sim_presets();
	const char *sep = "";

	fputs("\nSimulated GPU presets:", f);
	for (; p && *p; p++) {
		fprintf(f, "%s %s", sep, *p);
		sep = ",";
	}
	fputc('\n', f);
}

void cli_print_help(FILE *f, const char *synopsis, const char *description,
                    const cli_group *groups)
{
	size_t width = option_width(&help_option);
	bool engine = false;

	for (const cli_group *g = groups; g && g->options; g++) {
		for (const cli_option *o = g->options; o->name; o++) {
			if (option_width(o) > width)
				width = option_width(o);
		}
		engine = engine || g->options == cli_engine_options;
	}
	if (width > 32)
		width = 32;
	fprintf(f, "usage: vgmo %s\n\n%s\n", synopsis, description);
	for (const cli_group *g = groups; g && g->options; g++) {
		fprintf(f, "\n%s:\n", g->title);
		for (const cli_option *o = g->options; o->name; o++)
			print_option(f, o, (int)width);
		if (g == groups)
			print_option(f, &help_option, (int)width);
	}
	if (engine)
		print_presets(f);
}
