/*
 * remote.c - the commands' calls to a daemon (`vgmo serve`), HTTP with JSON
 * both ways: where the daemon is, its token, one libcurl handle per command,
 * answers capped at REMOTE_BODY_MAX, and every failure turned into one line
 * on stderr.
 */
#include "remote.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_http.h"

#define TOKEN_MAX VGMO__HTTP_TOKEN_MAX

struct remote {
	vgmo__http http;        /* the transport (lib/client_http.h) */
	const char *token_file; /* where the token came from, for messages */
	const char *cacert;     /* NULL: the system's CAs */
};

/* How the commands talk: longer answers and patience than a worker's. */
static const vgmo__http_opts client_http_opts = {
        .user_agent = "vgmo/" VGMO_VERSION,
        .cacert = NULL, /* set per command from --cacert */
        .connect_timeout_ms = REMOTE_CONNECT_TIMEOUT_MS,
        .total_timeout_ms = REMOTE_TOTAL_TIMEOUT_MS,
        .body_max = REMOTE_BODY_MAX,
};

/* ---------------------------------------------------------------- open */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Reads the token into buf: one line of printable ASCII, trailing blanks
 * and the newline trimmed. The caller wipes buf. */
static int read_token(const char *path, char buf[TOKEN_MAX + 2])
{
	size_t n;
	FILE *f;
	int rc = CLI_EXIT_FAILURE;

	f = fopen(path, "r");
	if (f == NULL)
		return cli_fail("cannot read the token file %s: %s (check "
		                "--token-file or VGMO_TOKEN_FILE)",
		                path, strerror(errno));
	n = fread(buf, 1, TOKEN_MAX + 1, f);
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
		rc = cli_fail("the token file %s is empty: write the daemon's "
		              "token in it (the file serve "
		              "--auth-token-file reads)",
		              path);
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
	rc = CLI_EXIT_OK;
out:
	fclose(f);
	return rc;
}

int remote_open(remote **out, const remote_opts *o)
{
	vgmo__http_opts opts = client_http_opts;
	const char *url = o->server;
	char token[TOKEN_MAX + 2], full[REMOTE_URL_MAX];
	char err[320];
	remote *c;
	int rc;

	*out = NULL;
	if (url == NULL) {
		url = env("VGMO_SERVER");
		if (url != NULL &&
		    !remote_url_complete(url, full, sizeof(full)))
			return cli_fail("invalid VGMO_SERVER '%s': expected "
			                "HOST:PORT, http://HOST:PORT or "
			                "https://HOST:PORT",
			                url);
	}
	if (url == NULL)
		url = REMOTE_DEFAULT_SERVER;
	if (!remote_url_complete(url, full, sizeof(full)))
		return cli_fail("invalid --server '%s': expected HOST:PORT, "
		                "http://HOST:PORT or https://HOST:PORT",
		                url);
	url = full;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return cli_fail("out of memory");
	c->token_file = o->token_file ? o->token_file : env("VGMO_TOKEN_FILE");
	c->cacert = o->cacert ? o->cacert : env("VGMO_CACERT");
	if (c->token_file != NULL) {
		rc = read_token(c->token_file, token);
		if (rc != CLI_EXIT_OK)
			goto fail;
	}
	if (c->cacert != NULL && access(c->cacert, R_OK) != 0) {
		rc = cli_fail("cannot read the CA file %s: %s (check --cacert "
		              "or VGMO_CACERT)",
		              c->cacert, strerror(errno));
		goto fail;
	}
	opts.cacert = c->cacert;
	if (vgmo__http_start(&c->http, url, c->token_file ? token : NULL, &opts,
	                     err, sizeof(err)) != VGMO_OK) {
		rc = cli_fail("%s", err);
		goto fail;
	}
	explicit_bzero(token, sizeof(token));
	*out = c;
	return CLI_EXIT_OK;
fail:
	explicit_bzero(token, sizeof(token));
	remote_close(c);
	return rc;
}

void remote_close(remote *c)
{
	if (c == NULL)
		return;
	vgmo__http_close(&c->http);
	free(c);
}

const char *remote_url(const remote *c)
{
	return c->http.url;
}

/* ---------------------------------------------------------------- call */

static bool connected(const remote *c)
{
	const vgmo__http *h = &c->http;
	curl_off_t t = 0;

	return h->api.easy_getinfo(h->curl, CURLINFO_CONNECT_TIME_T, &t) ==
	               CURLE_OK &&
	       t > 0;
}

