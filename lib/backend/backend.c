/*
 * backend.c - the explicit table of backends.
 */
#include <string.h>

#include "backend.h"

static const vgmo__backend_ops *const backends[] = {
        &vgmo__backend_sim,
        &vgmo__backend_nvml,
};

const vgmo__backend_ops *vgmo__backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}
