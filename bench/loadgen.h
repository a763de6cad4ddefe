/*
 * loadgen.h - the internals shared by vgmo_loadgen's files (loadgen.c: the
 * event loop and main; loadgen_http.c: sockets, responses, registration;
 * loadgen_stats.c: latency histograms and the JSON lines).
 */
#ifndef VGMO_BENCH_LOADGEN_H
#define VGMO_BENCH_LOADGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_US 200000 /* 1 us buckets up to 200 ms, then one overflow */
#define BUF_MAX (4u << 20)
#define TIMEOUT_S 10.0
#define MAX_CONNS 1024

typedef struct hist {
	uint32_t *b; /* HIST_US + 1 */
	uint64_t n;
	uint64_t max;
} hist;

typedef struct conn {
	int fd;
	bool busy;
	bool scrape;
	double sent_at;
	char *buf;
	size_t len, cap;
} conn;

typedef struct stats {
	hist lat, scrape_lat;
	uint64_t sent, ok, errors, scrapes, scrape_errors;
	double lag_max;
	uint64_t late; /* sent more than 10 ms after due */
} stats;

typedef struct gen {
	struct sockaddr_in addr;
	int ep;
	long long *ids;
	char (*secrets)[40]; /* each client's secret, from its registration */
	unsigned clients;
	double hz, duration, scrape_every, interval;
	unsigned nconns;
	conn *conns;
	conn scraper;
	stats total, win;
	uint64_t next; /* index of the next report */
	double t0, next_scrape;
	bool verbose_errors;
} gen;

/* ------------------------------------------------ loadgen_stats.c */

/* Allocates the buckets; false when out of memory. */
bool hist_init(hist *h);
void hist_add(hist *h, double seconds);
/* One JSON object on stdout, flushed. */
void print_stats(const gen *g, const stats *s, double t, bool final);
/* Zeroes a window's counts and histograms. */
void reset_window(stats *s);

/* ------------------------------------------------- loadgen_http.c */

/* A TCP socket connected to addr (TCP_NODELAY), made non-blocking unless
 * `blocking`; -1 on failure. The caller closes it. */
int connect_to(const struct sockaddr_in *addr, bool blocking);
/* Sends all n bytes; false on any error (EAGAIN included). */
bool send_all(int fd, const char *p, size_t n);
/* Length of a complete response at the start of buf (0: not yet, -1:
 * malformed); its status in *status. */
long response_length(const char *buf, size_t len, int *status);
/* Registers g->clients workers (POST /v1/clients, one connection each),
 * filling g->ids and g->secrets; false, with a message on stderr, at the
 * first refusal. */
bool register_clients(gen *g);

#endif
