"""Date-partitioned vector index: immutable HNSW segments plus exact search where it is cheaper.

A query "granted before D" must return the true top-k among the figures granted before D, at any
fraction of the collection. Each segment stores its vectors sorted by grant date, so the allowed
part of a segment is a prefix found by binary search:
- the whole segment is allowed: plain HNSW search;
- a small prefix (or a segment without a graph): exact matrix-multiply search of that prefix;
- a large prefix: HNSW search restricted to the prefix by a label filter.
Results of all segments are merged. Segments are written aside and only become live when the
library database commits a manifest naming them, so a crash never leaves a half-written index.
``ef`` is not stored in hnswlib files; it is set after every load.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDEX_FORMAT = "patent-examiner/index-v1"


class IndexError_(Exception):
    """The index is missing, damaged or was built with another model."""


class ModelMismatchError(IndexError_):
    """The library was built with a different model than the one in use."""


@dataclass
class IndexParams:
    """Search/build settings (not stored in hnswlib files)."""

    M: int = 16
    ef_construction: int = 200
    ef_search: int = 128
    exact_max: int = 20_000       # allowed vectors at or below this: exact search
    min_hnsw: int = 5_000         # segments smaller than this get no graph
    segment_max: int = 250_000    # compaction target size
    threads: int = 0              # 0 = all cores


def _digest(path: Path, full: bool = False) -> str:
    """blake2b of a file; for big files (unless ``full``) of its size plus 64 sampled blocks."""
    size = path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    block = 1 << 16
    with open(path, "rb") as f:
        if full or size <= 64 * block * 16:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        else:
            for i in range(64):
                f.seek((size - block) * i // 63)
                h.update(f.read(block))
    return h.hexdigest()


class Segment:
    """One immutable slice of the index: labels, grant ordinals and vectors sorted by date."""

    def __init__(self, directory: Path, entry: dict, params: IndexParams, verify: str = "sample"):
        self.name = entry["name"]
        self.entry = entry
        base = directory / self.name
        files = {"meta": base.with_suffix(".meta.npz"), "vectors": base.with_suffix(".vec.npy")}
        if entry.get("hnsw"):
            files["hnsw"] = base.with_suffix(".hnsw")
        for kind, path in files.items():
            expected = entry["files"][kind]
            if not path.is_file():
                raise IndexError_(f"index file missing: {path.name}")
            if path.stat().st_size != expected["size"]:
                raise IndexError_(f"index file truncated or replaced: {path.name}")
            if verify != "none" and _digest(path, full=verify == "full") != expected["digest"]:
                raise IndexError_(f"index file damaged (checksum mismatch): {path.name}")
        with np.load(files["meta"]) as meta:
            self.labels = meta["labels"].astype(np.int64)
            self.dates = meta["dates"].astype(np.int64)
        self.vectors = np.load(files["vectors"], mmap_mode="r")
        if len(self.labels) != entry["count"] or self.vectors.shape[0] != entry["count"]:
            raise IndexError_(f"index segment {self.name} is inconsistent")
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


def write_segment(directory: Path, labels: np.ndarray, dates: np.ndarray, vectors: np.ndarray,
                  params: IndexParams) -> dict:
    """Write a new segment's files (sorted by date) and return its manifest entry."""
    order = np.lexsort((labels, dates))
    labels = np.ascontiguousarray(labels[order], dtype=np.int64)
    dates = np.ascontiguousarray(dates[order], dtype=np.int64)
    vectors = np.ascontiguousarray(vectors[order], dtype=np.float32)
    name = f"seg-{uuid.uuid4().hex[:12]}"
    base = directory / name
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"meta": base.with_suffix(".meta.npz"), "vectors": base.with_suffix(".vec.npy")}
    with open(paths["meta"], "wb") as f:
        np.savez(f, labels=labels, dates=dates)
        f.flush()
        os.fsync(f.fileno())
    with open(paths["vectors"], "wb") as f:
        np.save(f, vectors)
        f.flush()
        os.fsync(f.fileno())
    has_hnsw = len(labels) >= params.min_hnsw
    if has_hnsw:
        import hnswlib

        paths["hnsw"] = base.with_suffix(".hnsw")
        index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        index.init_index(max_elements=len(labels), ef_construction=params.ef_construction,
                         M=params.M, random_seed=100)
        index.add_items(vectors, labels, num_threads=params.threads or -1)
        index.save_index(str(paths["hnsw"]))
        with open(paths["hnsw"], "rb+") as f:
            os.fsync(f.fileno())
    for p in paths.values():
        os.chmod(p, 0o600)
    return {
        "name": name, "count": int(len(labels)), "hnsw": has_hnsw,
        "max_label": int(labels.max()) if len(labels) else 0,
        "min_date": int(dates[0]) if len(dates) else None,
        "max_date": int(dates[-1]) if len(dates) else None,
        "files": {k: {"size": p.stat().st_size, "digest": _digest(p)} for k, p in paths.items()},
    }


def segment_files(directory: Path, name: str) -> list[Path]:
    base = directory / name
    return [base.with_suffix(s) for s in (".meta.npz", ".vec.npy", ".hnsw")]


def empty_manifest(model_id: str, dim: int) -> dict:
    return {"format": INDEX_FORMAT, "model_id": model_id, "dim": dim, "segments": []}


