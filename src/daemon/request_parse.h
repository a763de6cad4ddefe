/*
 * request_parse.h - the shapes of a worker's requests in the protocol's
 * bodies (docs/clients.md): what /v1/clients/{id}/fit, /plan and a
 * report's "requests" carry. Pure functions of the JSON and the worker's
 * model (fuzzed with the report bodies, tests/fuzz/fuzz_report.c).
 *
 * A request is an object:
 *   images         a count, or a list of [width, height] in pixels
 *   image_tokens   its images' tokens as the processor counts them;
 *                  optional when the images are sizes and the worker
 *                  registered a model (vgmo counts them with it)
 *   text_tokens    prompt text tokens (0 when absent)
 *   output_tokens  max_new_tokens (0 when absent)
 */
#ifndef VGMO_SRC_REQUEST_PARSE_H
#define VGMO_SRC_REQUEST_PARSE_H

#include <stddef.h>

#include <jansson.h>

#include "api_parse.h"
#include "vgmo/vgmo.h"

#define REQUEST_MAX 65536             /* requests in one body */
#define REQUEST_MAX_IMAGES 4096       /* images in one request */
#define REQUEST_MAX_SIDE 1048576      /* pixels on one side of an image */
#define REQUEST_MAX_TOKENS 1000000000 /* any token count */

/* One request object. `where` names it in errors ("request",
 * "requests[3]"); `model` counts image sizes into tokens (NULL: the worker
 * has none, and sizes without image_tokens are refused). */
vgmo_err request_parse_one(json_t *o, const char *where,
                           const vgmo_vlm_model *model, vgmo_request_shape *out,
                           api_error *e);

/* An array of 1..REQUEST_MAX request objects into a new array (*out, to
 * free()) of *n shapes. `key` names the array in errors. */
vgmo_err request_parse_list(json_t *a, const char *key,
                            const vgmo_vlm_model *model,
                            vgmo_request_shape **out, size_t *n, api_error *e);

#endif
