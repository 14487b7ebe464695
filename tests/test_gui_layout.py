"""Layout, contrast and keyboard checks of the examiner window at the sizes examiners use
(1024, 1280 and 1920 px wide): what is shown, how wide, which widget has the focus."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from tests.test_gui import (WAIT, run_search, searched, settings, sheets,  # noqa: E402,F401
                            window)

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
        qtbot, window, gui_library_source):
    """Searches of two patents' sheets: at 1024, 1280 and 1920 px the query column fills the
    dock beside the other columns (no sideways scrolling), and every cell shows the sheet's
    folder (the patent number), with the whole path once there is room."""
    a, b = _two_patents(gui_library_source)
    window.resize(1024, 640)
    window.start(gui_library_source, a)
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
        qtbot, window, gui_library_source):
    """With the history open, a window at 1920x1080 (an external monitor) made 1024x640 in
    one step (a laptop) is 1024 wide: neither the dock nor the grid's legend holds it wider."""
    window.resize(1280, 800)
    window.start(gui_library_source, sheets(gui_library_source)[0])
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
