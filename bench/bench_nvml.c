/*
 * bench_nvml.c - CPU cost of one full NVML sample per GPU, through the
 * backend's real loader, minus the time spent inside the library.
 *
 * Each round samples every device through vgmo__backend_nvml (worker
 * hand-off, all fields, process names from /proc), then makes the same
 * NVML calls directly, and times both with CLOCK_PROCESS_CPUTIME_ID (all
 * threads) and CLOCK_MONOTONIC. vgmo's own cost is the difference; the
 * medians over the rounds are printed as "key: value" lines.
 *
 *   bench_nvml [--library PATH | --real] [--gpus N] [--procs K]
 *              [--rounds N] [--device I]
 *
 * With no --library it uses the fake libnvidia-ml built with the tests
 * (when this binary was built with it) and writes a scenario of N GPUs
 * (default 8), each running K processes (default 4, the first being this
 * one). --real, or a build without the fake, loads what the backend loads
 * by default ($VGMO_NVML_LIBRARY, else the driver's libnvidia-ml.so.1) and
 * leaves its devices as they are.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "nvml_abi.h"

#define MAX_DEVICES 256
#define DIRECT_PROCS 256
#define WARMUP 50

/* The NVML calls one full sample makes, resolved from the same library
 * as the backend, newest symbol first. */
typedef struct direct {
	void *dl; /* dlopen handle; closed by direct_close */
	vgmo__nvml_ret (*init)(void);
	vgmo__nvml_ret (*shutdown)(void);
	vgmo__nvml_ret (*handle)(unsigned, vgmo__nvml_device *);
	vgmo__nvml_ret (*mem2)(vgmo__nvml_device, vgmo__nvml_memory_v2 *);
	vgmo__nvml_ret (*mem1)(vgmo__nvml_device, vgmo__nvml_memory_v1 *);
	vgmo__nvml_ret (*util)(vgmo__nvml_device, vgmo__nvml_utilization *);
	vgmo__nvml_ret (*temp)(vgmo__nvml_device, int, unsigned *);
	vgmo__nvml_ret (*power)(vgmo__nvml_device, unsigned *);
	vgmo__nvml_ret (*energy)(vgmo__nvml_device, unsigned long long *);
	vgmo__nvml_ret (*procs)(vgmo__nvml_device, unsigned *, void *);
	vgmo__nvml_ret (*mig)(vgmo__nvml_device, unsigned *, unsigned *);
	vgmo__nvml_device dev[MAX_DEVICES];
	unsigned char buf[DIRECT_PROCS * VGMO__NVML_PROCESS_MAX_STRIDE];
} direct;

typedef struct opts {
	const char *library; /* NULL: the driver's default names */
	int fake;
	unsigned gpus, procs, rounds;
	int device; /* -1: all */
} opts;

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *sym2(void *dl, const char *a, const char *b)
{
	void *p = dlsym(dl, a);

	return p != NULL || b == NULL ? p : dlsym(dl, b);
}

static int direct_open(direct *d, const char *library, unsigned n)
{
	/* The library the backend loaded: same search as nvml_loader.c. */
	if (library == NULL || library[0] == '\0')
		library = getenv("VGMO_NVML_LIBRARY");
	if (library == NULL || library[0] == '\0')
		library = "libnvidia-ml.so.1";
	d->dl = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (d->dl == NULL && strcmp(library, "libnvidia-ml.so.1") == 0)
		d->dl = dlopen("libnvidia-ml.so", RTLD_NOW | RTLD_LOCAL);
	if (d->dl == NULL)
		return -1;
	d->init =
	        (vgmo__nvml_ret(*)(void))sym2(d->dl, "nvmlInit_v2", "nvmlInit");
	d->shutdown =
	        (vgmo__nvml_ret(*)(void))sym2(d->dl, "nvmlShutdown", NULL);
	d->handle = (vgmo__nvml_ret(*)(unsigned, vgmo__nvml_device *))sym2(
	        d->dl, "nvmlDeviceGetHandleByIndex_v2",
	        "nvmlDeviceGetHandleByIndex");
	d->mem2 = (vgmo__nvml_ret(*)(vgmo__nvml_device, vgmo__nvml_memory_v2 *))
	        sym2(d->dl, "nvmlDeviceGetMemoryInfo_v2", NULL);
	d->mem1 = (vgmo__nvml_ret(*)(vgmo__nvml_device, vgmo__nvml_memory_v1 *))
	        sym2(d->dl, "nvmlDeviceGetMemoryInfo", NULL);
	d->util =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, vgmo__nvml_utilization *))
	                sym2(d->dl, "nvmlDeviceGetUtilizationRates", NULL);
	d->temp = (vgmo__nvml_ret(*)(vgmo__nvml_device, int, unsigned *))sym2(
	        d->dl, "nvmlDeviceGetTemperature", NULL);
	d->power = (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned *))sym2(
	        d->dl, "nvmlDeviceGetPowerUsage", NULL);
	d->energy = (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned long long *))
	        sym2(d->dl, "nvmlDeviceGetTotalEnergyConsumption", NULL);
	d->procs =
	        (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned *, void *))sym2(
	                d->dl, "nvmlDeviceGetComputeRunningProcesses_v3",
	                "nvmlDeviceGetComputeRunningProcesses_v2");
	d->mig = (vgmo__nvml_ret(*)(vgmo__nvml_device, unsigned *, unsigned *))
	        sym2(d->dl, "nvmlDeviceGetMigMode", NULL);
	if (d->init == NULL || d->shutdown == NULL || d->handle == NULL ||
	    d->init() != VGMO__NVML_SUCCESS)
		goto fail;
	for (unsigned i = 0; i < n && i < MAX_DEVICES; i++)
		if (d->handle(i, &d->dev[i]) != VGMO__NVML_SUCCESS)
			d->dev[i] = NULL;
	return 0;
