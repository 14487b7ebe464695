"""Patent-level text vectors (title, figure descriptions, enriched descriptions) for text and
fused text-and-image queries.

Each patent's texts are embedded with the model's frozen text tower and averaged into one unit
vector, stored per model in SQLite. Recomputed only when the patent's text changes.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from ._names import composed
from .store import UNDATED_ORD, date_ord

MAX_DESCRIPTIONS = 12


def describing_title(row: dict) -> str | None:
    """The title a patent is described and searched by: not the file name that stands in for
    the title of a drawing added from a plain folder ("img_0042.png" says nothing of it)."""
    return None if titled_by_file_name(row) else row.get("title_display") or row.get("title")


def titled_by_file_name(row: dict) -> bool:
    """Whether a patent's title is its image's file name (a drawing of a plain folder)."""
    title = row.get("title_display") or row.get("title")
    extra = row.get("extra")
    extra = json.loads(extra or "{}") if not isinstance(extra, dict) else extra
    return bool(title) and extra.get("source") == "folder" and composed(title) == composed(
        PurePath(str(extra.get("relative_path") or "")).name)   # (a Mac's names: NFD)


def patent_texts(row: dict, descriptions: list[str]) -> list[str]:
    """What a patent says about itself, best first."""
    texts = []
    title = describing_title(row)
    if title:
        texts.append(title)
    figs = json.loads(row.get("figure_descriptions") or "[]")
    if figs:
        texts.append(figs[0])
    texts += descriptions[:MAX_DESCRIPTIONS]
    return texts


def missing_text_vectors(library, model) -> list[str]:
    """Patents with no text vector for ``model`` (a killed ingest run can leave some)."""
    return [r[0] for r in library.store.conn.execute(
        "SELECT patent_id FROM patents WHERE patent_id NOT IN "
        "(SELECT patent_id FROM text_vectors WHERE model_id=?)", (model.model_id,))]


def update_text_vectors(library, model, patent_ids=None, batch_size: int = 64) -> int:
    """(Re)compute text vectors of ``patent_ids`` (default: all) whose text changed (none in
    a library read-only here: a search reads the vectors it has)."""
    if library.store.read_only:
        return 0
    todo = stale_texts(library, model.model_id, patent_ids)
    gone = [pid for pid, _, texts in todo if not texts]
    todo = [t for t in todo if t[2]]
    flat = [t for _, _, texts in todo for t in texts]
    vecs = np.concatenate([model.encode_text(flat[i:i + batch_size]).numpy()
                           for i in range(0, len(flat), batch_size)]) if flat else None
    out, start = [], 0
    for pid, sha, texts in todo:
        v = vecs[start:start + len(texts)].mean(axis=0)
        start += len(texts)
        v = (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)
        out.append((pid, model.model_id, sha, v.tobytes()))
    if out or gone:
        with library.store.transaction():
            library.store.conn.executemany(
                "INSERT OR REPLACE INTO text_vectors(patent_id, model_id, text_sha256, vector) "
                "VALUES (?,?,?,?)", out)
            library.store.conn.executemany(
                "DELETE FROM text_vectors WHERE patent_id=? AND model_id=?",
                [(pid, model.model_id) for pid in gone])
            bump_text_generation(library.store)
    return len(out) + len(gone)


def stale_texts(library, model_id: str, patent_ids=None) -> list[tuple[str, str, list[str]]]:
    """(patent, SHA-256 of its texts, its texts) of ``patent_ids`` (default: all) whose
    text vector for ``model_id`` is missing or was embedded from other texts (found without
    loading the model); no texts: a vector that should go (its patent says nothing now)."""
    store = library.store
    rows, descs, known = [], {}, {}
    for where, args in _patent_filters(patent_ids):     # only the patents asked for
        rows += store.db.query("SELECT patent_id, title, title_display, figure_descriptions, "
                               f"extra FROM patents{where}", args)
        for pid, enricher, text in store.conn.execute(
                f"SELECT patent_id, enricher, text FROM descriptions{where} ORDER BY "
                "figure_key <> '', length(figure_key), figure_key, id", args):
            descs.setdefault(pid, {}).setdefault(enricher, []).append(text)
        known.update(store.conn.execute(
            "SELECT patent_id, text_sha256 FROM text_vectors WHERE model_id=?"
            + where.replace(" WHERE", " AND"), (model_id, *args)))
    todo = []
    for r in rows:
        texts = patent_texts(r, interleaved(descs.get(r["patent_id"], {})))
        if not texts:
            if r["patent_id"] in known:
                todo.append((r["patent_id"], "", []))
            continue
        sha = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()
        if known.get(r["patent_id"]) != sha:
            todo.append((r["patent_id"], sha, texts))
    return todo


def interleaved(by_enricher: dict[str, list[str]]) -> list[str]:
    """Each enricher's descriptions (the patent's own first, then its figures') taken in
    turn, enrichers by name: every enricher reaches the text vector, whichever ran first, and
    the same descriptions always give the same vector."""
    lists = [by_enricher[name] for name in sorted(by_enricher)]
    return [t for group in itertools.zip_longest(*lists) for t in group if t is not None]


#: Meta key counting the changes to what a TextIndex holds (text vectors, patents' dates and
#: classes): a searcher in another process reloads its copy when it has moved on.
GENERATION_KEY = "text_generation"


def text_generation(store) -> int:
    return store.get_meta(GENERATION_KEY, 0)


def bump_text_generation(store) -> None:
    """Within a write transaction: the patents' texts, dates or classes changed."""
    store._set_meta(GENERATION_KEY, text_generation(store) + 1)


