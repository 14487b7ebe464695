"""Ingestion: sources -> pages -> figures -> vectors, committed to a library in atomic chunks.

Each chunk writes a new index segment aside and then commits, in one SQLite transaction, its
patents, pages, figures and the manifest that makes the segment live. A crash or Ctrl-C loses
at most the chunk in flight; re-running skips every page already committed, so nothing is added
twice. Per-file problems are reported and skipped; nothing already in the library is touched.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ._corrections import correct_metadata, refile_pages
from ._page_twins import PageTwins, file_changed
from ._wording import counted, first_few
from ._finder_version import FINDER_VERSION
from .embed import PreparedPage, embed_pages
from .library import (ARCHIVES_DIR, REBUILD_MARKER, REBUILD_SUFFIX, Library, LibraryError,
                      MissingFilesError, attached, copy_kept_rows, finish_interrupted_swap,
                      missing_page_files)
from .records import PageRecord, PatentRecord, SourceScan
from .store import DiskFullError, date_ord

log = logging.getLogger(__name__)

#: progress(done_pages, total_pages, message)
ProgressFn = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    run_id: str
    sources: list[str] = field(default_factory=list)
    pages_total: int = 0
    pages_added: int = 0
    figures_added: int = 0
    patents_added: int = 0
    pages_already_present: int = 0
    pages_moved: int = 0            # found at a new place (a moved folder): re-pointed
    corrected: list[str] = field(default_factory=list)  # known patents a source corrected
    refiled: list[str] = field(default_factory=list)    # scans filed under their patents now
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: the source, as named, each of ``errors`` came from where known: a later run of that
    #: source replaces its skips, whatever other sources either run named
    error_sources: list[str | None] = field(default_factory=list, repr=False)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    rebuilt: bool = False           # a rebuild's report: pages re-embedded, not added

    def skip(self, errors: list[tuple[str, str]], source: str | None) -> None:
        """Add skipped ``(item, reason)`` of ``source`` (as named; None: not known)."""
        self.error_sources += [None] * (len(self.errors) - len(self.error_sources))
        self.errors += errors
        self.error_sources += [source] * len(errors)

    @property
    def pages_per_second(self) -> float:
        return self.pages_added / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        head = "cancelled" if self.cancelled else "done"
        pages, figures = counted(self.pages_added, "page"), counted(self.figures_added, "figure")
        if self.rebuilt:
            before = self.pages_already_present       # by the interrupted run it resumed
            patents = counted(self.patents_added, "patent")    # (the library's, all of them)
            first = (f"{head}: re-embedded {pages} ({figures}"
                     + (f") in {self.seconds:.1f} s, resuming an interrupted rebuild that had "
                        f"re-embedded {counted(before, 'page')}; {patents} in the library"
                        if before else f" of {patents}) in {self.seconds:.1f} s") + "; ")
        else:
            present = self.pages_already_present
            first = (f"{head}: added {pages} ({figures}, "
                     f"{counted(self.patents_added, 'new patent')}) in {self.seconds:.1f} s; "
                     f"{counted(present, 'page')} {'was' if present == 1 else 'were'} already "
                     "in the library"
                     + (f" ({self.pages_moved} of them moved: their new place is recorded)"
                        if self.pages_moved else "") + "; ")
        lines = [first + f"{len(self.errors)} skipped"
                 + (f"; {counted(len(self.corrected), 'patent')} corrected"
                    if self.corrected else "")
                 + (f"; {counted(len(self.refiled), 'page')} filed under their patents"
                    if self.refiled else "")]
        lines += [f"  corrected {c}" for c in self.corrected[:50]]
        lines += [f"  filed {c}" for c in self.refiled[:50]]
        lines += [f"  skipped {item}: {reason.removeprefix(item + ': ')}"
                  for item, reason in self.errors[:50]]
        if len(self.errors) > 50:
            lines.append(f"  ... and {len(self.errors) - 50} more (see `index info --errors`)")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


class _ChunkWriter:
    """Accumulates prepared pages and commits them as one segment + one transaction."""

    def __init__(self, library: Library, model, model_ref: str | None, run_id: str,
                 patents: dict[str, PatentRecord], source_ids: dict[str, int],
                 finder: int | None = FINDER_VERSION,
                 keep_ids: dict[tuple[str, int, tuple[int, ...]], int] | None = None,
                 dates: dict[str, str | None] | None = None):
        self.lib = library
        # grant dates of patents in the library before the run: their new pages are dated as
        # the library dates the patent (a correction of the date redates all its figures)
        self.dates = {pid: d for pid, d in (dates or {}).items() if d}
        self.keep_ids = keep_ids or {}
        self.id_floor = max(self.keep_ids.values(), default=0)
        self.finder = finder
        self.model = model
        self.model_ref = model_ref
        self.run_id = run_id
        self.patents = patents
        self.source_ids = source_ids
        self.pages: list[PreparedPage] = []
        self.n_figures = 0
        self.segments: set[str] = set()  # this run's segments (only these merge during it)
        # (a patent whose pages a rebuild dropped keeps its row: added again, it is new)
        self.known_patents: set[str] = {r[0] for r in library.store.conn.execute(
            "SELECT DISTINCT patent_id FROM pages")}

    def add(self, prepared: PreparedPage) -> None:
        self.pages.append(prepared)
        self.n_figures += len(prepared.vectors)

    def commit(self, report: IngestReport) -> None:
        if not self.pages:
            return
        lib, store = self.lib, self.lib.store
        fresh = max(lib.next_label(), self.id_floor + 1)
        labels, dates, vecs, fig_rows = [], [], [], []
        for prepared in self.pages:
            rec = self.patents[prepared.page.patent_id]
            ord_ = date_ord(self.dates.get(rec.patent_id) or rec.grant_date)
            page_key = (str(prepared.page.path), prepared.page.page_index)
            for i, (box, v) in enumerate(zip(prepared.boxes, prepared.vectors)):
                label = self.keep_ids.get((*page_key, tuple(box.to_list())))
                if label is None:
                    label, fresh = fresh, fresh + 1
                labels.append(label)
                dates.append(ord_)
                vecs.append(v)
                fig_rows.append([label, None, rec.patent_id, i, *box.to_list(), ord_,
                                 self.run_id])
        entry = None
        if labels:
            entry = lib.write_segment(np.asarray(labels, np.int64), np.asarray(dates, np.int64),
                                      np.stack(vecs).astype(np.float32))
        try:
            with store.transaction() as conn:
                new_pids = {p.page.patent_id for p in self.pages} - self.known_patents
                by_source: dict[int | None, list[PatentRecord]] = {}
                for p in self.pages:
                    rec = self.patents[p.page.patent_id]
                    by_source.setdefault(self.source_ids.get(str(p.page.path)), []).append(rec)
                for sid, recs in by_source.items():
                    store.upsert_patents({r.patent_id: r for r in recs}.values(), sid,
                                         self.run_id)
                lib.record_finder(self.run_id, self.finder)
                row_iter = iter(fig_rows)
                for prepared in self.pages:
                    page_id = store.insert_page(
                        prepared.page, size=prepared.file_size, mtime=prepared.file_mtime,
                        width=prepared.width, height=prepared.height,
                        n_figures=len(prepared.vectors),
                        source_id=self.source_ids.get(str(prepared.page.path)),
                        run_id=self.run_id, sha256=prepared.file_sha256)
                    for _ in range(len(prepared.vectors)):
                        next(row_iter)[1] = page_id
                store.insert_figures([tuple(r) for r in fig_rows])
                if entry is not None:
                    manifest = lib.new_manifest(self.model)
                    manifest["segments"].append(entry)
                    lib.set_manifest(manifest)
                lib.bind_model(conn, self.model, self.model_ref)
        except BaseException:
            if entry is not None:
                lib.drop_segment_files([entry["name"]])
            raise
        if entry is not None:
            self.segments.add(entry["name"])
        self.known_patents |= new_pids
        from .text_index import update_text_vectors

        report.patents_added += len(new_pids)
        report.pages_added += len(self.pages)
        report.figures_added += len(fig_rows)
        # new patents, and known ones whose empty fields this chunk filled (unchanged texts
        # are recognised by their hash and not encoded again)
        try:
            update_text_vectors(lib, self.model, {p.page.patent_id for p in self.pages})
        except DiskFullError as exc:     # (the pages are in: say so, not "nothing written")
            what, remedy = lib.store.no_room_why
            raise DiskFullError(
                f"{lib.path}: no room to write the library: {what}. {report.pages_added} "
                "page(s) were added and are searchable by drawing, but the titles of some "
                f"patents are not yet searchable as text: {remedy} and add the same sources "
                "again (it completes them)") from exc
        self.pages, self.n_figures = [], 0


def _undated_notes(library: Library, scans: list[SourceScan],
                   dated_before: dict[str, str | None]) -> list[str]:
    """What became of the patents the run's sources give no grant date, once it has gone
    through: those the library has no date for either are undated (out of every search with
    a cutoff); those it dated before keep that date (said: the source seems to clear it)."""
    given = list(dict.fromkeys(pid for scan in scans for pid in scan.undated))
    rows = library.store.patents(given)
    undated = [pid for pid in given if pid in rows and not rows[pid]["grant_date"]]
    kept = [f"{pid} {rows[pid]['grant_date']}" for pid in given
            if pid in rows and rows[pid]["grant_date"] and dated_before.get(pid)]
    notes = []
    stand_ins = [pid for pid in undated if pid.startswith("IMG-")]
    names = Counter(rows[pid]["title"] or pid for pid in stand_ins)
    # (by file name; x.png of two folders by its path)
    images = [_first_page(library, pid) if names[rows[pid]["title"] or pid] > 1
              else rows[pid]["title"] or pid for pid in stand_ins]
    undated = [pid for pid in undated if not pid.startswith("IMG-")]
    if images:                      # (a plain folder's: named by their files)
        one = len(images) == 1
        notes.append(f"{counted(len(images), 'image')} {'has' if one else 'have'} no grant "
                     f"date in {'its' if one else 'their'} file name and "
                     f"{'stays' if one else 'stay'} undated (excluded by any date cutoff): "
                     f"{first_few(images, 5)}")
    if undated:
        one = len(undated) == 1
        ids = any(s.kind == "deeppatent2" and not set(s.undated).isdisjoint(undated)
                  for s in scans)
        notes.append(f"{counted(len(undated), 'patent')} {'has' if one else 'have'} no grant "
                     f"date and {'stays' if one else 'stay'} undated (excluded by any date "
                     f"cutoff): {first_few(undated, 5)}"
                     + ("; a DeepPatent2 patentID dates its patent as USD0871717-20200107 does"
                        if ids else ""))
    if kept:
        one = len(kept) == 1
        notes.append(f"{counted(len(kept), 'patent')} given no grant date here "
                     f"{'keeps' if one else 'keep'} the date the library has "
                     f"({first_few(kept)}): {'it is' if one else 'they are'} prior art to later "
                     "filing dates as before (an empty field never clears one; a wrong date is "
                     "corrected by giving the right one in the patent's own source)")
    return notes


def _first_page(library: Library, patent_id: str) -> str:
    """The file of a patent's first page (its id where it has none)."""
    pages = library.store.pages_of_patent(patent_id)
    return pages[0]["path"] if pages else patent_id


