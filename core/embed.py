"""Batched embedding of drawing pages, with page decoding overlapped with model compute.

Decoding a 300 dpi sheet and cutting it into figures costs tens of milliseconds of CPU; the model
waits for nothing: worker processes prepare pages ahead while the main thread runs batches.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from .drawing import DrawingConfig, FigureBox, find_figures, render_figure
from .imageio import ImageReadError, read_page
from .records import PageRecord


def pick_device(prefer: str | None = None) -> str:
    """CUDA if available, then Apple MPS, else CPU (or what the user asked for)."""
    import torch

    if prefer and prefer != "auto":
        return prefer
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class PreparedPage:
    """A page decoded and cut into model-ready figure images (or the reason it could not be)."""

    page: PageRecord
    width: int = 0
    height: int = 0
    file_size: int | None = None
    file_mtime: float | None = None
    boxes: list[FigureBox] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    error: str | None = None


def prepare_page(page: PageRecord, drawing: dict) -> PreparedPage:
    """Decode one page and render its figures (runs in a worker process)."""
    cfg = DrawingConfig.from_dict(drawing)
    out = PreparedPage(page)
    try:
        st = os.stat(page.path)
        out.file_size, out.file_mtime = st.st_size, st.st_mtime
        img = read_page(page.path, page.page_index)
        out.height, out.width = img.array.shape
        boxes = find_figures(img.array, page.page_kind, cfg)
        out.boxes = boxes
        out.images = [render_figure(img.array, b, cfg) for b in boxes]
    except ImageReadError as exc:
        out.error = str(exc)
    except OSError as exc:
        out.error = f"{page.path}: {exc.strerror or exc}"
    except MemoryError:
        out.error = f"{page.path}: out of memory while decoding"
    return out


def _prepare_many(pages: list[PageRecord], drawing: dict) -> list[PreparedPage]:
    return [prepare_page(p, drawing) for p in pages]


def default_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2)))


class PagePipeline:
    """Prepare pages in a process pool, a bounded number ahead of the consumer."""

    def __init__(self, drawing: DrawingConfig, workers: int | None = None, chunk: int = 4):
        self.drawing = drawing.to_dict()
        self.workers = default_workers() if workers is None else workers
        self.chunk = chunk

    def run(self, pages: Iterable[PageRecord],
            cancel: threading.Event | None = None) -> Iterator[PreparedPage]:
        pages = list(pages)
        if self.workers <= 0:
            for p in pages:
                if cancel is not None and cancel.is_set():
                    return
                yield prepare_page(p, self.drawing)
            return
        ctx = multiprocessing.get_context("spawn")
        chunks = [pages[i:i + self.chunk] for i in range(0, len(pages), self.chunk)]
        with cf.ProcessPoolExecutor(self.workers, mp_context=ctx) as pool:
            pending: deque = deque()
            it = iter(chunks)
            for _ in range(self.workers * 3):
                nxt = next(it, None)
                if nxt is None:
                    break
                pending.append(pool.submit(_prepare_many, nxt, self.drawing))
            try:
                while pending:
                    if cancel is not None and cancel.is_set():
                        return
                    done = pending.popleft().result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.append(pool.submit(_prepare_many, nxt, self.drawing))
                    yield from done
            finally:
                for f in pending:
                    f.cancel()


def embed_arrays(model, images: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """Embed already-rendered figure images; returns (n, dim) float32, L2-normalized."""
    if not images:
        return np.zeros((0, model.embed_dim), np.float32)
    out = []
    for i in range(0, len(images), batch_size):
        batch = model.images_to_tensor(images[i:i + batch_size])
        out.append(model.encode_images(batch).numpy())
    return np.concatenate(out).astype(np.float32)


def embed_pages(model, pages: Iterable[PageRecord], *, batch_size: int = 32,
                workers: int | None = None, cancel: threading.Event | None = None,
                on_page: Callable[[PreparedPage], None] | None = None
                ) -> Iterator[tuple[PreparedPage, np.ndarray]]:
    """Yield each page with the vectors of its figures, in batches of ``batch_size`` figures.

    ``on_page`` is called as soon as a page is prepared (progress reporting).
    """
    pipeline = PagePipeline(model.drawing_config, workers)
    waiting: list[PreparedPage] = []
    n_images = 0

    def flush():
        nonlocal waiting, n_images
        images = [im for p in waiting for im in p.images]
        vecs = embed_arrays(model, images, batch_size=max(batch_size, len(images)))
        start = 0
        for p in waiting:
            yield p, vecs[start:start + len(p.images)]
            start += len(p.images)
        waiting, n_images = [], 0

    for prepared in pipeline.run(pages, cancel):
        if on_page is not None:
            on_page(prepared)
        waiting.append(prepared)
        n_images += len(prepared.images)
        if n_images >= batch_size:
            yield from flush()
    if waiting:
        yield from flush()
