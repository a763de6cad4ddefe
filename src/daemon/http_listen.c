/*
 * http_listen.c - the listening socket of the HTTP server (http_listen.h).
 * We bind it ourselves so that a failure names the address and errno, and
 * hand it to libmicrohttpd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_listen.h"
#include "util.h"

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. */
static vgmo_err split_hostport(const char *hp, char *host, size_t hostlen,
                               char *port, size_t portlen, char *err,
                               size_t errlen)
{
	const char *colon, *h = hp;
	size_t hl;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		h = hp + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL || memchr(hp, ':', (size_t)(colon - hp)))
			goto bad;
		hl = (size_t)(colon - hp);
	}
	if (hl == 0 || hl >= hostlen)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon[1] == '\0' || strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strtol(colon + 1, NULL, 10) > 65535)
		goto bad;
	vgmo__strlcpy(port, colon + 1, portlen);
	return VGMO_OK;
bad:
	return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
	                  "invalid listen address '%s': expected HOST:PORT or "
	                  "[IPV6]:PORT with a port in 0..65535",
	                  hp);
}

bool http_listen_check(const char *hostport)
{
	char host[256], port[8];

	return split_hostport(hostport, host, sizeof(host), port, sizeof(port),
	                      NULL, 0) == VGMO_OK;
}

void http_listen_format(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, size, "[%s]:%u", host, port);
	}
}

int http_listen_open(const char *hostport, int *family, char *err,
                     size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *list = NULL, *ai;
	char host[256], port[8];
	int fd = -1, one = 1, zero = 0, gai, saved = 0;

	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port),
	                   err, errlen) != VGMO_OK)
		return -1;
	gai = getaddrinfo(host, port, &hints, &list);
	if (gai != 0) {
		vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		           "cannot resolve listen address '%s': %s", hostport,
		           gai_strerror(gai));
		return -1;
	}
	for (ai = list; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		            ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		            ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* "[::]:PORT" serves IPv4 too (dual stack). */
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			           sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0) {
			*family = ai->ai_family;
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	if (fd < 0)
		vgmo__errf(err, errlen, VGMO_ERR_IO,
		           "cannot listen on %s: %s%s", hostport,
		           strerror(saved ? saved : EADDRNOTAVAIL),
		           saved == EADDRINUSE
		                   ? " (another program, perhaps another vgmo "
		                     "serve, has that port: give --listen or "
		                     "--health-listen a free one, or port 0)"
		           : saved == EACCES
		                   ? " (a port under 1024 needs privileges: "
		                     "choose one above 1023)"
		                   : "");
	return fd;
}
