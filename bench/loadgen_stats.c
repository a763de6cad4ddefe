/*
 * loadgen_stats.c - vgmo_loadgen's latency histograms (1 us buckets) and
 * the JSON object it prints per interval.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

bool hist_init(hist *h)
{
	h->b = calloc(HIST_US + 1, sizeof(*h->b));
	h->n = h->max = 0;
	return h->b != NULL;
}

static void hist_reset(hist *h)
{
	memset(h->b, 0, (HIST_US + 1) * sizeof(*h->b));
	h->n = h->max = 0;
}

void hist_add(hist *h, double seconds)
{
	uint64_t us = seconds <= 0 ? 0 : (uint64_t)(seconds * 1e6);

	h->b[us < HIST_US ? us : HIST_US]++;
	h->n++;
	if (us > h->max)
		h->max = us;
}

/* The q-quantile in microseconds (the overflow bucket reads as max). */
static uint64_t hist_q(const hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (uint64_t i = 0; i <= HIST_US; i++) {
		seen += h->b[i];
		if (seen > want)
			return i < HIST_US ? i : h->max;
	}
	return h->max;
}

void print_stats(const gen *g, const stats *s, double t, bool final)
{
	printf("{\"t\": %.1f, \"final\": %s, \"sent\": %llu, \"ok\": %llu, "
	       "\"errors\": %llu, \"p50_us\": %llu, \"p99_us\": %llu, "
	       "\"p999_us\": %llu, \"max_us\": %llu, \"late\": %llu, "
	       "\"lag_max_ms\": %.2f, \"scrapes\": %llu, "
	       "\"scrape_errors\": %llu, \"scrape_p50_us\": %llu, "
	       "\"scrape_p99_us\": %llu, \"scrape_max_us\": %llu, "
	       "\"clients\": %u, \"target_rps\": %.0f}\n",
	       t, final ? "true" : "false", (unsigned long long)s->sent,
	       (unsigned long long)s->ok, (unsigned long long)s->errors,
	       (unsigned long long)hist_q(&s->lat, 0.50),
	       (unsigned long long)hist_q(&s->lat, 0.99),
	       (unsigned long long)hist_q(&s->lat, 0.999),
	       (unsigned long long)s->lat.max, (unsigned long long)s->late,
	       s->lag_max * 1e3, (unsigned long long)s->scrapes,
	       (unsigned long long)s->scrape_errors,
	       (unsigned long long)hist_q(&s->scrape_lat, 0.50),
	       (unsigned long long)hist_q(&s->scrape_lat, 0.99),
	       (unsigned long long)s->scrape_lat.max, g->clients,
	       g->clients * g->hz);
	fflush(stdout);
}

void reset_window(stats *s)
{
	hist_reset(&s->lat);
	hist_reset(&s->scrape_lat);
	s->sent = s->ok = s->errors = s->scrapes = s->scrape_errors = 0;
	s->late = 0;
	s->lag_max = 0;
}
