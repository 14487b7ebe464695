"""Embedding drawing pages: decode, cut into figures and encode them with every core busy.

CPU time per 300 dpi sheet on one core (bench/bench_embed.py): ~15 ms to decode, ~30 ms of
layout analysis and rendering, ~35 ms of efficientnet_lite0 per figure. So:
- pages are prepared in a pool of worker processes (forked from a server that imported torch
  once), in page order, many pages ahead (a commit of the consumer does not starve the pool);
- on a CPU each worker also encodes its own page's figures with one intra-op thread: nothing
  waits for a model process and no thread pool spins on a core that another process holds;
- on a GPU the workers only prepare, and the main process encodes batches on the device.
A figure's vector never depends on what it was batched with: the CPU encoder runs one figure
at a time and GPU batches are padded to exactly ``batch_size``. A resumed, sharded or
re-chunked run therefore writes bit-identical vectors, and a query figure gets the very vector
its page got when it was indexed.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import warnings
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from ._lifeline import die_with, pool_options  # noqa: F401  (pool_options: for every pool)
from ._hashing import sha256_file
from .drawing import DrawingConfig, FigureBox
from .drawing import prepare_page as _prepare_drawing, why_no_figure
from .imageio import ImageReadError, read_page_kept, release_kept
from .records import PageRecord


class DeviceError(Exception):
    """The device asked for does not exist on this machine."""


def pick_device(prefer: str | None = None) -> str:
    """CUDA if available, then Apple MPS, else CPU (or what the user asked for, checked)."""
    import torch

    if prefer and prefer != "auto":
        from ._device import is_device_name

        kind, _, number = prefer.partition(":")
        mps = getattr(torch.backends, "mps", None)
        available = {"cpu": True, "cuda": torch.cuda.is_available(),
                     "mps": mps is not None and mps.is_available()}
        if not is_device_name(prefer) or kind not in available:
            raise DeviceError(f"unknown device {prefer!r}: use cpu, cuda, cuda:N or mps")
        if not available[kind]:
            raise DeviceError(f"device {prefer!r} is not available on this machine "
                              "(use cpu, or leave the device out to pick one)")
        if number and int(number) >= torch.cuda.device_count():
            raise DeviceError(f"device {prefer!r}: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        return prefer
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class PreparedPage:
    """A page decoded and cut into figures (or the reason it could not be).

    ``images`` are the model-ready figures; ``vectors`` their embeddings once encoded (the
    images are then dropped, they are not needed any more).
    """

    page: PageRecord
    width: int = 0
    height: int = 0
    file_size: int | None = None
    file_mtime: float | None = None
    file_sha256: str | None = None
    boxes: list[FigureBox] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    vectors: np.ndarray | None = None
    error: str | None = None
    no_figure: str | None = None        # why a readable page gave no figure (why_no_figure)


#: Frozen graphs by (model id, mirror TTA), the id a content hash of spec and weights: models
#: loaded twice in one process (the GUI reopening a library, the tests) trace once.
_FROZEN: dict[tuple[str, bool], bytes] = {}


class CpuEncoder:
    """A model's image tower as a deterministic function of figure images, fast on a CPU.

    The tower is traced and frozen into a TorchScript graph, then optimized with batch norm
    folded into the convolutions and oneDNN weight layouts (about 1.8x faster than eager for
    efficientnet_lite0); vectors agree with ``PatentModel.encode_images`` to ~1e-6. One figure
    per call keeps every vector independent of its neighbours. Pickling ships the frozen graph
    (tracing takes seconds, loading it a tenth of one), so worker processes start quickly; the
    graph is also cached on disk (core._graph_cache), so a deferred model's network is never
    built just to encode drawings.
    """

    def __init__(self, model):
        self.model_id = model.model_id
        self.tta = bool(model.spec.hflip_tta)
        self.disk_cache = model.checkpoint is not None   # in-memory models are not cached
        self._model = model
        self.visual = None          # the eager tower, shipped only if it cannot be traced
        self.mean = np.asarray(model.spec.mean, np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(model.spec.std, np.float32).reshape(1, -1, 1, 1)
        self.size = model.image_size
        self.dim = model.embed_dim
        self._frozen: bytes | None = None
        self._graph = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        frozen = self._freeze()
        state = {**self.__dict__, "_frozen": frozen, "_graph": None, "_lock": None,
                 "_model": None}
        if not frozen:
            state["visual"] = self._eager()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def _input(self, image: np.ndarray):
        import torch

        x = np.asarray(image, np.uint8).astype(np.float32)[None, None] / np.float32(255.0)
        x = np.broadcast_to(x, (1, self.mean.shape[1], self.size, self.size))
        return torch.from_numpy(np.ascontiguousarray((x - self.mean) / self.std))

    def _eager(self):
        if self.visual is not None:
            return self.visual
        return self._model.clip.visual.eval()

    def _freeze(self, use_disk: bool = True) -> bytes:
        """The traced, frozen tower as TorchScript bytes (b"" if it cannot be traced): from
        this process, else from the disk cache, else traced now (and cached)."""
        import io

        import torch

        from . import _graph_cache

        key = (self.model_id, self.tta)
        if self._frozen is None:
            self._frozen = _FROZEN.get(key)
        if self._frozen is None and use_disk and self.disk_cache:
            self._frozen = _graph_cache.read_graph(*key)
        if self._frozen is None:
            example = self._input(np.full((self.size, self.size), 255, np.uint8))
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated
                    buf = io.BytesIO()
                    torch.jit.save(torch.jit.freeze(
                        torch.jit.trace(self._eager(), example, check_trace=False)), buf)
                self._frozen = buf.getvalue()
                if self.disk_cache:
                    _graph_cache.write_graph(*key, self._frozen)
            except Exception:  # a tower TorchScript cannot trace runs eagerly (slower)
                self._frozen = b""
        _FROZEN[key] = self._frozen
        return self._frozen

    def _build(self):
        import io

        import torch

        from . import _graph_cache

        with self._lock:
            if self._graph is None:
                frozen = self._freeze() if self._model is not None else self._frozen
                if not frozen:
                    self._graph = self._eager()
                    return self._graph
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    try:
                        graph = torch.jit.load(io.BytesIO(frozen))
                    except Exception:
                        if self._model is None:
                            raise
                        # a damaged cache file: forget it and trace the network again
                        _graph_cache.drop_graph(self.model_id, self.tta)
                        _FROZEN.pop((self.model_id, self.tta), None)
                        self._frozen = None
                        frozen = self._freeze(use_disk=False)
                        if not frozen:
                            self._graph = self._eager()
                            return self._graph
                        graph = torch.jit.load(io.BytesIO(frozen))
                    self._graph = torch.jit.optimize_for_inference(graph)
        return self._graph

    def __call__(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, dim) float32 L2-normalized vectors of square uint8 figure images."""
        import torch

        out = np.zeros((len(images), self.dim), np.float32)
        # one intra-op thread, as in the worker processes (the graph is optimized for it too):
        # how many threads share a convolution changes oneDNN's sums in the last bit
        threads = torch.get_num_threads()
        if threads != 1:
            torch.set_num_threads(1)
        try:
            graph = self._graph or self._build()
            with torch.inference_mode():
                for i, im in enumerate(images):
                    if im.shape != (self.size, self.size):
                        raise ValueError(f"expected a {self.size}x{self.size} figure, "
                                         f"got {im.shape}")
                    v = graph(self._input(im))[0].float().numpy()
                    out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        finally:
            if threads != 1:
                torch.set_num_threads(threads)
        return out


