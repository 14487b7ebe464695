"""The examiner's main window: the query and its filters on the left, the ranked results (or
the detail view of one) on the right, the search history in a dock.

It wires widgets to the LibraryService; it never calls the model, the index, SQLite or an
image decoder itself. Every search request carries a generation number and only the answer to
the latest request is shown, so results of a query the user has since changed are dropped.
"""
from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import shiboken6
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QFileDialog, QFrame, QGroupBox,
                               QLineEdit, QMainWindow, QMessageBox, QProgressBar, QScrollArea,
                               QSizePolicy, QSplitter, QStackedWidget, QStyle, QVBoxLayout,
                               QWidget)

from core.audit import searched_region
from core.dates import after_today_note, local_time
from core.reports import RELEVANCE_RULE, REPORT_FORMATS, ReportMeta, counted, one_line
from core.search import SearchQuery, SearchResponse, page_numbers
from core.sources import display_patent_id

from .actions import WindowActions
from .banner import Banner
from .detail_view import DetailView
from .elided_label import MIN_WIDTH, ElidedLabel
from .filters import FilterPanel
from .gc_guard import UiThreadGC
from .history_panel import HistoryPanel
from .plain_text import tip
from .query_panel import QueryPanel
from .query_sources import FILE_FILTER, can_accept, query_from_mime
from .results_model import HiddenRatingsRole, HitRole, PositionRole, RatingRole, ResultsModel
from .results_panel import ResultsPanel
from .service import Identity, LibraryEmpty, LibraryService, LibraryUnusable
from .settings import Settings
from .shortcuts import ShortcutsDialog
from .tasks import describe_error
from .thumbnails import ThumbnailLoader

QWIDGETSIZE_MAX = (1 << 24) - 1
THUMB_SIDE = 180
QUERY_PANE = 380          # the query pane's width until the examiner drags the splitter
#: Status-bar width taken by what is not text: margins, spacing, the size grip.
STATUS_SLACK = 48
REPORT_FILTER = "HTML report (*.html);;CSV table (*.csv);;PDF document (*.pdf)"
#: The ratings export's two kinds: what each result is rated now, or every rating as made.
CURRENT_RATINGS, RATING_EVENTS = "Current ratings (*.csv)", "Every rating change (*.csv)"


def report_path(path: str, chosen_filter: str) -> Path:
    """The report file for a name typed in the save dialog: a name without a report suffix
    (none, or "search.v2", "notes.txt") gets the chosen format's, as the format follows it."""
    if Path(path).suffix.lower() in REPORT_FORMATS:
        return Path(path)
    suffix = ".csv" if "csv" in chosen_filter else ".pdf" if "pdf" in chosen_filter else ".html"
    return Path(path + suffix)


