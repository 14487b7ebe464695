"""The window's only door to the core: a non-widget object that owns the open library, its model
and searcher, and runs every core call in a background pool.

Pools: ``db`` (one thread: the library's SQLite connection, index search and model inference
all happen there, in order), ``io`` (page decoding and thumbnails, no database), ``ratings``
(one thread with its own SQLite connection, so a rating is committed at once even while a
search runs) and ``admin`` (ingestion and rebuild, on their own library connection).
Results come back on the UI thread through the callbacks given to each call.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QBuffer, QIODevice, QObject, Signal
from PySide6.QtGui import QImage

from core.atomic import replacing
from core.library import DB_FILE, QUERIES_DIR, LibraryError

from .imaging import gray_to_qimage
from .tasks import Steps, Task, TaskRunner

Callback = Callable[[Any], None] | None


@dataclass
class Identity:
    """Who is searching and rating, for the audit trail."""

    examiner: str | None
    study: str          # "": none (ratings views then show only ratings made outside studies)
    session: str | None
    blind: bool = False


@dataclass
class QueryPage:
    """A decoded query page with the figures the core finds on it."""

    path: str
    page_index: int
    n_pages: int
    image: QImage
    boxes: list            # core.drawing.FigureBox, reading order
    sha256: str
    cut_off: str | None = None      # the file is cut off or damaged after its n_pages: why


def mismatch_text(exc) -> str:
    """A library's index built with another model, in the window's words."""
    if exc.built_with is None:
        return str(exc)
    return (f"This library's index was built with the model {exc.built_with}; the model it "
            f"names is now {exc.in_use}. Searching needs the index rebuilt with it (searches "
            "and ratings are kept)")


def moved_fact(missing: str) -> str:
    """That a library's model checkpoint is no longer at ``missing``, in one clause."""
    return f"This library was built with the model at {missing}, which is not there now"


def moved_text(exc) -> str:
    """A library's model checkpoint that is no longer where it was, in the window's words."""
    return (f"{moved_fact(exc.missing)}. Locate it where it is now (or rebuild the library "
            "with another model: patent-examiner index rebuild --model NAME)")


