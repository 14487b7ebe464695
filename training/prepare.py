"""Corpus preparation: sources -> figure crops in shards -> enriched descriptions attached.

Sources are everything the core ingests (JSONL manifests, USPTO Red Book folders, image
folders), DeepPatent2 JSON metadata, and synthetic multi-view patents from core.synthetic
(written once as a manifest source).
Pages are decoded and cut into figures with the model's DrawingConfig exactly as ingestion
does (core.drawing.find_figures + render_figure), in worker processes, once: the corpus folder
is keyed by a fingerprint of its inputs and reused by every later run, fold and ablation.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import multiprocessing
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from core.drawing import DrawingConfig
from core.embed import pool_options, submit_or_broken
from core.imageio import release_kept
from core.sources import deeppatent2_files
from core.store import Store

from . import shards
from .deeppatent2 import DrawingJob, scan_deeppatent2
from .enrich import EnricherUnavailable, FigureContext, enrich, make_enricher
from .enrich._run import store_cache
from .views import number_figures

log = logging.getLogger(__name__)


# -- sources -> jobs ---------------------------------------------------------------------------
def core_jobs(paths: Iterable[str], errors: list) -> Iterator[tuple[dict, list[DrawingJob]]]:
    """(patent metadata, page jobs) per patent of core-ingestible sources."""
    from core.ingest import scan_sources

    scans, scan_errors = scan_sources(list(paths), allow_absolute=True)
    errors += scan_errors
    for scan in scans:
        errors += scan.errors
        pages: dict[str, list] = {}
        for page in scan.pages:
            pages.setdefault(page.patent_id, []).append(page)
        for pid, plist in pages.items():
            rec = scan.patents[pid]
            meta = {"title": rec.extra.get("title_display") or rec.title,
                    "locarno": rec.locarno, "figure_descriptions": rec.figure_descriptions,
                    "source": scan.kind, "synthetic": rec.synthetic}
            yield meta, [DrawingJob(pid, Path(p.path), p.page_index, p.page_kind,
                                    meta={"sheet": p.sheet}) for p in plist]


def deeppatent2_jobs(paths: Iterable[str], image_root: str | None, errors: list
                     ) -> Iterator[tuple[dict, list[DrawingJob]]]:
    """(patent metadata, jobs) per patent of DeepPatent2 JSON files (one file at a time)."""
    from .config import ConfigError, first_line

    for path in paths:
        try:
            jobs = list(scan_deeppatent2(path, image_root, errors))
        except ValueError as exc:          # (UnicodeDecodeError too)
            raise ConfigError(f"data.deeppatent2: {path} is not readable DeepPatent2 JSON "
                              f"({first_line(exc)[:200]})") from None
        yield from _deeppatent2_patents(jobs)


def _deeppatent2_patents(jobs: list[DrawingJob]) -> Iterator[tuple[dict, list[DrawingJob]]]:
    """The records' jobs grouped by patent, each image cut once: several records name the
    sheet their figures are on, and a sheet is one job whose crops are numbered in reading
    order, with the records' views as the patent's figure sentences (as a library added
    from the JSON has them); one record's number, view and captions stay with the sheet only
    while it names it alone (``_rows`` uses them for a sheet of one figure)."""
    by_patent: dict[str, list[DrawingJob]] = {}
    for job in jobs:
        by_patent.setdefault(job.patent_id, []).append(job)
    for pid, group in by_patent.items():
        sentences: dict[int, str] = {}
        for job in group:
            if said := job.meta.get("figure_sentence"):
                sentences.setdefault(*said)
        out: dict[tuple, DrawingJob] = {}
        for job in group:
            key = (job.path, job.single, job.box)
            if key not in out:
                out[key] = job
            elif not job.single and job.box is None:      # a sheet named again
                first = out[key]
                out[key] = DrawingJob(pid, first.path, meta={
                    k: first.meta.get(k) for k in ("title", "locarno", "source",
                                                   "object_name")})
        first = group[0].meta
        yield {"title": first.get("title"), "locarno": first.get("locarno"),
               "source": first.get("source"),
               "figure_descriptions": [sentences[n] for n in sorted(sentences)]}, list(
                   out.values())


# -- rendering ---------------------------------------------------------------------------------
def render_job(job: DrawingJob, drawing: dict) -> tuple[list[np.ndarray], str | None]:
    """Figure crops of one job (runs in a worker process), or none and why not."""
    from core.drawing import FigureBox, prepare_page, render_figure
    from core.imageio import ImageReadError, read_page_kept

    cfg = DrawingConfig.from_dict(drawing)
    try:
        img = read_page_kept(job.path, job.page_index)  # crops exactly as ingestion makes them
        page, dpi = img.array, img.sheet_dpi
        if job.single:
            return [render_figure(page, None, cfg, dpi=dpi)], None
        if job.box is not None:
            return [render_figure(page, FigureBox(*job.box), cfg, dpi=dpi)], None
        return [im for _, im in prepare_page(page, job.page_kind, cfg, dpi=dpi)], None
    except (ImageReadError, OSError, ValueError, MemoryError) as exc:
        why = str(exc)      # (the caller names the file: an ImageReadError's does too)
        return [], why.removeprefix(f"{job.path}: ") if isinstance(exc, ImageReadError) else why
    except Exception as exc:  # noqa: BLE001 - one bad drawing must not stop a corpus build
        return [], f"cannot prepare the drawing ({type(exc).__name__}: {exc})"


def _render_many(jobs: list[DrawingJob], drawing: dict):
    try:
        return [render_job(j, drawing) for j in jobs]
    finally:
        release_kept()          # (a patent's pages of one file are read with it kept open)


#: Workers dying on this many groups in a row is not bad input but a broken setup (a worker
#: that cannot start, memory too small for any page): stop instead of failing every file.
MAX_CRASHES_IN_A_ROW = 3


def ordered_map(fn: Callable, groups: Iterable, workers: int, ahead: int = 4,
                crashed: Callable | None = None) -> Iterator:
    """``fn(group)`` for each group, in order, at most ``workers * ahead`` groups in flight.

    A worker that dies (a crash in a decoder, the out-of-memory killer) costs one group, not
    the run: the groups in flight run again one at a time, and ``crashed(group)`` stands in for
    the result of one that kills its worker again (without ``crashed`` the crash is raised).
    """
    if workers <= 0:
        yield from (fn(g) for g in groups)
        return
    ctx = multiprocessing.get_context("spawn")
    it = iter(groups)
    pending: deque = deque()
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, **pool_options())
    try:
        while True:
            for g in it:
                pending.append((g, submit_or_broken(pool, fn, g)))
                if len(pending) >= workers * ahead:
                    break
            if not pending:
                return
            try:
                result = pending[0][1].result()
            except cf.process.BrokenProcessPool:
                pool.shutdown(cancel_futures=True)
                retry = [g for g, _ in pending]
                pending.clear()
                yield from _one_at_a_time(fn, retry, ctx, crashed)
                pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, **pool_options())
                continue
            pending.popleft()
            yield result
    finally:
        pool.shutdown(cancel_futures=True)


def _one_at_a_time(fn: Callable, groups: list, ctx, crashed: Callable | None) -> Iterator:
    pool, in_a_row = None, 0
    try:
        for g in groups:
            pool = pool or cf.ProcessPoolExecutor(1, mp_context=ctx, **pool_options())
            try:
                result = pool.submit(fn, g).result()
                in_a_row = 0
            except cf.process.BrokenProcessPool:
                pool.shutdown(cancel_futures=True)
                pool, in_a_row = None, in_a_row + 1
                if crashed is None or in_a_row >= MAX_CRASHES_IN_A_ROW:
                    raise
                result = crashed(g)
            yield result
    finally:
        if pool is not None:
            pool.shutdown()


class _Renderer:
    def __init__(self, drawing: dict):
        self.drawing = drawing

    def __call__(self, item):
        meta, jobs = item
        return meta, jobs, _render_many(jobs, self.drawing)


def _crashed(item):
    meta, jobs = item
    return meta, jobs, [([], f"{j.path}: the process decoding it crashed") for j in jobs]


def _rows(meta: dict, jobs: list[DrawingJob], rendered) -> Iterator[tuple[np.ndarray, dict]]:
    """Crops of one patent with their metadata and global figure numbers."""
    pages = [(j.page_kind, j.meta.get("sheet"), len(r[0])) for j, r in zip(jobs, rendered)]
    views = number_figures(pages, meta.get("figure_descriptions") or [])
    for job, (images, _), vs in zip(jobs, rendered, views):
        # (a record's figure is its job's one crop: not every figure found on its sheet)
        own = job.meta if len(images) == 1 else {}
        for i, (image, v) in enumerate(zip(images, vs)):
            key = (job.figure_key if own else None) or (
                f"fig:{v.number}" if v.number is not None else "")
            said = (own.get("figure_sentence") or (None, None))[1] if key == job.figure_key \
                else v.description
            yield image, {
                "patent_id": job.patent_id, "figure_key": key, "title": meta.get("title"),
                "locarno": meta.get("locarno"), "view": own.get("view") or v.view,
                "description": said, "object_name": job.meta.get("object_name"),
                "captions": own.get("captions") or [], "source": meta.get("source"),
                "synthetic": bool(meta.get("synthetic")),
                "page": [str(job.path), job.page_index, i]}


def synthetic_source(n: int, seed: int, cache_dir: str | Path, workers: int) -> Path:
    """A manifest of ``n`` synthetic patents (core.synthetic), one image per view, written
    once into the cache: the views of one design are the figures of one patent, and its
    family's Locarno subclass is its class."""
    from core.synthetic import write_corpus

    folder = Path(cache_dir) / f"synthetic-{seed}-{n}"
    manifest = folder / "manifest.jsonl"
    if not manifest.is_file():
        write_corpus(folder, n, seed, sheets=False, workers=max(1, workers))
    return manifest


