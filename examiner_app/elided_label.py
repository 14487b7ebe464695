"""A one-line label that ends in "\u2026" when it gets less width than its text needs (a status
bar's permanent labels at 1024 px), its tooltip then led by the full text."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QToolTip

from .plain_text import tip

MIN_WIDTH = 48


class ElidedLabel(QLabel):
    def __init__(self, *args, elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.setTextFormat(Qt.TextFormat.PlainText)     # (as painted: sized so too)
        self._elide = elide                 # (a path: ElideMiddle keeps its last folder)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(MIN_WIDTH, hint.width()), hint.height())

    def shown_text(self) -> str:
        """The text as painted: elided to the width the label has."""
        return self.fontMetrics().elidedText(self.text(), self._elide,
                                             self.contentsRect().width())

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(),
                                  int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                                  self.palette(), self.isEnabled(), self.shown_text(),
                                  self.foregroundRole())

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.is_elided():
            QToolTip.showText(event.globalPos(), self.full_tip(), self)
            return True
        return super().event(event)

    def full_tip(self) -> str:
        """The full text as written, then the tooltip (set through ``plain_text.tip``)."""
        return tip(self.text()) + self.toolTip()
