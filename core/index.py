"""Date-partitioned vector index: immutable HNSW segments, exact search where that is cheaper.

A query "granted before D" must return the true top-k among the figures granted before D, at any
fraction of the collection, and nothing granted on or after D. Each segment stores its vectors
sorted by grant date, so its allowed part is a prefix found by binary search. Per segment:
- nothing allowed: skipped;
- at most ``exact_max`` allowed: exact matrix-multiply search of exactly those vectors;
- everything allowed: plain HNSW search;
- at least ``filter_min_share`` of it allowed: HNSW search of the whole segment for
  ``overfetch * k / share`` candidates with ``ef_search / share`` (the wanted items rank up to
  1/share deeper), keeping the allowed ones; a query that finds fewer than k asks for more,
  then falls back to exact search. (hnswlib's own filtered search calls back into Python for
  every node it visits: several times slower, bench/bench_search.py.)
- a smaller share: exact search of the allowed vectors (cheaper than the deep graph search).
Segments are searched in parallel threads (hnswlib and BLAS release the GIL) and their
results merged, best first.

Segments are written aside and become live only when the library database commits a manifest
naming them, so a crash never leaves a half-written index. The manifest holds each file's
size and the CRC-32 of each 4 MiB block: metadata and graphs are checked in full before they
are loaded (a damaged graph could crash hnswlib), vector blocks before their first use (and in
the background), so a damaged file is reported, never searched. ``ef`` is not stored in
hnswlib files; it is set after every load.
"""
from __future__ import annotations

import json
import math
import os
import threading
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import said_no_room

INDEX_FORMAT = "patent-examiner/index-v2"
#: A segment's files by kind (the manifest's ``files`` keys).
_SUFFIXES = {"meta": ".meta.npz", "vectors": ".vec.npy", "hnsw": ".hnsw"}
BLOCK = 1 << 22


class IndexError_(Exception):
    """The index is missing, damaged or was built with another model."""


class ModelMismatchError(IndexError_):
    """The library was built with a different model than the one in use (``built_with``,
    ``in_use``: their ids, where known)."""

    def __init__(self, message: str, built_with: str | None = None,
                 in_use: str | None = None):
        super().__init__(message)
        self.built_with, self.in_use = built_with, in_use


@dataclass
class IndexParams:
    """Build, search and compaction settings (the defaults are tuned in docs/benchmarks.md)."""

    M: int = 32
    ef_construction: int = 200
    ef_search: int = 256          # recall@10 >= 0.98 in every cutoff cell at 1M (benchmarks)
    exact_max: int = 16_000       # allowed vectors at or below this: exact search
    filter_min_share: float = 0.25  # graph search of a segment this much of which is allowed
    overfetch: float = 3.0        # candidates per wanted result, over the allowed share
    min_hnsw: int = 5_000         # segments smaller than this get no graph
    fanout: int = 8               # graph segments of one size tier merged at a time
    segment_max: int = 250_000    # merges never make a bigger segment
    threads: int = 0              # build and search threads; 0 = all cores


# -- integrity ----------------------------------------------------------------------------
def _file_entry(path: Path) -> dict:
    crcs = []
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            crcs.append(zlib.crc32(block))
    return {"size": path.stat().st_size, "crc32": crcs}


