#!/usr/bin/env python3
"""vlm-loop.py - a real VLM in the loop: vgmo against Accelerate and a fixed batch.

Generates a folder of images with a document/photo size mix, builds one
VLM from its public configuration with random weights (scripts/vlmbench.py,
no download), and captions the same images in the same order three ways:

  vgmo        vgmo.torch.Runner + vgmo.Client against `vgmo serve`
              (--backend nvml on a GPU): the daemon picks each batch size
              from the peaks the worker reports and halves it on OOM;
  accelerate  Accelerate's find_executable_batch_size: starts at
              --start-batch, halves on every OOM, never grows (the items
              already done are kept, the rest resume at the smaller size);
  fixed       a fixed batch of --fixed-batch images; a batch that runs out
              of memory is lost (its images counted as failed).

Each arm gets --arm-seconds of work (it stops taking batches after that).
Writes one JSON document (rewritten after each arm, "complete": true at
the end): per arm the images done and failed, images/s, OOMs, batches and
their sizes, the peak allocated and reserved bytes and NVML's used bytes
at their peak.

    python3 scripts/vlm-loop.py --vgmo build/vgmo            # on a GPU
    python3 scripts/vlm-loop.py --vgmo build/vgmo --dry-run  # no torch

--dry-run runs the same three loops without torch: a stand-in model whose
peak is its weights plus bytes per token of the batch, on a simulated 24 GB
GPU that raises "CUDA out of memory" above its size, against `vgmo serve
--backend sim` (an L4 preset). It checks the loops, the daemon and the
report format, not any speed.
"""

import argparse
import json
import os
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import types
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import vlmbench  # noqa: E402
from vlmbench import GIB, MODELS  # noqa: E402

SCRIPT_VERSION = "1.0"

#: label -> (width, height, share of the folder): scanned pages and
#: photos, as a document-parsing service sees them.
MIX = {
    "a4-150dpi": (1240, 1754, 0.30),
    "a4-200dpi": (1654, 2339, 0.15),
    "letter-150dpi": (1275, 1650, 0.10),
    "photo-5mp": (2592, 1944, 0.15),
    "photo-12mp": (4032, 3024, 0.05),
    "screenshot": (1920, 1080, 0.15),
    "small": (640, 480, 0.10),
}


def log(msg):
    print("vlm-loop: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- images

def write_png(path, width, height, shade):
    """A grey PNG of width x height (8-bit greyscale, one shade)."""
    row = b"\x00" + bytes([shade]) * width
    raw = zlib.compress(row * height, 6)

    def chunk(kind, data):
        body = kind + data
        return (struct.pack(">I", len(data)) + body +
                struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                           0, 0, 0)))
        f.write(chunk(b"IDAT", raw))
        f.write(chunk(b"IEND", b""))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("%s: not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def make_folder(folder, items, seed):
    """`items` PNGs drawn from MIX (in shuffled order); returns the paths."""
    rng = random.Random(seed)
    labels = list(MIX)
    weights = [MIX[k][2] for k in labels]
    paths = []
    for i in range(items):
        label = rng.choices(labels, weights)[0]
        w, h, _ = MIX[label]
        path = os.path.join(folder, "%03d-%s.png" % (i, label))
        write_png(path, w, h, 128 + i % 64)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- daemon

class Daemon:
    """`vgmo serve` on loopback ports it picks; stopped by stop()."""

    def __init__(self, binary, backend, state_dir, extra):
        args = [binary, "serve", "--backend", backend, "--listen",
                "127.0.0.1:0", "--health-listen", "127.0.0.1:0",
                "--state-dir", state_dir, "--log-level", "warn"] + extra
        self.errpath = os.path.join(state_dir, "serve.stderr")
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.err)
        self.url = None
        out, deadline = b"", time.monotonic() + 20
        while self.url is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                with open(self.errpath, "rb") as f:
                    raise RuntimeError("vgmo serve did not start: %s" %
                                       f.read().decode(errors="replace"))
            if select.select([self.proc.stdout], [], [], min(left, 0.2))[0]:
                out += os.read(self.proc.stdout.fileno(), 4096)
                m = re.search(rb"metrics:\s+(http://[^/\s]+)/", out)
                if m:
                    self.url = m.group(1).decode()

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.load(r)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err.close()


