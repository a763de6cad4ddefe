/*
 * config_json.c - the configuration as JSON: load (all or nothing, with
 * source:line:column messages), serialise, save atomically.
 */
#include "config_fields.h"
#include "suggest.h"
#include "json_strict.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CONFIG_FILE_MAX VGMO__MIB
#define VALIDATE_MSG_MAX 1024
/* 14 lines of at most ~70 bytes each, with room to spare. */
#define CONFIG_JSON_MAX 2048

/* ---------------------------------------------------------- positions */

/* Byte offset of the opening quote of the `ordinal`-th key of the top-level
 * object in `s` (already known to be valid JSON). Jansson keeps keys in
 * document order and duplicates are rejected, so the n-th key it iterates is
 * the n-th key in the text. Falls back to the object's '{'. */
static size_t key_offset(const char *s, size_t len, size_t ordinal,
                         const char *key)
{
	size_t klen = strlen(key);
	size_t count = 0;
	bool expect_key = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '"') {
			size_t start = i;

			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			if (depth != 1 || !expect_key)
				continue;
			expect_key = false;
			if (count++ != ordinal)
				continue;
			/* Check the name where it has no escapes. */
			if (i - start - 1 == klen &&
			    memcmp(s + start + 1, key, klen) == 0)
				return start;
			break;
		}
		if (c == '{' || c == '[') {
			depth++;
			if (depth == 1 && c == '{')
				expect_key = true;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' && depth == 1) {
			expect_key = true;
		}
	}
	return vgmo__json_skip_blank(s, len);
}

/* ---------------------------------------------------------- loading */

/* Converts one member's JSON value to f's type, or explains why not. */
static vgmo_err from_json(const vgmo__config_field *f, const json_t *v,
                          vgmo__field_value *out, char *reason,
                          size_t reasonlen)
{
	char q[VGMO__QUOTE_MAX];
	json_int_t n;

	switch (f->type) {
	case VGMO__FIELD_BOOL:
		if (!json_is_boolean(v))
			break;
		out->b = json_is_true(v);
		return VGMO_OK;
	case VGMO__FIELD_STRATEGY:
		if (!json_is_string(v))
			break;
		if (vgmo_strategy_parse(json_string_value(v), &out->s) ==
		    VGMO_OK)
			return VGMO_OK;
		vgmo__quote(json_string_value(v), json_string_length(v), q,
		            sizeof(q));
		return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
		                  "unknown strategy %s (expected conservative, "
		                  "balanced, aggressive or adaptive)",
		                  q);
	case VGMO__FIELD_DOUBLE:
		if (!json_is_number(v))
			break;
		out->d = json_number_value(v);
		return VGMO_OK;
	case VGMO__FIELD_INT:
		if (!json_is_integer(v))
			break;
		n = json_integer_value(v);
		if (n < INT_MIN || n > INT_MAX)
			return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
			                  "integer %" JSON_INTEGER_FORMAT
			                  " out of range [%d, %d]",
			                  n, INT_MIN, INT_MAX);
		out->i = (int)n;
		return VGMO_OK;
	case VGMO__FIELD_INT64:
		if (!json_is_integer(v))
			break;
		/* json_int_t is long long: never wider than int64_t here. */
		out->i64 = (int64_t)json_integer_value(v);
		return VGMO_OK;
	}

	switch (f->type) {
	case VGMO__FIELD_BOOL:
		return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
		                  "expected a boolean, got %s",
		                  vgmo__json_kind(v));
	case VGMO__FIELD_STRATEGY:
		return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
		                  "expected a string, got %s",
		                  vgmo__json_kind(v));
	case VGMO__FIELD_DOUBLE:
		return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
		                  "expected a number, got %s",
		                  vgmo__json_kind(v));
	case VGMO__FIELD_INT:
	case VGMO__FIELD_INT64:
		break;
	}
	return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
	                  "expected an integer, got %s", vgmo__json_kind(v));
}

