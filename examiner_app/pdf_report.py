"""PDF search reports: the core's report HTML, laid out by QTextDocument, painted on a QPdfWriter.

Each result row is a document of its own, placed by hand, so that no row is cut across pages
and the column headings repeat on every page (QTextDocument's own pagination splits table rows
anywhere); only a block taller than a page (a very long query text or title) goes on over the
next pages, cut between its lines. Thumbnails are handed to the documents as named image
resources, since QTextDocument does not read data: URLs. Painting on a QPdfWriter is allowed
outside the UI thread. The PDF is laid out in memory and then written with Python, so a target
that cannot be written (a folder, a read-only place) raises OSError instead of QPdfWriter
failing silently.
"""
from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import (QAbstractTextDocumentLayout, QColor, QFont, QFontDatabase,
                           QPageLayout, QPageSize, QPainter, QPdfWriter, QPen, QRawFont,
                           QTextDocument)

from core.atomic import replacing

from .imaging import gray_to_qimage

DPI = 150
#: Column widths in per cent of the page, as ``core.reports.result_columns`` names them.
WIDTHS = {"Rank": 5, "Drawing": 17, "Patent": 16, "Title": 18, "Locarno": 15, "Granted": 10,
          "Score": 8, "Rating": 11}
NOWRAP = " style='white-space: nowrap'"
STYLE = "font-family: sans-serif; font-size: 9pt"


#: A thumbnail taller than this times the column's width is scaled to that height instead.
TALLEST = 1.6


@dataclass
class Placement:
    """Where one block of the report was painted: page (0-based), top and height in pixels."""

    what: str           # "head", "columns", "rank N", "rule"; "... continued": the rest of
    #                     a block taller than a page, on the next page
    page: int
    top: float
    height: float


@dataclass
class PdfLayout:
    page_height: float
    placements: list[Placement]
    unprintable: str = ""       # characters no font here draws (empty boxes in the PDF)


def unprintable(text: str) -> str:
    """The characters of ``text`` that no font installed here can draw (a Chinese title on a
    system without a CJK font): the PDF shows them as empty boxes and drops them from its
    text, where the HTML report leaves the drawing to the reader's browser."""
    wanted = {c for c in text if unicodedata.category(c)[0] not in "CZ"}
    default = QRawFont.fromFont(QFont())
    missing = {c for c in wanted if not default.supportsCharacter(ord(c))}
    if not missing:
        return ""
    fonts = [QRawFont.fromFont(QFont(family)) for family in QFontDatabase.families()]
    return "".join(sorted(c for c in missing
                          if not any(f.supportsCharacter(ord(c)) for f in fonts)))


