/*
 * nvml_loader.c - finds libnvidia-ml at run time and resolves the NVML entry
 * points vgmo uses, newest symbol version first.
 */
#include "nvml_abi.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

_Static_assert(sizeof(vgmo__nvml_memory_v1) == 24, "nvmlMemory_t");
_Static_assert(sizeof(vgmo__nvml_memory_v2) == 40, "nvmlMemory_v2_t");
_Static_assert(offsetof(vgmo__nvml_memory_v2, used) == 32, "v2 used");
_Static_assert(VGMO__NVML_MEMORY_V2_VERSION == 0x02000028u, "v2 version");
_Static_assert(sizeof(vgmo__nvml_utilization) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(vgmo__nvml_process_v1) == 16, "nvmlProcessInfo_v1_t");
_Static_assert(sizeof(vgmo__nvml_process_v2) == 24, "nvmlProcessInfo_v2_t");
_Static_assert(sizeof(vgmo__nvml_pci_v3) == 68, "nvmlPciInfo_t (v3)");
_Static_assert(sizeof(vgmo__nvml_pci_v1) == 52, "nvmlPciInfo_t (v1/v2)");

#define DEFAULT_LIBRARY "libnvidia-ml.so.1"
#define FALLBACK_LIBRARY "libnvidia-ml.so"

/* dlsym of the first of `names` (NULL-terminated) the library has; `*which`
 * (may be NULL) receives its position. NULL when none is there. */
static void *first_symbol(void *dl, const char *const *names, int *which)
{
	for (int i = 0; names[i] != NULL; i++) {
		void *p = dlsym(dl, names[i]);

		if (p != NULL) {
			if (which)
				*which = i;
			return p;
		}
	}
	return NULL;
}

static void *symbol(void *dl, const char *name)
{
	const char *const names[] = {name, NULL};

	return first_symbol(dl, names, NULL);
}

/* One line from dlerror(): the text is copied and cut at a newline. */
static void dl_reason(char *buf, size_t size)
{
	const char *e = dlerror();

	vgmo__strlcpy(buf, e ? e : "unknown error", size);
	buf[strcspn(buf, "\r\n")] = '\0';
}

static int looks_missing(const char *name, const char *reason)
{
	if (strchr(name, '/') != NULL)
		return access(name, F_OK) != 0;
	return strstr(reason, "No such file") != NULL;
}

static vgmo_err open_library(vgmo__nvml_lib *lib, const char *path, char *err,
                             size_t errlen)
{
	char reason[256];

	if (path != NULL) {
		lib->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (lib->dl == NULL) {
			dl_reason(reason, sizeof(reason));
			if (looks_missing(path, reason))
				return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
				                  "NVML: %s not found", path);
			return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
			                  "NVML: cannot load %s: %s", path,
			                  reason);
		}
		vgmo__strlcpy(lib->path, path, sizeof(lib->path));
		return VGMO_OK;
	}
	lib->dl = dlopen(DEFAULT_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (lib->dl != NULL) {
		vgmo__strlcpy(lib->path, DEFAULT_LIBRARY, sizeof(lib->path));
		return VGMO_OK;
	}
	dl_reason(reason, sizeof(reason));
	lib->dl = dlopen(FALLBACK_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (lib->dl != NULL) {
		vgmo__strlcpy(lib->path, FALLBACK_LIBRARY, sizeof(lib->path));
		return VGMO_OK;
	}
	if (looks_missing(DEFAULT_LIBRARY, reason))
		return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                  "NVML: %s not found", DEFAULT_LIBRARY);
	return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
	                  "NVML: cannot load %s: %s", DEFAULT_LIBRARY, reason);
}

/* The API version a symbol list position stands for: lists run newest
 * first, so position 0 of a three-entry list is version 3. */
static int api_of(int which, int listed)
{
	return listed - which;
}