class _Blocks:
    """Checks a file's blocks against the manifest, each once, before its bytes are used."""

    def __init__(self, path: Path, expected: dict):
        self.path = path
        self.crcs = expected["crc32"]
        self.done = np.zeros(len(self.crcs), bool)
        self.failed: str | None = None
        self._lock = threading.Lock()

    def check(self, start: int = 0, stop: int | None = None) -> None:
        """Raise IndexError_ if a block overlapping bytes [start, stop) does not match."""
        stop = len(self.crcs) * BLOCK if stop is None else stop
        self.check_blocks(np.arange(start // BLOCK, (max(start, stop - 1)) // BLOCK + 1))

    def check_blocks(self, ids: np.ndarray) -> None:
        ids = ids[ids < len(self.crcs)]
        if self.failed is None and self.done[ids].all():
            return
        with self._lock:
            if self.failed is None:
                with open(self.path, "rb") as f:
                    for b in ids[~self.done[ids]]:
                        f.seek(int(b) * BLOCK)
                        if zlib.crc32(f.read(BLOCK)) != self.crcs[b]:
                            self.failed = (f"index file damaged (checksum mismatch): "
                                           f"{self.path.name}; rebuild the index with "
                                           "`patent-examiner index rebuild`")
                            break
                        self.done[b] = True
        if self.failed:
            raise IndexError_(self.failed)


# -- segments -----------------------------------------------------------------------------
def _checked_file(path: Path, expected: dict, check: bool) -> _Blocks:
    """The blocks of an index file that must exist with its recorded size; ``check`` verifies
    every block now (a damaged graph could crash hnswlib: graphs are checked before loading)."""
    if not path.is_file():
        raise IndexError_(f"index file missing: {path.name}")
    if path.stat().st_size != expected["size"]:
        raise IndexError_(f"index file truncated or replaced: {path.name}")
    blocks = _Blocks(path, expected)
    if check:
        blocks.check()
    return blocks


class Segment:
    """One immutable slice of the index: labels, grant ordinals and vectors sorted by date.

    ``verify``: "full" checks every block now; "lazy" checks metadata and graph now and vector
    blocks before their first use; "none" trusts the files (just written by this process).
    ``graph=False`` leaves the HNSW graph on disk (a segment read only to be merged).
    """

    def __init__(self, directory: Path, entry: dict, params: IndexParams, verify: str = "lazy",
                 graph: bool = True):
        self.name = entry["name"]
        self.entry = entry
        base = directory / self.name
        files = {"meta": base.with_suffix(".meta.npz"), "vectors": base.with_suffix(".vec.npy")}
        if entry.get("hnsw") and graph:
            files["hnsw"] = base.with_suffix(".hnsw")
        self.blocks = {kind: _checked_file(path, entry["files"][kind], verify == "full" or (
            verify == "lazy" and kind != "vectors")) for kind, path in files.items()}
        if verify == "none":
            for b in self.blocks.values():
                b.done[:] = True
        try:
            with np.load(files["meta"]) as meta:
                self.labels = meta["labels"].astype(np.int64)
                self.dates = meta["dates"].astype(np.int64)
            self.vectors = np.load(files["vectors"], mmap_mode="r")
        except PermissionError:
            raise                   # (not damaged: this user may not read it, said as such)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexError_(f"index segment {self.name} is unreadable ({exc})") from None
        if len(self.labels) != entry["count"] or self.vectors.shape[0] != entry["count"]:
            raise IndexError_(f"index segment {self.name} is inconsistent")
        self._by_label = None
        self._lock = threading.Lock()
        self.hnsw = None
        if "hnsw" in files:
            import hnswlib

            self.hnsw = hnswlib.Index(space="ip", dim=int(self.vectors.shape[1]))
            self.hnsw.load_index(str(files["hnsw"]), max_elements=entry["count"])
            self.hnsw.set_ef(params.ef_search)

    def __len__(self) -> int:
        return len(self.labels)

    def allowed_count(self, before: int | None) -> int:
        if before is None:
            return len(self)
        return int(np.searchsorted(self.dates, before, side="left"))

    def rows(self, rows: slice | np.ndarray) -> np.ndarray:
        """Vectors at positions ``rows`` (a prefix slice or positions), checked before use."""
        row_bytes = self.vectors.shape[1] * 4
        off = self.vectors.offset
        if isinstance(rows, slice):
            if rows.stop:
                self.blocks["vectors"].check(off, off + rows.stop * row_bytes)
        elif len(rows):
            start = off + np.asarray(rows, np.int64) * row_bytes
            self.blocks["vectors"].check_blocks(
                np.unique(np.concatenate([start // BLOCK, (start + row_bytes - 1) // BLOCK])))
        return self.vectors[rows]

    def positions_of(self, labels: np.ndarray) -> np.ndarray:
        """Positions of ``labels`` in this segment (-1 where absent)."""
        if self._by_label is None:
            order = np.argsort(self.labels, kind="stable")
            self._by_label = (self.labels[order], order)
        keys, order = self._by_label
        labels = np.asarray(labels, np.int64)
        if not len(keys):
            return np.full(labels.shape, -1, np.int64)
        at = np.clip(np.searchsorted(keys, labels), 0, len(keys) - 1)
        return np.where(keys[at] == labels, order[at], -1)

    def knn(self, queries: np.ndarray, k: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
        """HNSW labels and scores of the k best (``ef`` at least ``ef_search``)."""
        k = min(k, len(self))
        if ef <= self.hnsw.ef:
            labels, dist = self.hnsw.knn_query(queries, k=k, num_threads=1)
        else:
            with self._lock:
                default = self.hnsw.ef
                self.hnsw.set_ef(ef)
                try:
                    labels, dist = self.hnsw.knn_query(queries, k=k, num_threads=1)
                finally:
                    self.hnsw.set_ef(default)
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)


def write_segment(directory: Path, labels: np.ndarray, dates: np.ndarray, vectors: np.ndarray,
                  params: IndexParams, graph: tuple[Path, np.ndarray] | None = None) -> dict:
    """Write a new segment's files (sorted by date) and return its manifest entry.

    ``graph``: (hnsw file, its labels) of an existing segment whose items are among these:
    its graph is extended with the other items instead of being built again (merges).
    """
    order = np.lexsort((labels, dates))
    labels = np.ascontiguousarray(labels[order], dtype=np.int64)
    dates = np.ascontiguousarray(dates[order], dtype=np.int64)
    vectors = np.ascontiguousarray(vectors[order], dtype=np.float32)
    name = f"seg-{uuid.uuid4().hex[:12]}"
    base = directory / name
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: base.with_suffix(_SUFFIXES[kind]) for kind in ("meta", "vectors")}
    if len(labels) >= params.min_hnsw:
        paths["hnsw"] = base.with_suffix(_SUFFIXES["hnsw"])
    try:
        with said_no_room(directory, folder=directory):
            _write_segment_files(paths, labels, dates, vectors, params, graph)
    except BaseException:
        for path in paths.values():          # no half-written segment is left behind
            path.unlink(missing_ok=True)
        raise
    return {
        "name": name, "count": int(len(labels)), "hnsw": "hnsw" in paths,
        "max_label": int(labels.max()) if len(labels) else 0,
        "min_date": int(dates[0]) if len(dates) else None,
        "max_date": int(dates[-1]) if len(dates) else None,
        "files": {k: _file_entry(p) for k, p in paths.items()},
    }


def _write_segment_files(paths: dict[str, Path], labels: np.ndarray, dates: np.ndarray,
                         vectors: np.ndarray, params: IndexParams,
                         graph: tuple[Path, np.ndarray] | None) -> None:
    with _private(paths["meta"]) as f:
        np.savez(f, labels=labels, dates=dates)
    with _private(paths["vectors"]) as f:
        np.save(f, vectors)
    if "hnsw" in paths:
        import hnswlib

        index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        new = np.ones(len(labels), bool)
        if graph is not None:
            index.load_index(str(graph[0]), max_elements=len(labels))
            new = ~np.isin(labels, graph[1])
        else:
            index.init_index(max_elements=len(labels), ef_construction=params.ef_construction,
                             M=params.M, random_seed=100)
        if new.any():
            index.add_items(vectors[new], labels[new], num_threads=params.threads or -1)
        with _private(paths["hnsw"]):
            pass  # created user-only; hnswlib then writes into the existing file
        index.save_index(str(paths["hnsw"]))
        with open(paths["hnsw"], "rb+") as f:
            os.fsync(f.fileno())


class _private:
    """Open a new file for writing, user-only from the start, fsynced on close."""

    def __init__(self, path: Path):
        self.f = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")

    def __enter__(self):
        return self.f

    def __exit__(self, *exc) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()


def segment_files(directory: Path, name: str) -> list[Path]:
    base = directory / name
    return [base.with_suffix(s) for s in _SUFFIXES.values()]


def damaged_files(directory: Path, manifest: dict | None) -> list[str]:
    """Index files the manifest lists that are gone or of another size (a cheap look, no
    checksums: ``index verify`` reads them whole)."""
    out = []
    for entry in (manifest or {}).get("segments", []):
        for kind, expected in entry.get("files", {}).items():
            path = (directory / entry["name"]).with_suffix(_SUFFIXES.get(kind, ""))
            try:
                if path.stat().st_size != expected["size"]:
                    out.append(f"{path.name} (another size)")
                elif not os.access(path, os.R_OK):
                    out.append(f"{path.name} (this user may not read it)")
            except OSError:
                out.append(f"{path.name} (gone)")
    return out


def empty_manifest(model_id: str, dim: int) -> dict:
    return {"format": INDEX_FORMAT, "model_id": model_id, "dim": dim, "segments": []}


# -- compaction ---------------------------------------------------------------------------
def plan_merge(entries: list[dict], params: IndexParams, force: bool = False) -> list[str]:
    """Names of the segments to merge next ([] = nothing to do).

    Small segments (no graph) are merged once they add up to a graph, or are more than four;
    segments with a graph are merged ``fanout`` at a time within a size tier (each vector is
    re-inserted about log_fanout(size / min_hnsw) times), never beyond ``segment_max``.
    ``force`` merges any two or more small segments.
    """
    small = [e for e in entries if e["count"] < params.min_hnsw]
    if len(small) >= 2 and (force or len(small) > 4 or
                            sum(e["count"] for e in small) >= params.min_hnsw):
        return [e["name"] for e in small]
    tiers: dict[int, list[dict]] = {}
    for e in entries:
        if e["count"] >= params.min_hnsw:
            tiers.setdefault(int(math.log(e["count"] / params.min_hnsw, params.fanout)),
                             []).append(e)
    for _, group in sorted(tiers.items()):
        group.sort(key=lambda e: e["count"])
        pick = group[:params.fanout]
        if len(pick) == params.fanout and sum(e["count"] for e in pick) <= params.segment_max:
            return [e["name"] for e in pick]
    return []


def merge_segments(directory: Path, entries: list[dict], params: IndexParams) -> dict:
    """Write one segment holding the items of the segments ``entries`` (checked as they are
    read); the largest graph among them is extended rather than built again."""
    segments = [Segment(directory, e, params, "lazy", graph=False) for e in entries]
    labels = np.concatenate([s.labels for s in segments])
    dates = np.concatenate([s.dates for s in segments])
    vectors = np.concatenate([np.asarray(s.rows(slice(0, len(s)))) for s in segments])
    with_graph = [s for s in segments if s.entry.get("hnsw")]
    graph = None
    if with_graph and len(labels) >= params.min_hnsw:
        big = max(with_graph, key=len)
        path = directory / f"{big.name}.hnsw"
        _checked_file(path, big.entry["files"]["hnsw"], check=True)
        graph = (path, big.labels)
    return write_segment(directory, labels, dates, vectors, params, graph)


def redate_segment(directory: Path, seg: Segment, new_dates: dict[int, int],
                   params: IndexParams) -> dict:
    """Write a copy of segment ``seg`` whose items ``new_dates`` names carry those grant
    ordinals (re-sorted by date); the vectors and the HNSW graph, which know nothing of
    dates, are reused as they are."""
    labels = np.fromiter(new_dates, np.int64, len(new_dates))
    pos = seg.positions_of(labels)
    dates = seg.dates.copy()
    dates[pos[pos >= 0]] = np.fromiter(new_dates.values(), np.int64, len(new_dates))[pos >= 0]
    graph = None
    if seg.entry.get("hnsw"):
        path = directory / f"{seg.name}.hnsw"
        _checked_file(path, seg.entry["files"]["hnsw"], check=True)
        graph = (path, seg.labels)
    return write_segment(directory, seg.labels, dates, np.asarray(seg.rows(slice(0, len(seg)))),
                         params, graph)


# -- search -------------------------------------------------------------------------------
_SEARCH_POOLS: dict = {}   # thread count -> pool, shared by every index of the process


class VectorIndex:
    """Read side of the index: load the live segments and answer cutoff-aware k-NN queries."""

    def __init__(self, directory: str | os.PathLike, manifest: dict,
                 params: IndexParams | None = None, verify: str = "lazy",
                 previous: "VectorIndex | None" = None):
        """``previous``: an index of the same folder whose loaded segments are reused (after a
        commit only the new segments are read)."""
        self.directory = Path(directory)
        self.manifest = manifest
        self.params = params or IndexParams()
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexError_(f"unknown index format {manifest.get('format')!r}; rebuild the "
                              "index with `patent-examiner index rebuild`")
        self.model_id = manifest["model_id"]
        self.dim = int(manifest["dim"])
        loaded = {s.name: s for s in previous.segments} if previous is not None else {}
        self.segments = [loaded.get(e["name"]) or Segment(self.directory, e, self.params, verify)
                         for e in manifest["segments"]]

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)

    def verify_in_background(self) -> threading.Thread:
        """Check every vector block now, off the query path (damage is raised at the next
        search that would read it)."""
        def run():
            for s in self.segments:
                try:
                    s.blocks["vectors"].check()
                except IndexError_:
                    pass
        t = threading.Thread(target=run, name="index-verify", daemon=True)
        t.start()
        return t

    def set_ef(self, ef: int) -> None:
        self.params.ef_search = ef
        for s in self.segments:
            if s.hnsw is not None:
                s.hnsw.set_ef(ef)

    def vectors_of(self, labels) -> np.ndarray:
        """Stored vectors of the given labels (zeros for unknown labels)."""
        labels = np.asarray(labels, np.int64)
        out = np.zeros((len(labels), self.dim), np.float32)
        for seg in self.segments:
            pos = seg.positions_of(labels)
            hit = np.nonzero(pos >= 0)[0]
            if len(hit):
                order = np.argsort(pos[hit])
                out[hit[order]] = seg.rows(pos[hit][order])
        return out

    def count_allowed(self, before: int | None) -> int:
        return sum(s.allowed_count(before) for s in self.segments)

    def search(self, queries: np.ndarray, k: int, before: int | None = None,
               allowed: np.ndarray | None = None, exact: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k labels and inner-product scores per query among items with date < ``before``.

        ``allowed``: optional array of labels to restrict to (e.g. a Locarno filter).
        ``exact``: brute force everywhere (the reference the tests compare against).
        Rows are padded with label -1 / score -inf when fewer than k items are allowed; k
        beyond the number of items is that number (a k of 10^11 asks for everything).
        """
        k = max(0, min(int(k), len(self)))
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise IndexError_(f"query has dimension {queries.shape[1]}, index has {self.dim}")
        nq = len(queries)
        tasks = []
        for seg in self.segments:
            n_ok = seg.allowed_count(before)
            pos = None
            if n_ok and allowed is not None:
                pos = np.nonzero(np.isin(seg.labels[:n_ok], allowed))[0]
            if n_ok and (pos is None or len(pos)):
                tasks.append((seg, queries, k, n_ok, pos, exact))
        if len(tasks) > 1 and self._threads() > 1:
            found = list(self._pool(self._threads()).map(lambda t: self._search_segment(*t),
                                                         tasks))
        else:
            found = [self._search_segment(*t) for t in tasks]
        labels = np.concatenate([np.empty((nq, 0), np.int64)] + [f[0] for f in found], axis=1)
        scores = np.concatenate([np.empty((nq, 0), np.float32)] + [f[1] for f in found],
                                axis=1)
        order = np.lexsort((labels, -scores), axis=1)[:, :k]    # (equal scores: by id)
        labels = np.take_along_axis(labels, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        if labels.shape[1] < k:
            pad = k - labels.shape[1]
            labels = np.pad(labels, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        return labels, scores

    def _threads(self) -> int:
        return self.params.threads or os.cpu_count() or 1

    @staticmethod
    def _pool(threads: int):
        pool = _SEARCH_POOLS.get(threads)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _SEARCH_POOLS.setdefault(
                threads, ThreadPoolExecutor(threads, thread_name_prefix="index"))
        return pool

    # -- per segment ------------------------------------------------------------------------
    def _search_segment(self, seg: Segment, queries, k, n_ok, pos, exact):
        n_allowed = n_ok if pos is None else len(pos)
        rows = slice(0, n_ok) if pos is None else pos
        share = n_allowed / len(seg)
        if exact or seg.hnsw is None or n_allowed <= self.params.exact_max or \
                share < self.params.filter_min_share:
            return _exact(seg.rows(rows), seg.labels[rows], queries, k)
        if n_allowed == len(seg):
            return seg.knn(queries, k, self.params.ef_search)
        ok = None
        if pos is not None:
            ok = np.zeros(len(seg), bool)
            ok[pos] = True
        return self._post_filter(seg, queries, k, n_ok, ok, rows, share)

    def _post_filter(self, seg: Segment, queries, k, n_ok, ok, rows, share):
        """Over-fetch from the whole segment's graph and keep the allowed candidates."""
        nq = len(queries)
        k = min(k, n_ok if ok is None else int(ok.sum()))
        out_l = np.full((nq, k), -1, np.int64)
        out_s = np.full((nq, k), -np.inf, np.float32)
        fetch = math.ceil(self.params.overfetch * k / share)
        ef = math.ceil(self.params.ef_search / share)
        todo = np.arange(nq)
        while len(todo) and 4 * fetch <= len(seg):
            labels, scores = seg.knn(queries[todo], fetch, max(ef, fetch))
            p = seg.positions_of(labels)
            keep = (p >= 0) & (p < n_ok) if ok is None else ok[p]
            found = keep.sum(axis=1)
            for i in np.nonzero(found >= k)[0]:
                cols = np.nonzero(keep[i])[0][:k]
                out_l[todo[i]], out_s[todo[i]] = labels[i, cols], scores[i, cols]
            todo = todo[found < k]
            fetch, ef = 2 * fetch, 2 * ef
        if len(todo):
            out_l[todo], out_s[todo] = _exact(seg.rows(rows), seg.labels[rows], queries[todo], k)
        return out_l, out_s


def _exact(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int):
    """The ``k`` best of ``vectors`` for each query, best first; equal scores by label, so a
    tie at the k-th place keeps the same figure whatever ``k`` is."""
    sims = queries @ np.asarray(vectors).T
    kk = min(k, sims.shape[1])
    out_l = np.empty((len(sims), kk), np.int64)
    out_s = np.empty((len(sims), kk), np.float32)
    if not kk:
        return out_l, out_s
    kth = -np.partition(-sims, kk - 1, axis=1)[:, kk - 1]
    for i, row in enumerate(sims):
        cand = np.flatnonzero(row >= kth[i])        # the top k and any tied with the k-th
        pick = cand[np.lexsort((labels[cand], -row[cand]))[:kk]]
        out_l[i], out_s[i] = labels[pick], row[pick]
    return out_l, out_s


def load_manifest_json(text: str | None) -> dict | None:
    return json.loads(text) if text else None