class Lines:
    """The lines of text (and pictures) of a laid-out document, block by block, in document
    pixels: where it may be cut across, and what to tell its layout to paint of a part."""

    def __init__(self, doc: QTextDocument):
        layout = doc.documentLayout()
        self.width, self.height = doc.textWidth(), doc.size().height()
        self.blocks: list[list[tuple[float, float]]] = []     # (top, bottom) of each line
        block = doc.begin()                 # (every paragraph, those in table cells too)
        while block.isValid():
            text = block.layout()
            top = layout.blockBoundingRect(block).top() - text.boundingRect().top()
            lines = [text.lineAt(i) for i in range(text.lineCount())]
            if lines:
                self.blocks.append([(top + line.y(), top + line.y() + line.height())
                                    for line in lines])
            block = block.next()

    def gaps(self) -> list[float]:
        """Where the document may be cut without cutting a line in any of its table cells:
        the bottoms of the runs of lines that overlap, and its end."""
        gaps, bottom = [], None
        for y0, y1 in sorted(line for lines in self.blocks for line in lines):
            if bottom is not None and y0 >= bottom - 0.5:
                gaps.append(bottom)
            bottom = y1 if bottom is None else max(bottom, y1)
        return gaps + [self.height]

    def clip(self, start: float, end: float) -> QRectF:
        """The paint clip that has the layout paint the lines from ``start`` to ``end`` and
        no others (lines painted outside the part would be hidden by the painter's clip,
        but still be text on the page, found by search and copied). QTextLayout also paints
        the last line of a paragraph ending above the clip's top, so its top lies past the
        first line below ``start`` of each paragraph cut there, yet above the second one's
        foot (and above the foot of every paragraph that begins below ``start``)."""
        low, high = start + 0.5, end - 0.5
        for lines in self.blocks if start > 0 else []:
            below = [line for line in lines if line[0] >= start - 0.5]
            if not below:
                continue
            if len(below) < len(lines):             # the paragraph is cut at start
                low = max(low, below[0][1] + 0.5)
                if len(below) > 1:
                    high = min(high, below[1][1])
            else:
                high = min(high, below[1][1] if len(below) > 1 else below[0][1])
        top = low if low < high else start + 0.5
        return QRectF(0, top, self.width, end - 0.5 - top)


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
    texts: list[str] = []

    def document(body: str, images: dict[str, np.ndarray] | None = None) -> QTextDocument:
        doc = QTextDocument()
        doc.documentLayout().setPaintDevice(writer)
        doc.setDocumentMargin(0)
        for name, image in (images or {}).items():
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name),
                            gray_to_qimage(image))
        doc.setHtml(f"<html><body style='{STYLE}'>{body}</body></html>")
        doc.setTextWidth(width)
        texts.append(doc.toPlainText())
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
                    + f"<h3>{html.escape(meta.results_heading(len(hits)))}</h3>", head_images)
    heading = document(row_table([("left", html.escape(c)) for c in columns], header=True))
    placements: list[Placement] = []
    painter = QPainter(writer)
    rule = QPen(QColor("#999999"))
    rule.setWidthF(1.0)
    state = {"page": 0, "y": 0.0, "headed": -1}     # headed: the last page with column headings

    def number_page() -> None:
        painter.save()
        painter.setPen(QColor("#666666"))
        footer = QRectF(0, height + 4, width, DPI * 0.2)
        painter.drawText(footer, int(Qt.AlignmentFlag.AlignRight), f"{state['page'] + 1}")
        painter.restore()

    def new_page() -> None:
        number_page()
        writer.newPage()
        state["page"] += 1
        state["y"] = 0.0

    def paint(doc: QTextDocument, what: str, start: float, end: float,
              lines: Lines | None = None) -> None:
        """Paint the part of ``doc`` from ``start`` to ``end`` (document pixels) at y."""
        painter.save()
        painter.translate(QPointF(0, state["y"] - start))
        painter.setClipRect(QRectF(0, start, width, end - start))
        context = QAbstractTextDocumentLayout.PaintContext()
        context.clip = lines.clip(start, end) if lines is not None else \
            QRectF(0, start, width, end - start)
        doc.documentLayout().draw(painter, context)
        painter.restore()
        placements.append(Placement(what, state["page"], state["y"], end - start))
        state["y"] += end - start
        if what == "columns" or what.startswith("rank") and end >= doc.size().height() - 0.5:
            painter.setPen(rule)
            painter.drawLine(QPointF(0, state["y"]), QPointF(width, state["y"]))

    def place(doc: QTextDocument, what: str, headed: bool = False) -> None:
        """Paint ``doc`` on the page, or whole on the next one when it fits there but not
        here; one taller than a page goes on over the next pages, cut between lines of text.
        ``headed``: a result, with the column headings above it on each page where it or a
        part of it comes first (so that they never stand alone at a page's foot)."""
        h = doc.size().height()
        headings = heading.size().height() if headed else 0.0
        lines: Lines | None = None          # (only for a document cut across pages)
        start = 0.0
        while True:
            top = headings if state["headed"] != state["page"] else 0.0
            room = height - state["y"] - top
            if h - start <= room:
                end: float | None = h
            elif start == 0 and state["y"] > 0 and headings + h <= height:
                end = None                      # whole on the next page
            else:
                lines = lines or Lines(doc)
                end = max((g for g in lines.gaps() if start < g <= start + room),
                          default=None)
            if end is None:
                if state["y"] == 0:             # a line taller than a page: cut it there
                    end = start + room
                else:
                    new_page()
                    continue
            if top:
                paint(heading, "columns", 0.0, top)
                state["headed"] = state["page"]
            paint(doc, what if start == 0 else f"{what} continued", start, end, lines)
            start = end
            if start >= h - 0.5:
                return
            new_page()

    try:
        place(head, "head")
        for hit in hits:
            image = thumbnail(hit)
            name = f"thumb-{hit.figure_id}.png"
            tall = image is not None and image.shape[0] > TALLEST * image.shape[1]
            cells = result_cells(hit, image_src=name if image is not None else None,
                                 rating=ratings.get(hit.figure_id), blind=blind,
                                 image_width=image_width,
                                 image_height=int(TALLEST * image_width) if tall else None)
            place(document(row_table(cells), {name: image} if image is not None else None),
                  f"rank {hit.rank}", headed=True)
        if ratings:
            line = precision_line(hits, ratings, meta.gone(len(hits)))
            place(document(f"<p>{html.escape(line)}<br><small>"
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
    return PdfLayout(height, placements, unprintable("".join(texts)))
