"""A last line of defence: an uncaught exception (in a slot, a callback or a thread) is logged
with its traceback and shown as a non-modal message; the application keeps running."""
from __future__ import annotations

import logging
import sys
import threading
from typing import Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("examiner_app")


class CrashGuard(QObject):
    """Installs ``sys.excepthook`` and ``threading.excepthook``; ``caught`` is emitted (and
    delivered on the UI thread) with a one-line description."""

    caught = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._previous: tuple[Callable, Callable] | None = None

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value,
                                                       args.exc_traceback)

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def _hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        self.caught.emit(f"Unexpected error: {exc_type.__name__}: {exc}. The application "
                         "goes on; details are in the log.")
