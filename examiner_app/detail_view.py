"""Detail view of one result: the query and the result's sheet side by side at full resolution
(zoom and pan each), every drawing page of that patent, its metadata, rating buttons, and
"search with this drawing" / "open the source file"."""
from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractButton, QFrame, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QScrollArea, QSplitter,
                               QToolButton, QVBoxLayout, QWidget)

from core.reports import corrected_text
from core.sources import display_patent_id

from . import theme
from .elided_label import ElidedLabel
from .plain_text import plain, tip
from .thumbnails import ThumbnailLoader
from .zoom_view import ZoomView

STRIP_SIDE = 110
CHIP_LABELS_WIDTH = 760   # narrower (or too narrow for them in the font in use): the
                          # rating chips show their key alone, the title has a row of its own
META_WIDTH = 220          # the metadata's least width: a file name fits on a line
MATCH_COLOR = QColor("#c0392b")
OTHER_COLOR = QColor(47, 111, 179, 140)


def _least_width(layout) -> int:
    """The least width ``layout`` needs with its widgets as they are now (each nested layout
    caches its own until events are processed)."""
    def invalidate(item) -> None:
        for i in range(item.count()):
            if (inner := item.itemAt(i).layout()) is not None:
                invalidate(inner)
        item.invalidate()

    invalidate(layout)
    return layout.minimumSize().width()


