/*
 * client.c - the HTTP JSON client the daemon's commands use: where the
 * daemon is, its token, one libcurl handle per command, answers capped at
 * CLIENT_BODY_MAX, and every failure turned into one line on stderr.
 */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_curl.h"

#define URL_MAX CLIENT_URL_MAX
#define TOKEN_MAX 4096
#define AUTH_PREFIX "Authorization: Bearer "

struct client {
	client_curl api; /* libcurl, loaded */
	CURL *curl;
	char url[URL_MAX];      /* base URL, no trailing '/' */
	char *auth;             /* the Authorization header line, or NULL */
	const char *token_file; /* where the token came from, for messages */
	const char *cacert;     /* NULL: the system's CAs */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---------------------------------------------------------------- open */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Reads the token: one line of printable ASCII, trailing blanks and the
 * newline trimmed. *out receives the whole header line (caller frees). */
static int read_token(const char *path, char **out)
{
	char buf[TOKEN_MAX + 2];
	size_t n, size;
	FILE *f;
	int rc = CLI_EXIT_FAILURE;

	f = fopen(path, "r");
	if (f == NULL)
		return cli_fail("cannot read the token file %s: %s", path,
		                strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f)) {
		rc = cli_fail("cannot read the token file %s: %s", path,
		              strerror(errno));
		goto out;
	}
	if (n > TOKEN_MAX) {
		rc = cli_fail("the token file %s is longer than %d bytes", path,
		              TOKEN_MAX);
		goto out;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		rc = cli_fail("the token file %s is empty", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isgraph((unsigned char)buf[i])) {
			rc = cli_fail("the token file %s must hold one line of "
			              "printable characters without blanks",
			              path);
			goto out;
		}
	}
	size = sizeof(AUTH_PREFIX) + n;
	*out = malloc(size);
	if (*out == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	memcpy(*out, AUTH_PREFIX, sizeof(AUTH_PREFIX) - 1);
	memcpy(*out + sizeof(AUTH_PREFIX) - 1, buf, n + 1);
	rc = CLI_EXIT_OK;
out:
	explicit_bzero(buf, sizeof(buf));
	fclose(f);
	return rc;
}

int client_open(client **out, const client_opts *o)
{
	const char *url = o->server;
	size_t len;
	client *c;
	int rc;

	*out = NULL;
	if (url == NULL) {
		url = env("VGMO_SERVER");
		if (url != NULL && !client_url_ok(url))
			return cli_fail("invalid VGMO_SERVER '%s': expected "
			                "http://HOST:PORT or https://HOST:PORT",
			                url);
	}
	if (url == NULL)
		url = CLIENT_DEFAULT_SERVER;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return cli_fail("out of memory");
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	memcpy(c->url, url, len); /* url_ok: len < URL_MAX */
	c->url[len] = '\0';
	c->token_file = o->token_file ? o->token_file : env("VGMO_TOKEN_FILE");
	c->cacert = o->cacert ? o->cacert : env("VGMO_CACERT");
	if (c->token_file != NULL) {
		rc = read_token(c->token_file, &c->auth);
		if (rc != CLI_EXIT_OK)
			goto fail;
	}
	if (c->cacert != NULL && access(c->cacert, R_OK) != 0) {
		rc = cli_fail("cannot read the CA file %s: %s", c->cacert,
		              strerror(errno));
		goto fail;
	}
	rc = client_curl_load(&c->api);
	if (rc != CLI_EXIT_OK)
		goto fail;
	c->curl = c->api.easy_init();
	if (c->curl == NULL) {
		rc = cli_fail("cannot start libcurl");
		goto fail;
	}
	*out = c;
	return CLI_EXIT_OK;
fail:
	client_close(c);
	return rc;
}

void client_close(client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		c->api.easy_cleanup(c->curl);
	client_curl_unload(&c->api);
	if (c->auth != NULL) {
		explicit_bzero(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c);
}

const char *client_url(const client *c)
{
	return c->url;
}

/* ---------------------------------------------------------------- call */

/* The answer's body as it arrives, capped at CLIENT_BODY_MAX. */
struct sink {
	char *buf;
	size_t len, cap;
	bool too_big, nomem;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb; /* size is 1 */
	size_t cap;
	char *p;

	if (n > CLIENT_BODY_MAX - s->len) {
		s->too_big = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		cap = s->cap ? s->cap * 2 : 8192;
		if (cap < s->len + n + 1)
			cap = s->len + n + 1;
		if (cap > CLIENT_BODY_MAX + 1)
			cap = CLIENT_BODY_MAX + 1;
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

static bool connected(const client *c)
{
	curl_off_t t = 0;

	return c->api.easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &t) ==
	               CURLE_OK &&
	       t > 0;
}

static int transport_error(const client *c, CURLcode cc, const struct sink *s)
{
	const char *why = c->errbuf[0] ? c->errbuf : c->api.easy_strerror(cc);
	long os = 0;

	if (s->too_big)
		return cli_fail("the daemon at %s sent an answer larger than "
		                "%zu MiB",
		                c->url, CLIENT_BODY_MAX >> 20);
	if (s->nomem)
		return cli_fail("out of memory reading the daemon's answer");
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		c->api.easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os);
		return cli_fail("cannot reach the daemon at %s: %s (is `vgmo "
		                "serve` running?)",
		                c->url, os != 0 ? strerror((int)os) : why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return cli_fail("cannot reach the daemon at %s: %s (check "
		                "--server or VGMO_SERVER)",
		                c->url, why);
	case CURLE_OPERATION_TIMEDOUT:
		if (!connected(c))
			return cli_fail("cannot reach the daemon at %s: %s (is "
			                "`vgmo serve` running?)",
			                c->url, why);
		return cli_fail("the daemon at %s did not answer in time: %s",
		                c->url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		return cli_fail("TLS with the daemon at %s failed: %s (give "
		                "its CA certificate with --cacert FILE)",
		                c->url, why);
	case CURLE_GOT_NOTHING:
		return cli_fail("the daemon at %s closed the connection "
		                "without answering (does it speak https?)",
		                c->url);
	default:
		return cli_fail("talking to the daemon at %s failed: %s",
		                c->url, why);
	}
}

static int http_error(const client *c, const char *method, const char *path,
                      long status, const struct sink *s)
{
	json_t *j = s->buf ? json_loadb(s->buf, s->len, 0, NULL) : NULL;
	const char *msg =
	        client_json_string(json_object_get(j, "error"), "message");
	int rc;

	if (status == 401 && c->auth == NULL)
		rc = cli_fail("%s (the daemon needs a token: pass --token-file "
		              "FILE or set VGMO_TOKEN_FILE)",
		              msg ? msg : "unauthorized");
	else if (status == 401)
		rc = cli_fail("%s (the daemon refused the token in %s)",
		              msg ? msg : "unauthorized", c->token_file);
	else if (msg != NULL)
		rc = cli_fail("%s", msg);
	else
		rc = cli_fail("the daemon at %s answered %s %s with HTTP %ld",
		              c->url, method, path, status);
	json_decref(j);
	return rc;
}

/* The headers of one request; NULL when out of memory. */
static struct curl_slist *request_headers(const client *c, bool has_body,
                                          bool is_get)
{
	const char *lines[4];
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

static void set_options(client *c, const char *url, const char *method,
                        const char *payload, struct curl_slist *headers,
                        struct sink *s)
{
	const client_curl *api = &c->api;
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
	                 CLIENT_CONNECT_TIMEOUT_MS);
	api->easy_setopt(h, CURLOPT_TIMEOUT_MS, CLIENT_TOTAL_TIMEOUT_MS);
	api->easy_setopt(h, CURLOPT_USERAGENT, "vgmo/" VGMO_VERSION);
	api->easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	api->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	api->easy_setopt(h, CURLOPT_WRITEDATA, s);
	if (c->cacert != NULL)
		api->easy_setopt(h, CURLOPT_CAINFO, c->cacert);
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

int client_call(client *c, const char *method, const char *path,
                const json_t *body, client_response *resp)
{
	bool is_get = strcmp(method, "GET") == 0;
	struct curl_slist *headers = NULL;
	struct sink sink = {0};
	char url[URL_MAX + 512];
	char *payload = NULL;
	json_error_t jerr;
	long status = 0;
	CURLcode cc;
	int rc = CLI_EXIT_FAILURE;

	memset(resp, 0, sizeof(*resp));
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >=
	    sizeof(url))
		return cli_fail("URL too long: %s%s", c->url, path);
	if (body != NULL) {
		payload = json_dumps(body,
		                     JSON_COMPACT | JSON_REAL_PRECISION(17));
		if (payload == NULL)
			return cli_fail("out of memory");
	}
	headers = request_headers(c, payload != NULL, is_get);
	if (headers == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	set_options(c, url, method, payload, headers, &sink);
	cc = c->api.easy_perform(c->curl);
	if (cc != CURLE_OK) {
		rc = transport_error(c, cc, &sink);
		goto out;
	}
	c->api.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		rc = http_error(c, method, path, status, &sink);
		goto out;
	}
	resp->json = sink.buf ? json_loadb(sink.buf, sink.len, 0, &jerr) : NULL;
	if (resp->json == NULL) {
		rc = cli_fail("the daemon's answer to %s %s is not JSON%s%s",
		              method, path, sink.buf ? ": " : " (empty)",
		              sink.buf ? jerr.text : "");
		goto out;
	}
	resp->status = status;
	resp->body = sink.buf;
	resp->len = sink.len;
	sink.buf = NULL;
	rc = CLI_EXIT_OK;
out:
	free(sink.buf);
	free(payload);
	c->api.slist_free_all(headers);
	return rc;
}

void client_response_free(client_response *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

int client_print_body(const client_response *r)
{
	/* Indented like `vgmo status --backend sim --json`; 15 digits is
	 * what the daemon's status JSON carries. */
	char *text = json_dumps(r->json, JSON_INDENT(2) | JSON_ENCODE_ANY |
	                                         JSON_REAL_PRECISION(15));

	if (text == NULL)
		return cli_fail("out of memory");
	puts(text);
	free(text);
	return CLI_EXIT_OK;
}
