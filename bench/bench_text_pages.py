"""How query pages of printed text are told from drawings (``core.drawing.prepare_query_page``).

A query of all pages of an application file leaves out pages of printed text (its
specification or bibliographic data) when other pages hold drawings. This counts, for every
real page at hand (read as a query page: no page kind given) and for generated text pages
(``core.synthetic.text_page``, 7-14 pt, one or two columns), how many are taken for text,
and prints the highest text share of a figure on a real page (the margin to the 0.95 cutoff).

    python bench/bench_text_pages.py [--text-pages N]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import SHARED_DATA, positive_int, summary  # noqa: E402
from core import _layout  # noqa: E402
from core.drawing import (DrawingConfig, _analyze, _find, _layout_box, _printed,  # noqa: E402
                          prepare_query_page)
from core.imageio import read_page  # noqa: E402
from core.synthetic import text_page  # noqa: E402

FOLDERS = [("real_dev", "*/page*.png"), ("uspto_redbook", "*/*.TIF"),
           ("deeppatent2_sheets", "images/*.png")]


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--text-pages", type=positive_int, default=100,
                    help="generated text pages to classify")
    args = ap.parse_args()
    cfg = DrawingConfig()
    print(f"{'pages':28s} {'n':>5s} {'with figures':>12s} {'taken for text':>15s} "
          f"{'max figure text share':>22s}")
    for folder, pattern in FOLDERS:
        paths = sorted((SHARED_DATA / folder).glob(pattern))
        if not paths:
            continue
        n_fig = n_text = 0
        top = (0.0, "")
        for path in paths:      # one analysis per page: what prepare_query_page decides on
            page = read_page(path)
            an = _analyze(page.array, None, cfg, page.sheet_dpi)
            boxes = _find(an, cfg)
            n_fig += bool(boxes)
            n_text += _printed(an, boxes)
            for b in boxes:
                share = _layout.text_share(an, _layout_box(an, b))
                top = max(top, (share, f"{path.relative_to(SHARED_DATA)} {b.to_list()}"))
        print(f"{folder:28s} {len(paths):5d} {n_fig:12d} {n_text:15d} {top[0]:22.3f}  {top[1]}")
    n_fig = n_text = 0
    for seed in range(args.text_pages):
        figures, text = prepare_query_page(text_page(seed), cfg, dpi=300)
        n_fig += bool(figures)
        n_text += text
    print(f"{'generated text pages':28s} {args.text_pages:5d} {n_fig:12d} {n_text:15d}  "
          f"(the other {args.text_pages - n_fig} yield no figure at all)")


if __name__ == "__main__":
    main()
