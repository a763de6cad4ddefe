/*
 * client_curl.c - the library's libcurl loader (lib/curl_dl.c), failing
 * the way the commands fail.
 */
#include "client_curl.h"

#include "cli.h"

int client_curl_load(client_curl *api)
{
	char err[320];

	if (vgmo__curl_load(api, err, sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	return CLI_EXIT_OK;
}

void client_curl_unload(client_curl *api)
{
	vgmo__curl_unload(api);
}
