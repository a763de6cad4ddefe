/*
 * api_parse.c - strict parsing of the API's request bodies (api_parse.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_parse.h"
#include "json_strict.h"

/* Top-level keys whose position we remember for messages. */
#define KEYS_MAX 32

typedef struct scan {
	const char *s;
	size_t len;
	size_t open;           /* offset of the top-level '{' */
	size_t keys[KEYS_MAX]; /* offsets of the top-level keys' quotes */
	size_t nkeys;
} scan;

vgmo_err api_error_set(api_error *e, unsigned status, const char *field,
                       const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->fields[0] = '\0';
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return VGMO_ERR_INVALID;
}

unsigned api_status_of(vgmo_err rc)
{
	switch (rc) {
	case VGMO_OK:
		return 200;
	case VGMO_ERR_INVALID:
	case VGMO_ERR_CONFIG:
	case VGMO_ERR_PARSE:
		return 400;
	case VGMO_ERR_PERMISSION:
		return 403;
	case VGMO_ERR_NOT_FOUND:
		return 404;
	case VGMO_ERR_STATE:
		return 409;
	case VGMO_ERR_UNSUPPORTED:
		return 501;
	case VGMO_ERR_IO:
		return 503;
	default:
		return 500;
	}
}

static vgmo_err error_at(api_error *e, const scan *sc, size_t off,
                         const char *field, const char *what)
{
	vgmo__text_pos p = vgmo__text_pos_of(sc->s, sc->len, off);

	return api_error_set(e, 400, field, "%s:%d:%d: %s", API_SOURCE, p.line,
	                     p.column, what);
}

static vgmo_err precheck(scan *sc, api_error *e)
{
	bool in_string = false, expect_key = false;
	int depth = 0;

	sc->nkeys = 0;
	sc->open = 0;
	for (size_t i = 0; i < sc->len; i++) {
		char c = sc->s[i];

		if (c == '\0')
			return error_at(e, sc, i, NULL,
			                "NUL byte in the request body");
		if (in_string) {
			if (c == '\\' && i + 1 < sc->len && sc->s[i + 1] != 0)
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
			if (depth == 1 && expect_key && sc->nkeys < KEYS_MAX)
				sc->keys[sc->nkeys++] = i;
			expect_key = false;
		} else if (c == '{' || c == '[') {
			if (++depth > API_MAX_DEPTH)
				return error_at(
				        e, sc, i, NULL,
				        "nesting deeper than 32 levels");
			if (depth == 1 && c == '{') {
				sc->open = i;
				expect_key = true;
			}
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' && depth == 1) {
			expect_key = true;
		}
	}
	return VGMO_OK;
}

vgmo_err api_parse_precheck(const char *body, size_t len, api_error *e)
{
	scan sc = {.s = body, .len = len};

	return precheck(&sc, e);
}

/* Copies the key out of jansson's "duplicate object key near '"k"'". */
static void duplicate_key(const char *text, char *out, size_t size)
{
	const char *q = strstr(text, "near '\"");
	size_t n = 0;

	out[0] = '\0';
	if (strstr(text, "duplicate") == NULL || q == NULL)
		return;
	for (q += 7; *q != '\0' && *q != '"' && n + 1 < size; q++)
		out[n++] = *q;
	out[n] = '\0';
}