def scan_sources(paths: Iterable[str | Path], allow_absolute: bool = False,
                 absolute_sources: set[str] = frozenset()
                 ) -> tuple[list[SourceScan], list[tuple[str, str]]]:
    """Scan every source; a source that cannot be read at all becomes one error.
    ``absolute_sources``: sources (resolved paths) allowed files outside their folder."""
    from ._names import readable
    from .sources import SourceError, scan_source

    scans, errors = [], []
    for p in paths:
        where = Path(p).expanduser().resolve()
        allowed = allow_absolute or not absolute_sources.isdisjoint(
            {str(where), str(where / "manifest.jsonl")})
        try:
            scans.append(scan_source(Path(p), allow_absolute=allowed))
            scans[-1].named = str(p)
        except SourceError as exc:
            errors.append((readable(p), str(exc)))
    return scans, errors


def _files_progress(progress: ProgressFn | None, archive: str | Path) -> ProgressFn | None:
    """Unpacking counts an archive's files, not pages: report it as a note with no total, so
    that a progress bar in pages is not given the file count as its page total."""
    if progress is None:
        return None
    name = Path(archive).name
    return lambda done, total, note: progress(0, 0, f"{note} ({done} / {total} files of {name})")


def _unpack_archives(library: Library, sources: Iterable[str | Path], report: "IngestReport",
                     unpacked: list[Path], progress: ProgressFn | None,
                     archive_of: dict[str, str], named: dict[str, str]) -> list[str | Path]:
    """Sources with every grant archive (.tar, .zip) replaced by its unpacked folder in the
    library (``archives/``), including the archives a folder source holds (a folder of
    weekly downloads: registered, so that updating the library takes the new ones); an
    archive that cannot be unpacked becomes one error. ``named``: each source returned ->
    the source given that it comes from."""
    from .sources import SourceError, archives_in, holds_drawings, is_archive, unpack_archive

    out: list[str | Path] = []
    for src in sources:
        found = archives_in(src) if Path(src).is_dir() else []
        if found:
            library.store.source_id("archives", str(Path(src).resolve()))
            if holds_drawings(Path(src)):
                out.append(src)
                named[str(src)] = str(src)
        elif not is_archive(src):
            out.append(src)
            named[str(src)] = str(src)
            continue
        for archive in found or [src]:
            root = library.path / ARCHIVES_DIR
            existed = {p.name for p in root.iterdir()} if root.is_dir() else set()
            try:
                folder, errors, not_design, fresh = unpack_archive(
                    archive, root, _files_progress(progress, archive))
            except SourceError as exc:      # (named as its files are: a later run of it alone,
                report.skip([(os.path.abspath(archive), str(exc))], str(src))   # from
                continue                                                    # elsewhere, clears it)
            if fresh:
                report.skip(errors, str(src))
            elif errors:            # (listed when it was unpacked, not every update)
                report.warnings.append(f"{archive}: {counted(len(errors), 'file')} in it could "
                                       "not be unpacked when it was added (listed then)")
            if not_design:
                what = (f"{counted(len(not_design), 'grant ZIP')} of utility, plant or SIR "
                        f"grants ({first_few(not_design)})")
                if not holds_drawings(folder):
                    why = ("none of its other grants could be unpacked (said above)" if errors
                           else "it holds no design grant")
                    report.skip([(os.path.abspath(archive), f"{why}; left packed: {what}")],
                                str(src))
                    shutil.rmtree(folder, ignore_errors=True)
                    continue
                if fresh:                   # (said when unpacked, not every update)
                    report.warnings.append(f"{archive}: left packed: {what}, not design "
                                           "patents")
            if folder.name not in existed:
                unpacked.append(folder)
            archive_of[str(folder)] = str(archive)
            named[str(folder)] = str(src)
            out.append(folder)
    _drop_unpacked(library)         # (an archive refused whole leaves no folder for it)
    # (an unpacked folder is registered as a source of its own too: read once)
    return list({Path(src).resolve(): src for src in reversed(out)}.values())[::-1]


