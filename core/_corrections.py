"""Corrected metadata: a source added again with other dates, class, title or figure
descriptions for a patent it delivered updates that patent (its figures' grant dates in the
index included), so a fixed manifest row takes effect; another source's different values are
reported and left alone, so two sources that disagree never overwrite each other back and
forth."""
from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import numpy as np

from ._names import composed
from ._wording import counted
from .index import Segment, redate_segment
from .library import INDEX_DIR, Library
from .records import PageRecord, PatentRecord
from .store import date_ord, now_iso
from .text_index import bump_text_generation

#: The fields a source may correct, as stored (ISO dates, Locarno code, a JSON list).
FIELDS = ("title", "grant_date", "filing_date", "priority_date", "locarno", "locarno_edition",
          "figure_descriptions")
#: The fields enrichers describe a patent from (its title, its class's meaning, its views).
DESCRIBED_FROM = ("title", "locarno", "figure_descriptions")


def _as_stored(rec: PatentRecord) -> dict:
    out = {}
    for f in FIELDS:
        v = getattr(rec, f)
        if f == "figure_descriptions":
            v = json.dumps(v) if v else None
        out[f] = v.isoformat() if isinstance(v, date) else v
    return out


def differences(stored: dict, rec: PatentRecord) -> dict[str, tuple]:
    """field -> (library's value, source's value) where the source gives another value."""
    new = _as_stored(rec)
    have = {f: None if f == "figure_descriptions" and stored.get(f) == "[]" else stored.get(f)
            for f in FIELDS}
    return {f: (have[f], v) for f, v in new.items()
            if v not in (None, "") and v != _composed(f, have[f])}


def _composed(field: str, value):
    """A stored value in the composed Unicode form records have (a library may hold one
    stored before they did: not a difference)."""
    if field == "figure_descriptions" and isinstance(value, str):
        try:
            return json.dumps([composed(d) for d in json.loads(value)])
        except (ValueError, TypeError):
            return value
    return composed(value)


def _source(store, sid: int | None) -> tuple[str, str] | None:
    """(kind, path) of a registered source."""
    if sid is None:
        return None
    row = store.conn.execute("SELECT kind, path FROM sources WHERE id = ?", (sid,)).fetchone()
    return (row[0], row[1]) if row else None


def _same_grant_files(first: tuple[str, str] | None, now: tuple[str, str] | None) -> bool:
    """Grant folders one inside the other (a week's folder, then one grant of it, or its
    XML): the same files, so the same source as far as corrections go."""
    if first is None or now is None or first[0] != "redbook" or now[0] != "redbook":
        return False
    a, b = Path(first[1]).resolve(), Path(now[1]).resolve()
    return a == b or a in b.parents or b in a.parents


