/*
 * fuzz_trace.c - the workload trace parser (JSON Lines, lib/vlm/trace.c).
 *
 * Checks: on an error the trace is left empty and the message names the
 * source; a parsed trace has requests, in time order, each within the
 * documented limits; written back out (vgmo__trace_write) it parses again
 * to as many requests, images and events.
 */
#include "fuzz.h"

#include <math.h>

#include "trace.h"

static void check(const vgmo__trace *t)
{
	double last = 0;

	FUZZ_CHECK(t->nreq > 0);
	for (size_t i = 0; i < t->nreq; i++) {
		const vgmo__trace_req *r = &t->req[i];

		FUZZ_CHECK(r->t >= last && isfinite(r->t));
		last = r->t;
		FUZZ_CHECK(r->nimages <= VGMO__TRACE_MAX_IMAGES);
		FUZZ_CHECK((size_t)r->first_image + r->nimages <= t->nimg);
		FUZZ_CHECK(r->nimages > 0 || r->text_tokens > 0);
		FUZZ_CHECK(r->text_tokens <= VGMO__TRACE_MAX_TOKENS &&
		           r->output_tokens <= VGMO__TRACE_MAX_TOKENS);
		for (uint32_t k = 0; k < r->nimages; k++) {
			const vgmo__trace_image *im =
			        &t->img[r->first_image + k];

			FUZZ_CHECK(im->w >= 1 && im->w <= VGMO__TRACE_MAX_EDGE);
			FUZZ_CHECK(im->h >= 1 && im->h <= VGMO__TRACE_MAX_EDGE);
		}
	}
	for (size_t i = 0; i < t->nev; i++)
		FUZZ_CHECK(t->ev[i].bytes >= 0 && t->ev[i].ramp >= 0 &&
		           isfinite(t->ev[i].ramp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgmo__trace t, back;
	char err[512], *text = fuzz_copy(data, size), *out = NULL;
	size_t outlen = 0;
	FILE *f;

	err[0] = '\0';
	if (vgmo__trace_parse(&t, text, size, "fuzz.jsonl", err, sizeof(err)) !=
	    VGMO_OK) {
		FUZZ_CHECK(t.nreq == 0 && t.nimg == 0 && t.nev == 0);
		FUZZ_CHECK(strncmp(err, "fuzz.jsonl", 10) == 0);
		goto out;
	}
	check(&t);
	f = open_memstream(&out, &outlen);
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(vgmo__trace_write(&t, f) == VGMO_OK);
	FUZZ_CHECK(fclose(f) == 0);
	if (vgmo__trace_parse(&back, out, outlen, "written", err,
	                      sizeof(err)) != VGMO_OK)
		fprintf(stderr, "written trace refused: %s\n%s\n", err, out);
	FUZZ_CHECK(back.nreq == t.nreq && back.nimg == t.nimg &&
	           back.nev == t.nev);
	vgmo__trace_free(&back);
	vgmo__trace_free(&t);
out:
	free(out);
	free(text);
	return 0;
}
