/*
 * http.c - the HTTP server over libmicrohttpd (see http.h): started on a
 * bound listener, with TLS if asked, and stopped. Requests are read and
 * routed by http_request.c, answered by http_response.c.
 *
 * The listening socket is bound by http_listen.c and handed to
 * libmicrohttpd, which serves it from a small thread pool with epoll (one
 * thread per online CPU, at most 4: measured better than a thread per
 * connection, docs/performance.md). A request body is collected into a buffer
 * capped at HTTP_BODY_MAX: a declared Content-Length over the cap is
 * answered 413 before any of the body is read; a chunked body that grows
 * past it is discarded and answered 413 at its end (or, past 1 MiB, the
 * connection is closed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "http_listen.h"
#include "util.h"

#define TLS_FILE_MAX (1u << 20)
#define POOL_MAX 4
/* The guard's limits (http_guard.h); libmicrohttpd's own are higher, so
 * that the guard makes room before libmicrohttpd refuses. */
#define CONNECTION_LIMIT 256
#define PER_IP_LIMIT 128
#define MHD_SLACK 64
#define IDLE_TIMEOUT_S HTTP_IDLE_TIMEOUT_S

__attribute__((format(printf, 2, 0))) static void
on_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "vgmo: http: %s\n", line);
}

static vgmo_err load_tls(struct http_server *s, const char *cert,
                         const char *key, char *err, size_t errlen)
{
	char why[320];
	size_t len;

	if ((cert == NULL) != (key == NULL))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "TLS needs both a certificate and a key");
	if (cert == NULL)
		return VGMO_OK;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return vgmo__errf(err, errlen, VGMO_ERR_UNSUPPORTED,
		                  "cannot use TLS certificate %s: this "
		                  "libmicrohttpd was built without TLS support",
		                  cert);
	if (vgmo__read_file_ex(cert, TLS_FILE_MAX, VGMO__READ_REGULAR, &s->cert,
	                       &len, why, sizeof(why)) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "cannot read TLS certificate: %s", why);
	if (vgmo__read_file_ex(key, TLS_FILE_MAX, VGMO__READ_REGULAR, &s->key,
	                       &s->key_len, why, sizeof(why)) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "cannot read TLS key: %s", why);
	return VGMO_OK;
}

static unsigned pool_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > POOL_MAX ? POOL_MAX : (unsigned)n;
}

static void free_server(struct http_server *s)
{
	http_guard_free(s->guard); /* after the daemon stopped */
	if (s->key != NULL) {
		memset(s->key, 0, s->key_len);
		free(s->key);
	}
	free(s->cert);
	free(s);
}

vgmo_err http_listener_open(http_listener *l, const char *hostport, char *err,
                            size_t errlen)
{
	vgmo__strlcpy(l->hostport, hostport, sizeof(l->hostport));
	l->idle_timeout_s = 0;
	l->family = AF_INET;
	l->fd = http_listen_open(hostport, &l->family, err, errlen);
	return l->fd < 0 ? VGMO_ERR_IO : VGMO_OK;
}

void http_listener_close(http_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

vgmo_err http_server_start(http_server **out, http_listener *l,
                           const char *tls_cert, const char *tls_key,
                           const http_route *routes, void *ctx, char *bound,
                           size_t boundlen, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	                 MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[3];
	struct http_server *s;
	const char *hostport = l->hostport;
	vgmo_err rc;
	int fd = l->fd, family = l->family;
	unsigned idle = l->idle_timeout_s;

	l->fd = -1; /* ours now */
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	}
	s->routes = routes;
	s->ctx = ctx;
	rc = load_tls(s, tls_cert, tls_key, err, errlen);
	if (rc != VGMO_OK)
		goto fail;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->cert != NULL)
		flags |= MHD_USE_TLS;
	tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
	tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
	tls[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* A connection answers within its idle timeout or makes way. */
	s->guard = http_guard_new(idle ? idle : IDLE_TIMEOUT_S, PER_IP_LIMIT,
	                          CONNECTION_LIMIT);
	if (s->guard == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
		goto fail;
	}
	s->mhd = MHD_start_daemon(
	        flags, 0, http_guard_accept, s->guard, http__on_request, s,
	        MHD_OPTION_EXTERNAL_LOGGER, on_log, s, MHD_OPTION_LISTEN_SOCKET,
	        fd, MHD_OPTION_THREAD_POOL_SIZE, pool_size(),
	        MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)(CONNECTION_LIMIT + MHD_SLACK),
	        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	        (unsigned)(PER_IP_LIMIT + MHD_SLACK),
	        MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, s->guard,
	        MHD_OPTION_CONNECTION_TIMEOUT,
	        idle ? idle : (unsigned)IDLE_TIMEOUT_S,
	        MHD_OPTION_UNESCAPE_CALLBACK, http__unescape, NULL,
	        MHD_OPTION_NOTIFY_COMPLETED, http__on_completed, s,
	        MHD_OPTION_ARRAY, s->cert != NULL ? tls : tls + 2,
	        MHD_OPTION_END);
	if (s->mhd == NULL) {
		/* libmicrohttpd closed the socket on its way out. */
		fd = -1;
		if (s->cert != NULL)
			rc = vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                "cannot start HTTPS on %s: TLS "
			                "certificate %s or key %s refused",
			                hostport, tls_cert, tls_key);
		else
			rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
			                "cannot start the HTTP server on %s",
			                hostport);
		goto fail;
	}
	http_listen_format(fd, bound, boundlen);
	*out = s;
	return VGMO_OK;
fail:
	if (fd >= 0)
		close(fd);
	free_server(s);
	return rc;
}

void http_server_stop(http_server *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->mhd);
	free_server(s);
}