def replace_ok(parent, typed: str, path: Path) -> bool:
    """Whether to write ``path``, the name typed in a save dialog with a suffix added: the
    dialog asked about replacing only the name as typed, so an existing file is asked about
    here (it was silently overwritten)."""
    if path == Path(typed) or not path.exists():
        return True
    answer = QMessageBox.question(
        parent, "Replace the file?", f"{path.name} already exists in {path.parent}. "
        "Do you want to replace it?", QMessageBox.StandardButton.Yes |
        QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ratings_elsewhere(sessions: dict, hits: list, ident: Identity) -> str | None:
    """A reopened search shows the examiner's ratings of it from any session; says how many
    of those on screen were made in another session (a rating belongs to the session it was
    last set in), or None."""
    shown = {h.figure_id for h in hits}
    here = (ident.study or "", ident.session)
    other = [where for fid, where in sessions.items() if fid in shown and where != here]
    if not other:
        return None
    names = sorted({(session or "(none)") + (f" of study {study or '(none)'}"
                                             if study != here[0] else "")
                    for study, session in other})
    n = len(other)
    return (f"{n} of the ratings shown {'was' if n == 1 else 'were'} made in "
            f"session{'s' * (len(names) > 1)} {', '.join(names)}: they count there; rating "
            f"one again moves it to this session ({ident.session}).")


class PageStack(QStackedWidget):
    """A stack as narrow as the page it shows: QStackedWidget keeps the largest least size of
    all its pages, so in a large font the detail view's widened the window beside the history
    while the results were shown."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._policies: dict[int, QSizePolicy] = {}
        self.currentChanged.connect(self._size_by_current)

    def addWidget(self, page) -> int:
        self._policies[id(page)] = page.sizePolicy()
        index = super().addWidget(page)
        self._size_by_current()
        return index

    def _size_by_current(self, *_) -> None:
        """The pages not shown ask for no room (their size policy Ignored)."""
        ignored = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        for i in range(self.count()):
            page = self.widget(i)
            page.setSizePolicy(self._policies[id(page)] if page is self.currentWidget()
                               else ignored)
        self.updateGeometry()


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, service: LibraryService | None = None):
        super().__init__()
        self._gc = UiThreadGC.acquire()
        self.setWindowTitle("Patent Examiner \u2014 design prior-art search")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.service = service or LibraryService(self)
        self.thumbnails = ThumbnailLoader(self.service.io, parent=self)
        self.model = ResultsModel(self.thumbnails, THUMB_SIDE, self)
        self.model.set_grouped(self.settings.group_by_patent)
        self.query = None            # service.QueryPage on screen
        self.response = None         # core.search.SearchResponse on screen
        self._searched_with = (None, None)  # its QueryPage and region, for its report
        self._logged = None          # its audit-log record when it was reopened from there
        self._gen = 0                # search generation: only the latest answer is shown
        self._rating_seq = 0         # ratings given here, counted; figure id -> the last's
        self._rated_at: dict[int, int] = {}
        self._query_gen = 0
        self._library_dialog = None
        self._demo_task = None       # the demo library being built (start_demo)
        self._interrupted = False    # Ctrl+C in the terminal: quit without asking
        self._note_when_open = None  # a message for the library being opened
        self._read_only_words = "read-only"   # how the open library says it (core.store)
        self._history_sized = False  # the dock gets a sensible width when first shown
        self._focus_before_history = None   # where Ctrl+H took the keyboard from
        self._banner_in_rebuild = False  # the banner's message came while a rebuild ran
        self._banner_sticky = False      # how library work ended: stays until dismissed
        self._error_while_opening = False  # (a query's error then is not the old library's)
        self._after_rebuild = None   # a search (or reopening) asked for while it was rebuilt
        self._scoring = None         # the task scoring the model by the ratings, while it runs
        self._score_dialog = None    # the Study session dialog open on it (reopened: the new)
        self.confirm_box = None      # the question asked before quitting (tests answer it)
        self.quit_progress = None    # shown while a cancelled run puts the library back
        self._banner_kind = None     # what the banner says: "missing" library, bad "date"
        self._reopened_notes = None  # (search id, rating sessions, hits, notes) of a reopened one
        self._opened_library = None  # the library last opened (its path, as info gives it)
        self._quitting = False
        self._settings_told: set[str] = set()   # settings problems the banner has told
        self.settings.on_unsaved = self._settings_unsaved
        self._build_widgets()
        self.acts = WindowActions(self)
        self._connect()
        self.set_blind(self.settings.blind)
        geometry, state = self.settings.geometry()
        # (saved on another screen, or damaged: Qt refuses it and leaves the least size)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(self._first_size())
        if state is not None:
            self.restoreState(state)

    def _first_size(self) -> QSize:
        """1440x900, or the screen's free area less a margin for the frame where that is
        smaller (a 1280x720 laptop screen at 150 %)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else None
        if free is None or free.isEmpty():
            return QSize(1440, 900)
        return QSize(min(1440, free.width() - 16), min(900, free.height() - 48))

    # -- layout -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.banner = Banner()
        self.query_panel = QueryPanel()
        self.filters = FilterPanel()
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(6, 6, 0, 6)
        query_box = QGroupBox("Query drawing")
        QVBoxLayout(query_box).addWidget(self.query_panel)
        filter_box = QGroupBox("Filters")
        QVBoxLayout(filter_box).addWidget(self.filters)
        left_lay.addWidget(query_box, 1)
        left_lay.addWidget(filter_box)
        self.results = ResultsPanel(self.model)
        self.detail = DetailView(self.service, self.thumbnails)
        self.stack = PageStack()
        self.stack.addWidget(self.results)
        self.stack.addWidget(self.detail)
        # never narrower than its own layout needs (the date edit and "No date cutoff" row)
        left.setMinimumWidth(max(340, left.minimumSizeHint().width()))
        # scrolls rather than forcing the window taller than a small screen
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no Tab stop: it shows no focus
        left_scroll.setMinimumWidth(left.minimumWidth() + left_scroll.style().pixelMetric(
            QStyle.PixelMetric.PM_ScrollBarExtent))
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left_scroll)
        split.addWidget(self.stack)
        split.setStretchFactor(1, 1)
        split.setSizes([QUERY_PANE, 1060])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        self.history = HistoryPanel(self)
        # a window that can show two columns of results beside the history keeps them
        edge = self.style().pixelMetric(QStyle.PixelMetric.PM_DockWidgetSeparatorExtent)
        # (the query pane at the width the splitter gives back to it: squeezed for a moment,
        # by the detail view or a window being resized, its width now is not the one to keep)
        self._query_pane = QUERY_PANE
        split.splitterMoved.connect(lambda *_: setattr(self, "_query_pane", left_scroll.width()))
        self.history.room_beside = lambda n: (max(self._query_pane, left_scroll.minimumWidth())
                                              + split.handleWidth() + edge
                                              + self.results.width_for_columns(n))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history)
        self.history.hide()
        # (the detail view's least width squeezes the dock: back on the results, its width)
        self.stack.currentChanged.connect(
            lambda _: self.stack.currentWidget() is self.results and self.history.fit_later())

        bar = self.statusBar()
        self.busy = QProgressBar()
        self._busy_jobs: dict[str, str] = {}
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(110)
        self.busy.setMaximumHeight(14)
        self.busy.hide()
        self.library_label = ElidedLabel("No library")
        self.model_label = ElidedLabel("")
        self.session_label = ElidedLabel("")
        # permanent widgets: showMessage() hides the others, and the busy text is a message
        for w in (self.busy, self.library_label, self.model_label, self.session_label):
            bar.addPermanentWidget(w)
        bar.messageChanged.connect(self._fit_status)
        q = self.query_panel
        for a, b in ((q.view, q.figure), (q.figure, q.page), (q.page, q.crop),
                     (q.crop, self.filters.date), (self.filters.search_button, self.results.view)):
            QWidget.setTabOrder(a, b)

    def _connect(self) -> None:
        s = self.service
        s.opened.connect(self._library_opened)
        s.openFailed.connect(self._library_failed)
        s.maintenanceChanged.connect(self._maintenance)
        s.changed.connect(self._show_library_info)
        self.query_panel.selectionChanged.connect(self.search)
        self.query_panel.pageRequested.connect(self._page_requested)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.search)
        self.filters.changed.connect(self._filters_changed)
        self.filters.searchRequested.connect(lambda: self.search(typed_date=True))
        self.filters.problem.connect(self._date_problem)
        self.results.activated.connect(self.show_detail)
        self.results.view.selectionModel().currentChanged.connect(self._current_changed)
        self.model.ratingChanged.connect(self._store_rating)
        self.detail.back.connect(self.show_grid)
        self.detail.stepRequested.connect(self.step)
        self.detail.rateRequested.connect(self.rate_current)
        self.detail.searchWith.connect(self._search_with)
        self.detail.message.connect(self.show_message)
        self.history.reopenRequested.connect(self.reopen)
        self.history.replayRequested.connect(self.replay)
        self.history.visibilityChanged.connect(self._history_shown)

    # -- library ----------------------------------------------------------------------------
    def start(self, library: Path | None, query: Path | None = None,
              before: date | None = None) -> bool:
        """Open a library and optionally load a query (searched at once) with a cutoff;
        False if the library was not opened (work in the open one is running)."""
        if before is not None:
            self.filters.set_values(before, self.filters.locarno(), self.filters.query_text())
        if library is None:         # $PATENT_EXAMINER_LIBRARY, else the last one used
            from core.library import LIBRARY_ENV, default_library_path

            library = (default_library_path() if os.environ.get(LIBRARY_ENV) else None) \
                or self.settings.library or default_library_path()
        if not self.open_library(Path(library)):
            return False
        if query is not None:
            self.load_query(Path(query).expanduser())
        return True

    def start_demo(self, path: Path | None = None, n_patents: int | None = None) -> None:
        """Open the built-in demo library (building it first, with progress and cancel, on
        the first run) with its first demo query searched."""
        from PySide6.QtWidgets import QProgressDialog

        if self._demo_task is not None:
            return
        dialog = QProgressDialog("Preparing the demo library\u2026", "Cancel", 0, 0, self)
        dialog.setWindowTitle("Demo library")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumWidth(460)
        dialog.setMinimumDuration(800)      # a finished demo library opens without a flash
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        before = (self.library_label.text(), self.library_label.toolTip())
        self.library_label.setText("Preparing the demo library\u2026")

        def progress(done: int, total: int, note: str) -> None:
            dialog.setRange(0, total)
            dialog.setValue(done)
            dialog.setLabelText(f"First run: a library of synthetic design patents, so you "
                                f"can try a search at once.\n{note}: {done} of {total}")

        def finished() -> None:
            self._demo_task = None
            dialog.reset()
            dialog.close()
            dialog.deleteLater()

        def done(demo) -> None:
            finished()
            self._note_when_open = (
                "This is the demo library: synthetic patents (SYN-\u2026), not real ones. More "
                f"demo drawings to try: {demo.path / 'queries'}. Add your own patents with "
                "Manage library (Ctrl+L).")
            if not self.start(demo.path, demo.queries[0] if demo.queries else None):
                self._note_when_open = None

        def failed(exc) -> None:
            from core.demo import DemoCancelled

            finished()
            if self.service.info is not None:      # the library open before is still open
                self.library_label.setText(before[0])
                self.library_label.setToolTip(tip(before[1]))
            else:
                self.library_label.setText("No library")
            if isinstance(exc, DemoCancelled):
                self.show_message("info", "The demo library was not finished; File \u25b8 "
                                  "Demo library goes on where it stopped.")
            else:
                self.show_message("error", f"The demo library could not be built: "
                                  f"{describe_error(exc)}")

        self._demo_task = self.service.build_demo(path, n_patents, on_progress=progress,
                                                  on_done=done, on_error=failed)
        dialog.canceled.connect(self._demo_task.cancel)

    def open_library(self, path: Path, model_at: str | None = None) -> bool:
        """Open the library at ``path`` (its model loads in a worker); False, said in the
        banner, while work in the open library runs."""
        dialog = self._library_dialog
        if dialog is not None and dialog.task is not None and self.service.path is not None \
                and Path(path).resolve() != self.service.path.resolve():
            self.show_message("warning", f"{dialog.running_text() or 'Library work'} in "
                              f"{self.service.path.name}: open another library when it has "
                              "finished, or cancel it (Manage library, Ctrl+L).")
            if self.service.info is not None:   # (not "Preparing the demo library...")
                self._show_library_info(self.service.info)
            return False
        self.library_label.setText(f"Opening {path.name}\u2026")
        self._set_busy(True, f"Opening the library {path.name} and loading its model\u2026",
                       job="library")
        self._gen += 1                  # an answer still on its way is the last library's
        self.model.set_results([])
        self.response = None
        self.results.reset()
        if self.stack.currentWidget() is self.detail:   # (the last library's result)
            self.show_grid()
        self._error_while_opening = False
        self.service.open(path, model_at=model_at)
        self.thumbnails.set_cache(self.service.thumbnail_cache())
        if dialog is not None and dialog.isVisible():   # (it acts on the library it shows)
            dialog.refresh()
        return True

    def _library_opened(self, info: dict) -> None:
        self._set_busy(False, job="library")
        self.settings.library = Path(info["library"])   # (one that opened: not a typo)
        self._read_only_words = info.get("read_only_words") or "read-only"
        if info.get("no_room"):         # (read-only for now: said with its cause and remedy)
            why, remedy = info["no_room"]
            self._read_only_words = (f"read-only until you {remedy} and open it again: "
                                     f"{why}")
        self._show_library_info(info)
        if info.get("demo_unfinished"):
            self.show_message("warning", "This demo library was not finished: it holds only "
                              "part of the demo patents.", "Finish it",
                              lambda: self.start_demo(Path(info["library"])))
        elif not info["figures"]:
            self.show_message("info", "This library is empty. Add drawings to it.",
                              "Manage library\u2026", self.show_library_dialog)
        elif self._note_when_open:
            self.show_message("info", self._note_when_open)
        elif info.get("no_room"):
            why, remedy = info["no_room"]
            self.show_message("warning", f"Nothing can be written to this library now: {why}. "
                              f"Searches are not logged and ratings cannot be saved until you "
                              f"{remedy} and open it again.")
            self._banner_sticky = True
        elif info.get("read_only"):
            unread = info.get("unread_changes")
            self.show_message("warning" if unread else "info",
                              f"This library is {self._read_only_words}: searches are not "
                              f"logged and ratings cannot be saved (both need write access to "
                              f"{info['library']})." + (f" Note: {unread}." if unread else ""))
            self._banner_sticky = True
        elif (self.banner.level != "error" or info["library"] != self._opened_library) \
                and not self._banner_sticky and not self._error_while_opening:
            self.banner.hide()          # (an error stays while the same library reopens)
        self._opened_library = info["library"]
        self._note_when_open = None
        self.refresh_history()
        self.refresh_summary()
        self._tell_settings_problems()

    def _tell_settings_problems(self) -> None:
        """Once, when the banner is free: settings that cannot be saved, an examiner name
        from the environment that could not be used."""
        if self.banner.isVisible():
            return
        for problem in (self.settings.save_problem(), self.settings.examiner_problem()):
            if self._settings_unsaved(problem):
                return

    def _settings_unsaved(self, problem: str | None) -> bool:
        """Say a settings problem at once, once (a change just failed to save, or one found
        at opening); whether it was said now."""
        if not problem or problem in self._settings_told:
            return False
        self._settings_told.add(problem)
        self.show_message("warning", problem)
        self._banner_sticky = True
        return True

    def _show_library_info(self, info: dict) -> None:
        """The status bar's library and model (also after another program changed them)."""
        model = info.get("model") or {}
        first, last = info["grant_date_range"]
        self.library_label.setText(
            f"{Path(info['library']).name}: {info['patents']} patents, {info['figures']} "
            f"figures, granted {first or '-'} \u2026 {last or '-'}")
        self.library_label.setToolTip(tip(info["library"]))
        self.model_label.setText(f"Model {model.get('id', '(none)')}")

    def _library_failed(self, message: str, kind: str) -> None:
        self._set_busy(False, job="library")
        self._note_when_open = None
        self.library_label.setText("No library")
        self.library_label.setToolTip("")
        self.model_label.setText("")            # (the last library's model, else)
        if kind in ("mismatch", "moved"):      # a library, asking a question: remembered
            self.settings.library = self.service.path
        if kind == "mismatch":
            self.show_message("warning", f"{message}.", "Rebuild with the current model\u2026",
                              lambda: self.show_library_dialog(rebuild=True))
        elif kind == "moved":
            self.show_message("warning", f"{message}.", "Locate the model\u2026",
                              self.locate_model)
        elif kind == "missing":
            path = self.service.path
            from core.library import default_library_path

            if path.exists() or path == default_library_path():
                text = (f"No library at {path} yet. Add drawings to create one, or open "
                        "another library.")
            else:       # (a library on a drive not connected now must not look unmade)
                text = (f"There is no folder {path}: if a library was there, it was moved "
                        "or renamed, or its drive is not connected. Open another library, or "
                        "add drawings to create a new one there.")
            self.show_message("info", text, "Manage library\u2026", self.show_library_dialog)
            self._banner_kind = "missing"
        else:
            self.show_message("error", message)
        self._tell_settings_problems()

    def _maintenance(self, running: bool) -> None:
        self.acts.search.setEnabled(not running)
        self.filters.search_button.setEnabled(not running)
        if running:
            self.show_message("info", "Rebuilding the index: searching and rating resume when "
                              "it finishes.")
            self._banner_in_rebuild = True
        else:
            if self._banner_in_rebuild and self.banner.level in ("info", "error"):
                self.banner.hide()   # its notice, or a rating refused while it ran
                problem = self.service.problem
                if problem is not None and problem[1] == "moved":   # (it could not run)
                    self._library_failed(*problem)
            if self._after_rebuild is not None:
                # queued behind the reopening of the rebuilt library (one database thread)
                QTimer.singleShot(0, self._after_rebuild)
                self._after_rebuild = None

    # -- query ------------------------------------------------------------------------------
    def load_query(self, source: Path | QImage, page_index: int = 0, *,
                   box: list | None = None, search: bool = True,
                   expect_sha256: str | None = None, all_pages: bool = False) -> None:
        """Decode a query (off the UI thread); then search, unless ``search`` is False.
        ``expect_sha256``: warn if the file is no longer the one that was searched."""
        if isinstance(source, Path):
            self.settings.last_folder = str(source.parent)
        self._query_gen += 1
        gen = self._query_gen
        if search:
            self._gen += 1           # a search of the previous query is now stale
        self._set_busy(True, "Reading the query drawing\u2026")

        def loaded(query):
            if gen != self._query_gen:
                return
            self._set_busy(False)
            self.query = query
            self.query_panel.set_query(query)
            self.query_panel.select_box(box)
            if all_pages:
                self.query_panel.select_all_pages()
                if not search and self.response is not None:   # (a reopened search)
                    self.query_panel.mark_left_out(self.response.text_pages)
            if self.banner.level == "error":
                self.banner.hide()
            if not search:
                self._results_header()          # a reopened search: its figure or crop
                if self.response is not None and self.response.query == query.path:
                    self._searched_with = (query, self._searched_with[1])
                if self.stack.currentWidget() is self.detail:
                    self.show_detail()          # its query beside its result, not the last
            if expect_sha256 and query.sha256 != expect_sha256:
                self.show_message("warning", f"{Path(query.path).name} has changed since this "
                                  "search was run: searching again may give other results.")
            elif query.cut_off and not search:      # (searched: said with its results)
                self._cut_off_note(query)
            if search:
                self.search()

        def failed(exc):
            if gen != self._query_gen:
                return
            self._set_busy(False)
            self.show_message("error", f"Cannot use this query: {describe_error(exc)}")

        self.service.load_query(source, page_index, on_done=loaded, on_error=failed)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a query drawing",
                                              self.settings.last_folder, FILE_FILTER)
        if path:
            self.load_query(Path(path))

    def paste(self) -> None:
        self._use_mime(QGuiApplication.clipboard().mimeData())

    def _use_mime(self, mime) -> None:
        source = query_from_mime(mime)
        if isinstance(source, str):
            self.show_message("warning", source[0].upper() + source[1:] + ".")
            return
        self.load_query(source)
        files = [u for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if len(files) > 1:
            self.show_message("info", f"{len(files)} files were dropped; the query is the "
                                      f"first, {source.name} (one application's drawings: "
                                      "a multi-page PDF or TIFF, searched with All pages)",
                              timeout_ms=12000)

    def dragEnterEvent(self, event) -> None:
        if can_accept(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self._use_mime(event.mimeData())

    def clear_query(self) -> None:
        """File \u25b8 Clear drawing: no query drawing, the text and filters kept. With a text
        typed, its search alone runs at once; else the drawing's results go too and the Text
        field takes the keys."""
        self._query_gen += 1                    # a drawing still being read is dropped
        had = self.query is not None
        self.query = None
        self.query_panel.clear()
        if self.filters.query_text() is not None:
            self.search()
            return
        self._gen += 1                          # and so is its search's answer
        self._set_busy(False)
        self.response = None
        self._searched_with = (None, None)
        self.model.set_results([])
        self.results.reset()
        self.show_grid()
        self.filters.text.setFocus()
        if had:
            self.show_message("info", "The drawing is cleared. Type a title or description "
                              "in Text and press Enter to search by the words alone.",
                              timeout_ms=10000)
            self._banner_kind = "hint"          # (gone once that search is shown)

    def _page_requested(self, page_index: int) -> None:
        if self.query is not None:
            self.load_query(Path(self.query.path), page_index)

    def search_all_figures(self) -> None:
        self.query_panel.set_selection()
        self.search()

    def _filters_changed(self) -> None:
        """Search again with the new cutoff or class: a drawing's search, or a search by the
        title alone that is on screen."""
        text_search = (self.response is not None and self.response.query is None
                       and self.filters.query_text() is not None)
        if self.query is not None or text_search:
            self._debounce.start()

    def _date_problem(self, text: str) -> None:
        if text:
            self.show_message("warning", text)
            self._banner_kind = "date"
        elif self.banner.isVisible() and self._banner_kind == "date":
            self.banner.hide()

    # -- search -----------------------------------------------------------------------------
    def identity(self) -> Identity:
        s = self.settings
        return Identity(s.examiner, s.study or "", s.session, s.blind)

    def search(self, typed_date: bool = False) -> None:
        """Search with the query and filters on screen; ``typed_date``: the examiner asked
        for it, so a filing date typed and not yet entered counts."""
        self._debounce.stop()
        text = self.filters.query_text()
        if self.query is None and text is None:
            self.show_message("info", "Open (Ctrl+O), paste (Ctrl+V) or drop a drawing to "
                                      "search with, or type a text.")
            self._banner_kind = "hint"          # (gone once a search is shown)
            return
        if self.service.maintenance:    # the results on screen stay until it can run
            self._after_rebuild = self.search
            self.show_message("info", "Rebuilding the index: this search runs when it "
                              "finishes.")
            self._banner_kind = "hint"
            return
        try:
            before = self.filters.before(typed=typed_date)
        except ValueError:              # a typed date that is not one: no search, and why
            self.filters.date.commit()      # marks the field and says why
            self.filters.date.setFocus()
            return
        q = self.query
        page_index = None if q and self.query_panel.all_pages else q.page_index if q else 0
        query = SearchQuery(image=q.path if q else None, page_index=page_index,
                            box=self.query_panel.box() if q else None,
                            region=self.query_panel.region() if q else None, text=text,
                            before=before, locarno=self.filters.locarno(),
                            k=self.filters.k.value())
        self.filters.searched()
        self._gen += 1
        gen = self._gen
        used = (q, query.box.to_list() if query.box is not None else None)
        self._set_busy(True, "Searching\u2026")
        self.results.header.setText("Searching\u2026")
        self.service.search(query, self.identity(), lambda: gen == self._gen,
                            on_done=lambda resp: self._show_response(
                                gen, resp, used=used, all_pages=page_index is None),
                            on_error=lambda exc: self._search_failed(gen, exc))

    def _show_response(self, gen: int, resp, ratings: dict | None = None,
                       reopened: str | None = None, what: str | None = None,
                       used: tuple = (None, None), logged: dict | None = None,
                       all_pages: bool = False) -> None:
        """``used``: the QueryPage and region searched (a report shows these, not the query
        on screen, which may already be the next one); ``logged``: the audit-log record of
        a reopened search (its report names who made it and when from there); ``all_pages``:
        every page of the file was searched."""
        if resp is None or gen != self._gen:
            return                              # a newer request superseded this one
        self._set_busy(False)
        self._reopened_notes = None             # (set again after a reopened one is shown)
        self.response = resp
        self._searched_with = used
        self._logged = logged
        self.model.set_results(resp.results, ratings=ratings, seed=resp.search_id or 0)
        self.query_panel.mark_left_out(resp.text_pages)
        before = f"granted before {resp.before}" if resp.before else "with no date cutoff"
        loc = f", Locarno {resp.locarno}" if resp.locarno else ""
        if not resp.results:
            self.results.header.setText("No prior art found")
            self.results.subheader.setText(
                f"Nothing in the library matches ({before}{loc}); widen the date or the "
                "Locarno filter.")
        else:
            self._results_header(what)
            detail = reopened or (f"{resp.allowed} figures searched, "
                                  f"{resp.timings_ms.get('total', 0):.0f} ms")
            tip = ("" if reopened or resp.text or not resp.query else
                   " \u2014 tip: add the title (Text) to find prior art of the same kind")
            logged = (f"search #{resp.search_id}" if resp.search_id is not None else
                      f"not logged (the library is {self._read_only_words})")
            self.results.subheader.setText(f"Prior art {before}{loc}; {detail}; {logged}{tip}")
            self.results.select_row(0)
        if (self.banner.level in ("error", "warning") or self._banner_kind == "hint") \
                and not self._banner_sticky:
            self.banner.hide()
        if resp.before and not reopened and \
                (note := after_today_note(date.fromisoformat(resp.before))):
            self.show_message("info", f"{note[0].upper()}{note[1:]}.")
            self._banner_kind = "hint"
        if resp.text_note and not reopened:
            self.show_message("warning", f"{resp.text_note[0].upper()}{resp.text_note[1:]}. "
                              + ("Put the title or the key words first." if
                                 resp.text_words_read else "Type the title or key words."))
        if resp.text_only and not reopened:
            if used[0] is not None and used[0].n_pages == 1:
                self.show_message("warning", "This looks like printed text, not a drawing (a "
                                  "specification page?); it was searched as it is. Open the "
                                  "application's drawing sheets.")
            elif all_pages:
                self.show_message("warning", "Every page looks like printed text, not a drawing "
                                  "(a specification?); the pages were searched as they are. "
                                  "Open the application's drawing sheets.")
            else:
                self.show_message("warning", "This page looks like printed text, not a drawing "
                                  "(a specification page?); it was searched as it is. Pick a "
                                  "page of drawings, or All pages.")
        elif self.query is not None and self.query.cut_off and not reopened:
            self._cut_off_note(self.query)
        self.refresh_history()
        if self.stack.currentWidget() is self.detail:
            self.show_detail()

    def _cut_off_note(self, query) -> None:
        """A query file cut off after some page: its page count is of the pages there are."""
        self.show_message("warning", f"{query.cut_off}. Pages 1 to {query.n_pages} can be "
                          "searched one at a time.")

    def _results_header(self, what: str | None = None) -> None:
        """"25 patents, 50 figures — searched with all 3 figures" (the same words whether
        the search ran now or was reopened; ``what`` until a reopened query is read)."""
        resp = self.response
        if resp is None or not resp.results:
            return
        words = f"\u201c{one_line(resp.text, 60)}\u201d" if resp.text else ""
        what = what or (self.query_panel.selection_text() if resp.query else None)
        if what and resp.text_pages:
            what += (f" except printed-text {'pages' if len(resp.text_pages) > 1 else 'page'}"
                     f" {page_numbers(resp.text_pages)}")
        what = (f"{what} and the text {words}" if what and words else what
                or f"the text {words} alone")
        patents, figures = self.model.patents(), len(resp.results)
        self.results.header.setText(f"{counted(patents, 'patent')}, "
                                    f"{counted(figures, 'figure')} \u2014 searched with {what}")

    def _search_failed(self, gen: int, exc) -> None:
        if gen != self._gen:
            return
        self._set_busy(False)
        # the results of an earlier search would read as this one's (and take its ratings)
        self.response = None
        self._logged = None
        self.model.set_results([])
        self.results.header.setText("Search failed")
        self.results.subheader.setText("No results: see the message above. Earlier searches "
                                       "are in the history (Ctrl+H).")
        if self.stack.currentWidget() is self.detail:
            self.show_grid()
        if isinstance(exc, LibraryUnusable):    # why the library did not open, and its remedy
            self._library_failed(str(exc), exc.kind)
            return
        if isinstance(exc, LibraryEmpty):       # nothing failed: there is nothing to search
            self.results.header.setText("No drawings to search")
            self.results.subheader.setText("The library is empty.")
            self.show_message("info", "This library is empty. Add drawings to it, then search "
                              "again.", "Manage library\u2026", self.show_library_dialog)
            return
        self.show_message("error", describe_error(exc))

    def reopen(self, search_id: int) -> None:
        """Show a logged search as it was: query, region, cutoff, filters, results, ratings."""
        self._debounce.stop()       # (a date just entered by leaving the field: not searched)
        if self.service.maintenance:    # (as a search: what is on screen stays till then)
            self._after_rebuild = lambda: self.reopen(search_id)
            self.show_message("info", f"Rebuilding the index: search #{search_id} reopens "
                              "when it finishes.")
            self._banner_kind = "hint"
            return
        self._gen += 1
        gen = self._gen
        self._set_busy(True, f"Reopening search #{search_id}\u2026")

        def done(payload):
            rec, hits, ratings = payload
            every_page = rec.get("query_path") is not None and rec.get("query_page") is None
            before = date.fromisoformat(rec["before"][:10]) if rec.get("before") else None
            self.filters.set_values(before, rec.get("locarno"), rec.get("text"), rec.get("k"))
            params = rec.get("params") or {}
            resp = SearchResponse(query=rec.get("query_path"), model_id=rec.get("model_id"),
                                  before=rec.get("before"), locarno=rec.get("locarno"),
                                  text=rec.get("text"), results=hits,
                                  query_figures=params.get("query_figures", []),
                                  query_pages=params.get("query_pages", []),
                                  query_sha256=rec.get("query_sha256"), search_id=rec["id"],
                                  text_pages=params.get("text_pages", []),
                                  query_region=params.get("region"),
                                  allowed=params.get("allowed"))
            region = searched_region(rec)
            self._show_response(gen, resp, ratings, reopened=f"reopened from "
                                f"{local_time(rec.get('at'))}",
                                what=None if not rec.get("query_path") else
                                "a part of the drawing" if region == "part" else
                                "a crop of the drawing" if region == "crop" else
                                f"{region} of the drawing" if region else
                                "every page of the drawing" if every_page else
                                "the drawing", used=(None, rec.get("query_box")), logged=rec)
            path = rec.get("query_path")
            logged = len(rec.get("results") or [])
            notes = [f"{logged - len(hits)} of its {logged} results are no longer in the "
                     "library (removed, or cut differently by a rebuild)."] \
                if len(hits) < logged else []
            corrected = sum(bool(h.corrected) for h in hits)
            if corrected:
                notes.append(f"The library has corrected the grant date, class or title of "
                             f"{corrected} of its results since; they are shown as they were.")
            if rec.get("query_file"):
                self.load_query(Path(rec["query_file"]), rec.get("query_page") or 0,
                                box=rec.get("query_box"), search=False,
                                expect_sha256=rec.get("query_sha256"), all_pages=every_page)
            else:
                self._query_gen += 1
                self.query = None
                self.query_panel.clear()
                if self.stack.currentWidget() is self.detail:
                    self.show_detail()
                if path:                    # (a search by its title alone had no file)
                    notes.insert(0, f"The query file is no longer at {path}.")
            self._reopened_notes = (search_id, dict(rec.get("rating_sessions") or {}), hits,
                                    notes)
            self._say_reopened()

        def failed(exc):
            self._search_failed(gen, exc)

        self.service.reopen(search_id, self.identity().examiner, on_done=done,
                            on_error=failed)

    def _say_reopened(self, again: bool = False, shown_or_not: bool = False) -> None:
        """What the banner says of the reopened search on screen: results gone or corrected,
        ratings shown that count in another session. ``again``: said anew after a rating (only
        while it is still on the banner) or a change of session (``shown_or_not``); taken
        down once none of it is true."""
        if self._reopened_notes is None:
            return
        search_id, sessions, hits, notes = self._reopened_notes
        ours = self.banner.isVisible() and self._banner_kind == "reopened"
        if again and not (ours or shown_or_not):
            return
        elsewhere = ratings_elsewhere(sessions, hits, self.identity())
        if notes:
            self.show_message("warning", f"Search #{search_id}: " + " ".join(notes)
                              + " The search is shown as it was ranked."
                              + (f" {elsewhere}" if elsewhere else ""))
        elif elsewhere:
            self.show_message("info", f"Search #{search_id}: {elsewhere}")
        else:
            if ours:
                self.banner.hide()
            return
        self._banner_kind = "reopened"

    def replay_current(self) -> None:
        """``replay`` the search on screen (a new or a reopened one)."""
        sid = self.response.search_id if self.response is not None else None
        if sid is None:
            self.show_message("info", "No logged search on screen to run again: search, or "
                                      "reopen one from the history (Ctrl+H).", timeout_ms=6000)
            return
        self.replay(sid)

    def replay(self, search_id: int) -> None:
        """Run a logged search again and say whether it gives the logged ranking."""
        self._set_busy(True, f"Running search #{search_id} again\u2026", job="replay")

        def done(result):
            self._set_busy(False, job="replay")
            text = result.text(blind=self.settings.blind)
            if result.reproduced:   # good news about one search: gone after a while
                self.show_message("info", text, timeout_ms=15000)
            else:                   # a warning stays until the next search's results
                self.show_message("warning", text)

        def failed(exc):
            self._set_busy(False, job="replay")
            self.show_message("error", describe_error(exc))

        self.service.replay(search_id, on_done=done, on_error=failed)

    def _search_with(self, path: str, page_index: int, box) -> None:
        self.show_grid()
        self.load_query(Path(path), page_index, box=box)

    def search_with_current(self) -> None:
        hit = self.current_hit()
        if hit is not None:
            self._search_with(hit.image, hit.page_index, hit.figure)
        else:
            self._no_result("search with its drawing")

    # -- results ----------------------------------------------------------------------------
    def current_hit(self):
        index = self.results.view.currentIndex()
        return index.data(HitRole) if index.isValid() else None

    def step(self, delta: int) -> None:
        self.results.step(delta)
        if self.stack.currentWidget() is self.detail:
            self.show_detail()

    def _current_changed(self, current, _previous) -> None:
        hit = current.data(HitRole) if current.isValid() else None
        if hit is not None:
            self.statusBar().showMessage(
                "  ".join(filter(None, [display_patent_id(hit.patent_id), hit.title]))
                + f"  \u2014  {Path(hit.image).name} p.{hit.page_index + 1}", 4000)

    def toggle_expanded(self) -> None:
        row = self.results.current_row()
        if row >= 0:
            self.model.toggle_expanded(row)
        else:
            self._no_result("expand its patent")

    def _no_result(self, to: str) -> None:
        """Say why a command about the current result did nothing."""
        self.show_message("info", f"Select a result to {to} (arrow keys or J/K)."
                          if self.model.rowCount() else
                          f"No result to {to}: this search found none." if self.response
                          is not None else f"No result to {to}: search first.",
                          timeout_ms=6000)

    def toggle_crop(self) -> None:
        if self.query_panel.query is None:
            self.show_message("info", "Open or drop a drawing first: Crop searches with part "
                              "of it.", timeout_ms=6000)
            return
        self.query_panel.crop.toggle()

    def set_grouped(self, on: bool) -> None:
        self._keep_current(lambda: self.model.set_grouped(on))
        self.settings.group_by_patent = on

    def _keep_current(self, change) -> None:
        """Apply a change that re-lays out the results, keeping the current result."""
        hit = self.current_hit()
        change()
        rows = self.model.visible_hits()
        self.results.select_row(rows.index(hit) if hit in rows else 0)

    def show_detail(self) -> None:
        index = self.results.view.currentIndex()
        if not index.isValid():         # (a search without results: the detail's is gone)
            if self.stack.currentWidget() is self.detail:
                self.show_grid()
            else:
                self._no_result("compare with the query")
            return
        hit, box = index.data(HitRole), self.query_panel.box()
        box, page = (box.to_list() if box is not None else None), None
        resp = self.response
        if box is None and hit.query_figure is not None and resp is not None and \
                hit.query_figure < len(resp.query_figures):     # the query figure it matched
            box = resp.query_figures[hit.query_figure]
            if hit.query_figure < len(resp.query_pages):
                page = resp.query_pages[hit.query_figure]
        self.detail.show_result(hit, index.data(RatingRole), self.query, box,
                                position=index.data(PositionRole), query_page=page,
                                hidden=index.data(HiddenRatingsRole) or (),
                                ends=(index.row() == 0,
                                      index.row() == self.model.rowCount() - 1))
        self.stack.setCurrentWidget(self.detail)
        self.detail.setFocus()

    def show_grid(self) -> None:
        self.stack.setCurrentWidget(self.results)
        self.results.view.setFocus()

    def focus_results(self) -> None:
        """F6: the keyboard to the results (or the detail view open), from a field."""
        if self.stack.currentWidget() is self.detail:
            self.detail.setFocus()
            return
        self.show_grid()
        if self.results.current_row() < 0 and self.model.rowCount():
            self.results.select_row(0)

    def toggle_detail(self) -> None:
        if self.stack.currentWidget() is self.detail:
            self.show_grid()
        else:
            self.show_detail()

    def open_current_source(self) -> None:
        if self.stack.currentWidget() is self.detail:
            self.detail.open_source()
            return
        hit = self.current_hit()
        if hit is not None:
            self.detail.open_source(hit.image)
        else:
            self._no_result("open its file")

    # -- ratings ----------------------------------------------------------------------------
    def rate_current(self, value: int | None) -> None:
        index = self.results.view.currentIndex()
        if not index.isValid():
            self.show_message("info", "Select a result to rate (arrow keys or J/K).",
                              timeout_ms=4000)
            return
        self.model.setData(index, value, RatingRole)
        self.detail.set_rating(value)

    def _store_rating(self, hit, value, previous) -> None:
        if self.response is None:
            return
        self._rating_seq += 1
        self._rated_at[hit.figure_id] = self._rating_seq
        if self.response.search_id is None:     # (a read-only library: nothing to file it by)
            self._unrate(hit, value, previous)
            self.show_message("error", "The rating was not saved: this search is not logged "
                              f"(the library is {self._read_only_words}).")
            return
        label = "cleared" if value is None else f"rated {value}"

        search_id, ident = self.response.search_id, self.identity()

        def saved(_row_id):
            self.statusBar().showMessage(f"{display_patent_id(hit.patent_id)} {label} "
                                         "(saved)", 3000)
            self.refresh_summary()
            reopened = self._reopened_notes
            if reopened is not None and reopened[0] == search_id:
                # the rating belongs to the session it was set (or cleared) in now
                reopened[1][hit.figure_id] = (ident.study or "", ident.session)
                self._say_reopened(again=True)

        def failed(exc):
            self._unrate(hit, value, previous)
            self.show_message("error", f"The rating was not saved, the result shows its "
                                       f"earlier rating: {describe_error(exc)}")

        self.service.rate(hit, value, search_id=self.response.search_id,
                          query_sha256=self.response.query_sha256, identity=self.identity(),
                          on_done=saved, on_error=failed)

    def _unrate(self, hit, value, previous) -> None:
        """Show a result's earlier rating again where ``value`` was not saved: the screen
        (and any report exported from it) shows what the library holds."""
        if self.model.undo_rating(hit.figure_id, value, previous) and \
                self.detail.hit is not None and self.detail.hit.figure_id == hit.figure_id:
            self.detail.set_rating(previous)

    def refresh_summary(self) -> None:
        ident = self.identity()

        def show(summary):
            p = summary.precision_at_10
            self.session_label.setText(
                f"{ident.examiner} \u00b7 session {ident.session}: {summary.rated} rated"
                + (f", P@10 {p:.2f}" if p is not None else ""))
            self.session_label.setToolTip(tip(summary.text() + "\n" + RELEVANCE_RULE))
        self.service.session_summary(ident, on_done=show, on_error=lambda exc: None)

    # -- history and exports ----------------------------------------------------------------
    def history_toggled(self, on: bool) -> None:
        """Ctrl+H: the keyboard to the history, and back where it was when it closes (it
        fell to the next widget in Tab order, the query drawing, where rating keys do
        nothing)."""
        if on:
            self._focus_before_history = QApplication.focusWidget()
            self.history.table.setFocus()
            return
        back, self._focus_before_history = self._focus_before_history, None
        if isinstance(QApplication.focusWidget(), (QLineEdit, QAbstractSpinBox)):
            return                      # (typing in a field meanwhile: left there)
        if back is not None and shiboken6.isValid(back) and back.isVisible():
            back.setFocus()
        else:
            self.focus_results()

    def _history_shown(self, on: bool) -> None:
        if not on:
            return
        if not self._history_sized and not self.history.isFloating():
            # room for query, cutoff and count, taken from the grid (never past the window)
            self._history_sized = True
            self.history.fit_to_window()
        self.refresh_history()

    def refresh_history(self) -> None:
        if self.history.isVisible():
            who = self.identity()
            self.service.history(who, on_done=lambda got: self.history.set_records(
                got[0], who.session, who.examiner, who.study, counts=got[1]))

    def export_report_dialog(self) -> None:
        if self.response is None:
            self.show_message("info", "Run a search first; then export its report.")
            return
        name = f"search-{self.response.search_id or 'report'}.html"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export search report", str(Path(self.settings.last_folder) / name),
            REPORT_FILTER)
        if path and replace_ok(self, path, report_path(path, chosen)):
            self.export_report(report_path(path, chosen))

    def export_report(self, path: Path) -> None:
        resp = self.response
        ident = self.identity()
        ratings = dict(self.model.ratings)
        query, box = self._searched_with
        if self._logged is not None:    # reopened: the searcher, time and page as logged
            # (the ratings on screen are the window's examiner's own: service.reopen)
            meta = ReportMeta.from_record(self._logged).with_ratings_of(ident.examiner,
                                                                        bool(ratings))
            query_page = (self._logged.get("query_file") or self._logged.get("query_path"),
                          self._logged.get("query_page") or 0)       # (where it lies now)
        else:
            meta = ReportMeta.from_response(resp, examiner=ident.examiner,
                                            study=ident.study or None,
                                            session=ident.session or None)
            meta.query_box = box
            query_page = (query.path, query.page_index) if query is not None else (None, 0)
        if self.model.grouped and not meta.per_patent and \
                self.model.patents() < len(resp.results):
            meta.shown_grouped = self.model.patents()
        self._set_busy(True, "Writing the report\u2026", job="report")

        def done(written):
            target, unprintable = written
            self._set_busy(False, job="report")
            if unprintable:
                some = unprintable[:12] + ("\u2026" if len(unprintable) > 12 else "")
                self.show_message(
                    "warning", f"Report saved to {target}, but no font on this computer "
                    f"draws {len(unprintable)} of its characters ({some}): the PDF shows them "
                    "as empty boxes. Save it as .html to keep them, or install a font that "
                    "has them.")
                return
            self.show_message("info", f"Report saved to {target}", timeout_ms=8000)

        def failed(exc):
            self._set_busy(False, job="report")
            self.show_message("error", f"The report was not saved: {describe_error(exc)}")

        def progress(drawn, total, _note):
            self._set_busy(True, f"Writing the report\u2026 {drawn} of {total} pictures",
                           job="report")

        self.service.export_report(path, meta, resp.results, ratings, self.settings.blind,
                                   query_page, on_done=done, on_error=failed,
                                   on_progress=progress)

    def export_ratings_dialog(self, parent=None, notify=None) -> None:
        """Ask where to save the session's ratings; ``parent`` and ``notify`` let a dialog
        that asked for the export (Study session) own the file dialog and show the outcome,
        which the window's banner behind it would hide."""
        # (a session "week 1/2" made the file dialog open another folder, file "2.csv")
        name = "ratings-" + re.sub(r'[\\/:*?"<>|]+', "-", self.settings.session) + ".csv"
        path, kind = QFileDialog.getSaveFileName(
            parent or self, "Export ratings", str(Path(self.settings.last_folder) / name),
            f"{CURRENT_RATINGS};;{RATING_EVENTS}")
        # (a name typed without .csv gets it, as a report gets its format's)
        final = Path(path if Path(path).suffix.lower() == ".csv" else path + ".csv")
        if path and replace_ok(parent or self, path, final):
            self.export_ratings(final, notify, events=kind == RATING_EVENTS)

    def export_ratings(self, path: Path, notify=None, *, events: bool = False) -> None:
        """Write the session's current ratings, or with ``events`` every rating it made, set,
        changed or cleared, in order."""
        notify = notify or self.show_message
        self._set_busy(True, "Exporting the ratings\u2026", job="ratings")

        def done(n):
            self._set_busy(False, job="ratings")
            notify("info", f"{counted(n, 'rating event' if events else 'rating')} of session "
                   f"{self.settings.session} in study {self.settings.study or '(none)'} "
                   f"(every examiner) saved to {path}", timeout_ms=8000)

        def failed(exc):
            self._set_busy(False, job="ratings")
            notify("error", f"Ratings not exported: {describe_error(exc)}")

        self.service.export_ratings(path, self.identity(), events=events, on_done=done,
                                    on_error=failed)

    # -- dialogs ----------------------------------------------------------------------------
    def show_library_dialog(self, rebuild: bool = False) -> None:
        from .library_dialog import LibraryDialog

        if self._library_dialog is None:
            self._library_dialog = LibraryDialog(self.service, self.settings, self)
            self._library_dialog.openOtherRequested.connect(self.open_library_dialog)
            self._library_dialog.ownLibraryRequested.connect(self._add_to_own_library)
            self._library_dialog.background.connect(self._library_run_shown)
            self._library_dialog.notice.connect(self._show_notice)
        self._library_dialog.refresh()
        self._library_dialog.show()
        self._library_dialog.raise_()
        if rebuild:
            self._library_dialog.ask_rebuild()

    def _library_run_shown(self, text: str) -> None:
        """An add or rebuild going on with the dialog closed: its progress in the status bar
        (and "no library here yet" is no longer what to tell)."""
        self._set_busy(bool(text), text, job="library")
        if text and self.banner.isVisible() and self._banner_kind == "missing":
            self.banner.hide()

    def locate_model(self) -> None:
        """Ask where the model checkpoint of a library that did not open has moved to."""
        moved = self.service.moved
        if moved is None or self.service.path is None:
            return
        gone = Path(moved.missing)
        start = str(next((p for p in gone.parents if p.is_dir()), Path.home()))
        if moved.ref.startswith("open_clip:"):
            place, _ = QFileDialog.getOpenFileName(
                self, f"Where is {gone.name} now?", start,
                "open_clip weights (*.bin *.pt *.pth *.safetensors);;All files (*)")
        else:
            place = QFileDialog.getExistingDirectory(
                self, f"Where is the model folder {gone.name} now?", start)
        if place:
            self.open_library(self.service.path, model_at=moved.moved_to(place))

    def _add_to_own_library(self, sources: list) -> None:
        """Drawings meant for the examiner's own library, not the demo open now: open that
        (made by this first add when it does not exist yet) and add them there."""
        from core.library import default_library_path

        self.open_library(default_library_path())
        dialog = self._library_dialog
        dialog.pending = list(sources)
        dialog.refresh()
        dialog.start_ingest(list(sources), ask_demo=False)

    def open_library_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a library folder", str(self.service.path or Path.home()))
        if folder:
            self.open_library(Path(folder))

    def show_session_dialog(self) -> None:
        from .session_dialog import SessionDialog

        dialog = SessionDialog(self.settings, self)
        dialog.exportRequested.connect(
            lambda: self.export_ratings_dialog(dialog, self.notify_in(dialog)))
        dialog.scoreRequested.connect(lambda: self.score_by_ratings(dialog))
        dialog.scoreCancelled.connect(lambda: self._scoring and self._scoring.cancel())
        if self._scoring is not None:       # (started from a dialog closed since: this one
            dialog.set_scoring(True)        # cancels it and is told the verdict)
            self._score_dialog = dialog

        def summary(examiner: str, study: str, session: str) -> None:
            whose = (examiner, study, session)
            self.service.session_summary(
                Identity(examiner, study, session),
                on_done=lambda s: shiboken6.isValid(dialog) and dialog.set_summary(s, whose),
                on_error=lambda exc: shiboken6.isValid(dialog)
                and dialog.summary.setText(describe_error(exc)))
        dialog.summaryRequested.connect(summary)
        summary(*dialog.whose())
        examiner = self.settings.examiner
        accepted = dialog.exec()
        dialog.deleteLater()                # one per opening; an export still running reports
        if accepted:                        # on the banner (notify_in)
            self.acts.blind.setChecked(self.settings.blind)
            self._say_reopened(again=True, shown_or_not=True)   # "this session" changed
            self.refresh_summary()
            self.refresh_history()
            if self.settings.examiner != examiner:
                self._reload_ratings()

    def score_by_ratings(self, dialog=None) -> None:
        """Score the library's model by this session's ratings (core.judgments), with
        progress; the verdict shows in ``dialog`` while it is open, else on the banner."""
        if self._scoring is not None:
            return
        self._score_dialog = dialog

        def alive() -> bool:
            return self._score_dialog is not None and shiboken6.isValid(self._score_dialog)

        def progress(done: int, total: int, note: str) -> None:
            self._set_busy(True, f"Scoring the model by the ratings: {done} of {total} "
                                 "searches\u2026", job="score")

        def finish(level: str, text: str):
            self._scoring = None
            self._set_busy(False, job="score")
            if alive():
                self._score_dialog.set_scoring(False)
                self.notify_in(self._score_dialog)(level, text)
            else:
                self.show_message(level, text)
            self._score_dialog = None

        def done(scores):
            finish("info" if scores.searches else "warning",
                   scores.text(blind=self.settings.blind))

        def failed(exc):
            finish("error", describe_error(exc))

        if alive():
            dialog.set_scoring(True)
        self._set_busy(True, "Scoring the model by the ratings\u2026", job="score")
        self._scoring = self.service.score_by_ratings(
            self.identity(), on_progress=progress, on_done=done, on_error=failed)

    def notify_in(self, dialog):
        """A ``show_message`` for work a dialog started: shown in the dialog while it is open
        (it covers the banner), on the banner once it is closed."""
        def notify(level: str, text: str, timeout_ms: int = 0) -> None:
            if shiboken6.isValid(dialog) and dialog.isVisible():
                dialog.show_export_outcome(level, text)
            else:
                self.show_message(level, text, timeout_ms=timeout_ms)
        return notify

    def _reload_ratings(self) -> None:
        """Show the current examiner's own ratings of the search on screen."""
        resp = self.response
        if resp is None or resp.search_id is None:
            return
        asked = self._rating_seq

        def show(ratings):
            if self.response is resp:
                # a rating given here after they were asked for is newer than what is read
                ratings = dict(ratings)
                for figure_id, seq in self._rated_at.items():
                    if seq > asked:
                        ratings.pop(figure_id, None)
                        if (mine := self.model.ratings.get(figure_id)) is not None:
                            ratings[figure_id] = mine
                self.model.set_ratings(ratings)
                if self.stack.currentWidget() is self.detail:
                    self.detail.set_rating(self.results.view.currentIndex().data(RatingRole))
        self.service.search_ratings(resp.search_id, self.identity().examiner, on_done=show)

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.menuBar(), self).exec()

    # -- misc -------------------------------------------------------------------------------
    def set_blind_setting(self, on: bool) -> None:
        self.settings.blind = on
        self.set_blind(on)

    def set_blind(self, on: bool) -> None:
        self._keep_current(lambda: self.results.set_blind(on))
        self.detail.set_blind(on)
        self.model_label.setVisible(not on)
        self.results.view.viewport().update()
        if self._library_dialog is not None and self._library_dialog.isVisible():
            self._library_dialog.refresh()

    def show_message(self, level: str, text: str, action: str | None = None,
                     callback=None, timeout_ms: int = 0) -> None:
        self.banner.show_message(level, text, action, callback, timeout_ms)
        self._error_while_opening = level == "error" and "library" in self._busy_jobs
        self._banner_kind = None
        self._banner_in_rebuild = self.service.maintenance
        self._banner_sticky = False

    def _show_notice(self, level: str, text: str) -> None:
        """How library work that ran with its dialog closed ended: kept on the banner until
        dismissed or replaced (the library reopening or a search must not hide it)."""
        self.show_message(level, text)
        self._banner_sticky = True

    def _set_busy(self, on: bool, text: str = "", job: str = "task") -> None:
        """Show the busy bar and ``text`` while any job (opening the library, a task) runs."""
        if on:
            self._busy_jobs[job] = text
        else:
            self._busy_jobs.pop(job, None)
        self.busy.setVisible(bool(self._busy_jobs))
        if self._busy_jobs:
            self.statusBar().showMessage(list(self._busy_jobs.values())[-1])
        else:
            self.statusBar().clearMessage()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_status(self.statusBar().currentMessage())

    def _fit_status(self, message: str) -> None:
        """The status bar's message (the current result, what is running) is shown whole:
        when the bar is too short for it and the library, model and session labels, these
        give way in proportion, elided (their tooltips have it all)."""
        bar = self.statusBar()
        labels = [w for w in (self.library_label, self.model_label, self.session_label)
                  if not w.isHidden()]
        need = [w.sizeHint().width() for w in labels]
        room = (bar.width() - bar.fontMetrics().horizontalAdvance(message) - STATUS_SLACK
                - 8 * len(labels) - (self.busy.width() if not self.busy.isHidden() else 0))
        share = max(0, room) / max(1, sum(need))
        for w, n in zip(labels, need):
            w.setMaximumWidth(QWIDGETSIZE_MAX if share >= 1 else max(MIN_WIDTH, int(n * share)))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.model.set_device_pixel_ratio(self.devicePixelRatioF())

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.DevicePixelRatioChange:
            self.model.set_device_pixel_ratio(self.devicePixelRatioF())
        elif event.type() == event.Type.ActivationChange and self.isActiveWindow():
            self._reload_ratings()      # (rated meanwhile in another window of this examiner)

    def _shut_down_service(self) -> None:
        """Stop background work; a cancelled add or rebuild first puts the library back
        (seconds, at most a minute): a busy box says so, kept painted meanwhile."""
        if not self.service.maintaining():
            self.service.shutdown()
            return
        from PySide6.QtCore import QCoreApplication, QEventLoop
        from PySide6.QtWidgets import QProgressDialog

        self.quit_progress = QProgressDialog(
            "Quitting: waiting for the cancelled run to put the library back as it "
            "was\u2026", None, 0, 0, self)
        self.quit_progress.setWindowTitle("Quit")
        self.quit_progress.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.quit_progress.setMinimumDuration(0)
        self.quit_progress.show()
        self.service.shutdown(tick=lambda: QCoreApplication.processEvents(
            QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents))
        self.quit_progress.close()

    def interrupt(self) -> None:
        """Ctrl+C in the terminal that started the app: cancel what runs (a cancelled add or
        rebuild puts the library back as it was; a demo build stops) and quit, unasked."""
        self._interrupted = True
        if self._demo_task is not None:
            self._demo_task.cancel()
        if self.confirm_box is not None:    # asked already: the answer is quit
            self.confirm_box.done(0)
        self.close()

    def _may_quit(self) -> bool:
        """Quitting while drawings are added or the index is rebuilt (the library dialog may
        be closed) cancels that run and loses its work: ask first, keeping it by default."""
        running = self._library_dialog.running_text() if self._library_dialog else None
        if running is None:
            return True
        if self._interrupted:
            self._library_dialog.cancel()
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, "Quit",
                          f"{running}. Quit and lose it?", parent=self)
        box.setInformativeText("Quitting cancels it: the library stays as it was before it "
                               "started. Keep running lets it finish (Manage library, Ctrl+L, "
                               "shows its progress).")
        quit_button = box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.confirm_box = box
        box.exec()
        self.confirm_box = None
        if box.clickedButton() is not quit_button:
            return False
        self._library_dialog.cancel()       # rolled back before the library is closed
        return True

    def closeEvent(self, event) -> None:
        if self._quitting or not self._may_quit():
            event.ignore()
            return
        self._quitting = True
        self.settings.save_geometry(self.saveGeometry(), self.saveState())
        self._shut_down_service()
        super().closeEvent(event)
        if self._gc is not None:
            self._gc.release()
            self._gc = None