def encoder_for(model) -> Callable[[list[np.ndarray]], np.ndarray]:
    """The encoder that both indexing and querying use for ``model`` (one per model, kept on
    it, so the two are freed together). On a GPU, queries are padded to the default indexing
    batch, as batches are when indexing."""
    if model.device.type != "cpu":
        return lambda images: encode_batches(model, images, GPU_BATCH)
    encoder = getattr(model, "_cpu_encoder", None)
    if encoder is None:
        encoder = model._cpu_encoder = CpuEncoder(model)
    return encoder


#: GPU batch of indexing and querying: results under autocast can depend on the batch size, so
#: a library and its queries use the same one (change it with --batch-size for both or neither).
GPU_BATCH = 32


def encode_batches(model, images: list[np.ndarray], batch_size: int) -> np.ndarray:
    """Encode on the model's device in batches of exactly ``batch_size`` (the last padded)."""
    out = np.zeros((len(images), model.embed_dim), np.float32)
    blank = np.full((model.image_size, model.image_size), 255, np.uint8)
    for i in range(0, len(images), batch_size):
        part = images[i:i + batch_size]
        batch = model.images_to_tensor(part + [blank] * (batch_size - len(part)))
        out[i:i + len(part)] = model.encode_images(batch).numpy()[:len(part)]
    return out


