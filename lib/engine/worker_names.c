/*
 * worker_names.c - the names of what a tokens worker declares (worker.h):
 * its padding, its attention (transformers' attn_implementation) and its
 * logits, both ways.
 */
#include <string.h>

#include "engine_internal.h"
#include "util.h"

/* Each value's name, indexed by the value (0 is unknown). */
static const char *const padding_names[] = {"unknown", "padded", "packed"};
static const char *const attention_names[] = {"unknown", "flash_attention_2",
                                              "sdpa", "eager"};
static const char *const logits_names[] = {"unknown", "last", "all"};

static const char *name_of(unsigned v, const char *const *names, size_t n)
{
	return v < n ? names[v] : names[0];
}

/* The value named `name` in names[n], or -1. */
static int value_of(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *vgmo_padding_name(vgmo_padding p)
{
	return name_of(p, padding_names, VGMO__ARRAY_LEN(padding_names));
}

vgmo_err vgmo_padding_parse(const char *name, vgmo_padding *out)
{
	int v = value_of(name, padding_names, VGMO__ARRAY_LEN(padding_names));

	if (v < 0)
		return VGMO_ERR_INVALID;
	*out = (vgmo_padding)v;
	return VGMO_OK;
}

const char *vgmo_attention_name(vgmo_attention a)
{
	return name_of(a, attention_names, VGMO__ARRAY_LEN(attention_names));
}

vgmo_err vgmo_attention_parse(const char *name, vgmo_attention *out)
{
	/* transformers' other kernels that build no L x L tensor are all
	 * flash here. */
	static const char *const flash[] = {"flash_attention_3",
	                                    "flex_attention"};
	int v = value_of(name, attention_names,
	                 VGMO__ARRAY_LEN(attention_names));

	if (v < 0 && value_of(name, flash, VGMO__ARRAY_LEN(flash)) >= 0)
		v = VGMO_ATTENTION_FLASH;
	if (v < 0)
		return VGMO_ERR_INVALID;
	*out = (vgmo_attention)v;
	return VGMO_OK;
}

const char *vgmo_logits_name(vgmo_logits l)
{
	return name_of(l, logits_names, VGMO__ARRAY_LEN(logits_names));
}

vgmo_err vgmo_logits_parse(const char *name, vgmo_logits *out)
{
	int v = value_of(name, logits_names, VGMO__ARRAY_LEN(logits_names));

	if (v < 0)
		return VGMO_ERR_INVALID;
	*out = (vgmo_logits)v;
	return VGMO_OK;
}

bool vgmo__declared_ok(vgmo_attention attention,
                       vgmo_attention vision_attention, vgmo_logits logits)
{
	return (unsigned)attention < VGMO__ARRAY_LEN(attention_names) &&
	       (unsigned)vision_attention < VGMO__ARRAY_LEN(attention_names) &&
	       (unsigned)logits < VGMO__ARRAY_LEN(logits_names);
}