class LibraryUnusable(LibraryError):
    """The library did not open (``kind`` as ``openFailed`` says it: built with another
    model, missing, an error); a search asked for meanwhile gets the same reason."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class LibraryEmpty(LibraryError):
    """A search of a library that holds no drawings yet."""


class LibraryService(QObject):
    """Open a library and run searches, ratings, reports and maintenance in the background."""

    opened = Signal(dict)           # Library.info() of the library now open
    openFailed = Signal(str, str)   # message, kind: "missing" | "mismatch" | "error"
    maintenanceChanged = Signal(bool)
    changed = Signal(dict)          # Library.info() after another program changed the library

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.db = TaskRunner(1, self)
        self.io = TaskRunner(2, self)
        self.ratings = TaskRunner(1, self)
        self.admin = TaskRunner(1, self)
        self.path: Path | None = None
        self.info: dict | None = None
        self.problem: tuple[str, str] | None = None     # why the library did not open, kind
        self.moved = None               # core.library.ModelMovedError: its model is elsewhere
        self.model_id: str | None = None
        self.maintenance = False        # a rebuild is running: no searches or ratings
        self.workers: int | None = None  # page-decoding processes of ingest (None: per core)
        self._library = None            # core.library.Library, used on the db thread only
        self._searcher = None
        self._rating_library = None     # core.library.Library, used on the ratings thread only
        self._models: dict[str, Any] = {}
        self._info_key = None           # what the library held when ``info`` was read
        self._tmp = None                # for pastes no library keeps (made when needed)
        self._tmp_lock = threading.Lock()

    # -- opening ----------------------------------------------------------------------------
    def open(self, path: Path, model_at: str | None = None) -> Task:
        """Open (or reopen) a library; ``opened`` or ``openFailed`` follows. ``model_at``:
        where the model it was built with is now (``moved``), remembered once it matches."""
        path = Path(path).expanduser()
        self.path = path
        self.info = None
        self.problem = None
        # ratings queued before this are written where they were given; any after it wait for
        # this library (an export meanwhile named the last library's ratings as this one's)
        self.ratings.submit(lambda task: self._close_rating_library())

        opened_model: list = [None]

        def work(task: Task):
            try:
                return opening()
            except LibraryUnusable:
                raise
            except Exception as exc:    # (unreadable, damaged...: said to a search queued too)
                self.problem = (str(exc), "error")
                raise

        def opening():
            from core.index import ModelMismatchError
            from core.library import Library, ModelMovedError
            from core.models import ModelError
            from core.search import Searcher

            self._close_library()
            self.problem = None
            if path.exists() and not path.is_dir():
                hint = (f" (its folder, {path.parent}, is the library)" if path.name == DB_FILE
                        else "")
                self.problem = (f"{path} is a file, not a library folder{hint}: open the "
                                "library's folder", "error")
                raise LibraryUnusable(*self.problem)
            if not (path / DB_FILE).exists():
                self.problem = (f"no library at {path}", "missing")
                raise LibraryUnusable(*self.problem)
            lib = Library(path)
            try:
                info = lib.info()
                model = None
                if lib.model_info is not None:
                    model = self._load_model(model_at or lib.model_ref())
                    lib.check_model(model)
                    if model_at:
                        lib.remember_model_ref(model, model_at)
                self.moved = None
            except ModelMovedError as exc:
                lib.close()
                self.moved = exc
                self.problem = (moved_text(exc), "moved")
                raise LibraryUnusable(*self.problem) from None
            except BaseException as exc:
                lib.close()
                if model_at and self.moved is not None and isinstance(
                        exc, (ModelError, ModelMismatchError, OSError)):
                    # the place given for the moved model does not hold it: say so, ask again
                    why = ("it holds another model" if isinstance(exc, ModelMismatchError)
                           else str(exc))
                    self.problem = (f"{model_at} is not the model this library was built "
                                    f"with ({why}). {moved_text(self.moved)}", "moved")
                    raise LibraryUnusable(*self.problem) from None
                if isinstance(exc, ModelMismatchError):
                    # set here, on the database thread: a search queued behind this task gives
                    # the same reason (the window learns it only once ``openFailed`` arrives)
                    self.problem = (mismatch_text(exc), "mismatch")
                    raise LibraryUnusable(*self.problem) from None
                raise
            self._library = lib
            self._info_key = lib.content_key()
            self._searcher = Searcher(lib, model) if model is not None else None
            if self._searcher is not None:
                # model graph and index ready before the first query, which is queued behind
                # this task anyway (~1 s on CPU, once per session)
                self._searcher.warm_up()
                opened_model[0] = model
            return info

        def failed(exc):
            if self.path != path:
                return
            self.openFailed.emit(str(exc), getattr(exc, "kind", "error"))

        def done(info):
            if self.path != path:       # another library was opened meanwhile
                return
            self.info = info
            self.model_id = (info.get("model") or {}).get("id")
            self._reset_rating_library()
            self.opened.emit(info)
            model = opened_model[0]
            if model is not None and not model.is_built:
                # drawing searches already run on the cached graph; the text encoder (its
                # cached graph, else the network) is readied in the background so the first
                # search with a title does not wait for it
                self.io.submit(lambda task: model.prepare_text())

        return self.db.submit(work, on_done=done, on_error=failed)

    def _current_searcher(self):
        """The searcher, with the model the library was rebuilt with since it was opened (by
        another program) where it was (on the database thread); that model not loading, or
        another one loading, is said as when the library is opened."""
        from core.index import ModelMismatchError
        from core.search import Searcher

        searcher = self._require_searcher()
        try:
            searcher.check_library_model()
            return searcher
        except ModelMismatchError:
            pass
        lib = searcher.library
        model = self._load_model(lib.model_ref())
        try:
            lib.check_model(model, named_by_library=True)
        except ModelMismatchError as exc:
            raise LibraryUnusable(mismatch_text(exc), "mismatch") from None
        self._searcher = Searcher(lib, model)
        self._searcher.warm_up()
        return self._searcher

    def _load_model(self, ref: str):
        from core.models import load_model

        if ref not in self._models:
            self._models[ref] = load_model(ref)
        return self._models[ref]

    def _close_library(self) -> None:
        if self._library is not None:
            self._library.close()
        self._library = self._searcher = None

    def _require_searcher(self):
        if self.maintenance:
            raise LibraryError("the library is being rebuilt; search again when it finishes")
        if self._library is None and self.problem is not None:
            raise LibraryUnusable(*self.problem)
        if self._library is None:
            raise LibraryError("no library is open: open one (Ctrl+Shift+L) or add drawings "
                               "to a new one")
        if self._searcher is None:
            raise LibraryEmpty(f"the library at {self._library.path} is empty: add drawings "
                               "with File \u25b8 Manage library (Ctrl+L)")
        return self._searcher

    # -- queries ----------------------------------------------------------------------------
    def load_query(self, source: str | Path | QImage, page_index: int = 0, *,
                   on_done: Callback, on_error: Callback) -> Task:
        """Decode a query file (or a pasted image, first saved next to the library so the
        audit trail can reopen it; where it cannot be, in a temporary folder) and find its
        figures."""
        folder = (self.path / QUERIES_DIR) if self.path else None
        image = source.copy() if isinstance(source, QImage) else None
        drawing_cfg = self._searcher.cfg if self._searcher is not None else None

        def work(task: Task) -> QueryPage:
            from core.drawing import DrawingConfig, find_figures
            from core.imageio import cut_off, page_count
            from core.search import load_query_page

            if image is None:
                path = Path(source)
            else:
                try:
                    path = _save_pasted(image, folder or self._temp_folder())
                except OSError:     # (a library this user may not write, or its disk full:
                    #                  searched unlogged, the paste need not outlive the window)
                    if folder is None:
                        raise
                    path = _save_pasted(image, self._temp_folder())
            n_pages, whole = page_count(path)
            page, _, sha = load_query_page(path, page_index)
            boxes = find_figures(page.array, None, drawing_cfg or DrawingConfig(),
                                 dpi=page.sheet_dpi)      # the boxes search will use
            return QueryPage(str(path), page_index, n_pages, gray_to_qimage(page.array),
                             boxes, sha, None if whole else cut_off(path.name, n_pages))

        return self.io.submit(work, on_done=on_done, on_error=on_error)

    def search(self, query, identity: Identity, is_current: Callable[[], bool], *,
               on_done: Callback, on_error: Callback) -> Task:
        """Run and log a ``core.search.SearchQuery``; a request that is no longer current when
        its turn comes is skipped (``on_done(None)``)."""
        path = self.path

        def work(task: Task):
            if not is_current():
                return None
            searcher = self._current_searcher()
            resp = searcher.search(     # (a library this user cannot write: not logged)
                query, log=not searcher.library.store.read_only, examiner=identity.examiner,
                study=identity.study or None, session=identity.session, blind=identity.blind)
            return resp, self._news(searcher)

        def done(result):
            resp, info = result or (None, None)
            self._tell(info, path)
            on_done(resp)

        return self.db.submit(work, on_done=done, on_error=on_error)

    def _news(self, searcher) -> dict | None:
        """``Library.info()`` where another program added to the library or rebuilt it since
        the window was told (on the database thread); else None."""
        key = searcher.library.content_key()
        if key == self._info_key:
            return None
        self._info_key = key
        return searcher.library.info()

    def _tell(self, info: dict | None, path) -> None:
        """``changed`` with ``_news``'s info, if the library it is of is still the open one."""
        if info is not None and self.path == path:
            self.info = info
            self.model_id = (info.get("model") or {}).get("id")
            self.changed.emit(info)

    def reopen(self, search_id: int, examiner: str | None, *, on_done: Callback,
               on_error: Callback) -> Task:
        """A logged search as it was shown: ``(record, hits, ratings by figure id)``, the
        ratings being ``examiner``'s own (never another examiner's). ``record["query_file"]``
        is where the query file lies now (None: gone), following a library page that moved;
        ``record["rating_sessions"]`` the (study, session) each rating was last set in."""
        def work(task: Task):
            from core.audit import logged_hits, moved_library_page, search_record

            store = self._require_searcher().library.store
            rec = search_record(store, search_id)
            path = rec.get("query_path")
            rec["query_file"] = path if path is None or Path(path).is_file() else \
                moved_library_page(store, rec)
            hits = logged_hits(store, rec)
            rows = self._rating_rows(store, search_id, examiner)
            rec["rating_sessions"] = {r["figure_id"]: (r["study"] or "", r["session"])
                                      for r in rows}
            return rec, hits, {r["figure_id"]: r["rating"] for r in rows}

        return self.db.submit(work, on_done=on_done, on_error=on_error)

    def replay(self, search_id: int, *, on_done: Callback, on_error: Callback) -> Task:
        """Run a logged search again (not logged) and compare: a ``core.audit.Replay``."""
        path = self.path

        def work(task: Task):
            from core.audit import replay

            searcher = self._current_searcher()
            return replay(searcher, search_id), self._news(searcher)

        def done(result):
            self._tell(result[1], path)
            on_done(result[0])

        return self.db.submit(work, on_done=done, on_error=on_error)

    def score_by_ratings(self, identity: Identity, *, on_progress: Callback,
                         on_done: Callback, on_error: Callback) -> Steps:
        """Score the library's model by the ratings of this study session (every examiner's):
        a ``core.judgments.JudgedScores``. One rated search per step, behind the examiner's
        own searches, which run between two steps; cancel stops at the next step."""
        state: dict = {}
        path = self.path

        def step(task: Task):
            from core.judgments import RatingsScoring

            searcher = self._current_searcher()
            run = state.get("run")
            if run is None:
                run = state["run"] = RatingsScoring(searcher, session=identity.session,
                                                    study=identity.study)
                state["news"] = self._news(searcher)
            elif run.searcher is not searcher:
                raise LibraryError("the library was reopened while scoring; score again")
            if task.cancelled and run.done < run.total:
                run.scores.cancelled = True
                return True, run.scores
            run.step()
            task.report(run.done, run.total, "rated searches")
            return run.done >= run.total, run.scores

        def done(scores):
            self._tell(state.pop("news", None), path)
            on_done(scores)

        return self.db.submit_steps(step, on_progress=on_progress, on_done=done,
                                    on_error=on_error)

    def history(self, who: Identity, *, on_done: Callback, limit: int = 500) -> Task:
        """``on_done((records, counts))``: the newest ``limit`` searches and the newest
        ``limit`` of ``who``'s session (a batch of others' searches must not push those out
        of reach), and how many there are of each (``{"total": n, "mine": m}``)."""
        def work(task: Task):
            if self._library is None:
                return [], {"total": 0, "mine": 0}
            store = self._library.store
            mine = {"examiner": who.examiner, "study": who.study or "",
                    "session": who.session}
            records = {r["id"]: r for r in store.searches(limit)}
            records.update((r["id"], r) for r in store.searches(limit, **mine))
            return ([records[i] for i in sorted(records, reverse=True)],
                    {"total": store.count_searches(), "mine": store.count_searches(**mine)})

        return self.db.submit(work, on_done=on_done, on_error=lambda exc: None)

    def patent_details(self, patent_id: str, *, on_done: Callback) -> Task:
        """``{"patent": row, "pages": [...], "figures": [...]}`` of one patent."""
        def work(task: Task):
            store = self._require_searcher().library.store
            return {"patent": store.patent(patent_id) or {},
                    "pages": store.pages_of_patent(patent_id),
                    "figures": store.figures_of_patent(patent_id)}

        return self.db.submit(work, on_done=on_done, on_error=lambda exc: None)

    def load_page(self, path: str, page_index: int, *, on_done: Callback,
                  on_error: Callback) -> Task:
        """A page at full resolution as a QImage (for the detail view)."""
        def work(task: Task) -> QImage:
            from core.imageio import read_page

            return gray_to_qimage(read_page(path, page_index).array)

        return self.io.submit(work, on_done=on_done, on_error=on_error)

    # -- ratings ----------------------------------------------------------------------------
    def _reset_rating_library(self) -> None:
        path = self.path

        def work(task: Task):
            from core.library import Library

            self._close_rating_library()
            self._rating_library = Library(path)

        self.ratings.submit(work)

    def _close_rating_library(self) -> None:
        if self._rating_library is not None:
            self._rating_library.close()
            self._rating_library = None

    def _rating_lib(self):
        if self._rating_library is None:
            if self.problem is not None:
                raise LibraryUnusable(*self.problem)
            if self.path is not None and self.info is None:
                raise LibraryError(f"the library {self.path} is still opening: try again once "
                                   "it has opened")
            raise LibraryError("no library is open")
        return self._rating_library

    def rate(self, hit, rating: int | None, *, search_id: int | None, query_sha256: str | None,
             identity: Identity, rank: int | None = None, on_done: Callback = None,
             on_error: Callback = None) -> Task:
        """Store a rating (None clears it) for a result; committed before ``on_done``."""
        model_id = self.model_id

        def work(task: Task) -> int:
            if self.maintenance:
                raise LibraryError("the library is being rebuilt; rate again when it finishes")
            fields = dict(
                search_id=search_id, patent_id=hit.patent_id, figure_id=hit.figure_id,
                rank=rank if rank is not None else hit.rank, rating=rating,
                model_id=model_id, query_sha256=query_sha256, examiner=identity.examiner,
                study=identity.study or None, session=identity.session, blind=identity.blind)
            # (a rebuild in another process may swap a new database in: ratings follow it)
            return self._rating_lib().write_where_kept(
                lambda store: store.add_rating(**fields),
                lambda store, row_id: store.rating_event(row_id))

        return self.ratings.submit(work, on_done=on_done, on_error=on_error)

    def search_ratings(self, search_id: int, examiner: str | None, *,
                       on_done: Callback) -> Task:
        """``examiner``'s current ratings of a logged search, by figure id."""
        def work(task: Task):
            return self._ratings_of(self._store_for_reports(), search_id, examiner)

        return self.ratings.submit(work, on_done=on_done, on_error=lambda exc: None)

    @staticmethod
    def _rating_rows(store, search_id: int, examiner: str | None) -> list[dict]:
        return [r for r in store.current_ratings(search_id=search_id)
                if r["examiner"] == examiner]

    @classmethod
    def _ratings_of(cls, store, search_id: int, examiner: str | None) -> dict[int, int]:
        return {r["figure_id"]: r["rating"] for r in cls._rating_rows(store, search_id,
                                                                      examiner)}

    def session_summary(self, identity: Identity, *, on_done: Callback,
                        on_error: Callback = None) -> Task:
        def work(task: Task):
            from core.reports import session_summary

            return session_summary(self._store_for_reports(), identity.session,
                                   identity.examiner, study=identity.study)

        return self.ratings.submit(work, on_done=on_done, on_error=on_error)

    def export_ratings(self, target: Path, identity: Identity, *, on_done: Callback,
                       on_error: Callback, events: bool = False) -> Task:
        """Write this study session's ratings CSV (every examiner's ratings in this study and
        session); with ``events`` every rating event (set, changed, cleared) rather than the
        current ratings."""
        def work(task: Task) -> int:
            from core.reports import write_rating_events_csv, write_ratings_csv

            write = write_rating_events_csv if events else write_ratings_csv
            return write(target, self._store_for_reports(), session=identity.session,
                         study=identity.study)

        return self.ratings.submit(work, on_done=on_done, on_error=on_error)

    def _store_for_reports(self):
        lib = self._rating_lib()
        lib.reopen_if_replaced()
        return lib.store

    # -- reports ----------------------------------------------------------------------------
    def export_report(self, target: Path, meta, hits: list, ratings: dict[int, int],
                      blind: bool, query_page: tuple[str | None, int], *, on_done: Callback,
                      on_error: Callback, on_progress: Callback | None = None) -> Task:
        """Write a search report; the format follows the suffix (.html, .csv or .pdf);
        ``query_page``: the (file, page index) searched, pictured in its header;
        ``on_progress(drawn, total, note)`` as the results' pictures are drawn;
        ``on_done((target, unprintable))``: the characters a PDF could not draw, if any."""
        cache = self.thumbnail_cache()

        def work(task: Task) -> tuple[Path, str]:
            from dataclasses import replace

            from core import reports
            from core.thumbnails import query_picture, report_thumbnails

            def told(drawn: int, total: int) -> None:
                task.report(drawn, total, "pictures")

            if reports.report_format(target) == "pdf":
                from .pdf_report import write_pdf

                picture, note = query_picture(cache, *query_page, box=meta.query_box,
                                              sha256=meta.query_sha256)
                return target, write_pdf(
                    target, replace(meta, query_note=note), hits,
                    report_thumbnails(cache, lambda n: told(n, len(hits))), picture, ratings,
                    blind).unprintable
            reports.write_search_report(target, meta, hits, thumbnails=cache,
                                        query_page=query_page, ratings=ratings,
                                        blind=blind, progress=told)
            return target, ""

        return self.io.submit(work, on_done=on_done, on_error=on_error,
                              on_progress=on_progress)

    def thumbnail_cache(self):
        from core.thumbnails import ThumbnailCache

        return ThumbnailCache.for_library(self.path) if self.path else ThumbnailCache(None)

    # -- maintenance ------------------------------------------------------------------------
    def overview(self, *, on_done: Callback, on_error: Callback = None) -> Task:
        path = self.path

        def work(task: Task):
            from core.overview import library_overview

            if self._library is not None:
                return library_overview(self._library)
            if path is None or not (path / DB_FILE).exists():
                return None
            from core.library import Library

            with Library(path) as lib:      # it did not open for searching (another model)
                return library_overview(lib)

        return self.db.submit(work, on_done=on_done, on_error=on_error)

    def build_demo(self, path: Path | None, n_patents: int | None, *, on_progress: Callback,
                   on_done: Callback, on_error: Callback) -> Task:
        """Generate and index the demo library (core.demo), or reuse a finished one;
        ``on_done`` gets its core.demo.DemoLibrary. Cancel stops it (core.demo.DemoCancelled);
        building again goes on where it stopped."""
        stages = {"drawing": "Drawing synthetic design patents",
                  "indexing": "Indexing their drawing sheets"}

        def work(task: Task):
            from core.demo import build_demo_library

            return build_demo_library(   # the model it loads is the one opening it uses
                path, n_patents=n_patents, cancel=task.cancel_event, workers=self.workers,
                loader=self._load_model,
                progress=lambda stage, done, total: task.report(done, total,
                                                                stages.get(stage, stage)))

        return self.admin.submit(work, on_progress=on_progress, on_done=on_done,
                                 on_error=on_error)

    def ingest(self, sources: list[str] | None, allow_absolute: bool, *,
               on_progress: Callback, on_done: Callback, on_error: Callback) -> Task:
        """Add drawings (``sources=None``: ingest the registered sources again, i.e. update).
        Cancel leaves the library exactly as before the run."""
        path, workers = self.path, self.workers

        def work(task: Task):
            from core.library import remove_if_empty

            made: list = []
            try:
                report = adding(task, made)
            finally:        # cancelled, failed or not: a new library with nothing is not kept
                removed = bool(made) and remove_if_empty(path, made[0])
            if removed:
                report.warnings.append(f"nothing was added, so no library was made at {path}")
            return report

        def adding(task: Task, made: list):
            from core.ingest import ingest, missing_page_files
            from core.library import Library
            from core.overview import source_paths

            with Library(path, create=True) as lib:
                if lib.created:
                    made.append(lib.made)
                ref = lib.model_ref()
                model = self._load_model(ref)
                todo, notes = (sources, []) if sources is not None else source_paths(lib)
                report = ingest(lib, todo, model, model_ref=ref, allow_absolute=allow_absolute,
                                progress=task.report, cancel=task.cancel_event,
                                rollback_on_cancel=True, workers=workers)
                report.warnings += notes
                gone = missing_page_files(lib) if sources is None else []
                if gone:
                    report.warnings.append(
                        f"{len(gone)} page file(s) of the library are no longer where they "
                        f"were added (first: {gone[0]}): restore them, add their new place, "
                        "or rebuild the index without them")
                return report

        return self.admin.submit(work, on_progress=on_progress, on_error=on_error,
                                 on_done=lambda report: self._after_maintenance(report, on_done))

    def rebuild(self, *, on_progress: Callback, on_done: Callback, on_error: Callback,
                drop_missing: bool = False) -> Task:
        """Re-embed the library with the current incarnation of its model (e.g. after the
        default model changed); cancel discards the aside build and keeps the library."""
        path, workers = self.path, self.workers
        self.maintenance = True
        self.maintenanceChanged.emit(True)

        def work(task: Task):
            from core.ingest import rebuild
            from core.library import Library

            lib = Library(path)
            try:
                ref = lib.model_ref()
                self._models.pop(ref, None)         # take the model as it is now
                model = self._load_model(ref)
                return rebuild(lib, model, model_ref=ref, progress=task.report,
                               cancel=task.cancel_event, workers=workers,
                               drop_missing=drop_missing)
            finally:
                lib.close()

        def failed(exc):
            self._end_maintenance()
            on_error(exc)

        return self.admin.submit(work, on_progress=on_progress, on_error=failed,
                                 on_done=lambda report: self._after_maintenance(report, on_done))

    def _end_maintenance(self) -> None:
        if self.maintenance:
            self.maintenance = False
            self.maintenanceChanged.emit(False)

    def _after_maintenance(self, report, on_done: Callback) -> None:
        self._end_maintenance()
        self.open(self.path)
        if on_done is not None:
            on_done(report)

    def maintaining(self) -> bool:
        """An add, update or rebuild is running (or being cancelled)."""
        return self.admin.pool.activeThreadCount() > 0

    def shutdown(self, tick: Callable[[], None] | None = None) -> None:
        """Cancel background work, wait for it, then close the database connections. Ratings
        still queued (the examiner rated and quit at once) are written, not dropped; a
        cancelled add or rebuild is given the time to put the library back as it was
        (``tick``: called meanwhile, every 50 ms)."""
        self.admin.shutdown(60_000, tick=tick)
        for runner in (self.io, self.db):
            runner.shutdown()
        self.ratings.shutdown(drop_queued=False)
        self._close_library()
        self._close_rating_library()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _temp_folder(self) -> Path:
        """The window's temporary folder, made at the first paste that needs it: where no
        temporary folder can be made, the window still opens and searches."""
        with self._tmp_lock:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="patent-examiner-")
            return Path(self._tmp.name)


def _save_pasted(image: QImage, folder: Path) -> Path:
    """Write a pasted image as PNG named by its content hash (same image, same file), whole
    or not at all: a write cut short (disk full) leaves no file to be taken for the image."""
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError("the pasted image could not be encoded")
    data = bytes(buf.data())
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)   # (an unpublished application's
    path = folder / f"pasted-{hashlib.sha256(data).hexdigest()[:16]}.png"   # drawing: private)
    try:
        if path.stat().st_size == len(data):
            with contextlib.suppress(OSError):      # (saved readable by all before)
                path.chmod(0o600)
            return path
    except OSError:
        pass
    with replacing(path, "wb") as f:
        if os.chmod in os.supports_fd:
            os.chmod(f.fileno(), 0o600)
        f.write(data)
    return path