# -- the corpus --------------------------------------------------------------------------------
#: How jobs become rows (``_deeppatent2_patents``, ``_rows``): a change that alters a corpus
#: built from the same data raises it, so no cache of the old rows is reused.
ROWS_VERSION = 2


def fingerprint(data: dict, drawing: DrawingConfig) -> str:
    """Hash of what the corpus depends on: the sources' contents (not their mtimes, so a
    re-laid copy of the data keeps its cache), the drawing settings, and the code that reads
    the metadata and decodes and cuts the pages."""
    import core._layout
    import core.drawing
    import core.imageio
    import core.sources
    from core.models import sha256_file

    from . import deeppatent2, views

    code = [Path(m.__file__) for m in (core.drawing, core._layout, core.imageio, deeppatent2,
                                       views)]
    code += sorted(Path(core.sources.__file__).parent.glob("*.py"))
    parts = {"data": {k: data.get(k) for k in ("sources", "deeppatent2", "image_root",
                                               "synthetic", "synthetic_seed")},
             "rows": ROWS_VERSION,
             "drawing": asdict(drawing), "files": [],
             "code": [[p.name, sha256_file(p)] for p in code]}
    for p in list(data.get("sources") or []) + list(data.get("deeppatent2") or []):
        parts["files"].append([str(Path(p).resolve()), *_content_key(Path(p))])
    parts["pages"] = _page_sizes(data.get("sources") or [])
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def _content_key(path: Path) -> list:
    """A file: its size and sha256. A folder: every file's relative path and size (hashing a
    grant folder's TIFFs would cost as much as reading them)."""
    from core.models import sha256_file     # torch: not at import, workers import this module

    if path.is_file():
        return [path.stat().st_size, sha256_file(path)]
    if path.is_dir():
        return sorted([str(f.relative_to(path)), f.stat().st_size]
                      for f in path.rglob("*") if f.is_file())
    return ["missing"]


