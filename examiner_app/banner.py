"""An inline message bar at the top of the window: errors and notices are shown here, never
as modal dialogs or tracebacks. It may carry one action button ("Rebuild...")."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

from .plain_text import plain
from .theme import BANNER_COLORS

ICONS = {"info": "\u2139", "warning": "\u26a0", "error": "\u2716"}


class Banner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.level = "info"
        self.icon = QLabel()
        self.text = plain(QLabel())
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.setVisible(False)
        self.action.clicked.connect(self._run_action)
        close = QToolButton()
        close.setText("\u2715")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss the message")
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 6, 5)
        lay.addWidget(self.icon)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.action)
        lay.addWidget(close)
        self._callback: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, level: str, text: str, action: str | None = None,
                     callback: Callable[[], None] | None = None, timeout_ms: int = 0) -> None:
        self.level = level
        bg, fg = BANNER_COLORS.get(level, BANNER_COLORS["info"])
        self.setStyleSheet(f"Banner {{ background: {bg}; border-bottom: 1px solid {fg}; }}"
                           f"QLabel {{ color: {fg}; }}")
        self.icon.setText(ICONS.get(level, ""))
        self.text.setText(text)
        self._callback = callback
        self.action.setText(action or "")
        self.action.setVisible(bool(action and callback))
        self._timer.stop()
        if timeout_ms:
            self._timer.start(timeout_ms)
        self.show()

    def _run_action(self) -> None:
        callback = self._callback
        self.hide()
        if callback is not None:
            callback()
