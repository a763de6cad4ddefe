/*
 * http_guard.c - deadlines and room for newcomers on the HTTP server's
 * connections (http_guard.h).
 *
 * Every connection libmicrohttpd opens is kept in a list (its socket, its
 * peer's address, when its deadline started) under one mutex. A closed
 * connection leaves the list in libmicrohttpd's "closed" notification,
 * which comes before libmicrohttpd closes its socket, so a socket in the
 * list is always that connection's. Closing one from here is
 * shutdown(2): libmicrohttpd sees the end of the stream and closes it
 * itself, on its own thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>

#include "http_guard.h"
#include "util.h"

typedef struct conn {
	struct conn *prev, *next;
	http_guard *g;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	double since;  /* opened, or its last request answered */
	int answering; /* requests being answered */
	bool cut;      /* shut down by the guard */
} conn;

struct http_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	conn *head; /* oldest first */
	conn *tail;
	unsigned count;
	double deadline;
	unsigned per_peer, total;
};

/* The address part of a peer (no port): what "one address" means. */
static bool same_address(const struct sockaddr_storage *a, socklen_t alen,
                         const struct sockaddr *b, socklen_t blen)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET && blen >= sizeof(struct sockaddr_in) &&
	    alen >= sizeof(struct sockaddr_in))
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6 && blen >= sizeof(struct sockaddr_in6) &&
	    alen >= sizeof(struct sockaddr_in6))
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr,
		              sizeof(struct in6_addr)) == 0;
	return false;
}

/* Lock held. */
static void cut(conn *c)
{
	if (c->cut)
		return;
	c->cut = true;
	shutdown(c->fd, SHUT_RDWR);
}

/* Lock held: the longest-waiting connection not being answered, of the
 * address `addr` (NULL: of any). */
static conn *oldest_idle(http_guard *g, const struct sockaddr *addr,
                         socklen_t len)
{
	for (conn *c = g->head; c; c = c->next)
		if (!c->answering && !c->cut &&
		    (addr == NULL ||
		     same_address(&c->peer, c->peer_len, addr, len)))
			return c;
	return NULL;
}

enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr,
                                  socklen_t len)
{
	http_guard *g = cls;
	unsigned mine = 0;
	conn *victim = NULL;

	pthread_mutex_lock(&g->lock);
	for (conn *c = g->head; c; c = c->next)
		if (!c->cut && same_address(&c->peer, c->peer_len, addr, len))
			mine++;
	if (mine >= g->per_peer)
		victim = oldest_idle(g, addr, len);
	else if (g->count >= g->total)
		victim = oldest_idle(g, NULL, 0);
	if (victim)
		cut(victim);
	pthread_mutex_unlock(&g->lock);
	return MHD_YES;
}

static void link_tail(http_guard *g, conn *c)
{
	c->prev = g->tail;
	c->next = NULL;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	g->count++;
}

static void unlink_conn(http_guard *g, conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		g->tail = c->prev;
	g->count--;
}

void http_guard_notify(void *cls, struct MHD_Connection *mc, void **socket_ctx,
                       enum MHD_ConnectionNotificationCode what)
{
	http_guard *g = cls;
	conn *c = *socket_ctx;

	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(
		        mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *peer = MHD_get_connection_info(
		        mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		c = calloc(1, sizeof(*c));
		if (c == NULL || fd == NULL)
			goto fail; /* unguarded: libmicrohttpd's limits */
		c->g = g;
		c->fd = fd->connect_fd;
		if (peer && peer->client_addr) {
			socklen_t n = peer->client_addr->sa_family == AF_INET6
			                      ? sizeof(struct sockaddr_in6)
			                      : sizeof(struct sockaddr_in);

			memcpy(&c->peer, peer->client_addr, n);
			c->peer_len = n;
		}
		pthread_mutex_lock(&g->lock);
		c->since = vgmo__mono_now();
		link_tail(g, c);
		pthread_mutex_unlock(&g->lock);
		*socket_ctx = c;
		return;
	fail:
		free(c);
		*socket_ctx = NULL;
		return;
	}
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	unlink_conn(g, c);
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_ctx = NULL;
}

void http_guard_answering(struct MHD_Connection *mc, bool on)
{
	const union MHD_ConnectionInfo *info =
	        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn *c = info ? info->socket_context : NULL;
	http_guard *g;

	if (c == NULL)
		return;
	g = c->g;
	pthread_mutex_lock(&g->lock);
	if (on) {
		c->answering++;
	} else if (c->answering > 0) {
		c->answering--;
		/* The next request has its own deadline; a connection moved to
		 * the tail keeps the list oldest first. */
		c->since = vgmo__mono_now();
		unlink_conn(g, c);
		link_tail(g, c);
	}
	pthread_mutex_unlock(&g->lock);
}

static void *enforce(void *arg)
{
	http_guard *g = arg;
	struct timespec ts;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		double now = vgmo__mono_now();

		for (conn *c = g->head; c && c->since + g->deadline <= now;
		     c = c->next)
			if (!c->answering)
				cut(c);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 250000000L; /* four times a second */
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

http_guard *http_guard_new(double deadline, unsigned per_peer, unsigned total)
{
	http_guard *g = calloc(1, sizeof(*g));
	pthread_condattr_t attr;

	if (g == NULL)
		return NULL;
	g->deadline = deadline;
	g->per_peer = per_peer ? per_peer : 1;
	g->total = total ? total : 1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&g->thread, NULL, enforce, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

void http_guard_free(http_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	while (g->head) { /* none after the server stopped */
		conn *c = g->head;

		unlink_conn(g, c);
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
