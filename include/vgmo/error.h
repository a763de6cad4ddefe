/*
 * vgmo/error.h - the error codes and their messages.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_ERROR_H
#define VGMO_ERROR_H

#include "vgmo/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

typedef enum vgmo_err {
	VGMO_OK = 0,
	VGMO_ERR_INVALID,     /* an argument or value is out of range */
	VGMO_ERR_NOMEM,       /* out of memory */
	VGMO_ERR_IO,          /* file or socket error */
	VGMO_ERR_PARSE,       /* malformed input (JSON, number, ...) */
	VGMO_ERR_CONFIG,      /* configuration rejected by validation */
	VGMO_ERR_BACKEND,     /* the GPU backend failed */
	VGMO_ERR_NOT_FOUND,   /* no such device, worker or entry */
	VGMO_ERR_UNSUPPORTED, /* the device or backend does not support it */
	VGMO_ERR_DEVICE_LOST, /* the device stopped answering */
	VGMO_ERR_LIBRARY,     /* a shared library could not be loaded */
	VGMO_ERR_NO_DEVICE,   /* the backend reports no device */
	VGMO_ERR_PERMISSION,  /* permission denied */
	VGMO_ERR_STATE,       /* not allowed in the current state */
	VGMO_ERR_TIMEOUT,     /* a call took too long */
	VGMO_ERR__COUNT
} vgmo_err;

/* A static, never-NULL English description of `e`. */
VGMO_API const char *vgmo_strerror(vgmo_err e);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_ERROR_H */
