"""The audit trail as a dock: every logged search (newest first); double-click or Enter
reopens one exactly as it was (query, region, cutoff, filters, ranked results, ratings); the
context menu also runs one again to check that today's library gives the same ranking."""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from core.audit import searched_region
from core import normal_name
from core.dates import local_time
from core.reports import counted
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDockWidget, QHeaderView, QLabel,
                               QMainWindow, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from .plain_text import tip

COLUMNS = ["#", "When", "Query", "Before", "Hits", "Class", "Examiner", "Session"]
WHEN = 1                    # gives way to the query in a narrow dock (the "#" tooltip has it)
QUERY = 2                   # the sheet's folder and name and the title text: the free width
WHO = (6, 7)                # examiner and session: shown only with every session listed
OPTIONAL = {5: "locarno"}   # shown when some search used it
# widths in pixels at a 6-px average letter (a 9-pt font), wider in a larger font
DOCK_WIDTH = 440            # the dock's width by default (a quarter of a wider window)
QUERY_WIDTH = 180           # room the dock keeps for the query column when it can
QUERY_MIN = 100             # in a dock squeezed by a small window (the tooltip has it all)
QUERY_BESIDE = 150          # the least it keeps, readable, to leave the results their room
LETTER = 6
PARTS_ROLE = Qt.ItemDataRole.UserRole + 1   # (folder/, file name, page/part/text) of the query


