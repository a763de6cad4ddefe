/*
 * client_http.c - the HTTP JSON transport of vgmo_client_* and the vgmo
 * client commands (see client_http.h), with libcurl loaded at run time
 * (curl_dl.h).
 */
#include "client_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define AUTH_PREFIX "Authorization: Bearer "

/* ------------------------------------------------------------- checks */

static bool url_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n >= VGMO__HTTP_URL_MAX)
		return false;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return false;
	if (u[u[4] == 's' ? 8 : 7] == '\0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)u[i]) || u[i] == '?' || u[i] == '#')
			return false;
	return true;
}

/* One header line; no blanks or control characters (no injection). */
static bool token_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > VGMO__HTTP_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)t[i]))
			return false;
	return true;
}

/* --------------------------------------------------------------- HTTP */

const vgmo__http_opts vgmo__http_lib_opts = {
        .user_agent = "libvgmo/" VGMO_VERSION,
        .cacert = NULL,
        .connect_timeout_ms = 2000L,
        .total_timeout_ms = 5000L,
        .body_max = VGMO__HTTP_BODY_MAX,
};

/* The answer's body as it arrives, capped at `max`. */
struct sink {
	char *buf;
	size_t len, cap, max;
	bool too_big, nomem;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb; /* size is 1 */
	size_t cap;
	char *p;

	if (n > s->max - s->len) {
		s->too_big = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		cap = s->cap ? s->cap * 2 : 8192;
		if (cap < s->len + n + 1)
			cap = s->len + n + 1;
		if (cap > s->max + 1)
			cap = s->max + 1;
		p = realloc(s->buf, cap);
		if (p == NULL) {
			s->nomem = true;
			return 0;
		}
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* The headers of one request; NULL when out of memory. */
static struct curl_slist *request_headers(const vgmo__http *c, bool has_body,
                                          bool is_get)
{
	const char *lines[5];
	struct curl_slist *list = NULL, *next;
	size_t n = 0;

	lines[n++] = "Accept: application/json";
	/* A bodiless POST gets no form content type; no 100-continue. */
	if (!is_get)
		lines[n++] = has_body ? "Content-Type: application/json"
		                      : "Content-Type:";
	lines[n++] = "Expect:";
	if (c->auth != NULL)
		lines[n++] = c->auth;
	if (c->secret[0] != '\0')
		lines[n++] = c->secret;
	for (size_t i = 0; i < n; i++) {
		next = c->api.slist_append(list, lines[i]);
		if (next == NULL) {
			c->api.slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

static void set_options(vgmo__http *c, const char *url, const char *method,
                        const char *payload, struct curl_slist *hdrs,
                        struct sink *s)
{
	const vgmo__curl *api = &c->api;
	CURL *h = c->curl;

	api->easy_reset(h); /* keeps the open connection */
	c->errbuf[0] = '\0';
	api->easy_setopt(h, CURLOPT_URL, url);
	api->easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	api->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* Defence in depth (the URL was checked, redirects are not
	 * followed); a library older than 7.85 lacks the option. */
	api->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* The daemon is reached directly: a proxy from the environment
	 * would see the token and is never right for a loopback daemon. */
	api->easy_setopt(h, CURLOPT_PROXY, "");
	api->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 c->opts.connect_timeout_ms);
	api->easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opts.total_timeout_ms);
	api->easy_setopt(h, CURLOPT_USERAGENT, c->opts.user_agent);
	api->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	api->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	api->easy_setopt(h, CURLOPT_WRITEDATA, s);
	if (c->opts.cacert != NULL)
		api->easy_setopt(h, CURLOPT_CAINFO, c->opts.cacert);
	if (strcmp(method, "GET") == 0) {
		api->easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	api->easy_setopt(h, CURLOPT_POSTFIELDS, payload ? payload : "");
	api->easy_setopt(h, CURLOPT_POSTFIELDSIZE,
	                 (long)(payload ? strlen(payload) : 0));
	if (strcmp(method, "POST") != 0)
		api->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

vgmo_err vgmo__http_exchange(vgmo__http *c, const char *method,
                             const char *path, const json_t *body,
                             vgmo__http_answer *a, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = {.max = c->opts.body_max};
	char url[VGMO__HTTP_URL_MAX + 512];
	char *payload = NULL;
	vgmo_err rc;

	memset(a, 0, sizeof(*a));
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >=
	    sizeof(url))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "URL too long: %s%s", c->url, path);
	if (body != NULL) {
		payload = json_dumps(body,
		                     JSON_COMPACT | JSON_REAL_PRECISION(17));
		if (payload == NULL)
			return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
			                  "out of memory");
	}
	hdrs = request_headers(c, payload != NULL, strcmp(method, "GET") == 0);
	if (hdrs == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
		goto out;
	}
	set_options(c, url, method, payload, hdrs, &sink);
	a->cc = c->api.easy_perform(c->curl);
	if (a->cc == CURLE_OK)
		c->api.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
		                    &a->status);
	a->body = sink.buf;
	a->len = sink.len;
	a->too_big = sink.too_big;
	a->nomem = sink.nomem;
	sink.buf = NULL;
	rc = VGMO_OK;
out:
	free(sink.buf);
	free(payload);
	c->api.slist_free_all(hdrs);
	return rc;
}

void vgmo__http_answer_free(vgmo__http_answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
}

char *vgmo__http_error_message(const vgmo__http_answer *a)
{
	json_t *j = a->body ? json_loadb(a->body, a->len, 0, NULL) : NULL;
	const char *msg = json_string_value(
	        json_object_get(json_object_get(j, "error"), "message"));
	char *copy = NULL;

	if (msg != NULL) {
		copy = malloc(strlen(msg) + 1);
		if (copy != NULL)
			memcpy(copy, msg, strlen(msg) + 1);
	}
	json_decref(j);
	return copy;
}

static vgmo_err status_error(const vgmo__http *c, const char *method,
                             const char *path, const vgmo__http_answer *a,
                             char *err, size_t errlen)
{
	char *msg = vgmo__http_error_message(a);
	vgmo_err code = VGMO_ERR_INVALID;
	char fallback[32];

	snprintf(fallback, sizeof(fallback), "HTTP %ld", a->status);
	if (a->status == 404)
		code = VGMO_ERR_NOT_FOUND;
	else if (a->status == 401 || a->status == 403)
		code = VGMO_ERR_PERMISSION;
	else if (a->status >= 500 || a->status == 429)
		code = VGMO_ERR_IO;
	vgmo__errf(err, errlen, code, "the daemon at %s answered %s %s: %s",
	           c->url, method, path, msg ? msg : fallback);
	free(msg);
	return code;
}

vgmo_err vgmo__http_request(vgmo__http *c, const char *method, const char *path,
                            const json_t *body, json_t **out, char *err,
                            size_t errlen)
{
	vgmo__http_answer a;
	vgmo_err rc;

	*out = NULL;
	rc = vgmo__http_exchange(c, method, path, body, &a, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	if (a.nomem) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                "out of memory reading the daemon's answer");
		goto out;
	}
	if (a.cc != CURLE_OK) {
		const char *why =
		        c->errbuf[0] ? c->errbuf : c->api.easy_strerror(a.cc);

		if (a.too_big)
			why = "the answer is too large";
		rc = vgmo__errf(
		        err, errlen,
		        a.cc == CURLE_OPERATION_TIMEDOUT ? VGMO_ERR_TIMEOUT
		                                         : VGMO_ERR_IO,
		        "cannot reach the daemon at %s: %s", c->url, why);
		goto out;
	}
	if (a.status < 200 || a.status > 299) {
		rc = status_error(c, method, path, &a, err, errlen);
		goto out;
	}
	*out = a.body ? json_loadb(a.body, a.len, 0, NULL) : NULL;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                "the daemon's answer to %s %s is not a JSON "
		                "object",
		                method, path);
		goto out;
	}
	rc = VGMO_OK;
