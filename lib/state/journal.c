/*
 * journal.c - append-only JSON Lines files (history, audit) with fsync
 * and size rotation, and reading them back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

#define MAX_LINE (64 * 1024)

static vgmo_err rotate(const char *path, size_t rotate_bytes, char *err,
                       size_t errlen)
{
	struct stat sb;
	char old[4096];

	if (rotate_bytes == 0 || stat(path, &sb) != 0 ||
	    (size_t)sb.st_size < rotate_bytes)
		return VGMO_OK;
	if (snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: path too long", path);
	if (rename(path, old) != 0)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "%s: cannot rotate: %s", path,
		                  strerror(errno));
	return VGMO_OK;
}

/* Writes all of `text`; a partial write is cut off again so that the
 * next line starts clean (a partial line would be skipped on reading). */
static vgmo_err write_all(int fd, const char *path, const char *text,
                          size_t len, char *err, size_t errlen)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vgmo_err rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
			                         "%s: write: %s", path,
			                         strerror(errno));

			if (off > 0 && ftruncate(fd, lseek(fd, 0, SEEK_END) -
			                                     (off_t)off) != 0)
				rc = VGMO_ERR_IO;
			return rc;
		}
		off += (size_t)n;
	}
	return VGMO_OK;
}

/* True when the file is empty or its last byte is a newline. */
static bool ends_with_newline(int fd)
{
	struct stat sb;
	char last = '\n';

	if (fstat(fd, &sb) != 0 || sb.st_size == 0)
		return true;
	return pread(fd, &last, 1, sb.st_size - 1) != 1 || last == '\n';
}

/* Opens a state file for appending: never through a link, never blocking
 * on a FIFO, and only a regular file. */
static int open_regular(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path,
	              O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	                      O_NONBLOCK,
	              0640);

	if (fd < 0) {
		vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		           errno == ELOOP ? "is a symbolic link"
		                          : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: not a regular file",
		           path);
		close(fd);
		return -1;
	}
	return fd;
}

vgmo_err vgmo__journal_append_lines(const char *dir, const char *name,
                                    json_t *const *lines, size_t nlines,
                                    size_t rotate_bytes, char *err,
                                    size_t errlen)
{
	char path[4096];
	char *text = NULL, *grown;
	size_t len = 1, cap = 0, off = 0; /* text[0]: a newline, perhaps */
	int fd = -1;
	vgmo_err rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: path too long", dir);
	rc = rotate(path, rotate_bytes, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	for (size_t i = 0; i < nlines; i++) {
		char *one =
		        json_dumps(lines[i], JSON_COMPACT | JSON_ENSURE_ASCII);
		size_t n = one ? strlen(one) : 0;

		if (one != NULL && len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			grown = realloc(text, cap);
			if (grown == NULL) {
				free(one);
				one = NULL;
			} else {
				text = grown;
			}
		}
		if (one == NULL) {
			free(text);
			return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
			                  "%s: cannot encode a line", path);
		}
		memcpy(text + len, one, n);
		len += n;
		text[len++] = '\n';
		free(one);
	}
	if (text == NULL)
		return VGMO_OK;
	fd = open_regular(path, err, errlen);
	if (fd < 0) {
		rc = VGMO_ERR_IO;
		goto out;
	}
	/* A line cut by a crash (power loss, a full disk) would swallow this
	 * one: end it first, so that only the cut line is skipped. */
	text[0] = '\n';
	if (ends_with_newline(fd))
		off = 1;
	rc = write_all(fd, path, text + off, len - off, err, errlen);
	if (rc == VGMO_OK && fsync(fd) != 0)
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: fsync: %s", path,
		                strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

vgmo_err vgmo__journal_append(const char *dir, const char *name,
                              const json_t *line, size_t rotate_bytes,
                              char *err, size_t errlen)
{
	json_t *one = (json_t *)line;

	return vgmo__journal_append_lines(dir, name, &one, 1, rotate_bytes, err,
	                                  errlen);
}

static vgmo_err read_one(const char *path, void (*fn)(const json_t *, void *),
                         void *ctx, size_t *skipped, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat sb;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (fd < 0) {
		if (errno == ENOENT)
			return VGMO_OK;
		return vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                  errno == ELOOP ? "is a symbolic link"
		                                 : strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "%s: not a regular file", path);
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                  strerror(errno));
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_error_t je;
		json_t *j;

		if (n == 0 || (n == 1 && line[0] == '\n'))
			continue;
		if (n > MAX_LINE || line[n - 1] != '\n') {
			(*skipped)++;
			continue;
		}
		j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
		if (j == NULL || !json_is_object(j)) {
			(*skipped)++;
		} else {
			fn(j, ctx);
		}
		json_decref(j);
	}
	free(line);
	fclose(f);
	return VGMO_OK;
}

vgmo_err vgmo__journal_read(const char *dir, const char *name,
                            void (*fn)(const json_t *line, void *ctx),
                            void *ctx, size_t *skipped, char *err,
                            size_t errlen)
{
	char path[4096];
	vgmo_err rc;

	*skipped = 0;
	if (snprintf(path, sizeof(path), "%s/%s.1", dir, name) >=
	    (int)sizeof(path))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: path too long", dir);
	rc = read_one(path, fn, ctx, skipped, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return VGMO_ERR_INVALID;
	return read_one(path, fn, ctx, skipped, err, errlen);
}

vgmo_err vgmo__audit(const char *dir, double wall_time, const char *who,
                     const char *what, const json_t *old_value,
                     const json_t *new_value, char *err, size_t errlen)
{
	json_t *o = json_object();
	char stamp[64];
	time_t t = (time_t)wall_time;
	struct tm tm;
	vgmo_err rc;

	if (o == NULL)
		return VGMO_ERR_NOMEM;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "time", json_string(stamp));
	json_object_set_new(o, "who", json_string(who ? who : "unknown"));
	json_object_set_new(o, "what", json_string(what));
	json_object_set(o, "old",
	                old_value ? (json_t *)old_value : json_null());
	json_object_set(o, "new",
	                new_value ? (json_t *)new_value : json_null());
	rc = vgmo__journal_append(dir, VGMO__AUDIT_FILE, o, 16 * VGMO_MIB, err,
	                          errlen);
	json_decref(o);
	return rc;
}