static int transport_error(const remote *c, const vgmo__http_answer *a)
{
	const vgmo__http *h = &c->http;
	const char *why =
	        h->errbuf[0] ? h->errbuf : h->api.easy_strerror(a->cc);
	long os = 0;

	if (a->too_big)
		return cli_fail("the daemon at %s sent an answer larger than "
		                "%zu MiB",
		                h->url, REMOTE_BODY_MAX >> 20);
	if (a->nomem)
		return cli_fail("out of memory reading the daemon's answer");
	switch (a->cc) {
	case CURLE_COULDNT_CONNECT:
		h->api.easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os);
		return cli_fail("cannot reach the daemon at %s: %s (is `vgmo "
		                "serve` running?)",
		                h->url, os != 0 ? strerror((int)os) : why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return cli_fail("cannot reach the daemon at %s: %s (check "
		                "--server or VGMO_SERVER)",
		                h->url, why);
	case CURLE_OPERATION_TIMEDOUT:
		if (!connected(c))
			return cli_fail("cannot reach the daemon at %s: %s (is "
			                "`vgmo serve` running?)",
			                h->url, why);
		return cli_fail("the daemon at %s did not answer in time: %s",
		                h->url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		/* OpenSSL's words for a plain-HTTP answer to a TLS hello. */
		if (strstr(why, "wrong version number") != NULL ||
		    strstr(why, "packet length too long") != NULL)
			return cli_fail("the daemon at %s does not speak "
			                "https: use http:// in --server or "
			                "VGMO_SERVER, or start it with "
			                "--tls-cert and --tls-key",
			                h->url);
		/* Or the plain daemon closed the connection before OpenSSL
		 * read its answer (it depends on timing). */
		if (strstr(why, "SSL_ERROR_SYSCALL") != NULL)
			return cli_fail("the daemon at %s does not speak "
			                "https, or it closed the connection in "
			                "the TLS handshake: use http:// in "
			                "--server or VGMO_SERVER, or start it "
			                "with --tls-cert and --tls-key",
			                h->url);
		return cli_fail("TLS with the daemon at %s failed: %s (give "
		                "its CA certificate with --cacert FILE)",
		                h->url, why);
	case CURLE_GOT_NOTHING:
		return cli_fail("the daemon at %s closed the connection "
		                "without answering (does it speak https?)",
		                h->url);
	default:
		return cli_fail("talking to the daemon at %s failed: %s",
		                h->url, why);
	}
}

static int http_error(const remote *c, const char *method, const char *path,
                      const vgmo__http_answer *a)
{
	char *msg = vgmo__http_error_message(a);
	int rc;

	if (a->status == 401 && c->http.auth == NULL)
		rc = cli_fail("%s (the daemon needs a token: pass --token-file "
		              "FILE or set VGMO_TOKEN_FILE)",
		              msg ? msg : "unauthorized");
	else if (a->status == 401)
		rc = cli_fail("the daemon at %s refused the token in %s: "
		              "put the daemon's token (serve "
		              "--auth-token-file) in that file",
		              c->http.url, c->token_file);
	else if (a->status == 404 && msg != NULL &&
	         strcmp(msg, "no such path") == 0)
		rc = cli_fail("the daemon at %s has no %s %s: give --server "
		              "the main port (api: in vgmo serve's output) "
		              "without a path; the health port serves only "
		              "/health and /ready",
		              c->http.url, method, path);
	else if (msg != NULL)
		rc = cli_fail("%s", msg);
	else
		rc = cli_fail("the daemon at %s answered %s %s with HTTP %ld",
		              c->http.url, method, path, a->status);
	free(msg);
	return rc;
}

int remote_call(remote *c, const char *method, const char *path,
                const json_t *body, remote_response *resp)
{
	vgmo__http_answer a;
	json_error_t jerr;
	char err[VGMO__HTTP_URL_MAX + 600];
	int rc;

	memset(resp, 0, sizeof(*resp));
	if (vgmo__http_exchange(&c->http, method, path, body, &a, err,
	                        sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (a.cc != CURLE_OK) {
		rc = transport_error(c, &a);
		goto out;
	}
	if (a.status < 200 || a.status > 299) {
		rc = http_error(c, method, path, &a);
		goto out;
	}
	resp->json = a.body ? json_loadb(a.body, a.len, 0, &jerr) : NULL;
	if (resp->json == NULL) {
		rc = cli_fail("the daemon's answer to %s %s is not JSON%s%s",
		              method, path, a.body ? ": " : " (empty)",
		              a.body ? jerr.text : "");
		goto out;
	}
	resp->status = a.status;
	resp->body = a.body;
	resp->len = a.len;
	a.body = NULL;
	rc = CLI_EXIT_OK;
out:
	vgmo__http_answer_free(&a);
	return rc;
}

void remote_response_free(remote_response *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

int remote_print_body(const remote_response *r)
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
