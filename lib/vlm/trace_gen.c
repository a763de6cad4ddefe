/*
 * trace_gen.c - the built-in workloads. Request shapes come from common
 * sources: scanned pages (US letter and A4 at 150, 200 and 300 dpi), phone
 * and camera photos, screenshots, and text-only prompts. Arrivals are
 * Poisson; every workload arrives faster than one 80 GB GPU serves it, so
 * a queue builds and the batch size decides throughput. Times are rounded
 * to milliseconds so a written trace replays exactly.
 */
#include <math.h>
#include <string.h>

#include "trace.h"
#include "util.h"

typedef struct sized {
	uint32_t w, h;
	double weight;
} sized;

static const sized pages[] = {
        {1275, 1650, 0.15}, {1700, 2200, 0.25}, {2550, 3300, 0.10},
        {1240, 1754, 0.15}, {1654, 2339, 0.25}, {2480, 3508, 0.10},
};

static const sized photos[] = {
        {4032, 3024, 0.25}, {3024, 4032, 0.15}, {4000, 3000, 0.10},
        {1920, 1080, 0.15}, {1080, 1920, 0.05}, {1280, 960, 0.10},
        {640, 480, 0.10},   {6000, 4000, 0.05}, {2048, 1536, 0.05},
};

static const sized screens[] = {
        {1280, 720, 0.20},  {1920, 1080, 0.30}, {2560, 1440, 0.15},
        {1440, 900, 0.10},  {2880, 1800, 0.10}, {390, 844, 0.05},
        {1170, 2532, 0.10},
};

static const sized a4_pages[] = {
        {1240, 1754, 0.30}, /* A4 at 150 dpi */
        {1654, 2339, 0.40}, /* 200 dpi */
        {2480, 3508, 0.15}, /* 300 dpi */
        {4032, 3024, 0.10}, /* a phone photo of a page */
        {1600, 1200, 0.03}, /* a chart */
        {1200, 800, 0.02},  /* a small chart */
};

/* The tail no batch can hold: 600 dpi pages and panoramas. */
static const sized huge[] = {
        {5100, 6600, 0.35},  /* US letter at 600 dpi */
        {4960, 7016, 0.35},  /* A4 at 600 dpi */
        {16000, 4000, 0.15}, /* a stitched panorama */
        {20000, 3000, 0.15},
};

static const char *const names[] = {
        "docs",         "photos",    "mixed",       "drift",        "cotenant",
        "doc-mix",      "huge-tail", "idle-burst",  "flapping",     "leak",
        "long-outputs", "tiny-huge", "multi-image", "vision-heavy", NULL};

static const char *const about[] = {
        "scanned pages, 1 to 3 per request, document questions",
        "camera and phone photos, 1 or 2 per request, captions",
        "bursts of photos, pages, screenshots and text-only prompts",
        "pages and photos while another process leaks memory slowly",
        "pages and photos; a second worker takes memory half way",
        "A4 pages at 150/200/300 dpi, phone photos of pages, charts; "
        "long transcriptions",
        "pages and photos with a 3 % tail of 600 dpi page bundles and "
        "panoramas, some too large for any batch",
        "idle while another process takes 60 % of the GPU, then a burst",
        "another process takes 40 % of the GPU and gives it back every "
        "minute",
        "another process leaks 1 % of the GPU every 20 s, up to 45 %",
        "captions, then half way transcriptions of 1,000 to 4,000 tokens",
        "text-only and small-photo requests alternating with multi-page "
        "300 dpi bundles",
        "4 to 16 pages or photos per request",
        "pages and photos on a model whose vision encoder costs 3.5 x "
        "what its configuration suggests",
};

const char *const *vgmo__workloads(void)
{
	return names;
}

