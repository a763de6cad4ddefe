/*
 * loadgen.c - an open-loop HTTP load generator for the soak test
 * (tests/soak/soak.py, docs/reliability.md).
 *
 *   vgmo_loadgen --port P [--clients 1000] [--hz 10] [--duration 600]
 *                [--connections 32] [--scrape 1] [--interval 10]
 *
 * Registers CLIENTS workers (POST /v1/clients), then sends each of them a
 * batch report (POST /v1/clients/{id}/report) HZ times a second, spread
 * evenly, over CONNECTIONS keep-alive connections, and scrapes /metrics
 * every SCRAPE seconds on a connection of its own. A request is due at a
 * fixed time (open loop): a connection that is free sends the next due
 * request; how late it went out is reported as the lag, so a generator
 * that cannot keep up shows it instead of hiding it.
 *
 * Prints one JSON object per INTERVAL seconds and a last one with
 * "final": true, on stdout. Latency is from the request's first byte sent
 * to the response's last byte received, in microseconds. Exit status 0
 * when every request was answered 200, 1 otherwise, 2 on bad usage.
 *
 * One thread, epoll; loopback only (IPv4).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool open_conn(gen *g, conn *c, bool scrape)
{
	struct epoll_event ev = {.events = EPOLLIN};

	c->fd = connect_to(&g->addr, false);
	if (c->fd < 0)
		return false;
	c->busy = false;
	c->scrape = scrape;
	c->len = 0;
	if (c->buf == NULL) {
		c->cap = 65536;
		c->buf = malloc(c->cap);
		if (c->buf == NULL)
			return false;
	}
	ev.data.ptr = c;
	return epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) == 0;
}

static void close_conn(gen *g, conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = false;
	c->len = 0;
}

static void count_error(gen *g, conn *c, const char *why)
{
	if (c->scrape) {
		g->total.scrape_errors++;
		g->win.scrape_errors++;
	} else {
		g->total.errors++;
		g->win.errors++;
	}
	if (g->verbose_errors)
		fprintf(stderr, "loadgen: %s: %s\n",
		        c->scrape ? "scrape" : "report", why);
}

/* Sends the report numbered k on connection c. */
static void send_report(gen *g, conn *c, uint64_t k, double due)
{
	unsigned i = (unsigned)(k % g->clients);
	unsigned items = 1 + (unsigned)((k / g->clients) % 8);
	unsigned long long peak = (200ULL << 20) + items * (16ULL << 20);
	char body[256], req[640];
	int n, m;
	double t = now_s();

	/* Like PyTorch's caching allocator: what is reserved stays at its
	 * high-water mark, what is allocated moves with the batch. */
	n = snprintf(body, sizeof(body),
	             "{\"items\": %u, \"peak_bytes\": %llu, "
	             "\"allocated_bytes\": %llu, \"reserved_bytes\": %llu, "
	             "\"seconds\": 0.05}",
	             items, peak, peak / 2, 512ULL << 20);
	m = snprintf(req, sizeof(req),
	             "POST /v1/clients/%lld/report HTTP/1.1\r\nHost: x\r\n"
	             "Content-Type: application/json\r\n"
	             "X-Vgmo-Client-Secret: %s\r\n"
	             "Content-Length: %d\r\n\r\n%s",
	             g->ids[i], g->secrets[i], n, body);
	if (t - due > g->total.lag_max)
		g->total.lag_max = t - due;
	if (t - due > g->win.lag_max)
		g->win.lag_max = t - due;
	if (t - due > 0.010) {
		g->total.late++;
		g->win.late++;
	}
	c->sent_at = t;
	c->busy = true;
	c->len = 0;
	g->total.sent++;
	g->win.sent++;
	if (!send_all(c->fd, req, (size_t)m)) {
		count_error(g, c, "send failed");
		close_conn(g, c);
	}
}

