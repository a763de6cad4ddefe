/*
 * json_values.h - the JSON values the renderers of lib/format/ and the
 * daemon's API share: a number that is null when not finite, a 64-bit
 * count, text made valid UTF-8, null for an empty string or an unknown
 * integer (internal).
 */
#ifndef VGMO_LIB_JSON_VALUES_H
#define VGMO_LIB_JSON_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* v, or null when it is not finite. */
json_t *vgmo__json_num(double v);
/* An integer, or a real past INT64_MAX. */
json_t *vgmo__json_u64(uint64_t v);
/* A JSON string of `s`. Device and process names come from drivers and
 * /proc, and error messages may quote a client's bytes: none need be
 * UTF-8, and a byte jansson refuses becomes '?'. NULL when out of
 * memory. */
json_t *vgmo__json_text(const char *s);
/* `s`, or null when it is NULL or empty. */
json_t *vgmo__json_str_or_null(const char *s);
/* v, or null when `have` is false. */
json_t *vgmo__json_opt_int(bool have, long long v);

#endif
