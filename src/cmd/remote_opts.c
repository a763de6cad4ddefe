/*
 * remote_opts.c - the options every command that talks to the daemon takes,
 * and the small JSON and time helpers their printers share.
 */
#include "remote.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define URL_MAX REMOTE_URL_MAX

const cli_option remote_options[] = {
        {"server", "URL",
         "the daemon (default $VGMO_SERVER, else " REMOTE_DEFAULT_SERVER ")",
         CLI_ID_SERVER},
        {"token-file", "FILE",
         "file holding the daemon's bearer token (default $VGMO_TOKEN_FILE)",
         CLI_ID_TOKEN_FILE},
        {"cacert", "FILE",
         "CA certificate(s) for an https daemon (default $VGMO_CACERT, "
         "else the system's)",
         CLI_ID_CACERT},
        {NULL, NULL, NULL, 0}};

/* ------------------------------------------------------------- options */

void remote_opts_init(remote_opts *o)
{
	memset(o, 0, sizeof(*o));
}

bool remote_opts_owns(int id)
{
	return id >= CLI_ID_SERVER && id <= CLI_ID_CACERT;
}

bool remote_url_complete(const char *url, char *out, size_t size)
{
	const char *sep = strstr(url, "://"), *slash = strchr(url, '/');
	int n;

	/* "127.0.0.1:8080" is what people type: it means http://. A scheme
	 * other than http or https is left for remote_url_ok to refuse. */
	if (sep == NULL || (slash != NULL && slash < sep))
		n = snprintf(out, size, "http://%s", url);
	else
		n = snprintf(out, size, "%s", url);
	return n > 0 && (size_t)n < size && remote_url_ok(out);
}

bool remote_url_ok(const char *url)
{
	const char *host;

	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	if (host[0] == '\0' || host[0] == '/' || strpbrk(host, "?#") != NULL)
		return false;
	if (strlen(url) >= URL_MAX)
		return false;
	for (const char *p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

int remote_opts_set(remote_opts *o, const char *cmd, const cli_option *opt,
                    const char *value)
{
	char url[URL_MAX];

	switch (opt->id) {
	case CLI_ID_SERVER:
		if (!remote_url_complete(value, url, sizeof(url)))
			return cli_usage_error(
			        cmd,
			        "invalid --server '%s': expected HOST:PORT, "
			        "http://HOST:PORT or https://HOST:PORT",
			        value);
		o->server = value;
		return CLI_EXIT_OK;
	case CLI_ID_TOKEN_FILE:
		o->token_file = value;
		return CLI_EXIT_OK;
	case CLI_ID_CACERT:
		o->cacert = value;
		return CLI_EXIT_OK;
	default:
		return cli_usage_error(cmd,
		                       "option '--%s' is not a client "
		                       "option",
		                       opt->name);
	}
}

/* The command's callbacks and context, behind remote_parse_*. */
struct remote_parse {
	remote_opts *o;
	cli_option_fn on_option;
	cli_arg_fn on_arg;
	void *ctx;
};

static int remote_parse_option(void *ctx, const char *cmd,
                               const cli_option *opt, const char *value)
{
	struct remote_parse *cp = ctx;

	if (remote_opts_owns(opt->id))
		return remote_opts_set(cp->o, cmd, opt, value);
	return cp->on_option(cp->ctx, cmd, opt, value);
}

static int remote_parse_arg(void *ctx, const char *cmd, const char *value)
{
	struct remote_parse *cp = ctx;

	return cp->on_arg(cp->ctx, cmd, value);
}

int remote_parse_args(int argc, char **argv, const cli_group *groups,
                      remote_opts *o, cli_option_fn on_option,
                      cli_arg_fn on_arg, void *ctx, bool *help)
{
	struct remote_parse cp = {o, on_option, on_arg, ctx};

	return cli_parse_args(argc, argv, groups, remote_parse_option,
	                      on_arg ? remote_parse_arg : NULL, &cp, help);
}

int remote_json_only(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	bool *json = ctx;

	(void)cmd;
	(void)value;
	*json = *json || strcmp(opt->name, "json") == 0;
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------- JSON bits */

bool remote_json_number(const json_t *obj, const char *key, double *out)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

void remote_batch_text(const json_t *obj, const char *key, char *buf,
                       size_t size)
{
	double cur, opt;
	char c[32] = "-", o[32] = "-";

	if (remote_json_number(obj, key, &cur))
		snprintf(c, sizeof(c), "%.0f", cur);
	if (remote_json_number(obj, "optimal_batch_size", &opt))
		snprintf(o, sizeof(o), "%.0f", opt);
	snprintf(buf, size, "%s (optimal %s)", c, o);
}

const char *remote_json_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

void remote_format_time(double t, char *buf, size_t size)
{
	struct tm tm;
	time_t s = (time_t)t;

	if (t <= 0.0 || localtime_r(&s, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "-");
}
