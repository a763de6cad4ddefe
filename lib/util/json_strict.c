/*
 * json_strict.c - strict JSON loading with positions (json_strict.h).
 */
#include "json_strict.h"

#include <stdbool.h>

#include "util.h"

vgmo__text_pos vgmo__text_pos_of(const char *s, size_t len, size_t off)
{
	vgmo__text_pos p = {1, 0};

	for (size_t i = 0; i <= off && i < len; i++) {
		if (i > 0 && s[i - 1] == '\n') {
			p.line++;
			p.column = 0;
		}
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			p.column++;
	}
	if (p.column == 0)
		p.column = 1;
	return p;
}

size_t vgmo__json_skip_blank(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

const char *vgmo__json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

/* Offset of the first '{' or '[' nested deeper than VGMO__JSON_MAX_DEPTH
 * outside strings, or `len` when there is none. */
static size_t too_deep(const char *s, size_t len)
{
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = false;
		} else if (s[i] == '"') {
			in_string = true;
		} else if (s[i] == '{' || s[i] == '[') {
			if (++depth > VGMO__JSON_MAX_DEPTH)
				return i;
		} else if (s[i] == '}' || s[i] == ']') {
			depth--;
		}
	}
	return len;
}

vgmo_err vgmo__json_load_object(const char *s, size_t len, const char *source,
                                json_t **out, char *err, size_t errlen)
{
	size_t deep = too_deep(s, len);
	json_error_t jerr;
	vgmo__text_pos pos;
	json_t *root;

	*out = NULL;
	if (deep < len) {
		pos = vgmo__text_pos_of(s, len, deep);
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "%s:%d:%d: nesting deeper than %d levels",
		                  source, pos.line, pos.column,
		                  VGMO__JSON_MAX_DEPTH);
	}
	root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE, "%s:%d:%d: %s",
		                  source, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		pos = vgmo__text_pos_of(s, len, vgmo__json_skip_blank(s, len));
		vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		           "%s:%d:%d: the top level must be an object, got %s",
		           source, pos.line, pos.column, vgmo__json_kind(root));
		json_decref(root);
		return VGMO_ERR_PARSE;
	}
	*out = root;
	return VGMO_OK;
}
