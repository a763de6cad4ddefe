/*
 * api_clients_parse.h - strict parsing of the bodies api_clients.c receives,
 * the client protocol's (docs/clients.md): registration and batch reports. Pure
 * functions of the text (and, for a report, of the GPU's memory), so that they
 * can be unit-tested and fuzzed (tests/fuzz/fuzz_api.c, fuzz_report.c); what
 * needs the engine (which GPU a UUID names, a model preset's prior) stays
 * in api_clients.c.
 *
 * Bodies go through api_parse_object first (NUL bytes, nesting deeper than
 * 32 levels, duplicate keys, malformed JSON: 400 with line and column),
 * then unknown keys, types and ranges are refused (400 naming the field).
 */
#ifndef VGMO_SRC_API_CLIENTS_PARSE_H
#define VGMO_SRC_API_CLIENTS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_parse.h"
#include "util.h"
#include "vgmo/vgmo.h"

#define CLIENT_MAX_ITEMS 1000000
#define CLIENT_MAX_SECONDS 86400.0
#define CLIENT_MAX_WEIGHT 1e6
#define CLIENT_NAME_MAX VGMO__NAME_MAX
#define CLIENT_TEXT_MAX 128 /* longest GPU UUID or model name kept */

/* POST /v1/clients. */
typedef struct client_registration {
	char name[CLIENT_NAME_MAX + 1];
	bool gpu_by_uuid;                /* else gpu_index */
	long long gpu_index;             /* >= 0; 0 when not given */
	char gpu_uuid[CLIENT_TEXT_MAX];  /* when gpu_by_uuid */
	double weight;                   /* 0: not given (1.0) */
	char unit[8];                    /* "items", "images", "tokens" */
	char model[CLIENT_TEXT_MAX];     /* "" when not given */
	vgmo_padding padding;            /* UNKNOWN when not given */
	vgmo_attention attention;        /* the decoder's; UNKNOWN: not given */
	vgmo_attention vision_attention; /* the encoder's */
	vgmo_logits logits;              /* UNKNOWN: not given */
	uint32_t pid;                    /* 0 when not given */
} client_registration;

/* POST /v1/clients/{id}/report. */
typedef struct client_report {
	vgmo_report r;
	bool has_units;
	uint64_t units;
	/* "requests": the batch's request shapes (r.items of them), or NULL;
	 * freed by api_clients_report_free. */
	vgmo_request_shape *requests;
} client_report;

/* Fills *out from a registration body, or refuses it (400 in `e`). */
vgmo_err api_clients_parse_registration(const char *body, size_t len,
                                        client_registration *out, api_error *e);

/* Fills *out from a report body, or refuses it (400 in `e`). Byte counts
 * above `gpu_total` (the memory of the client's GPU; 0: unknown) are
 * refused: nothing a GPU could not hold is believed. `model` (NULL: none)
 * counts the tokens of image sizes in "requests" (request_parse.h). */
vgmo_err api_clients_parse_report(const char *body, size_t len,
                                  uint64_t gpu_total,
                                  const vgmo_vlm_model *model,
                                  client_report *out, api_error *e);

void api_clients_report_free(client_report *c);

#endif
