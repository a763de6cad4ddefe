/*
 * config_remote.c - the daemon's configuration, read, written and printed.
 */
#include "config_remote.h"

#include <stdlib.h>
#include <string.h>

#define ERR_MAX 2048

int config_remote_get(remote *c, vgmo_config *cfg, remote_response *resp)
{
	char err[ERR_MAX] = "";
	vgmo_err e;
	int rc;

	rc = remote_call(c, "GET", "/v1/config", NULL, resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	vgmo_config_defaults(cfg);
	e = vgmo_config_load_string(cfg, resp->body, resp->len,
	                            "the daemon's configuration", err,
	                            sizeof(err));
	if (e != VGMO_OK) {
		remote_response_free(resp);
		return cli_fail("%s", err[0] ? err : vgmo_strerror(e));
	}
	return CLI_EXIT_OK;
}

int config_remote_put(remote *c, const vgmo_config *cfg, const json_t *keys,
                      remote_response *resp)
{
	char *text = vgmo_config_to_json(cfg);
	json_t *all = text ? json_loads(text, 0, NULL) : NULL;
	json_t *body = json_object();
	const char *key;
	json_t *value;
	int rc = CLI_EXIT_FAILURE;

	memset(resp, 0, sizeof(*resp));
	if (all == NULL || body == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	json_object_foreach((json_t *)keys, key, value)
	{
		json_t *v = json_object_get(all, key);

		if (v == NULL) {
			rc = cli_fail("unknown configuration key \"%s\"", key);
			goto out;
		}
		if (json_object_set(body, key, v) != 0) {
			rc = cli_fail("out of memory");
			goto out;
		}
	}
	rc = remote_call(c, "PUT", "/v1/config", body, resp);
out:
	json_decref(body);
	json_decref(all);
	free(text);
	return rc;
}

int config_remote_change(const remote_opts *ro, bool json, config_edit_fn edit,
                         void *ctx, const char *done)
{
	remote_response before = {0}, after = {0};
	json_t *keys = NULL;
	remote *c = NULL;
	vgmo_config cfg;
	int rc;

	rc = remote_open(&c, ro);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = config_remote_get(c, &cfg, &before);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (edit == NULL) {
		if (json)
			rc = remote_print_body(&before);
		else
			config_print(stdout, before.json);
		goto out;
	}
	rc = edit(ctx, &cfg, &keys);
	if (rc != CLI_EXIT_OK)
		goto out;
	rc = config_remote_put(c, &cfg, keys, &after);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (json) {
		rc = remote_print_body(&after);
	} else {
		printf("%s\n", done);
		config_print_changes(stdout, before.json, after.json);
	}
out:
	json_decref(keys);
	remote_response_free(&after);
	remote_response_free(&before);
	remote_close(c);
	return rc;
}

/* A value as a person reads it: strings bare, numbers shortest. */
static void format_value(const json_t *v, char *buf, size_t size)
{
	char *text;

	if (v == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	if (json_is_string(v)) {
		snprintf(buf, size, "%s", json_string_value(v));
		return;
	}
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	snprintf(buf, size, "%s", text ? text : "?");
	free(text);
}

void config_print(FILE *f, const json_t *cfg)
{
	const char *key;
	json_t *value;
	char buf[128];

	json_object_foreach((json_t *)cfg, key, value)
	{
		format_value(value, buf, sizeof(buf));
		fprintf(f, "%-26s %s\n", key, buf);
	}
}

void config_print_changes(FILE *f, const json_t *before, const json_t *after)
{
	char old_text[128], new_text[128];
	const char *key;
	json_t *value;
	bool any = false;

	json_object_foreach((json_t *)after, key, value)
	{
		const json_t *old = json_object_get(before, key);

		if (old != NULL && json_equal((json_t *)old, value))
			continue;
		format_value(old, old_text, sizeof(old_text));
		format_value(value, new_text, sizeof(new_text));
		fprintf(f, "  %s: %s -> %s\n", key, old_text, new_text);
		any = true;
	}
	if (!any)
		fputs("  no change\n", f);
}