def session_text(record: dict) -> str:
    """The Session cell: "s-1", or "pilot / s-1" in a study (two studies may name a session
    alike)."""
    session, study = record.get("session") or "", (record.get("study") or "").strip()
    return f"{study} / {session or '-'}" if study else session


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
        # (a session is named by its date by default: the next day lists none of the last)
        self.hidden_note = QLabel()
        self.hidden_note.setWordWrap(True)
        self.hidden_note.setVisible(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Search history")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(5).setToolTip("The Locarno class or subclass searched in")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)   # (a long title text)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)   # (Tab leaves the table, as in every list)
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
        lay.addWidget(self.hidden_note)
        lay.addWidget(self.table)
        self.setWidget(body)
        for j in WHO:
            self.table.setColumnHidden(j, True)
        self._share: float | None = None    # of the window's width, once the examiner chose
        self._window_width = 0
        self._press_width = None
        # the width the window's other panes want beside the dock (set by the window)
        self.room_beside: Callable[[int], int] | None = None    # with n columns of results
        # fitted once the window's layout has settled: the panes' widths are stale before
        self._fit_soon = QTimer(self)
        self._fit_soon.setSingleShot(True)
        self._fit_soon.setInterval(0)
        self._fit_soon.timeout.connect(self.fit_to_window)
        self._watch_window()
        self._records: list[dict] = []
        self._counts: dict[str, int] | None = None
        self._shared: dict[str, tuple[int, int]] | None = None     # of the names listed
        self.session: str | None = None
        self.examiner: str | None = None
        self.study: str | None = None

    def set_records(self, records: list[dict], session: str | None,
                    examiner: str | None = None, study: str | None = None,
                    counts: dict[str, int] | None = None) -> None:
        """Show ``records``; "Only mine, this session" keeps those of ``examiner`` in
        ``study`` (none: outside any) and ``session``. ``counts``: how many searches the log
        holds (``total``) and of them this session's (``mine``), where ``records`` are not
        all of them."""
        self._records = records
        self._counts = counts
        self.session, self.examiner, self.study = session, examiner, study
        self._fill()
        self._widen()

    def _mine(self, r: dict) -> bool:
        return (normal_name(r.get("session") or "") == normal_name(self.session or "")
                and normal_name(r.get("examiner") or "") == normal_name(self.examiner or "")
                and normal_name(r.get("study") or "") == normal_name(self.study or ""))

    def _fill(self) -> None:
        only = self.only_session.isChecked()
        rows = [r for r in self._records if not only or self._mine(r)]
        counts = self._counts or {"total": len(self._records),
                                  "mine": sum(map(self._mine, self._records))}
        notes = []
        others = counts["total"] - counts["mine"]
        if only and others:
            notes.append("1 search of another session or examiner is not listed: untick to "
                         "list it" if others == 1 else f"{others} searches of other sessions "
                         "or examiners are not listed: untick to list them")
        older = (counts["mine"] if only else counts["total"]) - len(rows)
        if older > 0:
            notes.append(f"{counted(older, 'older search')} {'is' if older == 1 else 'are'} "
                         "not listed here: `patent-examiner history` lists every one")
        self.hidden_note.setText("; ".join(notes))
        self.hidden_note.setVisible(bool(notes))
        for j in WHO:
            self.table.setColumnHidden(j, self.only_session.isChecked())
        for j, key in OPTIONAL.items():
            self.table.setColumnHidden(j, not any(r.get(key) for r in rows))
        self.table.setRowCount(0)       # (items written over others re-measure every row:
        self.table.setRowCount(len(rows))   # 500 searches took 8 s after each search)
        today = date.today().isoformat()
        paged = paged_files(self._records)
        foldered = len({str(Path(r["query_path"]).parent) for r in self._records
                        if r.get("query_path")}) > 1
        for i, r in enumerate(rows):
            at = local_time(r.get("at"))
            clock = f"{at} on this computer's clock (logged as {r.get('at') or 'unknown'})"
            # "14:05" today, "12-03 14:05" this year, else the whole date (this clock's)
            when = at[11:16] if at.startswith(today) else \
                at[5:16] if at.startswith(today[:4]) else at[:16]
            parts = query_parts(r, paged, foldered)
            values = [r["id"], when, "".join(parts) or "(no query)",
                      r.get("before") or "no cutoff", len(r.get("results") or []),
                      r.get("locarno") or "", r.get("examiner") or "", session_text(r)]
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r["id"])
                    item.setToolTip(f"Search #{r['id']}, {clock}")
                if j == WHEN:
                    item.setToolTip(clock)
                if j == QUERY:
                    item.setData(PARTS_ROLE, parts)
                    item.setToolTip(tip("\n".join(filter(None, [r.get("query_path"),
                                                                 region_text(r),
                                                                 r.get("text")]))))
                self.table.setItem(i, j, item)
        self._fit_query()

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if watched is self.table.viewport():
            if kind == QEvent.Type.Resize:
                self._fit_query()
        elif watched is self.parentWidget():
            if kind == QEvent.Type.MouseButtonPress:
                self._press_width = self.width()
            elif kind == QEvent.Type.MouseButtonRelease and self._docked() and \
                    self._press_width not in (None, self.width()):
                # the examiner dragged the dock's edge: it keeps that share of the window
                self._share = self.width() / max(1, watched.width())
            elif kind == QEvent.Type.Resize and event.size().width() != self._window_width:
                self._window_width = event.size().width()
                if self._docked():
                    self.fit_later()
        return False

    def _watch_window(self) -> None:
        window = self.parentWidget()
        if isinstance(window, QMainWindow):
            window.installEventFilter(self)
            self._window_width = window.width()

    def _docked(self) -> bool:
        return (self.isVisible() and not self.isFloating()
                and isinstance(self.parentWidget(), QMainWindow))

    def wanted_width(self, window_width: int) -> int:
        """The dock's width in a window ``window_width`` wide: the share the examiner gave it
        by dragging its edge, else room for every column shown with the query readable (a
        quarter of a wide window, up to half) where that leaves the other panes the room
        they want (``room_beside``), and never the results' last column; the window's
        layout gives what it can."""
        if self._share is not None:
            width = round(self._share * window_width)
        else:
            bar = self.table.verticalScrollBar().sizeHint().width()
            when = self.table.sizeHintForColumn(WHEN) if self.table.isColumnHidden(WHEN) else 0
            fixed = self._other_widths() + when + bar + 20
            width = min(max(self._px(DOCK_WIDTH), window_width // 4,
                            fixed + self._px(QUERY_WIDTH)), window_width // 2)
            if self.room_beside is None:
                return width
            # the other panes keep their room where the dock can still show the query
            # readably
            least = fixed + self._px(QUERY_BESIDE)
            width = min(width, max(least, window_width - self.room_beside(2)))
        if self.room_beside is None:
            return width
        # and the results one column of cards whatever the font or share (the table scrolls)
        return max(self.minimumSizeHint().width(),
                   min(width, window_width - self.room_beside(1)))

    def _px(self, width: int) -> int:
        """One of the widths above in the font in use."""
        return width * max(LETTER, self.table.fontMetrics().averageCharWidth()) // LETTER

    def fit_later(self) -> None:
        """``fit_to_window`` once the events queued now have been handled."""
        self._fit_soon.start()

    def fit_to_window(self) -> None:
        """Size the dock for the window it is in: it grows back when the window does (a
        dock squeezed by a small window stays readable on a large one) and gives way when
        the window shrinks."""
        window = self.parentWidget()
        if self._docked():
            window.resizeDocks([self], [self.wanted_width(window.width())],
                               Qt.Orientation.Horizontal)

    def _other_widths(self, *skip: int) -> int:
        """The width of the columns shown other than the query (and ``skip``)."""
        header = self.table.horizontalHeader()
        return sum(max(self.table.sizeHintForColumn(j), header.sectionSizeHint(j))
                   for j in range(len(COLUMNS))
                   if j != QUERY and j not in skip and not self.table.isColumnHidden(j))

    def _fit_query(self) -> None:
        """The query column takes the free width, but never less than ``QUERY_MIN``: in a
        narrow dock the time of day gives way first (the "#" tooltip has it), then the table
        scrolls sideways rather than eliding every name to "p...g"; the cutoff and the number
        of results stay whole beside it."""
        if self.table.rowCount():
            self.table.setColumnHidden(WHEN, False)
            narrow = self.table.viewport().width() - self._other_widths() < self._px(QUERY_MIN)
            self.table.setColumnHidden(WHEN, narrow)
        free = self.table.viewport().width() - self._other_widths()
        self.table.horizontalHeader().resizeSection(QUERY, max(self._px(QUERY_MIN), free))
        self._elide_names()

    def _elide_names(self) -> None:
        """Shorten the file names to the query column: the page or part searched stays whole
        (up to half the column), then the folder (a patent's number, which tells the
        searches of same-named sheets apart), and the file name gives way in its middle."""
        fm = self.table.fontMetrics()
        room = self.table.columnWidth(QUERY) - fm.averageCharWidth() - 8
        least = fm.horizontalAdvance("\u2026") + 2 * fm.averageCharWidth()
        items = [self.table.item(i, QUERY) for i in range(self.table.rowCount())]
        parts = [item.data(PARTS_ROLE) if item is not None else ("", "", "") for item in items]
        names = {name for _, name, _ in parts if name}
        if self._shared is None or names != self._shared.keys():    # (not at every resize)
            self._shared = _shared_ends(names)
        for item, (folder, name, rest) in zip(items, parts):
            if not name:
                continue
            keep = min(fm.horizontalAdvance(rest), room // 2)
            item.setText(elide_path(fm, folder, name, max(room - keep, least),
                                    self._shared[name]) + rest)

    def _widen(self) -> None:
        """With examiner and session shown, take the room they need (up to half the window)
        rather than squeezing the query to nothing."""
        window = self.parentWidget()
        if self._docked() and self.wanted_width(window.width()) > self.width():
            self.fit_to_window()

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
    return "".join(query_parts(record, paged)[1:]) or "(no query)"


def query_parts(record: dict, paged: set[str] = frozenset(),
                with_folder: bool = False) -> tuple[str, str, str]:
    """What the history's query cell shows as (the file's folder and "/", its name, the
    rest): ``query_label`` (the name and the rest), ``with_folder`` (the log's queries are
    in more than one folder) led by the folder, which tells apart the sheets of patents
    named alike (D0910260/page02_sheet.png, D0906013/page02_...); a narrow column shortens
    the name, never which page or part of it was searched."""
    path = record.get("query_path")
    folder = Path(path).parent.name if path and with_folder else ""
    folder = f"{folder}/" if folder else ""
    name, rest = (Path(path).name, "") if path else ("", "")
    if path:
        page = record.get("query_page")
        rest = (" p.all" if page is None else f" p.{page + 1}" if path in paged else "")
        region = searched_region(record)
        if region:
            rest += " " + region.replace("figure ", "fig.")
    if record.get("text"):
        rest += (" + " if name else "") + f"\u201c{record['text']}\u201d"
    return folder, name, rest


def _shared_ends(names: set[str]) -> dict[str, tuple[int, int]]:
    """For each name, how many leading and trailing letters may give way when it is elided
    and still leave a letter where it differs from each other name listed (page0|2|_sheet.png
    beside page03_sheet.png; USD0919445-20210518-D000|01|.TIF beside D00002 and D00011)."""
    def longest_shared(keys: list[str]) -> dict[str, int]:
        # the longest start a name shares with any other is with a neighbour in sorted order
        order = sorted(keys)
        out = dict.fromkeys(order, 0)
        for a, b in zip(order, order[1:]):
            n = len(os.path.commonprefix([a, b]))
            out[a], out[b] = max(out[a], n), max(out[b], n)
        return out

    heads = longest_shared(list(names))
    tails = longest_shared([n[::-1] for n in names])
    out = {}
    for name in names:
        left, right = heads[name], len(name) - tails[name[::-1]]
        if left >= right:       # no stretch differs from all: one letter either side of it
            left, right = max(0, right - 1), min(len(name), left + 1)
        out[name] = (left, len(name) - right)
    return out


def elide_path(fm, folder: str, name: str, width: int, shared: tuple[int, int] = (0, 0)) -> str:
    """``folder`` + ``name`` in ``width`` pixels: whole if it fits, else the folder (if
    any) whole, or elided to half the width, and the name elided (when a few letters of it
    fit), else the whole path elided in its middle. ``shared``: how many of the name's
    leading and trailing letters may give way first (``_shared_ends``), so that what tells
    it apart from the others listed stays."""
    whole = folder + name
    if fm.horizontalAdvance(whole) <= width:
        return whole
    least = _least_shown(fm)
    if width - fm.horizontalAdvance(folder) < least:    # the folder gives way in its middle
        folder = fm.elidedText(folder, Qt.TextElideMode.ElideMiddle, width // 2)
    room = width - fm.horizontalAdvance(folder)
    if room >= least:
        return folder + _elide_around(fm, name, room, *shared)
    return fm.elidedText(whole, Qt.TextElideMode.ElideMiddle, width)


def _least_shown(fm) -> int:
    """The least room worth eliding a name into: "…" and three letters."""
    return fm.horizontalAdvance("\u2026") + 3 * fm.averageCharWidth()


def _elide_around(fm, name: str, room: int, head: int, tail: int) -> str:
    """``name`` in ``room`` pixels keeping ``name[head:len(name) - tail]`` (itself elided in
    its middle where even that does not fit), with as much on either side as fits."""
    def shown(left: int, right: int) -> str:
        return ("\u2026" if left else "") + name[left:right] + (
            "\u2026" if right < len(name) else "")

    left, right = head, len(name) - tail
    if fm.horizontalAdvance(name) <= room:
        return name
    if right <= left:
        return fm.elidedText(name, Qt.TextElideMode.ElideMiddle, room)
    if fm.horizontalAdvance(shown(left, right)) > room:     # the part that differs, elided
        dots = fm.horizontalAdvance(shown(left, right)) - fm.horizontalAdvance(
            name[left:right])
        if room - dots < _least_shown(fm):
            # (no room for both dots and a middle: it starts where it differs, cut at its end)
            return fm.elidedText(shown(left, right), Qt.TextElideMode.ElideRight, room)
        core = fm.elidedText(name[left:right], Qt.TextElideMode.ElideMiddle, room - dots)
        return shown(left, right).replace(name[left:right], core, 1)
    to_right = True                 # grown a letter at a time, on each side in turn
    while True:
        later = [(left, right + 1)] if right < len(name) else []
        earlier = [(left - 1, right)] if left > 0 else []
        for grown in (later + earlier if to_right else earlier + later):
            if fm.horizontalAdvance(shown(*grown)) <= room:
                left, right = grown
                break
        else:
            return shown(left, right)
        to_right = not to_right


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
