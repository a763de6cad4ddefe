#!/usr/bin/env python3
"""vlm_worker.py - a VLM worker that lets vgmo choose its batch size.

It processes every image in a folder, in batches of the size the vgmo
daemon gives it, and reports what each batch cost::

    vgmo serve --backend sim &          # or on a real GPU
    python3 examples/vlm_worker.py --folder ./scans --name docparse-1

The model is a callable that takes a list of image paths. ``--model
MODULE:FUNCTION`` imports yours; with PyTorch and a GPU, vgmo.torch.Runner
measures each batch (peak, allocated, reserved, out-of-memory) around it.
Without one, or with no GPU, a fake model stands in: its peak memory is a
fixed part (the weights) plus a part that follows the pixels of the images
in the batch, with some noise, and it runs out of memory when the batch
does not fit in the simulated device -- so the worker drives the daemon's
simulated GPU the way a real one would.

With ``--unit tokens`` the worker tells vgmo each image's shape before it
runs (``Client.plan``): vgmo answers how many images from the head of the
queue fit, and refuses up front an image that could never fit (it is
skipped with vgmo's reason and the largest size that would fit) instead
of running it out of memory. Image tokens are counted as a Qwen2-VL-style
processor does (one token per 28 x 28 pixels), or with ``--vgmo-model``'s
preset.

Standard library only (PyTorch when --model is given and a GPU is there).
"""

import argparse
import importlib
import logging
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import vgmo  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif",
              ".tiff")


def image_size(path):
    """(width, height) from a PNG, GIF, BMP or JPEG header; None when the
    format is not one of those."""
    with open(path, "rb") as f:
        head = f.read(32)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", head[6:10])
        if head[:2] == b"BM" and len(head) >= 26:
            w, h = struct.unpack("<ii", head[18:26])
            return abs(w), abs(h)
        if head[:2] == b"\xff\xd8":
            return _jpeg_size(f)
    return None


def _jpeg_size(f):
    f.seek(2)
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:
            continue
        length = struct.unpack(">H", f.read(2))[0]
        if 0xC0 <= marker[1] <= 0xCF and marker[1] not in (0xC4, 0xC8,
                                                           0xCC):
            h, w = struct.unpack(">xHH", f.read(5))
            return w, h
        f.seek(length - 2, os.SEEK_CUR)


