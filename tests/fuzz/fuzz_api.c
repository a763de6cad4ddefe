/*
 * fuzz_api.c - every JSON body the API reads (src/daemon/api_parse.c,
 * src/daemon/api_clients_parse.c): the strict object parser and its precheck,
 * PUT /v1/batch-size, the bodiless POSTs, PUT /v1/config (precheck, then the
 * configuration loader, then the error mapping), ?limit=, and the client
 * registration. The first input byte picks the limits a handler would
 * pass; the rest is the body.
 *
 * Checks: a refusal is a 400 with a message (and "request body:LINE:COL"
 * when it is about the text); what is accepted is within its bounds.
 */
#include "fuzz.h"

#include <jansson.h>

#include "api_parse.h"
#include "api_clients_parse.h"
#include "vgmo/vgmo.h"

static void refused(const api_error *e)
{
	FUZZ_CHECK(e->status == 400);
	FUZZ_CHECK(e->message[0] != '\0');
	FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL);
	FUZZ_CHECK(memchr(e->field, '\0', sizeof(e->field)) != NULL);
}

static void batch_size(const char *body, size_t len, uint8_t knob)
{
	int min = 1 + knob % 4, max = min + (knob >> 2), size = -1;
	api_error e;

	if (api_parse_batch_size(body, len, min, max, &size, &e) != VGMO_OK) {
		refused(&e);
		return;
	}
	FUZZ_CHECK(size == 0 || (size >= min && size <= max));
}

static void config(const char *body, size_t len)
{
	char err[1024] = "";
	vgmo_config cfg;
	api_error e;
	vgmo_err rc;

	if (api_parse_precheck(body, len, &e) != VGMO_OK) {
		refused(&e);
		return;
	}
	vgmo_config_defaults(&cfg);
	rc = vgmo_config_load_string(&cfg, body, len, API_SOURCE, err,
	                             sizeof(err));
	if (rc != VGMO_OK) {
		api_error_from_config(&e, rc, err);
		refused(&e);
		FUZZ_CHECK(strncmp(e.message, API_SOURCE, strlen(API_SOURCE)) ==
		           0);
	}
}

static void registration(const char *body, size_t len)
{
	client_registration c;
	api_error e;

	if (api_clients_parse_registration(body, len, &c, &e) != VGMO_OK) {
		refused(&e);
		return;
	}
	FUZZ_CHECK(c.name[0] != '\0' && strlen(c.name) <= CLIENT_NAME_MAX);
	FUZZ_CHECK(c.weight == 0 ||
	           (c.weight > 0 && c.weight <= CLIENT_MAX_WEIGHT));
	FUZZ_CHECK(c.gpu_by_uuid || c.gpu_index >= 0);
	FUZZ_CHECK(strcmp(c.unit, "items") == 0 ||
	           strcmp(c.unit, "images") == 0 ||
	           strcmp(c.unit, "tokens") == 0);
}

static void limit(const char *body, size_t len)
{
	char text[64];
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
	api_error e;
	int out = -1;

	memcpy(text, body, n);
	text[n] = '\0';
	if (api_parse_limit(text, 100, 10000, &out, &e) != VGMO_OK)
		refused(&e);
	else
		FUZZ_CHECK(out >= 1 && out <= 10000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;
	json_t *o = NULL;
	api_error e;
	uint8_t knob;

	if (size == 0)
		return 0;
	knob = data[0];
	body = fuzz_copy(data + 1, size - 1);
	size--;
	if (api_parse_object(body, size, &o, &e) == VGMO_OK)
		FUZZ_CHECK(json_is_object(o));
	else
		refused(&e);
	json_decref(o);
	batch_size(body, size, knob);
	if (api_parse_no_body(body, size, &e) != VGMO_OK)
		refused(&e);
	config(body, size);
	registration(body, size);
	limit(body, size);
	free(body);
	return 0;
}
