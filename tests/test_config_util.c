/*
 * test_config_util.c - helpers of the test_config* executables: config
 * comparison, an odd config, fixture paths and a fresh directory per test.
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

void assert_config_equal(const vgmo_config *a, const vgmo_config *b)
{
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->strategy, b->strategy);
	assert_true(a->monitoring_interval == b->monitoring_interval);
	assert_true(a->memory_threshold_warning == b->memory_threshold_warning);
	assert_true(a->memory_threshold_critical ==
	            b->memory_threshold_critical);
	assert_true(a->memory_threshold_oom == b->memory_threshold_oom);
	assert_true(a->temperature_threshold == b->temperature_threshold);
	assert_true(a->optimization_interval == b->optimization_interval);
	assert_true(a->cleanup_interval == b->cleanup_interval);
	assert_int_equal(a->max_batch_size, b->max_batch_size);
	assert_int_equal(a->min_batch_size, b->min_batch_size);
	assert_true(a->memory_reserve_mb == b->memory_reserve_mb);
	assert_true(a->gc_threshold == b->gc_threshold);
	assert_true(a->fragmentation_threshold == b->fragmentation_threshold);
}

/* A valid config that differs from the defaults in every field, so a test
 * can tell "unchanged" from "reset to defaults". */
void odd_config(vgmo_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = false;
	cfg->strategy = VGMO_STRATEGY_CONSERVATIVE;
	cfg->monitoring_interval = 2.5;
	cfg->memory_threshold_warning = 0.6;
	cfg->memory_threshold_critical = 0.7;
	cfg->memory_threshold_oom = 0.75;
	cfg->temperature_threshold = 85.5;
	cfg->optimization_interval = 30;
	cfg->cleanup_interval = 120;
	cfg->max_batch_size = 12;
	cfg->min_batch_size = 3;
	cfg->memory_reserve_mb = 2048;
	cfg->gc_threshold = 0.5;
	cfg->fragmentation_threshold = 0.2;
}

void fixture(char *buf, size_t size, const char *name)
{
	const char *src = getenv("VGMO_TEST_SRC");

	snprintf(buf, size, "%s/data/config/%s", src ? src : "tests", name);
}

void assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

vgmo_err validate(const vgmo_config *cfg, char *err)
{
	return vgmo_config_validate(cfg, err, ERRLEN);
}

int tmpdir_setup(void **state)
{
	tmpdir *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/vgmo-test-config-XXXXXX",
	         base && *base ? base : "/tmp");
	if (mkdtemp(t->path) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		remove_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

int tmpdir_teardown(void **state)
{
	tmpdir *t = *state;

	remove_tree(t->path);
	free(t);
	return 0;
}

/* Entries in `dir` other than . and .. */
int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}
