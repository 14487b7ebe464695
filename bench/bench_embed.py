"""Embedding throughput (drawings/s) against the machine's own ceiling, and where time goes.

    python bench/bench_embed.py [--model default] [--pages 48]

Ceiling = sustained fp32 matrix-multiply GFLOP/s of this machine, measured in the same run
with the same threads, divided by the model's FLOPs per drawing (torch's flop counter):
the drawings/s the model would reach if it ran as efficiently as a large matmul. Rows: the
eager model (``PatentModel.encode_images``) and the frozen CPU graph the app uses
(``core.embed.CpuEncoder``), at several batch sizes and thread counts; on a GPU the eager
model under its autocast. Then the page pipeline on real 1-bit 300 dpi sheets: decode and
preprocess vs model shares, and how well the process pool overlaps them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import core  # noqa: E402,F401  (process settings before torch loads: core/_env.py)
from _common import (REAL_DEV, TreeCPU, load, machine, manifest_rows, positive_int,  # noqa: E402
                     summary, table)


def _clock(threads: int, device: str):
    """CPU time for one thread on a CPU (what the code costs, whatever else the shared
    machine runs), wall time otherwise."""
    return time.process_time if threads == 1 and device == "cpu" else time.perf_counter


def matmul_gflops(device: str, threads: int, seconds: float = 1.0) -> float:
    import torch

    torch.set_num_threads(threads)
    n = 1024 if device == "cpu" else 8192
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    clock = _clock(threads, device)
    a @ b
    rates, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        if device != "cpu":
            torch.cuda.synchronize()
        t = clock()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        rates.append(2 * n ** 3 / max(clock() - t, 1e-9) / 1e9)
    return float(np.percentile(rates, 90))


def model_gflop(model) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 1, model.image_size, model.image_size, dtype=torch.uint8)
    with FlopCounterMode(display=False) as fc:
        model.encode_images(x)
    return fc.get_total_flops() / 1e9


def throughput(fn, images: list, batch: int, clock, seconds: float = 2.0) -> float:
    """Drawings/s over repeated batches (90th percentile of the runs)."""
    fn(images[:batch])
    rates, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t = clock()
        fn(images[:batch])
        rates.append(batch / max(clock() - t, 1e-9))
    return float(np.percentile(rates, 90))


def model_rows(model, device: str) -> tuple[list[list], float]:
    """Each variant measured between two ceiling measurements (the machine is shared)."""
    import torch

    from core.embed import CpuEncoder, encode_batches

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (model.image_size,) * 2, dtype=np.uint8) for _ in range(256)]
    gflop = model_gflop(model)
    rows = []
    thread_counts = [1, 2] if device == "cpu" else [torch.get_num_threads()]
    for threads in thread_counts:
        variants = [("eager encode_images", b, lambda ims, b=b: encode_batches(model, ims, b))
                    for b in ((1, 8, 32, 64) if device == "cpu" else (32, 64, 256))]
        if device == "cpu":
            variants.append(("frozen CPU graph (the app)", 1, CpuEncoder(model)))
        for name, batch, fn in variants:
            before = matmul_gflops(device, threads)
            rate = throughput(fn, images, batch, _clock(threads, device))
            ceiling = (before + matmul_gflops(device, threads)) / 2
            rows.append([device, threads, "CPU s" if _clock(threads, device) is
                         time.process_time else "wall s", name, batch, rate, ceiling,
                         ceiling / gflop, f"{rate * gflop / ceiling:.0%}"])
    return rows, gflop


def pipeline_rows(model, n_pages: int) -> list[list]:
    """Stage costs on real sheets (one process) and the pipelined run (all cores)."""
    import torch

    from core.drawing import prepare_page
    from core.embed import CpuEncoder, PagePipeline
    from core.imageio import read_page
    from core.records import PageRecord

    pages = [PageRecord(r["patent_id"], r["path"], 0, r["page_kind"])
             for r in manifest_rows(REAL_DEV, n_pages)]
    torch.set_num_threads(1)
    enc = CpuEncoder(model)
    enc([np.full((model.image_size,) * 2, 255, np.uint8)])
    t_dec = t_prep = t_model = 0.0
    n_fig = 0
    for p in pages:
        t0 = time.process_time()
        img = read_page(p.path)
        t1 = time.process_time()
        figs = prepare_page(img.array, p.page_kind, model.drawing_config, dpi=img.sheet_dpi)
        t2 = time.process_time()
        enc([im for _, im in figs])
        t3 = time.process_time()
        t_dec, t_prep, t_model = t_dec + t1 - t0, t_prep + t2 - t1, t_model + t3 - t2
        n_fig += len(figs)
    total = t_dec + t_prep + t_model
    cores = os.cpu_count() or 1
    pipeline = PagePipeline(model.drawing_config, cores, enc)
    list(pipeline.run(pages[:cores]))  # workers started and warm
    tree = TreeCPU(os.getpid(), interval=0.1)
    time.sleep(0.3)
    cpu0, t0 = tree.total, time.perf_counter()
    out = list(pipeline.run(pages))
    wall = time.perf_counter() - t0
    time.sleep(0.3)
    cpu = tree.total - cpu0
    tree.stop()
    assert len(out) == len(pages) and not any(p.error for p in out)
    per = 1000 / len(pages)
    return [[len(pages), n_fig / len(pages), t_dec * per, t_prep * per, t_model * per,
             f"{(t_dec + t_prep) / total:.0%} / {t_model / total:.0%}",
             cores * 1000 / (total * per), len(pages) / wall, cpu * per,
             f"{cpu / (wall * cores):.0%}", f"{total / cpu:.0%}"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--model", default="default")
    ap.add_argument("--pages", type=positive_int, default=48,
                    help="real sheets for the page-pipeline table")
    args = ap.parse_args()
    import torch

    from core.models import ModelError, load_model

    try:
        model = load_model(args.model)
    except ModelError as exc:
        ap.error(f"argument --model: {exc}")
    print(f"machine: {machine()}; torch {torch.__version__}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        model.to(device)
        r, gflop = model_rows(model, device)
        rows += r
    model.to("cpu")
    print(f"\n### Table 1a: model throughput vs. the ceiling ({model.spec.arch}, "
          f"{gflop:.2f} GFLOP per drawing; load {load()})\n")
    print(table(["device", "threads", "per", "path", "batch", "drawings/s",
                 "matmul GFLOP/s", "ceiling drawings/s", "efficiency"], rows))
    print(f"\n### Table 1b: real 300 dpi sheets through the page pipeline (load {load()})\n")
    print(table(["pages", "figures/page", "decode CPU ms/page", "preprocess CPU ms/page",
                 "model CPU ms/page", "decode+preprocess / model", "pages/s on idle cores "
                 "(all stages overlapped)", "pages/s pipelined (measured)",
                 "pipeline CPU ms/page", "share of the cores it got", "CPU efficiency "
                 "(one-process cost / pipeline cost)"], pipeline_rows(model, args.pages)))


if __name__ == "__main__":
    main()
