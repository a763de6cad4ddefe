/*
 * config.c - the configuration: the field table, defaults, validation,
 * strategy names and the strict text parser that the environment overlay
 * and vgmo_config_set_field share.
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

/* _Generic with a single association refuses to compile when the member's
 * type does not match the declared C type, so the table cannot drift from
 * the struct. */
#define FIELD(member, kind, ctype)                                             \
	{                                                                      \
#member, kind,                                                 \
		        _Generic(((vgmo_config *)0)->member, ctype             \
		                 : offsetof(vgmo_config, member))              \
	}

const vgmo__config_field vgmo__config_fields[] = {
        FIELD(enabled, VGMO__FIELD_BOOL, bool),
        FIELD(strategy, VGMO__FIELD_STRATEGY, vgmo_strategy),
        FIELD(monitoring_interval, VGMO__FIELD_DOUBLE, double),
        FIELD(memory_threshold_warning, VGMO__FIELD_DOUBLE, double),
        FIELD(memory_threshold_critical, VGMO__FIELD_DOUBLE, double),
        FIELD(memory_threshold_oom, VGMO__FIELD_DOUBLE, double),
        FIELD(temperature_threshold, VGMO__FIELD_DOUBLE, double),
        FIELD(optimization_interval, VGMO__FIELD_DOUBLE, double),
        FIELD(cleanup_interval, VGMO__FIELD_DOUBLE, double),
        FIELD(max_batch_size, VGMO__FIELD_INT, int),
        FIELD(min_batch_size, VGMO__FIELD_INT, int),
        FIELD(memory_reserve_mb, VGMO__FIELD_INT64, int64_t),
        FIELD(gc_threshold, VGMO__FIELD_DOUBLE, double),
        FIELD(fragmentation_threshold, VGMO__FIELD_DOUBLE, double),
};

_Static_assert(VGMO__ARRAY_LEN(vgmo__config_fields) == VGMO_CONFIG_FIELD_COUNT,
               "the field table must list every vgmo_config field");

static const char *const strategy_names[] = {
        [VGMO_STRATEGY_CONSERVATIVE] = "conservative",
        [VGMO_STRATEGY_BALANCED] = "balanced",
        [VGMO_STRATEGY_AGGRESSIVE] = "aggressive",
        [VGMO_STRATEGY_ADAPTIVE] = "adaptive",
};

#define STRATEGY_LIST "conservative, balanced, aggressive or adaptive"

/* ------------------------------------------------------------ the table */

const vgmo__config_field *vgmo__config_field_find(const char *name, size_t len)
{
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++) {
		const char *n = vgmo__config_fields[i].name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return &vgmo__config_fields[i];
	}
	return NULL;
}

void vgmo__config_field_get(const vgmo_config *cfg, const vgmo__config_field *f,
                            vgmo__field_value *out)
{
	const char *p = (const char *)cfg + f->offset;

	switch (f->type) {
	case VGMO__FIELD_BOOL:
		memcpy(&out->b, p, sizeof(out->b));
		break;
	case VGMO__FIELD_STRATEGY:
		memcpy(&out->s, p, sizeof(out->s));
		break;
	case VGMO__FIELD_DOUBLE:
		memcpy(&out->d, p, sizeof(out->d));
		break;
	case VGMO__FIELD_INT:
		memcpy(&out->i, p, sizeof(out->i));
		break;
	case VGMO__FIELD_INT64:
		memcpy(&out->i64, p, sizeof(out->i64));
		break;
	}
}

void vgmo__config_field_set(vgmo_config *cfg, const vgmo__config_field *f,
                            const vgmo__field_value *v)
{
	char *p = (char *)cfg + f->offset;

	switch (f->type) {
	case VGMO__FIELD_BOOL:
		memcpy(p, &v->b, sizeof(v->b));
		break;
	case VGMO__FIELD_STRATEGY:
		memcpy(p, &v->s, sizeof(v->s));
		break;
	case VGMO__FIELD_DOUBLE:
		memcpy(p, &v->d, sizeof(v->d));
		break;
	case VGMO__FIELD_INT:
		memcpy(p, &v->i, sizeof(v->i));
		break;
	case VGMO__FIELD_INT64:
		memcpy(p, &v->i64, sizeof(v->i64));
		break;
	}
}

