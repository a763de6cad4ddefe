/*
 * test_client_c_util.h - a real `vgmo serve --backend sim` for
 * test_client_c: started with fork and exec on a free loopback port, with
 * its own state directory, and its view read back over HTTP.
 */
#ifndef VGMO_TEST_CLIENT_C_UTIL_H
#define VGMO_TEST_CLIENT_C_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct daemon {
	pid_t pid;
	int out; /* its stdout */
	int port;
	char url[64];
};

struct fixture {
	char dir[64]; /* state directory */
	struct daemon d;
};

void daemon_start(struct fixture *f, int port, const char *extra);
bool daemon_halt(struct fixture *f);
void daemon_stop(struct fixture *f);
int setup(void **state);
int teardown(void **state);
json_t *get(const struct fixture *f, const char *path);
json_t *get_client(const struct fixture *f, int64_t id);

#endif
