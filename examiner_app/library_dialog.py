"""Library management: what the library holds (counts, grant-date range, model), adding
sources (JSONL manifests, USPTO grant folders, image folders), updating from the registered
sources and rebuilding the index, with progress, ETA, cancel and the skipped files.

Cancelling leaves the library exactly as it was: an ingest run is rolled back, a rebuild
discards the copy it was building aside.
"""
from __future__ import annotations

import html
import os
import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QFrame, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QMessageBox, QProgressBar,
                               QPushButton, QScrollArea, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .elided_label import ElidedLabel
from .plain_text import breakable, plain, tip
from .tasks import describe_error


#: Default size: fits a 1366x768 screen with its task bar and the dialog's title bar.
DEFAULT_SIZE = (760, 680)
#: The skipped-file table keeps room for its heading and this many rows.
SKIPPED_ROWS = 3
#: A library whose model checkpoint moved (``{}``: which), in the window's words.
MOVED_NOTE = ("{}: use \u201cLocate the model\u2026\u201d in the window's notice to say "
              "where it is now; adding, updating and rebuilding need it")


def eta_text(done: int, total: int, elapsed: float) -> str:
    """"12 / 800 pages, 3.1 pages/s, about 4 min left"."""
    if done <= 0 or total <= 0:
        return f"preparing {total} pages\u2026" if total else "scanning sources\u2026"
    rate = done / max(elapsed, 1e-6)
    left = (total - done) / rate if rate else 0
    eta = f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
    return f"{done} / {total} pages, {rate:.1f} pages/s, about {eta} left"


