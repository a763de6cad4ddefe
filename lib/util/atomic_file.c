/*
 * atomic_file.c - whole-file reads with a size cap, and atomic replacement
 * (temp file beside the target, fsync, rename, fsync the directory).
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_SUFFIX ".tmp.XXXXXX"
#define READ_CHUNK 4096

/* The directory part of `path` ("." when it has none); caller frees. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *dir;

	if (slash == NULL)
		return strdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	dir = malloc(n + 1);
	if (dir == NULL)
		return NULL;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return dir;
}

/* Writes all of `len` bytes; returns 0 or an errno value. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

vgmo_err vgmo__write_file_atomic(const char *path, const void *data, size_t len,
                                 char *err, size_t errlen)
{
	char *tmp = NULL;
	char *dir = NULL;
	int fd = -1;
	int dfd = -1;
	bool tmp_exists = false;
	struct stat st;
	mode_t mode = 0644;
	vgmo_err rc = VGMO_OK;
	int e;

	if (path == NULL || path[0] == '\0' || (data == NULL && len > 0))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "no path or data to write");

	tmp = malloc(strlen(path) + sizeof(TEMP_SUFFIX));
	dir = dir_of(path);
	if (tmp == NULL || dir == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "%s: %s", path,
		                strerror(ENOMEM));
		goto out;
	}
	strcpy(tmp, path);
	strcat(tmp, TEMP_SUFFIX);

	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: cannot create a temporary file: %s", path,
		                strerror(errno));
		goto out;
	}
	tmp_exists = true;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* mkstemp makes 0600; keep the mode of the file being replaced, or
	 * give a new one the usual 0644. Best effort. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		mode = st.st_mode & 07777;
	(void)fchmod(fd, mode);

	e = write_all(fd, data, len);
	if (e != 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: cannot write %s: %s", path, tmp,
		                strerror(e));
		goto out;
	}
	if (fsync(fd) != 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: cannot sync %s: %s", path, tmp,
		                strerror(errno));
		goto out;
	}
	e = close(fd) != 0 ? errno : 0;
	fd = -1;
	if (e != 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: cannot close %s: %s", path, tmp,
		                strerror(e));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: cannot rename %s over it: %s", path, tmp,
		                strerror(errno));
		goto out;
	}
	tmp_exists = false;

	/* The new contents are in place; make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: written, but cannot open directory %s to "
		                "sync it: %s",
		                path, dir, strerror(errno));
		goto out;
	}
	/* Some file systems cannot sync a directory (EINVAL): nothing to do. */
	if (fsync(dfd) != 0 && errno != EINVAL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: written, but cannot sync directory %s: %s",
		                path, dir, strerror(errno));
		goto out;
	}
out:
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	if (tmp_exists)
		unlink(tmp);
	free(dir);
	free(tmp);
	return rc;
}

static vgmo_err too_large(const char *path, size_t max, char *err,
                          size_t errlen)
{
	return vgmo__errf(err, errlen, VGMO_ERR_IO,
	                  "%s: file is larger than the limit of %zu bytes",
	                  path, max);
}

vgmo_err vgmo__read_file(const char *path, size_t max, char **out,
                         size_t *len_out, char *err, size_t errlen)
{
	return vgmo__read_file_ex(path, max, 0, out, len_out, err, errlen);
}

vgmo_err vgmo__read_file_ex(const char *path, size_t max, unsigned flags,
                            char **out, size_t *len_out, char *err,
                            size_t errlen)
{
	/* Read up to one byte past `max` to tell "exactly max" from "more". */
	const size_t limit = max < SIZE_MAX - 1 ? max + 1 : SIZE_MAX - 1;
	char *buf = NULL;
	size_t len = 0;
	size_t cap = 0; /* bytes of data buf can hold; it has cap + 1 */
	struct stat st;
	vgmo_err rc = VGMO_OK;
	int fd = -1;

	if (path == NULL || out == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "no path or output given");
	*out = NULL;
	if (len_out != NULL)
		*len_out = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is
	 * refused below as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC |
	                        (flags & VGMO__READ_REGULAR ? O_NONBLOCK : 0) |
	                        (flags & VGMO__READ_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                  errno == ELOOP &&
		                                  (flags & VGMO__READ_NOFOLLOW)
		                          ? "is a symbolic link"
		                          : strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                strerror(EISDIR));
		goto out;
	}
	if ((flags & VGMO__READ_REGULAR) && !S_ISREG(st.st_mode)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
		                "%s: not a regular file", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > (uintmax_t)max) {
		rc = too_large(path, max, err, errlen);
		goto out;
	}
	/* A regular file's size is a hint only (it may grow while read). */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : READ_CHUNK;
	if (cap > limit)
		cap = limit;

	for (;;) {
		ssize_t n;

		if (buf == NULL || len == cap) {
			size_t ncap = buf == NULL ? cap : cap * 2;
			char *nbuf;

			if (ncap > limit || ncap < cap)
				ncap = limit;
			nbuf = realloc(buf, ncap + 1);
			if (nbuf == NULL) {
				rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
				                "%s: %s", path,
				                strerror(ENOMEM));
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s",
			                path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			rc = too_large(path, max, err, errlen);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	if (len_out != NULL)
		*len_out = len;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
