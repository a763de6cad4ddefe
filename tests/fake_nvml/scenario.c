/*
 * scenario.c - the fake libnvidia-ml's scenario file and state reset.
 *
 * Scenario: the file named by $VGMO_FAKE_NVML_SCENARIO, read at the first
 * nvmlInit (each time the init count goes from 0 to 1; all state resets).
 * No variable: one default GPU. One directive per line, '#' starts a
 * comment, words are separated by blanks, "double quotes" make one word:
 *
 *   devices N                  N GPUs with default values (default 1)
 *   device I KEY VALUE ...     set GPU I's values; keys: name "text",
 *                              uuid TEXT, pci 00000000:BB:00.0, total B,
 *                              used B, reserved B (bytes; used excludes
 *                              reserved), util PERCENT, temp CELSIUS,
 *                              power_mw MW, energy_mj MJ
 *   unsupported I FIELD ...    those calls on GPU I answer NOT_SUPPORTED;
 *                              fields: name uuid pci memory util temp power
 *                              energy processes mig
 *   mig I SLOT KEY VALUE ...   turns MIG mode on for GPU I and creates a MIG
 *                              device in SLOT (0..6); keys: name, uuid,
 *                              total, used, reserved
 *   mig_mode I 0|1             MIG mode of GPU I without creating devices
 *   proc I PID BYTES           adds one compute process on GPU I
 *   procs I COUNT FIRSTPID B   adds COUNT processes, pids FIRSTPID upwards
 *   init_error CODE            nvmlInit and nvmlInit_v2 answer CODE
 *   count_error CODE           nvmlDeviceGetCount* answers CODE
 *   memory_v2_error CODE       nvmlDeviceGetMemoryInfo_v2 answers CODE
 *   fail I lost_after N back_after M [code C]
 *                              GPU I's calls number N to M-1 answer C
 *                              (default 15, GPU_IS_LOST); M = 0: never back.
 *                              Calls are counted from 1: every call given
 *                              GPU I's handle, plus nvmlDeviceGetHandleByIndex
 *                              for I. Calls on its MIG devices fail while it
 *                              does (without being counted).
 *   hang I seconds S [after N] GPU I's first memory-info call (or the one
 *                              after N that answered) sleeps S s
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_nvml.h"

struct fake_state fake_g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void default_gpu(unsigned i)
{
	struct fake_gpu *d = &fake_g.gpu[i];

	memset(d, 0, sizeof(*d));
	d->handle.gpu = (int)i;
	d->handle.slot = -1;
	snprintf(d->name, sizeof(d->name), "NVIDIA H100 80GB HBM3");
	snprintf(d->uuid, sizeof(d->uuid), "GPU-fa4e0000-0000-4000-8000-%012x",
	         i);
	snprintf(d->pci, sizeof(d->pci), "00000000:%02X:00.0", 0x18 + i);
	d->total = 85520809984ULL;
	d->used = 4ULL << 30;
	d->reserved = 512ULL << 20;
	d->util = 37;
	d->temp = 45;
	d->power_mw = 123456;
	d->energy_mj = 987654321ULL;
	d->fail_code = NVML_ERROR_GPU_IS_LOST;
	for (int s = 0; s < MIG_SLOTS; s++) {
		d->mig[s].handle.gpu = (int)i;
		d->mig[s].handle.slot = s;
	}
}

static void reset(void)
{
	for (unsigned i = 0; i < MAX_GPUS; i++)
		free(fake_g.gpu[i].procs);
	fake_g.ndev = 1;
	fake_g.inits = 0;
	fake_g.init_error = fake_g.count_error = fake_g.memory_v2_error =
	        NVML_SUCCESS;
	for (unsigned i = 0; i < MAX_GPUS; i++)
		default_gpu(i);
}

/* Splits `line` in place into at most `max` words; quotes group. */
static int split(char *line, char **words, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#' || n == max)
			return n;
		if (*p == '"') {
			words[n++] = ++p;
			while (*p != '\0' && *p != '"')
				p++;
		} else {
			words[n++] = p;
			while (*p != '\0' && !isspace((unsigned char)*p))
				p++;
		}
		if (*p == '\0')
			return n;
		*p++ = '\0';
	}
}

