/*
 * worker_names.c - the names of what a tokens worker declares (worker.h):
 * its padding, its attention (transformers' attn_implementation) and its
 * logits, both ways.
 */
#include <string.h>

#include "engine_internal.h"
#include "util.h"

const char *vgmo_padding_name(vgmo_padding p)
{
	switch (p) {
	case VGMO_PADDING_PADDED:
		return "padded";
	case VGMO_PADDING_PACKED:
		return "packed";
	case VGMO_PADDING_UNKNOWN:
	default:
		return "unknown";
	}
}

vgmo_err vgmo_padding_parse(const char *name, vgmo_padding *out)
{
	static const vgmo_padding all[] = {
	        VGMO_PADDING_UNKNOWN, VGMO_PADDING_PADDED, VGMO_PADDING_PACKED};

	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(all); i++)
		if (strcmp(name, vgmo_padding_name(all[i])) == 0) {
			*out = all[i];
			return VGMO_OK;
		}
	return VGMO_ERR_INVALID;
}

const char *vgmo_attention_name(vgmo_attention a)
{
	switch (a) {
	case VGMO_ATTENTION_FLASH:
		return "flash_attention_2";
	case VGMO_ATTENTION_SDPA:
		return "sdpa";
	case VGMO_ATTENTION_EAGER:
		return "eager";
	case VGMO_ATTENTION_UNKNOWN:
	default:
		return "unknown";
	}
}

vgmo_err vgmo_attention_parse(const char *name, vgmo_attention *out)
{
	/* transformers' names; the kernels that build no L x L tensor are
	 * all flash here. */
	static const struct {
		const char *name;
		vgmo_attention a;
	} all[] = {{"unknown", VGMO_ATTENTION_UNKNOWN},
	           {"flash_attention_2", VGMO_ATTENTION_FLASH},
	           {"flash_attention_3", VGMO_ATTENTION_FLASH},
	           {"flex_attention", VGMO_ATTENTION_FLASH},
	           {"sdpa", VGMO_ATTENTION_SDPA},
	           {"eager", VGMO_ATTENTION_EAGER}};

	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(all); i++)
		if (strcmp(name, all[i].name) == 0) {
			*out = all[i].a;
			return VGMO_OK;
		}
	return VGMO_ERR_INVALID;
}

const char *vgmo_logits_name(vgmo_logits l)
{
	switch (l) {
	case VGMO_LOGITS_LAST:
		return "last";
	case VGMO_LOGITS_ALL:
		return "all";
	case VGMO_LOGITS_UNKNOWN:
	default:
		return "unknown";
	}
}

vgmo_err vgmo_logits_parse(const char *name, vgmo_logits *out)
{
	static const vgmo_logits all[] = {VGMO_LOGITS_UNKNOWN, VGMO_LOGITS_LAST,
	                                  VGMO_LOGITS_ALL};

	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(all); i++)
		if (strcmp(name, vgmo_logits_name(all[i])) == 0) {
			*out = all[i];
			return VGMO_OK;
		}
	return VGMO_ERR_INVALID;
}

bool vgmo__declared_ok(vgmo_attention attention,
                       vgmo_attention vision_attention, vgmo_logits logits)
{
	return (unsigned)attention <= VGMO_ATTENTION_EAGER &&
	       (unsigned)vision_attention <= VGMO_ATTENTION_EAGER &&
	       (unsigned)logits <= VGMO_LOGITS_ALL;
}
