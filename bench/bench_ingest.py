"""Ingestion throughput on real 300 dpi sheets, and where a page's time goes.

    python bench/bench_ingest.py [--pages 804] [--sample 40] [--workers N]

1. Stage costs, one process, one thread, CPU ms (robust to other users' load): page decode,
   the drawing preprocessing function by function, and the model per figure (the frozen CPU
   graph the pipeline uses, and eager ``encode_images`` for comparison).
2. End to end: ``patent-examiner index add real_dev/manifest.jsonl`` (default model) into a
   fresh library under /tmp: pages/s, and CPU ms per page over all processes.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
import core  # noqa: E402,F401  (process settings before torch loads: core/_env.py)
from _common import (SHARED_DATA, TreeCPU, load, machine, manifest_rows,  # noqa: E402
                     non_negative_int, positive_int, summary, table)


def stage_costs(manifest: Path, n: int) -> None:
    import torch

    from core.drawing import DrawingConfig, find_figures, prepare_page, render_figure
    from core.embed import CpuEncoder
    from core.imageio import read_page
    from core.models import load_model

    torch.set_num_threads(1)
    rows = manifest_rows(manifest, n)
    cfg = DrawingConfig()
    pages = []
    t_dec = time.process_time()
    for r in rows:
        pages.append((read_page(r["path"]).array, r["page_kind"]))
    t_dec = (time.process_time() - t_dec) / len(rows) * 1000
    prepare_page(*pages[0], cfg)
    prof = cProfile.Profile()
    t0 = time.process_time()
    prof.enable()
    figures = [im for a, k in pages for _, im in prepare_page(a, k, cfg)]
    prof.disable()
    t_prep = (time.process_time() - t0) / len(rows) * 1000
    t0 = time.process_time()
    for a, k in pages:
        [render_figure(a, b, cfg) for b in find_figures(a, k, cfg)]
    t_old = (time.process_time() - t0) / len(rows) * 1000
    model = load_model("default")
    enc = CpuEncoder(model)
    enc(figures[:2])
    t0 = time.process_time()
    enc(figures)
    t_enc = (time.process_time() - t0) / len(figures) * 1000
    batch = model.images_to_tensor(figures[:32])
    model.encode_images(batch)
    t0 = time.process_time()
    model.encode_images(batch)
    t_eager = (time.process_time() - t0) / len(batch) * 1000
    per_page = len(figures) / len(rows)
    print(f"\n### Stage costs ({len(rows)} real pages, {per_page:.2f} figures/page, one thread, "
          f"CPU ms; load {load()})\n")
    print(table(["stage", "CPU ms per page", "note"], [
        ["decode (core.imageio.read_page)", t_dec, "PNG 1-bit 2560x3300 -> uint8"],
        ["drawing.prepare_page (one layout analysis)", t_prep, "what the pipeline runs"],
        ["find_figures + render_figure per figure", t_old, "before: analysis per figure"],
        ["model, frozen CPU graph, 1 figure/call", t_enc * per_page,
         f"{t_enc:.1f} ms per figure"],
        ["model, eager encode_images, batch 32", t_eager * per_page,
         f"{t_eager:.1f} ms per figure"],
        ["total per page (decode + prepare + graph)", t_dec + t_prep + t_enc * per_page,
         f"2 cores: at most {2000 / (t_dec + t_prep + t_enc * per_page):.1f} pages/s"],
    ]))
    stats = pstats.Stats(prof)
    rows_out = []
    for (file, line, fn), (_, calls, tt, ct, _) in stats.stats.items():
        if "/core/" in file and ct / len(rows) * 1000 >= 1.0:
            rows_out.append([f"{Path(file).name}:{fn}", calls, tt / len(rows) * 1000,
                             ct / len(rows) * 1000])
    rows_out.sort(key=lambda r: -r[3])
    print("\n### drawing.prepare_page by function (cProfile, CPU ms per page; profiling "
          "inflates small calls)\n")
    print(table(["function", "calls", "own ms/page", "cumulative ms/page"], rows_out[:18]))


def end_to_end(manifest: Path, n_pages: int, workers: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "manifest.jsonl"
        rows = manifest_rows(manifest, n_pages)
        for r in rows:
            r["image"] = str(r.pop("path").resolve())
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
        cmd = [sys.executable, "-m", "core.cli", "index", "add", str(src), "--allow-absolute",
               "--library", str(Path(tmp) / "lib"), "--json"]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        before, t0 = load(), time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).parents[1])
        tree = TreeCPU(proc.pid)
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - t0
        tree.stop()
        cpu = tree.total
        if proc.returncode != 0:
            raise SystemExit(stderr)
        rep = json.loads(stdout.strip().splitlines()[-1])
    pages = rep["added_pages"]
    print(f"\n### End to end: `patent-examiner index add` ({pages} real pages, default model, "
          f"workers {workers or 'default'})\n")
    print(table(["pages", "figures", "ingest s", "pages/s (ingest)", "process wall s",
                 "CPU ms/page (all processes)", "2 idle cores: pages/s", "load before",
                 "load after"],
                [[pages, rep["added_figures"], rep["seconds"], pages / rep["seconds"], wall,
                  cpu / pages * 1000, 2000 / (cpu / pages * 1000), before, load()]]))


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--data", type=Path, default=SHARED_DATA,
                    help="folder holding real_dev/manifest.jsonl and its pages "
                         "(default: %(default)s)")
    ap.add_argument("--pages", type=positive_int, default=804,
                    help="pages for the end-to-end run")
    ap.add_argument("--sample", type=positive_int, default=40, help="pages for the stage costs")
    ap.add_argument("--workers", type=non_negative_int, default=None,
                    help="page-decoding processes of `index add` (default: its own; 0: "
                         "in-process)")
    ap.add_argument("--skip-stages", action="store_true", help="only the end-to-end run")
    args = ap.parse_args()
    manifest = args.data / "real_dev" / "manifest.jsonl"
    if not manifest.is_file():
        ap.error(f"--data: no real_dev/manifest.jsonl in {args.data}")
    print(f"machine: {machine()}")
    if not args.skip_stages:
        stage_costs(manifest, args.sample)
    end_to_end(manifest, args.pages, args.workers)


if __name__ == "__main__":
    main()
