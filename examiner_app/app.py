"""Starting the GUI: the QApplication (high-DPI, style), the crash guard, the main window."""
from __future__ import annotations

import logging
import signal
import sys
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from resources import RESOURCES_DIR

from . import theme
from ._display import display_problem
from .crash_guard import CrashGuard
from .main_window import MainWindow
from .settings import APP, ORG

ICON = RESOURCES_DIR / "icons" / "app.svg"


def application() -> QApplication:
    """The running QApplication, created and styled on first use."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
        app.setOrganizationName(ORG)
        app.setApplicationName(APP)
        app.setApplicationDisplayName("Patent Examiner")
        app.setWindowIcon(QIcon(str(ICON)))
        theme.apply(app)
    return app


def launch(library: Path | None = None, query: Path | None = None,
           before: date | None = None, *, demo: bool = False,
           demo_patents: int | None = None, notice: str | None = None) -> int:
    """Show the main window on ``library`` (default: the last one, else the default library),
    optionally with ``query`` loaded and searched with the cutoff ``before``; with ``demo``,
    on the demo library at ``library`` (default: its usual folder), built in the window with
    a progress dialog when it does not exist yet. Returns the exit status when the window is
    closed. ``notice`` is printed to stderr once the display is known to work."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = display_problem()
    if problem:
        print(f"patent-examiner: error: {problem}", file=sys.stderr)
        return 1
    if notice:
        print(notice, file=sys.stderr)
    app = application()
    guard = CrashGuard(app)
    guard.install()
    window = MainWindow()
    guard.caught.connect(lambda text: window.show_message("error", text))
    window.show()
    if demo:
        window.start_demo(library, demo_patents)
    else:
        window.start(library, query, before)
    interrupted = _quit_on_ctrl_c(window)
    try:
        status = app.exec()
        return EXIT_INTERRUPTED if interrupted else status
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        guard.uninstall()


#: The exit status of a run stopped with Ctrl+C (as the command line's).
EXIT_INTERRUPTED = 130


def _quit_on_ctrl_c(window: MainWindow) -> list:
    """Ctrl+C in the terminal closes the window (``window.interrupt``) instead of raising
    KeyboardInterrupt in whatever Qt slot runs next. Python sees the signal only between
    its own bytecodes: a timer gives it a moment a few times a second. Returns a list that
    is not empty once it happened."""
    happened: list = []

    def on_signal(*_):
        if not happened:
            happened.append(True)
            QTimer.singleShot(0, window.interrupt)
    signal.signal(signal.SIGINT, on_signal)
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(200)
    return happened
