"""Colours, the rating scale's look and the application style sheet, in one place."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from core.reports import RATING_SCALE

ACCENT = QColor("#2f6fb3")
INK = QColor("#1f2933")
MUTED = QColor("#5c6570")          # 4.5:1 or more on every panel and card it is drawn on
BORDER = QColor("#d3d8df")
CARD = QColor("#ffffff")
CARD_CHILD = QColor("#f1f5fa")
CANVAS = QColor("#eef1f4")
BADGE = QColor("#27364d")
#: the "+n figures" badge on a card's drawing: fill, text, outline
GROUP_BADGE = (QColor("#dbe7f5"), QColor("#285f9c"), QColor("#b7cde8"))

# The 0-3 scale: grey, amber, green, dark green. A chip set to a rating is filled with its
# colour and lettered in RATING_TEXT; an unset chip is lettered and outlined in RATING_INK on
# white. Every pair reads at 4.5:1 or more (WCAG AA): amber is too light for white text or
# for text on white, so its set chip is lettered in ink and its unset one in a dark amber.
RATING_COLORS = {0: QColor("#6b7480"), 1: QColor("#d4a017"), 2: QColor("#2e7d32"),
                 3: QColor("#14532d")}
RATING_TEXT = {0: QColor("#ffffff"), 1: INK, 2: QColor("#ffffff"), 3: QColor("#ffffff")}
RATING_INK = {**RATING_COLORS, 1: QColor("#8a5d00")}
RATING_LABELS = dict(RATING_SCALE)

BANNER_COLORS = {"info": ("#e8f1fb", "#1f4f82"), "warning": ("#fff5d6", "#7a5a00"),
                 "error": ("#fde8e8", "#8a1f1f")}
#: a result corrected since its search: the warning banner's colours (bg, text) and an outline
CORRECTED_BADGE = (*map(QColor, BANNER_COLORS["warning"]), QColor("#e6cf8a"))

STYLE_SHEET = """
QMainWindow, QDialog { background: #f6f7f9; }
QToolBar { background: #f6f7f9; border: none; border-bottom: 1px solid #d3d8df; spacing: 4px;
           padding: 3px; }
QToolBar QToolButton { padding: 4px 8px; border-radius: 4px; }
QToolBar QToolButton:hover { background: #e3e8ef; }
QToolBar QToolButton:checked { background: #d6e4f5; }
QToolBar QToolButton#qt_toolbar_ext_button { padding: 0px; min-width: 14px; }
QGroupBox { font-weight: 600; border: 1px solid #d3d8df; border-radius: 6px; margin-top: 10px;
            padding: 8px 6px 6px 6px; background: #ffffff; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; color: #3d4753; }
QListView#results { background: #eef1f4; border: none; }
QLabel#resultsHeader { font-weight: 600; color: #1f2933; }
QLabel#muted { color: #5c6570; }
QPushButton#primary { background: #2f6fb3; color: white; border: 1px solid #285f99;
                      border-radius: 4px; padding: 5px 14px; font-weight: 600; }
QPushButton#primary:hover { background: #3679c2; }
QPushButton#primary:focus { border: 2px solid #0a1a2e; padding: 4px 13px; }
QPushButton#primary:disabled { background: #9db7d6; border-color: #9db7d6; }
QStatusBar { background: #f6f7f9; border-top: 1px solid #d3d8df; }
QStatusBar QLabel { color: #3d4753; padding: 0 6px; }
QDockWidget::title { background: #e9edf2; padding: 4px; }
"""


DISABLED_TEXT = QColor("#9aa3ad")


def apply(app: QApplication) -> None:
    """Fusion style with a light palette (consistent on every platform, a dark desktop
    included) plus the sheet above."""
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):        # Qt 6.8+: Fusion draws its light variant
        hints.setColorScheme(Qt.ColorScheme.Light)
    app.setStyle("Fusion")
    app.setPalette(light_palette(app.palette()))
    app.setStyleSheet(STYLE_SHEET)


def light_palette(pal: QPalette) -> QPalette:
    """``pal`` with the app's colours, every role set (a dark desktop's buttons, bevels and
    scroll bars would otherwise stay dark under dark ink); disabled text stays grey, so a
    disabled button or menu item does not look like an enabled one."""
    pal = QPalette(pal)
    for role, color in (("Window", "#f6f7f9"), ("Base", "#ffffff"),
                        ("AlternateBase", "#f3f5f8"), ("Button", "#eef0f3"),
                        ("Light", "#ffffff"), ("Midlight", "#f6f7f9"), ("Mid", "#c5cbd3"),
                        ("Dark", "#9aa2ad"), ("Shadow", "#6b7480"), ("BrightText", "#ffffff"),
                        ("PlaceholderText", "#737c87"), ("Link", ACCENT.name()),
                        ("LinkVisited", "#6a3fa0")):
        pal.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    pal.setColor(QPalette.ColorRole.Text, INK)
    pal.setColor(QPalette.ColorRole.WindowText, INK)
    pal.setColor(QPalette.ColorRole.ButtonText, INK)
    pal.setColor(QPalette.ColorRole.Highlight, ACCENT)
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipText, INK)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, DISABLED_TEXT)
    return pal