/* ------------------------------------------------------------- defaults */

void vgmo_config_defaults(vgmo_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	cfg->strategy = VGMO_STRATEGY_BALANCED;
	cfg->monitoring_interval = 5.0;
	cfg->memory_threshold_warning = 0.8;
	cfg->memory_threshold_critical = 0.9;
	cfg->memory_threshold_oom = 0.95;
	cfg->temperature_threshold = 80.0;
	cfg->optimization_interval = 60.0;
	cfg->cleanup_interval = 300.0;
	cfg->max_batch_size = 16;
	cfg->min_batch_size = 1;
	cfg->memory_reserve_mb = 1024;
	cfg->gc_threshold = 0.85;
	cfg->fragmentation_threshold = 0.3;
}

/* ----------------------------------------------------------- validation */

/* Collects "field: reason; field: reason" into a caller's buffer. */
typedef struct violations {
	char *buf;
	size_t size;
	size_t len;
	unsigned count;
} violations;

static void vappend(violations *v, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void vappend(violations *v, const char *fmt, va_list ap)
{
	int n;

	if (v->buf == NULL || v->size == 0 || v->len + 1 >= v->size)
		return;
	n = vsnprintf(v->buf + v->len, v->size - v->len, fmt, ap);
	if (n < 0)
		return;
	v->len += (size_t)n;
	if (v->len >= v->size)
		v->len = v->size - 1;
}

static void append(violations *v, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void append(violations *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(v, fmt, ap);
	va_end(ap);
}

static void violation(violations *v, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void violation(violations *v, const char *field, const char *fmt, ...)
{
	va_list ap;

	append(v, "%s%s: ", v->count > 0 ? "; " : "", field);
	va_start(ap, fmt);
	vappend(v, fmt, ap);
	va_end(ap);
	v->count++;
}

static bool check_fraction(violations *v, const char *field, double x)
{
	if (isfinite(x) && x >= 0.0 && x <= 1.0)
		return true;
	violation(v, field, "must be a number from 0 to 1 (got %g)", x);
	return false;
}

/* A positive number in [lo, hi]. */
static void check_range(violations *v, const char *field, double x, double lo,
                        double hi)
{
	if (!isfinite(x) || x <= 0.0)
		violation(v, field,
		          "must be a finite number greater than 0 (got %g)", x);
	else if (x < lo)
		violation(v, field, "must be at least %g (got %g)", lo, x);
	else if (x > hi)
		violation(v, field, "must be at most %g (got %g)", hi, x);
}

vgmo_err vgmo_config_validate(const vgmo_config *cfg, char *err, size_t errlen)
{
	violations v = {.buf = err, .size = errlen};
	bool warn_ok, crit_ok, oom_ok;

	if (cfg == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "no configuration given");
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	/* In the order of the field table. */
	if ((unsigned)cfg->strategy > VGMO_STRATEGY_ADAPTIVE)
		violation(&v, "strategy", "unknown strategy %d",
		          (int)cfg->strategy);
	check_range(&v, "monitoring_interval", cfg->monitoring_interval,
	            VGMO_CONFIG_INTERVAL_MIN, VGMO_CONFIG_MONITORING_MAX);

	warn_ok = check_fraction(&v, "memory_threshold_warning",
	                         cfg->memory_threshold_warning);
	crit_ok = check_fraction(&v, "memory_threshold_critical",
	                         cfg->memory_threshold_critical);
	if (warn_ok && crit_ok &&
	    !(cfg->memory_threshold_warning < cfg->memory_threshold_critical))
		violation(&v, "memory_threshold_critical",
		          "must be greater than memory_threshold_warning "
		          "(%g <= %g)",
		          cfg->memory_threshold_critical,
		          cfg->memory_threshold_warning);
	oom_ok = check_fraction(&v, "memory_threshold_oom",
	                        cfg->memory_threshold_oom);
	if (crit_ok && oom_ok &&
	    !(cfg->memory_threshold_critical < cfg->memory_threshold_oom))
		violation(&v, "memory_threshold_oom",
		          "must be greater than memory_threshold_critical "
		          "(%g <= %g)",
		          cfg->memory_threshold_oom,
		          cfg->memory_threshold_critical);
	else if (!crit_ok && warn_ok && oom_ok &&
	         !(cfg->memory_threshold_warning < cfg->memory_threshold_oom))
		violation(&v, "memory_threshold_oom",
		          "must be greater than memory_threshold_warning "
		          "(%g <= %g)",
		          cfg->memory_threshold_oom,
		          cfg->memory_threshold_warning);

	check_range(&v, "temperature_threshold", cfg->temperature_threshold,
	            VGMO_CONFIG_TEMPERATURE_MIN, VGMO_CONFIG_TEMPERATURE_MAX);
	check_range(&v, "optimization_interval", cfg->optimization_interval,
	            VGMO_CONFIG_INTERVAL_MIN, VGMO_CONFIG_INTERVAL_MAX);
	check_range(&v, "cleanup_interval", cfg->cleanup_interval,
	            VGMO_CONFIG_INTERVAL_MIN, VGMO_CONFIG_INTERVAL_MAX);

	if (cfg->max_batch_size < 1)
		violation(&v, "max_batch_size", "must be at least 1 (got %d)",
		          cfg->max_batch_size);
	else if (cfg->max_batch_size > VGMO_BATCH_MAX)
		violation(&v, "max_batch_size", "must be at most %d (got %d)",
		          VGMO_BATCH_MAX, cfg->max_batch_size);
	else if (cfg->min_batch_size >= 1 &&
	         cfg->max_batch_size < cfg->min_batch_size)
		violation(&v, "max_batch_size",
		          "must be at least min_batch_size (%d < %d)",
		          cfg->max_batch_size, cfg->min_batch_size);
	if (cfg->min_batch_size < 1)
		violation(&v, "min_batch_size", "must be at least 1 (got %d)",
		          cfg->min_batch_size);
	else if (cfg->min_batch_size > VGMO_BATCH_MAX)
		violation(&v, "min_batch_size", "must be at most %d (got %d)",
		          VGMO_BATCH_MAX, cfg->min_batch_size);

	if (cfg->memory_reserve_mb < 0)
		violation(&v, "memory_reserve_mb",
		          "must be at least 0 (got %" PRId64 ")",
		          cfg->memory_reserve_mb);
	else if (cfg->memory_reserve_mb > VGMO_CONFIG_RESERVE_MB_MAX)
		violation(&v, "memory_reserve_mb",
		          "must be at most %" PRId64 " (got %" PRId64 ")",
		          (int64_t)VGMO_CONFIG_RESERVE_MB_MAX,
		          cfg->memory_reserve_mb);

	check_fraction(&v, "gc_threshold", cfg->gc_threshold);
	check_fraction(&v, "fragmentation_threshold",
	               cfg->fragmentation_threshold);

	return v.count > 0 ? VGMO_ERR_CONFIG : VGMO_OK;
}

/* ----------------------------------------------------------- strategies */

const char *vgmo_strategy_name(vgmo_strategy s)
{
	if ((unsigned)s >= VGMO__ARRAY_LEN(strategy_names))
		return "unknown";
	return strategy_names[s];
}

vgmo_err vgmo_strategy_parse(const char *name, vgmo_strategy *out)
{
	if (name == NULL || out == NULL)
		return VGMO_ERR_INVALID;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(strategy_names); i++) {
		if (strcmp(name, strategy_names[i]) == 0) {
			*out = (vgmo_strategy)i;
			return VGMO_OK;
		}
	}
	return VGMO_ERR_INVALID;
}

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