/* precheck, then the library's strict loading (lib/json_strict.h). */
static vgmo_err parse(scan *sc, json_t **out, api_error *e)
{
	char msg[sizeof(e->message)];
	char dup[64];

	*out = NULL;
	if (precheck(sc, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	if (vgmo__json_load_object(sc->s, sc->len, API_SOURCE, out, msg,
	                           sizeof(msg)) != VGMO_OK) {
		duplicate_key(msg, dup, sizeof(dup));
		return api_error_set(e, 400, dup, "%s", msg);
	}
	return VGMO_OK;
}

vgmo_err api_parse_object(const char *body, size_t len, json_t **out,
                          api_error *e)
{
	scan sc = {.s = body, .len = len};

	return parse(&sc, out, e);
}

/* Offset of the `ordinal`-th top-level key (jansson keeps document order
 * and duplicates are refused, so it matches iteration order). */
static size_t key_at(const scan *sc, size_t ordinal)
{
	return ordinal < sc->nkeys ? sc->keys[ordinal] : sc->open;
}

static vgmo_err unknown_key(api_error *e, const scan *sc, size_t ordinal,
                            const char *key)
{
	char what[160];

	snprintf(what, sizeof(what), "unknown key \"%.64s\"", key);
	return error_at(e, sc, key_at(sc, ordinal), key, what);
}

vgmo_err api_parse_batch_size(const char *body, size_t len, int min, int max,
                              int *size, api_error *e)
{
	scan sc = {.s = body, .len = len};
	const char *key;
	json_t *root, *v, *found = NULL;
	size_t ordinal = 0, found_at = 0;
	char what[192];
	json_int_t n = 0;
	vgmo_err rc = VGMO_OK;

	if (parse(&sc, &root, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "batch_size") != 0) {
			rc = unknown_key(e, &sc, ordinal, key);
			goto out;
		}
		found = v;
		found_at = key_at(&sc, ordinal);
		ordinal++;
	}
	if (found == NULL) {
		rc = error_at(e, &sc, sc.open, "batch_size",
		              "key \"batch_size\" is required");
		goto out;
	}
	if (!json_is_null(found) && !json_is_integer(found)) {
		snprintf(what, sizeof(what),
		         "key \"batch_size\": expected an integer or null, got "
		         "%s",
		         vgmo__json_kind(found));
		rc = error_at(e, &sc, found_at, "batch_size", what);
		goto out;
	}
	n = json_is_null(found) ? 0 : json_integer_value(found);
	if (n != 0 && (n < min || n > max)) {
		snprintf(
		        what, sizeof(what),
		        "key \"batch_size\": %" JSON_INTEGER_FORMAT
		        " is outside [%d, %d] (min_batch_size, max_batch_size)",
		        n, min, max);
		rc = error_at(e, &sc, found_at, "batch_size", what);
		goto out;
	}
	*size = (int)n;
out:
	json_decref(root);
	return rc;
}

vgmo_err api_parse_no_body(const char *body, size_t len, api_error *e)
{
	scan sc = {.s = body, .len = len};
	const char *key;
	json_t *root, *v;
	vgmo_err rc = VGMO_OK;
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", body[i]) != NULL && body[i] != 0)
		i++;
	if (i == len)
		return VGMO_OK;
	if (parse(&sc, &root, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	json_object_foreach(root, key, v)
	{
		(void)v;
		rc = unknown_key(e, &sc, 0, key);
		break;
	}
	json_decref(root);
	return rc;
}

vgmo_err api_parse_limit(const char *text, int def, int max, int *out,
                         api_error *e)
{
	long n;
	char *end;

	if (text == NULL) {
		*out = def;
		return VGMO_OK;
	}
	errno = 0;
	n = isdigit((unsigned char)text[0]) ? strtol(text, &end, 10) : -1;
	if (n < 1 || n > max || errno != 0 || *end != '\0')
		return api_error_set(e, 400, "limit",
		                     "limit: expected an integer in 1..%d, got "
		                     "\"%.32s\"",
		                     max, text);
	*out = (int)n;
	return VGMO_OK;
}

/* Copies the identifier that follows `marker` in `msg` (up to a quote,
 * colon or blank) into `out`; false when there is none. */
static bool word_after(const char *msg, const char *marker, char *out,
                       size_t size)
{
	const char *p = strstr(msg, marker);
	size_t n = 0;

	if (p == NULL)
		return false;
	for (p += strlen(marker);
	     (isalnum((unsigned char)*p) || *p == '_') && n + 1 < size; p++)
		out[n++] = *p;
	out[n] = '\0';
	return n > 0;
}

/* The fields of a validation message, "field: reason; field: reason",
 * as "field,field"; returns how many. */
static unsigned list_fields(const char *list, char *out, size_t size)
{
	unsigned count = 0;
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = list; p != NULL && *p != '\0';) {
		char name[64];

		if (word_after(p, "", name, sizeof(name)) &&
		    p[strlen(name)] == ':' && o + strlen(name) + 2 < size) {
			o += (size_t)snprintf(out + o, size - o, "%s%s",
			                      count ? "," : "", name);
			count++;
		}
		p = strstr(p, "; ");
		if (p != NULL)
			p += 2;
	}
	return count;
}

void api_error_from_config(api_error *e, vgmo_err rc, const char *message)
{
	const char *inv = "invalid configuration: ";
	const char *list = strstr(message, inv);
	char field[64] = "", fields[256] = "";

	/* jansson says "near '...'" of every error; only a duplicate key's
	 * names a field ("\\u0000 ... near '"bal\\u0000"'" names none). */
	if (!word_after(message, "unknown key \"", field, sizeof(field)) &&
	    !word_after(message, "key \"", field, sizeof(field)) &&
	    !(strstr(message, "duplicate object key") &&
	      word_after(message, "near '\"", field, sizeof(field))) &&
	    list) {
		/* A single field only when the validation named one. */
		if (list_fields(list + strlen(inv), fields, sizeof(fields)) ==
		    1)
			snprintf(field, sizeof(field), "%.63s", fields);
	}
	api_error_set(e, api_status_of(rc) == 503 ? 503 : 400, field, "%s",
	              message);
	snprintf(e->fields, sizeof(e->fields), "%s", fields);
}