vgmo_err vgmo_config_load_string(vgmo_config *cfg, const char *json, size_t len,
                                 const char *source, char *err, size_t errlen)
{
	json_t *root = NULL;
	json_t *value;
	const char *key;
	vgmo_config copy;
	char reason[VGMO__QUOTE_MAX + 128];
	char msg[VALIDATE_MSG_MAX];
	char q[VGMO__QUOTE_MAX];
	size_t ordinal = 0;
	vgmo__text_pos pos;
	vgmo_err rc = VGMO_OK;

	if (source == NULL)
		source = "<input>";
	if (cfg == NULL || json == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: no configuration or text given", source);

	rc = vgmo__json_load_object(json, len, source, &root, err, errlen);
	if (rc != VGMO_OK)
		return rc;

	copy = *cfg;
	json_object_foreach(root, key, value)
	{
		const vgmo__config_field *f;
		vgmo__field_value v;

		pos = vgmo__text_pos_of(json, len,
		                        key_offset(json, len, ordinal, key));
		f = vgmo__config_field_find(key, strlen(key));
		if (f == NULL) {
			const char *near = vgmo__config_key_suggest(key);

			vgmo__quote(key, strlen(key), q, sizeof(q));
			rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
			                "%s:%d:%d: unknown key %s%s%s%s",
			                source, pos.line, pos.column, q,
			                near ? " (did you mean \"" : "",
			                near ? near : "", near ? "\"?)" : "");
			goto out;
		}
		rc = from_json(f, value, &v, reason, sizeof(reason));
		if (rc != VGMO_OK) {
			vgmo__errf(err, errlen, rc, "%s:%d:%d: key \"%s\": %s",
			           source, pos.line, pos.column, f->name,
			           reason);
			goto out;
		}
		vgmo__config_field_set(&copy, f, &v);
		ordinal++;
	}

	rc = vgmo_config_validate(&copy, msg, sizeof(msg));
	if (rc != VGMO_OK) {
		vgmo__errf(err, errlen, rc, "%s: invalid configuration: %s",
		           source, msg);
		goto out;
	}
	*cfg = copy;
out:
	json_decref(root);
	return rc;
}

vgmo_err vgmo_config_load_file(vgmo_config *cfg, const char *path, char *err,
                               size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	vgmo_err rc;

	if (cfg == NULL || path == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "no configuration or path given");
	rc = vgmo__read_file_ex(path, CONFIG_FILE_MAX, VGMO__READ_REGULAR,
	                        &text, &len, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	rc = vgmo_config_load_string(cfg, text, len, path, err, errlen);
	free(text);
	/* The parser quotes the text it stopped at ("near 'root'"): from a
	 * file that may be anything (a password file read as root), so the
	 * position is all the message keeps. */
	if (rc == VGMO_ERR_PARSE && err != NULL) {
		char *near = strstr(err, " near '");

		if (near != NULL)
			*near = '\0';
	}
	return rc;
}

/* ------------------------------------------------------- serialising */

/* Formats cfg into buf as indented JSON without a final newline; returns its
 * length, or 0 if it did not fit. A non-finite double is written as null. */
static size_t format_config(const vgmo_config *cfg, char *buf, size_t size)
{
	size_t len = 0;
	int n;

	n = snprintf(buf, size, "{\n");
	if (n < 0 || (size_t)n >= size)
		return 0;
	len = (size_t)n;
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++) {
		const vgmo__config_field *f = &vgmo__config_fields[i];
		char text[VGMO__DOUBLE_TEXT_MAX + 16];
		vgmo__field_value v;

		vgmo__config_field_get(cfg, f, &v);
		switch (f->type) {
		case VGMO__FIELD_BOOL:
			snprintf(text, sizeof(text), "%s",
			         v.b ? "true" : "false");
			break;
		case VGMO__FIELD_STRATEGY:
			/* Names are plain lowercase words: no escaping. */
			snprintf(text, sizeof(text), "\"%s\"",
			         vgmo_strategy_name(v.s));
			break;
		case VGMO__FIELD_DOUBLE:
			if (!vgmo__format_double(v.d, text, sizeof(text)))
				snprintf(text, sizeof(text), "null");
			break;
		case VGMO__FIELD_INT:
			snprintf(text, sizeof(text), "%d", v.i);
			break;
		case VGMO__FIELD_INT64:
			snprintf(text, sizeof(text), "%" PRId64, v.i64);
			break;
		}
		n = snprintf(buf + len, size - len, "  \"%s\": %s%s\n", f->name,
		             text, i + 1 < VGMO_CONFIG_FIELD_COUNT ? "," : "");
		if (n < 0 || (size_t)n >= size - len)
			return 0;
		len += (size_t)n;
	}
	n = snprintf(buf + len, size - len, "}");
	if (n < 0 || (size_t)n >= size - len)
		return 0;
	return len + (size_t)n;
}

char *vgmo_config_to_json(const vgmo_config *cfg)
{
	char buf[CONFIG_JSON_MAX];

	if (cfg == NULL || format_config(cfg, buf, sizeof(buf)) == 0)
		return NULL;
	return strdup(buf);
}

vgmo_err vgmo_config_save_file(const vgmo_config *cfg, const char *path,
                               char *err, size_t errlen)
{
	char buf[CONFIG_JSON_MAX + 1];
	char msg[VALIDATE_MSG_MAX];
	size_t len;

	if (cfg == NULL || path == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "no configuration or path given");
	/* A saved file must load again: refuse what loading would refuse. */
	if (vgmo_config_validate(cfg, msg, sizeof(msg)) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_CONFIG,
		                  "%s: not saving an invalid configuration: %s",
		                  path, msg);
	len = format_config(cfg, buf, sizeof(buf) - 1);
	if (len == 0)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                  "%s: configuration text too long", path);
	buf[len++] = '\n';
	return vgmo__write_file_atomic(path, buf, len, err, errlen);
}
