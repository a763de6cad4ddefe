/*
 * test_client_c_util.c - the daemon of test_client_c (test_client_c_util.h).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client_http.h"
#include "test_client_c_util.h"
#include "vgmo/vgmo.h"

/* ------------------------------------------------------------ daemon */

void daemon_start(struct fixture *f, int port, const char *extra)
{
	char bin[1024], listen[32], log[128], buf[4096];
	const char *dir = getenv("VGMO_TEST_BIN");
	const char *argv[20];
	size_t len = 0, n = 0;
	int pipefd[2];
	char *m;

	assert_non_null(dir);
	snprintf(bin, sizeof(bin), "%s/vgmo", dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(log, sizeof(log), "%s/daemon.stderr", f->dir);
	argv[n++] = bin;
	argv[n++] = "serve";
	argv[n++] = "--backend";
	argv[n++] = "sim";
	argv[n++] = "--sim-workload";
	argv[n++] = "none";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--health-listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--state-dir";
	argv[n++] = f->dir;
	argv[n++] = "--monitoring-interval";
	argv[n++] = "1";
	if (extra != NULL) {
		argv[n++] = "--auth-token-file";
		argv[n++] = extra;
	}
	argv[n] = NULL;
	assert_int_equal(pipe(pipefd), 0);
	f->d.pid = fork();
	assert_true(f->d.pid >= 0);
	if (f->d.pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(pipefd[1], STDOUT_FILENO);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		close(pipefd[0]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	f->d.out = pipefd[0];
	/* "metrics: http://127.0.0.1:PORT/metrics" on its stdout. */
	for (;;) {
		struct pollfd p = {.fd = f->d.out, .events = POLLIN};
		ssize_t got;

		assert_int_equal(poll(&p, 1, 10000), 1);
		got = read(f->d.out, buf + len, sizeof(buf) - 1 - len);
		assert_true(got > 0);
		len += (size_t)got;
		buf[len] = '\0';
		m = strstr(buf, "metrics: http://");
		if (m != NULL && strchr(m + 16, '/') != NULL)
			break;
	}
	*strchr(m + 16, '/') = '\0';
	snprintf(f->d.url, sizeof(f->d.url), "%s", m + 9);
	f->d.port = atoi(strrchr(f->d.url, ':') + 1);
}

/* Stops the daemon; returns whether it exited 0 on SIGTERM (under the
 * sanitizers too: no leak, no undefined behaviour). */
bool daemon_halt(struct fixture *f)
{
	int status = 0;

	if (f->d.pid <= 0)
		return true;
	kill(f->d.pid, SIGTERM);
	if (waitpid(f->d.pid, &status, 0) != f->d.pid)
		status = -1;
	close(f->d.out);
	f->d.pid = 0;
	return status == 0;
}

void daemon_stop(struct fixture *f)
{
	assert_true(daemon_halt(f));
}

static int remove_one(const char *path, const struct stat *sb, int flag,
                      struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vgmo-test-client-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int teardown(void **state)
{
	struct fixture *f = *state;
	bool clean = daemon_halt(f);

	if (!clean) {
		char log[128];
		FILE *in;
		int ch;

		snprintf(log, sizeof(log), "%s/daemon.stderr", f->dir);
		in = fopen(log, "r");
		while (in != NULL && (ch = fgetc(in)) != EOF)
			fputc(ch, stderr);
		if (in != NULL)
			fclose(in);
	}
	nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return clean ? 0 : -1;
}

/* GET path from the daemon, as a JSON object the caller decrefs. */
json_t *get(const struct fixture *f, const char *path)
{
	vgmo__http h;
	json_t *ans = NULL;
	char err[256];

	assert_int_equal(vgmo__http_open(&h, f->d.url, NULL, err, sizeof(err)),
	                 VGMO_OK);
	if (vgmo__http_request(&h, "GET", path, NULL, &ans, err, sizeof(err)) !=
	    VGMO_OK)
		ans = NULL;
	vgmo__http_close(&h);
	return ans;
}

json_t *get_client(const struct fixture *f, int64_t id)
{
	char path[64];

	snprintf(path, sizeof(path), "/v1/clients/%" PRId64, id);
	return get(f, path);
}
