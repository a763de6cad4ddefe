/*
 * util.h - small internal helpers shared by the library's modules.
 */
#ifndef VGMO_LIB_UTIL_H
#define VGMO_LIB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

#define VGMO__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VGMO__MIB VGMO_MIB
#define VGMO__GIB (UINT64_C(1) << 30)

/* printf into a caller's error buffer (NULL/0 tolerated); returns `code`. */
vgmo_err vgmo__errf(char *err, size_t errlen, vgmo_err code, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Copies with truncation; always NUL-terminates when size > 0. */
void vgmo__strlcpy(char *dst, const char *src, size_t size);

/* "a, b, c": a NULL-terminated list of names joined into `buf` (as many
 * as fit); returns `buf`. */
const char *vgmo__join_names(const char *const *names, char *buf, size_t size);

/* A worker's or client's name: 1 to VGMO__NAME_MAX characters of
 * [A-Za-z0-9._-] (`n` bytes of `s`). The C client checks it before it
 * asks; the daemon's parser refuses any other. */
#define VGMO__NAME_MAX 63
bool vgmo__name_ok(const char *s, size_t n);

/* Real clocks, in seconds. */
double vgmo__mono_now(void);
double vgmo__wall_now(void);

/* Writes `len` bytes to `path` atomically: a temp file beside it, fsync,
 * rename over `path`, fsync the directory. On error nothing at `path`
 * changes and the temp file is removed. (atomic_file.c) */
vgmo_err vgmo__write_file_atomic(const char *path, const void *data, size_t len,
                                 char *err, size_t errlen);

/* Reads a whole file (at most `max` bytes) into a NUL-terminated buffer the
 * caller frees. (atomic_file.c) */
vgmo_err vgmo__read_file(const char *path, size_t max, char **out,
                         size_t *len_out, char *err, size_t errlen);
/* The same, with VGMO__READ_* flags: REGULAR refuses anything but a
 * regular file (a FIFO without waiting for a writer, a device);
 * NOFOLLOW refuses a symbolic link as the last component. */
#define VGMO__READ_REGULAR 1u
#define VGMO__READ_NOFOLLOW 2u
vgmo_err vgmo__read_file_ex(const char *path, size_t max, unsigned flags,
                            char **out, size_t *len_out, char *err,
                            size_t errlen);

/* A small deterministic PRNG (splitmix64 seeding xoshiro256**). */
typedef struct vgmo__rng {
	uint64_t s[4];
} vgmo__rng;
void vgmo__rng_seed(vgmo__rng *r, uint64_t seed);
uint64_t vgmo__rng_next(vgmo__rng *r);
double vgmo__rng_uniform(vgmo__rng *r); /* [0, 1) */
double vgmo__rng_normal(vgmo__rng *r);  /* mean 0, sd 1 */

#endif
