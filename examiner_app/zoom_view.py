"""A drawing sheet at full resolution with zoom (wheel, +/-), pan (drag) and fit, and
outlined boxes (figures found on the page, the matched figure)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsSimpleTextItem, QGraphicsView)

from . import theme


class SheetItem(QGraphicsItem):
    """A page image that stays legible when shown small: below ``SMOOTH_BELOW`` of its size
    it is drawn from a copy shrunk by area averaging (cached per size), since the view's own
    bilinear sampling drops the thin lines of a line drawing and turns hatching into a
    checkerboard. A very large page (a 1200-dpi scan) is shrunk from a copy ``MID`` pixels
    wide, made once: each resize shrank the whole page again (a second per resize)."""

    SMOOTH_BELOW = 0.75
    MID = 2400

    def __init__(self, image: QImage):
        super().__init__()
        gray = image.format() in (QImage.Format.Format_Mono, QImage.Format.Format_MonoLSB)
        self.image = image.convertToFormat(QImage.Format.Format_Grayscale8) if gray else image
        self._full: QPixmap | None = None       # made when first zoomed in that far
        self._mid: QImage | None = None
        self._small: QPixmap | None = None

    @property
    def full(self) -> QPixmap:
        if self._full is None:
            self._full = QPixmap.fromImage(self.image)
        return self._full

    def boundingRect(self) -> QRectF:
        return QRectF(self.image.rect())

    def _source(self, width: int) -> QImage:
        """What a copy ``width`` pixels wide is shrunk from."""
        if self.image.width() <= 2 * self.MID or width > self.MID // 2:
            return self.image
        if self._mid is None:
            self._mid = self.image.scaledToWidth(self.MID,
                                                 Qt.TransformationMode.SmoothTransformation)
        return self._mid

    def paint(self, painter: QPainter, option, widget=None) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        scale = painter.worldTransform().m11() * ratio
        target = self.boundingRect()
        if scale >= self.SMOOTH_BELOW:
            painter.drawPixmap(target, self.full, QRectF(self.full.rect()))
            return
        width = max(1, round(self.image.width() * scale))
        if self._small is None or self._small.width() != width:
            self._small = QPixmap.fromImage(self._source(width).scaledToWidth(
                width, Qt.TransformationMode.SmoothTransformation))
        painter.drawPixmap(target, self._small, QRectF(self._small.rect()))


class ZoomView(QGraphicsView):
    def __init__(self, placeholder: str = "", parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing |
                            QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(theme.CANVAS)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.placeholder = placeholder
        self.setToolTip("Wheel or +/\u2212 to zoom, drag to pan, F to fit the page")
        self._pixmap_item: SheetItem | None = None
        self._boxes: list[QGraphicsRectItem] = []
        self._target = "fit"     # kept in view on resize: "fit", a page box, or None (user zoom)

    # -- content ----------------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        self.scene().clear()
        self._boxes = []
        self._pixmap_item = None
        if image is not None and not image.isNull():
            self._pixmap_item = SheetItem(image)
            self.scene().addItem(self._pixmap_item)
            self.scene().setSceneRect(QRectF(image.rect()))
        else:                           # no scroll bars left over from the sheet before
            self.scene().setSceneRect(QRectF())
            self.resetTransform()
        self.fit()
        self.viewport().update()

    def has_image(self) -> bool:
        return self._pixmap_item is not None

    def add_box(self, box, color: QColor, label: str | None = None, width: float = 3.0,
                fill: QColor | None = None) -> QGraphicsRectItem:
        """Outline a page box (x0, y0, x1, y1); the outline keeps its width at any zoom."""
        x0, y0, x1, y1 = box
        pen = QPen(color, width)
        pen.setCosmetic(True)
        item = self.scene().addRect(QRectF(x0, y0, x1 - x0, y1 - y0), pen,
                                    QBrush(fill) if fill else QBrush(Qt.BrushStyle.NoBrush))
        if label:
            text = QGraphicsSimpleTextItem(label, item)
            text.setBrush(color)
            font = text.font()
            font.setBold(True)
            font.setPointSizeF(11)
            text.setFont(font)
            text.setFlag(QGraphicsSimpleTextItem.GraphicsItemFlag.ItemIgnoresTransformations)
            text.setPos(x0 + 4, y0 + 2)
        self._boxes.append(item)
        return item

    def clear_boxes(self) -> None:
        for item in self._boxes:
            self.scene().removeItem(item)
        self._boxes = []

    # -- zoom -------------------------------------------------------------------------------
    def _scroll_bars(self, shown: bool) -> None:
        """Scroll bars only once the user zooms: a view fitted to its sheet or a box on every
        resize would otherwise show a bar, lose its width, fit again without it, and so on
        (a loop of resizes that froze the window)."""
        policy = (Qt.ScrollBarPolicy.ScrollBarAsNeeded if shown
                  else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(policy)
        self.setVerticalScrollBarPolicy(policy)

    def fit(self) -> None:
        self._target = "fit"
        self._scroll_bars(False)
        if self._pixmap_item is not None:
            self.fitInView(self._pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float) -> None:
        if self._pixmap_item is None:
            return
        scale = self.transform().m11() * factor
        if 0.02 <= scale <= 8:
            self._target = None
            self._scroll_bars(True)
            self.scale(factor, factor)

    def zoom_to(self, box, margin: float = 0.15) -> None:
        """Show a page box (x0, y0, x1, y1) filling the view (drag to see the rest)."""
        self._target = tuple(box)
        self._scroll_bars(False)
        x0, y0, x1, y1 = box
        pad = margin * max(x1 - x0, y1 - y0)
        self.fitInView(QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad),
                       Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.25 if delta > 0 else 0.8)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
        elif key == Qt.Key.Key_F:
            self.fit()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._target == "fit":
            self.fit()
        elif self._target is not None:
            self.zoom_to(self._target)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.viewport().update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.hasFocus():         # (keys zoom and pan it: where they go is seen)
            painter.save()
            painter.resetTransform()
            painter.setPen(QPen(theme.ACCENT, 2))
            painter.drawRect(self.viewport().rect().adjusted(1, 1, -1, -1))
            painter.restore()
        if self._pixmap_item is None and self.placeholder:
            painter.save()
            painter.resetTransform()
            painter.setPen(theme.MUTED)
            painter.drawText(self.viewport().rect().adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            painter.restore()