class DetailView(QWidget):
    back = Signal()
    rateRequested = Signal(object)            # int 0..3 or None
    searchWith = Signal(str, int, object)     # path, page index, box list or None
    stepRequested = Signal(int)               # -1 previous, +1 next result
    message = Signal(str, str)                # level, text

    def __init__(self, service, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.service = service
        self.thumbnails = thumbnails
        self.hit = None
        self.position = None
        self.details: dict | None = None
        self.shown_page: tuple[str, int] | None = None
        self._query_key: tuple[str, int, str] | None = None    # (path, page, sha256) shown
        self.blind = False

        self.title = ElidedLabel()            # a long title never widens the window
        self.title.setObjectName("resultsHeader")
        back = QPushButton("\u2190 Results")
        back.setToolTip("Back to the results grid (Esc)")
        back.clicked.connect(self.back.emit)
        self.prev_button = prev_b = QToolButton()
        self.next_button = next_b = QToolButton()
        prev_b.setText("\u25c0")
        prev_b.setToolTip("Previous result (K)")
        prev_b.setAccessibleName("Previous result")
        next_b.setText("\u25b6")
        next_b.setToolTip("Next result (J)")
        next_b.setAccessibleName("Next result")
        prev_b.clicked.connect(lambda: self.stepRequested.emit(-1))
        next_b.clicked.connect(lambda: self.stepRequested.emit(1))
        # (not a QButtonGroup: Qt lets only one checkable button of a group take Tab focus)
        self.rating_chips: dict[int, QToolButton] = {}
        chips = QHBoxLayout()
        chips.setSpacing(3)
        for value, label in theme.RATING_LABELS.items():
            b = QToolButton()
            b.setText(f"{value}  {label}")
            b.setCheckable(True)
            b.setToolTip(f"Rate {value}: {label} (key {value}; click again to clear)")
            b.setAccessibleName(f"Rate {value}, {label}")       # (its text may be the digit)
            ink, fill = theme.RATING_INK[value].name(), theme.RATING_COLORS[value].name()
            b.setStyleSheet(f"QToolButton {{ border: 1px solid {ink}; color: {ink}; "
                            f"border-radius: 4px; padding: 3px 7px; background: white; }}"
                            f"QToolButton:checked {{ background: {fill}; border-color: {fill}; "
                            f"color: {theme.RATING_TEXT[value].name()}; }}"
                            # the keyboard focus: a thicker accent frame, the same size
                            f"QToolButton:focus {{ border: 2px solid {theme.ACCENT.name()}; "
                            f"padding: 2px 6px; }}")
            b.clicked.connect(lambda _=False, v=value: self._chip_clicked(v))
            self.rating_chips[value] = b
            chips.addWidget(b)
        self.search_button = QPushButton("Search with this drawing")
        self.search_button.setToolTip("Use the result's sheet (and figure) as the new query "
                                      "(Ctrl+Shift+F)")
        self.search_button.clicked.connect(self.search_with_shown)
        self.open_button = QPushButton("Open source file")
        self.open_button.setToolTip("Open the drawing file in the system viewer (Ctrl+Shift+O)")
        self.open_button.clicked.connect(self.open_source)

        # two rows (three when narrow), so the detail view never needs a wider window than
        # the grid
        self._bar = bar = QHBoxLayout()
        bar.addWidget(back)
        bar.addWidget(prev_b)
        bar.addWidget(next_b)
        bar.addStretch()                        # (the title's, when it has a row of its own)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.search_button)
        bar.addWidget(self.open_button)
        self._title_row = QHBoxLayout()
        bar2 = QHBoxLayout()
        self.page_label = plain(QLabel())
        self.page_label.setObjectName("muted")
        self.page_label.setWordWrap(True)
        bar2.addWidget(self.page_label, 1)
        self.elsewhere = plain(QLabel())        # a collapsed patent's other figures' ratings
        self.elsewhere.setObjectName("ratedElsewhere")
        self.elsewhere.hide()
        bar2.addWidget(self.elsewhere)
        bar2.addLayout(chips)

        self.query_view = ZoomView("No query")
        self.query_view.setAccessibleName("The query drawing, zoomable")
        self.result_view = ZoomView("Loading\u2026")
        self.result_view.setAccessibleName("The result's drawing, zoomable")
        for v in (self.query_view, self.result_view):
            v.setAcceptDrops(False)
            v.viewport().setAcceptDrops(False)
        sides = QSplitter(Qt.Orientation.Horizontal)
        query_side = _titled("Query", self.query_view)
        self.query_title = query_side.findChild(QLabel)
        self._query_box: list | None = None
        sides.addWidget(query_side)
        sides.addWidget(_titled("Result", self.result_view))
        self.strip = QListWidget()
        self.strip.setAccessibleName("The result patent's pages")
        self.strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.strip.setFlow(QListWidget.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(STRIP_SIDE, STRIP_SIDE))
        self.strip.setFixedHeight(STRIP_SIDE + 62)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip.setToolTip("All drawing pages of this patent; click one to show it")
        self.strip.currentRowChanged.connect(self._strip_row)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        meta_scroll = QScrollArea()            # long figure lists scroll, the sheets keep room
        meta_scroll.setAccessibleName("The result patent's details")
        meta_scroll.setWidget(self.meta)
        meta_scroll.setWidgetResizable(True)
        meta_scroll.setFrameShape(QFrame.Shape.NoFrame)
        meta_scroll.setFixedHeight(STRIP_SIDE + 62)
        meta_scroll.setMinimumWidth(META_WIDTH)    # the text wraps to it; a longer word scrolls
        bottom = QHBoxLayout()
        bottom.addWidget(self.strip, 3)
        bottom.addWidget(meta_scroll, 2)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(bar)
        lay.addLayout(self._title_row)
        lay.addLayout(bar2)
        lay.addWidget(sides, 1)
        lay.addLayout(bottom)
        self._least_unlabelled: int | None = None
        self._label_chips(False)                # named in full once it is shown wide enough
        thumbnails.ready.connect(self._thumbnail_ready)
        thumbnails.failed.connect(lambda key, why: self._thumbnail_ready(key))

    def event(self, event) -> bool:
        # Space and Return go back to the results (the Detail view toggle), but a button
        # reached with Tab keeps them: they press it, as everywhere else
        if event.type() == QEvent.Type.ShortcutOverride and \
                event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                isinstance(self.focusWidget(), QAbstractButton) and \
                self.isAncestorOf(self.focusWidget()):
            event.accept()
            return True
        return super().event(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width = event.size().width()
        if width >= CHIP_LABELS_WIDTH and self._label_chips(True) > width:
            self._label_chips(False)    # a large font: the labels would widen the window
        elif width < CHIP_LABELS_WIDTH:
            self._label_chips(False)

    def _label_chips(self, labelled: bool) -> int:
        """Rating chips name their grade and buttons say it in full when there is room; else
        a chip shows its key alone (the tooltip names it) and the title takes a row of its
        own, so the view never holds the window wide nor squeezes the title. Returns the
        least width the view needs so."""
        row = self._bar if labelled else self._title_row
        if row.indexOf(self.title) < 0:
            (self._title_row if labelled else self._bar).removeWidget(self.title)
            row.insertWidget(4 if labelled else 0, self.title, 1)
        for value, b in self.rating_chips.items():
            b.setText(f"{value}  {theme.RATING_LABELS[value]}" if labelled else f" {value} ")
        self.search_button.setText("Search with this drawing" if labelled else "Search with it")
        self.open_button.setText("Open source file" if labelled else "Open file")
        least = _least_width(self.layout())
        if not labelled:
            self._least_unlabelled = least
        return least

    def minimumSizeHint(self) -> QSize:
        """The least width is the one without the labels: the window's layout squeezes the
        view (which then drops them), never widening the window for them (a dock opened)."""
        hint = super().minimumSizeHint()
        if self._least_unlabelled is None:
            return hint
        return QSize(min(hint.width(), self._least_unlabelled), hint.height())

    # -- content ----------------------------------------------------------------------------
    def show_result(self, hit, rating, query, query_box, position: int | None = None,
                    query_page: int | None = None, hidden: list[int] = (),
                    ends: tuple[bool, bool] = (False, False)) -> None:
        """Show ``hit`` (a SearchHit) next to ``query`` (service.QueryPage, may be None)
        with ``query_box`` outlined, on ``query_page`` of its file when that is another page
        (a search with all pages); ``position``: its rank as the grid shows it (the
        patent's, when grouped by patent); ``hidden``: the ratings of the patent's other
        figures its collapsed card marks (the chips here rate this figure); ``ends``: it is
        the first, the last result (no step back, on)."""
        self.prev_button.setEnabled(not ends[0])
        self.next_button.setEnabled(not ends[1])
        same_patent = self.hit is not None and self.hit.patent_id == hit.patent_id
        self.hit = hit
        self.position = position
        self.set_rating(rating)
        self.set_rated_elsewhere(hidden)
        self.title.setText(display_patent_id(hit.patent_id)
                           + (f" \u2014 {hit.title}" if hit.title else ""))
        if query is not None:
            page = query.page_index if query_page is None else query_page
            key = (query.path, page, query.sha256)          # (a file saved over: its sha256)
            if self._query_key != key:
                self._query_key = key
                if page == query.page_index:
                    self.query_view.set_image(query.image)
                else:
                    self._load_query_page(key)
            self._query_box = query_box
            self._outline_query()
        else:
            self.query_view.set_image(None)
            self.query_view.placeholder = "No query"
            self._query_key = None
        self.query_title.setText("Query" if query is None or query.n_pages < 2 else
                                 f"Query — page {self._query_key[1] + 1} of "
                                 f"{query.n_pages}")
        if not same_patent:
            self.details = None
            self.strip.blockSignals(True)     # clearing moves the current row: no page change
            self.strip.clear()
            self.strip.blockSignals(False)
        self._show_page(hit.image, hit.page_index)
        if not same_patent:
            self._render_meta()
            self.service.patent_details(hit.patent_id, on_done=self._details_loaded)
        else:
            self._render_meta()
            self._select_strip(hit.image, hit.page_index)

    def set_rating(self, rating) -> None:
        for value, b in self.rating_chips.items():
            b.setChecked(value == rating)

    def set_rated_elsewhere(self, hidden: list[int]) -> None:
        from .results_model import hidden_text

        self.elsewhere.setText(f"{hidden_text(list(hidden)).capitalize()}; these rate this "
                               "figure:" if hidden else "")
        self.elsewhere.setToolTip("Ratings of other figures of this patent in this search, "
                                  "which the grid's card marks with a dot; expand the card "
                                  "(E) to see them" if hidden else "")
        self.elsewhere.setVisible(bool(hidden))

    def set_blind(self, blind: bool) -> None:
        self.blind = blind
        self._render_meta()

    def _outline_query(self) -> None:
        self.query_view.clear_boxes()
        if self._query_box is not None and self.query_view.has_image():
            self.query_view.add_box(self._query_box, MATCH_COLOR, width=2.5)
            self.query_view.zoom_to(self._query_box)
        else:
            self.query_view.fit()

    def _load_query_page(self, key: tuple) -> None:
        """Another page of the query file (the one with the query figure a result of a
        search with all pages matched)."""
        def loaded(image):
            if self._query_key == key:
                self.query_view.set_image(image)
                self._outline_query()

        def failed(exc):
            if self._query_key == key:
                self.query_view.placeholder = f"Cannot show this query page:\n{exc}"
                self.query_view.viewport().update()

        self.query_view.set_image(None)
        self.query_view.placeholder = "Loading\u2026"
        self.service.load_page(key[0], key[1], on_done=loaded, on_error=failed)

    def _show_page(self, path: str, page_index: int) -> None:
        key = (path, page_index)
        self.shown_page = key
        self._label_page()
        self.result_view.set_image(None)

        def loaded(image):
            if self.shown_page != key:
                return
            self.result_view.set_image(image)
            self._draw_result_boxes()
            if (self.hit.image, self.hit.page_index) == key:
                self.result_view.zoom_to(self.hit.figure)   # the matched figure, full size

        def failed(exc):
            if self.shown_page == key:
                self.result_view.placeholder = f"Cannot show this drawing:\n{exc}"
                self.result_view.viewport().update()
                self.message.emit("warning", str(exc))

        self.result_view.placeholder = "Loading\u2026"
        self.service.load_page(path, page_index, on_done=loaded, on_error=failed)

    def _label_page(self) -> None:
        """"Sheet 4 — page04_sheet.png (2 of 3 pages)": which page of the patent is shown."""
        if self.shown_page is None:
            self.page_label.clear()
            return
        path, page_index = self.shown_page
        name = Path(path).name + (f", page {page_index + 1} of the file" if page_index else "")
        pages = (self.details or {}).get("pages", [])
        at = [i for i, p in enumerate(pages) if (p["path"], p["page_index"]) == self.shown_page]
        if not at:
            self.page_label.setText(name)
            return
        self.page_label.setText(f"{_page_name(pages[at[0]])} \u2014 {name} "
                                f"({at[0] + 1} of {len(pages)} pages)")

    def _draw_result_boxes(self) -> None:
        self.result_view.clear_boxes()
        if self.hit is None or self.shown_page is None or not self.result_view.has_image():
            return                  # (a page that could not be read shows why, unmarked)
        path, page_index = self.shown_page
        for f in (self.details or {}).get("figures", []):
            if (f["image"], f["page_index"]) == (path, page_index) and \
                    f["figure_id"] != self.hit.figure_id:
                self.result_view.add_box([f["x0"], f["y0"], f["x1"], f["y1"]], OTHER_COLOR,
                                         width=1.5)
        if (self.hit.image, self.hit.page_index) == (path, page_index):
            self.result_view.add_box(self.hit.figure, MATCH_COLOR, width=2.5)

    def _details_loaded(self, details: dict) -> None:
        if self.hit is None or details.get("patent", {}).get("patent_id") != self.hit.patent_id:
            return
        self.details = details
        self.strip.blockSignals(True)
        self.strip.clear()
        for page in details["pages"]:
            item = QListWidgetItem(_page_name(page))
            item.setData(Qt.ItemDataRole.UserRole, (page["path"], page["page_index"]))
            item.setSizeHint(QSize(STRIP_SIDE + 16, STRIP_SIDE + 36))
            self.strip.addItem(item)
        self.strip.blockSignals(False)
        self._refresh_strip_icons()
        self._select_strip(*self.shown_page)
        self._label_page()
        self._render_meta()
        self._draw_result_boxes()

    def _refresh_strip_icons(self) -> None:
        dpr = self.devicePixelRatioF()
        for i in range(self.strip.count()):
            item = self.strip.item(i)
            path, page_index = item.data(Qt.ItemDataRole.UserRole)
            key = ThumbnailLoader.key(path, page_index, None, STRIP_SIDE, dpr)
            pm = self.thumbnails.pixmap(key, dpr)
            error = self.thumbnails.errors.get(key)
            item.setIcon(QIcon(pm) if pm is not None else QIcon(_blank(error is not None)))
            item.setToolTip(tip(f"Cannot show this page: {error}") if error else "")

    def _thumbnail_ready(self, key) -> None:
        if key[2] is None and self.strip.count():
            self._refresh_strip_icons()

    def _select_strip(self, path: str, page_index: int) -> None:
        for i in range(self.strip.count()):
            if self.strip.item(i).data(Qt.ItemDataRole.UserRole) == (path, page_index):
                self.strip.blockSignals(True)
                self.strip.setCurrentRow(i)
                self.strip.blockSignals(False)
                return

    def _strip_row(self, row: int) -> None:
        if row >= 0:
            path, page_index = self.strip.item(row).data(Qt.ItemDataRole.UserRole)
            self._show_page(path, page_index)

    def _render_meta(self) -> None:
        if self.hit is None:
            self.meta.clear()
            return
        h = self.hit
        p = (self.details or {}).get("patent", {})
        rows = [("Patent", display_patent_id(h.patent_id)),
                ("Title", h.title or "-"),
                ("Granted", h.grant_date or "undated"),
                ("Filed", h.filing_date or "-"),
                ("Locarno", f"{h.locarno or '-'} {h.locarno_title or ''}"
                 + (f" (edition {p['locarno_edition']})" if p.get("locarno_edition") else "")),
                ("Rank", str(h.rank) if self.position in (None, h.rank) else
                 str(self.position) if self.blind else      # (the model's order is hidden)
                 f"{self.position} (its figure ranks {h.rank} among all figures)")]
        if not self.blind:
            rows.append(("Score", f"{h.score:.4f}"))
        rows.append(("File", f"{h.image} (page {h.page_index + 1})"))
        if h.corrected:
            rows.append(("Corrected", f"since this search; now {corrected_text(h)}"))
        table = "".join(f"<tr><td style='color:{theme.MUTED.name()}; padding-right:8px'>{k}</td>"
                        f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
        figs = json.loads(p["figure_descriptions"]) if p.get("figure_descriptions") else []
        extra = ("<div style='margin-top:4px; color:#3d4753'>" + "<br>".join(
            html.escape(f) for f in figs[:12]) + "</div>") if figs else ""
        self.meta.setText(f"<table>{table}</table>{extra}")

    # -- zoom -------------------------------------------------------------------------------
    def zoomed_view(self) -> ZoomView:
        """The sheet the zoom keys act on: the query's once it was clicked or tabbed to, else
        the result's (the view itself has the focus when it opens)."""
        return self.query_view if self.query_view.hasFocus() else self.result_view

    def zoom_in(self) -> None:
        self.zoomed_view().zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoomed_view().zoom_by(0.8)

    def fit_page(self) -> None:
        self.zoomed_view().fit()

    # -- actions ----------------------------------------------------------------------------
    def _chip_clicked(self, value: int) -> None:
        checked = self.rating_chips[value].isChecked()
        self.set_rating(value if checked else None)
        self.rateRequested.emit(value if checked else None)

    def search_with_shown(self) -> None:
        if self.hit is None or self.shown_page is None:
            return
        path, page_index = self.shown_page
        on_match_page = (self.hit.image, self.hit.page_index) == (path, page_index)
        self.searchWith.emit(path, page_index, self.hit.figure if on_match_page else None)

    def open_source(self, path: str | None = None) -> None:
        """Open ``path`` (default: the page shown) in the system viewer."""
        if path is None and self.shown_page is None:
            return
        path = path or self.shown_page[0]
        if not Path(path).exists():
            self.message.emit("warning", f"{path}: the file is no longer there")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def _page_name(page: dict) -> str:
    """A page of the store as the examiner knows it: "Front page", "Representative view" (a
    grant's D00000 drawing), "Sheet 4" or its file."""
    return ("Front page" if page["page_kind"] == "front_page" else
            "Representative view" if page["page_kind"] == "front_view" else
            f"Sheet {page['sheet']}" if page["sheet"] else Path(page["path"]).name)


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    label = QLabel(title)
    label.setObjectName("muted")
    lay.addWidget(label)
    lay.addWidget(widget, 1)
    return box


def _blank(unavailable: bool = False) -> QPixmap:
    """A white tile while a page's thumbnail loads; crossed out when it cannot be read."""
    pm = QPixmap(STRIP_SIDE, STRIP_SIDE)
    pm.fill(QColor("white"))
    if unavailable:
        painter = QPainter(pm)
        painter.setPen(QPen(MATCH_COLOR, 2))
        painter.drawLine(12, 12, STRIP_SIDE - 12, STRIP_SIDE - 12)
        painter.drawLine(12, STRIP_SIDE - 12, STRIP_SIDE - 12, 12)
        painter.setPen(theme.MUTED)
        painter.drawText(pm.rect().adjusted(4, 0, -4, -6),
                         int(Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter),
                         "unavailable")
        painter.end()
    return pm
