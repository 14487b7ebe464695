"""The audit trail as a dock: every logged search (newest first); double-click or Enter
reopens one exactly as it was (query, region, cutoff, filters, ranked results, ratings); the
context menu also runs one again to check that today's library gives the same ranking."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDockWidget, QHeaderView, QMenu,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

COLUMNS = ["#", "When", "Query", "Before", "Results", "Locarno", "Text", "Examiner", "Session"]
STRETCH = (2, 6)            # query and text share the free width and are elided
WHO = (7, 8)                # examiner and session: shown only with every session listed
OPTIONAL = {5: "locarno", 6: "text"}        # shown when some search used them
DOCK_WIDTH = 380


class HistoryPanel(QDockWidget):
    reopenRequested = Signal(int)
    replayRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__("Search history", parent)
        self.setObjectName("history")
        self.only_session = QCheckBox("This session only")
        self.only_session.setChecked(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(24)
        for j in range(len(COLUMNS)):
            header.setSectionResizeMode(j, QHeaderView.ResizeMode.Stretch if j in STRETCH else
                                        QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Double-click or press Enter to reopen a search; right-click "
                              "to check that it still gives the same ranking")
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.cellDoubleClicked.connect(lambda row, _: self._reopen(row))
        self.table.itemActivated.connect(lambda item: self._reopen(item.row()))
        self.only_session.toggled.connect(lambda _: self._fill())
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.only_session)
        lay.addWidget(self.table)
        self.setWidget(body)
        self._records: list[dict] = []
        self.session: str | None = None

    def set_records(self, records: list[dict], session: str | None) -> None:
        self._records = records
        self.session = session
        self._fill()

    def _fill(self) -> None:
        rows = [r for r in self._records
                if not self.only_session.isChecked() or r.get("session") == self.session]
        for j in WHO:
            self.table.setColumnHidden(j, self.only_session.isChecked())
        for j, key in OPTIONAL.items():
            self.table.setColumnHidden(j, not any(r.get(key) for r in rows))
        self.table.setRowCount(len(rows))
        this_year = str(date.today().year)
        for i, r in enumerate(rows):
            at = (r.get("at") or "").replace("T", " ")[:19]
            when = at[5:16] if at.startswith(this_year) else at[:16]     # "12-03 14:05"
            query = Path(r["query_path"]).name if r.get("query_path") else "(pasted)"
            values = [r["id"], when, query, r.get("before") or "no cutoff",
                      len(r.get("results") or []), r.get("locarno") or "",
                      r.get("text") or "", r.get("examiner") or "",
                      r.get("session") or ""]
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r["id"])
                if j == 1:
                    item.setToolTip(at)
                if j == 2 and r.get("query_path"):
                    item.setToolTip(r["query_path"])
                if j == 6 and v:
                    item.setToolTip(str(v))
                self.table.setItem(i, j, item)

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
