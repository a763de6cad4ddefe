/*
 * client_fit.h - the worker client's side of /fit, /plan and a report's
 * "requests" (docs/clients.md): request shapes to JSON, the daemon's
 * answers back into vgmo_fit and vgmo_batch_plan. Pure; client.c sends.
 */
#ifndef VGMO_LIB_CLIENT_FIT_H
#define VGMO_LIB_CLIENT_FIT_H

#include <stddef.h>

#include <jansson.h>

#include "vgmo/vgmo.h"

/* {"images", "image_tokens", "text_tokens", "output_tokens"}; NULL when
 * out of memory. */
json_t *vgmo__client_shape_json(const vgmo_request_shape *r);
/* An array of n of them. */
json_t *vgmo__client_shapes_json(const vgmo_request_shape *v, size_t n);

/* The daemon's fit answer; VGMO_ERR_PARSE when it is not the protocol's. */
vgmo_err vgmo__client_fit_parse(const json_t *o, vgmo_fit *out);
/* The daemon's plan answer. */
vgmo_err vgmo__client_plan_parse(const json_t *o, vgmo_batch_plan *out);

#endif
