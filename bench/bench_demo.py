"""First run and demo vs real quality: time to build the demo library (drawing, then
indexing), and retrieval of the default model on the demo library next to real_dev, patent
level: same design (MRR@10) and prior art of the same Locarno subclass (mAP, filing-date
cutoff), so nobody mistakes demo quality for real quality.

The real_dev row is the shipped model on patents it was trained on (all 109 real patents are
its training data): its held-out, cross-validated numbers are in docs/results_training.md.

    python bench/bench_demo.py [--patents 200] [--workdir /tmp/pe-bench-demo]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, load, positive_int, summary, table  # noqa: E402

from core.demo import DEMO_PATENTS, build_demo_library  # noqa: E402
from core.evaluation import Gallery, evaluate, library_query_vectors, queries_from_library  # noqa: E402
from core.ingest import ingest  # noqa: E402
from core.library import Library  # noqa: E402
from core.models import load_model  # noqa: E402


def quality(lib: Library) -> list:
    """[queries, same-design MRR@10, Hit@1, prior-art queries, prior-art subclass mAP]."""
    gallery = Gallery.from_library(lib)
    queries = queries_from_library(lib)
    res = evaluate(gallery, queries, library_query_vectors(lib, gallery))
    # (a small demo may have no query of a kind: no earlier patent of its subclass)
    sd = res.metrics.get("same_design", {}).get("patent", {})
    pa = res.metrics.get("prior_art_subclass", {}).get("patent", {})
    return [res.counts.get("same_design", 0), sd.get("MRR@10", "–"), sd.get("Hit@1", "–"),
            res.counts.get("prior_art_subclass", 0), pa.get("mAP", "–")]


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--patents", type=positive_int, default=DEMO_PATENTS)
    ap.add_argument("--workdir", default="/tmp/pe-bench-demo")
    args = ap.parse_args()
    work = Path(args.workdir)
    for made in (work / "demo", work / "real"):
        if made.exists() and not (made / "library.sqlite").is_file():
            ap.error(f"{made} is not a library an earlier run made: give another --workdir")
    for made in (work / "demo", work / "real"):     # the libraries an earlier run made
        shutil.rmtree(made, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    print(f"load before: {load()}")
    t0 = time.perf_counter()
    model = load_model("default")
    t_model = time.perf_counter() - t0
    stages: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        stages[stage] = time.perf_counter() - t0

    demo = build_demo_library(work / "demo", n_patents=args.patents, model=model,
                              progress=progress)
    t_demo = time.perf_counter() - t0
    t_draw = stages.get("drawing", 0.0)
    with Library(demo.path) as lib:
        info = lib.info()
        rows = [["demo library (synthetic)", info["patents"], info["pages"], *quality(lib)]]
    if (SHARED_DATA / "real_dev").is_dir():
        with Library(work / "real", create=True) as lib:
            ingest(lib, [SHARED_DATA / "real_dev" / "manifest.jsonl"], model)
            real = lib.info()
            rows.append(["real_dev (real patents; in the model's training data)",
                         real["patents"], real["pages"], *quality(lib)])
    print(f"\nmodel {model.model_id} (load {t_model:.1f} s); demo library of {args.patents} "
          f"patents built in {t_demo:.1f} s: drawing {t_draw:.1f} s, indexing "
          f"{t_demo - t_draw:.1f} s ({info['pages']} pages); load after: {load()}\n")
    print(table(["library", "patents", "pages", "same-design queries", "same-design MRR@10",
                 "Hit@1", "prior-art queries", "prior-art mAP (subclass)"], rows))


if __name__ == "__main__":
    main()
