/*
 * client_opts.c - the options every command that talks to the daemon takes,
 * and the small JSON and time helpers their printers share.
 */
#include "client.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define URL_MAX CLIENT_URL_MAX

const cli_option client_options[] = {
        {"server", "URL",
         "the daemon (default $VGMO_SERVER, else " CLIENT_DEFAULT_SERVER ")",
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

void client_opts_init(client_opts *o)
{
	memset(o, 0, sizeof(*o));
}

bool client_opts_owns(int id)
{
	return id >= CLI_ID_SERVER && id <= CLI_ID_CACERT;
}

bool client_url_ok(const char *url)
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

int client_opts_set(client_opts *o, const char *cmd, const cli_option *opt,
                    const char *value)
{
	switch (opt->id) {
	case CLI_ID_SERVER:
		if (!client_url_ok(value))
			return cli_usage_error(
			        cmd,
			        "invalid --server '%s': expected "
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

cli_next_kind client_next(cli_parser *p, client_opts *o, const cli_option **opt,
                          const char **value, int *rc)
{
	cli_next_kind k;

	*rc = CLI_EXIT_OK;
	while ((k = cli_next(p, opt, value)) == CLI_NEXT_OPTION &&
	       client_opts_owns((*opt)->id)) {
		*rc = client_opts_set(o, p->cmd, *opt, *value);
		if (*rc != CLI_EXIT_OK)
			return CLI_NEXT_ERROR;
	}
	if (k == CLI_NEXT_ERROR)
		*rc = CLI_EXIT_USAGE;
	return k;
}

/* ------------------------------------------------------------- JSON bits */

bool client_json_number(const json_t *obj, const char *key, double *out)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

const char *client_json_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

void client_format_time(double t, char *buf, size_t size)
{
	struct tm tm;
	time_t s = (time_t)t;

	if (t <= 0.0 || localtime_r(&s, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "-");
}