def prepare_page(page: PageRecord, drawing: dict,
                 encoder: CpuEncoder | None = None) -> PreparedPage:
    """Decode one page, render its figures and, given an encoder, embed them.

    Every failure of one file becomes ``error``: a million-page run must not stop for one bad
    drawing, whatever part of the pipeline it trips.
    """
    cfg = DrawingConfig.from_dict(drawing)
    out = PreparedPage(page)
    try:
        st = os.stat(page.path)
        out.file_size, out.file_mtime = st.st_size, st.st_mtime
        out.file_sha256 = _file_hash(page.path, st)
        img = read_page_kept(page.path, page.page_index)
        out.height, out.width = img.array.shape
        figures = _prepare_drawing(img.array, page.page_kind, cfg, dpi=img.sheet_dpi)
        out.boxes = [b for b, _ in figures]
        out.images = [im for _, im in figures]
        if not figures:
            out.no_figure = why_no_figure(img.array, query=False)
        if encoder is not None:
            out.vectors = encoder(out.images)
            out.images = []
    except ImageReadError as exc:
        out.error = str(exc)
    except OSError as exc:
        out.error = f"{page.path}: {exc.strerror or exc}"
    except MemoryError:
        out.error = f"{page.path}: out of memory while decoding"
    except Exception as exc:  # noqa: BLE001 - see docstring
        out.error = f"{page.path}: cannot prepare the drawing ({type(exc).__name__}: {exc})"
    if out.error:
        out.boxes, out.images, out.vectors = [], [], None
    return out


_WORKER: dict = {}
_LAST_HASH: list = [None, None]      # (path, size, mtime), hash: a file's pages are hashed once


def _file_hash(path, st: os.stat_result) -> str:
    key = (str(path), st.st_size, st.st_mtime_ns)
    if _LAST_HASH[0] != key:
        _LAST_HASH[:] = [key, sha256_file(path)]
    return _LAST_HASH[1]


def _init_worker(drawing: dict, encoder: CpuEncoder | None, parent: int) -> None:
    die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the main process's to handle
    if encoder is not None:
        import torch

        torch.set_num_threads(1)
    _WORKER.update(drawing=drawing, encoder=encoder)


def _prepare_in_worker(page: PageRecord) -> PreparedPage:
    return prepare_page(page, _WORKER["drawing"], _WORKER["encoder"])


def default_workers() -> int:
    return max(1, min(32, os.cpu_count() or 2))


def worker_context():
    """Fork workers from a server that has imported torch once (Linux), else spawn them.

    Importing torch takes seconds per process; a forkserver pays it once, and never ran a
    thread pool, so forking it is safe.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["core.embed", "torch"])
        _start_server()
        return ctx
    return multiprocessing.get_context("spawn")


def _start_server() -> None:
    """Start the fork server, if it is not running, with Ctrl-C ignored: the process it
    starts keeps that, and so do the workers it forks. Ctrl-C is the main process's (it
    stops after the batch in progress); a server still importing torch would die of it, and
    the run with it."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()         # (only the main thread may change handlers)
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, old)


def warm_up() -> None:
    """Start the worker server now (e.g. while the model loads), not at the first page."""
    worker_context()


