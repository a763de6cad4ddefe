/*
 * config_text.c - the text form of a configuration value: the strict
 * parser that the environment overlay and vgmo_config_set_field share,
 * the shortest decimal text of a double that reads back exactly,
 * quoting for messages, and a field's help line for its flag. Numbers
 * always in the "C" locale.
 */
#include "config_fields.h"
#include "suggest.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRATEGY_LIST "conservative, balanced, aggressive or adaptive"

/* ------------------------------------------------------- numbers in "C" */

/* Numbers in config text always use '.', whatever LC_NUMERIC the program
 * set: switch this thread to the "C" locale around strtod/snprintf. If the
 * locale cannot be made, the thread's own locale is used. */
typedef struct c_numeric {
	locale_t c;
	locale_t old;
} c_numeric;

static void c_numeric_enter(c_numeric *cn)
{
	cn->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	cn->old = (locale_t)0;
	if (cn->c != (locale_t)0)
		cn->old = uselocale(cn->c);
}

static void c_numeric_leave(c_numeric *cn)
{
	if (cn->c == (locale_t)0)
		return;
	uselocale(cn->old);
	freelocale(cn->c);
}

bool vgmo__format_double(double v, char *buf, size_t size)
{
	c_numeric cn;
	int digits = 17;
	int exp10;

	if (!isfinite(v) || buf == NULL || size < VGMO__DOUBLE_TEXT_MAX)
		return false;
	c_numeric_enter(&cn);
	/* The fewest significant digits that read back as v... */
	for (int d = 1; d <= 17; d++) {
		snprintf(buf, size, "%.*e", d - 1, v);
		if (strtod(buf, NULL) == v) {
			digits = d;
			break;
		}
	}
	/* ...shown like Python's repr: positional for 1e-4 <= |v| < 1e16,
	 * with an exponent otherwise ("80.0", "0.0001", "1e-05", "1e+16"). */
	exp10 = atoi(strchr(buf, 'e') + 1);
	if (exp10 >= -4 && exp10 < 16)
		snprintf(buf, size, "%.*f",
		         digits - 1 - exp10 > 0 ? digits - 1 - exp10 : 0, v);
	c_numeric_leave(&cn);
	if (strpbrk(buf, ".e") == NULL)
		strcat(buf, ".0"); /* at most "-1234567890123456.0" */
	return true;
}

/* ------------------------------------------------------- message quotes */

void vgmo__quote(const char *s, size_t n, char *buf, size_t size)
{
	static const size_t shown = 48; /* input bytes before "..." */
	size_t o = 0;

	if (size == 0)
		return;
	/* Each step writes at most 4 bytes; keep room for `..."` and NUL. */
	if (o + 1 < size)
		buf[o++] = '"';
	for (size_t i = 0; i < n && i < shown && o + 4 + 5 <= size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
		if (i + 1 == shown && n > shown) {
			memcpy(buf + o, "...", 3);
			o += 3;
		}
	}
	if (o + 1 < size)
		buf[o++] = '"';
	buf[o] = '\0';
}

/* ------------------------------------------------------- help lines */

const char *vgmo__field_unit_text(vgmo__field_unit unit)
{
	switch (unit) {
	case VGMO__UNIT_FRACTION:
		return "0..1";
	case VGMO__UNIT_SECONDS:
		return "seconds";
	case VGMO__UNIT_CELSIUS:
		return "degrees C";
	case VGMO__UNIT_MIB:
		return "MiB";
	case VGMO__UNIT_NONE:
		break;
	}
	return NULL;
}

/* The default of f as a help line writes it: "0.80", "5", "16", "true". */
static void default_text(const vgmo__config_field *f, char *buf, size_t size)
{
	vgmo__field_value v;
	vgmo_config defaults;
	c_numeric cn;

	vgmo_config_defaults(&defaults);
	vgmo__config_field_get(&defaults, f, &v);
	c_numeric_enter(&cn);
	switch (f->type) {
	case VGMO__FIELD_BOOL:
		snprintf(buf, size, "%s", v.b ? "true" : "false");
		break;
	case VGMO__FIELD_STRATEGY:
		snprintf(buf, size, "%s", vgmo_strategy_name(v.s));
		break;
	case VGMO__FIELD_DOUBLE:
		if (f->unit == VGMO__UNIT_FRACTION)
			snprintf(buf, size, "%.2f", v.d);
		else
			snprintf(buf, size, "%g", v.d);
		break;
	case VGMO__FIELD_INT:
		snprintf(buf, size, "%d", v.i);
		break;
	case VGMO__FIELD_INT64:
		snprintf(buf, size, "%" PRId64, v.i64);
		break;
	}
	c_numeric_leave(&cn);
}

void vgmo__config_field_help(const vgmo__config_field *f, char *buf,
                             size_t size)
{
	const char *unit = vgmo__field_unit_text(f->unit);
	char def[VGMO__DOUBLE_TEXT_MAX];

	if (size == 0)
		return;
	if (f->type == VGMO__FIELD_STRATEGY) {
		snprintf(buf, size, "%s|%s|%s|%s",
		         vgmo_strategy_name(VGMO_STRATEGY_CONSERVATIVE),
		         vgmo_strategy_name(VGMO_STRATEGY_BALANCED),
		         vgmo_strategy_name(VGMO_STRATEGY_AGGRESSIVE),
		         vgmo_strategy_name(VGMO_STRATEGY_ADAPTIVE));
		return;
	}
	default_text(f, def, sizeof(def));
	snprintf(buf, size, "%s%s%s%s%s (default %s)", f->name,
	         unit ? ", " : "", unit ? unit : "", f->help ? ": " : "",
	         f->help ? f->help : "", def);
}

