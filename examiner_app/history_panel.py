"""The audit trail as a dock: every logged search (newest first); double-click or Enter
reopens one exactly as it was (query, region, cutoff, filters, ranked results, ratings); the
context menu also runs one again to check that today's library gives the same ranking."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from core.audit import searched_region
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDockWidget, QHeaderView,
                               QMainWindow, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

COLUMNS = ["#", "When", "Query", "Before", "Hits", "Locarno", "Examiner", "Session"]
QUERY = 2                   # the sheet's file name and the title text: takes the free width
WHO = (6, 7)                # examiner and session: shown only with every session listed
OPTIONAL = {5: "locarno"}   # shown when some search used it
DOCK_WIDTH = 440
QUERY_WIDTH = 160           # the query column's share when the dock widens for more columns
QUERY_MIN = 80              # in a dock squeezed by a small window (the tooltip has it all)
PARTS_ROLE = Qt.ItemDataRole.UserRole + 1   # (file name, page/part/text) of the query cell


class HistoryPanel(QDockWidget):
    reopenRequested = Signal(int)
    replayRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__("Search history", parent)
        self.setObjectName("history")
        self.only_session = QCheckBox("Only mine, this session")
        self.only_session.setToolTip("The searches of the examiner, study and session in use "
                                     "(Study session dialog); untick to list everyone's")
        self.only_session.setChecked(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)   # (a long title text)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(24)
        for j in range(len(COLUMNS)):
            header.setSectionResizeMode(j, QHeaderView.ResizeMode.Interactive if j == QUERY
                                        else QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Double-click or press Enter to reopen a search; right-click "
                              "to check that it still gives the same ranking")
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.cellDoubleClicked.connect(lambda row, _: self._reopen(row))
        self.table.itemActivated.connect(lambda item: self._reopen(item.row()))
        self.only_session.toggled.connect(lambda _: (self._fill(), self._widen()))
        self.table.viewport().installEventFilter(self)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.only_session)
        lay.addWidget(self.table)
        self.setWidget(body)
        self._records: list[dict] = []
        self.session: str | None = None
        self.examiner: str | None = None
        self.study: str | None = None

    def set_records(self, records: list[dict], session: str | None,
                    examiner: str | None = None, study: str | None = None) -> None:
        """Show ``records``; "Only mine, this session" keeps those of ``examiner`` in
        ``study`` (none: outside any) and ``session``."""
        self._records = records
        self.session, self.examiner, self.study = session, examiner, study
        self._fill()

    def _mine(self, r: dict) -> bool:
        return (r.get("session") == self.session
                and (r.get("examiner") or "") == (self.examiner or "").strip()
                and (r.get("study") or "") == (self.study or "").strip())

    def _fill(self) -> None:
        rows = [r for r in self._records if not self.only_session.isChecked() or self._mine(r)]
        for j in WHO:
            self.table.setColumnHidden(j, self.only_session.isChecked())
        for j, key in OPTIONAL.items():
            self.table.setColumnHidden(j, not any(r.get(key) for r in rows))
        self.table.setRowCount(len(rows))
        today = date.today().isoformat()
        paged = paged_files(self._records)
        for i, r in enumerate(rows):
            at = (r.get("at") or "").replace("T", " ")[:19]
            # "14:05" today, "12-03 14:05" this year, else the whole date
            when = at[11:16] if at.startswith(today) else \
                at[5:16] if at.startswith(today[:4]) else at[:16]
            values = [r["id"], when, query_label(r, paged), r.get("before") or "no cutoff",
                      len(r.get("results") or []), r.get("locarno") or "",
                      r.get("examiner") or "", r.get("session") or ""]
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r["id"])
                if j == 1:
                    item.setToolTip(at)
                if j == QUERY:
                    item.setData(PARTS_ROLE, query_parts(r, paged))
                    item.setToolTip("\n".join(filter(None, [r.get("query_path"),
                                                             region_text(r), r.get("text")])))
                self.table.setItem(i, j, item)
        self._fit_query()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._fit_query()
        return False

    def _other_widths(self) -> int:
        header = self.table.horizontalHeader()
        return sum(max(self.table.sizeHintForColumn(j), header.sectionSizeHint(j))
                   for j in range(len(COLUMNS)) if j != QUERY and not self.table.isColumnHidden(j))

    def _fit_query(self) -> None:
        """The query column takes the free width, but never less than ``QUERY_MIN`` (the
        table scrolls sideways instead of eliding every name to "p...g"); the cutoff and the
        number of results stay whole beside it."""
        free = self.table.viewport().width() - self._other_widths()
        self.table.horizontalHeader().resizeSection(QUERY, max(QUERY_MIN, free))
        self._elide_names()

    def _elide_names(self) -> None:
        """Shorten the file names (not the page or part after them) to the query column."""
        fm = self.table.fontMetrics()
        room = self.table.columnWidth(QUERY) - 2 * fm.averageCharWidth() - 4
        for i in range(self.table.rowCount()):
            item = self.table.item(i, QUERY)
            name, rest = item.data(PARTS_ROLE) if item is not None else ("", "")
            if not name:
                continue
            keep = min(fm.horizontalAdvance(rest), room // 2)
            item.setText(fm.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                       max(room - keep, fm.averageCharWidth() * 5)) + rest)
    def _widen(self) -> None:
        """With examiner and session shown, take the room they need (up to half the window)
        rather than squeezing the query to nothing."""
        window = self.parentWidget()
        if self.isFloating() or not isinstance(window, QMainWindow):
            return
        bar = self.table.verticalScrollBar().sizeHint().width()
        need = self._other_widths() + QUERY_WIDTH + bar + 16
        if need > self.width():
            window.resizeDocks([self], [min(need, window.width() // 2)],
                               Qt.Orientation.Horizontal)

    def search_id(self, row: int) -> int | None:
        item = self.table.item(row, 0)
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _reopen(self, row: int) -> None:
        if (sid := self.search_id(row)) is not None:
            self.reopenRequested.emit(sid)

    def _menu(self, pos) -> None:
        sid = self.search_id(self.table.rowAt(pos.y()))
        if sid is None:
            return
        menu = QMenu(self)
        menu.addAction(f"Reopen search #{sid}", lambda: self.reopenRequested.emit(sid))
        menu.addAction("Run again and compare with the log",
                       lambda: self.replayRequested.emit(sid))
        menu.exec(self.table.viewport().mapToGlobal(pos))


def paged_files(records: list[dict]) -> set[str]:
    """The query files searched page by page (another page than the first, or all pages):
    their labels name the page, the first one's too."""
    return {r["query_path"] for r in records if r.get("query_path")
            and r.get("query_page") != 0}


