"""PDF search reports: the core's HTML report laid out by QTextDocument on a QPdfWriter.

Thumbnails are handed to the document as named image resources, since QTextDocument does not
read data: URLs. Painting on a QPdfWriter is allowed outside the UI thread. The PDF is laid out
in memory and then written with Python, so a target that cannot be written (a folder, a
read-only place) raises OSError instead of QPdfWriter failing silently.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QUrl
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from core.atomic import replacing

from .imaging import gray_to_qimage


def write_pdf(target: Path, meta, hits: list, thumbnail: Callable[[object], np.ndarray | None],
              query_image: np.ndarray | None, ratings: dict[int, int], blind: bool) -> None:
    from core.reports import search_html

    doc = QTextDocument()
    images: dict[str, np.ndarray] = {}

    def source(hit) -> str | None:
        image = thumbnail(hit)
        if image is None:
            return None
        name = f"thumb-{hit.figure_id}.png"
        images[name] = image
        return name

    text = search_html(meta, hits, image_src=source, ratings=ratings, blind=blind,
                       query_src="query.png" if query_image is not None else None)
    if query_image is not None:
        images["query.png"] = query_image
    for name, image in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name),
                        gray_to_qimage(image))
    doc.setHtml(text)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
    writer.setResolution(150)
    writer.setTitle("Prior-art search report")
    doc.print_(writer)
    del writer                          # ends the PDF in the buffer
    data = bytes(buffer.data())
    if not data.startswith(b"%PDF"):
        raise OSError(f"{target}: the PDF could not be laid out")
    with replacing(target, "wb") as f:
        f.write(data)
