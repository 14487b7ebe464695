"""The query sheet with the figures the core found on it: click a figure to search with it
alone (click it again for all figures), or switch to crop mode and drag a rectangle to search
with part of the drawing."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGraphicsView, QRubberBand

from .zoom_view import ZoomView

FIGURE_COLOR = QColor("#2f6fb3")
PICK_FILL = QColor(47, 111, 179, 40)
CROP_COLOR = QColor("#c0392b")
LEFT_OUT_COLOR = QColor(128, 128, 128, 150)


class QueryView(ZoomView):
    figurePicked = Signal(int)      # index into the figure boxes, -1 = all figures
    cropDrawn = Signal(tuple)       # (x0, y0, x1, y1) in page pixels
    cropCancelled = Signal()        # Esc left crop mode

    def __init__(self, parent=None):
        super().__init__("Drop a drawing sheet here, paste it (Ctrl+V) or open a file "
                         "(Ctrl+O).\n\nPNG, JPEG, TIFF (also multi-page, 1-bit) or PDF.", parent)
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.boxes: list = []
        self.picked: int = -1
        self.crop: tuple | None = None
        self.crop_mode = False
        self.left_out = False           # the page shown was not searched (printed text)
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, self.viewport())
        self._origin: QPoint | None = None
        self._press: QPoint | None = None
        self.setToolTip("Click a figure to search with it alone; C: draw a crop rectangle")

    def set_query(self, image: QImage | None, boxes: list) -> None:
        self.boxes = list(boxes)
        self.picked, self.crop, self.left_out = -1, None, False
        self.set_image(image)
        self._draw_boxes()

    def set_selection(self, picked: int = -1, crop: tuple | None = None) -> None:
        self.picked, self.crop, self.left_out = picked, crop, False
        self._draw_boxes()

    def set_left_out(self, left_out: bool) -> None:
        """The page shown is one a search of every page left out (printed text): its blocks
        are drawn grey, not as figures searched with."""
        self.left_out = left_out
        self._draw_boxes()

    def set_crop_mode(self, on: bool) -> None:
        self.crop_mode = on
        self.setDragMode(QGraphicsView.DragMode.NoDrag if on else
                         QGraphicsView.DragMode.ScrollHandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if on else
                                  Qt.CursorShape.OpenHandCursor)

    def _draw_boxes(self) -> None:
        self.clear_boxes()
        if not self.has_image():
            return
        if self.left_out:
            for b in self.boxes:
                self.add_box(b.to_list(), LEFT_OUT_COLOR, width=1)
            return
        several = len(self.boxes) > 1
        for i, b in enumerate(self.boxes):
            on = i == self.picked
            self.add_box(b.to_list(), FIGURE_COLOR if on or self.picked < 0 else
                         QColor(47, 111, 179, 110), f"{i + 1}" if several else None,
                         width=3 if on else 1.5, fill=PICK_FILL if on else None)
        if self.crop is not None:
            self.add_box(self.crop, CROP_COLOR, "crop", width=2.5,
                         fill=QColor(192, 57, 43, 30))

    # -- mouse ------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        self._press = event.position().toPoint()
        if self.crop_mode and self.has_image() and event.button() == Qt.MouseButton.LeftButton:
            self._origin = self._press
            self._band.setGeometry(QRect(self._origin, self._origin))
            self._band.show()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._origin is not None:
            self._band.setGeometry(QRect(self._origin, event.position().toPoint()).normalized())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        pos = event.position().toPoint()
        if self._origin is not None:
            self._band.hide()
            rect = self.mapToScene(QRect(self._origin, pos).normalized()).boundingRect()
            self._origin = None
            box = self._clip(rect)
            if box is not None:
                self.cropDrawn.emit(box)
            return
        super().mouseReleaseEvent(event)
        moved = self._press is not None and (pos - self._press).manhattanLength() > 4
        if event.button() == Qt.MouseButton.LeftButton and not moved and self.has_image():
            point = self.mapToScene(pos)
            for i, b in enumerate(self.boxes):
                if b.x0 <= point.x() < b.x1 and b.y0 <= point.y() < b.y1:
                    self.figurePicked.emit(-1 if i == self.picked else i)
                    return

    def _clip(self, rect: QRectF) -> tuple | None:
        bounds = self.sceneRect()
        rect = rect.intersected(bounds)
        if rect.width() < 16 or rect.height() < 16:
            return None
        return (int(rect.left()), int(rect.top()), int(rect.right()), int(rect.bottom()))

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.crop_mode:
            self.set_crop_mode(False)
            self.cropCancelled.emit()
            return
        super().keyPressEvent(event)

