"""Layout, contrast and keyboard checks of the examiner window at the sizes examiners use
(1024, 1280 and 1920 px wide): what is shown, how wide, which widget has the focus."""
import contextlib
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from tests.test_gui import (WAIT, app_theme, run_search, searched, settings,  # noqa: E402,F401
                            sheets, window)

SIZES = ((1024, 640), (1280, 800), (1920, 1080))


# -- the history dock ---------------------------------------------------------------------
def _two_patents(library):
    """Two drawing sheets of different patents (their folders tell them apart)."""
    files = sheets(library)
    first = files[0]
    return first, next(f for f in files if f.parent != first.parent)


def _history_rows(qtbot, window, ids):
    window.acts.history.trigger()
    table = window.history.table
    shown = lambda: {table.item(i, 0).text() for i in range(table.rowCount())}  # noqa: E731
    qtbot.waitUntil(lambda: {str(i) for i in ids} <= shown(), timeout=WAIT)
    qtbot.wait(200)
    return table


def _visible_width(table, j) -> int:
    header = table.horizontalHeader()
    left = max(0, header.sectionViewportPosition(j))
    return min(table.viewport().width(), header.sectionViewportPosition(j)
               + header.sectionSize(j)) - left


def test_history_query_column_takes_the_free_width_and_names_the_patent_folder(
        qtbot, window, gui_library):
    """Searches of two patents' sheets: at 1024, 1280 and 1920 px the query column fills the
    dock beside the other columns (no sideways scrolling), and every cell shows the sheet's
    folder (the patent number), with the whole path once there is room."""
    a, b = _two_patents(gui_library)
    window.resize(1024, 640)
    window.start(gui_library, a)
    first = searched(qtbot, window)
    window.load_query(b)
    second = searched(qtbot, window, first.search_id)
    table = _history_rows(qtbot, window, [first.search_id, second.search_id])
    header = table.horizontalHeader()
    expected = {str(first.search_id): a, str(second.search_id): b}
    for size in SIZES:
        window.resize(*size)
        qtbot.wait(300)
        assert window.width() == size[0]
        others = sum(header.sectionSize(j) for j in range(header.count())
                     if j != 2 and not table.isColumnHidden(j))
        assert table.horizontalScrollBar().maximum() == 0, size
        assert header.sectionSize(2) >= table.viewport().width() - others - 1, size
        assert header.sectionSize(2) >= 100, size
        for j in (2, 3, 4):                          # query, cutoff, count: all on screen
            assert _visible_width(table, j) == header.sectionSize(j), (size, j)
        fm = table.fontMetrics()
        for i in range(table.rowCount()):
            path = expected.get(table.item(i, 0).text())
            if path is None:
                continue
            shown = table.item(i, 2).text()
            assert shown.startswith(f"{path.parent.name}/"), (size, shown)
            assert fm.horizontalAdvance(shown) <= header.sectionSize(2), (size, shown)
            if size[0] >= 1280:
                assert shown == f"{path.parent.name}/{path.name}", (size, shown)
    assert window.history.width() >= 440                 # grew back with the window


def test_history_dock_gives_way_when_a_wide_window_is_made_small(
        qtbot, window, gui_library):
    """With the history open, a window at 1920x1080 (an external monitor) made 1024x640 in
    one step (a laptop) is 1024 wide: neither the dock nor the grid's legend holds it wider."""
    window.resize(1280, 800)
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    table = _history_rows(qtbot, window, [resp.search_id])
    window.resize(1920, 1080)
    qtbot.wait(300)
    wide = window.history.width()
    window.resize(1024, 640)
    qtbot.wait(300)
    assert window.width() == 1024 and window.minimumSizeHint().width() <= 1024
    assert window.history.isVisible() and window.history.width() < wide
    assert window.results.width() >= window.results.minimumWidth()
    assert table.horizontalScrollBar().maximum() == 0
    window.resize(1920, 1080)                            # and back: the dock as it was
    qtbot.wait(300)
    assert window.width() == 1920 and window.history.width() == wide


