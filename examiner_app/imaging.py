"""Conversions between the core's grayscale numpy images and Qt images (any thread)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def gray_to_qimage(array: np.ndarray) -> QImage:
    """A QImage that owns a copy of a uint8 grayscale array."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    h, w = array.shape
    return QImage(array.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def hidpi_pixmap(image: QImage, dpr: float) -> QPixmap:
    """A pixmap drawn at ``dpr`` device pixels per logical pixel (UI thread only)."""
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(dpr)
    return pixmap