out:
	vgmo__http_answer_free(&a);
	return rc;
}

/* ----------------------------------------------------------- handle */

static vgmo_err set_auth(vgmo__http *c, const char *token, char *err,
                         size_t errlen)
{
	size_t n = strlen(token), size = sizeof(AUTH_PREFIX) + n;

	if (!token_ok(token))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "the token must be one line of at most %d "
		                  "printable characters without blanks",
		                  VGMO__HTTP_TOKEN_MAX);
	c->auth = malloc(size);
	if (c->auth == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	memcpy(c->auth, AUTH_PREFIX, sizeof(AUTH_PREFIX) - 1);
	memcpy(c->auth + sizeof(AUTH_PREFIX) - 1, token, n + 1);
	return VGMO_OK;
}

vgmo_err vgmo__http_start(vgmo__http *h, const char *url, const char *token,
                          const vgmo__http_opts *opts, char *err, size_t errlen)
{
	size_t len = strlen(url);
	vgmo_err rc;

	memset(h, 0, sizeof(*h));
	if (len >= VGMO__HTTP_URL_MAX)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "the server URL is longer than %d bytes",
		                  VGMO__HTTP_URL_MAX - 1);
	h->opts = *opts;
	while (len > 0 && url[len - 1] == '/')
		len--;
	memcpy(h->url, url, len);
	h->url[len] = '\0';
	if (token != NULL) {
		rc = set_auth(h, token, err, errlen);
		if (rc != VGMO_OK)
			goto fail;
	}
	rc = vgmo__curl_load(&h->api, err, errlen);
	if (rc != VGMO_OK)
		goto fail;
	h->curl = h->api.easy_init();
	if (h->curl == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                "cannot start libcurl");
		goto fail;
	}
	return VGMO_OK;
fail:
	vgmo__http_close(h);
	return rc;
}

vgmo_err vgmo__http_open(vgmo__http *h, const char *url, const char *token,
                         char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (!url_ok(url))
		return vgmo__errf(
		        err, errlen, VGMO_ERR_INVALID,
		        "invalid server URL: expected http://HOST:PORT "
		        "or https://HOST:PORT");
	return vgmo__http_start(h, url, token, &vgmo__http_lib_opts, err,
	                        errlen);
}

void vgmo__http_close(vgmo__http *h)
{
	if (h->curl != NULL)
		h->api.easy_cleanup(h->curl);
	vgmo__curl_unload(&h->api);
	if (h->auth != NULL) {
		explicit_bzero(h->auth, strlen(h->auth));
		free(h->auth);
	}
	memset(h, 0, sizeof(*h));
}