# ------------------------------------------------------- the dry-run GPU

class SimOOM(RuntimeError):
    """What torch.cuda.OutOfMemoryError is to the simulated GPU."""


class SimCuda:
    """The torch.cuda calls vgmo.torch.Runner and the loops make, on a
    simulated GPU: allocations are the stand-in model's peaks."""

    OutOfMemoryError = SimOOM

    def __init__(self, total, weights):
        self.total = total
        self.weights = weights
        self.allocated = weights
        self.reserved = weights
        self.peak = weights
        self.peak_reserved = weights

    def reset_peak_memory_stats(self, device=None):
        self.peak = self.allocated
        self.peak_reserved = self.reserved

    def max_memory_allocated(self, device=None):
        return self.peak

    def max_memory_reserved(self, device=None):
        return self.peak_reserved

    def memory_allocated(self, device=None):
        return self.allocated

    def memory_reserved(self, device=None):
        return self.reserved

    def synchronize(self, device=None):
        pass

    def empty_cache(self):
        self.reserved = self.allocated

    def is_available(self):
        return True

    def use(self, need):
        """A batch that needs `need` bytes on top of the weights."""
        want = self.weights + need
        if want > self.total:
            self.peak = max(self.peak, self.total)
            raise SimOOM("CUDA out of memory. Tried to allocate %d bytes "
                         "(simulated)" % need)
        self.peak = max(self.peak, want)
        block = 2 << 20
        self.reserved = max(self.reserved, -(-want // block) * block)
        self.peak_reserved = max(self.peak_reserved, self.reserved)


class SimModel:
    """Bytes per token of KV cache and activations, as vgmo plan counts
    them, doubled: a stand-in whose memory grows with the batch's tokens."""

    def __init__(self, spec, cuda):
        self.spec = spec
        self.cuda = cuda
        self.per_token = 2 * (spec.kv_token + spec.act_token)

    def __call__(self, tokens, new_tokens):
        self.cuda.use(int(self.per_token * (tokens + new_tokens)))
        time.sleep(tokens / 5e6)


def emulated_finder(starting_batch_size):
    """find_executable_batch_size's documented behaviour, for the dry run
    (Accelerate needs torch): call with the batch size, halve it on every
    out-of-memory error, give up at 0."""
    def decorator(fn):
        def run():
            size = starting_batch_size
            while True:
                if size == 0:
                    raise RuntimeError("No executable batch size found, "
                                       "reached zero.")
                try:
                    return fn(size)
                except RuntimeError as e:
                    if "CUDA out of memory." not in str(e):
                        raise
                    size //= 2
        return run
    return decorator


# -------------------------------------------------------------- the arms

class Arm:
    """One way of batching: what it did."""

    def __init__(self, name, cuda, mem, seconds):
        self.name = name
        self.cuda = cuda
        self.mem = mem
        self.deadline = time.monotonic() + seconds
        self.start = time.monotonic()
        self.done = self.failed = self.ooms = self.batches = 0
        self.sizes = []
        self.peak = self.peak_reserved = 0
        self.timed_out = False
        self.error = None
        self.finder = None

    def out_of_time(self):
        if time.monotonic() >= self.deadline:
            self.timed_out = True
        return self.timed_out

    def account(self, n):
        self.batches += 1
        self.done += n
        self.sizes.append(n)
        self.peak = max(self.peak, int(self.cuda.max_memory_allocated()))
        self.peak_reserved = max(self.peak_reserved,
                                 int(self.cuda.max_memory_reserved()))

    def oom(self):
        self.ooms += 1
        self.peak = max(self.peak, int(self.cuda.max_memory_allocated()))

    def report(self, extra=None):
        seconds = time.monotonic() - self.start
        r = {"name": self.name, "finder": self.finder,
             "items_done": self.done, "items_failed": self.failed,
             "batches": self.batches, "ooms": self.ooms,
             "seconds": round(seconds, 3),
             "items_per_s": round(self.done / seconds, 4) if seconds else None,
             "mean_batch": (round(self.done / self.batches, 2)
                            if self.batches else None),
             "batch_sizes": self.sizes,
             "peak_allocated_bytes": self.peak or None,
             "peak_reserved_bytes": self.peak_reserved or None,
             "nvml_used_peak_bytes": self.mem.stop() if self.mem else None,
             "timed_out": self.timed_out, "error": self.error}
        r.update(extra or {})
        return r


def run_vgmo(ctx, items, seconds):
    import vgmo
    import vgmo.torch
    arm = Arm("vgmo", ctx.cuda, ctx.mem_start(), seconds)
    arm.finder = "vgmo serve --backend %s" % ctx.backend
    client = vgmo.Client(ctx.daemon.url, "vlm-loop", gpu=0,
                         model=ctx.spec.name, unit="images")
    runner = vgmo.torch.Runner(client, device=ctx.device, oom="return")
    i = 0
    try:
        while i < len(items) and not arm.out_of_time():
            batch = items[i:i + max(1, runner.batch_size())]
            if runner.run(ctx.step, len(batch), batch) is vgmo.torch.OOM:
                arm.oom()
                if len(batch) == 1:  # never fits: give it up
                    arm.failed += 1
                    i += 1
                continue
            arm.account(len(batch))
            i += len(batch)
        learned = next((c for c in ctx.daemon.get("/v1/clients")["clients"]
                        if c["name"] == "vlm-loop"), None)
    finally:
        client.close()
    return arm.report({"daemon_client": learned})


def run_accelerate(ctx, items, seconds, start):
    arm = Arm("accelerate", ctx.cuda, ctx.mem_start(), seconds)
    finder = None
    if not ctx.dry:
        try:
            import accelerate
            from accelerate.utils import find_executable_batch_size
            finder = find_executable_batch_size
            arm.finder = "accelerate %s find_executable_batch_size" % (
                accelerate.__version__)
        except ImportError:
            pass
    if finder is None:
        finder = lambda starting_batch_size: emulated_finder(  # noqa: E731
            starting_batch_size)
        arm.finder = "emulated find_executable_batch_size (no accelerate)"
    state = {"i": 0, "calls": 0}

    def work(batch_size):
        state["calls"] += 1
        while state["i"] < len(items) and not arm.out_of_time():
            batch = items[state["i"]:state["i"] + batch_size]
            ctx.cuda.reset_peak_memory_stats()
            try:
                ctx.step(batch)
            except Exception as e:
                if ctx.is_oom(e):
                    arm.oom()
                raise
            arm.account(len(batch))
            state["i"] += len(batch)
        return batch_size

    try:
        final = finder(starting_batch_size=start)(work)()
    except RuntimeError as e:  # reached zero: the rest fails
        final = 0
        arm.error = str(e)[:300]
        arm.failed += len(items) - state["i"]
    return arm.report({"start_batch": start, "final_batch": final})


def run_fixed(ctx, items, seconds, size):
    arm = Arm("fixed", ctx.cuda, ctx.mem_start(), seconds)
    arm.finder = "fixed batch of %d" % size
    i = 0
    while i < len(items) and not arm.out_of_time():
        batch = items[i:i + size]
        ctx.cuda.reset_peak_memory_stats()
        failed = False
        try:
            ctx.step(batch)
        except Exception as e:
            if not ctx.is_oom(e):
                raise
            failed = True
        if failed:
            arm.oom()
            arm.failed += len(batch)
            ctx.cleanup()
        else:
            arm.account(len(batch))
        i += len(batch)
    return arm.report({"fixed_batch": size})


# ----------------------------------------------------------- the worker

class Context:
    """The model step and the memory readers of one run (real or dry)."""

    def __init__(self, args, spec, items, daemon, backend):
        self.args = args
        self.spec = spec
        self.items = items
        self.daemon = daemon
        self.backend = backend
        self.dry = args.dry_run
        self.device = 0
        self.rng = random.Random(args.seed)
        self.mem = None

    def tokens(self, item):
        return self.spec.image(*item["size"])[0]

    def mem_start(self):
        if self.mem is None:
            return None
        self.mem.start()
        return self.mem

    def cleanup(self):
        import gc
        gc.collect()
        self.cuda.empty_cache()

    # Dry run: the simulated GPU stands in for torch.cuda.
    def setup_dry(self, gpu_bytes):
        self.cuda = SimCuda(gpu_bytes, int(2 * self.spec.params))
        self.model = SimModel(self.spec, self.cuda)
        fake = types.ModuleType("torch")
        fake.cuda = self.cuda
        sys.modules["torch"] = fake  # what vgmo.torch.Runner imports

        def step(batch):
            tokens = sum(self.tokens(it) + self.args.prompt_tokens
                         for it in batch)
            self.model(tokens, self.args.max_new_tokens * len(batch))
        self.step = step
        self.is_oom = lambda e: isinstance(e, SimOOM)

    def setup_gpu(self):
        import torch
        import transformers
        transformers.logging.set_verbosity_error()
        self.torch = torch
        self.cuda = torch.cuda
        self.mem = vlmbench.DeviceMemory(torch)
        t = time.monotonic()
        self.model, self.build_note = vlmbench.build_model(
            torch, transformers, self.spec, self.args.attn)
        self.build_seconds = time.monotonic() - t
        self.is_oom = lambda e: vlmbench.is_oom(torch, e)
        spec, args = self.spec, self.args

        def step(batch):
            reqs = [([tuple(it["size"])], args.prompt_tokens) for it in batch]
            kw, _ = vlmbench.build_batch(torch, spec, reqs, "left", "cuda",
                                         self.rng)
            with torch.inference_mode():
                out = self.model.generate(
                    **kw, max_new_tokens=args.max_new_tokens,
                    min_new_tokens=args.max_new_tokens, do_sample=False,
                    num_beams=1, pad_token_id=spec.pad)
            torch.cuda.synchronize()
            del out, kw
        self.step = step
        step(self.items[:1])  # warm-up: kernels, cuBLAS workspaces
        self.cleanup()

    def environment(self):
        if self.dry:
            return {"gpu_name": None, "gpu_total_bytes": self.cuda.total,
                    "driver_version": None, "torch_version": None,
                    "transformers_version": None,
                    "build_seconds": None, "build_note": None}
        import transformers
        torch = self.torch
        return {"gpu_name": torch.cuda.get_device_name(0),
                "gpu_total_bytes": int(
                    torch.cuda.get_device_properties(0).total_memory),
                "driver_version": self.mem.driver(),
                "torch_version": torch.__version__,
                "transformers_version": transformers.__version__,
                "build_seconds": round(self.build_seconds, 3),
                "build_note": self.build_note}


class Stop(BaseException):
    """SIGTERM: leave what was written (after each arm) as it is."""


def on_signal(signum, frame):
    raise Stop()


def write(path, doc, final=False):
    """The report so far: replaced whole (temp file, rename) after each
    arm, so that a run cut off leaves the arms it finished. Without
    --output it is printed once, at the end."""
    text = json.dumps(doc, indent=1) + "\n"
    if path is None:
        if final:
            sys.stdout.write(text)
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def run_arm(ctx, name, items):
    args = ctx.args
    if name == "vgmo":
        return run_vgmo(ctx, items, args.arm_seconds)
    if name == "accelerate":
        return run_accelerate(ctx, items, args.arm_seconds, args.start_batch)
    return run_fixed(ctx, items, args.arm_seconds, args.fixed_batch)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vgmo", default=os.path.join(HERE, "..", "build",
                                                   "vgmo"),
                    help="the vgmo program (default build/vgmo)")
    ap.add_argument("--backend", choices=("nvml", "sim"),
                    help="vgmo serve's backend (default nvml; sim with "
                    "--dry-run)")
    ap.add_argument("--model", default="qwen2-vl-7b", choices=list(MODELS))
    ap.add_argument("--items", type=int, default=48,
                    help="images in the folder (default 48)")
    ap.add_argument("--folder", help="write the images here (default a "
                    "temporary folder, removed afterwards)")
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--fixed-batch", type=int, default=8)
    ap.add_argument("--start-batch", type=int, default=64,
                    help="find_executable_batch_size's starting size, and "
                    "vgmo's --max-batch-size (default 64)")
    ap.add_argument("--arm-seconds", type=float, default=25.0,
                    help="work per arm; it stops taking batches after "
                    "that (default 25)")
    ap.add_argument("--arms", default="vgmo,accelerate,fixed")
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--output", "-o", help="JSON file (default stdout)")
    ap.add_argument("--dry-run", action="store_true",
                    help="no torch: a simulated model and GPU (see above)")
    ap.add_argument("--sim-gpu-gib", type=float, default=22.0,
                    help="the dry run's GPU (default 22, an L4's usable "
                    "memory)")
    a = ap.parse_args(argv)
    a.arms = [x.strip() for x in a.arms.split(",") if x.strip()]
    if not a.arms or set(a.arms) - {"vgmo", "accelerate", "fixed"}:
        ap.error("--arms takes vgmo, accelerate and fixed")
    for key in ("items", "fixed_batch", "start_batch", "max_new_tokens"):
        if getattr(a, key) < 1:
            ap.error("--%s must be >= 1" % key.replace("_", "-"))
    if a.prompt_tokens < 0 or not a.arm_seconds > 0:
        ap.error("--prompt-tokens must be >= 0 and --arm-seconds > 0")
    return a


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    spec = MODELS[args.model]
    folder = args.folder or tempfile.mkdtemp(prefix="vgmo-loop-")
    state = tempfile.mkdtemp(prefix="vgmo-loop-state-")
    os.makedirs(folder, exist_ok=True)
    daemon = None
    try:
        paths = make_folder(folder, args.items, args.seed)
        items = []
        for p in paths:
            w, h = png_size(p)
            items.append({"path": p, "size": (w, h)})
        backend = args.backend or ("sim" if args.dry_run else "nvml")
        extra = ["--max-batch-size", str(args.start_batch)]
        if backend == "sim":
            extra += ["--sim-preset", "l4-24gb" if args.dry_run
                      else "h100-80gb", "--sim-workload", "none"]
        ctx = Context(args, spec, items, None, backend)
        if args.dry_run:
            ctx.setup_dry(int(args.sim_gpu_gib * GIB))
        else:
            log("building %s (random weights, bf16)" % spec.name)
            ctx.setup_gpu()
        daemon = Daemon(args.vgmo, backend, state, extra)
        ctx.daemon = daemon
        tokens = [ctx.tokens(it) for it in items]
        mix = {}
        for p in paths:
            label = os.path.basename(p)[4:-4]
            mix[label] = mix.get(label, 0) + 1
        doc = {"script_version": SCRIPT_VERSION, "dry_run": args.dry_run,
               "model": spec.name, "items": len(items), "mix": mix,
               "image_tokens": {"total": sum(tokens), "min": min(tokens),
                                "max": max(tokens)},
               "prompt_tokens": args.prompt_tokens,
               "max_new_tokens": args.max_new_tokens,
               "arm_seconds": args.arm_seconds,
               "daemon": {"backend": backend,
                          "max_batch_size": args.start_batch}}
        doc.update(ctx.environment())
        doc["arms"] = []
        doc["complete"] = False
        write(args.output, doc)  # what a run cut off still leaves
        for name in args.arms:
            log("arm %s: %d images" % (name, len(items)))
            ctx.cleanup()
            try:
                r = run_arm(ctx, name, items)
            except Exception as e:  # noqa: BLE001 - recorded, next arm
                r = {"name": name, "error": ("%s: %s" % (
                    type(e).__name__, e))[:500]}
            if r.get("items_done") is None:
                log("arm %s failed: %s" % (name, r["error"]))
            else:
                log("arm %s: %d done, %d failed, %d OOMs, %s images/s" % (
                    name, r["items_done"], r["items_failed"], r["ooms"],
                    r["items_per_s"]))
            doc["arms"].append(r)
            if name != args.arms[-1]:
                write(args.output, doc)
        doc["complete"] = True
        write(args.output, doc, final=True)
        return 0
    except Stop:
        log("interrupted")
        return 143
    finally:
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(state, ignore_errors=True)
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
