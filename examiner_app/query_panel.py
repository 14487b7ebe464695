"""The query: the sheet (QueryView), which page of a multi-page file, which figure (all, one,
a crop, or every figure of every page of the file) is searched, and the file it came from."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from .elided_label import ElidedLabel
from .plain_text import tip
from .query_view import QueryView


class QueryPanel(QWidget):
    selectionChanged = Signal()     # figure pick or crop changed
    pageRequested = Signal(int)     # 0-based page of a multi-page file

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = QueryView()
        self.view.setAccessibleName("The query drawing: drop, open or paste one")
        self.view.setMinimumSize(240, 200)
        # (a long file name ends in "..." where it is cut; its tooltip has the whole path)
        self.file_label = ElidedLabel("No query")
        self.file_label.setObjectName("muted")
        self.page = QSpinBox()
        self.page.setPrefix("Page ")
        self.page.setMinimum(1)
        self.page.setToolTip("Page of a multi-page TIFF or PDF")
        self.page.setVisible(False)
        self.figure = QComboBox()
        self.figure.setAccessibleName("What of the drawing to search with")
        self.figure.setToolTip("Search with every figure of the sheet, one figure, a crop, or "
                               "every figure of every page of a multi-page file")
        self.crop = QToolButton()
        self.crop.setText("Crop")
        self.crop.setCheckable(True)
        self.crop.setEnabled(False)     # (until there is a drawing to crop)
        self.crop.setToolTip("Draw a rectangle on the sheet to search with that part (C)")
        self.query = None               # service.QueryPage shown
        self.all_pages = False          # search with the figures of every page of the file

        bar = QHBoxLayout()
        bar.addWidget(self.figure, 1)
        bar.addWidget(self.page)
        bar.addWidget(self.crop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view, 1)
        lay.addLayout(bar)
        lay.addWidget(self.file_label)
        self._fill_figures()

        self.view.figurePicked.connect(self._picked)
        self.view.cropDrawn.connect(self._cropped)
        self.figure.activated.connect(self._combo_picked)
        self.crop.toggled.connect(self.view.set_crop_mode)
        # (turned on from the results with C: the sheet, where the box is drawn, takes the
        # keys, so Esc turns crop mode off again)
        self.crop.toggled.connect(lambda on: on and self.view.setFocus())
        self.view.cropCancelled.connect(lambda: self.crop.setChecked(False))
        self.page.editingFinished.connect(self._page_edited)

    def _page_edited(self) -> None:
        """Only another page is read (leaving the box unchanged finishes editing too)."""
        if self.query is None or self.page.value() - 1 != self.query.page_index:
            self.pageRequested.emit(self.page.value() - 1)

    # -- content ----------------------------------------------------------------------------
    def set_query(self, query, picked: int = -1, crop: tuple | None = None) -> None:
        self.query = query
        self.view.set_query(query.image, query.boxes)
        self.page.blockSignals(True)
        self.page.setMaximum(query.n_pages)
        self.page.setValue(query.page_index + 1)
        self.page.setSuffix(f" of {query.n_pages}")
        self.page.blockSignals(False)
        self.page.setVisible(query.n_pages > 1)
        self.file_label.setToolTip(tip(query.path))
        self.crop.setEnabled(True)
        self._fill_figures()
        self.set_selection(picked, crop)

    def clear(self) -> None:
        self.query = None
        self.all_pages = False
        self.crop.setChecked(False)
        self.crop.setEnabled(False)     # (nothing to crop)
        self.view.set_query(None, [])
        self.page.setVisible(False)
        self.file_label.setText("No query")
        self.file_label.setToolTip("")
        self._fill_figures()

    def set_selection(self, picked: int = -1, crop: tuple | None = None) -> None:
        self.all_pages = False
        self.view.set_selection(picked, crop)
        self._sync_combo()
        self._name_file()

    def select_all_pages(self) -> None:
        """Every figure of every page (an application's PDF); the view shows the page open."""
        if self.query is None or self.query.n_pages < 2:
            return
        self.view.set_selection(-1, None)
        self.all_pages = True
        self._sync_combo()

    def mark_left_out(self, text_pages: list[int]) -> None:
        """After a search of every page: grey out the page shown where it was left out as
        printed text (``text_pages``, 0-based)."""
        self.view.set_left_out(self.all_pages and self.query is not None
                               and self.query.page_index in text_pages)
        self._name_file()

    def _name_file(self) -> None:
        if self.query is None:
            return
        name = Path(self.query.path).name
        self.file_label.setText(
            f"{name} — page {self.query.page_index + 1} is printed text: not searched"
            if self.view.left_out else name)

    def box(self):
        """The core.drawing.FigureBox to search with, or None for every figure."""
        from core.drawing import FigureBox

        if self.all_pages:
            return None
        if self.view.crop is not None:
            return FigureBox(*self.view.crop)
        if 0 <= self.view.picked < len(self.view.boxes):
            return self.view.boxes[self.view.picked]
        return None

    def region(self) -> str | None:
        """What ``box()`` is, for the search log: "figure 2" or "crop" (None: every figure)."""
        if self.all_pages:
            return None
        if self.view.crop is not None:
            return "crop"
        if 0 <= self.view.picked < len(self.view.boxes):
            return f"figure {self.view.picked + 1}"
        return None

    def selection_text(self) -> str:
        if self.all_pages:
            n = self.query.n_pages
            return f"every figure of {'both' if n == 2 else f'all {n}'} pages"
        if self.view.crop is not None:
            return "a crop"
        if self.view.picked >= 0:
            return f"figure {self.view.picked + 1} of {len(self.view.boxes)}"
        n = len(self.view.boxes)
        return f"all {n} figures" if n > 1 else "the drawing"

    def select_box(self, box: list | None) -> None:
        """Restore a logged query box: a found figure if it is one, else a crop."""
        if box is None:
            self.set_selection()
            return
        for i, b in enumerate(self.view.boxes):
            if b.to_list() == list(box):
                self.set_selection(i)
                return
        self.set_selection(crop=tuple(box))

    # -- internals --------------------------------------------------------------------------
    def _fill_figures(self) -> None:
        self.figure.clear()
        n = len(self.view.boxes)
        self.figure.addItem(f"All figures ({n})" if n else "All figures", -1)
        # (a file cut off after some page: its pages one at a time, all of them refused)
        if self.query is not None and self.query.n_pages > 1 and not self.query.cut_off:
            self.figure.addItem(f"All pages ({self.query.n_pages})", -3)
        for i in range(n):
            self.figure.addItem(f"Figure {i + 1}", i)
        self.figure.addItem("Crop (drawn)", -2)
        self.figure.setEnabled(self.query is not None)

    def _sync_combo(self) -> None:
        data = -3 if self.all_pages else -2 if self.view.crop is not None else self.view.picked
        self.figure.setCurrentIndex(max(0, self.figure.findData(data)))

    def _picked(self, index: int) -> None:
        self.set_selection(index)
        self.selectionChanged.emit()

    def _cropped(self, box: tuple) -> None:
        self.crop.setChecked(False)
        self.set_selection(crop=box)
        self.selectionChanged.emit()

    def _combo_picked(self, _row: int) -> None:
        data = self.figure.currentData()
        if data == -2:
            self.crop.setChecked(True)
            self._sync_combo()
            return
        if data == -3:
            self.select_all_pages()
            self.selectionChanged.emit()
            return
        self.set_selection(data)
        self.selectionChanged.emit()
