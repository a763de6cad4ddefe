/*
 * env_check.c - warns about VGMO_* environment variables that no part of
 * vgmo reads: a misspelt VGMO_MAX_BATCH_SIZ would otherwise be ignored
 * without a word.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config_fields.h"
#include "suggest.h"

extern char **environ;

#define PREFIX "VGMO_"
#define NAME_MAX_LEN 64

/* The variables vgmo reads besides VGMO_<CONFIGURATION KEY>: the commands
 * (docs/cli.md), the Python package (VGMO_LIBRARY), and the fake NVML
 * library and valgrind runner of the test suite. VGMO_TEST_* are the test
 * suite's too. */
static const char *const other_vars[] = {
        "VGMO_SERVER",         "VGMO_TOKEN_FILE",
        "VGMO_CACERT",         "VGMO_NVML_LIBRARY",
        "VGMO_LIBRARY",        "VGMO_FAKE_NVML_SCENARIO",
        "VGMO_UNDER_VALGRIND", NULL};

/* VGMO_ followed by the key in capitals. */
static void field_var(const char *key, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, PREFIX "%s", key);

	for (size_t i = sizeof(PREFIX) - 1; i < n && i < size; i++) {
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 'a' + 'A');
	}
}

static void check_one(const char *name)
{
	char fields[VGMO_CONFIG_FIELD_COUNT][NAME_MAX_LEN];
	vgmo__suggestion s;

	if (strncmp(name, "VGMO_TEST_", 10) == 0)
		return;
	vgmo__suggest_init(&s, name);
	for (size_t i = 0; other_vars[i] != NULL; i++) {
		if (strcmp(name, other_vars[i]) == 0)
			return;
		vgmo__suggest_consider(&s, other_vars[i]);
	}
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++) {
		field_var(vgmo__config_fields[i].name, fields[i],
		          sizeof(fields[i]));
		if (strcmp(name, fields[i]) == 0)
			return;
		vgmo__suggest_consider(&s, fields[i]);
	}
	if (s.best != NULL)
		fprintf(stderr,
		        "vgmo: warning: environment variable %s is not one "
		        "vgmo reads; did you mean %s?\n",
		        name, s.best);
	else
		fprintf(stderr,
		        "vgmo: warning: environment variable %s is not one "
		        "vgmo reads (docs/cli.md lists them); it is ignored\n",
		        name);
}

void cli_check_env(void)
{
	char name[NAME_MAX_LEN + 1];

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : strlen(*e);

		if (strncmp(*e, PREFIX, sizeof(PREFIX) - 1) != 0)
			continue;
		if (len > NAME_MAX_LEN)
			len = NAME_MAX_LEN;
		memcpy(name, *e, len);
		name[len] = '\0';
		check_one(name);
	}
}
