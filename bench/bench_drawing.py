"""Drawing preprocessing speed: find_figures + render_figure of every figure, per data folder.

Prints one table row per folder of ../shared/data: pages, figures per page, and milliseconds
per page (mean, median, 95th percentile of wall time; mean CPU time of this process, which is
less disturbed by other load on a shared machine). Decoding the image file is not timed.

    python bench/bench_drawing.py [--data DIR] [--limit N] [--repeat R]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import non_negative_int, positive_int, summary  # noqa: E402
from core.drawing import DrawingConfig, find_figures, render_figure  # noqa: E402
from core.imageio import read_page  # noqa: E402

FOLDERS = [
    ("real_dev drawing sheets", "real_dev", "*/page*_sheet.png", "drawing_sheet"),
    ("real_dev front pages", "real_dev", "*/page00_front.png", "front_page"),
    ("uspto_redbook TIFF", "uspto_redbook", "*/*.TIF", None),
    ("deeppatent2_sheets", "deeppatent2_sheets", "images/*.png", None),
]


def time_page(page, page_kind, cfg) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    boxes = find_figures(page, page_kind, cfg)
    for box in boxes:
        render_figure(page, box, cfg)
    return time.perf_counter() - wall, time.process_time() - cpu, len(boxes)


def main() -> None:
    looks_for = ", ".join(f"{folder}/{pattern}" for _, folder, pattern, _ in FOLDERS)
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                    help=f"folder holding the pages: any of {looks_for} (default: %(default)s)")
    ap.add_argument("--limit", type=non_negative_int, default=60,
                    help="pages per folder (0 = all)")
    ap.add_argument("--repeat", type=positive_int, default=1,
                    help="timed runs per page (best kept)")
    args = ap.parse_args()
    if not args.data.is_dir():
        ap.error(f"--data: no folder at {args.data}")
    found = []
    for name, folder, pattern, kind in FOLDERS:
        paths = sorted((args.data / folder).glob(pattern))
        if args.limit:
            paths = paths[::max(1, len(paths) // args.limit)][:args.limit]
        if paths:
            found.append((name, kind, paths))
    if not found:
        hint = (f"; did you mean --data {args.data.parent}?"
                if args.data.name in {folder for _, folder, _, _ in FOLDERS} else "")
        ap.error(f"--data: no pages in {args.data} (looks for {looks_for}){hint}")
    cfg = DrawingConfig()
    print(f"{'folder':26s} {'pages':>5s} {'fig/page':>8s} {'mean ms':>8s} {'median':>7s} "
          f"{'p95':>6s} {'cpu ms':>7s}")
    for name, kind, paths in found:
        walls, cpus, figs = [], [], []
        for path in paths:
            page = read_page(path).array
            runs = [time_page(page.copy(), kind, cfg) for _ in range(args.repeat)]
            wall, cpu, n = min(runs)
            walls.append(wall * 1e3)
            cpus.append(cpu * 1e3)
            figs.append(n)
        walls.sort()
        print(f"{name:26s} {len(paths):5d} {statistics.mean(figs):8.2f} "
              f"{statistics.mean(walls):8.1f} {statistics.median(walls):7.1f} "
              f"{walls[int(0.95 * (len(walls) - 1))]:6.1f} {statistics.mean(cpus):7.1f}")


if __name__ == "__main__":
    main()
