/*
 * json_strict.h - JSON read strictly, with messages that say where: the
 * configuration (config_json.c) and the daemon's request bodies
 * (src/api_parse.c) load their text through here.
 */
#ifndef VGMO_LIB_JSON_STRICT_H
#define VGMO_LIB_JSON_STRICT_H

#include <stddef.h>

#include <jansson.h>

#include "vgmo/vgmo.h"

/* Deepest nesting read (jansson's own limit is 2048 levels). */
#define VGMO__JSON_MAX_DEPTH 32

/* A place in a text: 1-based line and column, columns counting Unicode
 * characters as jansson's do. */
typedef struct vgmo__text_pos {
	int line;
	int column;
} vgmo__text_pos;

/* Where byte `off` (< len) of `s` is. */
vgmo__text_pos vgmo__text_pos_of(const char *s, size_t len, size_t off);

/* Offset of the first byte of `s` that is not JSON white space; `len` when
 * there is none. */
size_t vgmo__json_skip_blank(const char *s, size_t len);

/* "an object", "a string", ..., "null": what `v` is, for messages. */
const char *vgmo__json_kind(const json_t *v);

/* Loads `len` bytes of `s` as one JSON object into *out (the caller
 * decrefs it). Refused with VGMO_ERR_PARSE and "source:line:column: why"
 * in `err`: nesting deeper than VGMO__JSON_MAX_DEPTH (before jansson
 * recurses into it), invalid JSON, a duplicate key, a top level that is
 * not an object. *out is NULL on error. */
vgmo_err vgmo__json_load_object(const char *s, size_t len, const char *source,
                                json_t **out, char *err, size_t errlen);

#endif
