"""PDF search reports: the core's report HTML, laid out by QTextDocument, painted on a QPdfWriter.

Each result row is a document of its own, placed by hand, so that no row is cut across pages
and the column headings repeat on every page (QTextDocument's own pagination splits table rows
anywhere). Thumbnails are handed to the documents as named image resources, since
QTextDocument does not read data: URLs. Painting on a QPdfWriter is allowed outside the UI
thread. The PDF is laid out in memory and then written with Python, so a target that cannot
be written (a folder, a read-only place) raises OSError instead of QPdfWriter failing silently.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import (QColor, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen,
                           QTextDocument)

from core.atomic import replacing

from .imaging import gray_to_qimage

DPI = 150
#: Column widths in per cent of the page, as ``core.reports.result_columns`` names them.
WIDTHS = {"Rank": 6, "Drawing": 17, "Patent": 15, "Title": 20, "Locarno": 11, "Granted": 11,
          "Score": 9, "Rating": 11}
NOWRAP = " style='white-space: nowrap'"
STYLE = "font-family: sans-serif; font-size: 9pt"


#: A thumbnail taller than this times the column's width is scaled to that height instead.
TALLEST = 1.6


@dataclass
class Placement:
    """Where one block of the report was painted: page (0-based), top and height in pixels."""

    what: str           # "head", "columns", "rank N", "rule"
    page: int
    top: float
    height: float


@dataclass
class PdfLayout:
    page_height: float
    placements: list[Placement]


def write_pdf(target: Path, meta, hits: list, thumbnail: Callable[[object], np.ndarray | None],
              query_image: np.ndarray | None, ratings: dict[int, int], blind: bool
              ) -> PdfLayout:
    """Write the report of ``hits`` to ``target``; returns where each block was painted."""
    from core.reports import (RELEVANCE_RULE, precision_line, report_head_html,
                              result_cells, result_columns)

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(12, 12, 12, 14), QPageLayout.Unit.Millimeter))
    writer.setResolution(DPI)
    writer.setTitle("Prior-art search report")
    page = writer.pageLayout().paintRectPixels(DPI)
    width, height = float(page.width()), float(page.height())
    columns = result_columns(blind)
    # QTextDocument scales an image's HTML width from 96 dpi to the device's resolution
    image_width = int(WIDTHS["Drawing"] / 100 * width * 96 / DPI) - 12

    def document(body: str, images: dict[str, np.ndarray] | None = None) -> QTextDocument:
        doc = QTextDocument()
        doc.documentLayout().setPaintDevice(writer)
        doc.setDocumentMargin(0)
        for name, image in (images or {}).items():
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name),
                            gray_to_qimage(image))
        doc.setHtml(f"<html><body style='{STYLE}'>{body}</body></html>")
        doc.setTextWidth(width)
        return doc

    def row_table(cells: list[tuple[str, str]], header: bool = False) -> str:
        tag = "th" if header else "td"
        shade = " bgcolor='#e8e8e8'" if header else ""
        return ("<table width='100%' cellspacing='0' cellpadding='4'><tr>"
                + "".join(f"<{tag} width='{WIDTHS[c]}%' align='{a}' valign='top'{shade}"
                          f"{NOWRAP if c in ('Rank', 'Granted', 'Score') else ''}>"
                          f"{body}</{tag}>" for c, (a, body) in zip(columns, cells))
                + "</tr></table>")

    head_images = {"query.png": query_image} if query_image is not None else {}
    head = document(report_head_html(meta, query_src="query.png" if head_images else None,
                                     blind=blind)
                    + f"<h3>{len(hits)} results</h3>", head_images)
    heading = document(row_table([("left", html.escape(c)) for c in columns], header=True))
    placements: list[Placement] = []
    painter = QPainter(writer)
    rule = QPen(QColor("#999999"))
    rule.setWidthF(1.0)
    state = {"page": 0, "y": 0.0}

    def number_page() -> None:
        painter.save()
        painter.setPen(QColor("#666666"))
        footer = QRectF(0, height + 4, width, DPI * 0.2)
        painter.drawText(footer, int(Qt.AlignmentFlag.AlignRight), f"{state['page'] + 1}")
        painter.restore()

    def place(doc: QTextDocument, what: str) -> None:
        h = doc.size().height()
        if state["y"] > 0 and state["y"] + h > height:
            number_page()
            writer.newPage()
            state["page"] += 1
            state["y"] = 0.0
            if what.startswith("rank"):
                place(heading, "columns")
        painter.save()
        painter.translate(QPointF(0, state["y"]))
        doc.drawContents(painter)
        painter.restore()
        placements.append(Placement(what, state["page"], state["y"], h))
        state["y"] += h
        if what == "columns" or what.startswith("rank"):
            painter.setPen(rule)
            painter.drawLine(QPointF(0, state["y"]), QPointF(width, state["y"]))

    try:
        place(head, "head")
        if hits:
            place(heading, "columns")
        for hit in hits:
            image = thumbnail(hit)
            name = f"thumb-{hit.figure_id}.png"
            tall = image is not None and image.shape[0] > TALLEST * image.shape[1]
            cells = result_cells(hit, image_src=name if image is not None else None,
                                 rating=ratings.get(hit.figure_id), blind=blind,
                                 image_width=image_width,
                                 image_height=int(TALLEST * image_width) if tall else None)
            place(document(row_table(cells), {name: image} if image is not None else None),
                  f"rank {hit.rank}")
        if ratings:
            place(document(f"<p>{html.escape(precision_line(hits, ratings))}<br><small>"
                           f"{html.escape(RELEVANCE_RULE)}</small></p>"), "rule")
        number_page()
    finally:
        painter.end()
    del writer                          # ends the PDF in the buffer
    data = bytes(buffer.data())
    if not data.startswith(b"%PDF"):
        raise OSError(f"{target}: the PDF could not be laid out")
    with replacing(target, "wb") as f:
        f.write(data)
    return PdfLayout(height, placements)
