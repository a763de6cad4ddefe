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

static const char *const names[] = {"docs",  "photos",   "mixed",
                                    "drift", "cotenant", NULL};

static const char *const about[] = {
        "scanned pages, 1 to 3 per request, document questions",
        "camera and phone photos, 1 or 2 per request, captions",
        "bursts of photos, pages, screenshots and text-only prompts",
        "pages and photos while another process leaks memory slowly",
        "pages and photos; a second worker takes memory half way",
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

enum kind { DOC, PHOTO, SCREEN, TEXT };

static vgmo_err add(vgmo__trace *t, vgmo__rng *r, enum kind k, double when)
{
	vgmo__trace_image img[3];
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

/* Requests per second at time t of the bursty mix: 25 s of 6/s, then
 * 15 s of 0.5/s. */
static double mixed_rate(double t)
{
	return fmod(t, 40.0) < 25.0 ? 6.0 : 0.5;
}

static enum kind pick_kind(vgmo__rng *r, const char *name)
{
	double u = vgmo__rng_uniform(r);

	if (strcmp(name, "docs") == 0)
		return DOC;
	if (strcmp(name, "photos") == 0)
		return PHOTO;
	if (strcmp(name, "mixed") == 0)
		return u < 0.35   ? PHOTO
		       : u < 0.6  ? DOC
		       : u < 0.85 ? SCREEN
		                  : TEXT;
	return u < 0.5 ? DOC : PHOTO; /* drift, cotenant */
}

vgmo_err vgmo__trace_generate(vgmo__trace *t, const char *name, double duration,
                              uint64_t seed, uint64_t gpu_total, char *err,
                              size_t errlen)
{
	double total = (double)gpu_total, when = 0;
	bool mixed;
	vgmo__rng r;
	vgmo_err rc = VGMO_OK;

	vgmo__trace_init(t);
	if (name == NULL || vgmo__workload_about(name) == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
		                  "unknown workload \"%s\" (known: docs, "
		                  "photos, mixed, drift, cotenant)",
		                  name ? name : "");
	if (!(duration > 0) || duration > 1e6)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "duration must be in (0, 1e6] seconds");
	mixed = strcmp(name, "mixed") == 0;
	/* Each workload's stream is its own: the name is part of the seed. */
	for (const char *p = name; *p; p++)
		seed = seed * 131 + (unsigned char)*p;
	vgmo__rng_seed(&r, seed);
	if (strcmp(name, "drift") == 0) {
		rc = vgmo__trace_add_event(t, ms(0.05 * duration),
		                           round(0.20 * total),
		                           ms(0.90 * duration));
	} else if (strcmp(name, "cotenant") == 0) {
		/* Weights load in 10 s, then its cache grows for 30 s. */
		rc = vgmo__trace_add_event(t, ms(0.5 * duration),
		                           round(0.20 * total), 10);
		if (rc == VGMO_OK)
			rc = vgmo__trace_add_event(t, ms(0.5 * duration) + 10,
			                           round(0.35 * total), 30);
	}
	while (rc == VGMO_OK) {
		double rate = mixed ? mixed_rate(when) : 3.0;

		when += -log(1.0 - vgmo__rng_uniform(&r)) / rate;
		if (when >= duration)
			break;
		rc = add(t, &r, pick_kind(&r, name), ms(when));
	}
	if (rc != VGMO_OK) {
		vgmo__trace_free(t);
		return vgmo__errf(err, errlen, rc, "out of memory");
	}
	return VGMO_OK;
}