/* ------------------------------------------------------- text parsing */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static vgmo_err bad_value(char *reason, size_t reasonlen, const char *what,
                          const char *text)
{
	char q[VGMO__QUOTE_MAX];

	vgmo__quote(text, strlen(text), q, sizeof(q));
	return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE, "%s, got %s", what,
	                  q);
}

static vgmo_err parse_integer(const char *text, long long min, long long max,
                              long long *out, char *reason, size_t reasonlen)
{
	const char *p = text;
	char *end = NULL;
	char q[VGMO__QUOTE_MAX];
	long long v;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '\0')
		return bad_value(reason, reasonlen, "expected an integer",
		                 text);
	for (; *p != '\0'; p++)
		if (!is_digit(*p))
			return bad_value(reason, reasonlen,
			                 "expected an integer", text);
	errno = 0;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '\0')
		return bad_value(reason, reasonlen, "expected an integer",
		                 text);
	if (errno == ERANGE || v < min || v > max) {
		vgmo__quote(text, strlen(text), q, sizeof(q));
		return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
		                  "integer %s out of range [%lld, %lld]", q,
		                  min, max);
	}
	*out = v;
	return VGMO_OK;
}

static vgmo_err parse_double(const char *text, double *out, char *reason,
                             size_t reasonlen)
{
	bool digit = false;
	char *end = NULL;
	c_numeric cn;
	double v;
	int e;

	/* Decimal notation only: no blanks, hex, "nan" or "inf". */
	for (const char *p = text; *p != '\0'; p++) {
		if (is_digit(*p))
			digit = true;
		else if (strchr("+-.eE", *p) == NULL)
			return bad_value(reason, reasonlen, "expected a number",
			                 text);
	}
	if (!digit)
		return bad_value(reason, reasonlen, "expected a number", text);
	c_numeric_enter(&cn);
	errno = 0;
	v = strtod(text, &end);
	e = errno;
	c_numeric_leave(&cn);
	if (end == text || *end != '\0')
		return bad_value(reason, reasonlen, "expected a number", text);
	if ((e == ERANGE && fabs(v) > 1.0) || !isfinite(v))
		return bad_value(reason, reasonlen, "number out of range",
		                 text);
	*out = v;
	return VGMO_OK;
}

vgmo_err vgmo__config_parse_text(const vgmo__config_field *f, const char *text,
                                 vgmo__field_value *out, char *reason,
                                 size_t reasonlen)
{
	long long n = 0;
	vgmo_err rc;

	if (text == NULL || text[0] == '\0')
		return vgmo__errf(reason, reasonlen, VGMO_ERR_PARSE,
		                  "empty value");
	switch (f->type) {
	case VGMO__FIELD_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
			out->b = true;
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
			out->b = false;
		else
			return bad_value(reason, reasonlen,
			                 "expected true, false, 1 or 0", text);
		return VGMO_OK;
	case VGMO__FIELD_STRATEGY:
		if (vgmo_strategy_parse(text, &out->s) != VGMO_OK)
			return bad_value(reason, reasonlen,
			                 "expected " STRATEGY_LIST, text);
		return VGMO_OK;
	case VGMO__FIELD_DOUBLE:
		return parse_double(text, &out->d, reason, reasonlen);
	case VGMO__FIELD_INT:
		rc = parse_integer(text, INT_MIN, INT_MAX, &n, reason,
		                   reasonlen);
		if (rc == VGMO_OK)
			out->i = (int)n;
		return rc;
	case VGMO__FIELD_INT64:
		rc = parse_integer(text, INT64_MIN, INT64_MAX, &n, reason,
		                   reasonlen);
		if (rc == VGMO_OK)
			out->i64 = (int64_t)n;
		return rc;
	}
	return vgmo__errf(reason, reasonlen, VGMO_ERR_INVALID,
	                  "field of unknown type");
}

vgmo_err vgmo_config_set_field(vgmo_config *cfg, const char *key,
                               const char *value, char *err, size_t errlen)
{
	const vgmo__config_field *f;
	vgmo__field_value v;
	char reason[VGMO__QUOTE_MAX + 96];
	char q[VGMO__QUOTE_MAX];
	vgmo_err rc;

	if (cfg == NULL || key == NULL || value == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "missing configuration, key or value");
	f = vgmo__config_field_find(key, strlen(key));
	if (f == NULL) {
		const char *near = vgmo__config_key_suggest(key);

		vgmo__quote(key, strlen(key), q, sizeof(q));
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "unknown key %s%s%s%s", q,
		                  near ? " (did you mean \"" : "",
		                  near ? near : "", near ? "\"?)" : "");
	}
	rc = vgmo__config_parse_text(f, value, &v, reason, sizeof(reason));
	if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc, "key \"%s\": %s", f->name,
		                  reason);
	vgmo__config_field_set(cfg, f, &v);
	return VGMO_OK;
}