static void send_scrape(gen *g)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	conn *c = &g->scraper;

	if (c->fd < 0 && !open_conn(g, c, true)) {
		count_error(g, c, "cannot connect");
		return;
	}
	c->sent_at = now_s();
	c->busy = true;
	c->len = 0;
	g->total.scrapes++;
	g->win.scrapes++;
	if (!send_all(c->fd, req, sizeof(req) - 1)) {
		count_error(g, c, "send failed");
		close_conn(g, c);
	}
}

static void on_readable(gen *g, conn *c)
{
	for (;;) {
		ssize_t r;
		long n;
		int status = 0;

		if (c->len == c->cap) {
			char *nb;

			if (c->cap >= BUF_MAX) {
				count_error(g, c, "response too large");
				close_conn(g, c);
				return;
			}
			nb = realloc(c->buf, c->cap * 2);
			if (nb == NULL)
				return;
			c->buf = nb;
			c->cap *= 2;
		}
		r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			if (c->busy)
				count_error(g, c, "connection closed");
			close_conn(g, c);
			return;
		}
		c->len += (size_t)r;
		n = response_length(c->buf, c->len, &status);
		if (n == 0)
			continue;
		if (n < 0 || !c->busy) {
			count_error(g, c, "malformed response");
			close_conn(g, c);
			return;
		}
		if (c->scrape) {
			hist_add(&g->total.scrape_lat, now_s() - c->sent_at);
			hist_add(&g->win.scrape_lat, now_s() - c->sent_at);
		} else {
			hist_add(&g->total.lat, now_s() - c->sent_at);
			hist_add(&g->win.lat, now_s() - c->sent_at);
		}
		if (status != 200) {
			char why[64];

			snprintf(why, sizeof(why), "status %d", status);
			count_error(g, c, why);
		} else if (!c->scrape) {
			g->total.ok++;
			g->win.ok++;
		}
		c->busy = false;
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (size_t)n;
		return;
	}
}

/* Fails requests that have waited longer than TIMEOUT_S. */
static void check_timeouts(gen *g, double t)
{
	for (unsigned i = 0; i <= g->nconns; i++) {
		conn *c = i < g->nconns ? &g->conns[i] : &g->scraper;

		if (c->fd >= 0 && c->busy && t - c->sent_at > TIMEOUT_S) {
			count_error(g, c, "timed out");
			close_conn(g, c);
		}
	}
}

static bool any_free(const gen *g)
{
	for (unsigned i = 0; i < g->nconns; i++)
		if (g->conns[i].fd < 0 || !g->conns[i].busy)
			return true;
	return false;
}

static int run(gen *g)
{
	struct epoll_event evs[64];
	double rate = g->clients * g->hz, next_report = 0, last_print;
	double end;

	g->t0 = now_s();
	end = g->t0 + g->duration;
	last_print = g->t0;
	g->next_scrape = g->t0;
	for (;;) {
		double t = now_s(), wait;
		int n;

		if (t >= end)
			break;
		/* Every due report goes out on a free connection. */
		for (unsigned i = 0; i < g->nconns; i++) {
			conn *c = &g->conns[i];

			next_report = g->t0 + (double)g->next / rate;
			if (next_report > t)
				break;
			if (c->fd < 0 && !open_conn(g, c, false)) {
				count_error(g, c, "cannot connect");
				continue;
			}
			if (c->busy)
				continue;
			send_report(g, c, g->next, next_report);
			g->next++;
		}
		if (g->scrape_every > 0 && t >= g->next_scrape) {
			if (!g->scraper.busy)
				send_scrape(g);
			g->next_scrape += g->scrape_every;
		}
		if (t - last_print >= g->interval) {
			print_stats(g, &g->win, t - g->t0, false);
			reset_window(&g->win);
			last_print = t;
			check_timeouts(g, t);
		}
		/* Sleep until the next report is due, or, when one is due
		 * but every connection is busy, until an answer comes (at
		 * most 10 ms, for the scrape and the window). epoll counts
		 * whole milliseconds: the last one is spent polling. */
		next_report = g->t0 + (double)g->next / rate;
		wait = next_report - now_s();
		if (wait <= 0 && !any_free(g))
			wait = 0.010;
		if (wait < 0)
			wait = 0;
		n = epoll_wait(g->ep, evs, 64, (int)(wait * 1000.0));
		for (int i = 0; i < n; i++)
			on_readable(g, evs[i].data.ptr);
	}
	/* Let the last answers come in. */
	for (double stop = now_s() + 2.0; now_s() < stop;) {
		bool busy = g->scraper.busy;
		int n;

		for (unsigned i = 0; i < g->nconns; i++)
			busy = busy || g->conns[i].busy;
		if (!busy)
			break;
		n = epoll_wait(g->ep, evs, 64, 100);
		for (int i = 0; i < n; i++)
			on_readable(g, evs[i].data.ptr);
	}
	check_timeouts(g, now_s() + TIMEOUT_S + 1);
	print_stats(g, &g->total, now_s() - g->t0, true);
	return g->total.errors == 0 && g->total.scrape_errors == 0 &&
	                       g->total.ok == g->total.sent
	               ? 0
	               : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: vgmo_loadgen --port P [--clients N] [--hz F] "
	                "[--duration S] [--connections N] [--scrape S] "
	                "[--interval S] [--verbose]\n");
	return 2;
}

