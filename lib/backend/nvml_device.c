/*
 * nvml_device.c - reads one NVML device (GPU or MIG device) into a
 * vgmo_gpu_sample, and keeps its down / back-off / recovery state.
 */
#include "nvml_device.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static int is_global_fault(vgmo__nvml_ret ret)
{
	return ret == VGMO__NVML_ERROR_UNINITIALIZED ||
	       ret == VGMO__NVML_ERROR_DRIVER_NOT_LOADED ||
	       ret == VGMO__NVML_ERROR_LIB_RM_VERSION_MISMATCH;
}

/* True when `ret` means the entry is gone rather than one field missing.
 * A MIG device whose instance was destroyed answers NOT_FOUND or
 * INVALID_ARGUMENT on its stale handle. */
static int is_gone(const vgmo__nvml_entry *e, vgmo__nvml_ret ret)
{
	if (vgmo__nvml_is_lifecycle(ret))
		return 1;
	return e->mig_slot >= 0 && (ret == VGMO__NVML_ERROR_NOT_FOUND ||
	                            ret == VGMO__NVML_ERROR_INVALID_ARGUMENT);
}

/* Marks the entry down after `ret`: the first failure waits
 * VGMO__NVML_BACKOFF_FIRST, each failed retry doubles the wait up to
 * VGMO__NVML_BACKOFF_MAX. */
static void note_failure(const vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                         vgmo__nvml_ret ret, double now)
{
	if (!e->down)
		e->backoff = VGMO__NVML_BACKOFF_FIRST;
	else if (e->backoff * 2 < VGMO__NVML_BACKOFF_MAX)
		e->backoff *= 2;
	else
		e->backoff = VGMO__NVML_BACKOFF_MAX;
	e->down = true;
	e->handle = NULL;
	e->retry_at = now + e->backoff;
	snprintf(e->down_reason, sizeof(e->down_reason), "%s (NVML error %d)",
	         vgmo__nvml_strerror(lib, ret), ret);
}

static vgmo__nvml_ret get_handle(vgmo__nvml_lib *lib, vgmo__nvml_entry *e)
{
	vgmo__nvml_device gpu = NULL;
	vgmo__nvml_device mig = NULL;
	vgmo__nvml_ret ret;

	ret = lib->device_handle(e->phys, &gpu);
	if (is_global_fault(ret) && vgmo__nvml_init(lib) == VGMO__NVML_SUCCESS)
		ret = lib->device_handle(e->phys, &gpu);
	if (ret != VGMO__NVML_SUCCESS)
		return ret;
	if (e->mig_slot < 0) {
		e->handle = gpu;
		return VGMO__NVML_SUCCESS;
	}
	if (lib->mig_handle == NULL)
		return VGMO__NVML_ERROR_NOT_SUPPORTED;
	ret = lib->mig_handle(gpu, (unsigned)e->mig_slot, &mig);
	if (ret == VGMO__NVML_SUCCESS)
		e->handle = mig;
	return ret;
}

