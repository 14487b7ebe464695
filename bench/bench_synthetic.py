"""Throughput of the synthetic generator on one core: drawings (single views) per second per
family at 1024 px, drawing sheets per second (composition, and composition + 1-bit PNG), and
whole patents per second written by write_corpus with the demo-library settings.

    python bench/bench_synthetic.py [--designs 4] [--size 1024] [--sheets 20] [--corpus 20]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import positive_int, summary  # noqa: E402
from core.synthetic import (FAMILIES, VIEWS, generate_patent, render_sheets,  # noqa: E402
                            save_png, write_corpus)


def _clock():
    return time.perf_counter(), time.process_time()


# below ~0.011 the header's font size rounds to 0 px, which PIL refuses; 0.05 keeps a margin
MIN_SCALE = 0.05


def sheet_scale(text: str) -> float:
    """--scale: a number >= MIN_SCALE."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= MIN_SCALE or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of at least {MIN_SCALE}, got {text!r}")
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--designs", type=positive_int, default=4, help="designs per family")
    ap.add_argument("--size", type=positive_int, default=1024, help="drawing size in pixels")
    ap.add_argument("--sheets", type=positive_int, default=20,
                    help="patents whose sheets are timed")
    ap.add_argument("--scale", type=sheet_scale, default=1.0,
                    help=f"sheet scale (1 = 2550x3300; at least {MIN_SCALE})")
    ap.add_argument("--corpus", type=positive_int, default=20,
                    help="patents for write_corpus timing")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # one core
    generate_patent(0, size=64)   # imports and caches out of the timing

    print(f"drawings per second, {args.size} px, {args.designs} designs x {len(VIEWS)} views")
    print(f"{'family':<12} {'locarno':<8} {'wall/s':>8} {'cpu/s':>8}")
    total_n, total_wall, total_cpu = 0, 0.0, 0.0
    for k, name in enumerate(FAMILIES):
        w0, c0 = _clock()
        for i in range(args.designs):
            generate_patent(1000 + 97 * k + i, family=name, size=args.size)
        w1, c1 = _clock()
        n = args.designs * len(VIEWS)
        total_n, total_wall, total_cpu = total_n + n, total_wall + w1 - w0, total_cpu + c1 - c0
        print(f"{name:<12} {FAMILIES[name].locarno:<8} {n / (w1 - w0):8.1f} "
              f"{n / (c1 - c0):8.1f}")
    print(f"{'all':<21} {total_n / total_wall:8.1f} {total_n / total_cpu:8.1f}")

    patents = [generate_patent(i, size=args.size) for i in range(args.sheets)]
    with tempfile.TemporaryDirectory() as tmp:
        w0, c0 = _clock()
        pages = [page for p in patents for page in render_sheets(p, args.scale)]
        w1, c1 = _clock()
        for k, page in enumerate(pages):
            save_png(page, Path(tmp) / f"{k}.png")
        w2, c2 = _clock()
        size_kb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / len(pages) / 1024
    n = len(pages)
    print(f"\nsheets ({args.scale:g} scale, {n} sheets of {args.sheets} patents, "
          f"{n / args.sheets:.1f} per patent, {size_kb:.0f} KiB per 1-bit PNG)")
    print(f"compose           {n / (w1 - w0):8.1f} {n / (c1 - c0):8.1f}  sheets/s (wall, cpu)")
    print(f"compose + PNG     {n / (w2 - w0):8.1f} {n / (c2 - c0):8.1f}  sheets/s (wall, cpu)")

    with tempfile.TemporaryDirectory() as tmp:
        w0, c0 = _clock()
        write_corpus(tmp, args.corpus, size=768, scale=0.5)
        w1, c1 = _clock()
    print(f"\nwrite_corpus(size=768, scale=0.5), {args.corpus} patents, one process")
    print(f"patents/s         {args.corpus / (w1 - w0):8.1f} {args.corpus / (c1 - c0):8.1f}"
          "  (wall, cpu)")


if __name__ == "__main__":
    main()
