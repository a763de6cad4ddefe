/*
 * api_util.c - what every API handler shares: JSON responses, the error
 * shape of docs/api.md, the bearer-token check, the audit "who".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* Sends `j` (consumed) with `status`. */
void api_send_json(http_response *res, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_FLAGS) : NULL;
	char *grown;
	size_t n;

	json_decref(j);
	if (text == NULL) {
		http_respond(res, 500,
		             "{\"error\":{\"status\":500,\"message\":"
		             "\"out of memory\"}}\n");
		return;
	}
	n = strlen(text);
	/* json_dumps allocates exactly; make room for the newline. */
	free(res->body);
	grown = realloc(text, n + 2);
	if (grown != NULL) {
		grown[n++] = '\n';
		grown[n] = '\0';
		text = grown;
	}
	res->body = text;
	res->len = n;
	res->status = status;
}

/* A JSON string of `s`; bytes that are not UTF-8 (a message cut in the
 * middle of a character) become '?'. */
void api_send_error(http_response *res, const api_error *e)
{
	json_t *inner = json_object();

	json_object_set_new(inner, "status", json_integer(e->status));
	json_object_set_new(inner, "message", vgmo__json_text(e->message));
	if (e->field[0] != '\0')
		json_object_set_new(inner, "field", vgmo__json_text(e->field));
	if (e->fields[0] != '\0') {
		json_t *list = json_array();
		char copy[sizeof(e->fields)], *save = NULL;

		snprintf(copy, sizeof(copy), "%s", e->fields);
		for (char *f = strtok_r(copy, ",", &save); f != NULL;
		     f = strtok_r(NULL, ",", &save))
			json_array_append_new(list, vgmo__json_text(f));
		json_object_set_new(inner, "fields", list);
	}
	api_send_json(res, e->status, json_pack("{s:o}", "error", inner));
}

void api_fail(http_response *res, vgmo_err rc, const char *field,
              const char *message)
{
	api_error e;

	api_error_set(&e, api_status_of(rc), field, "%s",
	              message && message[0] ? message : vgmo_strerror(rc));
	api_send_error(res, &e);
}

void api_send_bool(http_response *res, const char *key, bool v)
{
	api_send_json(res, 200, json_pack("{s:b}", key, v));
}

/* "api:<peer>", for the audit log. */
void api_who(const http_request *r, char *who, size_t size)
{
	snprintf(who, size, "api:%s", r->peer);
}

/* True when the request may go on; otherwise answers 401. */
bool api_authorized_read(vgmo_daemon *d, const http_request *r,
                         http_response *res)
{
	api_error e;

	if (daemon_token_ok(d, http_request_header(r, "Authorization")))
		return true;
	res->www_authenticate = "Bearer realm=\"vgmo\"";
	api_error_set(&e, 401, NULL,
	              "this call needs the header 'Authorization: Bearer "
	              "<token>' with the daemon's token");
	api_send_error(res, &e);
	return false;
}

bool api_authorized(vgmo_daemon *d, const http_request *r, http_response *res)
{
	return !(r->method & HTTP_MUTATING) || api_authorized_read(d, r, res);
}
