"""The audit trail as a dock: every logged search (newest first); double-click or Enter
reopens one exactly as it was (query, region, cutoff, filters, ranked results, ratings)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDockWidget, QHeaderView,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

COLUMNS = ["#", "When", "Query", "Before", "Locarno", "Text", "Results", "Examiner", "Session"]


class HistoryPanel(QDockWidget):
    reopenRequested = Signal(int)

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
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Double-click or press Enter to reopen a search")
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
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            when = (r.get("at") or "").replace("T", " ")[:19]
            query = Path(r["query_path"]).name if r.get("query_path") else "(pasted)"
            values = [r["id"], when, query, r.get("before") or "no cutoff",
                      r.get("locarno") or "", r.get("text") or "",
                      len(r.get("results") or []), r.get("examiner") or "",
                      r.get("session") or ""]
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r["id"])
                if j == 2 and r.get("query_path"):
                    item.setToolTip(r["query_path"])
                self.table.setItem(i, j, item)

    def _reopen(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.reopenRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
