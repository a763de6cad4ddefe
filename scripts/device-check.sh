#!/bin/sh
# Checks vgmo's NVML backend on a machine with a real NVIDIA GPU, CUDA,
# PyTorch and nvidia-ml-py (pynvml); no network, no -dev packages needed.
#
#   1. vgmo status --backend nvml --json against nvidia-smi and pynvml:
#      names and UUIDs equal, memory total/used/free within 1 MiB.
#   2. PyTorch allocates ~4 GiB on the GPU in another process: vgmo sees
#      used memory rise by about that much, and drop when it is freed.
#   3. Times a full sample of one GPU (median of 1000) through vgmo
#      (build-device/bench_nvml) and the same reads through pynvml.
#
# Prints one summary of "key: value" lines ending in "result: PASS" or
# "result: FAIL", and writes it to "$OUT/device-check.txt" when $OUT is set.
# Uses build-device/ (vgmo, bench_nvml, lib/) from scripts/device-bundle.sh
# when present, else tries a CMake build. Takes well under 3 minutes.
set -u
cd "$(dirname "$0")/.." || exit 1

VGMO=build-device/vgmo
BENCH=build-device/bench_nvml
HOWTO="run scripts/device-bundle.sh on a build machine and bring build-device/ along"
early_fail() {
	echo "device-check: FAIL: $1" >&2
	if [ -n "${OUT:-}" ]; then
		printf 'error: %s\nresult: FAIL\n' "$1" >"$OUT/device-check.txt"
	fi
	exit 1
}
if [ ! -x "$VGMO" ] || [ ! -x "$BENCH" ]; then
	if ! command -v cmake >/dev/null 2>&1; then
		early_fail "no build-device/vgmo and no cmake; $HOWTO"
	fi
	echo "device-check: no build-device/, trying CMake" >&2
	if ! { cmake -S . -B build-device-cmake -DCMAKE_BUILD_TYPE=Release \
		-DVGMO_TESTS=OFF &&
		cmake --build build-device-cmake -j "$(nproc)" &&
		cmake --build build-device-cmake --target bench_nvml; } >&2; then
		early_fail "cannot build here (missing -dev packages?); $HOWTO"
	fi
	VGMO=build-device-cmake/vgmo
	BENCH=build-device-cmake/bench/bench_nvml
fi

VGMO="$VGMO" BENCH="$BENCH" exec timeout 170 python3 - <<'PYEOF'
import json, os, statistics, subprocess, sys, time

VGMO, BENCH = os.environ["VGMO"], os.environ["BENCH"]
MIB = 1 << 20
ALLOC = 4 << 30
lines, failed = [], []


def say(key, value):
    line = "%s: %s" % (key, value)
    lines.append(line)
    print(line, flush=True)


def check(key, ok, detail=""):
    say(key, ("PASS" if ok else "FAIL") + (" (%s)" % detail if detail else ""))
    if not ok:
        failed.append(key)


def run(cmd, timeout=60):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (cmd[0], p.returncode, p.stderr.strip()[:300]))
    return p.stdout


def vgmo_gpus():
    doc = json.loads(run([VGMO, "status", "--backend", "nvml", "--json"]))
    if doc.get("backend") != "nvml":
        raise RuntimeError("vgmo used backend %r" % doc.get("backend"))
    return doc["gpus"]


def smi_gpus():
    out = run(["nvidia-smi", "--query-gpu=index,name,uuid,memory.total,"
               "memory.used,memory.free,driver_version",
               "--format=csv,noheader,nounits"])
    rows = []
    for line in out.strip().splitlines():
        f = [x.strip() for x in line.split(",")]
        rows.append({"index": int(f[0]), "name": f[1], "uuid": f[2],
                     "total": int(f[3]), "used": int(f[4]),
                     "free": int(f[5]), "driver": f[6]})
    return rows


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def pynvml_memory(nv, h):
    try:
        m = nv.nvmlDeviceGetMemoryInfo(h, version=nv.nvmlMemory_v2)
        return m, 2
    except (TypeError, AttributeError, nv.NVMLError):
        return nv.nvmlDeviceGetMemoryInfo(h), 1


