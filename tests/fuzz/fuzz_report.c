/*
 * fuzz_report.c - the client report parser (POST /v1/clients/{id}/report,
 * src/daemon/api_clients_parse.c, src/daemon/request_parse.c). The first input
 * byte picks the GPU's memory (unknown, 1 byte, 24 GiB, 80 GB, 141 GB) and
 * whether the worker has a model to count image sizes with; the rest is the
 * body.
 *
 * Checks: nothing a GPU could not hold is believed (every byte count within
 * the GPU's memory), items in 1..1000000, a peak unless the batch ended in
 * OOM, allocated no more than reserved, seconds in [0, 86400]; requests,
 * when listed, one per item, none with an empty prompt.
 */
#include "fuzz.h"

#include <math.h>

#include "api_clients_parse.h"

static const uint64_t totals[] = {0, 1, 24ULL << 30, 85520809984ULL,
                                  150754820096ULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t total, cap;
	vgmo_vlm_model model;
	bool has_model;
	client_report c;
	api_error e;
	char *body;

	if (size == 0)
		return 0;
	total = totals[data[0] % (sizeof(totals) / sizeof(totals[0]))];
	has_model = (data[0] & 0x80) &&
	            vgmo_model_preset_find("qwen2-vl-7b", &model) == VGMO_OK;
	cap = total ? total : INT64_MAX;
	body = fuzz_copy(data + 1, size - 1);
	if (api_clients_parse_report(body, size - 1, total,
	                             has_model ? &model : NULL, &c,
	                             &e) != VGMO_OK) {
		FUZZ_CHECK(e.status == 400 && e.message[0] != '\0');
		goto out;
	}
	FUZZ_CHECK(c.r.items >= 1 && c.r.items <= CLIENT_MAX_ITEMS);
	FUZZ_CHECK(c.r.oom || c.r.peak_bytes >= 1);
	FUZZ_CHECK(c.r.peak_bytes <= cap && c.r.allocated_bytes <= cap &&
	           c.r.reserved_bytes <= cap && c.r.freed_bytes <= cap);
	FUZZ_CHECK(!c.r.reserved_bytes ||
	           c.r.allocated_bytes <= c.r.reserved_bytes);
	FUZZ_CHECK(c.r.seconds >= 0 && c.r.seconds <= CLIENT_MAX_SECONDS &&
	           !isnan(c.r.seconds));
	FUZZ_CHECK(!c.has_units || c.units >= 1);
	FUZZ_CHECK(!c.requests || !c.has_units);
	for (size_t i = 0; c.requests && i < c.r.items; i++)
		FUZZ_CHECK((uint64_t)c.requests[i].image_tokens +
		                   c.requests[i].text_tokens >
		           0);
	api_clients_report_free(&c);
out:
	free(body);
	return 0;
}
