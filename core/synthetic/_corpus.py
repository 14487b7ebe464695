"""Synthetic corpora on disk: 1-bit PNG pages plus a manifest.jsonl in the exact format of
the real data (``../shared/data/real_dev/manifest.jsonl``), so ingestion treats them alike."""
from __future__ import annotations

import json
import struct
import zlib
import threading
from concurrent.futures import CancelledError, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

import numpy as np

from .._lifeline import pool_options
from ._design import pick
from ._patent import QUERY_INDEX_START, _rng, generate_patent
from ._sheets import render_sheets


def save_png(img: np.ndarray, path) -> None:
    """Line art (0 = ink) as a 1-bit grayscale PNG, like the 1-bit scans of real patents.

    Written directly (rows of packed bits, no filter, deflate): several times faster than
    going through PIL for a letter-size sheet, and the files decode as PIL mode "1"."""
    h, w = img.shape
    rows = np.packbits(img > 127, axis=1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], 1).tobytes()   # filter byte 0

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data)))
    header = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)   # 1-bit grayscale
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw, 3)) + chunk(b"IEND", b""))


def _patent_pages(job: tuple) -> list[dict]:
    """Render and save one patent's pages; returns its manifest rows."""
    out, index, seed, sheets, size, scale = job
    p = generate_patent(index, seed, size=size)
    folder = Path(out) / p.patent_id
    folder.mkdir(parents=True, exist_ok=True)
    if sheets:
        pages = [(f"page{k:02d}_sheet.png", img)
                 for k, img in enumerate(render_sheets(p, scale), start=1)]
    else:
        pages = [(f"fig{k}_{view}.png", img) for k, (view, img) in enumerate(p.views, start=1)]
    rows = []
    for k, (name, img) in enumerate(pages, start=1):
        save_png(img, folder / name)
        rows.append({
            "image": f"{p.patent_id}/{name}", "patent_id": p.patent_id,
            "page_kind": "drawing_sheet", "sheet": k,
            "grant_date": p.grant_date.isoformat(), "filing_date": p.filing_date.isoformat(),
            "locarno": p.locarno, "locarno_edition": "13", "title": p.title,
            "figure_descriptions": p.figure_descriptions,
            "metadata_origin": f"synthetic (core.synthetic, seed {seed})", "synthetic": True,
        })
    return rows


def write_corpus(out_dir, n_patents: int, seed: int = 0, sheets: bool = True,
                 progress: Callable[[int, int], None] | None = None, *, start: int = 0,
                 size: int = 1024, scale: float = 1.0, workers: int = 1,
                 mp_context=None, cancel: threading.Event | None = None) -> Path:
    """Write patents ``start .. start + n_patents - 1`` and return the manifest path.

    ``sheets`` False writes each figure as its own image instead of composed sheets;
    ``progress(done, total)`` is called after every patent; ``workers`` > 1 uses processes
    (the output is identical), started from ``mp_context`` if given. Setting ``cancel``
    raises concurrent.futures.CancelledError within a tenth of a second (no manifest)."""
    if start + n_patents > QUERY_INDEX_START:
        raise ValueError(f"corpus indices must stay below {QUERY_INDEX_START} (query designs)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(str(out), i, seed, sheets, size, scale) for i in range(start, start + n_patents)]
    rows: list[dict] = []
    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("drawing the synthetic corpus was cancelled")

    if workers > 1:
        pool = ProcessPoolExecutor(workers, mp_context=mp_context, **pool_options())
        try:
            futures = [pool.submit(_patent_pages, job) for job in jobs]
            for done, fut in enumerate(futures, start=1):
                while not fut.done():
                    check()
                    wait([fut], timeout=0.1)
                rows += fut.result()
                if progress:
                    progress(done, n_patents)
        finally:   # cancelled or failed: do not wait for the patents not started yet
            pool.shutdown(cancel_futures=True)
    else:
        for done, job in enumerate(jobs, start=1):
            check()
            rows += _patent_pages(job)
            if progress:
                progress(done, n_patents)
    check()
    manifest = out / "manifest.jsonl"
    part = manifest.with_suffix(".jsonl.part")
    with open(part, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    part.replace(manifest)      # all or nothing: a manifest there names a complete corpus
    return manifest


def write_queries(out_dir, n: int, seed: int = 0, *, size: int = 1024) -> Path:
    """``n`` query drawings of new designs (indices from ``QUERY_INDEX_START``, never in a
    corpus) with a queries.jsonl naming each one's family and Locarno subclass."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "queries.jsonl"
    with open(manifest, "w", encoding="utf-8") as f:
        for k in range(n):
            index = QUERY_INDEX_START + k
            view = pick(_rng(seed, index, 5), ["perspective", "perspective", "front", "right",
                                               "top"])
            p = generate_patent(index, seed, size=size, views=(view,))
            name = f"{p.patent_id}_{view}.png"
            save_png(p.views[0][1], out / name)
            f.write(json.dumps({"image": name, "patent_id": p.patent_id, "family": p.family,
                                "locarno": p.locarno, "title": p.title, "view": view}) + "\n")
    return manifest
