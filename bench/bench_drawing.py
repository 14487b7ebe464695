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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=60, help="pages per folder (0 = all)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per page (best kept)")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"no data folder at {args.data}")
    cfg = DrawingConfig()
    print(f"{'folder':26s} {'pages':>5s} {'fig/page':>8s} {'mean ms':>8s} {'median':>7s} "
          f"{'p95':>6s} {'cpu ms':>7s}")
    for name, folder, pattern, kind in FOLDERS:
        paths = sorted((args.data / folder).glob(pattern))
        if args.limit:
            paths = paths[::max(1, len(paths) // args.limit)][:args.limit]
        if not paths:
            continue
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
