"""Warm end-to-end latency of the three kinds of query an examiner makes: a drawing, a drawing
with the application's title (the fused search), and a title alone, on the real development
library (804 sheets of 104 patents, default model, built once in --workdir).

Queries are real drawing sheets of real_dev (of patents with a title) with their own titles,
cutoff = their filing date.

    python bench/bench_query_modes.py [--queries 40] [--workdir /tmp/pe-bench-modes]
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (load, manifest_rows, pct, positive_int, real_dev_library,  # noqa: E402
                     require_real_dev, summary, table)

from core.models import load_model  # noqa: E402
from core.search import Searcher, SearchQuery  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--queries", type=positive_int, default=40)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pe-bench-modes"))
    args = ap.parse_args()
    require_real_dev()
    model = load_model("default")
    with real_dev_library(args.workdir, model) as lib:
        figures = lib.info()["figures"]
        searcher = Searcher(lib, model)
        searcher.warm_up()
        sheets = [r for r in manifest_rows(kind="drawing_sheet")
                  if (r.get("title") or "").strip()]
        sheets = sheets[::max(1, len(sheets) // args.queries)][:args.queries]
        modes = {
            "drawing": lambda r: SearchQuery(image=r["path"]),
            "drawing + title": lambda r: SearchQuery(image=r["path"],
                                                     text=r["title"]),
            "title only": lambda r: SearchQuery(text=r["title"]),
        }
        for make in modes.values():             # one warm-up round per mode
            searcher.search(make(sheets[0]))
        out = []
        for name, make in modes.items():
            timings = []
            for r in sheets:
                q = make(r)
                q.before = date.fromisoformat(r["filing_date"])
                timings.append(searcher.search(q).timings_ms)
            out.append([name, len(timings), pct([t["total"] for t in timings], 50),
                        pct([t["total"] for t in timings], 95),
                        *[pct([t.get(s, 0.0) for t in timings], 50) for s in
                          ("decode", "preprocess", "embed", "search", "metadata")]])
    print(f"\n### Query latency by kind of query, real_dev library ({figures} figures; "
          f"load {load()})\n")
    print(table(["query", "queries", "end-to-end p50 ms", "end-to-end p95 ms", "decode p50",
                 "preprocess p50", "embed p50 (image + text)", "search p50", "metadata p50"],
                out))


if __name__ == "__main__":
    main()
