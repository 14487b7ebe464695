"""Help \u25b8 Keyboard shortcuts: a table built from the menus, so it never goes stale, and
the mouse gestures and the filing date's keys no menu holds."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QMenuBar, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)


#: What the mouse and the filing date's keys do that no menu action does.
MOUSE_ROWS = [
    ("Mouse", "Zoom the query or a sheet of the detail view", "Wheel"),
    ("Mouse", "Pan a zoomed sheet", "Drag"),
    ("Mouse", "Search with one figure of the query (again: all)", "Click the figure"),
    ("Mouse", "Search with a part of the query", "C, then drag a rectangle"),
    ("Filing date", "A day later / earlier (searches at once)", "Up, Down, wheel"),
    ("Filing date", "A month later / earlier", "PgUp, PgDown"),
    ("Filing date", "Pick from a calendar", "Alt+Down, F4"),
]


def shortcut_rows(menubar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every menu action that has a shortcut."""
    rows, seen = [], set()
    for menu_action in menubar.actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        for action in menu.actions():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                             for k in action.shortcuts())
            if keys and action not in seen:      # an action in two menus is listed once
                seen.add(action)
                rows.append((menu_action.text().replace("&", ""),
                             action.text().replace("&", "").rstrip("\u2026"), keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, menubar: QMenuBar, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(menubar) + MOUSE_ROWS
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                table.setItem(i, j, QTableWidgetItem(text))
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        # as wide as the names need (a large font cut "Search with this drawing" to
        # "Search wit…"), within the screen
        needed = (sum(table.sizeHintForColumn(j) for j in range(table.columnCount()))
                  + table.verticalScrollBar().sizeHint().width() + 2 * table.frameWidth()
                  + lay.contentsMargins().left() + lay.contentsMargins().right() + 8)
        screen = (parent.screen() if parent is not None else self.screen()).availableSize()
        self.resize(min(max(560, needed), screen.width()), min(620, screen.height()))