class VectorIndex:
    """Read side of the index: load the live segments and answer cutoff-aware k-NN queries."""

    def __init__(self, directory: str | os.PathLike, manifest: dict,
                 params: IndexParams | None = None, verify: str = "sample"):
        self.directory = Path(directory)
        self.manifest = manifest
        self.params = params or IndexParams()
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexError_(f"unknown index format {manifest.get('format')!r}")
        self.model_id = manifest["model_id"]
        self.dim = int(manifest["dim"])
        self.segments = [Segment(self.directory, e, self.params, verify)
                         for e in manifest["segments"]]
        self._lookup = None

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)

    def set_ef(self, ef: int) -> None:
        self.params.ef_search = ef
        for s in self.segments:
            if s.hnsw is not None:
                s.hnsw.set_ef(ef)

    def vectors_of(self, labels) -> np.ndarray:
        """Stored vectors of the given labels (zeros for unknown labels)."""
        if self._lookup is None:
            all_labels = np.concatenate([s.labels for s in self.segments] or
                                        [np.empty(0, np.int64)])
            seg_of = np.concatenate([np.full(len(s), i) for i, s in enumerate(self.segments)] or
                                    [np.empty(0, np.int64)])
            pos_of = np.concatenate([np.arange(len(s)) for s in self.segments] or
                                    [np.empty(0, np.int64)])
            order = np.argsort(all_labels)
            self._lookup = (all_labels[order], seg_of[order], pos_of[order])
        sorted_labels, seg_of, pos_of = self._lookup
        labels = np.asarray(labels, np.int64)
        out = np.zeros((len(labels), self.dim), np.float32)
        if not len(sorted_labels):
            return out
        at = np.clip(np.searchsorted(sorted_labels, labels), 0, len(sorted_labels) - 1)
        found = sorted_labels[at] == labels
        for i in np.nonzero(found)[0]:
            out[i] = self.segments[seg_of[at[i]]].vectors[pos_of[at[i]]]
        return out

    def count_allowed(self, before: int | None) -> int:
        return sum(s.allowed_count(before) for s in self.segments)

    def search(self, queries: np.ndarray, k: int, before: int | None = None,
               allowed: np.ndarray | None = None, exact: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k labels and inner-product scores per query among items with date < ``before``.

        ``allowed``: optional sorted array of labels to restrict to (e.g. a Locarno filter).
        ``exact``: brute force everywhere (the reference the tests compare against).
        Rows are padded with label -1 / score -inf when fewer than k items are allowed.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise IndexError_(f"query has dimension {queries.shape[1]}, index has {self.dim}")
        nq = len(queries)
        all_labels = [np.empty((nq, 0), np.int64)]
        all_scores = [np.empty((nq, 0), np.float32)]
        for seg in self.segments:
            n_ok = seg.allowed_count(before)
            if n_ok == 0:
                continue
            if allowed is not None:
                pos = np.nonzero(np.isin(seg.labels[:n_ok], allowed, assume_unique=False))[0]
                if len(pos) == 0:
                    continue
                labels, scores = self._search_positions(seg, queries, k, pos, exact)
            else:
                labels, scores = self._search_prefix(seg, queries, k, n_ok, exact)
            all_labels.append(labels)
            all_scores.append(scores)
        labels = np.concatenate(all_labels, axis=1)
        scores = np.concatenate(all_scores, axis=1)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        labels = np.take_along_axis(labels, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        if labels.shape[1] < k:
            pad = k - labels.shape[1]
            labels = np.pad(labels, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        return labels, scores

    # -- per segment ------------------------------------------------------------------------
    @staticmethod
    def _exact(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int):
        sims = queries @ np.asarray(vectors).T
        kk = min(k, sims.shape[1])
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        return labels[part], np.take_along_axis(sims, part, axis=1).astype(np.float32)

    def _hnsw(self, seg: Segment, queries: np.ndarray, k: int, filt=None):
        kk = min(k, len(seg))
        if seg.hnsw.ef < kk:
            seg.hnsw.set_ef(kk)
        threads = 1 if filt is not None else (self.params.threads or -1)
        labels, dist = seg.hnsw.knn_query(queries, k=kk, num_threads=threads, filter=filt)
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)

    def _search_prefix(self, seg: Segment, queries, k, n_ok, exact):
        if exact or seg.hnsw is None or n_ok <= self.params.exact_max:
            return self._exact(seg.vectors[:n_ok], seg.labels[:n_ok], queries, k)
        if n_ok == len(seg):
            return self._hnsw(seg, queries, k)
        return self._hnsw_filtered(seg, queries, k, _LabelFilter(seg.labels[:n_ok]), n_ok)

    def _hnsw_filtered(self, seg, queries, k, filt, n_ok):
        try:
            return self._hnsw(seg, queries, min(k, n_ok), filt)
        except RuntimeError:  # hnswlib could not find k allowed items: fall back to exact
            pos = np.arange(n_ok) if filt.positions is None else filt.positions
            return self._exact(seg.vectors[pos], seg.labels[pos], queries, k)

    def _search_positions(self, seg, queries, k, pos, exact):
        if exact or seg.hnsw is None or len(pos) <= self.params.exact_max:
            return self._exact(seg.vectors[pos], seg.labels[pos], queries, k)
        filt = _LabelFilter(seg.labels[pos], pos)
        return self._hnsw_filtered(seg, queries, k, filt, len(pos))


class _LabelFilter:
    """hnswlib filter allowing a set of labels (a byte mask: ~30 ns per call)."""

    def __init__(self, labels: np.ndarray, positions: np.ndarray | None = None):
        mask = np.zeros(int(labels.max()) + 2 if len(labels) else 1, dtype=np.uint8)
        mask[labels] = 1
        self._mask = mask.tobytes()
        self._n = len(self._mask)
        self.positions = positions

    def __call__(self, label: int) -> bool:
        return label < self._n and self._mask[label] == 1


def load_manifest_json(text: str | None) -> dict | None:
    return json.loads(text) if text else None
