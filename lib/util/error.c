/*
 * error.c - vgmo_strerror.
 */
#include "vgmo/vgmo.h"

static const char *const messages[VGMO_ERR__COUNT] = {
        [VGMO_OK] = "success",
        [VGMO_ERR_INVALID] = "invalid argument or value",
        [VGMO_ERR_NOMEM] = "out of memory",
        [VGMO_ERR_IO] = "input/output error",
        [VGMO_ERR_PARSE] = "malformed input",
        [VGMO_ERR_CONFIG] = "invalid configuration",
        [VGMO_ERR_BACKEND] = "GPU backend failure",
        [VGMO_ERR_NOT_FOUND] = "not found",
        [VGMO_ERR_UNSUPPORTED] = "not supported",
        [VGMO_ERR_DEVICE_LOST] = "device lost",
        [VGMO_ERR_LIBRARY] = "shared library could not be loaded",
        [VGMO_ERR_NO_DEVICE] = "no GPU device found",
        [VGMO_ERR_PERMISSION] = "permission denied",
        [VGMO_ERR_STATE] = "not allowed in the current state",
        [VGMO_ERR_TIMEOUT] = "operation timed out",
};

const char *vgmo_strerror(vgmo_err e)
{
	if ((int)e < 0 || e >= VGMO_ERR__COUNT || messages[e] == NULL)
		return "unknown error";
	return messages[e];
}
