/*
 * client_http.c - the HTTP JSON transport of vgmo_client_* (see
 * client_http.h), with libcurl loaded at run time (curl_dl.h).
 */
#include "client_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CONNECT_TIMEOUT_MS 2000L
#define TOTAL_TIMEOUT_MS 5000L
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

/* The answer's body as it arrives, capped at VGMO__HTTP_BODY_MAX. */
struct sink {
	char *buf;
	size_t len, cap;
	bool too_big, nomem;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb; /* size is 1 */
	char *p;

	if (n > VGMO__HTTP_BODY_MAX - s->len) {
		s->too_big = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->len + n + 1 > 2 * s->cap ? s->len + n + 1
		                                         : 2 * s->cap;

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

static struct curl_slist *headers(const vgmo__http *c, bool has_body)
{
	const char *lines[4] = {"Accept: application/json", "Expect:",
	                        has_body ? "Content-Type: application/json"
	                                 : "Content-Type:",
	                        c->auth};
	struct curl_slist *list = NULL, *next;

	for (size_t i = 0; i < 4 && lines[i] != NULL; i++) {
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
	/* Older libraries lack the option; the URL was checked anyway. */
	api->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* The daemon is on this node: a proxy would only see the token. */
	api->easy_setopt(h, CURLOPT_PROXY, "");
	api->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	api->easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	api->easy_setopt(h, CURLOPT_USERAGENT, "libvgmo/" VGMO_VERSION);
	api->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	api->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	api->easy_setopt(h, CURLOPT_WRITEDATA, s);
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

/* The daemon's error.message, or "HTTP <status>". */
static void http_message(const struct sink *s, long status, char *buf,
                         size_t size)
{
	json_t *j = s->buf ? json_loadb(s->buf, s->len, 0, NULL) : NULL;
	const char *msg = json_string_value(
	        json_object_get(json_object_get(j, "error"), "message"));

	if (msg != NULL)
		snprintf(buf, size, "%s", msg);
	else
		snprintf(buf, size, "HTTP %ld", status);
	json_decref(j);
}

static vgmo_err status_error(const vgmo__http *c, const char *method,
                             const char *path, long status,
                             const struct sink *s, char *err, size_t errlen)
{
	char msg[VGMO_REASON_MAX];
	vgmo_err code = VGMO_ERR_INVALID;

	http_message(s, status, msg, sizeof(msg));
	if (status == 404)
		code = VGMO_ERR_NOT_FOUND;
	else if (status == 401 || status == 403)
		code = VGMO_ERR_PERMISSION;
	else if (status >= 500 || status == 429)
		code = VGMO_ERR_IO;
	return vgmo__errf(err, errlen, code,
	                  "the daemon at %s answered %s %s: %s", c->url, method,
	                  path, msg);
}

vgmo_err vgmo__http_request(vgmo__http *c, const char *method, const char *path,
                            const json_t *body, json_t **out, char *err,
                            size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = {0};
	char url[VGMO__HTTP_URL_MAX + 64];
	char *payload = NULL;
	long status = 0;
	CURLcode cc;
	vgmo_err rc;

	*out = NULL;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		if (payload == NULL)
			return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
			                  "out of memory");
	}
	hdrs = headers(c, payload != NULL);
	if (hdrs == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
		goto out;
	}
	set_options(c, url, method, payload, hdrs, &sink);
	cc = c->api.easy_perform(c->curl);
	if (sink.nomem) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                "out of memory reading the daemon's answer");
		goto out;
	}
	if (cc != CURLE_OK) {
		const char *why =
		        c->errbuf[0] ? c->errbuf : c->api.easy_strerror(cc);

		if (sink.too_big)
			why = "the answer is too large";
		rc = vgmo__errf(
		        err, errlen,
		        cc == CURLE_OPERATION_TIMEDOUT ? VGMO_ERR_TIMEOUT
		                                       : VGMO_ERR_IO,
		        "cannot reach the daemon at %s: %s", c->url, why);
		goto out;
	}
	c->api.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		rc = status_error(c, method, path, status, &sink, err, errlen);
		goto out;
	}
	*out = sink.buf ? json_loadb(sink.buf, sink.len, 0, NULL) : NULL;
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
	free(sink.buf);
	free(payload);
	c->api.slist_free_all(hdrs);
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

vgmo_err vgmo__http_open(vgmo__http *h, const char *url, const char *token,
                         char *err, size_t errlen)
{
	size_t len;
	vgmo_err rc;

	memset(h, 0, sizeof(*h));
	if (!url_ok(url))
		return vgmo__errf(
		        err, errlen, VGMO_ERR_INVALID,
		        "invalid server URL: expected http://HOST:PORT "
		        "or https://HOST:PORT");
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	memcpy(h->url, url, len); /* url_ok: len < VGMO__HTTP_URL_MAX */
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