def request_of(path, count_tokens):
    """The request vgmo judges for one image: its size (and, without a
    model preset at the daemon, its tokens)."""
    try:
        size = image_size(path)
    except (OSError, struct.error):
        size = None
    if not size:
        side = max(1, int(pixels(path) ** 0.5))
        size = (side, side)
    req = {"images": [size]}
    if count_tokens:
        req["image_tokens"] = -(-size[0] // 28) * -(-size[1] // 28)
    return req


def pixels(path):
    """The image's pixel count (from its header; else its file size)."""
    try:
        size = image_size(path)
    except (OSError, struct.error):
        size = None
    if size:
        return size[0] * size[1]
    return os.path.getsize(path)


class FakeOOM(Exception):
    pass


class FakeModel:
    """A stand-in for a VLM on a simulated GPU: peak = fixed + bytes per
    pixel x the batch's pixels (+ noise); an OOM above ``oom_bytes``. It
    keeps a caching allocator's reserved bytes, which a cleanup releases."""

    def __init__(self, fixed_bytes, bytes_per_pixel, oom_bytes,
                 seconds_per_image, seed=1):
        self.fixed = fixed_bytes
        self.per_pixel = bytes_per_pixel
        self.oom_bytes = oom_bytes
        self.seconds_per_image = seconds_per_image
        self.rng = random.Random(seed)
        self.reserved = fixed_bytes

    def __call__(self, paths):
        need = sum(pixels(p) for p in paths) * self.per_pixel
        peak = int(self.fixed + need * (1 + self.rng.gauss(0, 0.02)))
        if peak > self.oom_bytes:
            raise FakeOOM("%d bytes do not fit" % peak)
        # The allocator rounds to 2 MiB blocks and keeps what it got.
        self.reserved = max(self.reserved, -(-peak // (2 * MIB)) * 2 * MIB)
        time.sleep(self.seconds_per_image * len(paths))
        return ["caption of %s" % os.path.basename(p) for p in paths], peak

    def cleanup(self):
        freed, self.reserved = self.reserved - self.fixed, self.fixed
        return freed


def load_model(spec):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "model")


def gpu_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def run_batch(client, model, paths, freed, requests=None):
    """Runs one batch on the fake model and reports it. Returns its peak
    (None: out of memory) and the bytes a cleanup freed, to send next."""
    start = time.monotonic()
    try:
        _, peak = model(paths)
    except FakeOOM:
        client.report_oom(len(paths), allocated_bytes=model.fixed,
                          reserved_bytes=model.reserved)
        return None, model.cleanup()  # as after a real OOM
    client.report(len(paths), peak, allocated_bytes=model.fixed,
                  reserved_bytes=model.reserved,
                  seconds=time.monotonic() - start, freed_bytes=freed,
                  requests=requests)
    return peak, model.cleanup() if client.cleanup_requested else None


def run_fake(client, model, files, verbose):
    stats = {"batches": 0, "ooms": 0, "images": 0}
    freed = None
    i = 0
    while i < len(files):
        batch = files[i:i + max(1, client.batch_size())]
        peak, freed = run_batch(client, model, batch, freed)
        if peak is None:
            stats["ooms"] += 1
            if verbose:
                print("batch of %d: out of memory; next %d" %
                      (len(batch), client.batch_size()))
            if len(batch) == 1:  # never fits: skip it
                print("%s does not fit on the GPU; skipped" % batch[0],
                      file=sys.stderr)
                i += 1
            continue
        stats["batches"] += 1
        stats["images"] += len(batch)
        i += len(batch)
        if verbose:
            print("batch of %d: peak %.2f GiB; next %d" %
                  (len(batch), peak / GIB, client.batch_size()))
    return stats


PLAN_AHEAD = 64  # requests from the head of the queue sent to /plan


def run_fake_planned(client, model, files, verbose, count_tokens):
    """run_fake, asking vgmo how many requests from the head fit."""
    stats = {"batches": 0, "ooms": 0, "images": 0, "refused": 0}
    queue = [(f, request_of(f, count_tokens)) for f in files]
    deferred = set()
    freed = None
    while queue:
        plan = client.plan([r for _, r in queue[:PLAN_AHEAD]])
        if plan.take == 0:
            path, req = queue.pop(0)
            # "not_now" (in doubt, or the GPU is busy): once to the back
            # of the queue, to try again later; "never", or twice: skip.
            if plan.head.verdict == "not_now" and path not in deferred:
                deferred.add(path)
                queue.append((path, req))
                continue
            stats["refused"] += 1
            print("%s does not fit: %s; skipped" % (path, plan.head.reason),
                  file=sys.stderr)
            if plan.head.max_pixels:
                print("  (at most %d pixels per image fit now)" %
                      plan.head.max_pixels, file=sys.stderr)
            continue
        batch = queue[:plan.take]
        peak, freed = run_batch(client, model, [p for p, _ in batch], freed,
                                [r for _, r in batch])
        if peak is None:
            stats["ooms"] += 1
            if verbose:
                print("batch of %d: out of memory" % len(batch))
            if len(batch) == 1:  # it failed alone: skip it
                print("%s does not fit on the GPU; skipped" % batch[0][0],
                      file=sys.stderr)
                del queue[:1]
            continue  # the plan after an OOM is smaller
        stats["batches"] += 1
        stats["images"] += len(batch)
        del queue[:len(batch)]
        if verbose:
            print("batch of %d: peak %.2f GiB" % (len(batch), peak / GIB))
    return stats


def run_torch(client, fn, files, verbose):
    import vgmo.torch
    runner = vgmo.torch.Runner(client, oom="return")
    stats = {"batches": 0, "ooms": 0, "images": 0}
    i = 0
    while i < len(files):
        n = max(1, runner.batch_size())
        batch = files[i:i + n]
        if runner.run(fn, len(batch), batch) is vgmo.torch.OOM:
            stats["ooms"] += 1
            if len(batch) == 1:  # never fits: skip it
                print("%s does not fit on the GPU; skipped" % batch[0],
                      file=sys.stderr)
                i += 1
            continue
        stats["batches"] += 1
        stats["images"] += len(batch)
        i += len(batch)
        if verbose:
            print("batch of %d; next %d" % (len(batch), runner.batch_size()))
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", help="daemon URL (default $VGMO_SERVER or "
                    "http://127.0.0.1:8080)")
    ap.add_argument("--name", default="vlm-worker",
                    help="worker name, unique per GPU (default vlm-worker)")
    ap.add_argument("--gpu", default="0", help="GPU index or UUID")
    ap.add_argument("--folder", required=True, help="folder of images")
    ap.add_argument("--token-file", help="the daemon's bearer token")
    ap.add_argument("--weight", type=float, default=1.0,
                    help="this worker's share of the GPU against other "
                    "workers on it (default 1.0)")
    ap.add_argument("--model", help="MODULE:FUNCTION taking a list of "
                    "image paths (needs PyTorch and a GPU)")
    ap.add_argument("--unit", choices=("images", "tokens"), default="images",
                    help="images: vgmo gives a batch size; tokens: vgmo "
                    "plans each batch from the images' sizes and refuses "
                    "one that cannot fit (fake model only)")
    ap.add_argument("--vgmo-model", metavar="PRESET",
                    help="with --unit tokens: the model preset vgmo "
                    "counts image tokens with (vgmo plan --help)")
    ap.add_argument("--attention", choices=vgmo.client.ATTENTIONS,
                    help="the attention implementation the language "
                    "decoder runs (transformers' attn_implementation); "
                    "default: unknown, vgmo learns its cost")
    ap.add_argument("--vision-attention", choices=vgmo.client.ATTENTIONS,
                    help="the attention implementation the vision encoder "
                    "runs; default: unknown, vgmo learns its cost")
    ap.add_argument("--logits", choices=vgmo.client.LOGITS,
                    help="the positions the prefill computes logits for: "
                    "last (generate with logits_to_keep) or all (a "
                    "forward pass that scores every prompt token); "
                    "default: unknown, vgmo learns its cost")
    ap.add_argument("--passes", type=int, default=1,
                    help="times through the folder, 0 for ever")
    ap.add_argument("--fixed-gib", type=float, default=16.0,
                    help="fake model: memory held whatever the batch")
    ap.add_argument("--gib-per-megapixel", type=float, default=4.0,
                    help="fake model: memory per megapixel in a batch")
    ap.add_argument("--gpu-gib", type=float, default=79.6,
                    help="fake model: device memory (the sim's H100)")
    ap.add_argument("--seconds-per-image", type=float, default=0.01,
                    help="fake model: time per image (default 0.01)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print each batch: size, peak memory, time")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        names = os.listdir(args.folder)
    except OSError as e:
        print("vlm_worker: cannot read --folder %s: %s (make one with: "
              "python3 examples/make_images.py --out %s --count 40)"
              % (args.folder, e.strerror or e, args.folder), file=sys.stderr)
        return 1
    files = sorted(os.path.join(args.folder, f) for f in names
                   if f.lower().endswith(IMAGE_EXTS))
    if not files:
        print("vlm_worker: no images (%s) in %s (make some with: python3 "
              "examples/make_images.py --out %s --count 40)"
              % (", ".join(IMAGE_EXTS), args.folder, args.folder),
              file=sys.stderr)
        return 1
    gpu = int(args.gpu) if args.gpu.isdigit() else args.gpu
    token = vgmo.read_token_file(args.token_file) if args.token_file \
        else None
    use_torch = args.model is not None and gpu_available()
    if args.model is not None and not use_torch:
        print("no PyTorch GPU: using the fake model", file=sys.stderr)
    planned = args.unit == "tokens" and not use_torch
    client = vgmo.Client(args.server, args.name, gpu=gpu, token=token,
                         weight=args.weight,
                         unit="tokens" if planned else "images",
                         model=args.vgmo_model if planned else None,
                         attention=args.attention,
                         vision_attention=args.vision_attention,
                         logits=args.logits)
    total = {"batches": 0, "ooms": 0, "images": 0, "refused": 0}
    start = time.monotonic()
    with client:
        if use_torch:
            def one_pass():
                return run_torch(client, load_model(args.model), files,
                                 args.verbose)
        else:
            model = FakeModel(int(args.fixed_gib * GIB),
                              args.gib_per_megapixel * GIB / 1e6,
                              int(args.gpu_gib * GIB),
                              args.seconds_per_image)

            def one_pass():
                if planned:
                    return run_fake_planned(client, model, files,
                                            args.verbose,
                                            args.vgmo_model is None)
                return run_fake(client, model, files, args.verbose)
        done = 0
        while args.passes == 0 or done < args.passes:
            for k, v in one_pass().items():
                total[k] += v
            done += 1
        final = client.batch_size()
    print("processed %d images in %d batches (%d out of memory%s) in "
          "%.1f s; last batch size %d" %
          (total["images"], total["batches"], total["ooms"],
           ", %d refused" % total["refused"] if planned else "",
           time.monotonic() - start, final))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
