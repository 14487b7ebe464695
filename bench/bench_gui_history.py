"""GUI-thread time of the search history dock: filling it with N logged searches (as the window
does after every search while the dock is open) and resizing it, with sheets of one grant
that differ only in their number (the names the dock elides the most work for).

No library is needed: the records are made up, as the log gives them to the dock.

    python bench/bench_gui_history.py [--searches 50,500] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import summary, table  # noqa: E402


def searches(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"counts must be 1 or more: {text!r}")
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--searches", type=searches, default=[50, 500],
                    help="logged searches to list, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="timed fills (the best is kept)")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be 1 or more")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from examiner_app.history_panel import HistoryPanel

    app = QApplication.instance() or QApplication([])
    rows = []
    for n in args.searches:
        records = [{"id": i + 1, "query_path": f"/q/USD0919445-20210518-D{i:05d}.TIF",
                    "query_page": 0, "results": [{}] * 10, "session": "s",
                    "at": "2026-12-06T11:00:00+00:00", "before": "2022-01-01"}
                   for i in range(n)]
        panel = HistoryPanel()
        panel.resize(400, 600)
        panel.show()
        app.processEvents()
        fills = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            panel.set_records(records, "s")
            app.processEvents()
            fills.append(time.perf_counter() - t)
        resizes = []
        for width in (360, 320, 280, 240):
            t = time.perf_counter()
            panel.resize(width, 600)
            app.processEvents()
            panel._fit_query()
            resizes.append(time.perf_counter() - t)
        rows.append([n, min(fills) * 1000, max(fills) * 1000, max(resizes) * 1000])
        panel.close()
    print(table(["searches listed", "fill, best (ms)", "fill, worst (ms)",
                 "resize, worst (ms)"], rows))


if __name__ == "__main__":
    main()