static int add_proc(struct fake_gpu *d, unsigned pid, unsigned long long b)
{
	if (d->nprocs == d->procs_cap) {
		unsigned cap = d->procs_cap ? d->procs_cap * 2 : 16;
		struct fake_proc *p = realloc(d->procs, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		d->procs = p;
		d->procs_cap = cap;
	}
	d->procs[d->nprocs].pid = pid;
	d->procs[d->nprocs].used = b;
	d->nprocs++;
	return 0;
}

static unsigned long long num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static int field_bit(const char *s)
{
	static const char *const names[] = {
	        "name", "uuid",  "pci",    "memory",    "util",
	        "temp", "power", "energy", "processes", "mig"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return 1 << i;
	return 0;
}

static int set_gpu_key(struct fake_gpu *d, const char *k, const char *v)
{
	if (strcmp(k, "name") == 0)
		snprintf(d->name, sizeof(d->name), "%s", v);
	else if (strcmp(k, "uuid") == 0)
		snprintf(d->uuid, sizeof(d->uuid), "%s", v);
	else if (strcmp(k, "pci") == 0)
		snprintf(d->pci, sizeof(d->pci), "%s", v);
	else if (strcmp(k, "total") == 0)
		d->total = num(v);
	else if (strcmp(k, "used") == 0)
		d->used = num(v);
	else if (strcmp(k, "reserved") == 0)
		d->reserved = num(v);
	else if (strcmp(k, "util") == 0)
		d->util = (unsigned)num(v);
	else if (strcmp(k, "temp") == 0)
		d->temp = (unsigned)num(v);
	else if (strcmp(k, "power_mw") == 0)
		d->power_mw = (unsigned)num(v);
	else if (strcmp(k, "energy_mj") == 0)
		d->energy_mj = num(v);
	else
		return -1;
	return 0;
}

static int set_mig_key(struct fake_mig *m, const char *k, const char *v)
{
	if (strcmp(k, "name") == 0)
		snprintf(m->name, sizeof(m->name), "%s", v);
	else if (strcmp(k, "uuid") == 0)
		snprintf(m->uuid, sizeof(m->uuid), "%s", v);
	else if (strcmp(k, "total") == 0)
		m->total = num(v);
	else if (strcmp(k, "used") == 0)
		m->used = num(v);
	else if (strcmp(k, "reserved") == 0)
		m->reserved = num(v);
	else
		return -1;
	return 0;
}

static int directive(char **w, int n)
{
	struct fake_gpu *d = NULL;
	unsigned i = 0;

	if (n >= 2 && strcmp(w[0], "devices") != 0 &&
	    strcmp(w[0], "init_error") != 0 &&
	    strcmp(w[0], "count_error") != 0 &&
	    strcmp(w[0], "memory_v2_error") != 0) {
		i = (unsigned)num(w[1]);
		if (i >= MAX_GPUS)
			return -1;
		d = &fake_g.gpu[i];
	}
	if (strcmp(w[0], "devices") == 0 && n == 2) {
		fake_g.ndev = (unsigned)num(w[1]);
		return fake_g.ndev <= MAX_GPUS ? 0 : -1;
	}
	if (strcmp(w[0], "init_error") == 0 && n == 2) {
		fake_g.init_error = (nvmlReturn_t)num(w[1]);
		return 0;
	}
	if (strcmp(w[0], "count_error") == 0 && n == 2) {
		fake_g.count_error = (nvmlReturn_t)num(w[1]);
		return 0;
	}
	if (strcmp(w[0], "memory_v2_error") == 0 && n == 2) {
		fake_g.memory_v2_error = (nvmlReturn_t)num(w[1]);
		return 0;
	}
	if (d == NULL)
		return -1;
	if (strcmp(w[0], "device") == 0 && n % 2 == 0) {
		for (int k = 2; k < n; k += 2)
			if (set_gpu_key(d, w[k], w[k + 1]) != 0)
				return -1;
		return 0;
	}
	if (strcmp(w[0], "unsupported") == 0 && n >= 3) {
		for (int k = 2; k < n; k++) {
			int bit = field_bit(w[k]);

			if (bit == 0)
				return -1;
			d->unsupported |= (unsigned)bit;
		}
		return 0;
	}
	if (strcmp(w[0], "mig") == 0 && n >= 3 && n % 2 == 1) {
		unsigned s = (unsigned)num(w[2]);
		struct fake_mig *m;

		if (s >= MIG_SLOTS)
			return -1;
		m = &d->mig[s];
		m->present = 1;
		snprintf(m->name, sizeof(m->name), "%.80s MIG 1g.10gb",
		         d->name);
		snprintf(m->uuid, sizeof(m->uuid),
		         "MIG-0000%04x-0000-4000-8000-%012x", i, s);
		m->total = 10ULL << 30;
		d->mig_mode = 1;
		for (int k = 3; k < n; k += 2)
			if (set_mig_key(m, w[k], w[k + 1]) != 0)
				return -1;
		return 0;
	}
	if (strcmp(w[0], "mig_mode") == 0 && n == 3) {
		d->mig_mode = (unsigned)num(w[2]);
		return 0;
	}
	if (strcmp(w[0], "proc") == 0 && n == 4)
		return add_proc(d, (unsigned)num(w[2]), num(w[3]));
	if (strcmp(w[0], "procs") == 0 && n == 5) {
		unsigned count = (unsigned)num(w[2]);
		unsigned pid = (unsigned)num(w[3]);

		for (unsigned k = 0; k < count; k++)
			if (add_proc(d, pid + k, num(w[4])) != 0)
				return -1;
		return 0;
	}
	if (strcmp(w[0], "fail") == 0 && (n == 6 || n == 8) &&
	    strcmp(w[2], "lost_after") == 0 &&
	    strcmp(w[4], "back_after") == 0) {
		d->lost_after = (unsigned long)num(w[3]);
		d->back_after = (unsigned long)num(w[5]);
		if (n == 8 && strcmp(w[6], "code") != 0)
			return -1;
		if (n == 8)
			d->fail_code = (nvmlReturn_t)num(w[7]);
		return 0;
	}
	if (strcmp(w[0], "hang") == 0 && (n == 4 || n == 6) &&
	    strcmp(w[2], "seconds") == 0) {
		if (n == 6 && strcmp(w[4], "after") != 0)
			return -1;
		d->hang_seconds = strtod(w[3], NULL);
		d->hang_after = n == 6 ? (unsigned long)num(w[5]) : 0;
		return 0;
	}
	return -1;
}

/* Resets the state and reads the scenario; 0 or -1 (message on stderr). */
int fake_load_scenario(void)
{
	const char *path = getenv("VGMO_FAKE_NVML_SCENARIO");
	char line[1024];
	int lineno = 0;
	FILE *f;

	reset();
	if (path == NULL || path[0] == '\0')
		return 0;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "fake_nvml: cannot open %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *w[32];
		int n = split(line, w, 32);

		lineno++;
		if (n == 0)
			continue;
		if (directive(w, n) != 0) {
			fprintf(stderr, "fake_nvml: %s:%d: bad directive %s\n",
			        path, lineno, w[0]);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* Frees the process lists when the library is unloaded, so that a leak
 * checker does not blame the unmapped state. */
__attribute__((destructor)) static void fake_unload(void)
{
	for (unsigned i = 0; i < MAX_GPUS; i++) {
		free(fake_g.gpu[i].procs);
		fake_g.gpu[i].procs = NULL;
	}
}
