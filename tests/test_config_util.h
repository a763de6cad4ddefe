/*
 * test_config_util.h - helpers of the test_config* executables: config
 * comparison, an odd config, fixture paths and a fresh directory per test.
 */
#ifndef VGMO_TEST_CONFIG_UTIL_H
#define VGMO_TEST_CONFIG_UTIL_H

#include <stddef.h>

#include "vgmo/vgmo.h"

#define ERRLEN 2048

/* A fresh empty directory per test; removed (with its plain files) after. */
typedef struct tmpdir {
	char path[256];
} tmpdir;

/* Field by field. */
void assert_config_equal(const vgmo_config *a, const vgmo_config *b);
/* A valid config that differs from the defaults in every field, so a test
 * can tell "unchanged" from "reset to defaults". */
void odd_config(vgmo_config *cfg);
/* The path of tests/data/config/NAME. */
void fixture(char *buf, size_t size, const char *name);
void assert_contains(const char *haystack, const char *needle);
/* vgmo_config_validate() into an ERRLEN buffer. */
vgmo_err validate(const vgmo_config *cfg, char *err);
/* cmocka's setup and teardown: a tmpdir in *state. */
int tmpdir_setup(void **state);
int tmpdir_teardown(void **state);
/* Entries in `dir` other than . and .. */
int count_entries(const char *dir);
/* Writes `text` to `path`, replacing it. */
void write_text(const char *path, const char *text);

#endif
