/*
 * curl_dl.h - libcurl, loaded with dlopen() by the code that talks to a
 * `vgmo serve` daemon: the vgmo client commands (src/client.c) and the
 * library's vgmo_client_* (client.c). One loader for both.
 *
 * Why not link it: Debian's libcurl brings some thirty libraries (OpenSSL,
 * GSSAPI, LDAP, SSH, RTMP, ...). Linked into libvgmo or `vgmo`, they would
 * be mapped into `vgmo serve` and every program that embeds the engine,
 * which never use them: measured on bookworm, linking adds about 3.4 MiB to
 * the daemon's RSS and curl_global_init() another 2.3 MiB, against the
 * daemon's 8 MiB budget. Loaded here, they cost the clients alone.
 *
 * The entry points live in a struct the caller owns (no global state).
 */
#ifndef VGMO_LIB_CURL_DL_H
#define VGMO_LIB_CURL_DL_H

#include <stddef.h>

#include <curl/curl.h>

#include "vgmo/vgmo.h"

/* The libcurl entry points vgmo uses. */
typedef struct vgmo__curl {
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
} vgmo__curl;

/* Loads libcurl (libcurl.so.4, else libcurl-gnutls.so.4) into *api and
 * calls curl_global_init() (thread-safe in the libcurl 7.84+ that
 * bookworm ships; call it before other threads exist with an older one).
 * VGMO_ERR_LIBRARY with one line in `err` when it cannot; *api is then
 * zeroed. */
vgmo_err vgmo__curl_load(vgmo__curl *api, char *err, size_t errlen);

/* curl_global_cleanup() and zeroes *api (safe on a zeroed one). The
 * library stays mapped until the process exits: its TLS library registers
 * exit handlers that must still be there. */
void vgmo__curl_unload(vgmo__curl *api);

#endif