const char *vgmo__workload_about(const char *name)
{
	for (size_t i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return about[i];
	return NULL;
}

static const sized *draw(vgmo__rng *r, const sized *set, size_t n)
{
	double u = vgmo__rng_uniform(r), acc = 0;

	for (size_t i = 0; i < n; i++) {
		acc += set[i].weight;
		if (u < acc)
			return &set[i];
	}
	return &set[n - 1];
}

static uint32_t uniform_int(vgmo__rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(vgmo__rng_uniform(r) * (hi - lo + 1));
}

enum kind { DOC, PHOTO, SCREEN, TEXT, A4, HUGE, BUNDLE, MULTI, LONG };

static vgmo_err add(vgmo__trace *t, vgmo__rng *r, enum kind k, double when)
{
	vgmo__trace_image img[24];
	const sized *s;
	uint32_t n = 1, text, out;
	double u = vgmo__rng_uniform(r);

	switch (k) {
	case DOC:
		n = u < 0.5 ? 1 : u < 0.8 ? 2 : 3;
		s = draw(r, pages, VGMO__ARRAY_LEN(pages));
		for (uint32_t i = 0; i < n; i++)
			img[i] = (vgmo__trace_image){s->w, s->h};
		text = uniform_int(r, 16, 160);
		out = uniform_int(r, 64, 512);
		break;
	case A4:
	case LONG:
		n = u < 0.7 ? 1 : u < 0.9 ? 2 : 4;
		s = draw(r, a4_pages, VGMO__ARRAY_LEN(a4_pages));
		for (uint32_t i = 0; i < n; i++)
			img[i] = (vgmo__trace_image){s->w, s->h};
		text = uniform_int(r, 24, 96);
		out = k == LONG ? uniform_int(r, 1000, 4000)
		                : uniform_int(r, 256, 1024);
		break;
	case HUGE:
		/* One to 24 600 dpi pages, or one panorama. */
		s = draw(r, huge, VGMO__ARRAY_LEN(huge));
		n = s->w > s->h ? 1 : uniform_int(r, 1, 24);
		for (uint32_t i = 0; i < n; i++)
			img[i] = (vgmo__trace_image){s->w, s->h};
		text = uniform_int(r, 32, 128);
		out = uniform_int(r, 256, 1024);
		break;
	case BUNDLE:
		n = uniform_int(r, 4, 8);
		for (uint32_t i = 0; i < n; i++)
			img[i] = (vgmo__trace_image){2480, 3508};
		text = uniform_int(r, 32, 128);
		out = uniform_int(r, 512, 1024);
		break;
	case MULTI:
		n = uniform_int(r, 4, 16);
		for (uint32_t i = 0; i < n; i++) {
			s = vgmo__rng_uniform(r) < 0.5
			            ? draw(r, pages, VGMO__ARRAY_LEN(pages))
			            : draw(r, photos, VGMO__ARRAY_LEN(photos));
			img[i] = (vgmo__trace_image){s->w, s->h};
		}
		text = uniform_int(r, 32, 256);
		out = uniform_int(r, 128, 512);
		break;
	case PHOTO:
		n = u < 0.9 ? 1 : 2;
		for (uint32_t i = 0; i < n; i++) {
			s = draw(r, photos, VGMO__ARRAY_LEN(photos));
			img[i] = (vgmo__trace_image){s->w, s->h};
		}
		text = uniform_int(r, 8, 48);
		out = uniform_int(r, 32, 160);
		break;
	case SCREEN:
		s = draw(r, screens, VGMO__ARRAY_LEN(screens));
		img[0] = (vgmo__trace_image){s->w, s->h};
		text = uniform_int(r, 20, 200);
		out = uniform_int(r, 64, 256);
		break;
	case TEXT:
	default:
		n = 0;
		text = uniform_int(r, 200, 2000);
		out = uniform_int(r, 128, 512);
		break;
	}
	return vgmo__trace_add_request(t, when, img, n, text, out);
}

static double ms(double t)
{
	return round(t * 1000.0) / 1000.0;
}

/* Requests per second at time t. */
static double rate_at(const char *name, double t, double duration)
{
	if (strcmp(name, "mixed") == 0) /* 25 s of 6/s, 15 s of 0.5/s */
		return fmod(t, 40.0) < 25.0 ? 6.0 : 0.5;
	if (strcmp(name, "idle-burst") == 0) {
		double f = t / duration;

		return f < 0.4 ? 0.02 : f < 0.6 ? 8.0 : 3.0;
	}
	return 3.0;
}

static enum kind pick_kind(vgmo__rng *r, const char *name, double t,
                           double duration, size_t i)
{
	double u = vgmo__rng_uniform(r);

	if (strcmp(name, "docs") == 0 || strcmp(name, "vision-heavy") == 0)
		return DOC;
	if (strcmp(name, "photos") == 0)
		return PHOTO;
	if (strcmp(name, "mixed") == 0)
		return u < 0.35   ? PHOTO
		       : u < 0.6  ? DOC
		       : u < 0.85 ? SCREEN
		                  : TEXT;
	if (strcmp(name, "doc-mix") == 0)
		return A4;
	if (strcmp(name, "huge-tail") == 0)
		return u < 0.03 ? HUGE : u < 0.5 ? DOC : PHOTO;
	if (strcmp(name, "long-outputs") == 0)
		return t < 0.5 * duration ? PHOTO : LONG;
	if (strcmp(name, "tiny-huge") == 0)
		return i % 2 ? BUNDLE : u < 0.5 ? TEXT : PHOTO;
	if (strcmp(name, "multi-image") == 0)
		return MULTI;
	return u < 0.5 ? DOC : PHOTO; /* drift, cotenant, bursts, leaks */
}

/* What other processes do, in fractions of the GPU's memory. */
static vgmo_err add_events(vgmo__trace *t, const char *name, double d)
{
	vgmo_err rc = VGMO_OK;

	if (strcmp(name, "drift") == 0)
		return vgmo__trace_add_event_fraction(t, ms(0.05 * d), 0.20,
		                                      ms(0.90 * d));
	if (strcmp(name, "cotenant") == 0) {
		/* Weights load in 10 s, then its cache grows for 30 s. */
		rc = vgmo__trace_add_event_fraction(t, ms(0.5 * d), 0.20, 10);
		if (rc == VGMO_OK)
			rc = vgmo__trace_add_event_fraction(t, ms(0.5 * d) + 10,
			                                    0.35, 30);
		return rc;
	}
	if (strcmp(name, "idle-burst") == 0) {
		rc = vgmo__trace_add_event_fraction(t, ms(0.3 * d), 0.60, 5);
		if (rc == VGMO_OK)
			rc = vgmo__trace_add_event_fraction(t, ms(0.8 * d), 0,
			                                    5);
		return rc;
	}
	if (strcmp(name, "flapping") == 0) {
		for (double at = 30; rc == VGMO_OK && at < d; at += 60)
			rc = vgmo__trace_add_event_fraction(
			        t, at, fmod(at, 120) < 60 ? 0.40 : 0, 2);
		return rc;
	}
	if (strcmp(name, "leak") == 0) {
		double f = 0;

		for (double at = 20; rc == VGMO_OK && at < d && f < 0.45;
		     at += 20) {
			f += 0.01;
			rc = vgmo__trace_add_event_fraction(t, at, f, 1);
		}
		return rc;
	}
	return VGMO_OK;
}

vgmo_err vgmo__trace_generate(vgmo__trace *t, const char *name, double duration,
                              uint64_t seed, char *err, size_t errlen)
{
	double when = 0;
	char known[512];
	size_t i = 0;
	vgmo__rng r;
	vgmo_err rc = VGMO_OK;

	vgmo__trace_init(t);
	if (name == NULL || vgmo__workload_about(name) == NULL)
		return vgmo__errf(
		        err, errlen, VGMO_ERR_NOT_FOUND,
		        "unknown workload \"%s\" (known: %s)", name ? name : "",
		        vgmo__join_names(names, known, sizeof(known)));
	if (!(duration > 0) || duration > 1e6)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "duration must be in (0, 1e6] seconds");
	/* Each workload's stream is its own: the name is part of the seed. */
	for (const char *p = name; *p; p++)
		seed = seed * 131 + (unsigned char)*p;
	vgmo__rng_seed(&r, seed);
	rc = add_events(t, name, duration);
	if (rc == VGMO_OK && strcmp(name, "vision-heavy") == 0)
		rc = vgmo__trace_set_truth(t, "vision_scale", 3.5, NULL, 0);
	while (rc == VGMO_OK) {
		when += -log(1.0 - vgmo__rng_uniform(&r)) /
		        rate_at(name, when, duration);
		if (when >= duration)
			break;
		rc = add(t, &r, pick_kind(&r, name, when, duration, i++),
		         ms(when));
	}
	if (rc != VGMO_OK) {
		vgmo__trace_free(t);
		return vgmo__errf(err, errlen, rc, "out of memory");
	}
	return VGMO_OK;
}
