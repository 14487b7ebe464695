"""Where a query drawing comes from: a dropped or pasted file, pasted image data, or a path
typed into the clipboard. Returns what the service can load, or says why it cannot."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage

from core.imageio import SUPPORTED_SUFFIXES, may_be_drawing_file

FILE_FILTER = ("Drawings (" + " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES)) + ");;"
               "All files (*)")


def query_from_mime(mime: QMimeData | None) -> Path | QImage | str:
    """A local file path, an image, or a message explaining why there is no usable query."""
    if mime is None:
        return "nothing to use as a query"
    if mime.hasUrls():
        files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if files:
            return files[0]
        return "only local files can be used as a query (download the drawing first)"
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return image
    if mime.hasText():
        text = mime.text().strip().strip('"')
        if text.startswith("file:"):        # a file's address, as some programs copy it
            text = QUrl(text).toLocalFile()
        if text and "\n" not in text and Path(text).expanduser().is_file():
            return Path(text).expanduser()
    return "the clipboard holds no image or drawing file"


def can_accept(mime: QMimeData | None) -> bool:
    """Whether a drag may be dropped as a query: image data, or a local file that can be a
    drawing (the one a drop would use, the first). A folder, a text file or a document of
    another kind is refused while dragging rather than failing once dropped."""
    if mime is None:
        return False
    if mime.hasUrls():
        files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if files:
            return may_be_drawing_file(files[0])
    return mime.hasImage()