def _page_sizes(sources: list) -> list:
    """(path, size) of every page file the core sources list (a manifest's pages lie outside
    it)."""
    from core.ingest import scan_sources

    pages = {p.path for scan in scan_sources(sources, allow_absolute=True)[0]
             for p in scan.pages}
    return sorted([str(p), Path(p).stat().st_size if Path(p).is_file() else -1]
                  for p in pages)


def build_corpus(data: dict, drawing: DrawingConfig, cache_dir: str | Path, *,
                 workers: int = 2, shard_size: int = 4096,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Render (or reuse) the corpus for ``data`` (the [data] config table); returns its folder."""
    folder = Path(cache_dir) / f"corpus-{fingerprint(data, drawing)}"
    if shards.read_index(folder) is not None:
        return folder
    writer = shards.ShardWriter(folder, drawing.image_size, shard_size)
    errors: list = []
    sources = list(data.get("sources") or [])
    if data.get("synthetic"):
        sources.append(synthetic_source(int(data["synthetic"]), int(data.get("synthetic_seed", 0)),
                                        cache_dir, workers))
    # DeepPatent2 JSON among the sources is read as data.deeppatent2 is (the records' boxes,
    # numbers, views and captions), its images found beside it
    dp2 = {str(s): deeppatent2_files(s) for s in sources}
    groups = list(core_jobs([s for s in sources if not dp2[str(s)]], errors))
    groups += list(deeppatent2_jobs([str(f) for s in sources for f in dp2[str(s)]], None,
                                    errors))
    groups += list(deeppatent2_jobs(data.get("deeppatent2") or [], data.get("image_root"),
                                    errors))
    n = 0
    for meta, jobs, rendered in ordered_map(_Renderer(drawing.to_dict()), groups, workers,
                                            crashed=_crashed):
        errors += [(str(j.path), e) for j, (_, e) in zip(jobs, rendered) if e]
        for image, row in _rows(meta, jobs, rendered):
            writer.add(image, row)
            n += 1
        if progress is not None:
            progress(n)
    index = writer.close({"fingerprint": folder.name, "errors": [list(e) for e in errors],
                          "data": {k: data.get(k) for k in ("sources", "deeppatent2",
                                                            "synthetic")}})
    log.info("corpus %s: %d figures, %d errors", folder, index["count"], len(errors))
    return folder


def corpus_contexts(folder: str | Path) -> list[FigureContext]:
    """One context per patent and per distinct (patent, figure) of a corpus."""
    index = shards.read_index(folder)
    seen: set = set()
    out = []
    for shard in index["shards"]:
        images = None
        for row_i, m in enumerate(shards.shard_meta(folder, shard["name"])):
            base = dict(patent_id=m["patent_id"], title=m.get("title"),
                        locarno=m.get("locarno"))
            if (m["patent_id"], "") not in seen:
                seen.add((m["patent_id"], ""))
                out.append(FigureContext(**base, object_name=m.get("object_name")))
            key = (m["patent_id"], m["figure_key"])
            if m["figure_key"] and key not in seen:
                seen.add(key)
                if images is None:
                    images = shards.shard_images(folder, shard["name"])
                out.append(FigureContext(
                    **base, figure_key=m["figure_key"], view=m.get("view"),
                    description=m.get("description"), object_name=m.get("object_name"),
                    captions=m.get("captions") or [],
                    image=(lambda a=images, r=row_i: np.array(a[r]))))
    return out


def enrich_corpus(folder: str | Path, store: Store, enrichers: dict[str, dict],
                  per_figure: int = 20, progress: Callable[[int, int], None] | None = None,
                  failures: dict | None = None) -> dict[str, int]:
    """Run the enrichers (name -> options) over a corpus and attach the texts to its shards;
    ``progress(done, total)`` after each drawing or patent described. ``failures`` gets
    ``{name: {"failed": n, "of": total}}`` for an enricher that failed on some; one that
    failed on all of them raises EnricherUnavailable (training would say it used texts that
    are not there)."""
    objs = []
    for name, options in enrichers.items():
        options = dict(options or {})
        if name == "llm":
            options.setdefault("cache", store_cache(store))
        objs.append(make_enricher(name, options))
    contexts = corpus_contexts(folder)
    failed: dict[str, int] = {}
    added = enrich(store, contexts, objs, per_figure=per_figure,
                   progress=None if progress is None else
                   lambda i: progress(i, len(contexts)), failures=failed)
    attach_texts(folder, store)
    if failures is not None:
        failures.update({n: {"failed": k, "of": len(contexts)} for n, k in failed.items()})
    hopeless = [n for n, k in failed.items() if k >= len(contexts)]
    if hopeless:
        raise EnricherUnavailable(
            f"no description could be made by the {hopeless[0]} enricher (it failed on all "
            f"{len(contexts)} drawings and patents; the warnings above say why)")
    return added


def texts_attached(folder: str | Path) -> bool:
    """Whether every shard of a corpus has its descriptions attached."""
    index = shards.read_index(folder)
    return bool(index) and all((Path(folder) / f"{s['name']}.texts.json").is_file()
                               for s in index["shards"])


def attach_texts(folder: str | Path, store: Store) -> None:
    """Write each shard's per-row descriptions (by enricher) next to it."""
    index = shards.read_index(folder)
    for shard in index["shards"]:
        meta = shards.shard_meta(folder, shard["name"])
        pids = {m["patent_id"] for m in meta}
        by_key: dict[tuple, dict[str, list[str]]] = {}
        for row in store.conn.execute(
                f"SELECT patent_id, figure_key, enricher, text FROM descriptions WHERE "
                f"patent_id IN ({','.join('?' * len(pids))}) ORDER BY id", sorted(pids)):
            by_key.setdefault(row[:2], {}).setdefault(row[2], []).append(row[3])
        texts = []
        for m in meta:
            merged: dict[str, list[str]] = {}
            for key in ((m["patent_id"], m["figure_key"]), (m["patent_id"], "")):
                for enricher, t in by_key.get(key, {}).items():
                    merged.setdefault(enricher, []).extend(t)
            texts.append({e: list(dict.fromkeys(t)) for e, t in merged.items()})
        shards.write_texts(folder, shard["name"], texts)