fail:
	dlclose(d->dl);
	d->dl = NULL;
	return -1;
}

static void direct_close(direct *d)
{
	if (d->dl == NULL)
		return;
	d->shutdown();
	dlclose(d->dl);
	d->dl = NULL;
}

/* The calls of one full sample, made directly. */
static void direct_sample(direct *d, unsigned i)
{
	vgmo__nvml_device h = d->dev[i];
	vgmo__nvml_memory_v2 m2 = {.version = VGMO__NVML_MEMORY_V2_VERSION};
	vgmo__nvml_memory_v1 m1;
	vgmo__nvml_utilization u;
	unsigned v, cur, pend, n = DIRECT_PROCS;
	unsigned long long e;

	if (h == NULL)
		return;
	if (d->mem2 == NULL || d->mem2(h, &m2) != VGMO__NVML_SUCCESS)
		if (d->mem1 != NULL)
			d->mem1(h, &m1);
	if (d->util)
		d->util(h, &u);
	if (d->temp)
		d->temp(h, VGMO__NVML_TEMPERATURE_GPU, &v);
	if (d->power)
		d->power(h, &v);
	if (d->energy)
		d->energy(h, &e);
	if (d->procs)
		d->procs(h, &n, d->buf);
	if (d->mig)
		d->mig(h, &cur, &pend);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int write_scenario(const opts *o, char *path, size_t size)
{
	FILE *f;
	int fd;

	snprintf(path, size, "/tmp/vgmo-bench-nvml-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	fprintf(f, "devices %u\n", o->gpus);
	for (unsigned i = 0; i < o->gpus && o->procs > 0; i++) {
		fprintf(f, "proc %u %u 2147483648\n", i, (unsigned)getpid());
		if (o->procs > 1)
			fprintf(f, "procs %u %u %u 1073741824\n", i,
			        o->procs - 1, 4000000 + i * 1000);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int parse(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gpus = 8;
	o->procs = 4;
	o->rounds = 2000;
	o->device = -1;
#ifdef VGMO_BENCH_FAKE_NVML
	o->library = VGMO_BENCH_FAKE_NVML;
	o->fake = 1;
#endif
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--real") == 0) {
			o->library = NULL;
			o->fake = 0;
			continue;
		}
		if (v == NULL)
			goto usage;
		i++;
		if (strcmp(a, "--library") == 0) {
			o->library = v;
			o->fake = 0;
		} else if (strcmp(a, "--gpus") == 0) {
			o->gpus = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(a, "--procs") == 0) {
			o->procs = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(a, "--rounds") == 0) {
			o->rounds = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(a, "--device") == 0) {
			o->device = atoi(v);
		} else {
			goto usage;
		}
	}
	if (o->rounds == 0 || o->gpus == 0 || o->gpus > 64)
		goto usage;
	return 0;
usage:
	fprintf(stderr, "usage: bench_nvml [--library PATH | --real] "
	                "[--gpus N] [--procs K] [--rounds N] [--device I]\n");
	return -1;
}

typedef struct timing {
	double *vgmo_cpu, *vgmo_wall, *nvml_cpu, *nvml_wall, *overhead;
} timing;

/* Runs the rounds; per-round figures are per device sample. */
static int measure(const opts *o, void *ctx, direct *d, unsigned first,
                   unsigned last, timing *t)
{
	unsigned per = last - first;
	vgmo_gpu_sample s;
	int errors = 0;

	for (unsigned r = 0; r < o->rounds + WARMUP; r++) {
		double c0, w0, c1, w1, c2, w2;
		unsigned k;

		c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		w0 = clock_s(CLOCK_MONOTONIC);
		for (unsigned i = first; i < last; i++)
			if (vgmo__backend_nvml.sample(ctx, i, &s) != VGMO_OK)
				errors++;
		c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		w1 = clock_s(CLOCK_MONOTONIC);
		for (unsigned i = first; i < last; i++)
			direct_sample(d, i);
		c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		w2 = clock_s(CLOCK_MONOTONIC);
		if (r < WARMUP)
			continue;
		k = r - WARMUP;
		t->vgmo_cpu[k] = (c1 - c0) * 1e6 / per;
		t->vgmo_wall[k] = (w1 - w0) * 1e6 / per;
		t->nvml_cpu[k] = (c2 - c1) * 1e6 / per;
		t->nvml_wall[k] = (w2 - w1) * 1e6 / per;
		t->overhead[k] = t->vgmo_cpu[k] - t->nvml_cpu[k];
	}
	return errors;
}

int main(int argc, char **argv)
{
	vgmo_engine_options eo;
	char scenario[64] = "";
	char err[256] = "";
	static direct d;
	void *ctx = NULL;
	timing t = {0};
	const char *shown;
	unsigned n, first, last;
	int errors, rc = 1;
	opts o;

	if (parse(argc, argv, &o) != 0)
		return 2;
	if (o.fake && getenv("VGMO_FAKE_NVML_SCENARIO") == NULL) {
		if (write_scenario(&o, scenario, sizeof(scenario)) != 0) {
			perror("bench_nvml: scenario");
			return 1;
		}
		setenv("VGMO_FAKE_NVML_SCENARIO", scenario, 1);
	}
	memset(&eo, 0, sizeof(eo));
	eo.backend = "nvml";
	eo.nvml_library = o.library;
	eo.call_timeout = 5;
	if (vgmo__backend_nvml.open(&ctx, &eo, err, sizeof(err)) != VGMO_OK) {
		fprintf(stderr, "bench_nvml: %s\n", err);
		goto out;
	}
	n = vgmo__backend_nvml.device_count(ctx);
	first = o.device >= 0 ? (unsigned)o.device : 0;
	last = o.device >= 0 ? first + 1 : n;
	if (first >= n) {
		fprintf(stderr, "bench_nvml: no device %u (%u found)\n", first,
		        n);
		goto out;
	}
	if (direct_open(&d, o.library, n) != 0) {
		fprintf(stderr, "bench_nvml: cannot open the library again\n");
		goto out;
	}
	t.vgmo_cpu = calloc(o.rounds, sizeof(double));
	t.vgmo_wall = calloc(o.rounds, sizeof(double));
	t.nvml_cpu = calloc(o.rounds, sizeof(double));
	t.nvml_wall = calloc(o.rounds, sizeof(double));
	t.overhead = calloc(o.rounds, sizeof(double));
	if (!t.vgmo_cpu || !t.vgmo_wall || !t.nvml_cpu || !t.nvml_wall ||
	    !t.overhead)
		goto out_direct;
	errors = measure(&o, ctx, &d, first, last, &t);
	shown = o.library ? o.library : getenv("VGMO_NVML_LIBRARY");
	printf("library: %s\n",
	       shown && shown[0] ? shown : "libnvidia-ml.so.1");
	printf("devices_sampled: %u\n", last - first);
	if (o.fake)
		printf("processes_per_gpu: %u\n", o.procs);
	printf("rounds: %u\n", o.rounds);
	printf("sample_errors: %d\n", errors);
	printf("vgmo_cpu_us_per_gpu_sample_median: %.2f\n",
	       median(t.vgmo_cpu, o.rounds));
	printf("nvml_direct_cpu_us_per_gpu_sample_median: %.2f\n",
	       median(t.nvml_cpu, o.rounds));
	printf("vgmo_overhead_cpu_us_per_gpu_sample_median: %.2f\n",
	       median(t.overhead, o.rounds));
	printf("vgmo_wall_us_per_gpu_sample_median: %.2f\n",
	       median(t.vgmo_wall, o.rounds));
	printf("nvml_direct_wall_us_per_gpu_sample_median: %.2f\n",
	       median(t.nvml_wall, o.rounds));
	rc = 0;
out_direct:
	free(t.vgmo_cpu);
	free(t.vgmo_wall);
	free(t.nvml_cpu);
	free(t.nvml_wall);
	free(t.overhead);
	direct_close(&d);
out:
	if (ctx != NULL)
		vgmo__backend_nvml.close(ctx);
	if (scenario[0] != '\0')
		unlink(scenario);
	return rc;
}