def _drop_unpacked(library: Library, folders: Iterable[Path] = ()) -> None:
    """Remove archive folders this run unpacked, and the library's archives folder where
    they leave it empty (a cancelled first add of an archive leaves the library as it was)."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):          # (not empty, or not there: left)
        (library.path / ARCHIVES_DIR).rmdir()


def ingest(library: Library, sources: str | os.PathLike | Iterable[str | os.PathLike], model,
           *, model_ref: str | None = None, allow_absolute: bool = False,
           progress: ProgressFn | None = None, cancel: threading.Event | None = None,
           chunk_pages: int = 500, batch_size: int = 32, workers: int | None = None,
           rollback_on_cancel: bool = False, scans: list[SourceScan] | None = None,
           embed=embed_pages, finder: int | None = FINDER_VERSION,
           keep_ids: dict[tuple[str, int, tuple[int, ...]], int] | None = None) -> IngestReport:
    """Add the drawings of ``sources`` to ``library`` with ``model``; returns a report.

    ``rollback_on_cancel``: when ``cancel`` is set, remove what this run committed so the
    library is exactly as before (the GUI's Cancel); otherwise committed chunks stay and a
    re-run resumes after them (Ctrl-C on the command line). ``embed``: where vectors come
    from (``core.embed.embed_pages``, or stored shards: ``core.shards``); ``finder``: the
    figure finder version that cut the pages (a shard's own; None if not known); ``keep_ids``:
    figure ids to reuse, by (page path, page index, figure box) — a rebuild's, so that the
    search log and ratings keep naming the same figures (other figures get ids above them).
    """
    if isinstance(sources, (str, os.PathLike)):     # one source (a str is not its letters)
        sources = [sources]
    run_id = uuid.uuid4().hex[:12]
    report = IngestReport(run_id, sources=[str(s) for s in sources])
    t0 = time.perf_counter()
    library.check_model(model)
    library.check_index_files()
    registered = library.store.registrations()      # (what a rollback unregisters)
    unpacked: list[Path] = []       # archive folders this run created (dropped on rollback)
    if scans is None:
        archive_of: dict[str, str] = {}         # unpacked folder -> the archive given
        named: dict[str, str] = {}              # each source scanned -> the source given
        with library.write_lock():
            sources = _unpack_archives(library, sources, report, unpacked, progress,
                                       archive_of, named)
        scans, errors = scan_sources(sources, allow_absolute,
                                     library.store.absolute_sources())
        for scan in scans:
            scan.named = named.get(scan.named, scan.named)
        for item, reason in errors:
            report.skip([(archive_of[item], reason.replace(item, archive_of[item]))
                         if item in archive_of else (item, reason)], named.get(item, item))
        for item, _ in errors:              # an archive that held nothing usable: not kept
            if item in archive_of and Path(item) in unpacked:
                _drop_unpacked(library, [Path(item)])
                unpacked.remove(Path(item))
    with library.write_lock():
        if allow_absolute:
            library.store.remember_absolute(
                str(s.source) for s in scans if s.kind in ("manifest", "deeppatent2")
                and s.source is not None)
        known = library.store.known_pages()
        twins = None                      # built when a page is new by its path
        patents: dict[str, PatentRecord] = {}
        source_ids: dict[str, int] = {}
        todo: list[PageRecord] = []
        seen: set[tuple[str, int]] = set()
        corrections: list[tuple[int | None, str, PatentRecord]] = []
        duplicates: list[tuple[str, str]] = []           # (new path, the page it copies)
        moves: list[tuple[int, str, int | None]] = []    # (page id, new path, source id)
        changed: set[str] = set()        # files rewritten since their pages were indexed
        present: set[tuple[str, int]] = set()   # library pages found again, each counted once
        # pages found again that this source files under another patent: from an image
        # folder's stand-in (IMG-) to the patent named now, or (left as they are) another one
        refile: list[tuple[int, str, PageRecord, int | None]] = []
        misfiled: list[tuple[int, str, PageRecord, int | None]] = []
        page_source: dict[str, str | None] = {}     # (for a page that cannot be read)
        # stand-in pages a copy of them claimed: page id -> (its refile entry, the copy's
        # source); a source naming the page's own path takes it from them
        by_copy: dict[int, tuple[int, str | None]] = {}

        def add_page(page: PageRecord, sid: int | None, named: str | None) -> None:
            source_ids[str(page.path)] = sid
            page_source[str(page.path)] = named
            todo.append(page)

        # a plain folder's images last: a manifest of the same run names their patents
        for scan in sorted(scans, key=lambda s: s.kind == "folder"):
            report.skip(scan.errors, scan.named)
            report.warnings += scan.warnings
            where = str(scan.source or scan.root)
            legacy = (str(scan.root) if scan.kind in ("manifest", "deeppatent2")
                      and scan.source is not None and scan.source.is_file() else None)
            sid = None if scan.kind == "rebuild" else \
                library.store.source_id(scan.kind, where, legacy)
            for pid, rec in scan.patents.items():
                patents.setdefault(pid, rec)
                if scan.kind != "rebuild":
                    corrections.append((sid, where, rec))
            for page in scan.pages:
                key = (str(page.path), page.page_index)
                if key in seen:
                    continue
                seen.add(key)
                if key in known:
                    present.add(key)
                    size, mtime, sha256, page_id, old = known[key]
                    if file_changed(page.path, size, mtime, sha256):
                        changed.add(str(page.path))
                    elif scan.kind != "rebuild":
                        # (a folder scanned again names its stand-ins: the library knows better)
                        if old != page.patent_id and not page.patent_id.startswith("IMG-"):
                            (refile if old.startswith("IMG-") else misfiled).append(
                                (page_id, old, page, sid))
                            if old.startswith("IMG-"):
                                twins = twins or PageTwins(library.store)
                                twins.claim(page_id, page.patent_id)
                                if page_id in by_copy:      # (the copy is a page of its own)
                                    i, named = by_copy.pop(page_id)
                                    _, _, copy, copy_sid = refile[i]
                                    refile[i] = None
                                    if copy.patent_id == page.patent_id:
                                        duplicates.append((str(copy.path), str(page.path)))
                                    else:
                                        add_page(copy, copy_sid, named)
                    continue
                if scan.kind != "rebuild":
                    twins = twins or PageTwins(library.store)
                    twin = twins.match(page)
                    if twin is not None:
                        how, page_id, old, filed = twin
                        if page_id is not None:     # the library's page, at its own path
                            present.add((old, page.page_index))
                        if how == "moved":
                            moves.append((page_id, str(page.path), sid))
                        if page_id is not None and filed.startswith("IMG-") and \
                                not page.patent_id.startswith("IMG-"):
                            by_copy[page_id] = len(refile), scan.named
                            refile.append((page_id, filed, page, sid))   # (its patent named)
                        elif how == "copy":
                            duplicates.append((str(page.path), old))
                        continue
                add_page(page, sid, scan.named)
        refile = [entry for entry in refile if entry is not None]
        report.pages_total = len(todo)
        report.pages_already_present = len(present)
        if changed:
            report.warnings.append(
                f"{len(changed)} file(s) of pages already in the library have changed since "
                f"they were added (e.g. {min(changed)}): the index still holds their old "
                "drawings; `patent-examiner index rebuild` (Rebuild index) indexes them anew")
        if misfiled:
            _, old, page, _ = misfiled[0]
            path, new = page.path, page.patent_id
            report.warnings.append(
                f"{len(misfiled)} page(s) are in the library under other patents than their "
                f"source names now (e.g. {path}: {old} in the library, {new} here); the "
                "library keeps them where they are")
        if duplicates:
            first, old = duplicates[0]
            report.warnings.append(
                f"{len(duplicates)} page(s) are copies of pages already in the library or "
                f"added now (e.g. {first} = {old}); each drawing is indexed once")
        dates = {pid: row["grant_date"] for pid, row in library.store.patents(
            rec.patent_id for _, _, rec in corrections).items()}
        writer = _ChunkWriter(library, model, model_ref, run_id, patents, source_ids, finder,
                              keep_ids, dates)
        done = 0

        def on_page(prepared: PreparedPage) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, len(todo), Path(prepared.page.path).name)

        completed = False
        try:
            for prepared in embed(model, todo, batch_size=batch_size,
                                           workers=workers, cancel=cancel, on_page=on_page):
                if prepared.error:
                    page = prepared.page
                    report.skip([(f"{page.path}#{page.page_index + 1}" if page.page_index
                                  else str(page.path), prepared.error)],
                                page_source.get(str(page.path)))
                    continue
                if not prepared.boxes:
                    page = prepared.page
                    report.warnings.append(
                        f"{page.path}{f' page {page.page_index + 1}' if page.page_index else ''}"
                        f": no drawing found ({prepared.no_figure})")
                writer.add(prepared)
                if len(writer.pages) >= chunk_pages:
                    writer.commit(report)
                    compact(library, only=writer.segments)
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                if rollback_on_cancel:
                    writer.pages = []
                    rollback_run(library, run_id, writer.segments)
                    library.store.forget_registrations_since(registered)
                    _drop_unpacked(library, unpacked)
                    report.pages_added = report.figures_added = report.patents_added = 0
                else:
                    writer.commit(report)
            else:
                writer.commit(report)
                compact(library)
                library.store.move_pages(moves)
                report.pages_moved = len({page_id for page_id, _, _ in moves})
                from .text_index import missing_text_vectors, update_text_vectors

                report.refiled = refile_pages(library, refile, patents, run_id)
                report.corrected, kept, restated = correct_metadata(library, corrections,
                                                                    dates)
                if refile:
                    restated |= {page.patent_id for _, _, page, _ in refile}
                report.warnings += kept
                report.warnings += _undated_notes(library, scans, dates)
                if restated:
                    update_text_vectors(library, model, restated)

                missing = missing_text_vectors(library, model)   # left by a killed run
                if missing:
                    update_text_vectors(library, model, missing)
                note = library.older_finder_note()
                if note:
                    report.warnings.append(note)
                completed = True
        except KeyboardInterrupt:
            report.cancelled = True
            raise
        finally:
            report.seconds = time.perf_counter() - t0
            if report.errors or completed:
                with library.store.transaction():
                    # a run of the same sources that went through replaces their old skips
                    library.store.log_errors(run_id, report.sources, report.errors,
                                             report.error_sources, replace=completed)
    return report


def rollback_run(library: Library, run_id: str, segments: set[str]) -> None:
    """Remove everything one ingest run committed: its pages, figures, new patents and its
    index ``segments`` (as tracked by the run; merges during it stay among its own)."""
    store = library.store
    manifest = library.manifest
    with store.transaction():
        if manifest is not None and segments:
            manifest["segments"] = [s for s in manifest["segments"]
                                    if s["name"] not in segments]
            library.set_manifest(manifest)
        store.conn.execute("DELETE FROM figures WHERE run_id=?", (run_id,))
        store.conn.execute("DELETE FROM pages WHERE run_id=?", (run_id,))
        store.conn.execute("DELETE FROM patents WHERE run_id=? AND patent_id NOT IN "
                           "(SELECT patent_id FROM pages)", (run_id,))
        if not store.conn.execute("SELECT 1 FROM figures LIMIT 1").fetchone() and \
                manifest is not None and not manifest["segments"]:
            store.conn.execute("DELETE FROM meta WHERE key IN ('index_manifest', 'model')")
    library.drop_segment_files(segments)


def compact(library: Library, force: bool = False, only: set[str] | None = None) -> bool:
    """Merge segments while ``index.plan_merge`` finds something to merge; returns whether it
    did. ``only``: merge among these segment names (kept up to date) and no others."""
    from .index import merge_segments, plan_merge

    merged = False
    while True:
        manifest = library.manifest
        if manifest is None:
            return merged
        entries = [s for s in manifest["segments"] if only is None or s["name"] in only]
        names = plan_merge(entries, library.params, force)
        if not names:
            return merged
        entry = merge_segments(library.path / "index",
                               [s for s in entries if s["name"] in names], library.params)
        try:
            with library.store.transaction():
                manifest = library.manifest
                manifest["segments"] = [s for s in manifest["segments"]
                                        if s["name"] not in names] + [entry]
                library.set_manifest(manifest)
        except BaseException:
            library.drop_segment_files([entry["name"]])
            raise
        library.drop_segment_files(names)
        if only is not None:
            only.difference_update(names)
            only.add(entry["name"])
        merged = True


def _changed_since(aside: Library, old_db: Path) -> bool:
    """Whether the library changed under an interrupted rebuild's aside copy: a patent's
    metadata corrected (its dates are in the vectors embedded already) or a page re-pointed
    or dropped. Rows added since are no change: the resumed run adds them."""
    columns = [r[1] for r in aside.store.conn.execute("PRAGMA table_info(patents)")]
    differs = " OR ".join(f"n.{c} IS NOT o.{c}" for c in columns)
    with attached(aside.store.conn, old_db) as conn:
        return conn.execute(
            f"SELECT 1 FROM main.patents n JOIN old.patents o USING (patent_id) WHERE {differs} "
            "UNION ALL SELECT 1 FROM main.pages n WHERE NOT EXISTS (SELECT 1 FROM old.pages o "
            "WHERE o.path = n.path AND o.page_index = n.page_index) LIMIT 1").fetchone() \
            is not None


def rebuild(library: Library, model, *, model_ref: str | None = None,
            progress: ProgressFn | None = None, cancel: threading.Event | None = None,
            batch_size: int = 32, workers: int | None = None,
            drop_missing: bool = False) -> IngestReport:
    """Re-embed every page of ``library`` with ``model`` into a fresh library built aside, then
    swap it in. Metadata, search history and ratings are kept. Cancel (or a crash) leaves the
    library as it was; a re-run resumes the aside build if it uses the same model. A page whose
    file is gone or unreadable stops the rebuild with the library unchanged, unless
    ``drop_missing`` lets the rebuilt library go without it.
    """
    import shutil

    from datetime import date as _date

    path = library.path.resolve()   # built beside the folder a link names, not the link
    tmp = path.with_name(path.name + REBUILD_SUFFIX)
    try:
        longest = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(tmp.name)) > longest:
        raise LibraryError(f"a rebuild builds the new library beside this one, as {tmp.name}: "
                           f"a name longer than this file system allows ({longest} bytes); "
                           "rename the library folder to a shorter name and rebuild; nothing "
                           "was changed")
    if not drop_missing:
        gone = missing_page_files(library)
        if gone:
            raise MissingFilesError(
                f"{len(gone)} source file(s) of this library are gone (first: {gone[0]}); "
                "nothing was changed. Restore them (a moved folder: add it again from its new "
                "place, which re-points its pages)", "rebuild without their pages")
    with library.write_lock():
        restarted = False
        if tmp.exists():
            try:
                with Library(tmp) as probe:
                    same = probe.model_id in (None, model.model_id)
                    restarted = same and _changed_since(probe, path / "library.sqlite")
            except Exception:
                same = False
            if not same or restarted:
                shutil.rmtree(tmp)
        try:
            new = Library(tmp, create=True, params=library.params)
        except PermissionError as exc:
            raise LibraryError(f"a rebuild builds the new library beside this one, in "
                               f"{path.parent}, which cannot be written here "
                               f"({exc.strerror}); nothing was changed") from None
        try:
            copy_kept_rows(new.store, path / "library.sqlite")
            scan = SourceScan(kind="rebuild", root=path)
            for pid, grant in library.store.conn.execute(
                    "SELECT patent_id, grant_date FROM patents"):
                scan.patents[pid] = PatentRecord(
                    pid, grant_date=_date.fromisoformat(grant) if grant else None)
            for pid, p, idx, kind, sheet in library.store.conn.execute(
                    "SELECT patent_id, path, page_index, page_kind, sheet FROM pages ORDER BY id"):
                scan.pages.append(PageRecord(pid, Path(p), idx, kind, sheet))
            keep_ids = {(p, idx, (x0, y0, x1, y1)): fid for fid, p, idx, x0, y0, x1, y1 in
                        library.store.conn.execute(
                            "SELECT f.id, p.path, p.page_index, f.x0, f.y0, f.x1, f.y1 "
                            "FROM figures f JOIN pages p ON p.id = f.page_id")}
            report = ingest(new, [str(path)], model, model_ref=model_ref, progress=progress,
                            cancel=cancel, batch_size=batch_size, workers=workers,
                            scans=[scan], keep_ids=keep_ids)
            report.rebuilt = True
            report.patents_added = new.store.counts()["patents"]     # (all re-embedded)
            if restarted:
                report.warnings.append("the library was corrected or re-pointed since the "
                                       "interrupted rebuild began: it started over")
            if report.cancelled:
                new.close()
                shutil.rmtree(tmp, ignore_errors=True)
                report.pages_added = report.figures_added = report.patents_added = 0
                report.warnings.append("the rebuild was cancelled: the library is unchanged "
                                       "(a new rebuild starts over)")
                return report
            if report.errors and not drop_missing:
                new.close()
                shutil.rmtree(tmp, ignore_errors=True)
                item, reason = report.errors[0]
                raise MissingFilesError(
                    f"{len(report.errors)} page(s) could not be read again ({item}: {reason}); "
                    "the library is unchanged. Fix them")
            compact(new, force=True)     # (ingest computed the text vectors it lacked)
            with new.store.transaction():   # where it will be (not where it was built)
                new.store._set_meta("library_path", str(path))
            (tmp / REBUILD_MARKER).touch()
        finally:
            new.close()
        library.close()
        finish_interrupted_swap(path)
        library.reopen_if_replaced()        # (the caller's library is the rebuilt one now)
    return report
