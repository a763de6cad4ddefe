/*
 * client_curl.c - libcurl through dlopen() (see client_curl.h for why).
 */
#include "client_curl.h"

#include <dlfcn.h>
#include <string.h>

#include "cli.h"

static const char *const libraries[] = {"libcurl.so.4", "libcurl-gnutls.so.4",
                                        NULL};

int client_curl_load(client_curl *api)
{
	const char *why = NULL;
	void *dl = NULL;

	memset(api, 0, sizeof(*api));
	for (int i = 0; libraries[i] != NULL && dl == NULL; i++) {
		dl = dlopen(libraries[i], RTLD_NOW | RTLD_LOCAL);
		if (dl == NULL && why == NULL)
			why = dlerror();
	}
	if (dl == NULL)
		return cli_fail("cannot load libcurl: %s (install libcurl4)",
		                why ? why : "not found");
	api->dl = dl;
	api->global_init = (CURLcode(*)(long))dlsym(dl, "curl_global_init");
	api->global_cleanup = (void (*)(void))dlsym(dl, "curl_global_cleanup");
	api->easy_init = (CURL * (*)(void)) dlsym(dl, "curl_easy_init");
	api->easy_cleanup = (void (*)(CURL *))dlsym(dl, "curl_easy_cleanup");
	api->easy_reset = (void (*)(CURL *))dlsym(dl, "curl_easy_reset");
	api->easy_setopt = (CURLcode(*)(CURL *, CURLoption, ...))dlsym(
	        dl, "curl_easy_setopt");
	api->easy_perform = (CURLcode(*)(CURL *))dlsym(dl, "curl_easy_perform");
	api->easy_getinfo = (CURLcode(*)(CURL *, CURLINFO, ...))dlsym(
	        dl, "curl_easy_getinfo");
	api->easy_strerror =
	        (const char *(*)(CURLcode))dlsym(dl, "curl_easy_strerror");
	api->slist_append =
	        (struct curl_slist * (*)(struct curl_slist *, const char *))
	                dlsym(dl, "curl_slist_append");
	api->slist_free_all =
	        (void (*)(struct curl_slist *))dlsym(dl, "curl_slist_free_all");
	if (!api->global_init || !api->global_cleanup || !api->easy_init ||
	    !api->easy_cleanup || !api->easy_reset || !api->easy_setopt ||
	    !api->easy_perform || !api->easy_getinfo || !api->easy_strerror ||
	    !api->slist_append || !api->slist_free_all) {
		memset(api, 0, sizeof(*api));
		return cli_fail("cannot load libcurl: a function is missing");
	}
	if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		memset(api, 0, sizeof(*api));
		return cli_fail("cannot initialise libcurl");
	}
	return CLI_EXIT_OK;
}

void client_curl_unload(client_curl *api)
{
	if (api->global_cleanup != NULL)
		api->global_cleanup();
	memset(api, 0, sizeof(*api));
}