def _patent_filters(patent_ids, chunk: int = 500):
    """SQL ``WHERE`` clauses (with their arguments) selecting ``patent_ids`` in chunks that
    stay under SQLite's variable limit; one empty clause for all patents."""
    if patent_ids is None:
        yield "", ()
        return
    ids = sorted(set(patent_ids))
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        yield f" WHERE patent_id IN ({','.join('?' * len(part))})", tuple(part)


@dataclass
class TextIndex:
    """All patents' text vectors of one model, in memory (exact search; ~1.5 KB per patent)."""

    patent_ids: np.ndarray
    grant: np.ndarray
    locarno: np.ndarray
    vectors: np.ndarray

    @classmethod
    def load(cls, library, model_id: str) -> "TextIndex":
        ids, grant, loc, vecs = [], [], [], []
        # a plain folder's image whose vector an older version embedded from its file name
        # (a library read-only here keeps it: writable ones lose it when opened)
        folder = [r[0] for r in library.store.conn.execute(
            "SELECT v.patent_id FROM text_vectors v JOIN patents t ON t.patent_id = "
            "v.patent_id WHERE v.model_id=? AND t.extra LIKE '%\"source\": \"folder\"%'",
            (model_id,))]
        stale = {pid for pid, _, _ in stale_texts(library, model_id, folder)} if folder else ()
        for pid, blob, g, code in library.store.conn.execute(
                "SELECT v.patent_id, v.vector, t.grant_date, t.locarno FROM text_vectors v "
                "JOIN patents t ON t.patent_id = v.patent_id WHERE v.model_id=? AND "
                "v.patent_id IN (SELECT patent_id FROM figures)", (model_id,)):
            if pid in stale:
                continue
            ids.append(pid)
            grant.append(date_ord(g))
            loc.append(code or "")
            vecs.append(np.frombuffer(blob, np.float32))
        dim = len(vecs[0]) if vecs else 1
        return cls(np.array(ids, dtype=object), np.array(grant, np.int64),
                   np.array(loc, dtype=object),
                   np.stack(vecs) if vecs else np.zeros((0, dim), np.float32))

    def __len__(self) -> int:
        return len(self.patent_ids)

    def similarities(self, text_vector: np.ndarray) -> dict[str, float]:
        if not len(self):       # (no patent has a text: a library of untitled images)
            return {}
        sims = self.vectors @ text_vector
        return dict(zip(self.patent_ids.tolist(), sims.tolist()))

    def top(self, text_vector: np.ndarray, k: int, before: int | None = None,
            locarno: str | None = None) -> list[tuple[str, float]]:
        ok = np.ones(len(self), bool)
        if before is not None:
            ok &= self.grant < min(before, UNDATED_ORD)
        if locarno:
            ok &= np.array([c == locarno or c.startswith(locarno + "-") for c in self.locarno],
                           bool) if len(self) else ok
        idx = np.nonzero(ok)[0]
        if not len(idx):
            return []
        sims = self.vectors[idx] @ text_vector
        order = np.argsort(-sims)[:k]
        return [(self.patent_ids[idx[i]], float(sims[i])) for i in order]