static void resolve_optional(vgmo__nvml_lib *lib)
{
	static const char *const pci[] = {"nvmlDeviceGetPciInfo_v3",
	                                  "nvmlDeviceGetPciInfo_v2",
	                                  "nvmlDeviceGetPciInfo", NULL};
	static const char *const mem[] = {"nvmlDeviceGetMemoryInfo_v2", NULL};
	static const char *const procs[] = {
	        "nvmlDeviceGetComputeRunningProcesses_v3",
	        "nvmlDeviceGetComputeRunningProcesses_v2",
	        "nvmlDeviceGetComputeRunningProcesses", NULL};
	void *dl = lib->dl;
	int which = 0;

	lib->error_string =
	        (const char *(*)(vgmo__nvml_ret))symbol(dl, "nvmlErrorString");
	lib->name = (vgmo__nvml_ret(*)(vgmo__nvml_device, char *, unsigned int))
	        symbol(dl, "nvmlDeviceGetName");
	lib->uuid = (vgmo__nvml_ret(*)(vgmo__nvml_device, char *, unsigned int))
	        symbol(dl, "nvmlDeviceGetUUID");
	lib->pci = (vgmo__nvml_ret(*)(vgmo__nvml_device,
	                              vgmo__nvml_pci *))first_symbol(dl, pci,
	                                                             &which);
	lib->pci_api = lib->pci ? api_of(which, 3) : 0;
	lib->memory_v2 = (vgmo__nvml_ret(*)(
	        vgmo__nvml_device, vgmo__nvml_memory_v2 *))first_symbol(dl, mem,
	                                                                NULL);
	lib->memory_v1 =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, vgmo__nvml_memory_v1 *))
	                symbol(dl, "nvmlDeviceGetMemoryInfo");
	lib->utilization =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, vgmo__nvml_utilization *))
	                symbol(dl, "nvmlDeviceGetUtilizationRates");
	lib->temperature =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, int, unsigned int *))
	                symbol(dl, "nvmlDeviceGetTemperature");
	lib->power =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned int *))symbol(
	                dl, "nvmlDeviceGetPowerUsage");
	lib->energy =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned long long *))
	                symbol(dl, "nvmlDeviceGetTotalEnergyConsumption");
	lib->processes =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned int *,
	                           void *))first_symbol(dl, procs, &which);
	lib->procs_api = lib->processes ? api_of(which, 3) : 0;
	lib->procs_stride = lib->procs_api >= 2 ? sizeof(vgmo__nvml_process_v2)
	                                        : sizeof(vgmo__nvml_process_v1);
	lib->mig_mode = (vgmo__nvml_ret(*)(
	        vgmo__nvml_device, unsigned int *,
	        unsigned int *))symbol(dl, "nvmlDeviceGetMigMode");
	lib->mig_max =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned int *))symbol(
	                dl, "nvmlDeviceGetMaxMigDeviceCount");
	lib->mig_handle = (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned int,
	                                     vgmo__nvml_device *))
	        symbol(dl, "nvmlDeviceGetMigDeviceHandleByIndex");
}

static vgmo_err resolve_required(vgmo__nvml_lib *lib, char *err, size_t errlen)
{
	static const char *const init[] = {"nvmlInit_v2", "nvmlInit", NULL};
	static const char *const count[] = {"nvmlDeviceGetCount_v2",
	                                    "nvmlDeviceGetCount", NULL};
	static const char *const handle[] = {"nvmlDeviceGetHandleByIndex_v2",
	                                     "nvmlDeviceGetHandleByIndex",
	                                     NULL};
	void *dl = lib->dl;
	const char *lacking = NULL;
	int which = 0;

	lib->init = (vgmo__nvml_ret(*)(void))first_symbol(dl, init, &which);
	lib->init_api = api_of(which, 2);
	lib->shutdown = (vgmo__nvml_ret(*)(void))symbol(dl, "nvmlShutdown");
	lib->device_count = (vgmo__nvml_ret(*)(unsigned int *))first_symbol(
	        dl, count, NULL);
	lib->device_handle = (vgmo__nvml_ret(*)(
	        unsigned int, vgmo__nvml_device *))first_symbol(dl, handle,
	                                                        NULL);
	if (lib->init == NULL)
		lacking = "nvmlInit";
	else if (lib->shutdown == NULL)
		lacking = "nvmlShutdown";
	else if (lib->device_count == NULL)
		lacking = "nvmlDeviceGetCount";
	else if (lib->device_handle == NULL)
		lacking = "nvmlDeviceGetHandleByIndex";
	if (lacking != NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                  "NVML: %s lacks %s", lib->path, lacking);
	return VGMO_OK;
}

