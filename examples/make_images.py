#!/usr/bin/env python3
"""Writes a folder of synthetic document pages (PNG) for trying vgmo.

    python3 examples/make_images.py --out /tmp/pages --count 40

Each page is a real, viewable PNG: white paper with grey lines of "text"
and now and then a dark "figure", in the sizes scanned pages come in (A4
and US Letter at 100 to 200 dpi, some landscape). The same --seed gives
the same pages. Standard library only.
"""

import argparse
import os
import random
import struct
import sys
import zlib

# (width, height) at 100 dpi; scaled by the page's dpi / 100.
PAPERS = ((827, 1169), (850, 1100))  # A4, US Letter
WHITE, INK, FIGURE = 250, 90, 40


def png(width, height, rows):
    """A greyscale 8-bit PNG from `rows` (bytes of `width` each)."""
    def chunk(kind, data):
        body = kind + data
        return (struct.pack(">I", len(data)) + body +
                struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 per row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def page(rng, width, height):
    """Rows of a page: margins, lines of text, maybe a figure."""
    blank = bytes([WHITE]) * width
    margin = width // 10
    line_h = max(6, height // 90)
    rows = []
    figure = None
    if rng.random() < 0.4:
        top = rng.randrange(height // 5, height // 2)
        figure = (top, top + height // 4)
    y = margin
    rows.extend([blank] * margin)
    while y < height - margin:
        if figure and figure[0] <= y < figure[1]:
            span = bytes([FIGURE]) * (width - 2 * margin)
            row = blank[:margin] + span + blank[:margin]
            n = min(figure[1], height - margin) - y
            rows.extend([row] * n)
            y += n
            continue
        length = rng.randrange((width - 2 * margin) // 2, width - 2 * margin)
        row = (blank[:margin] + bytes([INK]) * length +
               blank[:width - margin - length])
        n = min(line_h, height - margin - y)
        rows.extend([row] * n)
        rows.extend([blank] * min(line_h, max(0, height - margin - y - n)))
        y += 2 * line_h
    rows.extend([blank] * (height - len(rows)))
    return rows[:height]


def positive(text):
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text)
    if not 1 <= n <= 100000:
        raise argparse.ArgumentTypeError("must be in 1..100000")
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, metavar="DIR",
                    help="folder to write into (made if missing)")
    ap.add_argument("--count", type=positive, default=40, metavar="N",
                    help="how many pages (default 40)")
    ap.add_argument("--seed", type=int, default=1,
                    help="the same seed gives the same pages (default 1)")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    try:
        os.makedirs(args.out, exist_ok=True)
        for i in range(args.count):
            w, h = rng.choice(PAPERS)
            dpi = rng.choice((100, 150, 200))
            w, h = w * dpi // 100, h * dpi // 100
            if rng.random() < 0.15:
                w, h = h, w  # landscape
            path = os.path.join(args.out, "page%04d.png" % i)
            with open(path, "wb") as f:
                f.write(png(w, h, page(rng, w, h)))
    except OSError as e:
        print("make_images: cannot write in --out %s: %s"
              % (args.out, e.strerror or e), file=sys.stderr)
        return 1
    print("wrote %d pages to %s" % (args.count, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