def test_a_dragged_dock_keeps_its_share_but_not_the_results_last_column(
        qtbot, window, gui_library):
    """A dock dragged wide kept its share of a window made narrower, the results cut to less
    than a card; and the detail view shown and left squeezed it until the window resized."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    window.resize(1600, 900)
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    _history_rows(qtbot, window, [resp.search_id])
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
        if kind == QEvent.Type.MouseButtonRelease:       # the edge dragged in between
            window.resizeDocks([window.history], [1100], Qt.Orientation.Horizontal)
            qtbot.wait(100)
        QApplication.sendEvent(window, QMouseEvent(
            kind, QPointF(5, 5), QPointF(5, 5), Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert window.history._share is not None
    window.resize(1300, 900)
    qtbot.wait(300)
    card = window.results.delegate.card_size(window.results.view.font()).width()
    assert window.results.width() >= card, (window.results.width(), card)
    dock = window.history.width()
    assert dock == window.history.wanted_width(1300)     # fitted once the layout settled
    window.results.select_row(0)
    window.show_detail()
    qtbot.wait(200)
    window.show_grid()
    qtbot.wait(200)
    assert window.history.width() == dock


def test_results_keep_two_columns_beside_the_history_at_1280(qtbot, window,
                                                             gui_library):
    """At 1280x800 the history dock takes the width a readable table needs and leaves the
    results two columns of cards (it took 440 px and left one column)."""
    window.resize(1280, 800)
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    table = _history_rows(qtbot, window, [resp.search_id])
    view = window.results.view
    assert view.viewport().width() // view.gridSize().width() >= 2
    assert table.horizontalScrollBar().maximum() == 0
    assert table.horizontalHeader().sectionSize(2) >= 100
    window.resize(1920, 1080)                            # on a wide screen it takes more
    qtbot.wait(300)
    assert window.history.width() >= 440


# -- the rating chips' contrast -----------------------------------------------------------
def _luminance(color) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * linear(color.redF()) + 0.7152 * linear(color.greenF())
            + 0.0722 * linear(color.blueF()))


def contrast(a, b) -> float:
    """WCAG 2 contrast ratio of two QColors."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _painted_contrast(image, rect) -> tuple[float, str, str]:
    """(ratio, background, text) of a chip painted in ``rect`` of ``image``: its background
    is the commonest colour inside its outline, its text the colour farthest from it (a
    glyph's fully covered pixels)."""
    from collections import Counter

    from PySide6.QtGui import QColor

    pixels = [image.pixelColor(x, y).rgb()
              for x in range(rect.left() + 2, rect.right() - 1)
              for y in range(rect.top() + 2, rect.bottom() - 1)]
    background = QColor.fromRgb(Counter(pixels).most_common(1)[0][0])
    text = max((QColor.fromRgb(p) for p in set(pixels)), key=lambda c: contrast(c, background))
    return contrast(text, background), background.name(), text.name()


def test_the_rating_scale_colours_read_at_4_5_to_1():
    """Every chip's text on its background (set: the scale's colour; unset: white) and the
    outline of an unset one read at 4.5:1 or more, and the four colours stay apart."""
    from examiner_app import theme

    white = theme.CARD
    for v in theme.RATING_LABELS:
        assert contrast(theme.RATING_TEXT[v], theme.RATING_COLORS[v]) >= 4.5, v
        assert contrast(theme.RATING_INK[v], white) >= 4.5, v
    fills = [theme.RATING_COLORS[v] for v in sorted(theme.RATING_COLORS)]
    assert len({c.name() for c in fills}) == 4
    assert fills[1].hue() < fills[2].hue() and fills[0].saturation() < 60   # grey, amber, green


