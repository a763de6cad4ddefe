/*
 * status.c - memory status classification and names.
 */
#include "vgmo/vgmo.h"

const char *vgmo_status_name(vgmo_status s)
{
	switch (s) {
	case VGMO_STATUS_HEALTHY:
		return "healthy";
	case VGMO_STATUS_WARNING:
		return "warning";
	case VGMO_STATUS_CRITICAL:
		return "critical";
	case VGMO_STATUS_OOM:
		return "oom";
	}
	return "unknown";
}

vgmo_status vgmo_classify(const vgmo_config *cfg, double usage)
{
	if (usage >= cfg->memory_threshold_oom)
		return VGMO_STATUS_OOM;
	if (usage >= cfg->memory_threshold_critical)
		return VGMO_STATUS_CRITICAL;
	if (usage >= cfg->memory_threshold_warning)
		return VGMO_STATUS_WARNING;
	return VGMO_STATUS_HEALTHY;
}

double vgmo_sample_usage(const vgmo_gpu_sample *s)
{
	if (!s->up || !(s->present & VGMO_HAS_MEMORY) || s->memory_total == 0)
		return -1.0;
	return (double)s->memory_used / (double)s->memory_total;
}
