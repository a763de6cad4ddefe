/*
 * fuzz_config.c - the configuration loader, vgmo_config_load_string (the
 * --config file, PUT /v1/config, the saved overrides).
 *
 * Checks: all or nothing (on an error the configuration is unchanged and
 * the message names the source); what loads validates, and its JSON loads
 * back to the same configuration.
 */
#include "fuzz.h"

#include "vgmo/vgmo.h"

#define SOURCE "fuzz.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgmo_config cfg, again;
	char err[1024], err2[1024];
	char *text = fuzz_copy(data, size), *before, *json, *json2;
	vgmo_err rc;

	vgmo_config_defaults(&cfg);
	before = vgmo_config_to_json(&cfg);
	FUZZ_CHECK(before != NULL);
	err[0] = '\0';
	rc = vgmo_config_load_string(&cfg, text, size, SOURCE, err,
	                             sizeof(err));
	json = vgmo_config_to_json(&cfg);
	FUZZ_CHECK(json != NULL);
	if (rc != VGMO_OK) {
		/* Nothing applied, and the message says where. */
		FUZZ_CHECK(strcmp(json, before) == 0);
		FUZZ_CHECK(strncmp(err, SOURCE, strlen(SOURCE)) == 0);
		goto out;
	}
	FUZZ_CHECK(vgmo_config_validate(&cfg, err, sizeof(err)) == VGMO_OK);
	vgmo_config_defaults(&again);
	rc = vgmo_config_load_string(&again, json, strlen(json), "round trip",
	                             err2, sizeof(err2));
	if (rc != VGMO_OK)
		fprintf(stderr, "round trip: %s\n%s\n", err2, json);
	FUZZ_CHECK(rc == VGMO_OK);
	json2 = vgmo_config_to_json(&again);
	FUZZ_CHECK(json2 != NULL && strcmp(json, json2) == 0);
	free(json2);
out:
	free(json);
	free(before);
	free(text);
	return 0;
}