@contextmanager
def _ctrl_c_held():
    """Hold a Ctrl-C until the block is done: ``submit`` may be starting a worker, and one
    interrupted half-way is left behind to print a traceback once the run has exited."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        for frame in held:                  # each one: a second Ctrl-C means "abort"
            if callable(old):
                old(signal.SIGINT, frame)
            elif old == signal.SIG_DFL:
                raise KeyboardInterrupt


def submit_or_broken(pool: cf.ProcessPoolExecutor, fn: Callable, *args) -> cf.Future:
    """``pool.submit``, or a future failed with BrokenProcessPool once a worker has died
    (submit raises it then): the caller handles the crash where it reads the result."""
    try:
        with _ctrl_c_held():
            return pool.submit(fn, *args)
    except cf.process.BrokenProcessPool as exc:
        failed: cf.Future = cf.Future()
        failed.set_exception(exc)
        return failed


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Terminate a pool's workers and wait for them (an abort: the main process is about to
    exit, and a worker still starting would print a traceback once its semaphores are gone)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)


class PagePipeline:
    """Prepare (and, given a CPU encoder, embed) pages in a process pool, in page order.

    ``ahead`` pages per worker are in flight: results are small, and a consumer busy with a
    commit must not leave the workers idle. A worker that dies (a crash in a decoder, the
    out-of-memory killer) costs one page, not the run: the pages in flight are run again one
    at a time in a new pool, and the one that kills its worker again becomes an error.
    """

    def __init__(self, drawing: DrawingConfig, workers: int | None = None,
                 encoder: CpuEncoder | None = None, ahead: int = 16):
        self.drawing = drawing.to_dict()
        self.workers = default_workers() if workers is None else workers
        self.encoder = encoder
        self.ahead = ahead

    def _pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.workers, mp_context=worker_context(),
                                      initializer=_init_worker,
                                      initargs=(self.drawing, self.encoder, os.getpid()))

    def run(self, pages: Iterable[PageRecord],
            cancel: threading.Event | None = None) -> Iterator[PreparedPage]:
        if self.workers <= 0:
            try:
                for p in pages:
                    if cancel is not None and cancel.is_set():
                        return
                    yield prepare_page(p, self.drawing, self.encoder)
            finally:
                release_kept()
            return
        it = iter(pages)
        pending: deque[tuple[PageRecord, cf.Future]] = deque()
        retry: deque[PageRecord] = deque()
        suspects = 0  # pages in flight when a worker died, now run one at a time
        pool = self._pool()
        try:
            while cancel is None or not cancel.is_set():
                while len(pending) < (1 if suspects else self.workers * self.ahead):
                    page = retry.popleft() if retry else next(it, None)
                    if page is None:
                        break
                    pending.append((page, submit_or_broken(pool, _prepare_in_worker, page)))
                if not pending:
                    return
                page, future = pending.popleft()
                try:
                    done = future.result()
                except cf.process.BrokenProcessPool:
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = self._pool()
                    if not suspects:
                        retry.extendleft(reversed([page, *(p for p, _ in pending)]))
                        pending.clear()
                        suspects = len(retry)
                        continue
                    done = PreparedPage(page, error=f"{page.path}: the process preparing this "
                                        "page died (a crash in a decoder, or out of memory)")
                suspects = max(0, suspects - 1)
                yield done
        except KeyboardInterrupt:
            _stop_workers(pool)
            raise
        finally:
            for _, f in pending:
                f.cancel()
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            except KeyboardInterrupt:           # a second Ctrl-C while the last pages finish
                _stop_workers(pool)
                raise


def embed_pages(model, pages: Iterable[PageRecord], *, batch_size: int = 32,
                workers: int | None = None, cancel: threading.Event | None = None,
                on_page: Callable[[PreparedPage], None] | None = None
                ) -> Iterator[PreparedPage]:
    """Yield each page (in order) with ``vectors`` (n_figures, dim) of its figures (none for a
    page that failed).

    ``batch_size`` is the device batch on a GPU (the CPU encodes figure by figure);
    ``on_page`` is called as soon as a page is prepared (progress reporting).
    """
    on_cpu = model.device.type == "cpu"
    encoder = encoder_for(model) if on_cpu else None
    pipeline = PagePipeline(model.drawing_config, workers, encoder)
    empty = np.zeros((0, model.embed_dim), np.float32)
    if on_cpu:
        for prepared in pipeline.run(pages, cancel):
            if on_page is not None:
                on_page(prepared)
            if prepared.vectors is None:
                prepared.vectors = empty
            yield prepared
        return
    waiting: deque[PreparedPage] = deque()
    todo: list[np.ndarray] = []         # figures of the waiting pages not encoded yet
    encoded = empty                     # vectors of the waiting pages' figures, in order

    def ready(final: bool) -> Iterator[PreparedPage]:
        """Encode whole batches (all that is left when ``final``: one padded batch), then
        yield the pages whose figures all have vectors."""
        nonlocal encoded
        n = len(todo) if final else len(todo) - len(todo) % batch_size
        if n:
            encoded = np.concatenate([encoded, encode_batches(model, todo[:n], batch_size)])
            del todo[:n]
        while waiting and len(waiting[0].boxes) <= len(encoded):
            page = waiting.popleft()
            k = len(page.boxes)
            page.vectors, page.images, encoded = encoded[:k], [], encoded[k:]
            yield page

    for prepared in pipeline.run(pages, cancel):
        if on_page is not None:
            on_page(prepared)
        waiting.append(prepared)
        todo.extend(prepared.images)
        if len(todo) >= batch_size:
            yield from ready(final=False)
    yield from ready(final=True)
