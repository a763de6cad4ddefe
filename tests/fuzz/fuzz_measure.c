/*
 * fuzz_measure.c - measurement files of scripts/vlm-measure.py (JSON Lines,
 * lib/vlm/measure_jsonl.c) and the comparison with the planner
 * (lib/vlm/plan_check.c).
 *
 * Checks: on an error the file is left empty and the message names the
 * source; a parsed file keeps the promises of plan_check.h (batch >= 1,
 * forward points generate nothing, a measured point peaks at or above its
 * base); the comparison then succeeds, its rows are measured or
 * out-of-memory points, and each summary's median lies within its worst
 * error.
 */
#include "fuzz.h"

#include <math.h>

#include "plan_check.h"

static void check(const vgmo__mfile *f)
{
	vgmo__check c;
	char err[256];

	for (size_t i = 0; i < f->npoints; i++) {
		const vgmo__mpoint *p = &f->points[i];

		FUZZ_CHECK(p->batch >= 1 && p->images >= 1);
		FUZZ_CHECK(p->mode != VGMO__MODE_FORWARD ||
		           p->max_new_tokens == 0);
		if (strcmp(p->status, "measured") == 0)
			FUZZ_CHECK(p->oom == 0 &&
			           p->peak_allocated >= p->base_allocated);
	}
	FUZZ_CHECK(vgmo__check_compute(f, NULL, &c, err, sizeof(err)) ==
	           VGMO_OK);
	FUZZ_CHECK(c.nrows <= f->npoints && c.ooms <= c.nrows);
	for (size_t i = 0; i < c.nrows; i++)
		FUZZ_CHECK(strcmp(c.rows[i].point->status, "measured") == 0 ||
		           strcmp(c.rows[i].point->status, "oom") == 0);
	for (size_t i = 0; i < c.nstats; i++)
		FUZZ_CHECK(c.stats[i].n > 0 &&
		           fabs(c.stats[i].median) <=
		                   fabs(c.stats[i].worst) + 1e-12);
	vgmo__check_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgmo__mfile f;
	char err[512], *text = fuzz_copy(data, size);

	err[0] = '\0';
	if (vgmo__mfile_parse(text, size, "fuzz.jsonl", &f, err, sizeof(err)) !=
	    VGMO_OK) {
		FUZZ_CHECK(f.npoints == 0 && f.nmodels == 0);
		FUZZ_CHECK(strncmp(err, "fuzz.jsonl", 10) == 0);
	} else {
		check(&f);
		vgmo__mfile_free(&f);
	}
	free(text);
	return 0;
}
