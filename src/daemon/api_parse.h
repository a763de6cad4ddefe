/*
 * api_parse.h - strict parsing of the API's request bodies and arguments
 * (internal to the program; unit-tested by tests/test_api_parse.c).
 *
 * Bodies are JSON, read strictly: a NUL byte or nesting deeper than
 * API_MAX_DEPTH levels is refused before jansson sees the text, duplicate
 * keys are refused, unknown keys are refused, and nothing is returned
 * unless the whole body is valid. Every error says where (source:line:col,
 * counting characters as jansson does) and names the field at fault.
 */
#ifndef VGMO_SRC_API_PARSE_H
#define VGMO_SRC_API_PARSE_H

#include <stddef.h>

#include <jansson.h>

#include "vgmo/vgmo.h"

#define API_MAX_DEPTH 32 /* as VGMO__JSON_MAX_DEPTH (lib/json_strict.h) */
#define API_SOURCE "request body"

/* Why a request was refused: the HTTP status, the message, and the field
 * at fault ("" when not one field). */
typedef struct api_error {
	unsigned status;
	char field[64];
	char fields[256]; /* "a,b": every field a validation named, or "" */
	char message[1024];
} api_error;

/* Fills `e` (status, field may be NULL) and returns VGMO_ERR_INVALID. */
vgmo_err api_error_set(api_error *e, unsigned status, const char *field,
                       const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* The HTTP status for a library or daemon error: OK 200,
 * INVALID/CONFIG/PARSE 400, PERMISSION 403, NOT_FOUND 404, STATE 409,
 * UNSUPPORTED 501, IO 503 (the state could not be saved), others 500. */
unsigned api_status_of(vgmo_err rc);

/* Refuses NUL bytes and nesting deeper than API_MAX_DEPTH (400). */
vgmo_err api_parse_precheck(const char *body, size_t len, api_error *e);

/* The body as a JSON object (precheck, strict parse, top level an object).
 * Caller owns *out (json_decref). */
vgmo_err api_parse_object(const char *body, size_t len, json_t **out,
                          api_error *e);

/* PUT /v1/batch-size: {"batch_size": N}. null or 0 clears the override
 * (*size = 0); otherwise N must be an integer in [min, max]. */
vgmo_err api_parse_batch_size(const char *body, size_t len, int min, int max,
                              int *size, api_error *e);

/* A POST that takes no body: empty, blanks, or an empty object. */
vgmo_err api_parse_no_body(const char *body, size_t len, api_error *e);

/* ?limit=N: NULL gives `def`; otherwise a plain integer in [1, max]. */
vgmo_err api_parse_limit(const char *text, int def, int max, int *out,
                         api_error *e);

/* Turns an error of vgmo_config_load_string into `e` (400): the field is
 * taken from the message ('key "x"', 'unknown key "x"', or the one field of
 * a validation failure); `fields` lists every field a validation failure
 * names. */
void api_error_from_config(api_error *e, vgmo_err rc, const char *message);

#endif
