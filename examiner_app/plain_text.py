"""Text from files and users shown as written: Qt takes text that looks like HTML for rich
text, so a query file named "<h1>NO PRIOR ART.png" drew as a red headline."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def plain(label: QLabel) -> QLabel:
    """``label``, showing its text as plain text whatever it holds."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def tip(text: str | None) -> str:
    """A tooltip showing ``text`` as written (tooltips have no plain-text setting)."""
    if not text:
        return ""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"
