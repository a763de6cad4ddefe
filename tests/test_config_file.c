/*
 * test_config_file.c - saving the config and the atomic file helpers:
 * save then load, save errors, read limits, atomic writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_fields.h"
#include "suggest.h"
#include "util.h"
#include "vgmo/vgmo.h"

#include "test_config_util.h"

/* ---------------------------------------------------------- saving */

static void test_save_then_load(void **state)
{
	tmpdir *t = *state;
	vgmo_config cfg, back;
	char path[512];
	char err[ERRLEN];
	char *text = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/config.json", t->path);
	odd_config(&cfg);
	cfg.memory_threshold_warning = 0.1 + 0.2;
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(count_entries(t->path), 1); /* no temp file left */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	vgmo_config_defaults(&back);
	assert_int_equal(vgmo_config_load_file(&back, path, err, ERRLEN),
	                 VGMO_OK);
	assert_config_equal(&cfg, &back);

	assert_int_equal(vgmo__read_file(path, 4096, &text, &len, err, ERRLEN),
	                 VGMO_OK);
	assert_true(len > 2);
	assert_int_equal(text[len - 1], '\n');
	assert_int_equal(text[len], '\0');
	free(text);

	/* Replacing keeps the existing file's mode. */
	assert_int_equal(chmod(path, 0600), 0);
	cfg.max_batch_size = 99;
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(vgmo_config_load_file(&back, path, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(back.max_batch_size, 99);
	assert_int_equal(count_entries(t->path), 1);
}

static void test_save_errors(void **state)
{
	tmpdir *t = *state;
	vgmo_config cfg;
	char path[512], sub[512];
	char err[ERRLEN];
	struct stat st;

	vgmo_config_defaults(&cfg);

	/* Into a directory that does not exist: fails, creates nothing. */
	snprintf(path, sizeof(path), "%s/nope/config.json", t->path);
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, path);
	assert_contains(err, strerror(ENOENT));
	assert_int_equal(count_entries(t->path), 0);

	/* Over a directory: the rename fails, the temp file is removed. */
	snprintf(path, sizeof(path), "%s/taken", t->path);
	snprintf(sub, sizeof(sub), "%s/taken/inside", t->path);
	assert_int_equal(mkdir(path, 0755), 0);
	write_text(sub, "keep");
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, path);
	assert_int_equal(count_entries(t->path), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* An invalid config is not saved. */
	snprintf(path, sizeof(path), "%s/invalid.json", t->path);
	cfg.min_batch_size = 0;
	assert_int_equal(vgmo_config_save_file(&cfg, path, err, ERRLEN),
	                 VGMO_ERR_CONFIG);
	assert_contains(err, "min_batch_size: must be at least 1");
	assert_int_equal(count_entries(t->path), 1);
}

/* ------------------------------------------------------ file helpers */

static void test_read_file_limits(void **state)
{
	tmpdir *t = *state;
	char path[512];
	char err[ERRLEN];
	char *text = NULL;
	size_t len = 99;

	snprintf(path, sizeof(path), "%s/ten", t->path);
	write_text(path, "0123456789");
	assert_int_equal(vgmo__read_file(path, 10, &text, &len, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);

	text = (char *)1;
	assert_int_equal(vgmo__read_file(path, 9, &text, &len, err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_null(text);
	assert_int_equal(len, 0);
	assert_contains(err, path);
	assert_contains(err, "larger than the limit of 9 bytes");

	/* Files whose size stat does not know are capped while reading. */
	assert_int_equal(vgmo__read_file("/proc/self/status", 16, &text, &len,
	                                 err, ERRLEN),
	                 VGMO_ERR_IO);
	assert_contains(err, "larger than the limit of 16 bytes");

	snprintf(path, sizeof(path), "%s/empty", t->path);
	write_text(path, "");
	assert_int_equal(vgmo__read_file(path, 0, &text, NULL, err, ERRLEN),
	                 VGMO_OK);
	assert_string_equal(text, "");
	free(text);
}

static void test_write_file_atomic(void **state)
{
	tmpdir *t = *state;
	char path[512];
	char err[ERRLEN];
	char *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/data", t->path);
	write_text(path, "old contents");
	assert_int_equal(vgmo__write_file_atomic(path, "new", 3, err, ERRLEN),
	                 VGMO_OK);
	assert_int_equal(vgmo__read_file(path, 100, &text, &len, err, ERRLEN),
	                 VGMO_OK);
	assert_string_equal(text, "new");
	free(text);
	assert_int_equal(count_entries(t->path), 1);

	/* An empty path is refused. */
	assert_int_equal(vgmo__write_file_atomic("", "x", 1, err, ERRLEN),
	                 VGMO_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_save_then_load,
	                                        tmpdir_setup, tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_save_errors, tmpdir_setup,
	                                        tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_read_file_limits,
	                                        tmpdir_setup, tmpdir_teardown),
	        cmocka_unit_test_setup_teardown(test_write_file_atomic,
	                                        tmpdir_setup, tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
