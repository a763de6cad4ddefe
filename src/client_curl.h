/*
 * client_curl.h - libcurl for the commands that talk to the daemon, and
 * only for them: the library's run-time loader (lib/curl_dl.h says why it
 * is not linked), with the commands' one-line failure on stderr.
 */
#ifndef VGMO_SRC_CLIENT_CURL_H
#define VGMO_SRC_CLIENT_CURL_H

#include "curl_dl.h"

/* The libcurl entry points the client uses. */
typedef vgmo__curl client_curl;

/* Loads libcurl and calls curl_global_init() -- once per command, before
 * any other thread exists. CLI_EXIT_OK, or CLI_EXIT_FAILURE after
 * printing one line. */
int client_curl_load(client_curl *api);

/* curl_global_cleanup(); the library stays mapped (see curl_dl.h). */
void client_curl_unload(client_curl *api);

#endif
