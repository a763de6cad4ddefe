/*
 * http_listen.h - the listening socket of http.c: "HOST:PORT" parsing,
 * bind and listen with errors that name the address (internal).
 */
#ifndef VGMO_SRC_HTTP_LISTEN_H
#define VGMO_SRC_HTTP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* True when `hostport` has the form http_listen_open takes (nothing is
 * resolved or bound): for checking a flag before anything starts. */
bool http_listen_check(const char *hostport);

/* Binds and listens (non-blocking, close-on-exec) on the first address
 * `hostport` resolves to that accepts it: "127.0.0.1:8080", "[::1]:0",
 * "[::]:8080" (IPv6 and IPv4), "localhost:8080". Returns the socket, its
 * address family in *family, or -1 with the reason in `err`. */
int http_listen_open(const char *hostport, int *family, char *err,
                     size_t errlen);

/* The socket's bound address: "127.0.0.1:40123" or "[::1]:40123". */
void http_listen_format(int fd, char *out, size_t size);

#endif