/* Copies a fixed-size char field that the driver may not NUL-terminate. */
static void copy_field(char *dst, size_t dstsize, const char *src,
                       size_t srcsize)
{
	size_t n = strnlen(src, srcsize);

	if (n >= dstsize)
		n = dstsize - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static vgmo__nvml_ret read_identity(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                                    const char *pci_parent)
{
	char buf[VGMO__NVML_NAME_BUFFER];
	vgmo__nvml_pci pci;
	vgmo__nvml_ret ret;

	if (lib->name != NULL) {
		memset(buf, 0, sizeof(buf));
		ret = lib->name(e->handle, buf, sizeof(buf));
		if (ret == VGMO__NVML_SUCCESS)
			copy_field(e->name, sizeof(e->name), buf, sizeof(buf));
		else if (is_gone(e, ret))
			return ret;
	}
	if (lib->uuid != NULL) {
		memset(buf, 0, sizeof(buf));
		ret = lib->uuid(e->handle, buf, sizeof(buf));
		if (ret == VGMO__NVML_SUCCESS)
			copy_field(e->uuid, sizeof(e->uuid), buf, sizeof(buf));
		else if (is_gone(e, ret))
			return ret;
	}
	if (lib->pci != NULL) {
		memset(&pci, 0, sizeof(pci));
		ret = lib->pci(e->handle, &pci);
		if (ret == VGMO__NVML_SUCCESS && lib->pci_api >= 3)
			copy_field(e->pci_bus_id, sizeof(e->pci_bus_id),
			           pci.v3.bus_id, sizeof(pci.v3.bus_id));
		else if (ret == VGMO__NVML_SUCCESS)
			copy_field(e->pci_bus_id, sizeof(e->pci_bus_id),
			           pci.v1.bus_id, sizeof(pci.v1.bus_id));
		else if (is_gone(e, ret))
			return ret;
	}
	/* A MIG device sits on its GPU's bus. */
	if (e->pci_bus_id[0] == '\0' && pci_parent != NULL)
		vgmo__strlcpy(e->pci_bus_id, pci_parent, sizeof(e->pci_bus_id));
	return VGMO__NVML_SUCCESS;
}

vgmo__nvml_ret vgmo__nvml_entry_acquire(vgmo__nvml_lib *lib,
                                        vgmo__nvml_entry *e,
                                        const char *pci_parent, double now)
{
	vgmo__nvml_ret ret = get_handle(lib, e);

	if (ret == VGMO__NVML_SUCCESS)
		ret = read_identity(lib, e, pci_parent);
	if (ret != VGMO__NVML_SUCCESS) {
		note_failure(lib, e, ret, now);
		return ret;
	}
	e->down = false;
	e->down_reason[0] = '\0';
	e->backoff = 0;
	e->memory_api = 0;
	return VGMO__NVML_SUCCESS;
}

static vgmo__nvml_ret read_memory(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                                  vgmo_gpu_sample *out)
{
	vgmo__nvml_memory_v1 m1;
	vgmo__nvml_ret ret;

	if (e->memory_api == 0 && lib->memory_v2 != NULL) {
		vgmo__nvml_memory_v2 m2;

		memset(&m2, 0, sizeof(m2));
		m2.version = VGMO__NVML_MEMORY_V2_VERSION;
		ret = lib->memory_v2(e->handle, &m2);
		if (ret == VGMO__NVML_SUCCESS) {
			out->memory_total = m2.total;
			out->memory_used = m2.used;
			out->memory_free = m2.free;
			out->memory_reserved = m2.reserved;
			out->memory_api = 2;
			out->present |= VGMO_HAS_MEMORY | VGMO_HAS_RESERVED;
			return ret;
		}
		if (ret != VGMO__NVML_ERROR_FUNCTION_NOT_FOUND &&
		    ret != VGMO__NVML_ERROR_ARGUMENT_VERSION_MISMATCH &&
		    ret != VGMO__NVML_ERROR_NOT_SUPPORTED)
			return ret;
		/* This driver exports v2 but refuses it: v1 from now on. */
		e->memory_api = 1;
	}
	if (lib->memory_v1 == NULL)
		return VGMO__NVML_ERROR_FUNCTION_NOT_FOUND;
	memset(&m1, 0, sizeof(m1));
	ret = lib->memory_v1(e->handle, &m1);
	if (ret == VGMO__NVML_SUCCESS) {
		out->memory_total = m1.total;
		out->memory_used = m1.used; /* includes reserved */
		out->memory_free = m1.free;
		out->memory_api = 1;
		out->present |= VGMO_HAS_MEMORY;
	}
	return ret;
}

static vgmo__nvml_ret read_utilization(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                                       vgmo_gpu_sample *out)
{
	vgmo__nvml_utilization u = {0, 0};
	vgmo__nvml_ret ret;

	if (lib->utilization == NULL)
		return VGMO__NVML_ERROR_FUNCTION_NOT_FOUND;
	ret = lib->utilization(e->handle, &u);
	if (ret == VGMO__NVML_SUCCESS && u.gpu <= 100) {
		out->utilization = u.gpu / 100.0;
		out->present |= VGMO_HAS_UTILIZATION;
	}
	return ret;
}

static vgmo__nvml_ret read_sensors(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                                   vgmo_gpu_sample *out)
{
	unsigned int v = 0;
	unsigned long long mj = 0;
	vgmo__nvml_ret ret;

	if (lib->temperature != NULL) {
		ret = lib->temperature(e->handle, VGMO__NVML_TEMPERATURE_GPU,
		                       &v);
		if (ret == VGMO__NVML_SUCCESS) {
			out->temperature_c = v;
			out->present |= VGMO_HAS_TEMPERATURE;
		} else if (is_gone(e, ret)) {
			return ret;
		}
	}
	if (lib->power != NULL) {
		ret = lib->power(e->handle, &v);
		if (ret == VGMO__NVML_SUCCESS) {
			out->power_w = v / 1000.0; /* milliwatts */
			out->present |= VGMO_HAS_POWER;
		} else if (is_gone(e, ret)) {
			return ret;
		}
	}
	if (lib->energy != NULL) {
		ret = lib->energy(e->handle, &mj);
		if (ret == VGMO__NVML_SUCCESS) {
			out->energy_j = mj / 1000.0; /* millijoules */
			out->present |= VGMO_HAS_ENERGY;
		} else if (is_gone(e, ret)) {
			return ret;
		}
	}
	return VGMO__NVML_SUCCESS;
}

static vgmo__nvml_ret read_mig_mode(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                                    vgmo_gpu_sample *out)
{
	unsigned int current = 0;
	unsigned int pending = 0;
	vgmo__nvml_ret ret;

	if (lib->mig_mode == NULL || e->mig_slot >= 0)
		return VGMO__NVML_ERROR_NOT_SUPPORTED;
	ret = lib->mig_mode(e->handle, &current, &pending);
	if (ret == VGMO__NVML_SUCCESS) {
		out->mig_enabled = current == VGMO__NVML_DEVICE_MIG_ENABLE;
		out->present |= VGMO_HAS_MIG_MODE;
	}
	return ret;
}

/* "" when the process is gone or not visible. NVML reports pids of the
 * host's pid namespace: inside a container without it, a pid may be
 * missing from /proc, or, rarely, name an unrelated process. */
static void process_name(unsigned pid, char *buf, size_t size)
{
	char path[32];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Makes room for `cap` entries of the widest known stride. */
static int grow_procs(vgmo__nvml_entry *e, unsigned cap)
{
	unsigned char *p;

	p = realloc(e->procs, (size_t)cap * VGMO__NVML_PROCESS_MAX_STRIDE);
	if (p == NULL)
		return -1;
	e->procs = p;
	e->procs_cap = cap;
	return 0;
}

/* The name of `pid`: from the last sample's list while fresh, else from
 * /proc; *read_at says when it was read. */
static void name_of(const vgmo__nvml_entry *e, unsigned pid, double now,
                    char *buf, size_t size, double *read_at)
{
	for (unsigned j = 0; j < e->nnames; j++) {
		const vgmo__nvml_pname *c = &e->names[j];

		if (c->pid == pid && now >= c->read_at &&
		    now - c->read_at < VGMO__NVML_NAME_TTL) {
			vgmo__strlcpy(buf, c->name, size);
			*read_at = c->read_at;
			return;
		}
	}
	process_name(pid, buf, size);
	*read_at = now;
}

static void fill_processes(const vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                           unsigned n, double now, vgmo_gpu_sample *out)
{
	double read_at[VGMO_MAX_PROCS];
	unsigned k = 0;

	for (unsigned i = 0; i < n && k < VGMO_MAX_PROCS; i++) {
		const unsigned char *p =
		        e->procs + (size_t)i * lib->procs_stride;
		vgmo_gpu_process *dst = &out->processes[k];
		unsigned int pid;
		unsigned long long used;

		memcpy(&pid, p + offsetof(vgmo__nvml_process_v1, pid),
		       sizeof(pid));
		memcpy(&used,
		       p + offsetof(vgmo__nvml_process_v1, used_gpu_memory),
		       sizeof(used));
		if (pid == 0)
			continue;
		dst->pid = pid;
		dst->used_bytes = used; /* NVML_VALUE_NOT_AVAILABLE: ~0 */
		name_of(e, pid, now, dst->name, sizeof(dst->name), &read_at[k]);
		k++;
	}
	for (unsigned j = 0; j < k; j++) {
		e->names[j].pid = out->processes[j].pid;
		e->names[j].read_at = read_at[j];
		vgmo__strlcpy(e->names[j].name, out->processes[j].name,
		              sizeof(e->names[j].name));
	}
	e->nnames = k;
	out->process_count = k;
	out->process_total = n;
	out->present |= VGMO_HAS_PROCESSES;
}

/* Grow-and-retry: INSUFFICIENT_SIZE tells how many entries are needed. */
static vgmo__nvml_ret read_processes(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                                     double now, vgmo_gpu_sample *out)
{
	vgmo__nvml_ret ret = VGMO__NVML_ERROR_INSUFFICIENT_SIZE;

	if (lib->processes == NULL)
		return VGMO__NVML_ERROR_FUNCTION_NOT_FOUND;
	if (e->procs == NULL && grow_procs(e, VGMO__NVML_PROCS_FIRST) != 0)
		return VGMO__NVML_ERROR_UNKNOWN;
	for (int attempt = 0; attempt < 4; attempt++) {
		unsigned int n = e->procs_cap;
		unsigned want;

		ret = lib->processes(e->handle, &n, e->procs);
		if (ret == VGMO__NVML_SUCCESS) {
			if (n > e->procs_cap)
				return VGMO__NVML_ERROR_UNKNOWN; /* bogus count
				                                  */
			fill_processes(lib, e, n, now, out);
			return ret;
		}
		if (ret != VGMO__NVML_ERROR_INSUFFICIENT_SIZE)
			return ret;
		if (e->procs_cap >= VGMO__NVML_PROCS_LIMIT)
			return ret;
		want = n > e->procs_cap ? n + n / 4 + 4 : e->procs_cap * 2;
		if (want > VGMO__NVML_PROCS_LIMIT)
			want = VGMO__NVML_PROCS_LIMIT;
		if (grow_procs(e, want) != 0)
			return ret;
	}
	return ret;
}

static void fill_common(const vgmo__nvml_entry *e, vgmo_gpu_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->index = e->index;
	out->parent = e->parent;
	vgmo__strlcpy(out->name, e->name, sizeof(out->name));
	vgmo__strlcpy(out->uuid, e->uuid, sizeof(out->uuid));
	vgmo__strlcpy(out->pci_bus_id, e->pci_bus_id, sizeof(out->pci_bus_id));
	if (e->pci_bus_id[0] != '\0')
		out->present |= VGMO_HAS_PCI;
	out->up = true;
}

static vgmo_err report_down(const vgmo__nvml_entry *e, vgmo_gpu_sample *out)
{
	fill_common(e, out);
	out->up = false;
	vgmo__strlcpy(out->down_reason, e->down_reason,
	              sizeof(out->down_reason));
	return VGMO_ERR_DEVICE_LOST;
}

vgmo_err vgmo__nvml_entry_read(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                               double now, vgmo_gpu_sample *out)
{
	vgmo__nvml_ret ret;

	if (e->down) {
		if (now < e->retry_at)
			return report_down(e, out);
		if (vgmo__nvml_entry_acquire(lib, e, NULL, now) !=
		    VGMO__NVML_SUCCESS)
			return report_down(e, out);
	}
	fill_common(e, out);
	ret = read_memory(lib, e, out);
	if (is_gone(e, ret))
		goto lost;
	ret = read_utilization(lib, e, out);
	if (is_gone(e, ret))
		goto lost;
	ret = read_sensors(lib, e, out);
	if (is_gone(e, ret))
		goto lost;
	ret = read_processes(lib, e, now, out);
	if (is_gone(e, ret))
		goto lost;
	ret = read_mig_mode(lib, e, out);
	if (is_gone(e, ret))
		goto lost;
	return VGMO_OK;

lost:
	note_failure(lib, e, ret, now);
	return report_down(e, out);
}

void vgmo__nvml_entry_free(vgmo__nvml_entry *e)
{
	free(e->procs);
	e->procs = NULL;
	e->procs_cap = 0;
}
