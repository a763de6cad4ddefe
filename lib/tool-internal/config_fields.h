/*
 * config_fields.h - the one description of vgmo_config's 14 fields, shared
 * by config.c (defaults, validation, set_field), config_json.c,
 * config_env.c and the program's configuration flags (src/common/
 * cli_engine.c builds each flag and its help line from a field), plus the
 * text parser and number formatter they share.
 */
#ifndef VGMO_LIB_CONFIG_FIELDS_H
#define VGMO_LIB_CONFIG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

typedef enum vgmo__field_type {
	VGMO__FIELD_BOOL,     /* bool */
	VGMO__FIELD_STRATEGY, /* vgmo_strategy */
	VGMO__FIELD_DOUBLE,   /* double */
	VGMO__FIELD_INT,      /* int */
	VGMO__FIELD_INT64     /* int64_t */
} vgmo__field_type;

/* What a number of a field measures; says how its default is written in a
 * help line. */
typedef enum vgmo__field_unit {
	VGMO__UNIT_NONE,     /* a count, a switch or a choice */
	VGMO__UNIT_FRACTION, /* "0..1", default with two decimals ("0.80") */
	VGMO__UNIT_SECONDS,  /* "seconds" */
	VGMO__UNIT_CELSIUS,  /* "degrees C" */
	VGMO__UNIT_MIB       /* "MiB" (memory_reserve_mb holds MiB) */
} vgmo__field_unit;

typedef struct vgmo__config_field {
	const char *name; /* the seed's name, also the JSON key */
	vgmo__field_type type;
	size_t offset; /* offsetof(vgmo_config, name) */
	/* its command-line flag */
	const char *flag;      /* without "--": "warning-threshold" */
	const char *metavar;   /* "F" */
	const char *help;      /* NULL, or what the name does not say */
	vgmo__field_unit unit; /* what the number measures */
	int flag_pos;          /* its place among the flags, 0.. */
} vgmo__config_field;

/* A value of any field type; the member used follows the field's type. */
typedef union vgmo__field_value {
	bool b;
	vgmo_strategy s;
	double d;
	int i;
	int64_t i64;
} vgmo__field_value;

/* The VGMO_CONFIG_FIELD_COUNT fields, in the seed's order. (config.c) */
extern const vgmo__config_field vgmo__config_fields[];

/* The field named exactly `name` (`len` bytes), or NULL. */
const vgmo__config_field *vgmo__config_field_find(const char *name, size_t len);

void vgmo__config_field_get(const vgmo_config *cfg, const vgmo__config_field *f,
                            vgmo__field_value *out);
void vgmo__config_field_set(vgmo_config *cfg, const vgmo__config_field *f,
                            const vgmo__field_value *v);

/* The unit's text in a help line ("0..1", "seconds"), or NULL for
 * VGMO__UNIT_NONE. */
const char *vgmo__field_unit_text(vgmo__field_unit unit);

/* Writes f's help line, the default taken from vgmo_config_defaults(): the
 * choices of a strategy ("conservative|balanced|aggressive|adaptive"), else
 * "<name>[, <unit>][: <help>] (default <value>)" ("memory_threshold_warning,
 * 0..1 (default 0.80)"). Always NUL-terminates; cut short when it does not
 * fit. */
void vgmo__config_field_help(const vgmo__config_field *f, char *buf,
                             size_t size);

/* Parses the text form of a value of f's type, strictly: no empty value, no
 * surrounding blanks or trailing junk, numbers in decimal only, integers in
 * range, doubles finite. Booleans are true|false|1|0. On error returns
 * VGMO_ERR_PARSE and writes the reason, with the quoted value, to `reason`
 * ("expected an integer, got \"4.5\""). */
vgmo_err vgmo__config_parse_text(const vgmo__config_field *f, const char *text,
                                 vgmo__field_value *out, char *reason,
                                 size_t reasonlen);

/* Writes the shortest decimal text of `v` that reads back as exactly `v`,
 * in the "C" locale, laid out like Python's repr: positional when
 * 1e-4 <= |v| < 1e16, else with an exponent, and always with a '.' or an
 * exponent ("5.0", "0.8", "80.0", "1e-05", "1e+16"). Returns false (buf
 * unspecified) if `v` is not finite or `size` is under
 * VGMO__DOUBLE_TEXT_MAX. */
#define VGMO__DOUBLE_TEXT_MAX 32
bool vgmo__format_double(double v, char *buf, size_t size);

/* Writes `n` bytes of `s` as a double-quoted string for a message: quotes,
 * backslashes and control bytes escaped, long input cut with "...". Always
 * NUL-terminates; VGMO__QUOTE_MAX bytes are always enough. */
#define VGMO__QUOTE_MAX 208
void vgmo__quote(const char *s, size_t n, char *buf, size_t size);

#endif
