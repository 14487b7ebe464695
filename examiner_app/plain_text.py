"""Text from files and users shown as written: Qt takes text that looks like HTML for rich
text, so a query file named "<h1>NO PRIOR ART.png" drew as a red headline."""
from __future__ import annotations

import html
import re

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


#: A run of this many characters without a space is given places to wrap at.
LONG_RUN = 24
_LONG = re.compile(r"\S{%d,}" % LONG_RUN)


def breakable(text: str) -> str:
    """``text`` with a zero-width space after each ``/ \\ _ - .`` of a long run without
    spaces (a file path or name): a word-wrapped label can break it there, where it would
    otherwise be as wide as the whole name."""
    return _LONG.sub(lambda m: re.sub(r"([/\\_.\-])(?=\S)", "\\1\u200b", m.group()), text)