def correct_metadata(library: Library, records: list[tuple[int | None, str, PatentRecord]],
                     dates_before: dict[str, str | None] | None = None
                     ) -> tuple[list[str], list[str], set[str]]:
    """Apply ``(source id, source path, record)`` corrections of known patents in one
    transaction; returns what was corrected and what was not (a line per patent) and the
    patents whose title or class changed: their enriched descriptions, written from the old
    ones, are dropped (``enrich`` writes new ones) and their text vectors are stale.
    ``dates_before``: the grant
    dates patents had before this run added pages (which fill an empty date in the patent's
    row, not in its earlier figures: those are redated here)."""
    store = library.store
    notes: list[str] = []
    kept: list[str] = []
    updates: dict[str, tuple[dict[str, tuple], PatentRecord]] = {}
    wheres: dict[str, str] = {}         # the source of each patent's correction
    line_of: dict[str, int] = {}        # its line in ``notes``
    known = store.patents(rec.patent_id for _, _, rec in records)
    for pid, before in (dates_before or {}).items():
        if pid in known:
            known[pid] = {**known[pid], "grant_date": before}
    for sid, where, rec in records:
        stored = known.get(rec.patent_id)
        if stored is None:
            continue
        diff = differences(stored, rec)
        if not diff:
            continue

        def said(fields: dict) -> str:
            return "; ".join(f"{f} {_shown(f, old, stored)} -> {_flat(new, f)}"
                             + _new_sentences(f, old, new) for f, (old, new) in fields.items())
        first = _source(store, stored.get("source_id"))
        # what the library lacks (an image folder has no titles or classes) any source fills
        apply = {f: d for f, d in diff.items() if d[0] in (None, "")}
        other = {f: d for f, d in diff.items() if f not in apply}
        if other and (sid is not None and stored.get("source_id") == sid or
                      _same_grant_files(first, _source(store, sid))):
            apply, other = diff, {}
        if apply:
            updates[rec.patent_id] = apply, rec
            wheres[rec.patent_id] = str(where)
            line_of[rec.patent_id] = len(notes)
            notes.append(f"{rec.patent_id} from {where}: {said(apply)}")
        if other:
            kept.append(f"{rec.patent_id}: {where} gives other metadata ({said(other)}); the "
                        "library keeps what the patent's first source gave"
                        + (f" (to correct it, fix and add {first[1]} again)" if first else ""))
    if not updates:
        return notes, kept, set()
    new_ords: dict[int, int] = {}
    for pid, (diff, _) in updates.items():
        if "grant_date" in diff:
            ord_ = date_ord(diff["grant_date"][1])
            for (fid,) in store.conn.execute("SELECT id FROM figures WHERE patent_id=?", (pid,)):
                new_ords[fid] = ord_
    at = now_iso()
    with _index_redated(library, new_ords) as conn:
        for pid, (diff, rec) in updates.items():
            conn.executemany(
                "INSERT INTO corrections(patent_id, field, old, new, source, at) "
                "VALUES (?,?,?,?,?,?)", [(pid, f, old, new, wheres[pid], at)
                                         for f, (old, new) in diff.items()])
            sets = {f: new for f, (_, new) in diff.items()}
            if "title" in sets:
                sets["title_display"] = rec.extra.get("title_display") or rec.title
            conn.execute(f"UPDATE patents SET {', '.join(f'{f}=?' for f in sets)} "
                         "WHERE patent_id=?", (*sets.values(), pid))
            if "grant_date" in sets:
                conn.execute("UPDATE figures SET grant_ord=? WHERE patent_id=?",
                             (date_ord(sets["grant_date"]), pid))
            if sets.keys() & DESCRIBED_FROM:
                # the views name the figures' descriptions only, title and class all of them
                figures_only = not sets.keys() & {"title", "locarno"}
                dropped = conn.execute("DELETE FROM descriptions WHERE patent_id=?"
                                       + (" AND figure_key != ''" if figures_only else ""),
                                       (pid,)).rowcount
                if dropped:
                    notes[line_of[pid]] += (
                        f" ({dropped} enriched descriptions written from the old "
                        f"{' and '.join(f.replace('_', ' ') for f in DESCRIBED_FROM if f in sets)}"
                        " dropped: "
                        "`patent-examiner enrich` describes it again)")
    return notes, kept, {pid for pid, (diff, _) in updates.items()
                         if diff.keys() & DESCRIBED_FROM}


def _redated_segments(library: Library, new_ords: dict[int, int]
                      ) -> tuple[list[dict], list[str]]:
    """New index segments with the figures of ``new_ords`` (figure id -> day) redated, and
    the names of the segments they replace (swapped in by ``_index_redated``)."""
    manifest = library.manifest
    written: list[dict] = []
    replaced: list[str] = []
    directory = library.path / INDEX_DIR
    if new_ords and manifest is not None:
        labels = np.fromiter(new_ords, np.int64)
        for entry in manifest["segments"]:
            seg = Segment(directory, entry, library.params, "lazy", graph=False)
            if (seg.positions_of(labels) >= 0).any():
                written.append(redate_segment(directory, seg, new_ords, library.params))
                replaced.append(entry["name"])
    return written, replaced


