/*
 * vgmo/common.h - the base every public header includes: the export macro, the
 * version, the units. Part of the public API: include vgmo/vgmo.h, which
 * includes every part.
 */

#ifndef VGMO_COMMON_H
#define VGMO_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define VGMO_API __attribute__((visibility("default")))
#else
#define VGMO_API
#endif

#define VGMO_VERSION "0.1.0"

/* Sizes are bytes everywhere; the seed's *_mb fields and JSON keys hold
 * MiB (of VGMO_MIB bytes). */
#define VGMO_MIB (UINT64_C(1) << 20)
#define VGMO_GIB (UINT64_C(1) << 30)

/* A client that has not reported for this long is unhealthy, and dropped
 * after twice as long (vgmo_engine_options.lease_seconds 0). */
#define VGMO_DEFAULT_LEASE_SECONDS 30.0

#endif /* VGMO_COMMON_H */
