/*
 * curl_dl.c - libcurl through dlopen() (see curl_dl.h for why).
 */
#include "curl_dl.h"

#include <dlfcn.h>
#include <string.h>

#include "util.h"

static const char *const libraries[] = {"libcurl.so.4", "libcurl-gnutls.so.4",
                                        NULL};

vgmo_err vgmo__curl_load(vgmo__curl *api, char *err, size_t errlen)
{
	char why[256] = "not found";
	void *dl = NULL;

	memset(api, 0, sizeof(*api));
	for (int i = 0; libraries[i] != NULL && dl == NULL; i++) {
		const char *e;

		dl = dlopen(libraries[i], RTLD_NOW | RTLD_LOCAL);
		e = dl == NULL ? dlerror() : NULL;
		if (e != NULL && i == 0)
			vgmo__strlcpy(why, e, sizeof(why));
	}
	if (dl == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                  "cannot load libcurl: %s (install libcurl4)",
		                  why);
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
		return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                  "cannot load libcurl: a function is missing");
	}
	if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		memset(api, 0, sizeof(*api));
		return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                  "cannot initialise libcurl");
	}
	return VGMO_OK;
}

void vgmo__curl_unload(vgmo__curl *api)
{
	if (api->global_cleanup != NULL)
		api->global_cleanup();
	memset(api, 0, sizeof(*api));
}
