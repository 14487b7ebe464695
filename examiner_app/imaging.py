"""Conversions between the core's grayscale numpy images and Qt images (any thread)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def gray_to_qimage(array: np.ndarray) -> QImage:
    """A QImage that owns a copy of a uint8 grayscale (or RGB: a marked-up page) array."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim == 3:
        h, w, _ = array.shape
        return QImage(array.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    h, w = array.shape
    return QImage(array.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def hidpi_pixmap(image: QImage, dpr: float) -> QPixmap:
    """A pixmap drawn at ``dpr`` device pixels per logical pixel (UI thread only)."""
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(dpr)
    return pixmap
