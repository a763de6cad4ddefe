/*
 * client_curl.h - libcurl, loaded with dlopen() by the commands that talk
 * to the daemon, and only by them.
 *
 * Why not link it: Debian's libcurl brings some thirty libraries (OpenSSL,
 * GSSAPI, LDAP, SSH, RTMP, ...). Linked into `vgmo`, they are mapped into
 * `vgmo serve` too, which never uses them: measured on bookworm, linking
 * adds about 3.4 MiB to the daemon's RSS and curl_global_init() another
 * 2.3 MiB, against the daemon's 8 MiB budget. Loaded here, they cost the
 * short-lived client commands alone.
 */
#ifndef VGMO_SRC_CLIENT_CURL_H
#define VGMO_SRC_CLIENT_CURL_H

#include <curl/curl.h>

/* The libcurl entry points the client uses. */
typedef struct client_curl {
	void *dl;
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list,
	                                   const char *line);
	void (*slist_free_all)(struct curl_slist *list);
} client_curl;

/* Loads libcurl (libcurl.so.4, else libcurl-gnutls.so.4) and calls
 * curl_global_init() -- once per command, before any other thread exists.
 * CLI_EXIT_OK, or CLI_EXIT_FAILURE after printing one line. */
int client_curl_load(client_curl *api);

/* curl_global_cleanup(). The library stays mapped until the process exits:
 * its TLS library registers exit handlers that must still be there. */
void client_curl_unload(client_curl *api);

#endif
