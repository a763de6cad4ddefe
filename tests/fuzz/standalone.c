/*
 * standalone.c - a driver for the fuzz harnesses where libFuzzer is not
 * available (gcc builds: the plain and the ASan + UBSan runs of make check).
 *
 *   fuzz_NAME [-runs=N] [-seed=S] [-max_len=L] CORPUS_DIR_OR_FILE...
 *
 * Runs every corpus file once, then N inputs made by mutating corpus files
 * (byte flips, inserts and deletions, JSON-ish tokens, splices of two
 * files), deterministic for a seed. It has no coverage feedback: it is a
 * replay of the corpus plus a random walk around it, not a fuzzer; the
 * libFuzzer build (cmake -DVGMO_FUZZ=ON with clang) is the fuzzer. A crash
 * or a failed check aborts, with the input written to ./crash-standalone.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define FUZZ_INPUT_MAX (1u << 20)

typedef struct input {
	uint8_t *data;
	size_t len;
} input;

typedef struct corpus {
	input *items;
	size_t n, cap;
} corpus;

/* xorshift64*: the same inputs for the same seed on every platform. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int add_file(corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = malloc(FUZZ_INPUT_MAX);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, FUZZ_INPUT_MAX, f);
	fclose(f);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		input *items = realloc(c->items, cap * sizeof(*items));

		if (items == NULL) {
			free(buf);
			return -1;
		}
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n].data = buf;
	c->items[c->n].len = len;
	c->n++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every regular file of `dir`, in name order (deterministic runs). */
static int add_dir(corpus *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL) {
				rc = -1;
				break;
			}
			names = grown;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = add_file(c, path);
		free(names[i]);
	}
	free(names);
	return rc;
}

static const char *const tokens[] = {
        "{",
        "}",
        "[",
        "]",
        "\"",
        ",",
        ":",
        "\\",
        "\\u0000",
        "\\ud800",
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1e400",
        "-1e400",
        "1e-400",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "0.5",
        "NaN",
        "\n",
        "\xff",
        "\xc3\xa9",
        "\xed\xa0\x80",
        "\"batch_size\"",
        "\"items\"",
        "\"peak_bytes\"",
        "\"t\"",
        "\"images\"",
        "\"strategy\"",
        "\"max_batch_size\"",
        "\"name\"",
        "\"oom\"",
        "[[1,1]]",
        "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}"};

/* One random edit of buf[0..*len) (capacity cap). */
static void mutate_once(uint8_t *buf, size_t *len, size_t cap, const corpus *c,
                        uint64_t *s)
{
	size_t at = *len ? next_rand(s) % (*len + 1) : 0;

	switch (next_rand(s) % 7) {
	case 0: /* flip a bit */
		if (*len)
			buf[at % *len] ^= (uint8_t)(1u << (next_rand(s) % 8));
		break;
	case 1: /* a random byte */
		if (*len)
			buf[at % *len] = (uint8_t)next_rand(s);
		break;
	case 2: /* insert a random byte */
		if (*len < cap) {
			memmove(buf + at + 1, buf + at, *len - at);
			buf[at] = (uint8_t)next_rand(s);
			(*len)++;
		}
		break;
	case 3: { /* delete a run */
		size_t n = 1 + next_rand(s) % 8;

		if (at < *len) {
			if (n > *len - at)
				n = *len - at;
			memmove(buf + at, buf + at + n, *len - at - n);
			*len -= n;
		}
		break;
	}
	case 4:
	case 5: { /* insert a token */
		const char *t = tokens[next_rand(s) %
		                       (sizeof(tokens) / sizeof(tokens[0]))];
		size_t n = strlen(t);

		if (*len + n <= cap) {
			memmove(buf + at + n, buf + at, *len - at);
			memcpy(buf + at, t, n);
			*len += n;
		}
		break;
	}
	default: { /* splice in a piece of another input */
		const input *o = &c->items[next_rand(s) % c->n];
		size_t from, n;

		if (o->len == 0)
			break;
		from = next_rand(s) % o->len;
		n = 1 + next_rand(s) % (o->len - from);
		if (*len + n <= cap) {
			memmove(buf + at + n, buf + at, *len - at);
			memcpy(buf + at, o->data + from, n);
			*len += n;
		}
		break;
	}
	}
}

static void save_crash(const uint8_t *data, size_t len)
{
	FILE *f = fopen("crash-standalone", "wb");

	if (f != NULL) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	corpus c = {0};
	unsigned long long runs = 1000;
	uint64_t seed = 1;
	size_t max_len = 4096;
	uint8_t *buf;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (strncmp(argv[i], "-runs=", 6) == 0)
			runs = strtoull(argv[i] + 6, NULL, 10);
		else if (strncmp(argv[i], "-seed=", 6) == 0)
			seed = (uint64_t)strtoull(argv[i] + 6, NULL, 10);
		else if (strncmp(argv[i], "-max_len=", 9) == 0)
			max_len = strtoull(argv[i] + 9, NULL, 10);
		else if (argv[i][0] == '-')
			continue; /* other libFuzzer flags: ignored */
		else if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc = add_dir(&c, argv[i]);
		else
			rc = add_file(&c, argv[i]);
		if (rc != 0)
			return 2;
	}
	if (c.n == 0) {
		fprintf(stderr, "standalone: no corpus given\n");
		return 2;
	}
	if (seed == 0)
		seed = 1;
	if (max_len < 16 || max_len > FUZZ_INPUT_MAX)
		max_len = 4096;
	buf = malloc(max_len);
	if (buf == NULL)
		return 2;
	for (size_t i = 0; i < c.n; i++) {
		save_crash(c.items[i].data, c.items[i].len);
		LLVMFuzzerTestOneInput(c.items[i].data, c.items[i].len);
	}
	for (unsigned long long r = 0; r < runs; r++) {
		const input *in = &c.items[next_rand(&seed) % c.n];
		size_t len = in->len < max_len ? in->len : max_len;
		unsigned edits = 1 + (unsigned)(next_rand(&seed) % 4);
		uint8_t *exact;

		memcpy(buf, in->data, len);
		for (unsigned k = 0; k < edits; k++)
			mutate_once(buf, &len, max_len, &c, &seed);
		/* An exact-size copy, so that reads past the end are seen. */
		exact = malloc(len ? len : 1);
		if (exact == NULL)
			return 2;
		memcpy(exact, buf, len);
		save_crash(exact, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	remove("crash-standalone");
	printf("standalone: %zu corpus inputs, %llu mutated runs, no crash\n",
	       c.n, runs);
	for (size_t i = 0; i < c.n; i++)
		free(c.items[i].data);
	free(c.items);
	free(buf);
	return 0;
}