int main(int argc, char **argv)
{
	gen g = {0};
	int port = 0, rc = 2;

	g.clients = 1000;
	g.hz = 10;
	g.duration = 600;
	g.nconns = 32;
	g.scrape_every = 1;
	g.interval = 10;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--verbose") == 0) {
			g.verbose_errors = true;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--clients") == 0)
			g.clients = (unsigned)atoi(v);
		else if (strcmp(a, "--hz") == 0)
			g.hz = atof(v);
		else if (strcmp(a, "--duration") == 0)
			g.duration = atof(v);
		else if (strcmp(a, "--connections") == 0)
			g.nconns = (unsigned)atoi(v);
		else if (strcmp(a, "--scrape") == 0)
			g.scrape_every = atof(v);
		else if (strcmp(a, "--interval") == 0)
			g.interval = atof(v);
		else
			return usage();
	}
	if (port <= 0 || port > 65535 || g.clients == 0 || !(g.hz > 0) ||
	    g.nconns == 0 || g.nconns > MAX_CONNS || !(g.interval > 0))
		return usage();
	g.addr.sin_family = AF_INET;
	g.addr.sin_port = htons((uint16_t)port);
	g.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g.ids = calloc(g.clients, sizeof(*g.ids));
	g.secrets = calloc(g.clients, sizeof(*g.secrets));
	g.conns = calloc(g.nconns, sizeof(*g.conns));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	g.scraper.fd = -1;
	if (g.ids == NULL || g.secrets == NULL || g.conns == NULL || g.ep < 0 ||
	    !hist_init(&g.total.lat) || !hist_init(&g.total.scrape_lat) ||
	    !hist_init(&g.win.lat) || !hist_init(&g.win.scrape_lat)) {
		fprintf(stderr, "loadgen: out of memory\n");
		rc = 1;
		goto out;
	}
	for (unsigned i = 0; i < g.nconns; i++)
		g.conns[i].fd = -1;
	if (!register_clients(&g)) {
		rc = 1;
		goto out;
	}
	fprintf(stderr, "loadgen: %u clients registered\n", g.clients);
	rc = run(&g);
out:
	for (unsigned i = 0; g.conns && i < g.nconns; i++) {
		close_conn(&g, &g.conns[i]);
		free(g.conns[i].buf);
	}
	close_conn(&g, &g.scraper);
	free(g.scraper.buf);
	if (g.ep >= 0)
		close(g.ep);
	free(g.total.lat.b);
	free(g.total.scrape_lat.b);
	free(g.win.lat.b);
	free(g.win.scrape_lat.b);
	free(g.conns);
	free(g.ids);
	free(g.secrets);
	return rc;
}
