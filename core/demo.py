"""The built-in demo library: synthetic design patents ingested through the same code path as
real data, so a new user can search at once. Never overwrites a user's own library."""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .library import QUERIES_DIR, Library, LibraryError

DEMO_PATENTS = 200
DEMO_SEED = 2024
DEMO_QUERIES = 6


@dataclass
class DemoLibrary:
    path: Path
    queries: list[Path] = field(default_factory=list)
    query_info: list[dict] = field(default_factory=list)   # family, Locarno code, title
    patents: int | None = None      # how many synthetic patents it holds


class DemoCancelled(LibraryError):
    """The build was cancelled; building again goes on where it stopped."""


def demo_library_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("patent-examiner", appauthor=False) / "demo-library"


def _load_queries(path: Path) -> DemoLibrary:
    qdir = path / QUERIES_DIR
    info = []
    listing = qdir / "queries.jsonl"
    if listing.is_file():
        info = [json.loads(ln) for ln in listing.read_text().splitlines() if ln.strip()]
    queries = [qdir / row["image"] for row in info if (qdir / row["image"]).is_file()]
    with Library(path) as lib:
        patents = (lib.store.get_meta("demo") or {}).get("patents")
    return DemoLibrary(path, queries, info, patents)


def other_size_note(path: Path, n_patents: int | None) -> str | None:
    """Said when a finished demo library at ``path`` is reused though ``n_patents`` asked for
    another size (a size applies to a new demo library only)."""
    if not n_patents or not (path / "library.sqlite").exists():
        return None
    with Library(path) as lib:
        demo = lib.store.get_meta("demo") or {}
    if not demo.get("complete") or demo.get("patents") in (None, n_patents):
        return None
    return (f"the demo library at {path} holds {demo['patents']} patents from an earlier "
            f"build and is reused: --patents {n_patents} applies to a new demo library (give "
            "another --library folder, or delete this one)")


def check_demo_folder(path: Path) -> bool:
    """True if ``path`` holds a finished demo library, False if one can be built there (new,
    empty, or an unfinished demo); LibraryError for a user's library or any other folder."""
    if (path / "library.sqlite").exists():
        with Library(path) as lib:
            demo = lib.store.get_meta("demo")
        if not demo:
            raise LibraryError(f"{path} holds a library that is not the demo library; "
                               "refusing to overwrite it (choose another --library folder)")
        return bool(demo.get("complete"))
    if path.exists() and not path.is_dir():
        raise LibraryError(f"{path} is a file, not a folder for the demo library")
    if path.exists() and any(path.iterdir()):
        raise LibraryError(f"{path} is not empty and not a library; refusing to write there")
    return False


def _load_model_and_workers(loader, model_ref: str):
    """Start ingestion's worker server, then load the model: both import torch (seconds),
    which must not hold up the drawing."""
    from .embed import warm_up

    warm_up()
    if loader is None:
        from .models import load_model as loader
    return loader(model_ref)


def build_demo_library(path: str | os.PathLike | None = None, *,
                       n_patents: int | None = None,
                       model=None, model_ref: str | None = None, loader=None,
                       progress: Callable[[str, int, int], None] | None = None,
                       cancel: threading.Event | None = None, workers: int | None = None
                       ) -> DemoLibrary:
    """Generate and index the demo corpus (or reuse a finished one); returns it with queries.

    ``progress(stage, done, total)`` with stage "drawing" then "indexing". Setting ``cancel``
    raises DemoCancelled; the next call reuses what was indexed. Without ``model``,
    ``loader(model_ref)`` (default core.models.load_model; ``model_ref`` default "default")
    loads it while the drawing runs. The library records ``model_ref``, else what loads
    ``model`` again (``PatentModel.ref``).
    """
    from .synthetic import write_corpus, write_queries

    path = Path(path) if path else demo_library_path()
    n_patents = n_patents or DEMO_PATENTS
    if check_demo_folder(path):
        return _load_queries(path)
    workers = workers if workers is not None else max(1, min(4, os.cpu_count() or 1))
    corpus = path / "corpus"

    with Library(path, create=True) as lib:     # the folder is the demo's before it is filled
        drawn = (lib.store.get_meta("demo") or {}).get("patents") == n_patents
        try:
            lib.store.set_meta("demo", {"seed": DEMO_SEED, "patents": n_patents,
                                        "complete": False})
        except BaseException:   # (no room): a library not marked the demo's would block it
            if lib.created:
                lib.close()
                shutil.rmtree(lib.made, ignore_errors=True)
            raise
    manifest = corpus / "manifest.jsonl"        # written last: there means the corpus is whole
    drawn = drawn and manifest.is_file() and (path / QUERIES_DIR / "queries.jsonl").is_file()
    loading = None
    if model is None:       # load it while the drawing workers run (~6 s of the first run)
        model_ref = model_ref or "default"      # (and the library records what loaded it)
        loading = ThreadPoolExecutor(1, thread_name_prefix="demo-model")
        model_future = loading.submit(_load_model_and_workers, loader, model_ref)
    try:
        # Drawing workers are spawned (they need numpy and PIL, not torch: the first patent is
        # drawn within a second), never forked from this process while a thread imports torch.
        if not drawn:
            write_queries(path / QUERIES_DIR, DEMO_QUERIES, seed=DEMO_SEED)
            manifest = write_corpus(corpus, n_patents, seed=DEMO_SEED,
                                    progress=(lambda d, t: progress("drawing", d, t))
                                    if progress else None,
                                    workers=workers,
                                    mp_context=multiprocessing.get_context("spawn"),
                                    cancel=cancel)
        if loading is not None:
            model = model_future.result()
    except CancelledError:
        raise DemoCancelled("the demo library was cancelled while drawing") from None
    finally:    # after a cancel, an unfinished load goes on alone and is dropped
        if loading is not None:
            loading.shutdown(wait=False)
    from .ingest import ingest

    with Library(path) as lib:
        report = ingest(lib, [manifest], model, model_ref=model_ref, cancel=cancel,
                        workers=workers,
                        progress=(lambda d, t, _n: progress("indexing", d, t)) if progress
                        else None)
        if report.errors:
            raise LibraryError(f"demo corpus could not be indexed: {report.errors[0][1]}")
        if report.cancelled:
            raise DemoCancelled("the demo library was cancelled while indexing")
        lib.store.set_meta("demo", {"seed": DEMO_SEED, "patents": n_patents,
                                    "complete": True})
    return _load_queries(path)
