/*
 * config_env.c - the VGMO_<FIELD> environment overlay.
 */
#include "config_fields.h"
#include "util.h"

#include <stdint.h>
#include <string.h>

extern char **environ;

#define ENV_PREFIX "VGMO_"
#define VALIDATE_MSG_MAX 1024

/* The field whose name in capitals is the `len` bytes at `name`, or NULL.
 * Lowercase variable names are not fields. */
static const vgmo__config_field *field_for_var(const char *name, size_t len)
{
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++) {
		const char *n = vgmo__config_fields[i].name;
		size_t j;

		for (j = 0; j < len && n[j] != '\0'; j++) {
			char up = n[j] >= 'a' && n[j] <= 'z'
			                  ? (char)(n[j] - 'a' + 'A')
			                  : n[j];

			if (up != name[j])
				break;
		}
		if (j == len && n[j] == '\0')
			return &vgmo__config_fields[i];
	}
	return NULL;
}

vgmo_err vgmo_config_apply_env(vgmo_config *cfg, const char *const *envp,
                               char *err, size_t errlen)
{
	const size_t plen = sizeof(ENV_PREFIX) - 1;
	char reason[VGMO__QUOTE_MAX + 96];
	char msg[VALIDATE_MSG_MAX];
	vgmo_config copy;
	uint32_t seen = 0;
	vgmo_err rc;

	_Static_assert(VGMO_CONFIG_FIELD_COUNT <= 32, "seen is a 32-bit mask");

	if (cfg == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "no configuration given");
	if (envp == NULL)
		envp = (const char *const *)environ;

	copy = *cfg;
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *entry = *envp;
		const char *eq = strchr(entry, '=');
		const vgmo__config_field *f;
		vgmo__field_value v;
		size_t idx;

		if (eq == NULL || strncmp(entry, ENV_PREFIX, plen) != 0)
			continue;
		/* Other VGMO_* variables belong to other parts of vgmo. */
		f = field_for_var(entry + plen, (size_t)(eq - entry) - plen);
		if (f == NULL)
			continue;
		/* Like getenv(): the first definition of a name counts. */
		idx = (size_t)(f - vgmo__config_fields);
		if (seen & (UINT32_C(1) << idx))
			continue;
		seen |= UINT32_C(1) << idx;

		rc = vgmo__config_parse_text(f, eq + 1, &v, reason,
		                             sizeof(reason));
		if (rc != VGMO_OK)
			return vgmo__errf(err, errlen, rc,
			                  "environment variable %.*s: %s",
			                  (int)(eq - entry), entry, reason);
		vgmo__config_field_set(&copy, f, &v);
	}

	rc = vgmo_config_validate(&copy, msg, sizeof(msg));
	if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc,
		                  "environment: invalid configuration: %s",
		                  msg);
	*cfg = copy;
	return VGMO_OK;
}
