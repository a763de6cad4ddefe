/*
 * config.c - the configuration: the field table, defaults, validation and
 * strategy names. The text form of a value (the strict parser that the
 * environment overlay and vgmo_config_set_field share) is config_text.c.
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
 * the struct. The rest of an entry is the field's command-line flag: its
 * name, metavar, help (NULL: the name says it), unit and place among the
 * flags. */
#define FIELD(member, kind, ctype, flag, metavar, help, unit, pos)             \
	{                                                                      \
#member, kind,                                                 \
		        _Generic(((vgmo_config *)0)->member, ctype             \
		                 : offsetof(vgmo_config, member)),             \
		        flag, metavar, help, unit, pos                         \
	}

const vgmo__config_field vgmo__config_fields[] = {
        FIELD(enabled, VGMO__FIELD_BOOL, bool, "enabled", "true|false",
              "optimize at all", VGMO__UNIT_NONE, 13),
        FIELD(strategy, VGMO__FIELD_STRATEGY, vgmo_strategy, "strategy", "NAME",
              NULL, VGMO__UNIT_NONE, 0),
        FIELD(monitoring_interval, VGMO__FIELD_DOUBLE, double,
              "monitoring-interval", "S", NULL, VGMO__UNIT_SECONDS, 6),
        FIELD(memory_threshold_warning, VGMO__FIELD_DOUBLE, double,
              "warning-threshold", "F", NULL, VGMO__UNIT_FRACTION, 1),
        FIELD(memory_threshold_critical, VGMO__FIELD_DOUBLE, double,
              "critical-threshold", "F", NULL, VGMO__UNIT_FRACTION, 2),
        FIELD(memory_threshold_oom, VGMO__FIELD_DOUBLE, double, "oom-threshold",
              "F", NULL, VGMO__UNIT_FRACTION, 3),
        FIELD(temperature_threshold, VGMO__FIELD_DOUBLE, double,
              "temperature-threshold", "C", NULL, VGMO__UNIT_CELSIUS, 8),
        FIELD(optimization_interval, VGMO__FIELD_DOUBLE, double,
              "optimization-interval", "S", NULL, VGMO__UNIT_SECONDS, 7),
        FIELD(cleanup_interval, VGMO__FIELD_DOUBLE, double, "cleanup-interval",
              "S", NULL, VGMO__UNIT_SECONDS, 9),
        FIELD(max_batch_size, VGMO__FIELD_INT, int, "max-batch-size", "N", NULL,
              VGMO__UNIT_NONE, 4),
        FIELD(min_batch_size, VGMO__FIELD_INT, int, "min-batch-size", "N", NULL,
              VGMO__UNIT_NONE, 5),
        FIELD(memory_reserve_mb, VGMO__FIELD_INT64, int64_t,
              "memory-reserve-mb", "N", NULL, VGMO__UNIT_MIB, 10),
        FIELD(gc_threshold, VGMO__FIELD_DOUBLE, double, "gc-threshold", "F",
              NULL, VGMO__UNIT_FRACTION, 11),
        FIELD(fragmentation_threshold, VGMO__FIELD_DOUBLE, double,
              "fragmentation-threshold", "F", NULL, VGMO__UNIT_FRACTION, 12),
};

_Static_assert(VGMO__ARRAY_LEN(vgmo__config_fields) == VGMO_CONFIG_FIELD_COUNT,
               "the field table must list every vgmo_config field");

static const char *const strategy_names[] = {
        [VGMO_STRATEGY_CONSERVATIVE] = "conservative",
        [VGMO_STRATEGY_BALANCED] = "balanced",
        [VGMO_STRATEGY_AGGRESSIVE] = "aggressive",
        [VGMO_STRATEGY_ADAPTIVE] = "adaptive",
};

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
