"""Lazy thumbnails for views: asked for when a view paints an item, made off the UI thread
(core.thumbnails, which caches them on disk), kept in a small in-memory LRU of pixmaps.

Sizes are device pixels (logical size x devicePixelRatio), so thumbnails stay sharp on
high-DPI screens.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from .imaging import gray_to_qimage, hidpi_pixmap
from .tasks import Task, TaskRunner

#: (path, page index, box or None, side in device pixels)
ThumbKey = tuple[str, int, tuple[int, ...] | None, int]


class ThumbnailLoader(QObject):
    """``pixmap(key)`` returns a cached pixmap, or None after queueing its creation; ``ready``
    is emitted with the key once it is available (``failed`` if the file cannot be read)."""

    ready = Signal(object)
    failed = Signal(object, str)

    def __init__(self, runner: TaskRunner, capacity: int = 800, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.capacity = capacity
        self.cache = None                   # core.thumbnails.ThumbnailCache
        self._pixmaps: OrderedDict[ThumbKey, QPixmap] = OrderedDict()
        self._pending: dict[ThumbKey, Task] = {}
        self.errors: dict[ThumbKey, str] = {}

    def set_cache(self, cache) -> None:
        self.cache = cache
        self.clear()

    def clear(self) -> None:
        """Forget everything (another library was opened)."""
        self.drop_pending()
        self._pixmaps.clear()
        self.errors.clear()

    def drop_pending(self, figures_only: bool = False) -> None:
        """Forget requests not started yet (their results were replaced); they are asked
        for again if a view still paints them. ``figures_only``: those of figures (the
        results'), not of whole pages (the detail view's page strip, still shown)."""
        for key, task in list(self._pending.items()):
            if figures_only and key[2] is None:
                continue
            if task.take():
                task.signals.finished.emit()
                del self._pending[key]

    @staticmethod
    def key(path: str, page_index: int, box, side: int, dpr: float) -> ThumbKey:
        return (str(path), int(page_index), tuple(box) if box is not None else None,
                int(round(side * dpr)))

    def pixmap(self, key: ThumbKey, dpr: float) -> QPixmap | None:
        pm = self._pixmaps.get(key)
        if pm is not None:
            self._pixmaps.move_to_end(key)
            return pm
        if key not in self._pending and key not in self.errors and self.cache is not None:
            self._request(key, dpr)
        return None

    def _request(self, key: ThumbKey, dpr: float) -> None:
        cache = self.cache
        path, page_index, box, side = key

        def work(task: Task) -> QImage:
            return gray_to_qimage(cache.thumbnail(path, page_index, box, side))

        def done(image: QImage) -> None:
            if self._pending.pop(key, None) is None:
                return                      # cleared meanwhile
            self._pixmaps[key] = hidpi_pixmap(image, dpr)
            while len(self._pixmaps) > self.capacity:
                self._pixmaps.popitem(last=False)
            self.ready.emit(key)

        def failed(exc: BaseException) -> None:
            if self._pending.pop(key, None) is None:
                return
            self.errors[key] = str(exc)
            self.failed.emit(key, str(exc))

        self._pending[key] = self.runner.submit(work, on_done=done, on_error=failed)
