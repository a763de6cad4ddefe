/*
 * loadgen_http.c - vgmo_loadgen's sockets and HTTP: connecting, sending,
 * finding a complete response, and registering the workers up front.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"

int connect_to(const struct sockaddr_in *addr, bool blocking)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
		close(fd);
		return -1;
	}
	if (!blocking)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Length of a complete response at the start of buf (0: not yet, -1:
 * malformed); its status in *status. */
long response_length(const char *buf, size_t len, int *status)
{
	const char *end = NULL, *p;
	long body = 0;

	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 4;
			break;
		}
	if (end == NULL)
		return len > 65536 ? -1 : 0;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (p = buf; p < end; p++) {
		if ((*p == '\n') &&
		    strncasecmp(p + 1, "Content-Length:", 15) == 0) {
			body = strtol(p + 16, NULL, 10);
			break;
		}
	}
	if (body < 0)
		return -1;
	if ((size_t)(end - buf) + (size_t)body > len)
		return 0;
	return (long)(end - buf) + body;
}

/* One request and its whole response on a blocking socket. */
static int roundtrip(const struct sockaddr_in *addr, const char *req, char *out,
                     size_t outsize)
{
	int fd = connect_to(addr, true), status = -1;
	size_t len = 0;
	long n = 0;

	if (fd < 0 || !send_all(fd, req, strlen(req))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (len + 1 < outsize) {
		ssize_t r = recv(fd, out + len, outsize - 1 - len, 0);

		if (r <= 0)
			break;
		len += (size_t)r;
		n = response_length(out, len, &status);
		if (n != 0)
			break;
	}
	out[len] = '\0';
	close(fd);
	return n > 0 ? status : -1;
}

bool register_clients(gen *g)
{
	char req[512], body[128], res[8192];

	for (unsigned i = 0; i < g->clients; i++) {
		const char *id, *sec;
		int status, n;

		n = snprintf(body, sizeof(body),
		             "{\"name\": \"soak-%u\", \"gpu\": 0}", i);
		snprintf(req, sizeof(req),
		         "POST /v1/clients HTTP/1.1\r\nHost: x\r\n"
		         "Content-Type: application/json\r\n"
		         "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		         n, body);
		status = roundtrip(&g->addr, req, res, sizeof(res));
		id = strstr(res, "\"id\":");
		sec = strstr(res, "\"secret\":\"");
		if ((status != 200 && status != 201) || id == NULL ||
		    sec == NULL ||
		    sscanf(sec + 10, "%32[0-9a-f]", g->secrets[i]) != 1) {
			fprintf(stderr, "loadgen: registering soak-%u: %d %s\n",
			        i, status, res);
			return false;
		}
		g->ids[i] = strtoll(id + 5, NULL, 10);
	}
	return true;
}
