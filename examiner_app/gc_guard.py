"""Cyclic garbage collection on the UI thread only.

Python's cyclic collector runs in whichever thread happens to allocate; a Qt object caught in a
reference cycle (a task's signal holder, a connected lambda) would then be deleted from a worker
thread, which crashes Qt. While a window is open the automatic collector is off and a timer on
the UI thread runs it with the same thresholds (the recipe PyQt applications such as calibre use).
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class UiThreadGC(QObject):
    """Reference-counted: the first ``acquire`` disables automatic collection, the last
    ``release`` collects once and restores it."""

    _instance: "UiThreadGC | None" = None

    def __init__(self):
        super().__init__()
        self._users = 0
        self._was_enabled = True        # set by the first acquire
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.check)

    @classmethod
    def acquire(cls) -> "UiThreadGC":
        if cls._instance is None:
            cls._instance = cls()
        guard = cls._instance
        if guard._users == 0:
            guard._was_enabled = gc.isenabled()
            gc.disable()
            guard._timer.start()
        guard._users += 1
        return guard

    def release(self) -> None:
        if self._users == 0:
            return
        self._users -= 1
        if self._users == 0:
            self._timer.stop()
            gc.collect()
            if self._was_enabled:
                gc.enable()

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return