def by_uuid(gpus, uuid):
    for g in gpus:
        if g.get("uuid") == uuid:
            return g
    return None


def within_mib(a, b):
    return a is not None and b is not None and abs(a - b) <= MIB


def compare_static(nv):
    gpus = vgmo_gpus()
    smi = smi_gpus()
    say("gpu_count", len(smi))
    if smi:
        say("gpu_model", smi[0]["name"])
        say("driver_version", smi[0]["driver"])
    physical = [g for g in gpus if g.get("parent") is None]
    check("vgmo_lists_every_gpu", len(physical) == len(smi),
          "vgmo %d, nvidia-smi %d" % (len(physical), len(smi)))
    say("vgmo_entries", "%d (MIG devices included)" % len(gpus))
    for r in smi:
        g = by_uuid(gpus, r["uuid"])
        k = "gpu%d" % r["index"]
        if g is None:
            check(k + "_uuid_vs_nvidia_smi", False, "uuid %s not in vgmo" % r["uuid"])
            continue
        check(k + "_name_vs_nvidia_smi", g["name"] == r["name"],
              "%r vs %r" % (g["name"], r["name"]))
        say(k + "_memory_api", g.get("memory_api"))
        for key, field in (("total", "memory_total_bytes"),
                           ("used", "memory_used_bytes"),
                           ("free", "memory_free_bytes")):
            v = g.get(field)
            mib = None if v is None else v / MIB
            ok = mib is not None and abs(mib - r[key]) <= 1.0
            check("%s_memory_%s_vs_nvidia_smi" % (k, key), ok,
                  "vgmo %s MiB, nvidia-smi %d MiB" %
                  ("null" if mib is None else "%.1f" % mib, r[key]))
        h = nv.nvmlDeviceGetHandleByUUID(r["uuid"].encode())
        check(k + "_name_vs_pynvml", g["name"] == text(nv.nvmlDeviceGetName(h)))
        check(k + "_uuid_vs_pynvml", g["uuid"] == text(nv.nvmlDeviceGetUUID(h)))
        m, api = pynvml_memory(nv, h)
        say(k + "_pynvml_memory_api", "v%d" % api)
        for key, field in (("total", "memory_total_bytes"),
                           ("used", "memory_used_bytes"),
                           ("free", "memory_free_bytes")):
            check("%s_memory_%s_vs_pynvml" % (k, key),
                  within_mib(g.get(field), getattr(m, key)),
                  "vgmo %s, pynvml %d bytes" % (g.get(field), getattr(m, key)))
        if g.get("memory_reserved_bytes") is not None and api == 2:
            check(k + "_memory_reserved_vs_pynvml",
                  within_mib(g["memory_reserved_bytes"], m.reserved))


ALLOCATOR = r"""
import sys, torch
ctx = torch.zeros(1, device="cuda:0")  # the CUDA context, before "before"
torch.cuda.synchronize()
props = torch.cuda.get_device_properties(0)
uuid = getattr(props, "uuid", None)
print("uuid", ("GPU-" + str(uuid)) if uuid is not None else "", flush=True)
sys.stdin.readline()  # the checker has read "before"
x = torch.empty(%d, dtype=torch.uint8, device="cuda:0")
torch.cuda.synchronize()
print("allocated", flush=True)
sys.stdin.readline()
del x
torch.cuda.empty_cache()
torch.cuda.synchronize()
print("freed", flush=True)
sys.stdin.readline()
""" % ALLOC