class _Compact:
    """A list or table that prefers its minimum height: the dialog's spare height reaches
    it by stretch, and the scrolled contents are only as tall as they must be (a scroll
    area sizes them by their preferred height)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class _SourceList(_Compact, QListWidget):
    pass


class _SkippedTable(_Compact, QTableWidget):
    pass


class LibraryDialog(QDialog):
    openOtherRequested = Signal()
    ownLibraryRequested = Signal(list)  # sources to add to the user's own library, not the demo
    background = Signal(str)        # closed while a run goes on: its progress ("" once over)
    notice = Signal(str, str)       # level, text: how a run ended while the dialog was closed

    def __init__(self, service, settings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Library")
        self.setModal(False)
        self.resize(*DEFAULT_SIZE)
        self.service = service
        self.settings = settings
        self.task = None
        self._started = 0.0
        self._what = ""
        self._cancelling = False
        self._info: dict | None = None      # the last overview shown
        self._ran = False                   # a run ended here: the table holds its skips
        self._shown_path = None
        self._failed_moved = False          # result_label says the model moved
        self.confirm_box: QMessageBox | None = None
        self._adding: list[str] | None = None    # the sources the run adds (None: update)

        # (a deep network path, a long file name: cut short, never wider than the dialog)
        self.path_label = ElidedLabel(elide=Qt.TextElideMode.ElideMiddle)
        other = self.other_button = QPushButton("Open another library\u2026")
        other.setToolTip("Not while drawings are added or the index is rebuilt: they go into "
                         "this library")
        other.clicked.connect(self.openOtherRequested.emit)
        self.summary = QFormLayout()
        summary_box = QGroupBox("Contents")
        summary_lay = QVBoxLayout(summary_box)
        summary_lay.addLayout(self.summary)

        self.sources = _SourceList()
        self.sources.setMinimumHeight(70)
        self.sources.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.pending: list[str] = []
        self._registered: list[str] = []
        self._known: set[str] = set()      # the registered sources, as compared (_same)
        add_manifest = QPushButton("Add file\u2026")
        add_manifest.setToolTip("A JSONL manifest (one row per page with image path and "
                                "patent metadata), a weekly USPTO grant archive (.tar, .zip: "
                                "unpacked into the library) or a grant XML file")
        add_folder = QPushButton("Add folder\u2026")
        add_folder.setToolTip("A USPTO grant folder (XML + TIFF) or a folder of images")
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Remove the selected sources that are not yet added")
        self.allow_absolute = QCheckBox("Manifests may list files outside their own folder")
        self.allow_absolute.setToolTip("A manifest added with this checked keeps the leave: "
                                       "Update from sources reads it the same way")
        self.ingest_button = QPushButton("Add to library")
        self.ingest_button.setObjectName("primary")
        self.update_button = QPushButton("Update from sources")
        self.update_button.setToolTip("Ingest the registered sources again: only new or "
                                      "changed files are added")
        self.rebuild_button = QPushButton("Rebuild index\u2026")
        self.rebuild_button.setToolTip("Re-embed every drawing with the current model; search "
                                       "history and ratings are kept")
        add_manifest.clicked.connect(self._add_manifest)
        add_folder.clicked.connect(self._add_folder)
        self.remove.clicked.connect(self._remove_pending)
        self.ingest_button.clicked.connect(lambda: self.start_ingest(list(self.pending)))
        self.update_button.clicked.connect(lambda: self.start_ingest(None))
        self.rebuild_button.clicked.connect(self.ask_rebuild)
        src_buttons = QHBoxLayout()
        for b in (add_manifest, add_folder, self.remove):
            src_buttons.addWidget(b)
        src_buttons.addStretch(1)
        # (beside the contents it re-embeds: three buttons in one row were wider than a
        # 800-px screen in an 18-pt font)
        summary_lay.addWidget(self.rebuild_button, 0, Qt.AlignmentFlag.AlignRight)
        run_buttons = QHBoxLayout()
        run_buttons.addStretch(1)
        run_buttons.addWidget(self.update_button)
        run_buttons.addWidget(self.ingest_button)
        src_box = QGroupBox("Sources")
        src_lay = QVBoxLayout(src_box)
        src_lay.addWidget(self.sources)
        src_lay.addLayout(src_buttons)
        src_lay.addWidget(self.allow_absolute)
        src_lay.addLayout(run_buttons)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress_label = ElidedLabel("", elide=Qt.TextElideMode.ElideMiddle)
        self.progress_label.setObjectName("muted")
        self.progress_label.hide()          # shown while a run goes on
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel_button)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.drop_missing_button = QPushButton("Rebuild without the missing pages")
        self.drop_missing_button.setToolTip("Their figures leave the index; searches and "
                                            "ratings are kept")
        self.drop_missing_button.clicked.connect(lambda: self.start_rebuild(drop_missing=True))
        self.drop_missing_button.hide()
        self.skipped = _SkippedTable(0, 2)
        self.skipped.setHorizontalHeaderLabels(["Skipped file", "Reason"])
        self.skipped.verticalHeader().setVisible(False)
        self.skipped.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.skipped.horizontalHeader().setStretchLastSection(True)
        self.skipped.setColumnWidth(0, 300)
        # (a long path keeps its file name, a long reason its remedy, which come last)
        self.skipped.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.skipped.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.skipped.setMinimumHeight(self.skipped.horizontalHeader().sizeHint().height()
                                      + SKIPPED_ROWS * self.skipped.verticalHeader()
                                      .defaultSectionSize() + 2 * self.skipped.frameWidth())
        self.skipped.hide()                 # shown when a run skipped files
        run_box = QGroupBox("Progress")
        run_lay = QVBoxLayout(run_box)
        run_lay.addLayout(prog)
        run_lay.addWidget(self.progress_label)
        run_lay.addWidget(self.result_label)
        run_lay.addWidget(self.drop_missing_button, 0, Qt.AlignmentFlag.AlignLeft)
        run_lay.addWidget(self.skipped, 1)
        run_lay.addStretch(0)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.path_label, 1)
        top.addWidget(other)
        body = QWidget()
        body_lay = QVBoxLayout(body)
        body_lay.setContentsMargins(0, 0, 0, 0)
        body_lay.addLayout(top)
        body_lay.addWidget(summary_box)
        body_lay.addWidget(src_box, 1)
        body_lay.addWidget(run_box)
        self._body_lay, self._run_box = body_lay, run_box
        # on a small screen (or a long message and many skipped files) the contents scroll
        # rather than squeezing a wrapped message or the table to a sliver
        self.body = QScrollArea()
        self.body.setWidget(body)
        self.body.setWidgetResizable(True)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        lay = QVBoxLayout(self)
        lay.addWidget(self.body, 1)
        lay.addWidget(buttons)
        self._set_running(False)

    # -- contents ---------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.service.path != self._shown_path:       # another library: none of its runs
            self._shown_path, self._ran = self.service.path, False
            self.result_label.clear()
            self._failed_moved = False
            self._fill_skipped([])
        self.path_label.setText(f"Library: {self.service.path or '(none)'}")
        self.service.overview(on_done=self._show_overview,
                              on_error=lambda exc: self._show_overview(None, exc))

    def _show_overview(self, info: dict | None, error: BaseException | None = None) -> None:
        self._info = info
        while self.summary.rowCount():
            self.summary.removeRow(0)
        self.rebuild_button.setEnabled(info is not None and self.task is None
                                       and self._may_run())
        if self._failed_moved and not self._model_moved():  # located since: not so now
            self._failed_moved = False
            self.result_label.clear()
        if info is None:
            self.summary.addRow("Status", self._note(
                f"The library could not be read: {describe_error(error)}" if error else
                "No library here yet: add sources to create it."))
            self._fill_sources([])
            return
        if not self._writable():
            self.summary.addRow("Access", self._note(
                f"Read-only for you: adding, updating and rebuilding need write access to "
                f"{info['library']}; searching works.", "readOnly"))
        problem = self.service.problem
        if problem is not None and problem[1] == "mismatch":
            self.summary.addRow("Status", self._note(
                f"{problem[0]}: Rebuild index below.", "modelMismatch"))
        elif self._model_moved() and self.service.moved is not None:
            from .service import moved_fact

            self.summary.addRow("Status", self._note(
                MOVED_NOTE.format(moved_fact(self.service.moved.missing)), "modelMoved"))
        model = info.get("model") or {}
        first, last = info["grant_date_range"]
        for label, value in (
                ("Model", "(hidden in blind mode)" if self.settings.blind else
                 f"{model['id']}  [{model.get('ref') or ''}]" if model.get("id") else
                 "(none yet)"),
                ("Patents", f"{info['patents']}  (undated: {info['undated_patents']})"),
                ("Pages / figures", f"{info['pages']} / {info['figures']} in "
                                    f"{info['index_segments']} index segment(s)"),
                ("Granted", f"{first or '-'} \u2026 {last or '-'}"),
                ("Searches / ratings", f"{info['searches']} / {info['ratings']}")):
            if label == "Model":        # (a long checkpoint path: cut in the middle)
                value_label = ElidedLabel(value, elide=Qt.TextElideMode.ElideMiddle)
            else:
                value_label = plain(QLabel(value))
            value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.summary.addRow(label, value_label)
        older = info.get("pages_older_finder")
        if older:
            note = QLabel(f"{older} page(s) were cut into figures by an older figure finder; "
                          "Rebuild index cuts them again (searches and ratings are kept).")
            note.setWordWrap(True)
            note.setObjectName("olderFinder")
            self.summary.addRow("Figures", note)
        gone = info.get("missing_page_files") or []
        if gone:
            note = plain(QLabel(f"{len(gone)} page file(s) are no longer where they were "
                                f"added (e.g. {gone[0]}): their figures are still searched, "
                                "without thumbnails. Put them back, or rebuild without them."))
            note.setWordWrap(True)
            note.setToolTip(tip("\n".join(gone[:30]) + ("\n\u2026" if len(gone) > 30 else "")))
            note.setObjectName("missingPages")
            self.summary.addRow("Missing", note)
        self.drop_missing_button.setVisible(bool(gone) and self.task is None
                                            and self._writable())
        self._fill_sources([s["path"] for s in info.get("sources", [])])
        if self.skipped.rowCount() == 0 and not self._ran:
            self._fill_skipped([(e["item"], e["reason"]) for e in info.get("recent_errors", [])],
                               earlier=True)

    @staticmethod
    def _note(text: str, name: str = "") -> QLabel:
        label = plain(QLabel(text))     # (paths and errors, as written)
        label.setWordWrap(True)
        label.setObjectName(name)
        return label

    def _fill_sources(self, registered: list[str]) -> None:
        """The library's sources (✓) and those chosen to add (+); one being added is
        registered as the run starts, and is listed once, as being added."""
        self.sources.clear()
        self._known = {_same(p) for p in registered}
        adding = {_same(p) for p in self.pending} if self.task is not None else set()
        for path in registered:
            self.sources.addItem(f"\u2713 {path}" + ("  (adding\u2026)" if _same(path) in adding
                                                     else ""))
        for path in self.pending:
            if _same(path) not in self._known:
                self.sources.addItem(f"+ {path}  (to add)")
        self.ingest_button.setEnabled(bool(self.pending) and self.task is None
                                      and self._may_run())
        self.update_button.setEnabled(bool(registered) and self.task is None
                                      and self._may_run())
        self._registered = registered

    def _writable(self) -> bool:
        """Whether this user may change the library shown (its runs would be refused)."""
        return not (self._info or {}).get("read_only")

    def _model_moved(self) -> bool:
        problem = self.service.problem
        return problem is not None and problem[1] == "moved"

    def _may_run(self) -> bool:
        """Whether adding, updating and rebuilding can run here: each needs write access and
        the library's model (one that moved is located first, from the window's banner)."""
        return self._writable() and not self._model_moved()

    def _fill_skipped(self, errors: list[tuple[str, str]], earlier: bool = False) -> None:
        """The files a run skipped, or (``earlier``) those earlier runs skipped, said so."""
        self.skipped.setHorizontalHeaderLabels(
            ["Skipped by earlier runs" if earlier else "Skipped file", "Reason"])
        self.skipped.setRowCount(len(errors))
        self.skipped.setVisible(bool(errors))
        self._body_lay.setStretchFactor(self._run_box, 2 if errors else 0)
        for i, (item, reason) in enumerate(errors):
            self.skipped.setItem(i, 0, QTableWidgetItem(item))
            # (its path is in the first column: the room goes to what is wrong and the fix)
            self.skipped.setItem(i, 1, QTableWidgetItem(reason.removeprefix(f"{item}: ")))
            self.skipped.item(i, 0).setToolTip(tip(item))
            self.skipped.item(i, 1).setToolTip(tip(reason))

    def add_pending(self, path: str) -> None:
        if _same(path) in self._known:
            self.result_label.setTextFormat(Qt.TextFormat.PlainText)
            self.result_label.setText(f"{path} is already a source of this library: Update "
                                      "from sources reads it again for new drawings.")
            return
        if path not in self.pending:
            self.pending.append(path)
        self._fill_sources(self._registered)

    def _add_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a manifest or a grant archive", self.settings.last_folder,
            "Manifests and grant archives (*.jsonl *.json *.tar *.tgz *.tar.gz *.zip *.xml);;"
            "All files (*)")
        if path:
            self.add_pending(path)

    def _add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of drawings",
                                                self.settings.last_folder)
        if path:
            self.add_pending(path)

    def _remove_pending(self) -> None:
        names = {i.text() for i in self.sources.selectedItems()}
        self.pending = [p for p in self.pending if f"+ {p}  (to add)" not in names]
        self._fill_sources(self._registered)
        if any(n.startswith("\u2713") for n in names):
            self.result_label.setTextFormat(Qt.TextFormat.PlainText)
            self.result_label.setText("Sources already added stay: their drawings are in the "
                                      "index. Remove only takes back sources still to add.")

    # -- running ----------------------------------------------------------------------------
    def start_ingest(self, sources: list[str] | None, ask_demo: bool = True) -> None:
        """Add ``sources`` (None: update from the registered sources); the demo library asks
        first whether they go to the examiner's own library (``ask_demo``)."""
        if self.task is not None or self.service.path is None:
            return
        if sources and ask_demo and (self._info or {}).get("demo") and \
                not self._demo_mixed(sources):
            return
        self._begin("Adding drawings\u2026")
        self._adding = sources
        self.task = self.service.ingest(sources, self.allow_absolute.isChecked(),
                                        on_progress=self._progress, on_done=self._ingest_done,
                                        on_error=self._failed)

    def _demo_mixed(self, sources: list[str]) -> bool:
        """Adding to the demo library: ask whether the drawings go to the examiner's own
        library (the usual wish) or really among the synthetic patents. True: the demo."""
        box = QMessageBox(QMessageBox.Icon.Question, "Add drawings",
                          "This is the demo library of synthetic patents.", parent=self)
        box.setInformativeText(
            "Drawings added here are mixed with its synthetic patents (SYN-\u2026). Your own "
            "library keeps real patents apart; it is made when drawings are first added.")
        own = box.addButton("Add to my own library", QMessageBox.ButtonRole.AcceptRole)
        demo = box.addButton("Add to the demo", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(own)
        self.confirm_box = box              # (tests answer it)
        box.exec()
        self.confirm_box = None
        if box.clickedButton() is own:
            self.ownLibraryRequested.emit(list(sources))
        return box.clickedButton() is demo

    def ask_rebuild(self) -> None:
        """Rebuild index\u2026: say what a rebuild costs and start it once confirmed."""
        if self.task is not None or self.service.path is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Rebuild the index",
                          "Rebuild the index with the current model?", parent=self)
        pages = (self._info or {}).get("pages")
        box.setInformativeText(
            f"Every drawing{f' ({pages} pages)' if pages else ''} is read and embedded "
            "again: minutes for a small library, hours for a large one. Searching and rating "
            "pause until it finishes. Search history and ratings are kept; Cancel leaves "
            "the library as it was.")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        start = box.addButton("Rebuild", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(start)
        self.confirm_box = box              # (tests answer it)
        box.exec()
        self.confirm_box = None
        if box.clickedButton() is start:
            self.start_rebuild()

    def start_rebuild(self, drop_missing: bool = False) -> None:
        if self.task is not None or self.service.path is None:
            return
        self._begin("Rebuilding the index\u2026 searching resumes when it finishes")
        self.task = self.service.rebuild(on_progress=self._progress, on_done=self._finish,
                                         on_error=self._failed, drop_missing=drop_missing)

    def running_text(self) -> str | None:
        """"Adding drawings: 143 of 804 pages done" while a run goes on (not once it is
        being cancelled: its work is lost already), else None."""
        if self.task is None or self._cancelling:
            return None
        total = self.progress.maximum()
        return (f"{self._what}: {self.progress.value()} of {total} pages done" if total > 1
                else f"{self._what}: just started")

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self._cancelling = True
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling\u2026 the library is being restored")

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        if self.task is not None:
            self.background.emit(f"{self._what}\u2026 (Manage library, Ctrl+L: progress and "
                                 "Cancel)")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_width()
        self.background.emit("")

    def _fit_width(self) -> None:
        """Wide enough for the contents' least width (a large font), as far as the screen
        allows; beyond that the contents scroll sideways rather than being cut."""
        bar = self.body.verticalScrollBar().sizeHint().width()
        margins = self.layout().contentsMargins()
        wanted = (self.body.widget().minimumSizeHint().width() + bar + 2
                  + margins.left() + margins.right())
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            wanted = min(wanted, screen.width())
        if self.width() < wanted:
            self.resize(wanted, self.height())

    def _ended(self, level: str, text: str) -> None:
        """Where the end of a run is told when the dialog was closed meanwhile."""
        if not self.isVisible():
            self.background.emit("")
            self.notice.emit(level, f"{self._what}: {text}")

    def _begin(self, text: str) -> None:
        self._what = text.split("\u2026")[0]
        self._cancelling = False
        self._started = time.monotonic()
        self.progress.setRange(0, 0)
        self.progress_label.setText(text)
        self.progress_label.show()
        self.result_label.clear()
        self._failed_moved = False
        self.drop_missing_button.hide()
        self._fill_skipped([])
        self._set_running(True)

    def _set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.progress.setTextVisible(running)
        for b in (self.ingest_button, self.update_button, self.rebuild_button,
                  self.other_button):
            b.setEnabled(not running)
        if not running:
            self.ingest_button.setEnabled(bool(self.pending) and self._may_run())
            self.update_button.setEnabled(bool(self._registered) and self._may_run())
            self.rebuild_button.setEnabled(self._info is not None and self._may_run())
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    def _progress(self, done: int, total: int, note: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if self._cancelling:            # (updates queued before the cancel took effect)
            return
        eta = eta_text(done, total, time.monotonic() - self._started)
        self.progress_label.setText(f"{eta}  \u2014  {note}")
        if not self.isVisible():
            self.background.emit(f"{self._what}: {eta} (Manage library, Ctrl+L: Cancel)")

    def _finish(self, report) -> None:
        self.task = None
        self._ran = True                # the table holds this run's skips, not older runs'
        self._set_running(False)
        self.progress_label.setText("")
        self.progress_label.hide()
        self._fill_skipped(list(report.errors))
        if report.cancelled:
            text = "Cancelled: the library is exactly as it was."
        else:       # the summary line, corrections and warnings (skipped files: the table)
            lines = [ln for ln in report.summary().splitlines()
                     if not ln.startswith("  skipped") and not ln.startswith("  ... and")]
            text = lines[0].replace("done: ", "Done: ", 1) + "".join(
                "\n\u2022 " + ln.strip().removeprefix("warning: ") for ln in lines[1:])
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setText(breakable(text))
        # (the summary line counts the skipped already)
        self._ended("info" if not (report.errors or report.warnings) else "warning",
                    text.splitlines()[0] + (f" ({len(report.warnings)} warning(s): Manage "
                                            "library lists them)" if report.warnings else
                                            " (Manage library lists them)" if report.errors
                                            else ""))
        self.refresh()

    def _ingest_done(self, report) -> None:
        if not report.cancelled:        # (an update adds none of them: they wait on)
            self.pending = [p for p in self.pending if p not in (self._adding or [])]
        self._finish(report)

    def _failed(self, exc) -> None:
        self.task = None
        self._set_running(False)
        self.progress_label.setText("")
        self.progress_label.hide()
        from core.index import ModelMismatchError
        from core.library import MissingFilesError, ModelMovedError

        from .service import mismatch_text, moved_fact

        why = describe_error(exc)
        if isinstance(exc, MissingFilesError):  # the CLI's --drop-missing: here a button
            why = exc.what + "; or rebuild without them (below)."
            self.drop_missing_button.show()
        elif isinstance(exc, ModelMismatchError):   # (not the command line's advice)
            why = mismatch_text(exc) + ": Rebuild index below, then add."
        elif isinstance(exc, ModelMovedError) or getattr(exc, "kind", None) == "moved":
            moved = exc if isinstance(exc, ModelMovedError) else self.service.moved
            why = MOVED_NOTE.format(moved_fact(moved.missing) if moved is not None
                                    else str(exc))
            self._failed_moved = True
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setText(f"<span style='color:#8a1f1f'>Failed: "
                                  f"{html.escape(breakable(why))}</span>")
        self._ended("error", f"failed: {why}")
        self.refresh()


def _same(path: str) -> str:
    """A source path as compared with another (a link, "..", a trailing slash)."""
    return os.path.realpath(path)
