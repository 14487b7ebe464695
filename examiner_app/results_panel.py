"""The results grid: a summary line, the rating legend and a QListView of result cards."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QLabel, QListView, QStyle,
                               QVBoxLayout, QWidget)

from core.reports import RELEVANCE_RULE

from . import theme
from .plain_text import plain
from .result_delegate import ResultDelegate
from .results_model import ResultsModel

GAP = 8     # minimum space between result cards
NO_SEARCH = "No search yet"
HOW_TO_SEARCH = ("Drop a drawing sheet here, paste it (Ctrl+V) or open it (Ctrl+O), and set the "
                 "application's filing date: prior art is what was granted before it.")


def rating_legend() -> QLabel:
    """"Rate: [0] Not relevant [1] Marginal ..." with the chips' colours."""
    parts = [f"<span style='background:{theme.RATING_COLORS[v].name()}; "
             f"color:{theme.RATING_TEXT[v].name()}; "
             f"padding:1px 5px'>&nbsp;{v}&nbsp;</span>&nbsp;{label}"
             for v, label in theme.RATING_LABELS.items()]
    label = QLabel("Rate (keys 0\u20133):&nbsp; " + " &nbsp; ".join(parts))
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setToolTip(RELEVANCE_RULE + ". Del or Backspace clears a rating.")
    return label


class ResultsPanel(QWidget):
    activated = Signal()          # open the detail view of the current result

    def __init__(self, model: ResultsModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.header = plain(QLabel(NO_SEARCH))
        self.header.setObjectName("resultsHeader")
        self.header.setWordWrap(True)
        self.subheader = plain(QLabel(HOW_TO_SEARCH))
        self.subheader.setObjectName("muted")
        self.subheader.setWordWrap(True)      # never widens the window
        self.view = QListView()
        self.view.setAccessibleName("Results")
        self.view.setObjectName("results")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setWrapping(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setMouseTracking(True)
        self.view.setIconSize(QSize(model.thumb_side, model.thumb_side))
        self.delegate = ResultDelegate(model.thumb_side, self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(model)
        self.view.viewport().installEventFilter(self)
        self.view.activated.connect(lambda _: self.activated.emit())   # double-click

        self.legend = rating_legend()
        self._legend_width = self.legend.sizeHint().width()     # unwrapped
        self.legend.setWordWrap(True)
        self._top = QGridLayout()
        self._top.setVerticalSpacing(0)
        self._top.setColumnStretch(0, 1)
        self._top.addWidget(self.header, 0, 0)
        self._top.addWidget(self.subheader, 1, 0)
        self._legend_beside = None
        self._place_legend(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 0)
        lay.addLayout(self._top)
        lay.addWidget(self.view, 1)
        # the least width is the one with the legend on a line of its own: the legend goes
        # beside the summary only when there is room, so a window made smaller in one step
        # (1920 to 1024 px wide) is not held at the width the legend beside would need
        self.setMinimumWidth(lay.minimumSize().width())
        self._place_legend(True)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_legend(event.size().width() >= self._legend_width + 420)

    def _place_legend(self, beside: bool) -> None:
        """The legend beside the summary when there is room, else on a line of its own."""
        if beside == self._legend_beside:
            return
        self._legend_beside = beside
        self._top.removeWidget(self.legend)
        # unwrapped beside; on a line of its own it wraps (a wrapped rich-text label still
        # asks for its unwrapped width as its minimum, which would hold the window wide)
        self.legend.setMinimumWidth(self._legend_width if beside else 200)
        if beside:
            self._top.addWidget(self.legend, 0, 1, 2, 1, Qt.AlignmentFlag.AlignBottom)
        else:
            self._top.addWidget(self.legend, 2, 0)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self._spread_columns(self._layout_width())
        return False

    def _layout_width(self) -> int:
        """The width QListView lays the cards out in: it always keeps room for an as-needed
        vertical scroll bar, whether or not one is shown."""
        bar = self.view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None,
                                            self.view.verticalScrollBar())
        return self.view.maximumViewportSize().width() - bar

    def width_for_columns(self, columns: int) -> int:
        """The panel's width at which it lays out ``columns`` columns of cards."""
        card = self.delegate.card_size(self.view.font())
        return self.width() - self._layout_width() + columns * (card.width() + GAP) + GAP

    def _spread_columns(self, width: int) -> None:
        """Share the free width between the columns, so the cards fill the row evenly."""
        card = self.delegate.card_size(self.view.font())
        columns = max(1, (width - GAP) // (card.width() + GAP))
        cell = QSize(max(card.width() + GAP, (width - 1) // columns), card.height() + GAP)
        if cell != self.view.gridSize():
            self.delegate.width = cell.width() - GAP        # the cards fill their cells
            self.view.setGridSize(cell)

    def reset(self) -> None:
        """No search on screen (another library was opened)."""
        self.header.setText(NO_SEARCH)
        self.subheader.setText(HOW_TO_SEARCH)

    def set_blind(self, blind: bool) -> None:
        self.delegate.blind = blind
        self.model.set_blind(blind)

    def current_row(self) -> int:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else -1

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index)

    def step(self, delta: int) -> None:
        row = self.current_row()
        self.select_row(min(self.model.rowCount() - 1, max(0, row + delta)) if row >= 0 else 0)