def query_label(record: dict, paged: set[str] = frozenset()) -> str:
    """What a logged search asked with: the sheet's file name, which page ("p.2", "p.all")
    of a file searched page by page, a part of it ("fig.2", "crop"; "part" in older logs; the
    tooltip gives its box), and/or its title text."""
    return "".join(query_parts(record, paged)) or "(no query)"


def query_parts(record: dict, paged: set[str] = frozenset()) -> tuple[str, str]:
    """``query_label`` as (file name, the rest): a narrow column shortens the name, never
    which page or part of it was searched."""
    path = record.get("query_path")
    name, rest = (Path(path).name, "") if path else ("", "")
    if path:
        page = record.get("query_page")
        rest = (" p.all" if page is None else f" p.{page + 1}" if path in paged else "")
        region = searched_region(record)
        if region:
            rest += " " + region.replace("figure ", "fig.")
    if record.get("text"):
        rest += (" + " if name else "") + f"\u201c{record['text']}\u201d"
    return name, rest


def region_text(record: dict) -> str:
    """The searched region of the query page, for the query's tooltip."""
    if not record.get("query_path"):
        return ""
    page = record.get("query_page")
    box = record.get("query_box")
    where = "every page" if page is None else f"page {page + 1}"
    if not box:
        return f"{where}, all figures"
    x0, y0, x1, y1 = box
    region = searched_region(record)
    what = "the part" if region == "part" else "a crop" if region == "crop" else region
    return (f"{where}, {what} x {x0}\u2013{x1}, y {y0}\u2013{y1}"
            + (" (a figure or a crop)" if region == "part" else ""))
