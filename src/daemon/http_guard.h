/*
 * http_guard.h - who may hold the HTTP server's connections (internal to
 * the HTTP server: http.c, http_request.c, http_response.c).
 *
 * libmicrohttpd's own limits are per address and reset a connection's
 * timer on every byte, so one local process sending a byte now and then
 * on 128 connections from 127.0.0.1 would hold every slot of that
 * address, shutting out every other local worker and scraper. The guard
 * adds two rules:
 *
 *  - a deadline: a connection must have a request answered within
 *    `deadline` seconds of opening, and the next one within `deadline`
 *    seconds of the last answer, or it is closed (a slow sender holds a
 *    slot for `deadline` seconds at most, whatever it sends);
 *  - room for newcomers: when an address holds `per_peer` connections (or
 *    the server `total`), a new one takes the place of the longest-waiting
 *    connection of that address (of any address) that is not being
 *    answered; one process's idle or slow connections cannot shut the
 *    others out, since each newcomer pushes the oldest of them out.
 */
#ifndef VGMO_SRC_HTTP_GUARD_H
#define VGMO_SRC_HTTP_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

typedef struct http_guard http_guard;

/* NULL when out of memory. Starts the thread that enforces the deadline. */
http_guard *http_guard_new(double deadline, unsigned per_peer, unsigned total);
/* Stops the thread; call after the server stopped. NULL is a no-op. */
void http_guard_free(http_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard). */
void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                       enum MHD_ConnectionNotificationCode what);
/* The accept policy (cls: the guard): always admits, making room first. */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr,
                                  socklen_t len);
/* A request of connection `c` is being answered (true) or has been
 * (false): its deadline is suspended, then starts again. */
void http_guard_answering(struct MHD_Connection *c, bool on);

#endif
