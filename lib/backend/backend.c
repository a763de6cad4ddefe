/*
 * backend.c - the explicit table of backends, and the order "auto" tries
 * them in.
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "util.h"

static const vgmo__backend_ops *const backends[] = {
        &vgmo__backend_sim,
        &vgmo__backend_nvml,
};

/* What "auto" tries, best first; the last is the fallback, opened by the
 * caller whatever it finds. */
static const vgmo__backend_ops *const auto_order[] = {
        &vgmo__backend_nvml,
        &vgmo__backend_sim,
};

const vgmo__backend_ops *vgmo__backend_find(const char *name)
{
	for (size_t i = 0; i < VGMO__ARRAY_LEN(backends); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const vgmo__backend_ops *vgmo__backend_auto(const vgmo_engine_options *opts,
                                            void **ctx, char *notice,
                                            size_t len)
{
	const size_t n = VGMO__ARRAY_LEN(auto_order);
	const vgmo__backend_ops *last = auto_order[n - 1];
	char why[192] = "";

	for (size_t i = 0; i + 1 < n; i++) {
		const vgmo__backend_ops *b = auto_order[i];
		vgmo_err rc = b->open(ctx, opts, why, sizeof(why));

		if (rc == VGMO_OK && b->device_count(*ctx))
			return b;
		if (rc == VGMO_OK) {
			b->close(*ctx);
			snprintf(why, sizeof(why), "%s: no GPUs found",
			         b->about);
		}
		*ctx = NULL;
	}
	snprintf(notice, len, "%s; using %s (backend %s)", why, last->about,
	         last->name);
	return last;
}
