/*
 * trace.h - workload traces: requests that arrive over time, each with its
 * images and text, and changes of the memory other processes hold on the
 * GPU (internal). The file format is JSON Lines (docs/traces.md):
 *
 *   {"t": 0.125, "images": [[1700, 2200]], "text_tokens": 64,
 *    "output_tokens": 256}
 *   {"t": 150, "external_bytes": 17179869184, "ramp": 10}
 *   {"t": 300, "external_fraction": 0.6, "ramp": 5}
 *   {"truth": {"vision_scale": 3.0}}
 *
 * A memory event gives what other processes hold in bytes, or as a
 * fraction of the GPU's memory (so one trace runs on every GPU). A
 * "truth" line sets parameters of the benchmark's truth model
 * (vlm_truth.h) for this trace: a workload whose real costs depart from
 * the defaults.
 * Built-in generators (trace_gen.c) make the named workloads.
 */
#ifndef VGMO_LIB_TRACE_H
#define VGMO_LIB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vgmo/vgmo.h"

#define VGMO__TRACE_MAX_IMAGES 64      /* per request */
#define VGMO__TRACE_MAX_EDGE 100000    /* pixels */
#define VGMO__TRACE_MAX_TOKENS 1000000 /* text or output, per request */
#define VGMO__TRACE_FILE_MAX (256u * 1024u * 1024u) /* bytes */
#define VGMO__TRACE_DEFAULT_OUTPUT 256
/* external_bytes: held as a double, exact up to 2^53. */
#define VGMO__TRACE_MAX_BYTES (1LL << 53)

typedef struct vgmo__trace_image {
	uint32_t w, h;
} vgmo__trace_image;

typedef struct vgmo__trace_req {
	double t;             /* arrival, seconds from the start */
	uint32_t first_image; /* index into vgmo__trace.img */
	uint32_t nimages;
	uint32_t text_tokens;
	uint32_t output_tokens; /* most tokens it may generate */
} vgmo__trace_req;

/* From `t`, the memory other processes hold moves linearly to `bytes`
 * (or to `bytes` x the GPU's memory when `fraction`) over `ramp` seconds
 * (0: at once). */
typedef struct vgmo__trace_event {
	double t;
	double bytes;
	double ramp;
	bool fraction;
} vgmo__trace_event;

#define VGMO__TRACE_MAX_TRUTH 16

/* A truth parameter the trace sets. */
typedef struct vgmo__trace_truth {
	char key[32];
	double value;
} vgmo__trace_truth;

typedef struct vgmo__trace {
	vgmo__trace_req *req;
	size_t nreq, req_cap;
	vgmo__trace_image *img;
	size_t nimg, img_cap;
	vgmo__trace_event *ev;
	size_t nev, ev_cap;
	vgmo__trace_truth truth[VGMO__TRACE_MAX_TRUTH];
	size_t ntruth;
} vgmo__trace;

void vgmo__trace_init(vgmo__trace *t);
void vgmo__trace_free(vgmo__trace *t);

/* Appends; images are copied. VGMO_ERR_NOMEM on failure. */
vgmo_err vgmo__trace_add_request(vgmo__trace *t, double when,
                                 const vgmo__trace_image *images, uint32_t n,
                                 uint32_t text_tokens, uint32_t output_tokens);
vgmo_err vgmo__trace_add_event(vgmo__trace *t, double when, double bytes,
                               double ramp);
/* An event in a fraction (0..1) of the GPU's memory. */
vgmo_err vgmo__trace_add_event_fraction(vgmo__trace *t, double when,
                                        double fraction, double ramp);
/* Sets (or replaces) a truth parameter; VGMO_ERR_INVALID for an unknown
 * key or a value out of its range (`err` says which), VGMO_ERR_NOMEM
 * past VGMO__TRACE_MAX_TRUTH. */
vgmo_err vgmo__trace_set_truth(vgmo__trace *t, const char *key, double value,
                               char *err, size_t errlen);

/* Parses JSON Lines into an empty trace. On error the trace is left empty
 * and `err` reads "SOURCE:LINE: field \"NAME\": reason". */
vgmo_err vgmo__trace_parse(vgmo__trace *t, const char *text, size_t len,
                           const char *source, char *err, size_t errlen);
vgmo_err vgmo__trace_load(vgmo__trace *t, const char *path, char *err,
                          size_t errlen);
/* Writes the trace as JSON Lines, events and requests in time order. */
vgmo_err vgmo__trace_write(const vgmo__trace *t, FILE *f);

/* Bytes other processes hold at time `when` on a GPU of `total` bytes. */
double vgmo__trace_external(const vgmo__trace *t, double when, double total);

/* Built-in workloads, NULL-terminated; a one-line description of each. */
const char *const *vgmo__workloads(void);
const char *vgmo__workload_about(const char *name);

/* Generates workload `name` for `duration` seconds (memory events in
 * fractions of the GPU's memory). Deterministic for a seed. */
vgmo_err vgmo__trace_generate(vgmo__trace *t, const char *name, double duration,
                              uint64_t seed, char *err, size_t errlen);

#endif