def test_muted_text_and_the_figures_badge_read_at_4_5_to_1(qtbot):
    """Grey notes (the results' subheader, card lines, detail labels) on every panel they sit
    on, and the "+n figures" badge as painted, read at 4.5:1 (4.42 and 4.14 before)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    from examiner_app import theme
    from examiner_app.result_delegate import ResultDelegate

    for panel in (theme.CANVAS, theme.CARD, theme.CARD_CHILD, QColor("#f6f7f9")):
        assert contrast(theme.MUTED, panel) >= 4.5, panel.name()
    assert f"QLabel#muted {{ color: {theme.MUTED.name()}; }}" in theme.STYLE_SHEET
    image = QImage(120, 30, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setFont(QFont())
    rect = QRect(2, 2, 110, 24)
    fill, ink, outline = theme.GROUP_BADGE
    ResultDelegate._badge(painter, rect, "+12 figures", fill, ink, outline=outline)
    painter.end()
    ratio, bg, fg = _painted_contrast(image, rect)
    assert ratio >= 4.5, (bg, fg, round(ratio, 2))


def test_the_focused_search_button_is_marked_at_3_to_1(qtbot, app_theme):
    """Tabbed to, the blue Search button changed its 1 px border by a shade (2.4:1 on its
    fill): its focus mark is now a 2 px border at 3:1 or more on the fill, same size."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QLineEdit, QPushButton, QVBoxLayout, QWidget

    host = QWidget()
    qtbot.addWidget(host)
    other, button = QLineEdit(), QPushButton("Search")
    button.setObjectName("primary")
    layout = QVBoxLayout(host)
    layout.addWidget(other)
    layout.addWidget(button)
    host.show()
    qtbot.waitExposed(host)
    other.setFocus()
    qtbot.waitUntil(other.hasFocus)
    plain = button.grab().toImage()
    button.setFocus()
    qtbot.waitUntil(button.hasFocus)
    focused = button.grab().toImage()
    assert plain.size() == focused.size()
    fill = focused.pixelColor(focused.width() // 2, 3)   # inside the border, above the text
    ring = focused.pixelColor(focused.width() // 2, 1)   # the border's inner line
    assert ring != plain.pixelColor(plain.width() // 2, 1)
    assert contrast(ring, fill) >= 3.0, (ring.name(), fill.name())
    assert contrast(fill, QColor("#2f6fb3")) < 1.2       # the fill itself unchanged


def test_result_card_chips_are_painted_at_4_5_to_1(qtbot):
    """The chips as the result card paints them, set and unset, measured in the pixels."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFont, QImage, QPainter

    from examiner_app.result_delegate import ResultDelegate

    delegate = ResultDelegate(160)
    card = QRect(0, 0, 200, 300)
    font = QFont()
    for rating in (None, 0, 1, 2, 3):
        image = QImage(card.size(), QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        delegate._paint_chips(painter, card, rating, font)
        painter.end()
        for value, rect in enumerate(delegate._chip_rects(card)):
            ratio, bg, fg = _painted_contrast(image, rect)
            assert ratio >= 4.5, (rating, value, bg, fg, round(ratio, 2))


def test_detail_chips_and_the_legend_read_at_4_5_to_1(qtbot, window):
    """The detail view's rating buttons, checked and not, and the grid's legend."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor

    from examiner_app import theme

    buttons = window.detail.rating_chips
    window.show()
    for checked in (False, True):
        for b in buttons.values():
            b.setChecked(checked)
            image = b.grab().toImage()
            ratio, bg, fg = _painted_contrast(image, image.rect().adjusted(1, 1, -1, -1))
            assert ratio >= 4.5, (buttons.id(b), checked, bg, fg, round(ratio, 2))
    legend = window.results.legend
    image = legend.grab().toImage()
    for v in theme.RATING_LABELS:
        fill = theme.RATING_COLORS[v].rgb()
        spots = [(x, y) for x in range(image.width()) for y in range(image.height())
                 if image.pixelColor(x, y).rgb() == fill]
        assert spots, v                                    # the legend shows the chip
        xs, ys = [p[0] for p in spots], [p[1] for p in spots]
        box = QRect(min(xs) - 2, min(ys) - 2, max(xs) - min(xs) + 5, max(ys) - min(ys) + 5)
        ratio, bg, fg = _painted_contrast(image, box)
        assert bg == QColor.fromRgb(fill).name() and ratio >= 4.5, (v, bg, fg, round(ratio, 2))


def test_a_rating_chip_shows_the_keyboard_focus(qtbot, window):
    """Each chip's own style sheet replaced the focus frame: tabbed to, it looked the same,
    so a keyboard user could not tell which rating Space would set."""
    window.show()
    window.stack.setCurrentWidget(window.detail)
    for checked in (False, True):
        for value, chip in window.detail.rating_chips.items():
            chip.setChecked(checked)
            window.detail.search_button.setFocus()
            qtbot.waitUntil(window.detail.search_button.hasFocus)
            plain = chip.grab().toImage()
            chip.setFocus(Qt.FocusReason.TabFocusReason)
            qtbot.waitUntil(chip.hasFocus)
            focused = chip.grab().toImage()
            assert focused.size() == plain.size() and focused != plain, (value, checked)


# -- keys ---------------------------------------------------------------------------------
def test_space_closes_the_detail_view_it_opened(qtbot, window, gui_library):
    """F1 lists Space for the Detail view toggle: Space opens it from the grid and goes back
    from it (as Esc does); a rating button reached with Tab still takes Space itself."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.activateWindow()
    window.show_grid()
    window.results.select_row(0)
    assert "Space" in window.acts.detail.shortcut().toString()
    qtbot.keyClick(window.results.view, Qt.Key.Key_Space)
    assert window.stack.currentWidget() is window.detail
    qtbot.keyClick(window.detail, Qt.Key.Key_Space)
    assert window.stack.currentWidget() is window.results
    assert window.results.view.hasFocus()
    qtbot.keyClick(window.results.view, Qt.Key.Key_Space)
    assert window.stack.currentWidget() is window.detail
    chip = window.detail.rating_chips[2]
    chip.setFocus()
    qtbot.keyClick(chip, Qt.Key.Key_Space)
    assert window.stack.currentWidget() is window.detail and chip.isChecked()
    qtbot.keyClick(window.detail, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.results


def test_every_rating_chip_is_a_tab_stop_rated_or_not(qtbot, window, gui_library):
    """Keyboard and screen-reader users reach each of the four rating chips with Tab, before
    and after rating (a button group let only one chip take focus)."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.show_detail()
    chips = window.detail.rating_chips
    for rating in (None, 2):
        window.detail.set_rating(rating)
        assert all(b.focusPolicy() & Qt.FocusPolicy.TabFocus for b in chips.values()), rating
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    reached = set()
    chips[0].setFocus()
    for _ in range(3):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached |= {v for v, b in chips.items() if b.hasFocus()}
    assert reached == {1, 2, 3}


def test_tab_from_the_results_goes_to_the_query_not_to_an_invisible_stop(
        qtbot, window, gui_library):
    """Tab from the results grid reaches the query sheet next (the left panel's scroll area
    shows no focus and does nothing: it is no Tab stop), and the chain goes round."""
    from PySide6.QtWidgets import QApplication, QScrollArea

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.filters.search_button.setFocus()
    seen = []
    for _ in range(3):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen[0] is window.results.view
    assert seen[1] is window.query_panel.view, [type(w).__name__ for w in seen]
    assert not any(isinstance(w, QScrollArea) for w in seen)
    assert seen[2].isVisible() and window.query_panel.isAncestorOf(seen[2])


# -- the Locarno pickers -------------------------------------------------------------------
def _painted_like(qtbot, combo, text) -> bool:
    """Whether ``combo`` looks like a plain combo box of its size showing ``text``."""
    from PySide6.QtWidgets import QComboBox

    plain = QComboBox(combo.parentWidget())
    plain.addItem(text)
    plain.setEnabled(combo.isEnabled())
    plain.setGeometry(combo.geometry())
    plain.show()
    qtbot.wait(20)
    same = plain.grab().toImage() == combo.grab().toImage()
    plain.deleteLater()
    return same


@pytest.mark.parametrize("size", SIZES)
def test_locarno_pickers_elide_long_titles_with_an_ellipsis(qtbot, window, size):
    """"07  Household goods, not elsewhere specified" is cut with "\u2026" (not mid-word with
    nothing to say so) at every window size, whole in the tooltip and in the popup list;
    the subclass picker does the same."""
    filters = window.filters
    window.resize(*size)
    qtbot.wait(100)
    filters.set_values(None, "07", None)
    sub = max(range(1, filters.subclass.count()),
              key=lambda i: len(filters.subclass.itemText(i)))
    filters.subclass.setCurrentIndex(sub)
    qtbot.wait(50)
    for combo in (filters.main_class, filters.subclass):
        full = combo.currentText()
        fm = combo.fontMetrics()
        assert fm.horizontalAdvance(full) > combo.width()      # it cannot show it whole
        shown = combo.shown_text()
        assert shown.endswith("\u2026") and full.startswith(shown[:-1].rstrip()), shown
        assert len(shown) > 10                                 # the code and some title
        assert _painted_like(qtbot, combo, shown)              # painted so, not clipped
        assert not _painted_like(qtbot, combo, full)
        assert combo.toolTip() == full
        combo.showPopup()
        view = combo.view()
        qtbot.waitUntil(view.isVisible)
        widest = max(fm.horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
        assert view.viewport().width() >= widest, (view.viewport().width(), widest)
        combo.hidePopup()


@pytest.mark.parametrize("points", [9, 12, 16])
def test_the_filing_date_shows_whole_in_a_large_system_font(qtbot, settings, points):
    """The date field is as wide as a date in the font the window opens with (at 16 pt it
    showed "26-12-05" of 2026-12-05)."""
    from examiner_app.main_window import MainWindow

    with app_font(points):
        w = MainWindow(settings)
        qtbot.addWidget(w)
        w.resize(1300, 850)
        w.show()
        qtbot.wait(100)
        edit = w.filters.date.edit
        shown = edit.contentsRect().width() - edit.textMargins().left() \
            - edit.textMargins().right()
        assert shown >= edit.fontMetrics().horizontalAdvance(edit.text()), \
            (shown, edit.text())
        w.close()


@contextlib.contextmanager
def app_font(points: int):
    """The application's font at ``points`` meanwhile (a large system font)."""
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    before = app.font()
    font = QFont(before)
    font.setPointSize(points)
    app.setFont(font)
    try:
        yield
    finally:
        app.setFont(before)


def test_the_history_beside_the_results_does_not_widen_the_window_in_a_large_font(
        qtbot, settings):
    """At 18 pt the results' page kept the detail view's least width too (a stacked widget
    asks for its largest page): opening the history widened a 1300-px window to 1479."""
    from examiner_app.main_window import MainWindow

    with app_font(18):
        w = MainWindow(settings)
        qtbot.addWidget(w)
        w.resize(1300, 850)
        w.show()
        qtbot.wait(100)
        w.history.show()
        qtbot.wait(300)
        assert w.width() == 1300
        # and the dock gives way before the results' one column (they were 216 px wide)
        card = w.results.delegate.card_size(w.results.view.font()).width()
        assert w.results.width() >= card and w.history.width() < w.history.wanted_width(2600)
        w.history._share = 0.6                  # a share dragged in a wider window: the same
        w.history.fit_to_window()
        qtbot.wait(300)
        assert w.results.width() >= card and w.width() == 1300
        w.stack.setCurrentWidget(w.detail)       # its least width counts while it is shown
        assert w.stack.minimumSizeHint().width() >= w.detail.minimumSizeHint().width()
        w.stack.setCurrentWidget(w.results)
        assert w.stack.minimumSizeHint().width() < w.detail.minimumSizeHint().width()
        w.close()


def test_the_first_window_fits_the_screen(qtbot, settings):
    """No saved geometry: the window opens at 1440x900 or the screen's free area, whichever
    is smaller (a 1280x720 laptop screen at 150 % hid the results and the Search button)."""
    from examiner_app.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    free = w.screen().availableGeometry()
    assert free.width() < 1440 or free.height() < 900     # the offscreen screen is small
    assert w.width() <= max(free.width(), w.minimumWidth()) and w.width() <= 1440
    assert w.height() <= max(free.height(), w.minimumHeight()) and w.height() <= 900
    assert w.width() >= min(1440, free.width()) - 16


def test_a_narrow_history_keeps_what_tells_its_queries_apart(qtbot):
    """At 1024 px the history's query column showed "D0906013/p…g" for page02_sheet.png and
    page03_sheet.png alike: what the names share gives way first, their sheet number stays."""
    from PySide6.QtGui import QFont, QFontMetrics

    from examiner_app.history_panel import elide_path

    fm = QFontMetrics(QFont())
    names = ["page02_sheet.png", "page03_sheet.png"]
    width = fm.horizontalAdvance("D0906013/page02_s")
    shared = (len("page0"), len("_sheet.png"))
    shown = [elide_path(fm, "D0906013/", n, width, shared) for n in names]
    assert all(fm.horizontalAdvance(s) <= width for s in shown)
    assert shown[0] != shown[1] and "2" in shown[0].split("/")[1] and \
        "3" in shown[1].split("/")[1]
    assert shown[0].startswith("D0906013/") and "\u2026" in shown[0]
    # USPTO names: what differs is longer than the room, so it is elided in its middle
    grants = ["USD0908315-20210126-D00001.TIF", "USD0908315-20210126-D00002.TIF",
              "USD0913175-20210316-D00001.TIF"]
    for width in (fm.horizontalAdvance("queries/USD0908315-2"),
                  fm.horizontalAdvance("queries/USD0908")):
        shown = [elide_path(fm, "queries/", n, width, (5, 4)) for n in grants]
        assert len(set(shown)) == 3, shown
        assert all(fm.horizontalAdvance(s) <= width for s in shown)
    # nothing shared (one name): elided in its middle as before
    assert elide_path(fm, "D0906013/", names[0], width) == "D0906013/" + fm.elidedText(
        names[0], Qt.TextElideMode.ElideMiddle, width - fm.horizontalAdvance("D0906013/"))


def test_a_very_large_sheet_is_shrunk_from_one_smaller_copy(qtbot):
    """A 1200-dpi scan shown to fit: each resize shrank the whole page again and the page
    was copied to a full-size pixmap up front (a second of frozen window per resize); it is
    shrunk from one copy made once, and the full-size pixmap waits for a zoom that needs it."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter, QTransform

    from examiner_app.zoom_view import SheetItem

    page = QImage(6000, 7800, QImage.Format.Format_Grayscale8)
    page.fill(QColor("white"))
    with QPainter(page) as p:
        p.fillRect(1000, 1000, 4000, 60, QColor("black"))       # a stroke 60 px thick
    item = SheetItem(page)

    def painted(width: int) -> QImage:
        out = QImage(width, width * 13 // 10, QImage.Format.Format_RGB32)
        out.fill(QColor("white"))
        with QPainter(out) as p:
            p.setTransform(QTransform.fromScale(width / 6000, width / 6000))
            item.paint(p, None)
        return out

    for width in (600, 640, 700):
        shown = painted(width)
        row = round(1030 * width / 6000)
        assert shown.pixelColor(width // 2, row).value() < 128      # the stroke is there
    assert item._mid is not None and item._mid.width() == SheetItem.MID
    assert item._full is None
    assert not item.full.isNull() and item._full is not None        # made when asked
    assert QRectF(item.boundingRect()) == QRectF(0, 0, 6000, 7800)


def test_the_library_dialog_is_not_cut_in_a_large_font(qtbot, settings, gui_library):
    """At 18 pt on an 800-px screen the dialog's contents were wider than it and cut on the
    right ("Add to library", "Open another library" half shown, no way to scroll to them)."""
    from PySide6.QtWidgets import QPushButton

    from examiner_app.main_window import MainWindow

    with app_font(18):
        w = MainWindow(settings)
        qtbot.addWidget(w)
        w.show()
        w.start(gui_library, None)
        qtbot.waitUntil(lambda: w.service.info is not None, timeout=WAIT)
        w.show_library_dialog()
        dialog = w._library_dialog
        qtbot.waitExposed(dialog)
        qtbot.wait(200)
        assert dialog.width() <= dialog.screen().availableGeometry().width()
        viewport = dialog.body.viewport()
        inside = [b for b in dialog.body.widget().findChildren(QPushButton) if b.isVisible()]
        assert {"Add to library", "Rebuild index\u2026"} <= {b.text() for b in inside}
        for b in inside:
            right = b.mapTo(viewport, b.rect().topRight()).x()
            assert right < viewport.width(), (b.text(), right, viewport.width())
        rows = [dialog.summary.itemAt(i, dialog.summary.ItemRole.FieldRole).widget()
                for i in range(dialog.summary.rowCount())]
        assert any(r.text().startswith("tiny_test-") for r in rows)
        for r in rows:
            right = r.mapTo(viewport, r.rect().topLeft()).x() + r.width()
            assert right <= viewport.width(), (r.text(), right, viewport.width())
        w.close()
