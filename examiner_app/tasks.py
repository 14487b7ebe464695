"""Background work: a task runs a function in a QThreadPool and reports through signals, so
the UI thread never waits for model inference, index search, SQLite or decoding.

Its callbacks are called by a QObject created on the UI thread, so they run on the UI
thread. Expected failures (unreadable file, bad query, missing library...) reach
``on_error`` as one-line messages; anything else is logged with its traceback and reported as
an internal error, never raised into Qt.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user (core's error types and OSError)."""
    from core.imageio import ImageReadError
    from core.index import IndexError_
    from core.library import LibraryError
    from core.locarno import LocarnoError
    from core.models import ModelError
    from core.search import QueryError
    from core.sources import SourceError
    from core.store import StoreError

    return (LibraryError, ModelError, QueryError, StoreError, IndexError_, ImageReadError,
            SourceError, LocarnoError, OSError)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return str(exc) or type(exc).__name__


class _Signals(QObject):
    """A task's signals, delivered on the UI thread to the callbacks it holds, which it drops
    once the task has finished: a Python callable connected to a signal is never released by
    PySide6, and a callback may hold a query page or a whole result list."""

    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, callbacks: dict[str, Callable | None]):
        super().__init__()
        self.callbacks = {k: v for k, v in callbacks.items() if v is not None}
        for name in ("progress", "done", "failed", "finished"):
            getattr(self, name).connect(getattr(self, f"_{name}"))

    @Slot(int, int, str)
    def _progress(self, done: int, total: int, note: str) -> None:
        self._call("progress", done, total, note)

    @Slot(object)
    def _done(self, result) -> None:
        self._call("done", result)

    @Slot(object)
    def _failed(self, exc) -> None:
        self._call("failed", exc)

    @Slot()
    def _finished(self) -> None:
        callbacks, self.callbacks = self.callbacks, {}
        if "finished" in callbacks:
            callbacks["finished"]()

    def _call(self, name: str, *args) -> None:
        callback = self.callbacks.get(name)
        if callback is not None:
            callback(*args)


class Cancellable:
    """Work that is cancelled through ``cancel_event`` (a task, or a chain of them)."""

    cancel_event: threading.Event

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()


class Task(Cancellable):
    """``fn(task)`` runs in a pool thread; it may call ``task.report(done, total, note)`` and
    should stop early when ``task.cancelled`` is set. (Not a QRunnable: the pool kept every
    QRunnable handed to it alive, through PySide6, for the rest of the session.)"""

    def __init__(self, fn: Callable[["Task"], Any], *,
                 on_done: Callable[[Any], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 on_progress: Callable[[int, int, str], None] | None = None,
                 on_finished: Callable[[], None] | None = None):
        self.fn = fn
        self.cancel_event = threading.Event()
        self._state = "queued"          # then "running", or "taken" back before it ran
        self._state_lock = threading.Lock()
        self.signals = _Signals({"done": on_done, "failed": on_error, "progress": on_progress,
                                 "finished": on_finished})

    def report(self, done: int, total: int, note: str = "") -> None:
        self._emit("progress", done, total, note)

    def take(self) -> bool:
        """Not to run after all, if it has not started: True if so (it then runs nothing
        and says nothing; its taker sees to its ``finished``)."""
        with self._state_lock:
            if self._state != "queued":
                return False
            self._state = "taken"
            self.fn = None
            return True

    def run(self) -> None:
        with self._state_lock:
            if self._state != "queued":
                return
            self._state = "running"
        try:
            result = self.fn(self)
        except user_errors() as exc:
            log.info("task failed: %s", exc)
            self._emit("failed", exc)
        except Exception as exc:  # a bug: keep the app alive, log the traceback
            log.exception("internal error in a background task")
            self._emit("failed", RuntimeError(
                f"internal error: {type(exc).__name__}: {exc} (details in the log)"))
        else:
            self._emit("done", result)
        finally:
            self.fn = None      # (what it holds: a pasted image, a query)
            self._emit("finished")

    def _emit(self, name: str, *args) -> None:
        try:
            getattr(self.signals, name).emit(*args)
        except RuntimeError:
            # The app quit while this task outlived shutdown's wait: nobody is listening.
            log.debug("task %s signal after its receiver was deleted", name)


class Steps(Cancellable):
    """The handle of a ``TaskRunner.submit_steps`` chain: cancel it as one task."""

    def __init__(self):
        self.cancel_event = threading.Event()


class TaskRunner(QObject):
    """Keeps running tasks alive until they finish; one pool per kind of work."""

    def __init__(self, threads: int, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._running: dict[QObject, Task] = {}     # by signal holder: no reference cycle
        self._closed = False

    def start(self, task: Task, priority: int = 0) -> Task:
        self._running[task.signals] = task
        task.signals.finished.connect(self._finished)
        self.pool.start(task.run, priority)
        return task

    @Slot()
    def _finished(self) -> None:
        self._running.pop(self.sender(), None)

    def submit(self, fn: Callable[[Task], Any], **callbacks) -> Task:
        return self.start(Task(fn, **callbacks))

    def submit_steps(self, step: Callable[[Task], tuple[bool, Any]], *, priority: int = -1,
                     on_done: Callable[[Any], None] | None = None,
                     on_error: Callable[[BaseException], None] | None = None,
                     on_progress: Callable[[int, int, str], None] | None = None) -> "Steps":
        """Long work as a chain of short tasks: ``step(task)`` does a bit and returns
        ``(finished, result)``; each next step is queued anew at ``priority`` (below other
        work's), so work submitted meanwhile runs between two steps instead of after them
        all. Cancelling the returned ``Steps`` is seen by the next step, which should finish."""
        chain = Steps()

        def after(outcome) -> None:
            finished, result = outcome
            if finished:
                if on_done is not None:
                    on_done(result)
            elif not self._closed:
                queue()

        def queue() -> None:
            task = Task(step, on_done=after, on_error=on_error, on_progress=on_progress)
            task.cancel_event = chain.cancel_event
            self.start(task, priority)

        queue()
        return chain

    def shutdown(self, msecs: int = 5000, *, drop_queued: bool = True,
                 tick: Callable[[], None] | None = None) -> None:
        """Cancel queued and running work and wait for it (on quit); with ``drop_queued``
        False, queued work (e.g. rating writes) still runs within the wait. ``tick`` is
        called every 50 ms of the wait (to keep a "please wait" on screen painted): what
        the tasks emit from then on is dropped, not delivered."""
        self._closed = True
        if drop_queued:
            self.pool.clear()
        for task in list(self._running.values()):
            task.cancel()
            if tick is not None:
                task.signals.blockSignals(True)
        if tick is None:
            self.pool.waitForDone(msecs)
        else:
            deadline = time.monotonic() + msecs / 1000
            while not self.pool.waitForDone(50) and time.monotonic() < deadline:
                tick()
        for signals in list(self._running):
            # what ended meanwhile (a cancelled add, reopening the library) is not delivered
            # to the window being closed
            QCoreApplication.removePostedEvents(signals)