def expect(proc, word, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("allocator exited: " + proc.stderr.read()[-400:])
        if line.split()[0] == word:
            return line.split()[1:]
    raise RuntimeError("allocator: no %r in time" % word)


def used_of(uuid, index):
    gpus = vgmo_gpus()
    g = by_uuid(gpus, uuid) if uuid else None
    if g is None:
        g = [x for x in gpus if x.get("parent") is None][index]
    return g["memory_used_bytes"], g


def allocation_check():
    env = dict(os.environ, CUDA_DEVICE_ORDER="PCI_BUS_ID")
    proc = subprocess.Popen([sys.executable, "-c", ALLOCATOR], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        uuid = (expect(proc, "uuid") or [""])[0]
        before, _ = used_of(uuid, 0)  # CUDA context exists, nothing allocated
        proc.stdin.write("allocate\n")
        proc.stdin.flush()
        expect(proc, "allocated")
        during, g = used_of(uuid, 0)
        pids = [p.get("pid") for p in (g.get("processes") or [])]
        proc.stdin.write("free\n")
        proc.stdin.flush()
        expect(proc, "freed")
        after, _ = used_of(uuid, 0)
        proc.stdin.write("exit\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    rise, drop = during - before, during - after
    say("alloc_gpu_uuid", uuid or "(cuda:0 = NVML index 0)")
    say("alloc_requested_mib", ALLOC // MIB)
    check("alloc_rise_seen_by_vgmo", ALLOC - 64 * MIB <= rise <= ALLOC + 512 * MIB,
          "used rose %.1f MiB" % (rise / MIB))
    check("alloc_drop_seen_by_vgmo", ALLOC - 64 * MIB <= drop <= ALLOC + 512 * MIB,
          "used dropped %.1f MiB" % (drop / MIB))
    say("alloc_process_listed_by_vgmo", "yes" if proc.pid in pids else
        "no (pids %s; containers may hide them)" % pids[:8])


def bench(nv):
    out = run([BENCH, "--real", "--device", "0", "--rounds", "1000"], timeout=120)
    vals = dict(l.split(": ", 1) for l in out.strip().splitlines() if ": " in l)
    for k in ("vgmo_wall_us_per_gpu_sample_median",
              "vgmo_cpu_us_per_gpu_sample_median",
              "nvml_direct_wall_us_per_gpu_sample_median",
              "vgmo_overhead_cpu_us_per_gpu_sample_median", "sample_errors"):
        say(k, vals.get(k, "?"))
    h = nv.nvmlDeviceGetHandleByIndex(0)

    def one():
        for f in (lambda: pynvml_memory(nv, h),
                  lambda: nv.nvmlDeviceGetUtilizationRates(h),
                  lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU),
                  lambda: nv.nvmlDeviceGetPowerUsage(h),
                  lambda: nv.nvmlDeviceGetTotalEnergyConsumption(h),
                  lambda: nv.nvmlDeviceGetComputeRunningProcesses(h),
                  lambda: nv.nvmlDeviceGetMigMode(h)):
            try:
                f()
            except nv.NVMLError:
                pass

    for _ in range(50):
        one()
    t = []
    for _ in range(1000):
        t0 = time.perf_counter()
        one()
        t.append((time.perf_counter() - t0) * 1e6)
    say("pynvml_wall_us_per_gpu_sample_median", "%.2f" % statistics.median(t))
    check("bench_samples_without_error", vals.get("sample_errors") == "0")


def main():
    t0 = time.time()
    say("date", time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    say("vgmo", VGMO)
    try:
        import pynvml as nv
        nv.nvmlInit()
    except Exception as e:
        check("pynvml_available", False, str(e))
        return finish(t0)
    for name, step in (("compare", lambda: compare_static(nv)),
                       ("allocation", allocation_check),
                       ("timing", lambda: bench(nv))):
        try:
            step()
        except Exception as e:
            check(name + "_step_ran", False, "%s: %s" % (type(e).__name__, e))
    nv.nvmlShutdown()
    return finish(t0)


def finish(t0):
    say("seconds", "%.1f" % (time.time() - t0))
    say("result", "FAIL (%s)" % ", ".join(failed) if failed else "PASS")
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "device-check.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return 1 if failed else 0


sys.exit(main())
PYEOF