vgmo_err vgmo__nvml_load(vgmo__nvml_lib *lib, const char *path, char *err,
                         size_t errlen)
{
	vgmo_err rc;

	memset(lib, 0, sizeof(*lib));
	atomic_init(&lib->inits, 0);
	if (path == NULL || path[0] == '\0')
		path = getenv("VGMO_NVML_LIBRARY");
	if (path != NULL && path[0] == '\0')
		path = NULL;
	rc = open_library(lib, path, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	rc = resolve_required(lib, err, errlen);
	if (rc != VGMO_OK)
		goto fail_close;
	resolve_optional(lib);
	return VGMO_OK;

fail_close:
	dlclose(lib->dl);
	lib->dl = NULL;
	return rc;
}

vgmo__nvml_ret vgmo__nvml_init(vgmo__nvml_lib *lib)
{
	vgmo__nvml_ret ret = lib->init();

	if (ret == VGMO__NVML_SUCCESS)
		atomic_fetch_add(&lib->inits, 1);
	return ret;
}

void vgmo__nvml_unload(vgmo__nvml_lib *lib)
{
	unsigned n;

	if (lib->dl == NULL)
		return;
	n = atomic_exchange(&lib->inits, 0);
	while (n-- > 0)
		lib->shutdown();
	dlclose(lib->dl);
	lib->dl = NULL;
}

static const char *builtin_text(vgmo__nvml_ret ret)
{
	switch (ret) {
	case VGMO__NVML_SUCCESS:
		return "Success";
	case VGMO__NVML_ERROR_UNINITIALIZED:
		return "Uninitialized";
	case VGMO__NVML_ERROR_INVALID_ARGUMENT:
		return "Invalid Argument";
	case VGMO__NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case VGMO__NVML_ERROR_NO_PERMISSION:
		return "Insufficient Permissions";
	case VGMO__NVML_ERROR_NOT_FOUND:
		return "Not Found";
	case VGMO__NVML_ERROR_INSUFFICIENT_SIZE:
		return "Insufficient Size";
	case VGMO__NVML_ERROR_DRIVER_NOT_LOADED:
		return "Driver Not Loaded";
	case VGMO__NVML_ERROR_TIMEOUT:
		return "Timeout";
	case VGMO__NVML_ERROR_LIBRARY_NOT_FOUND:
		return "NVML Shared Library Not Found";
	case VGMO__NVML_ERROR_FUNCTION_NOT_FOUND:
		return "Function Not Found";
	case VGMO__NVML_ERROR_GPU_IS_LOST:
		return "GPU is lost";
	case VGMO__NVML_ERROR_RESET_REQUIRED:
		return "GPU requires reset";
	case VGMO__NVML_ERROR_OPERATING_SYSTEM:
		return "Operating System Error";
	case VGMO__NVML_ERROR_LIB_RM_VERSION_MISMATCH:
		return "Driver/library version mismatch";
	case VGMO__NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
		return "Argument version mismatch";
	case VGMO__NVML_ERROR_GPU_NOT_FOUND:
		return "GPU not found";
	default:
		return "Unknown Error";
	}
}

const char *vgmo__nvml_strerror(const vgmo__nvml_lib *lib, vgmo__nvml_ret ret)
{
	const char *s = NULL;

	if (lib != NULL && lib->error_string != NULL)
		s = lib->error_string(ret);
	return s != NULL && s[0] != '\0' ? s : builtin_text(ret);
}

int vgmo__nvml_is_lifecycle(vgmo__nvml_ret ret)
{
	switch (ret) {
	case VGMO__NVML_ERROR_UNINITIALIZED:
	case VGMO__NVML_ERROR_DRIVER_NOT_LOADED:
	case VGMO__NVML_ERROR_GPU_IS_LOST:
	case VGMO__NVML_ERROR_RESET_REQUIRED:
	case VGMO__NVML_ERROR_LIB_RM_VERSION_MISMATCH:
	case VGMO__NVML_ERROR_GPU_NOT_FOUND:
		return 1;
	default:
		return 0;
	}
}