@contextlib.contextmanager
def _index_redated(library: Library, new_ords: dict[int, int]):
    """One store transaction (the ``with`` body writes the patents) that ends by swapping in
    index segments with the figures of ``new_ords`` redated (written aside first, dropped if
    the body fails); what a TextIndex holds has changed."""
    written, replaced = _redated_segments(library, new_ords)
    try:
        with library.store.transaction() as conn:
            yield conn
            bump_text_generation(library.store)
            if written:
                manifest = library.manifest
                manifest["segments"] = [s for s in manifest["segments"]
                                        if s["name"] not in replaced] + written
                library.set_manifest(manifest)
    except BaseException:
        library.drop_segment_files([e["name"] for e in written])
        raise
    library.drop_segment_files(replaced)


def refile_pages(library: Library, moves: list[tuple[int, str, PageRecord, int | None]],
                 records: dict[str, PatentRecord], run_id: str) -> list[str]:
    """File pages an image folder added under stand-in ``IMG-`` patents under the patents a
    later source names for them: ``(page id, stand-in id, the source's page, source id)``.
    The pages take the source's kind and sheet, their figures the patent's grant date (in the
    index too); a stand-in left without pages goes. The search log and the ratings keep the
    stand-ins they named; the table ``refiled`` says where their figures went (the store
    reads them back under their patents). Returns a line per
    page."""
    if not moves:
        return []
    store = library.store
    dated = {pid: row["grant_date"] for pid, row in store.patents(
        page.patent_id for _, _, page, _ in moves).items() if row["grant_date"]}
    ords = {page.patent_id: date_ord(dated.get(page.patent_id) or
                                     records[page.patent_id].grant_date)
            for _, _, page, _ in moves}
    figures: dict[int, list[int]] = {}
    for page_id, _, _, _ in moves:
        figures[page_id] = [fid for (fid,) in store.conn.execute(
            "SELECT id FROM figures WHERE page_id=?", (page_id,))]
    new_ords = {fid: ords[page.patent_id] for page_id, _, page, _ in moves
                for fid in figures[page_id]}
    at = now_iso()
    with _index_redated(library, new_ords) as conn:
        for _, _, page, sid in moves:
            store.upsert_patents([records[page.patent_id]], sid, run_id)
        for page_id, old, page, sid in moves:
            new = page.patent_id
            conn.execute("UPDATE pages SET patent_id=?, source_id=?, page_kind=?, sheet=? "
                         "WHERE id=?", (new, sid, page.page_kind, page.sheet, page_id))
            conn.execute("UPDATE figures SET patent_id=?, grant_ord=? WHERE page_id=?",
                         (new, ords[new], page_id))
            conn.executemany("INSERT OR REPLACE INTO refiled(figure_id, old_patent, "
                             "new_patent, at) VALUES (?,?,?,?)",
                             [(fid, old, new, at) for fid in figures[page_id]])
        for old in {old for _, old, _, _ in moves}:
            if conn.execute("SELECT 1 FROM pages WHERE patent_id=? LIMIT 1",
                            (old,)).fetchone() is None:
                conn.execute("DELETE FROM text_vectors WHERE patent_id=?", (old,))
                conn.execute("DELETE FROM descriptions WHERE patent_id=?", (old,))
                conn.execute("DELETE FROM patents WHERE patent_id=?", (old,))
    return [f"{Path(page.path).name} under {page.patent_id} (was {old}, an image of a "
            "folder)" for _, old, page, _ in moves]


def _shown(field: str, old, stored: dict) -> str:
    """The value a correction replaces, as users saw it: an untitled patent showed the
    title its figure descriptions name."""
    if old:
        return _flat(old, field)
    if field == "title" and stored.get("title_display"):
        return f"(none; shown as {_flat(stored['title_display'])!r})"
    return "(none)"


def _flat(value, field: str = "") -> str:
    """A value on one line (a title with a line break in it), as the note is one line; figure
    descriptions by their count (the sentences are in the library)."""
    if field == "figure_descriptions":
        return counted(len(json.loads(value)), "sentence")
    return " ".join(str(value).split())


def _new_sentences(field: str, old, new) -> str:
    """", 2 of them new": figure descriptions replaced by as many or fewer say what changed."""
    if field != "figure_descriptions" or not old:
        return ""
    before = set(json.loads(old))
    fresh = sum(t not in before for t in json.loads(new))
    return f", {fresh} of them new"
