"""The examiner window driven offscreen with real drawings: searching (open, drop, paste),
filters, figure picks and crops, ratings landing in SQLite, exports, history, library
maintenance (a cancelled rebuild) and bad input shown as messages, never as crashes."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import csv  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import QDate, QMimeData, QPointF, QRect, QSettings, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage  # noqa: E402

from examiner_app.main_window import MainWindow  # noqa: E402
from examiner_app.results_model import HitRole, RatingRole  # noqa: E402
from examiner_app.settings import Settings  # noqa: E402

pytestmark = pytest.mark.realdata
WAIT = 60_000


@pytest.fixture
def settings(tmp_path) -> Settings:
    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.examiner, s.study, s.session = "Ada Examiner", "pilot", "s-1"
    return s


@pytest.fixture
def window(qtbot, settings):
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    yield w
    if w._library_dialog is not None:   # a test that failed mid-run: no "Quit?" box to hang on
        w._library_dialog.cancel()
    w.close()


def sheets(library: Path) -> list[Path]:
    """Drawing sheets of the patents in the test library (from its manifest)."""
    import json

    rows = [json.loads(line) for line in (library.parent / "manifest.jsonl").read_text()
            .splitlines()]
    return [Path(r["image"]) for r in rows if r["page_kind"] == "drawing_sheet"]


def searched(qtbot, w, before: int | None = None):
    """Wait for the answer to the latest search request (and the busy bar to go)."""
    qtbot.waitUntil(lambda: w.response is not None and not w.busy.isVisible(), timeout=WAIT)
    if before is not None:
        qtbot.waitUntil(lambda: w.response.search_id != before, timeout=WAIT)
    return w.response


def stored_ratings(library: Path, search_id: int) -> dict[int, int]:
    """The current ratings of a logged search as the library holds them, by figure id."""
    from core.store import Store

    store = Store(library / "library.sqlite", create=False)
    try:
        return {r["figure_id"]: r["rating"] for r in store.current_ratings(search_id=search_id)}
    finally:
        store.close()


def paint_card(view, ix, state=None):
    """The result card of ``ix`` as ``view``'s delegate paints it (``state``: a change to the
    view's style state, e.g. selected or with the keyboard)."""
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    delegate = view.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(view)
    if state is not None:
        option.state = state(option.state)
    size = delegate.sizeHint(option, ix)
    option.rect = QRect(0, 0, size.width(), size.height())
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, ix)
    painter.end()
    return image


def run_search(qtbot, w):
    previous = w.response.search_id if w.response is not None else None
    w.search()
    return searched(qtbot, w, previous)


def test_open_query_searches_and_fills_the_grid(qtbot, window, gui_library_source):
    query = sheets(gui_library_source)[0]
    window.start(gui_library_source, query, before=None)
    resp = searched(qtbot, window)
    assert resp.results and window.model.rowCount() > 0
    assert "patents" in window.results.header.text()
    # thumbnails arrive lazily from a worker and are then served from the cache
    window.model.data(window.model.index(0), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: window.model.data(window.model.index(0),
                                              Qt.ItemDataRole.DecorationRole) is not None,
                    timeout=WAIT)
    assert (gui_library_source / "thumbnails").is_dir()
    window.model.set_device_pixel_ratio(2.0)             # high-DPI: twice the pixels
    decoration = lambda: window.model.data(window.model.index(0),  # noqa: E731
                                           Qt.ItemDataRole.DecorationRole)
    decoration()
    qtbot.waitUntil(lambda: decoration() is not None, timeout=WAIT)
    pixmap = decoration()
    assert pixmap.devicePixelRatio() == 2.0 and max(pixmap.width(), pixmap.height()) > 180
    assert max(pixmap.deviceIndependentSize().width(),
               pixmap.deviceIndependentSize().height()) <= 180
    # the search is in the audit log with the examiner and session
    window.history.show()
    qtbot.waitUntil(lambda: window.history.table.rowCount() > 0, timeout=WAIT)


def test_drop_and_paste_run_searches(qtbot, window, gui_library):
    window.start(gui_library)
    files = sheets(gui_library)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(files[1])), QUrl.fromLocalFile(str(files[2]))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    resp = searched(qtbot, window)
    assert resp.query == str(files[1]) and resp.results
    assert f"2 files were dropped; the query is the first, {files[1].name}" in \
        window.banner.text.text()                # the second is not silently left out

    QGuiApplication.clipboard().setImage(QImage(str(files[2])))
    window.paste()
    resp = searched(qtbot, window, resp.search_id)
    assert resp.results
    assert Path(resp.query).parent == gui_library / "queries"   # kept for the audit trail

    pasted = Path(resp.query)               # a write cut short (disk full) left it empty:
    whole = pasted.read_bytes()             # pasting the drawing again writes it whole
    pasted.write_bytes(b"")
    window.paste()
    again = searched(qtbot, window, resp.search_id)
    assert again.query == resp.query and again.results and pasted.read_bytes() == whole
    assert list(pasted.parent.glob(".*.part")) == []
    assert pasted.stat().st_mode & 0o077 == 0       # an unpublished drawing: the user's only
    pasted.chmod(0o644)                             # (as an older version saved it)
    window.paste()
    searched(qtbot, window, again.search_id)
    assert pasted.stat().st_mode & 0o077 == 0


def test_date_cutoff_and_locarno_filter_change_results(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    window.filters.no_cutoff.setChecked(True)
    everything = run_search(qtbot, window).results
    assert "title (Text)" in window.results.subheader.text()      # drawing only: a hint
    dates = sorted(h.grant_date for h in everything)
    cutoff = date.fromisoformat(dates[len(dates) // 2])
    window.filters.set_values(cutoff, None, None)
    earlier = run_search(qtbot, window).results
    assert earlier and len({h.patent_id for h in earlier}) < len({h.patent_id for h in everything})
    assert all(h.grant_date < cutoff.isoformat() for h in earlier)
    assert not window.banner.isVisible()
    future = date.fromordinal(date.today().toordinal() + 1000)   # (a typo, say): said so
    window.filters.set_values(future, None, None)
    assert len(run_search(qtbot, window).results) == len(everything)
    assert window.banner.level == "info" and window.banner.text.text() == (
        f"The filing date {future.isoformat()} is after today: every dated patent in the "
        "library counts as prior art.")
    window.filters.set_values(cutoff, None, None)
    run_search(qtbot, window)
    assert not window.banner.isVisible()

    code = everything[-1].locarno
    window.filters.set_values(None, code[:2], None)
    in_class = run_search(qtbot, window).results
    assert in_class and all(h.locarno.startswith(code[:2]) for h in in_class)
    assert window.filters.locarno() == code[:2]
    window.filters.main_class.setCurrentIndex(window.filters.main_class.findData("31"))
    assert window.filters.locarno() == "31-00"      # its one code, logged as the CLI logs it
    window.filters.set_values(None, code[:2], None)
    window.filters.text.setText("drinking mug")
    assert run_search(qtbot, window).text == "drinking mug"
    assert "title (Text)" not in window.results.subheader.text()
    assert window.results.header.text().endswith(
        "searched with the drawing and the text \u201cdrinking mug\u201d")


def test_searches_run_again_only_when_something_changed(qtbot, window, gui_library):
    """Tabbing through "Show up to" logs no new search, a new value does; a search by the
    title alone follows a new cutoff as a drawing's does, and reopening it warns of no
    missing query file."""
    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    window.filters.k.editingFinished.emit()              # focus in and out, unchanged
    qtbot.wait(600)
    assert window.response.search_id == first.search_id and not window.busy.isVisible()
    window.filters.k.setValue(7)
    window.filters.k.editingFinished.emit()
    assert len(searched(qtbot, window, first.search_id).results) == 7

    window.query = None                                  # the title alone
    window.query_panel.clear()
    window.filters.text.setText("")
    window.search()                                      # nothing to search with: a hint
    assert window.banner.isVisible() and "type a text" in window.banner.text.text()
    window.filters.text.setText("drinking mug")
    text_only = run_search(qtbot, window)
    assert text_only.query is None
    assert not window.banner.isVisible(), window.banner.text.text()     # the hint is gone
    window.filters.text.setText("a drinking mug with a handle " * 40)
    long_text = run_search(qtbot, window)
    assert long_text.text_words_read and window.banner.level == "warning"
    assert window.banner.text.text().startswith(
        f"The text is longer than the model reads: only its first {long_text.text_words_read} "
        "words were read.")
    window.filters.text.setText("drinking mug")
    text_only = run_search(qtbot, window)
    window.filters.date.setDate(QDate(2015, 1, 1))
    moved = searched(qtbot, window, text_only.search_id)
    assert moved.query is None and moved.before == "2015-01-01"

    window.reopen(text_only.search_id)
    qtbot.waitUntil(lambda: window.response.search_id == text_only.search_id, timeout=WAIT)
    qtbot.wait(100)
    assert not window.banner.isVisible(), window.banner.text.text()


def searched_with_the_date_focused(qtbot, window, library):
    """A search of the library's first sheet filed 2020-05-05, the date field focused."""
    window.start(library, sheets(library)[0])
    window.filters.set_values(date(2020, 5, 5), None, None)
    first = run_search(qtbot, window)
    edit = window.filters.date.edit
    window.activateWindow()
    edit.setFocus()
    return first, edit


def test_a_date_typed_by_hand_is_searched_once_entered(qtbot, window, gui_library):
    """Typing a filing date searches (and logs) nothing per key, only the date entered
    (Enter or the focus leaving); an arrow-key step searches at once."""
    first, edit = searched_with_the_date_focused(qtbot, window, gui_library)
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    for key in "2018-03-17":
        qtbot.keyClick(edit, key)
        qtbot.wait(300)                     # past the filters' pause before searching
        assert window.response.search_id == first.search_id and not window.busy.isVisible()
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    typed = searched(qtbot, window, first.search_id)
    assert typed.before == "2018-03-17"
    qtbot.keyClick(edit, Qt.Key.Key_Up)     # a step: searched at once
    stepped = searched(qtbot, window, typed.search_id)
    assert stepped.before == "2018-03-18" and edit.text() == "2018-03-18"
    window.results.view.setFocus()          # leaving it unchanged searches no more
    qtbot.wait(600)
    assert window.response.search_id == stepped.search_id and not window.busy.isVisible()

    edit.setFocus()                         # the US way, read and shown back as ISO
    edit.selectAll()
    qtbot.keyClicks(edit, "03/09/2018")
    window.results.view.setFocus()          # leaving it with a new date typed searches it
    assert searched(qtbot, window, stepped.search_id).before == "2018-03-09"
    assert edit.text() == "2018-03-09"


@pytest.mark.parametrize("typed, expected", [("2019-07-31", "2019-07-31"),
                                             ("20190731", "2019-07-31"),
                                             ("31.07.2019", "2019-07-31"),
                                             ("Jul 4 2019", "2019-07-04")])
def test_a_date_typed_over_the_whole_field_is_the_date_searched(qtbot, typed, expected):
    """Select all and type: the whole date is taken (QDateEdit kept the old year: Ctrl+A,
    2019-07-31 became 2026-07-31, a cutoff seven years off)."""
    from examiner_app.filters import FilterPanel

    panel = FilterPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.date.setDate(QDate(2026, 12, 5))
    edit = panel.date.edit
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(panel.changed, timeout=2000):
        qtbot.keyClicks(edit, typed)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert panel.before() == date.fromisoformat(expected) and edit.text() == expected


def test_a_typed_date_that_is_not_one_is_refused_and_searched_with_nothing(
        qtbot, window, gui_library):
    """An impossible or ambiguous date is said in the banner and marked in the field; no
    search runs with the old date meanwhile (Ctrl+Enter neither), and fixing it searches
    and takes the warning away. A date typed and not entered is what Ctrl+Enter searches,
    once."""
    first, edit = searched_with_the_date_focused(qtbot, window, gui_library)
    for bad, why in (("2019-02-30", "not a calendar date"), ("07-08-2019", "could be"),
                     ("7/31/19", "year in full"), ("1019-07-31", "between 1790")):
        edit.selectAll()
        qtbot.keyClicks(edit, bad)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        assert window.banner.isVisible() and why in window.banner.text.text()
        assert edit.styleSheet() and window.filters.date.date() == QDate(2020, 5, 5)
        window.acts.search.trigger()        # Ctrl+Enter
        qtbot.wait(400)
        assert window.response.search_id == first.search_id and not window.busy.isVisible()
    edit.selectAll()
    qtbot.keyClicks(edit, "2019-07-08")     # typed, not entered: Ctrl+Enter takes it
    assert not window.banner.isVisible() and not edit.styleSheet()
    window.acts.search.trigger()
    fixed = searched(qtbot, window, first.search_id)
    assert fixed.before == "2019-07-08"
    window.results.view.setFocus()          # already searched: not again
    qtbot.wait(600)
    assert window.response.search_id == fixed.search_id


def test_a_search_that_starts_by_itself_leaves_a_half_typed_date_alone(qtbot, window,
                                                                        gui_library):
    """A search the examiner did not ask for (a filter changed, a figure picked) searches the
    date entered and leaves the text being typed as it is; reopening a logged search right
    after a date was entered by leaving the field shows that search, not a new one; the
    calendar opens on the date typed."""
    first, edit = searched_with_the_date_focused(qtbot, window, gui_library)
    edit.selectAll()
    qtbot.keyClicks(edit, "2018-12-2")                  # half typed
    window.filters.main_class.setCurrentIndex(3)        # a search by itself
    moved = searched(qtbot, window, first.search_id)
    assert moved.before == "2020-05-05" and edit.text() == "2018-12-2"
    edit.setText("2018-03-17")
    qtbot.keyClick(edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert window.filters.date.calendar.selectedDate() == QDate(2018, 3, 17)
    window.filters.date.calendar.hide()
    edit.setFocus()
    window.history.setFocus()                           # entered by leaving the field
    window.reopen(first.search_id)
    qtbot.waitUntil(lambda: "reopened" in window.results.subheader.text(), timeout=WAIT)
    qtbot.wait(600)
    assert window.response.search_id == first.search_id
    assert window.filters.date.date() == QDate(2020, 5, 5)


def test_the_filing_date_calendar_picks_a_date_and_searches(qtbot, window, gui_library):
    first, _ = searched_with_the_date_focused(qtbot, window, gui_library)
    field = window.filters.date
    qtbot.keyClick(field.edit, Qt.Key.Key_PageDown)        # a month earlier, at once
    month = searched(qtbot, window, first.search_id)
    assert month.before == "2020-04-05"
    qtbot.keyClick(field.edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert field.calendar.isVisible() and field.calendar.selectedDate() == QDate(2020, 4, 5)
    field.calendar.activated.emit(QDate(2017, 1, 2))
    assert not field.calendar.isVisible() and field.edit.text() == "2017-01-02"
    assert searched(qtbot, window, month.search_id).before == "2017-01-02"


def test_a_failed_search_clears_the_results_it_replaced(qtbot, window, gui_library,
                                                       tmp_path):
    """A blank sheet cannot be searched: the earlier search's results do not stay under
    "Search failed" (where ratings would go to that earlier search)."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    blank = tmp_path / "blank.png"
    image = QImage(800, 1000, QImage.Format.Format_Grayscale8)
    image.fill(255)
    image.save(str(blank))
    window.load_query(blank)
    qtbot.waitUntil(lambda: window.results.header.text() == "Search failed", timeout=WAIT)
    assert window.model.rowCount() == 0 and window.response is None
    assert window.banner.level == "error"


def test_rebuild_notices_go_when_the_rebuild_ends(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.service.maintenanceChanged.emit(True)
    assert "Rebuilding" in window.banner.text.text()
    assert not window.filters.search_button.isEnabled()
    window.service.maintenanceChanged.emit(False)
    assert not window.banner.isVisible() and window.filters.search_button.isEnabled()


def test_a_search_asked_for_during_a_rebuild_keeps_the_results_and_runs_after_it(
        qtbot, window, gui_library):
    """Changing a filter (or Enter) while the index is rebuilt does not wipe the results on
    screen with a refused search: the search runs when the rebuild ends."""
    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    rows = window.model.rowCount()
    window.service.maintenance = True
    window.service.maintenanceChanged.emit(True)
    window.filters.no_cutoff.setChecked(True)         # a filter change: a search wanted
    qtbot.waitUntil(lambda: "this search runs when it finishes" in
                    window.banner.text.text(), timeout=WAIT)
    assert window.response is first and window.model.rowCount() == rows > 0
    assert "Search failed" not in window.results.header.text()
    window.service.maintenance = False
    window.service.maintenanceChanged.emit(False)
    resp = searched(qtbot, window, first.search_id)
    assert resp.before is None and not window.banner.isVisible()


def test_a_search_reopened_during_a_rebuild_keeps_the_results_and_opens_after_it(
        qtbot, window, gui_library):
    """Reopening a logged search from the history while the index was rebuilt failed: the
    results on screen (and their ratings) were wiped, "Search failed"."""
    files = sheets(gui_library)
    window.start(gui_library, files[0])
    first = searched(qtbot, window)
    window.load_query(files[1])
    second = searched(qtbot, window, first.search_id)
    rows = window.model.rowCount()
    window.service.maintenance = True
    window.service.maintenanceChanged.emit(True)
    window.reopen(first.search_id)
    qtbot.waitUntil(lambda: f"search #{first.search_id} reopens when it finishes" in
                    window.banner.text.text(), timeout=WAIT)
    qtbot.wait(300)
    assert window.response is second and window.model.rowCount() == rows > 0
    assert "Search failed" not in window.results.header.text()
    window.service.maintenance = False
    window.service.maintenanceChanged.emit(False)
    qtbot.waitUntil(lambda: window.response is not None
                    and window.response.search_id == first.search_id, timeout=WAIT)
    assert "reopened from" in window.results.subheader.text()


def test_figure_pick_and_crop_search_that_part(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    view = window.query_panel.view
    box = view.boxes[0].to_list()
    crop = (box[0], box[1], (box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
    window.query_panel.set_selection(0)
    picked = run_search(qtbot, window)
    previous = window.response.search_id
    view.cropDrawn.emit(crop)
    resp = searched(qtbot, window, previous)
    assert resp.query_figures == [list(crop)]
    assert "crop" in window.results.header.text()
    # the log says which: the history and the reports name the figure or the crop
    from core.store import Store

    store = Store(gui_library / "library.sqlite", create=False)
    try:
        logged = {i: store.search_record(i) for i in (picked.search_id, resp.search_id)}
    finally:
        store.close()
    assert logged[picked.search_id]["params"]["region"] == "figure 1"
    assert logged[resp.search_id]["params"]["region"] == "crop"
    from examiner_app.history_panel import query_label

    assert query_label(logged[picked.search_id]).endswith(" fig.1")
    assert query_label(logged[resp.search_id]).endswith(" crop")
    window.show()
    window.activateWindow()
    window.results.view.setFocus()
    qtbot.waitUntil(window.results.view.hasFocus)
    window.acts.crop.trigger()                       # C in the results, then Esc: crop off
    assert view.crop_mode and window.query_panel.crop.isChecked()
    qtbot.waitUntil(view.hasFocus)                   # the sheet, where the box is drawn
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.crop_mode and not window.query_panel.crop.isChecked()
    window.acts.crop.trigger()                       # so one C starts it again
    assert view.crop_mode


def test_the_keyboard_reaches_the_results_from_a_field_and_leaves_the_history(
        qtbot, window, gui_library):
    """A search run from a field left the keyboard there (J typed into the date) with no key
    to the results; Tab went cell by cell through the history table, never out of it."""
    from PySide6.QtWidgets import QApplication

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.activateWindow()
    window.filters.date.setFocus()
    assert QApplication.focusWidget() is not window.results.view
    qtbot.keyClick(window.filters.date, Qt.Key.Key_F6)
    assert QApplication.focusWidget() is window.results.view
    assert window.results.current_row() == 0
    qtbot.keyClick(window.results.view, Qt.Key.Key_J)
    assert window.results.current_row() == 1
    from examiner_app.shortcuts import shortcut_rows

    assert ("Results", "Go to results", "F6") in shortcut_rows(window.menuBar())

    window.acts.history.trigger()                   # Ctrl+H: the keyboard goes with it
    table = window.history.table
    qtbot.waitUntil(lambda: table.rowCount() > 0, timeout=WAIT)
    assert QApplication.focusWidget() is table
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not table
    table.setFocus()
    window.acts.history.trigger()       # closed: back to the results (it fell to the query
    assert not window.history.isVisible()   # drawing, where the rating keys do nothing)
    assert QApplication.focusWidget() is window.results.view


def test_rating_by_keyboard_is_stored_at_once(qtbot, window, gui_library, settings):
    from core.store import Store

    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    window.show_grid()
    window.results.select_row(0)
    qtbot.keyClick(window.results.view, Qt.Key.Key_J)            # next result
    assert window.results.current_row() == 1
    qtbot.keyClick(window.results.view, Qt.Key.Key_2)
    hit = window.results.view.currentIndex().data(HitRole)
    assert window.results.view.currentIndex().data(RatingRole) == 2

    def stored():
        store = Store(gui_library / "library.sqlite", create=False)
        try:
            return store.current_ratings(search_id=resp.search_id)
        finally:
            store.close()
    qtbot.waitUntil(lambda: len(stored()) == 1, timeout=WAIT)
    row = stored()[0]
    assert (row["rating"], row["patent_id"], row["figure_id"], row["rank"]) == \
        (2, hit.patent_id, hit.figure_id, hit.rank)     # its rank in the logged search
    assert (row["examiner"], row["study"], row["session"]) == ("Ada Examiner", "pilot", "s-1")
    assert row["model_id"] == resp.model_id and row["query_sha256"] == resp.query_sha256
    qtbot.waitUntil(lambda: "1 rated" in window.session_label.text(), timeout=WAIT)
    from dataclasses import replace

    summaries = []           # the summary counts this study's ratings, as export and scoring
    for study in ("pilot", "another study"):
        window.service.session_summary(replace(window.identity(), study=study),
                                       on_done=summaries.append)
    qtbot.waitUntil(lambda: len(summaries) == 2, timeout=WAIT)
    assert [s.rated for s in summaries] == [1, 0]

    qtbot.keyClick(window.results.view, Qt.Key.Key_Delete)          # clearing is stored too
    qtbot.waitUntil(lambda: stored() == [], timeout=WAIT)
    qtbot.keyClick(window.results.view, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: len(stored()) == 1, timeout=WAIT)
    qtbot.keyClick(window.results.view, Qt.Key.Key_Backspace)       # (laptops without Del)
    qtbot.waitUntil(lambda: stored() == [], timeout=WAIT)


def test_ratings_made_in_another_window_show_when_this_one_is_back_in_front(
        qtbot, window, gui_library):
    """Two windows of one examiner on the same search: what was rated in the other shows
    here once this window is active again (it kept showing what it had loaded)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from core.store import Store

    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    window.show_grid()
    hit = window.model.index(1, 0).data(HitRole)
    ident = window.identity()
    store = Store(gui_library / "library.sqlite", create=False)      # the other window
    try:
        store.add_rating(search_id=resp.search_id, patent_id=hit.patent_id,
                         figure_id=hit.figure_id, rank=hit.rank, rating=3,
                         model_id=resp.model_id, query_sha256=resp.query_sha256,
                         examiner=ident.examiner, study=ident.study or None,
                         session=ident.session)
    finally:
        store.close()
    assert window.model.index(1, 0).data(RatingRole) is None
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    qtbot.waitUntil(lambda: window.model.index(1, 0).data(RatingRole) == 3, timeout=WAIT)

    # a rating given here just after the window came to the front stays shown (the ratings
    # read for it, without this one, replaced it on screen)
    window.show_grid()
    window.results.select_row(0)
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    qtbot.keyClick(window.results.view, Qt.Key.Key_2)
    rated = window.model.index(0, 0).data(HitRole).figure_id

    qtbot.waitUntil(lambda: stored_ratings(gui_library, resp.search_id).get(rated) == 2,
                    timeout=WAIT)
    qtbot.wait(300)
    assert window.model.index(0, 0).data(RatingRole) == 2
    assert window.model.index(1, 0).data(RatingRole) == 3


def test_commands_about_a_result_say_why_they_do_nothing_before_a_search(qtbot, window,
                                                                          gui_library):
    """Detail view, Expand, Search with this drawing and Open source file did nothing and said
    nothing with no result yet; Crop turned crop mode on over an empty query area."""
    window.start(gui_library, None)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    for act, to in ((window.acts.detail, "compare with the query"),
                    (window.acts.expand, "expand its patent"),
                    (window.acts.more, "search with its drawing"),
                    (window.acts.source, "open its file")):
        window.banner.hide()
        act.trigger()
        assert window.banner.isVisible() and window.banner.level == "info"
        assert window.banner.text.text() == f"No result to {to}: search first."
    crop = window.query_panel.crop
    assert not crop.isEnabled()
    window.acts.crop.trigger()
    assert not crop.isChecked() and "Open or drop a drawing first" in window.banner.text.text()
    window.load_query(sheets(gui_library)[0])
    qtbot.waitUntil(lambda: window.query_panel.query is not None, timeout=WAIT)
    assert crop.isEnabled()
    window.acts.crop.trigger()
    assert crop.isChecked()
    window.acts.crop.trigger()
    window.filters.set_values(date(1791, 1, 1), None, None)    # before every grant: none
    assert not run_search(qtbot, window).results
    window.acts.detail.trigger()            # (it said "search first" after this search)
    assert window.banner.text.text() == "No result to compare with the query: this search " \
        "found none."


def test_ratings_follow_a_rebuild_run_from_the_command_line(qtbot, window, gui_library):
    """`index rebuild` in another process swaps a new database in while the window has the
    library open: the ratings made after it are in the library (they went to the deleted
    old database, each reported as saved)."""
    import subprocess
    import sys

    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    window.show_grid()

    def stored():
        return stored_ratings(gui_library, resp.search_id)

    hits = []
    for row, key in ((0, Qt.Key.Key_3), (1, Qt.Key.Key_1)):
        window.results.select_row(row)
        hits.append(window.results.view.currentIndex().data(HitRole).figure_id)
        qtbot.keyClick(window.results.view, key)
        qtbot.waitUntil(lambda: len(stored()) == row + 1, timeout=WAIT)
        if row == 0:
            proc = subprocess.run([sys.executable, "-m", "core.cli", "index", "rebuild",
                                   "--library", str(gui_library)],
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr
    assert stored() == {hits[0]: 3, hits[1]: 1}


def test_a_rating_that_cannot_be_stored_is_taken_back_on_screen(qtbot, window, gui_library,
                                                                monkeypatch):
    """A full disk while rating: the message says so and the card shows the rating the
    library holds, so the screen and a report exported from it agree with the library."""
    import sqlite3

    from core.store import Store

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(2)
    qtbot.waitUntil(lambda: "(saved)" in window.statusBar().currentMessage(), timeout=WAIT)

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(Store, "add_rating", full)
    window.show_detail()
    window.rate_current(3)
    assert window.model.index(0).data(RatingRole) == 3                 # shown at once
    qtbot.waitUntil(lambda: "not saved" in window.banner.text.text(), timeout=WAIT)
    assert window.model.index(0).data(RatingRole) == 2
    assert [b.isChecked() for b in window.detail.rating_chips.values()] == \
        [False, False, True, False]


def test_ratings_exported_while_another_library_opens_are_not_the_last_ones(
        qtbot, window, gui_library, tmp_path):
    """Export right after opening another library (its model still loading) wrote the last
    library's ratings as if they were this one's; a library that failed to open did too."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(gui_library, other)                    # the same drawings, no ratings
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(3)
    qtbot.waitUntil(lambda: window.model.index(0).data(RatingRole) == 3, timeout=WAIT)
    out = tmp_path / "ratings.csv"
    window.open_library(other)
    window.export_ratings(out)
    qtbot.waitUntil(lambda: "not exported" in window.banner.text.text(), timeout=WAIT)
    assert "still opening" in window.banner.text.text() and not out.exists()
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.export_ratings(out)
    qtbot.waitUntil(lambda: "saved to" in window.banner.text.text(), timeout=WAIT)
    assert list(csv.DictReader(out.open())) == []
    window.open_library(tmp_path / "nowhere")            # failed: its reason, no ratings
    qtbot.waitUntil(lambda: window.service.problem is not None, timeout=WAIT)
    window.export_ratings(out)
    qtbot.waitUntil(lambda: "not exported" in window.banner.text.text(), timeout=WAIT)
    assert "nowhere" in window.banner.text.text()


def test_the_window_searches_on_after_another_program_rebuilt_with_another_model(
        qtbot, window, gui_library, tmp_path):
    """`index rebuild --model OTHER` in a terminal while the window is open: each later
    search failed ("rebuilt ... while this search ran; search again") until the library was
    opened again by hand; now the window loads the model and searches with it."""
    from core.ingest import rebuild
    from core.library import Library
    from core.models import create_model, load_checkpoint, save_checkpoint

    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    ck = save_checkpoint(create_model("tiny_test", pretrained=None, seed=5), tmp_path / "ck")
    other = load_checkpoint(ck)
    with Library(gui_library) as writer:
        rebuild(writer, other, model_ref=str(ck), workers=0)
    window.banner.hide()
    window.acts.replay.trigger()            # run again: with the model it was rebuilt with
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert window.banner.level == "warning" and other.model_id in window.banner.text.text()
    assert window.service.model_id == other.model_id        # and the status bar says it
    qtbot.waitUntil(lambda: other.model_id in window.model_label.text(), timeout=WAIT)
    resp = run_search(qtbot, window)
    assert resp.model_id == other.model_id != first.model_id and resp.results
    assert window.service.model_id == other.model_id
    qtbot.waitUntil(lambda: other.model_id in window.model_label.text(), timeout=WAIT)


def test_a_search_of_the_last_library_is_not_shown_in_the_one_opened(qtbot, window,
                                                                    gui_library, tmp_path):
    """A search still running when another library was opened showed its results under the
    new library, and a rating of them was filed there, for a search it does not hold."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(gui_library, other)
    window.start(gui_library, None)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.load_query(sheets(gui_library)[0])       # searches once the drawing is read
    qtbot.waitUntil(lambda: "Searching" in window.results.header.text()
                    or window.response is not None, timeout=WAIT)
    window.open_library(other)
    qtbot.waitUntil(lambda: window.service.info is not None
                    and window.service.path == other, timeout=WAIT)
    qtbot.wait(300)
    assert window.response is None and window.model.rowCount() == 0


def test_a_query_file_cut_off_after_some_page_is_said_so(qtbot, window, gui_library,
                                                         cut_tiff):
    """A TIFF cut off inside its third page showed "Page 1 of 2" and "All pages (2)" as if
    it were whole; the window says what is missing, and which pages can be searched."""
    from PIL import Image

    window.start(gui_library, cut_tiff([Image.open(s) for s in sheets(gui_library)[:3]], 2))
    searched(qtbot, window)
    assert window.query.n_pages == 2 and window.banner.level == "warning"
    assert "cut.tif: damaged or truncated image (it is cut off or damaged after page 2" in \
        window.banner.text.text() and "Pages 1 to 2 can be searched" in \
        window.banner.text.text()
    combo = window.query_panel.figure                   # "All pages" would only fail
    assert not [combo.itemText(i) for i in range(combo.count())
                if combo.itemText(i).startswith("All pages")]


def test_the_detail_view_of_the_last_library_goes_when_another_opens(qtbot, window,
                                                                    gui_library, tmp_path):
    """The detail view kept the last library's result under the new one, and its rating
    chips took a rating that was never saved."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(gui_library, other)
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.show_detail()
    assert window.stack.currentWidget() is window.detail
    window.open_library(other)
    assert window.stack.currentWidget() is window.results
    qtbot.waitUntil(lambda: window.service.info is not None
                    and window.service.path == other, timeout=WAIT)
    window.toggle_detail()                          # nothing to show: the grid stays
    assert window.stack.currentWidget() is window.results


def test_a_demo_library_refused_while_an_add_runs_leaves_the_open_library_as_it_was(
        qtbot, window, gui_library, tmp_path, monkeypatch):
    """File ▸ Demo library while Manage library adds to the open library: the demo was
    refused, but the status bar kept saying "Preparing the demo library..." and the demo's
    query was loaded and searched in the open library, its note kept for the next one."""
    from PySide6.QtCore import QTimer

    window.start(gui_library, None)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    opened = window.library_label.text()
    window.show_library_dialog()
    dialog = window._library_dialog
    class Running:
        def cancel(self):
            pass

    monkeypatch.setattr(dialog, "task", Running())           # an add running
    monkeypatch.setattr(dialog, "running_text", lambda: "Adding drawings")

    class Demo:
        path, queries = tmp_path / "demo", [sheets(gui_library)[0]]

    def build_demo(path, n, on_progress, on_done, on_error):
        QTimer.singleShot(50, lambda: on_done(Demo()))
        return Running()

    monkeypatch.setattr(window.service, "build_demo", build_demo)
    window.start_demo()
    assert window.library_label.text() == "Preparing the demo library\u2026"
    qtbot.waitUntil(lambda: window._demo_task is None, timeout=WAIT)
    assert "open another library when it has finished" in window.banner.text.text()
    assert window.library_label.text() == opened and window.query is None
    assert window._note_when_open is None and window.service.path == gui_library
    dialog.task = None                                        # (the add "finished")
    monkeypatch.setattr(dialog, "running_text", lambda: None)


def test_the_library_dialog_follows_a_library_opened_another_way(qtbot, window, gui_library,
                                                                 tmp_path):
    """File ▸ Demo library (or a recent library) with Manage library open: the dialog kept
    showing the last library, and its Add added to the one now open without the demo's
    question."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(gui_library, other)
    window.start(gui_library, None)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    dialog = window._library_dialog
    qtbot.waitUntil(lambda: str(gui_library) in dialog.path_label.text(), timeout=WAIT)
    window.open_library(other)
    qtbot.waitUntil(lambda: str(other) in dialog.path_label.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: dialog._info is not None
                    and dialog._info["library"] == str(other), timeout=WAIT)


def test_exports_write_valid_files(qtbot, window, gui_library, tmp_path, monkeypatch):
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(3)
    ratings_csv = tmp_path / "ratings.csv"
    window.export_ratings(ratings_csv)
    qtbot.waitUntil(lambda: "saved to" in window.banner.text.text(), timeout=WAIT)
    rows = list(csv.DictReader(ratings_csv.open()))
    assert len(rows) == 1 and rows[0]["rating"] == "3" and rows[0]["relevant"] == "1"
    assert rows[0]["search_id"] == str(resp.search_id) and rows[0]["session"] == "s-1"
    window.settings.study = "main"              # same session id in another study: not mixed in
    window.results.select_row(1)
    window.rate_current(1)
    window.export_ratings(ratings_csv)
    qtbot.waitUntil(lambda: "in study main" in window.banner.text.text(), timeout=WAIT)
    rows = list(csv.DictReader(ratings_csv.open()))
    assert [(r["study"], r["rating"]) for r in rows] == [("main", "1")]
    window.rate_current(2)                      # changed: the events export keeps both
    qtbot.waitUntil(lambda: window.model.index(1).data(RatingRole) == 2, timeout=WAIT)
    events_csv = tmp_path / "events.csv"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (str(events_csv), a[3].split(";;")[1]))
    window.export_ratings_dialog()
    qtbot.waitUntil(lambda: "2 rating events" in window.banner.text.text(), timeout=WAIT)
    rows = list(csv.DictReader(events_csv.open(encoding="utf-8-sig")))
    assert [(r["change"], r["previous_rating"], r["rating"]) for r in rows] == \
        [("rated", "", "1"), ("changed", "1", "2")]

    said = []
    window.statusBar().messageChanged.connect(said.append)
    for name in ("report.csv", "report.html", "report.pdf"):
        window.export_report(tmp_path / name)
        qtbot.waitUntil(lambda: window.banner.text.text().endswith(name), timeout=WAIT)
    n = len(resp.results)                           # the pictures' progress, HTML and PDF
    assert said.count(f"Writing the report\u2026 {n} of {n} pictures") == 2, said
    table = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert [int(r["rank"]) for r in table] == [h.rank for h in resp.results]
    assert table[0]["rating"] == "3" and table[0]["model_id"] == resp.model_id
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64" in html and resp.results[0].patent_id[1:4] in html
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_history_reopens_a_search_exactly(qtbot, window, gui_library, tmp_path):
    import shutil

    files = sheets(gui_library)
    query = tmp_path / "application.png"
    shutil.copy(files[0], query)
    window.start(gui_library, query)
    window.filters.set_values(date(2020, 1, 1), None, None)
    first = run_search(qtbot, window)
    live_header = window.results.header.text()
    window.results.select_row(0)
    window.rate_current(1)
    window.filters.set_values(None, None, None)
    window.load_query(files[2])
    searched(qtbot, window, first.search_id)
    window.reopen(first.search_id)
    qtbot.waitUntil(lambda: window.response.search_id == first.search_id, timeout=WAIT)
    assert [h.figure_id for h in window.response.results] == \
        [h.figure_id for h in first.results]
    assert window.filters.before() == date(2020, 1, 1)
    assert window.model.index(0).data(RatingRole) == 1
    qtbot.waitUntil(lambda: window.query.path == str(query), timeout=WAIT)
    assert not window.banner.isVisible()
    assert window.results.header.text() == live_header       # the same words as it ran

    shutil.copy(files[2], query)             # the query file changed since: say so
    window.reopen(first.search_id)
    qtbot.waitUntil(lambda: "has changed" in window.banner.text.text(), timeout=WAIT)


def test_a_reopened_search_marks_the_results_the_library_corrected_since(
        qtbot, window, gui_library):
    """A result whose grant date or class was corrected after the search is shown as it was
    logged, and its card, tooltip and detail view say so with today's values; the others
    carry no mark."""
    from core.library import Library

    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    fixed = first.results[0]
    with Library(gui_library) as lib, lib.store.transaction():
        lib.store.conn.execute("UPDATE patents SET grant_date = '1999-01-02' "
                               "WHERE patent_id = ?", (fixed.patent_id,))
    window.reopen(first.search_id)
    qtbot.waitUntil(lambda: "corrected" in window.banner.text.text(), timeout=WAIT)
    rows = [window.model.index(r) for r in range(window.model.rowCount())]
    marked = [ix for ix in rows if ix.data(HitRole).corrected]
    assert {ix.data(HitRole).patent_id for ix in marked} == {fixed.patent_id}
    assert marked[0].data(HitRole).grant_date == fixed.grant_date        # as logged
    assert "corrected since: now granted 1999-01-02" in \
        marked[0].data(Qt.ItemDataRole.ToolTipRole)
    plain = next(ix for ix in rows if not ix.data(HitRole).corrected)
    assert "corrected" not in plain.data(Qt.ItemDataRole.ToolTipRole)

    def card(ix) -> QImage:
        return paint_card(window.results.view, ix)

    def amber(image: QImage) -> int:
        return sum(image.pixelColor(x, y) == QColor("#fff5d6")
                   for x in range(image.width()) for y in range(image.height()))

    assert amber(card(marked[0])) > 100 and amber(card(plain)) == 0
    window.results.view.setCurrentIndex(marked[0])
    window.show_detail()
    assert "now granted 1999-01-02" in window.detail.meta.text()


def test_the_detail_views_step_buttons_stop_at_the_ends(qtbot, window, gui_library):
    """On the first result "previous" and on the last "next" did nothing while looking
    clickable."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    last = window.model.rowCount() - 1
    assert last > 1
    window.results.select_row(0)
    window.show_detail()
    assert not window.detail.prev_button.isEnabled() and window.detail.next_button.isEnabled()
    window.detail.next_button.click()
    assert window.results.current_row() == 1
    assert window.detail.prev_button.isEnabled() and window.detail.next_button.isEnabled()
    window.results.select_row(last)
    window.show_detail()
    assert window.detail.prev_button.isEnabled() and not window.detail.next_button.isEnabled()


def test_a_search_reopened_in_the_detail_view_shows_its_own_query(qtbot, window, gui_library):
    """Reopening a search with the detail view open shows that search's query sheet beside
    its result (it kept the sheet of the search on screen before), or none for a search by
    the words alone."""
    files = sheets(gui_library)
    window.start(gui_library, files[1])
    b = searched(qtbot, window)
    window.filters.text.setText("drinking mug")
    window.acts.clear_query.trigger()
    words = searched(qtbot, window, b.search_id)
    window.filters.text.clear()
    window.load_query(files[0])
    searched(qtbot, window, words.search_id)
    window.show_detail()
    assert window.detail._query_key[:2] == (str(files[0]), 0)

    window.reopen(b.search_id)
    qtbot.waitUntil(lambda: window.query is not None and window.query.path == str(files[1]),
                    timeout=WAIT)
    assert window.stack.currentWidget() is window.detail
    assert window.detail._query_key[:2] == (str(files[1]), 0)
    assert window.detail.hit == window.current_hit()
    window.reopen(words.search_id)
    qtbot.waitUntil(lambda: window.response.search_id == words.search_id, timeout=WAIT)
    assert window.query is None and not window.detail.query_view.has_image()



def test_the_detail_view_follows_a_new_search_without_results_or_a_new_query_file(
        qtbot, window, gui_library, tmp_path):
    """With the detail view open, a search that finds nothing or fails goes back to the grid
    (it kept showing the old result, rated nowhere); a query file saved over with another
    drawing shows that drawing beside its results (it kept the old one, cached by name)."""
    import shutil

    files = sheets(gui_library)
    query = tmp_path / "query.png"
    shutil.copyfile(files[0], query)
    window.start(gui_library, query)
    first = searched(qtbot, window)
    window.show_detail()
    old = window.detail.query_view._pixmap_item.image
    shutil.copyfile(files[3], query)
    window.load_query(query)
    second = searched(qtbot, window, first.search_id)
    assert window.stack.currentWidget() is window.detail
    assert window.detail.query_view._pixmap_item.image == window.query.image != old

    window.filters.date.setDate(QDate(1990, 1, 1))          # before every patent
    empty = searched(qtbot, window, second.search_id)
    assert not empty.results and window.stack.currentWidget() is window.results
    window.filters.no_cutoff.setChecked(True)
    searched(qtbot, window, empty.search_id)
    window.show_detail()
    query.unlink()
    window.filters.no_cutoff.setChecked(False)
    qtbot.waitUntil(lambda: window.results.header.text() == "Search failed", timeout=WAIT)
    assert window.stack.currentWidget() is window.results

def test_history_runs_a_search_again_and_says_whether_it_reproduces(
        qtbot, window, gui_library, tmp_path):
    """The history's context menu action replays a logged search against today's library: the
    same ranking is an info banner, a query file changed since is an error naming it. Search
    \u25b8 Run again and compare (Ctrl+Shift+R) does the same for the search on screen."""
    import shutil

    window.acts.replay.trigger()
    assert "No logged search on screen" in window.banner.text.text()
    files = sheets(gui_library)
    query = tmp_path / "application.png"
    shutil.copy(files[0], query)
    window.start(gui_library, query)
    first = searched(qtbot, window)
    window.acts.history.trigger()
    table = window.history.table
    qtbot.waitUntil(lambda: table.rowCount() > 0, timeout=WAIT)
    row = next(i for i in range(table.rowCount())
               if window.history.search_id(i) == first.search_id)
    window.history.replayRequested.emit(window.history.search_id(row))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert window.banner.level == "info"
    assert f"Search #{first.search_id} reproduces: today's library gives the same " \
        f"{len(first.results)} results in the same order" in window.banner.text.text()
    assert window.banner._timer.isActive()          # good news does not stay on for good
    shutil.copy(files[2], query)
    assert window.acts.replay.shortcut().toString() == "Ctrl+Shift+R"
    window.acts.replay.trigger()
    qtbot.waitUntil(lambda: "has changed" in window.banner.text.text(), timeout=WAIT)
    assert window.banner.level == "error"


def test_a_reopened_search_says_which_results_are_no_longer_in_the_library(
        qtbot, window, gui_library):
    """A logged result whose figure id now names another patent's figure (a rebuild cut its
    page differently) is left out, and the banner says how many are missing."""
    import json
    import sqlite3

    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    db = sqlite3.connect(gui_library / "library.sqlite")
    results = json.loads(db.execute("SELECT results FROM searches WHERE id = ?",
                                    (first.search_id,)).fetchone()[0])
    results[0]["patent_id"] = "D0999999"
    with db:
        db.execute("UPDATE searches SET results = ? WHERE id = ?",
                   (json.dumps(results), first.search_id))
    db.close()
    window.reopen(first.search_id)
    qtbot.waitUntil(lambda: "no longer in the library" in window.banner.text.text(),
                    timeout=WAIT)
    assert f"1 of its {len(results)} results" in window.banner.text.text()
    assert [h.figure_id for h in window.response.results] == \
        [h.figure_id for h in first.results[1:]]


def test_stale_results_are_dropped(qtbot, window, gui_library):
    files = sheets(gui_library)
    window.start(gui_library, files[0])
    searched(qtbot, window)
    shown = []
    window.model.modelReset.connect(lambda: shown.append(window.response.query))
    window.search()                         # then the query changes mid-search:
    window.load_query(files[3])             # only the answer for the new one may show
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == str(files[3]), timeout=WAIT)
    qtbot.wait(500)
    assert shown == [str(files[3])]
    assert window.query.path == str(files[3])


def test_bad_input_is_a_message_not_a_crash(qtbot, window, gui_library, tmp_path):
    window.start(gui_library)
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    window.load_query(bad)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert window.banner.level == "error" and "scan.png" in window.banner.text.text()
    window.load_query(tmp_path / "missing.tif")
    qtbot.waitUntil(lambda: "missing.tif" in window.banner.text.text(), timeout=WAIT)
    window.load_query(sheets(gui_library)[0])           # and the window still works
    assert searched(qtbot, window).results


def test_a_run_that_ended_with_the_dialog_closed_says_its_skips_once(qtbot, window,
                                                                     gui_library):
    """The banner read "...; 0 skipped (0 skipped, 1 warning(s): ...)"."""
    from core.ingest import IngestReport

    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    dialog = window._library_dialog
    dialog.close()
    told = []
    dialog.notice.connect(lambda level, text: told.append((level, text)))
    for errors, warnings in (([], ["w"]), ([("x.png", "damaged")], []),
                             ([("x.png", "damaged")], ["w"])):
        dialog._finish(IngestReport("r", pages_added=2, errors=errors, warnings=warnings,
                                    rebuilt=True))
        level, text = told[-1]
        assert level == "warning" and text.count("skipped") == 1, text
        assert text.endswith("Manage library lists them)")


def test_missing_and_empty_libraries_explain_themselves(qtbot, window, tmp_path):
    window.start(tmp_path / "nowhere")
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert "There is no folder" in window.banner.text.text() and \
        window.banner.action.isVisible()
    window.show_library_dialog()                # nothing to rebuild yet
    dialog = window._library_dialog
    qtbot.waitUntil(lambda: dialog.summary.rowCount() > 0, timeout=WAIT)
    assert not dialog.rebuild_button.isEnabled() and dialog.other_button.isEnabled()
    dialog.close()
    window.filters.text.setText("chair")
    window.search()                     # says the same again, with the way to make one
    qtbot.waitUntil(lambda: window.results.header.text() == "Search failed", timeout=WAIT)
    assert "There is no folder" in window.banner.text.text() and \
        window.banner.action.isVisible()
    from core.library import Library

    Library(tmp_path / "empty", create=True).close()
    window.start(tmp_path / "empty")
    qtbot.waitUntil(lambda: "library is empty" in window.banner.text.text(), timeout=WAIT)
    window.search()                     # not a failure: the same way to add drawings
    qtbot.waitUntil(lambda: window.results.header.text() == "No drawings to search",
                    timeout=WAIT)
    assert window.banner.level == "info" and window.banner.action.isVisible()
    assert window.banner.text.text().startswith("This library is empty. Add drawings")


def test_grouping_blind_mode_and_detail_view(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    grouped = window.model.rowCount()
    assert grouped == len({h.patent_id for h in resp.results})
    window.acts.group.trigger()
    assert window.model.rowCount() == len(resp.results)
    window.acts.group.trigger()
    window.results.select_row(0)
    window.model.toggle_expanded(0)
    assert window.model.rowCount() > grouped

    window.acts.blind.trigger()
    assert window.settings.blind and window.results.delegate.blind
    assert "Score" not in window.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert not window.model_label.isVisible()
    blind = run_search(qtbot, window)           # the log says the examiner saw it blind
    from core.library import Library

    with Library(gui_library) as lib:
        logged = [lib.store.search_record(r.search_id)["params"] for r in (resp, blind)]
    assert [p.get("blind", False) for p in logged] == [False, True]

    window.show_detail()
    assert window.stack.currentWidget() is window.detail
    qtbot.waitUntil(lambda: window.detail.result_view.has_image(), timeout=WAIT)
    qtbot.waitUntil(lambda: window.detail.strip.count() > 0, timeout=WAIT)
    qtbot.keyClick(window.detail, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.results

    # grouped by patent, the detail view gives the rank the grid shows, and the figure's
    # rank among all figures where that differs
    from examiner_app.results_model import IsChildRole, PositionRole

    rows = [window.model.index(r) for r in range(window.model.rowCount())]
    patent_row = next(ix for ix in rows if not ix.data(IsChildRole)
                      and ix.data(PositionRole) != ix.data(HitRole).rank)
    window.results.view.setCurrentIndex(patent_row)
    window.show_detail()                     # blind: the model's own order is not shown
    assert "its figure ranks" not in window.detail.meta.text()
    window.acts.blind.trigger()
    patent_row = next(ix for ix in (window.model.index(r) for r in range(window.model.rowCount()))
                      if not ix.data(IsChildRole)
                      and ix.data(PositionRole) != ix.data(HitRole).rank)
    window.results.view.setCurrentIndex(patent_row)
    window.show_detail()
    assert (f"{patent_row.data(PositionRole)} (its figure ranks "
            f"{patent_row.data(HitRole).rank} among all figures)") in window.detail.meta.text()
    window.open_library(gui_library)         # another library: no stale search header
    assert window.results.header.text() == "No search yet"


def test_cancelled_rebuild_leaves_the_library_intact(qtbot, window, gui_library):
    from core.library import Library

    with Library(gui_library) as lib:
        before = lib.info()
    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.service.workers = 0
    window.show_library_dialog()
    dialog = window._library_dialog
    dialog.start_rebuild()
    assert window.service.maintenance and not window.acts.search.isEnabled()
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert "as it was" in dialog.result_label.text()
    assert not (gui_library.parent / "library.rebuild").exists()
    with Library(gui_library) as lib:
        after = lib.info()
    assert {k: after[k] for k in ("patents", "pages", "figures", "model", "index_vectors")} == \
        {k: before[k] for k in ("patents", "pages", "figures", "model", "index_vectors")}
    qtbot.waitUntil(lambda: window.service.info is not None and not window.service.maintenance,
                    timeout=WAIT)
    window.load_query(sheets(gui_library)[0])
    assert searched(qtbot, window).results
    dialog.close()


def test_gui_command_is_registered():
    from core.cli import build_parser

    args = build_parser().parse_args(["gui", "--library", "/tmp/lib", "--before", "2020-01-02"])
    assert args.command == "gui" and args.before == date(2020, 1, 2)
    assert args.func.__module__ == "examiner_app.cli"


def test_a_library_given_by_a_relative_path_is_remembered_absolute(tmp_path, monkeypatch):
    """`gui --library lib` stored "lib": started again from another folder, the window opened
    (and would have begun) a library "lib" there."""
    import examiner_app
    from core.cli import build_parser

    monkeypatch.chdir(tmp_path)
    launched = []
    monkeypatch.setattr(examiner_app, "launch", lambda *a: launched.append(a) or 0)
    args = build_parser().parse_args(["gui", "--library", "lib"])
    assert args.func(args) == 0 and launched[0][0] == tmp_path / "lib"


def test_a_demo_library_given_by_a_relative_path_is_opened_absolute(tmp_path, monkeypatch):
    """`demo --library lib` hands the window the folder it names from where it was typed (the
    window remembers what it opened, and a relative "lib" named another folder next time)."""
    import core.cli
    from core.cli import build_parser

    monkeypatch.chdir(tmp_path)
    launched = []
    monkeypatch.setattr(core.cli, "_gui_launcher",
                        lambda: lambda library, **kw: launched.append((library, kw)) or 0)
    args = build_parser().parse_args(["demo", "--library", "lib", "--patents", "3"])
    assert args.func(args) == 0
    (library, kw), = launched
    assert library == tmp_path / "lib" and library.is_absolute() and kw["demo"]


def test_adding_sources_lists_skipped_files_and_cancel_rolls_back(qtbot, window, gui_library,
                                                                  shared_data, tmp_path):
    import json
    import shutil

    from core.library import Library

    src = shared_data / "real_dev" / "manifest.jsonl"
    rows = [json.loads(line) for line in src.read_text().splitlines()]
    known = {json.loads(line)["patent_id"] for line in
             (gui_library.parent / "manifest.jsonl").read_text().splitlines()}
    new = next(r for r in rows if r["patent_id"] not in known and r["page_kind"] ==
               "drawing_sheet")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    broken = incoming / "broken.png"
    broken.write_bytes(b"not an image at all")
    manifest = incoming / "more.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in (
        {**new, "image": str(src.parent / new["image"])},
        {**new, "image": str(broken), "sheet": 99})) + "\n")
    with Library(gui_library) as lib:
        before = lib.info()

    window.service.workers = 0
    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    dialog = window._library_dialog
    dialog.allow_absolute.setChecked(True)
    dialog.add_pending(str(manifest))
    dialog.start_ingest(list(dialog.pending))
    dialog.cancel()                              # cancelled: nothing of the run stays
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    with Library(gui_library) as lib:
        assert lib.info()["pages"] == before["pages"]

    dialog.start_ingest(list(dialog.pending))
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert dialog.result_label.text().startswith("Done")
    assert dialog.skipped.rowCount() == 1 and "broken.png" in dialog.skipped.item(0, 0).text()
    with Library(gui_library) as lib:
        after = lib.info()
    assert after["pages"] == before["pages"] + 1 and after["patents"] == before["patents"] + 1
    qtbot.waitUntil(lambda: window.service.info is not None and
                    window.service.info["pages"] == after["pages"], timeout=WAIT)
    # "Update from sources" re-reads the manifest, not every image of the manifest's folder
    shutil.copy(src.parent / new["image"], incoming / "screenshot.png")
    qtbot.waitUntil(lambda: dialog.update_button.isEnabled(), timeout=WAIT)
    (tmp_path / "later").mkdir()
    dialog.add_pending(str(tmp_path / "later"))          # chosen, not added yet
    dialog.update_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert dialog.result_label.text().startswith("Done: added 0 pages"), \
        dialog.result_label.text()
    assert dialog.pending == [str(tmp_path / "later")]   # an update leaves it waiting
    assert dialog.ingest_button.isEnabled()
    dialog.pending = []
    with Library(gui_library) as lib:
        assert lib.info()["pages"] == after["pages"]
    dialog.start_ingest([str(manifest)])                 # (another library: not meanwhile)
    window.open_library(tmp_path / "other")
    assert "open another library when it has finished" in window.banner.text.text()
    assert window.service.path == gui_library and not dialog.other_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    mended = next(r for r in rows if r["patent_id"] not in known | {new["patent_id"]}
                  and r["page_kind"] == "drawing_sheet")
    shutil.copy(src.parent / mended["image"], broken)   # the skipped file mended
    dialog.update_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    qtbot.wait(300)                                      # (the overview that follows)
    assert dialog.result_label.text().startswith("Done: added 1 page (")
    assert dialog.skipped.rowCount() == 0                # not the earlier runs' skips
    from core.overview import library_overview

    with Library(gui_library) as lib:                    # nor in the log: it is indexed now
        assert not [e for e in library_overview(lib)["recent_errors"]
                    if "broken.png" in e["item"]]
    dialog.close()


def test_banners_go_when_they_stop_being_true(qtbot, window, gui_library, shared_data,
                                              tmp_path):
    """"No library here yet" goes once drawings are being added to it (the dialog closed);
    an error about the last query goes when another library is opened."""
    new = tmp_path / "new"
    window.service.workers = 0
    window.start(new)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert window.banner.text.text().startswith("There is no folder")
    window.show_library_dialog()
    dialog = window._library_dialog
    dialog.add_pending(str(shared_data / "real_dev" / "manifest.jsonl"))
    dialog.start_ingest(list(dialog.pending))
    dialog.close()
    assert not window.banner.isVisible() and window.busy.isVisible()
    # the library is opened again after the run: an error shown before that has arrived
    # would be replaced by what the library says of itself
    reopened = []
    window.service.opened.connect(lambda *_: reopened.append(True))
    window.service.openFailed.connect(lambda *_: reopened.append(True))
    dialog.cancel()                 # the first add, cancelled: no library made (as the
    qtbot.waitUntil(lambda: dialog.task is None and bool(reopened)       # command line)
                    and "There is no folder" in window.banner.text.text(), timeout=WAIT)
    assert not new.exists()
    qtbot.wait(300)                 # (an open still on its way from the run's start)

    junk = tmp_path / "notes.txt"
    junk.write_text("not a drawing")
    window.load_query(junk)
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.banner.level == "error",
                    timeout=WAIT)
    window.open_library(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    assert not window.banner.isVisible(), window.banner.text.text()


def test_quitting_while_drawings_are_added_asks_first_and_keeps_the_library(
        qtbot, window, gui_library, shared_data):
    """Closing the window while drawings are added (the library dialog closed) asks first,
    keeping the run by default; quitting cancels it and the library stays as it was."""
    from PySide6.QtCore import QTimer

    from core.library import Library

    with Library(gui_library) as lib:
        before = lib.info()
    window.service.workers = 0
    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    dialog = window._library_dialog
    dialog.add_pending(str(shared_data / "real_dev" / "manifest.jsonl"))
    dialog.start_ingest(list(dialog.pending))
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=WAIT)
    dialog.close()
    asked = []

    def answer(button: str) -> None:
        box = window.confirm_box
        asked.append(box.text())
        if button == "default":
            box.defaultButton().click()
        else:
            next(b for b in box.buttons() if b.text() == button).click()
    QTimer.singleShot(0, lambda: answer("default"))
    window.close()
    assert window.isVisible() and dialog.task is not None           # kept running
    assert asked[0].startswith("Adding drawings: ") and asked[0].endswith(
        f" of {dialog.progress.maximum()} pages done. Quit and lose it?")
    shown = []                      # the window says why quitting waits, while it waits
    shutdown = window.service.shutdown

    def spy(tick=None):
        shown.append(window.quit_progress is not None and window.quit_progress.isVisible()
                     and "put the library back" in window.quit_progress.labelText())
        shutdown(tick=tick)
    window.service.shutdown = spy
    QTimer.singleShot(0, lambda: answer("Quit"))
    window.close()
    assert len(asked) == 2 and not window.isVisible()
    assert shown == [True] and not window.quit_progress.isVisible()
    with qtbot.assertNotEmitted(window.service.opened, wait=1000):
        pass                                # the run's end does not reopen the library
    with Library(gui_library) as lib:
        after = lib.info()
    assert {k: after[k] for k in ("patents", "pages", "figures", "index_vectors")} == \
        {k: before[k] for k in ("patents", "pages", "figures", "index_vectors")}


def test_missing_page_files_are_told_and_a_rebuild_can_go_without_them(qtbot, window,
                                                                        gui_library, tmp_path):
    """Update from sources says when page files are gone; the rebuild that refuses them
    offers to go on without them (the CLI's --drop-missing); closed meanwhile, the dialog's
    run shows in the main window and its end on the banner."""
    import json
    import shutil

    from PySide6.QtWidgets import QLabel

    from core.ingest import ingest
    from core.library import Library
    from core.models import create_model

    row = json.loads((gui_library.parent / "manifest.jsonl").read_text().splitlines()[0])
    folder = tmp_path / "extra"
    folder.mkdir()
    shutil.copy(row["image"], folder / "sheet.png")
    (folder / "manifest.jsonl").write_text(json.dumps(
        {**row, "image": "sheet.png", "patent_id": "D0999999"}) + "\n")
    with Library(gui_library) as lib:
        ingest(lib, [folder / "manifest.jsonl"], create_model("tiny_test", pretrained=None),
               model_ref="tiny_test:random", workers=0)
        pages = lib.info()["pages"]
    (folder / "sheet.png").unlink()                 # the file of one page is gone
    window.service.workers = 0
    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    dialog = window._library_dialog
    qtbot.waitUntil(lambda: dialog.update_button.isEnabled(), timeout=WAIT)
    missing = dialog.findChild(QLabel, "missingPages")         # told on opening the dialog
    assert missing is not None and "1 page file(s)" in missing.text() and \
        "sheet.png" in missing.text()
    assert dialog.drop_missing_button.isVisible()
    dialog.update_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert "1 page file(s) of the library are no longer where they were added" in \
        dialog.result_label.text()
    dialog.start_rebuild()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert "Failed" in dialog.result_label.text() and "--drop-missing" not in \
        dialog.result_label.text()
    assert dialog.drop_missing_button.isVisible()
    with qtbot.waitSignal(window.service.opened, timeout=WAIT):     # the library reopens
        dialog.drop_missing_button.click()
        dialog.close()                              # the run goes on, shown by the window
        assert window.busy.isVisible() and "Ctrl+L" in window.statusBar().currentMessage()
        qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert "library" not in window._busy_jobs
    assert window.banner.isVisible() and \
        "Rebuilding the index: Done: re-embedded" in window.banner.text.text()
    with Library(gui_library) as lib:
        assert lib.info()["pages"] == pages - 1


def test_the_library_dialog_tells_of_pages_cut_by_an_older_figure_finder(
        qtbot, window, gui_library):
    from PySide6.QtWidgets import QLabel

    from core.library import FINDER_RUNS, Library

    def note():
        dialog = window._library_dialog
        qtbot.waitUntil(lambda: dialog.summary.rowCount() > 1, timeout=WAIT)
        return dialog.findChild(QLabel, "olderFinder")

    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    assert note() is None                               # built by this version
    window._library_dialog.close()
    with Library(gui_library) as lib:
        pages = lib.info()["pages"]
        lib.store.set_meta(FINDER_RUNS, {})             # as a library of an older version
    window.show_library_dialog()
    window._library_dialog.refresh()
    qtbot.waitUntil(lambda: note() is not None and note().isVisible(), timeout=WAIT)
    assert note().text().startswith(f"{pages} page(s) were cut into figures by an older")
    assert "Rebuild index" in note().text()
    window._library_dialog.close()


def test_uncaught_errors_are_shown_not_fatal(qtbot, window):
    import sys

    from examiner_app.crash_guard import CrashGuard

    guard = CrashGuard()
    guard.caught.connect(lambda text: window.show_message("error", text))
    guard.install()
    try:
        sys.excepthook(RuntimeError, RuntimeError("boom"), None)
    finally:
        guard.uninstall()
    assert window.banner.isVisible() and "boom" in window.banner.text.text()


def test_a_library_of_another_model_offers_a_rebuild(qtbot, window, gui_library):
    """A library whose index another model built says so, in words for the window, keeps
    saying so when a search is tried, shows its contents in Manage library, and rebuilds."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QLabel

    from core.library import Library

    with Library(gui_library) as lib:
        info = lib.model_info
        lib.store.set_meta("model", {**info, "id": "tiny_test-0000000000000000"})
        patents = lib.info()["patents"]
    window.service.workers = 0
    window.start(gui_library, sheets(gui_library)[0])   # its search queued behind the open
    qtbot.waitUntil(lambda: window.results.header.text() == "Search failed", timeout=WAIT)
    qtbot.wait(200)
    said = window.banner.text.text()
    assert said.startswith("This library's index was built with the model tiny_test-0000")
    assert "rebuilt" in said and window.banner.action.isVisible()
    window.load_query(sheets(gui_library)[1])       # a search later: the same reason
    qtbot.waitUntil(lambda: window.query.path == str(sheets(gui_library)[1]), timeout=WAIT)
    qtbot.waitUntil(lambda: not window.busy.isVisible(), timeout=WAIT)
    assert window.banner.text.text() == said and window.banner.action.isVisible()
    window.show_library_dialog()                    # what the library holds, and why not
    dialog = window._library_dialog                 # searchable
    qtbot.waitUntil(lambda: dialog._info is not None, timeout=WAIT)
    assert dialog._info["patents"] == patents and dialog._registered
    status = dialog.findChild(QLabel, "modelMismatch")
    assert status is not None and "tiny_test-0000" in status.text()
    dialog.start_ingest([str(sheets(gui_library)[0].parent)])    # adding: the window's words
    qtbot.waitUntil(lambda: dialog.task is None and
                    dialog.result_label.text().startswith("<span"), timeout=WAIT)
    said = dialog.result_label.text()
    assert "Rebuild index below" in said and "patent-examiner" not in said, said
    dialog.close()
    QTimer.singleShot(0, lambda: window._library_dialog.confirm_box.defaultButton().click())
    window.banner.action.click()                    # "Rebuild with the current model...": OK
    qtbot.waitUntil(lambda: dialog.task is None and window.service.info is not None,
                    timeout=WAIT)
    assert window.service.model_id == info["id"]
    window.load_query(sheets(gui_library)[0])
    assert searched(qtbot, window).results
    dialog.close()


def test_eta_text():
    from examiner_app.library_dialog import eta_text

    assert eta_text(0, 0, 1.0) == "scanning sources\u2026"
    assert eta_text(10, 100, 5.0) == "10 / 100 pages, 2.0 pages/s, about 45 s left"
    assert "min left" in eta_text(10, 1000, 5.0)


def test_cyclic_garbage_is_collected_on_the_ui_thread_only(qtbot, settings):
    """While a window is open a worker thread never runs the cyclic collector (it would delete
    Qt objects caught in cycles on the wrong thread); the UI thread's timer collects them."""
    import gc
    import weakref

    from PySide6.QtCore import QObject

    assert gc.isenabled()
    w = MainWindow(settings)
    qtbot.addWidget(w)
    assert not gc.isenabled()

    class Holder:
        pass

    h = Holder()
    h.qobject, h.me = QObject(), h                # a cycle holding a Qt object
    gone = weakref.ref(h)
    del h
    for _ in range(gc.get_threshold()[0]):        # cyclic garbage past generation 0's threshold
        a, b = Holder(), Holder()
        a.other, b.other = b, a
    qtbot.waitUntil(lambda: gone() is None, timeout=5000)
    w.close()
    assert gc.isenabled()


def test_a_task_that_outlives_the_window_finishes_quietly(qtbot, caplog):
    """Quitting waits a few seconds for background work; a task still running after that (a
    model load cannot be cancelled) finds its signal holder deleted. It must end without an
    exception in the pool thread, and the same task still reports while its holder lives."""
    import logging

    import shiboken6

    from examiner_app.tasks import Task

    got = []
    live = Task(lambda t: (t.report(1, 2, "half"), 42)[1], on_done=got.append,
                on_progress=lambda *a: got.append(a))
    live.run()
    qtbot.waitUntil(lambda: len(got) == 2, timeout=2000)
    assert got == [(1, 2, "half"), 42]

    orphan = Task(lambda t: (t.report(1, 1), "late")[1], on_done=got.append)
    shiboken6.delete(orphan.signals)                  # what closing the app does to it
    with caplog.at_level(logging.DEBUG, logger="examiner_app.tasks"):
        orphan.run()                                  # raised RuntimeError before
    assert "after its receiver was deleted" in caplog.text
    assert got == [(1, 2, "half"), 42]


def test_a_finished_task_lets_go_of_what_its_callbacks_hold(qtbot):
    """PySide6 never releases a Python callable connected to a signal: a task's callbacks
    (which hold a query page, a result list) are dropped once it has finished, else every
    search kept its query page in memory (10 MB each)."""
    import gc
    import weakref

    from examiner_app.tasks import TaskRunner

    class Page:
        pass

    runner = TaskRunner(1)
    got = []
    for i in range(3):
        page = Page()
        held = weakref.ref(page)
        task = weakref.ref(runner.submit(lambda task: i, on_done=lambda n, page=page:
                                         got.append(n), on_finished=lambda page=page:
                                         got.append("end")))
        del page
        qtbot.waitUntil(lambda: got[-1:] == ["end"] and not runner._running, timeout=WAIT)
        gc.collect()
        assert held() is None and task() is None, i       # (the pool kept every task)
    assert got == [0, "end", 1, "end", 2, "end"]
    runner.shutdown()


def test_a_queued_task_taken_back_never_runs(qtbot):
    """What the thumbnails do with requests a new search replaced: a task not started yet
    is taken back (it runs nothing, calls nothing); one that has started is not."""
    import threading

    from examiner_app.tasks import TaskRunner

    runner = TaskRunner(1)
    release, got = threading.Event(), []
    first = runner.submit(lambda task: (release.wait(WAIT / 1000), "first")[1],
                          on_done=got.append)
    second = runner.submit(lambda task: got.append("ran") or "second", on_done=got.append)
    qtbot.waitUntil(lambda: first._state == "running", timeout=WAIT)
    assert not first.take() and second.take() and not second.take()
    release.set()
    qtbot.waitUntil(lambda: got == ["first"], timeout=WAIT)
    runner.pool.waitForDone(WAIT)
    qtbot.wait(50)
    assert got == ["first"]
    runner.shutdown()


def test_new_results_drop_their_queued_figure_thumbnails_but_not_the_page_strips(qtbot,
                                                                                 tmp_path):
    """New results take back the figure thumbnails still queued for the old ones; the
    detail view's page strip, still on screen, keeps its requests (a search that kept the
    same top patent left the strip blank for good)."""
    import threading

    from PIL import Image

    from core.thumbnails import ThumbnailCache
    from examiner_app.results_model import ResultsModel
    from examiner_app.tasks import TaskRunner
    from examiner_app.thumbnails import ThumbnailLoader

    page = tmp_path / "sheet.png"
    Image.new("L", (300, 400), 255).save(page)
    runner = TaskRunner(1)
    loader = ThumbnailLoader(runner)
    loader.set_cache(ThumbnailCache(tmp_path / "thumbs"))
    model = ResultsModel(loader)
    release = threading.Event()
    runner.submit(lambda task: release.wait(WAIT / 1000))        # the pool is busy
    strip = ThumbnailLoader.key(str(page), 0, None, 96, 1.0)
    figure = ThumbnailLoader.key(str(page), 0, (10, 10, 200, 200), 180, 1.0)
    assert loader.pixmap(strip, 1.0) is None and loader.pixmap(figure, 1.0) is None
    model.set_results([])
    assert strip in loader._pending and figure not in loader._pending
    release.set()
    qtbot.waitUntil(lambda: loader.pixmap(strip, 1.0) is not None, timeout=WAIT)
    runner.shutdown()


def test_detail_view_of_another_patent_shows_its_own_sheet(qtbot, window, gui_library):
    """Switching the detail view to another patent shows that patent's sheet (clearing the
    previous patent's page strip used to re-show its current page) and acts on it."""
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    a = resp.results[0]
    b = next(h for h in resp.results if h.patent_id != a.patent_id)
    detail = window.detail
    detail.show_result(a, None, window.query, None)
    window.stack.setCurrentWidget(detail)
    qtbot.waitUntil(lambda: detail.strip.count() > 1, timeout=WAIT)
    detail.strip.setCurrentRow(detail.strip.count() - 1)    # browse another page of A
    qtbot.waitUntil(lambda: detail.result_view.has_image(), timeout=WAIT)
    detail.show_result(b, None, window.query, None)
    qtbot.waitUntil(lambda: detail.strip.count() > 0 and detail.details is not None and
                    detail.details["patent"]["patent_id"] == b.patent_id, timeout=WAIT)
    qtbot.waitUntil(lambda: detail.result_view.has_image(), timeout=WAIT)
    assert detail.shown_page == (b.image, b.page_index)
    label = detail.page_label.text()          # "Sheet 2 — page02_sheet.png (2 of 3 pages)"
    assert Path(b.image).name in label and label.startswith(("Sheet", "Front page"))
    assert f" of {len(detail.details['pages'])} pages" in label
    with qtbot.waitSignal(detail.searchWith) as sent:
        detail.search_button.click()
    assert sent.args[:2] == [b.image, b.page_index] and sent.args[2] == b.figure


def test_a_page_whose_file_is_gone_is_marked_in_the_detail_view(qtbot, window, gui_library,
                                                                 tmp_path):
    """Its strip tile is crossed out with the reason, and showing it draws no match boxes
    over the message."""
    import sqlite3
    import shutil

    window.start(gui_library, sheets(gui_library)[0])
    hit = searched(qtbot, window).results[0]
    gone = tmp_path / "moved-away.png"
    db = sqlite3.connect(gui_library / "library.sqlite")
    other = db.execute("SELECT path FROM pages WHERE patent_id=? AND path<>? LIMIT 1",
                       (hit.patent_id, hit.image)).fetchone()[0]
    shutil.copy(other, gone)
    with db:
        db.execute("UPDATE pages SET path=? WHERE path=?", (str(gone), other))
    db.close()
    gone.unlink()
    detail = window.detail
    detail.show_result(hit, None, window.query, None)
    window.stack.setCurrentWidget(detail)
    qtbot.waitUntil(lambda: detail.strip.count() > 1, timeout=WAIT)
    row = next(i for i in range(detail.strip.count())
               if detail.strip.item(i).data(Qt.ItemDataRole.UserRole)[0] == str(gone))
    qtbot.waitUntil(lambda: "Cannot show this page" in detail.strip.item(row).toolTip(),
                    timeout=WAIT)
    detail.strip.setCurrentRow(row)
    qtbot.waitUntil(lambda: detail.result_view.placeholder.startswith("Cannot show"),
                    timeout=WAIT)
    assert not detail.result_view.has_image() and detail.result_view._boxes == []


def test_busy_bar_shows_while_searching(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    assert not window.busy.isVisible()
    window.search()
    assert window.busy.isVisible() and "Searching" in window.statusBar().currentMessage()
    searched(qtbot, window, first.search_id)
    assert not window.busy.isVisible()


def test_busy_bar_shows_while_a_library_opens(qtbot, window, gui_library, tmp_path):
    window.open_library(gui_library)
    assert window.busy.isVisible() and "Opening the library" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.library_label.text().startswith(gui_library.name + ":"),
                    timeout=WAIT)
    assert not window.busy.isVisible()
    assert window.model_label.text().startswith("Model ")
    window.open_library(tmp_path / "nowhere")               # a failed open clears it too
    assert window.busy.isVisible()
    qtbot.waitUntil(lambda: window.library_label.text() == "No library", timeout=WAIT)
    assert not window.busy.isVisible()
    assert window.model_label.text() == ""      # (it kept the last library's model)


def test_window_fits_a_small_screen_with_a_banner_and_results(qtbot, window, gui_library):
    """1280x720 screens: the query column scrolls rather than forcing the window taller."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.show_message("warning", "A long notice that wraps onto a second line of the "
                        "banner at this width, " * 4)
    window.resize(1280, 680)
    qtbot.wait(100)
    assert window.height() <= 680 and window.minimumSizeHint().height() <= 600


def test_a_small_window_keeps_everything_reachable(qtbot, app_theme, window, gui_library):
    """At 1024x700 the toolbar's overflow button (the actions that no longer fit) is drawn,
    the window can go that narrow with the detail view open, and its metadata wraps inside
    its panel instead of running off the right edge."""
    from PySide6.QtWidgets import QToolBar, QToolButton

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.resize(1024, 700)
    qtbot.wait(100)
    more = window.findChild(QToolBar).findChild(QToolButton, "qt_toolbar_ext_button")
    assert more.isVisible()
    image = more.grab().toImage()
    dark = sum(QColor(image.pixel(x, y)).value() < 150
               for x in range(image.width()) for y in range(image.height()))
    assert dark > 5                                     # its arrows are painted
    window.show_detail()
    qtbot.waitUntil(lambda: window.detail.result_view.has_image(), timeout=WAIT)
    window.resize(900, 700)
    qtbot.wait(100)
    assert window.minimumSizeHint().width() <= 900 and window.width() == 900
    meta = window.detail.meta
    assert meta.width() <= meta.parentWidget().width()  # inside its scroll area's viewport


def test_the_detail_view_cuts_no_text_beside_the_history(qtbot, window, gui_library):
    """At 1280x720 and 1024x700 with the history open, the detail view's title is whole or
    ends in "\u2026" (the patent number shown), its metadata wraps inside its panel (a file
    name too) and the rating chips keep their number."""
    from PySide6.QtGui import QTextDocument

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.acts.history.trigger()
    window.show_detail()
    detail = window.detail
    qtbot.waitUntil(lambda: detail.details is not None, timeout=WAIT)
    for size in ((1280, 720), (1024, 700)):
        window.resize(*size)
        qtbot.wait(200)
        assert window.history.isVisible() and window.width() == size[0]
        title = detail.title
        shown = getattr(title, "shown_text", title.text)()
        assert shown.startswith(detail.title.text().split(" \u2014 ")[0])
        assert title.fontMetrics().horizontalAdvance(shown) <= title.contentsRect().width()
        meta = detail.meta
        doc = QTextDocument()
        doc.setDefaultFont(meta.font())
        doc.setDocumentMargin(0)
        doc.setHtml(meta.text())
        doc.setTextWidth(meta.contentsRect().width())
        assert doc.idealWidth() <= meta.contentsRect().width(), size
        assert meta.width() <= meta.parentWidget().width(), size     # none of it hidden
        for value, b in detail.rating_chips.items():
            assert str(value) in b.text()
            assert b.width() >= b.sizeHint().width()


def test_history_dock_fits_beside_the_results(qtbot, window, gui_library):
    """Ctrl+H at 1280 wide keeps the window's width, and the dock shows the query, its cutoff
    and its number of results without scrolling sideways."""
    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    window.filters.text.setText("drinking mug")
    run_search(qtbot, window)
    window.resize(1280, 720)
    qtbot.wait(100)
    window.acts.history.trigger()
    table = window.history.table
    ids = lambda: [table.item(i, 0).text() for i in range(table.rowCount())]  # noqa: E731
    qtbot.waitUntil(lambda: str(first.search_id) in ids(), timeout=WAIT)
    qtbot.wait(100)
    assert window.width() == 1280
    header = table.horizontalHeader()
    for j in (2, 3, 4):                                 # query, before, results
        assert not table.isColumnHidden(j)
        assert 0 <= header.sectionViewportPosition(j) and \
            header.sectionViewportPosition(j) + header.sectionSize(j) <= \
            table.viewport().width()
    assert table.horizontalScrollBar().maximum() == 0
    assert table.item(ids().index(str(first.search_id)), 4).text() == str(len(first.results))
    row = ids().index(str(window.response.search_id))
    label = table.item(row, 2).text()
    assert label.endswith("\u201cdrinking mug\u201d") and sheets(gui_library)[0].name in label
    assert header.sectionSize(2) >= 150                 # the query is readable, not "p...g"
    window.history.only_session.setChecked(False)       # every session: two more columns
    qtbot.wait(100)
    assert not table.isColumnHidden(6) and header.sectionSize(2) >= 150
    assert window.width() == 1280


def test_result_cards_fill_a_wide_row(qtbot, window, gui_library):
    """At 1920 wide the cards share the whole row, without a blank column on the right."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.resize(1920, 1080)
    qtbot.wait(200)
    view = window.results.view
    assert not view.verticalScrollBar().isVisible()       # few patents: no scroll bar
    rects = [view.visualRect(window.model.index(i)) for i in range(window.model.rowCount())]
    first_row = [r for r in rects if r.top() == rects[0].top()]
    assert len(first_row) < len(rects)                    # the row is full
    assert max(r.right() for r in first_row) >= view.viewport().width() - 30


def test_sheet_keys_work_from_the_grid_but_not_in_text_fields(qtbot, window, gui_library):
    """C (crop) and A (all figures) act from the results too; typed in Text they are text."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.activateWindow()
    window.show_grid()
    qtbot.keyClick(window.results.view, Qt.Key.Key_C)
    assert window.query_panel.crop.isChecked()
    qtbot.keyClick(window.results.view, Qt.Key.Key_C)
    assert not window.query_panel.crop.isChecked()
    window.filters.text.setFocus()
    qtbot.keyClicks(window.filters.text, "ca")
    assert window.filters.text.text() == "ca" and not window.query_panel.crop.isChecked()


def test_shortcuts_dialog_lists_each_action_once(qtbot, window):
    from examiner_app.shortcuts import ShortcutsDialog, shortcut_rows

    rows = shortcut_rows(window.menuBar())
    actions = [(action, keys) for _menu, action, keys in rows]
    assert len(actions) == len(set(actions)) and ("Export ratings CSV", "Ctrl+Shift+E") in actions
    dialog = ShortcutsDialog(window.menuBar(), window)
    qtbot.addWidget(dialog)
    dialog.show()
    table = dialog.table
    assert sum(table.columnWidth(j) for j in range(3)) >= table.viewport().width() - 2
    # in a large font the action names are whole ("Search wit…" at 16 pt)
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app, font = QApplication.instance(), QApplication.font()
    big = QFont(font)
    big.setPointSize(18)
    app.setFont(big)
    try:
        large = ShortcutsDialog(window.menuBar(), window)
        qtbot.addWidget(large)
        large.show()
        wide, room = large.table, large.screen().availableSize().width()
        needed = sum(wide.sizeHintForColumn(j) for j in range(3))
        assert large.width() >= min(needed, room) and large.width() <= room
        assert large.width() > dialog.width() or dialog.width() >= room
    finally:
        app.setFont(font)


def test_the_current_card_shows_it_has_the_keyboard(qtbot, window, gui_library):
    """J/K, 0-3 and Space act on the results only while they have the keyboard: the current
    card looked the same with and without it."""
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QStyle

    from examiner_app import theme

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    view, ix = window.results.view, window.model.index(0)
    selected, focus = QStyle.StateFlag.State_Selected, QStyle.StateFlag.State_HasFocus

    def card(focused: bool) -> QImage:
        return paint_card(view, ix, lambda state: (state | selected | focus) if focused
                          else (state | selected) & ~focus)

    def accent(image: QImage) -> int:
        ink = theme.ACCENT
        return sum(abs(image.pixelColor(x, y).red() - ink.red()) < 40
                   and abs(image.pixelColor(x, y).blue() - ink.blue()) < 40
                   and abs(image.pixelColor(x, y).green() - ink.green()) < 40
                   for x in range(image.width()) for y in range(image.height()))
    assert accent(card(True)) > accent(card(False)) + 100


def test_an_empty_result_pane_says_how_to_start(window):
    text = window.results.subheader.text()
    assert "paste" in text and "filing date" in text


def test_pdf_report_never_cuts_a_result_across_pages(qtbot, tmp_path):
    """Each result row lies whole on one page, in rank order, under repeated column
    headings; a very tall drawing is scaled down rather than running off the page."""
    import re

    import numpy as np

    from core.reports import ReportMeta
    from core.search import SearchHit
    from examiner_app.pdf_report import write_pdf

    meta = ReportMeta(query="/q.png", query_sha256="ab", before="2020-01-01", locarno="06-01",
                      text="chair", model_id="m")
    hits = [SearchHit(rank=i + 1, score=0.5 - i / 100, figure_id=i, patent_id=f"USD{800000 + i}",
                      title="Chair with armrests " * (1 + i % 4), locarno="06-01",
                      locarno_title="Seats", grant_date="2019-01-01", filing_date=None,
                      image=f"/p/{i}.tif", page_index=0, page_kind=None, sheet=1,
                      figure=[0, 0, 9, 9]) for i in range(40)]
    shapes = {0: (160, 120), 1: (90, 120), 2: (2000, 60)}    # portrait, landscape, a strip

    def thumb(hit):
        image = np.full(shapes[hit.rank % 3], 255, np.uint8)
        image[::7] = 0
        return image

    layout = write_pdf(tmp_path / "r.pdf", meta, hits, thumb, thumb(hits[0]), {1: 2}, False)
    ranks = [p for p in layout.placements if p.what.startswith("rank")]
    assert [p.what for p in ranks] == [f"rank {h.rank}" for h in hits]
    assert all(p.top + p.height <= layout.page_height + 0.5 for p in layout.placements)
    pages = layout.placements[-1].page + 1
    assert pages > 2
    for page in range(pages):
        on_page = [p.what for p in layout.placements if p.page == page]
        first_rank = next(i for i, w in enumerate(on_page) if w.startswith("rank"))
        assert on_page[first_rank - 1] == "columns"
    data = (tmp_path / "r.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == pages


def test_characters_no_font_draws_are_named_where_a_pdf_report_is_saved(
        qtbot, window, gui_library, tmp_path, monkeypatch):
    """A title in Chinese on a computer without a CJK font: the PDF showed empty boxes and
    lost the characters from its text, and the window said "Report saved". The report says
    which characters no font here has (an accented Latin one it does) and the window warns."""
    from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

    from core.reports import ReportMeta
    from examiner_app import pdf_report

    text = "Zo\u00eb's chair, caf\u00e9 \u2014 \u6905\u5b50 \U00013000"
    meta = ReportMeta(query=None, query_sha256=None, before=None, locarno=None, text=text,
                      model_id="m")
    drawn = pdf_report.write_pdf(tmp_path / "r.pdf", meta, [], lambda hit: None, None, {},
                                 False).unprintable
    nowhere = {c for c in set(text) - {" "} if not any(      # (as QFontMetrics sees the fonts)
        QFontMetrics(QFont(f)).inFontUcs4(ord(c)) for f in QFontDatabase.families())}
    assert set(drawn) == nowhere and not set(drawn) & set("Zo\u00eb'schair,caf\u00e9\u2014")
    if not nowhere:
        pytest.skip("this computer has a font for every character of the test")

    monkeypatch.setattr(pdf_report, "unprintable", lambda text: "\u5b50\u6905")
    window.start(gui_library, sheets(gui_library)[0])
    run_search(qtbot, window)
    window.export_report(tmp_path / "report.pdf")
    qtbot.waitUntil(lambda: "no font" in window.banner.text.text(), timeout=WAIT)
    assert window.banner.level == "warning" and (tmp_path / "report.pdf").exists()
    assert "draws 2 of its characters (\u5b50\u6905): the PDF shows them as empty boxes. " \
        "Save it as .html" in window.banner.text.text()


def test_pdf_report_to_a_folder_or_missing_folder_is_an_error(qtbot, tmp_path):
    """QPdfWriter fails silently on a target it cannot open; the report must not."""
    from core.reports import ReportMeta
    from examiner_app.pdf_report import write_pdf

    meta = ReportMeta(query=None, query_sha256=None, before=None, locarno=None, text=None,
                      model_id="m")
    (tmp_path / "folder.pdf").mkdir()
    for target in (tmp_path / "folder.pdf", tmp_path / "missing" / "report.pdf"):
        with pytest.raises(OSError):
            write_pdf(target, meta, [], lambda hit: None, None, {}, False)
    write_pdf(tmp_path / "report.pdf", meta, [], lambda hit: None, None, {}, False)
    assert (tmp_path / "report.pdf").read_bytes().rstrip().endswith(b"%%EOF")


def test_an_export_during_a_search_keeps_the_search_busy(qtbot, window, gui_library, tmp_path):
    import threading

    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    gate = threading.Event()
    window.service.db.submit(lambda task: gate.wait(WAIT / 1000))   # holds the next search
    try:
        window.search()
        window.export_ratings(tmp_path / "ratings.csv")
        qtbot.waitUntil(lambda: "saved to" in window.banner.text.text(), timeout=WAIT)
        assert window.busy.isVisible()
        assert window.statusBar().currentMessage() == "Searching\u2026"
        window.export_report(tmp_path / "report.csv")
        qtbot.waitUntil(lambda: window.banner.text.text().endswith("report.csv"), timeout=WAIT)
        assert window.busy.isVisible()
    finally:
        gate.set()
    searched(qtbot, window, first.search_id)


def _accept_session_dialog(window, examiner: str) -> None:
    """Change the examiner in the Study session dialog and press OK."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def answer():
        dialog = QApplication.activeModalWidget()
        dialog.examiner.setText(examiner)
        dialog.accept()
    QTimer.singleShot(0, answer)
    window.show_session_dialog()


def test_each_examiner_sees_only_their_own_ratings(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(3)                                          # Ada rates 3
    qtbot.waitUntil(lambda: "1 rated" in window.session_label.text(), timeout=WAIT)

    _accept_session_dialog(window, "Bob Examiner")                  # Bob takes over
    qtbot.waitUntil(lambda: window.model.index(0).data(RatingRole) is None, timeout=WAIT)
    window.reopen(resp.search_id)
    qtbot.waitUntil(lambda: "reopened" in window.results.subheader.text(), timeout=WAIT)
    assert window.model.index(0).data(RatingRole) is None           # not Ada's 3
    window.results.select_row(0)
    window.rate_current(1)
    qtbot.waitUntil(lambda: "Bob Examiner" in window.session_label.text()
                    and "1 rated" in window.session_label.text(), timeout=WAIT)

    window.settings.examiner = "Ada Examiner"
    window.reopen(resp.search_id)
    qtbot.waitUntil(lambda: window.model.index(0).data(RatingRole) == 3, timeout=WAIT)


def test_the_session_dialog_is_freed_after_each_opening_and_late_news_go_to_the_banner(
        qtbot, window):
    from PySide6.QtCore import QEvent, QTimer
    from PySide6.QtWidgets import QApplication

    from examiner_app.session_dialog import SessionDialog

    opened = []

    def answer():
        opened.append(QApplication.activeModalWidget())
        opened[-1].accept()
    for _ in range(3):
        QTimer.singleShot(0, answer)
        window.show_session_dialog()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert len(opened) == 3 and window.findChildren(SessionDialog) == []
    notify = window.notify_in(opened[-1])           # an export that outlived its dialog
    notify("info", "Ratings saved to late.csv")
    assert "late.csv" in window.banner.text.text()


def test_the_window_names_its_examiner_as_the_command_line_does(tmp_path, monkeypatch):
    """With no examiner typed, $PATENT_EXAMINER_USER names the searcher in the window as on
    the command line: the window logged the login name, so one person had two names."""
    from PySide6.QtCore import QSettings

    fresh = Settings(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    monkeypatch.setenv("PATENT_EXAMINER_USER", "  Zoe\u0308 ")
    assert fresh.examiner == "Zoë"
    monkeypatch.setenv("PATENT_EXAMINER_USER", "ann\tE123")          # not a name: passed over
    assert fresh.examiner not in ("ann\tE123", "ann E123", "")
    monkeypatch.setenv("PATENT_EXAMINER_USER", "alice")
    fresh.examiner = "Bob"                                           # typed: that name
    assert fresh.examiner == "Bob"


def test_another_window_does_not_change_whom_this_one_logs_for(tmp_path):
    """A second window's study session (examiner Bob) became the first window's too as soon
    as the first saved any setting (QSettings' sync reads other processes' values): Ada's
    searches and ratings were logged as Bob's. Each window keeps whom it logs for; the file
    holds the last one set, for the next window."""
    from PySide6.QtCore import QSettings

    file = str(tmp_path / "shared.ini")
    first = Settings(QSettings(file, QSettings.Format.IniFormat))
    first.examiner, first.study, first.session, first.blind = "Ada", "s1", "ada-s", False
    second = Settings(QSettings(file, QSettings.Format.IniFormat))
    assert second.examiner == "Ada"                    # a new window starts from the file
    second.examiner, second.study, second.session, second.blind = "Bob", "other", "bob-s", True
    first.last_folder = str(tmp_path)                  # the first window saves something
    first.group_by_patent = False
    assert (first.examiner, first.study, first.session, first.blind) == \
        ("Ada", "s1", "ada-s", False)
    assert Settings(QSettings(file, QSettings.Format.IniFormat)).examiner == "Bob"
    assert second.last_folder == str(tmp_path)         # what is not whom: shared


def test_settings_that_cannot_be_saved_are_said_not_lost_silently(qtbot, tmp_path,
                                                                    gui_library):
    """A settings file the app cannot write (a folder in its place, no write access) threw
    every change away without a word: the banner says so once the library has opened."""
    from PySide6.QtCore import QSettings

    (tmp_path / "settings.ini").mkdir()
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert "it is a folder" in settings.save_problem()
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.start(gui_library, None)
    qtbot.waitUntil(lambda: w.service.info is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: "Settings cannot be saved" in w.banner.text.text(), timeout=WAIT)
    assert str(tmp_path / "settings.ini") in w.banner.text.text()
    w.banner.hide()
    settings.examiner = "Grace"                 # said once, not at every change
    assert not w.banner.isVisible() and settings.examiner == "Grace"
    fine = Settings(QSettings(str(tmp_path / "ok.ini"), QSettings.Format.IniFormat))
    assert fine.save_problem() is None


def test_settings_on_a_full_disk_say_the_disk_is_full(tmp_path, monkeypatch):
    """Qt reports a full disk as an access error: the banner blamed permissions and said the
    changes were lost, though Qt writes them with the next save once there is room."""
    import errno

    from PySide6.QtCore import QSettings

    import examiner_app.settings

    class Full(QSettings):
        def status(self):
            return QSettings.Status.AccessError

    monkeypatch.setattr(examiner_app.settings, "no_room", lambda path: errno.ENOSPC)
    settings = Settings(Full(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    told = []
    settings.on_unsaved = told.append
    settings.examiner = "Grace"
    assert told and "now: the disk is full. Free space: what you set is saved" in told[0]
    assert "may not write" not in told[0]


def test_an_examiner_name_from_the_environment_that_cannot_be_used_is_said(
        qtbot, tmp_path, gui_library, monkeypatch):
    """$PATENT_EXAMINER_USER with a line break: the command line refuses it, the window
    logged under the login name without a word."""
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("PATENT_EXAMINER_USER", "Ann\nEve")
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.start(gui_library, None)
    qtbot.waitUntil(lambda: "PATENT_EXAMINER_USER" in w.banner.text.text(), timeout=WAIT)
    assert repr(settings.examiner) in w.banner.text.text()
    settings.examiner = "Ann Eve"
    assert settings.examiner_problem() is None


def test_a_library_that_did_not_open_is_not_remembered(qtbot, window, settings, gui_library,
                                                       tmp_path):
    """`gui --library` with a typo replaced the remembered library: the next plain start
    opened the typo. A file, or a folder that is not there, is said as such, not as a
    library "not created yet"."""
    window.start(gui_library, None)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    assert settings.library == gui_library
    window.start(tmp_path / "librry", None)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert "There is no folder" in window.banner.text.text()
    assert "drive is not connected" in window.banner.text.text()
    assert settings.library == gui_library
    window.start(gui_library / "library.sqlite", None)
    qtbot.waitUntil(lambda: "is a file" in window.banner.text.text(), timeout=WAIT)
    assert f"its folder, {gui_library}, is the library" in window.banner.text.text()
    assert settings.library == gui_library
    (tmp_path / "empty").mkdir()
    window.start(tmp_path / "empty", None)
    qtbot.waitUntil(lambda: "No library at" in window.banner.text.text(), timeout=WAIT)
    assert "yet" in window.banner.text.text()


def test_a_window_geometry_qt_refuses_gives_the_first_size(qtbot, tmp_path):
    """Geometry saved on another screen or damaged: Qt refuses it and the window opened at
    its least size (583x400) instead of the size that fits the screen."""
    from PySide6.QtCore import QByteArray, QSettings

    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    settings.save_geometry(QByteArray(b"\x01\xd9\xd0\xcb not Qt's bytes"), QByteArray())
    w = MainWindow(settings)
    qtbot.addWidget(w)
    assert w.size() == w._first_size()
    assert w.width() > w.minimumSizeHint().width() + 100


def test_session_dialog_refuses_an_empty_examiner(qtbot, settings):
    """An empty name would silently become the login name in every rating."""
    from PySide6.QtWidgets import QDialogButtonBox

    from examiner_app.session_dialog import SessionDialog

    dialog = SessionDialog(settings)
    qtbot.addWidget(dialog)
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    dialog.examiner.setText("   ")
    assert not ok.isEnabled()
    dialog.accept()
    assert settings.examiner == "Ada Examiner" and not dialog.result()
    dialog.examiner.setText(" Bob ")
    assert ok.isEnabled()
    dialog.accept()
    assert settings.examiner == "Bob"
    study = settings.study
    dialog.examiner.setText("Jane Doe\tE123\n")  # a spreadsheet row pasted: not a name
    dialog.study.setText("pilot\nweek 2")
    dialog.accept()
    assert settings.examiner == "Bob" and settings.study == study and dialog.outcome.isVisibleTo(
        dialog) and "Examiner: holds a line break, tab" in dialog.outcome.text()
    dialog.examiner.setText("Jane Doe")
    dialog.accept()
    assert settings.examiner == "Bob" and "Study: holds a line break" in dialog.outcome.text()
    dialog.study.setText("pilot week 2")
    dialog.accept()
    assert (settings.examiner, settings.study) == ("Jane Doe", "pilot week 2")
    settings.session = ""                   # following today's date: OK keeps it following
    dialog = SessionDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.session.text() == "" and dialog.export.isEnabled()
    dialog.accept()
    assert settings.session_typed == "" and settings.session == date.today().isoformat()


@pytest.fixture
def large_font(qtbot):
    """The desktop's font at 15 pt (a user's larger default), for one test."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    font = app.font()
    large = app.font()
    large.setPointSizeF(15)
    app.setFont(large)
    yield
    app.setFont(font)


def test_the_session_dialog_keeps_its_lines_whole_in_a_large_font(qtbot, settings,
                                                                  large_font):
    """Its fixed 560-px width cut the blind-mode box's text (which cannot wrap) at 11 pt
    and more: '... shuffle tied re'."""
    from examiner_app.session_dialog import SessionDialog

    dialog = SessionDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.blind.width() >= dialog.blind.sizeHint().width()


def test_session_dialog_exports_only_the_session_in_use(qtbot, settings):
    from examiner_app.session_dialog import SessionDialog

    dialog = SessionDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.export.isEnabled()
    dialog.session.setText("s-2")                   # typed, not yet switched to with OK
    assert not dialog.export.isEnabled() and "Press OK" in dialog.export.toolTip()
    dialog.session.setText("s-1")
    assert dialog.export.isEnabled()


def test_a_ratings_export_asked_for_in_the_session_dialog_reports_there(
        qtbot, window, gui_library, tmp_path):
    """The modal Study session dialog covers the window's banner, so it shows the outcome."""
    from examiner_app.session_dialog import SessionDialog

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(2)
    dialog = SessionDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.show()
    window.banner.hide()
    window.export_ratings(tmp_path / "ratings.csv", window.notify_in(dialog))
    qtbot.waitUntil(lambda: "saved to" in dialog.outcome.text(), timeout=WAIT)
    assert dialog.outcome.isVisible() and not window.banner.isVisible()
    assert [r["rating"] for r in csv.DictReader((tmp_path / "ratings.csv").open())] == ["2"]
    window.export_ratings(tmp_path / "missing" / "ratings.csv", window.notify_in(dialog))
    qtbot.waitUntil(lambda: "not exported" in dialog.outcome.text(), timeout=WAIT)
    assert not window.banner.isVisible()
    dialog.close()                  # closed before the export ends: the banner tells
    window.export_ratings(tmp_path / "again.csv", window.notify_in(dialog))
    qtbot.waitUntil(lambda: "again.csv" in window.banner.text.text(), timeout=WAIT)


def test_the_session_dialog_scores_the_model_by_the_sessions_ratings(
        qtbot, window, gui_library):
    """"Score the model by these ratings" runs the session's rated searches again and shows
    nDCG@10 as the examiners saw it and as the model ranks now (the same model: equal)."""
    from examiner_app.session_dialog import SessionDialog

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(2)
    window.rate_current(3)
    window.results.select_row(0)
    window.rate_current(0)
    dialog = SessionDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.scoreRequested.connect(lambda: window.score_by_ratings(dialog))
    dialog.show()
    qtbot.waitUntil(lambda: window.service.ratings.pool.activeThreadCount() == 0,
                    timeout=WAIT)                   # the ratings are committed
    dialog.score.click()
    assert dialog.score.text() == "Cancel scoring"
    qtbot.waitUntil(lambda: "nDCG@10" in dialog.outcome.text(), timeout=WAIT)
    text = dialog.outcome.text()
    assert text.startswith("1 rated search(es) scored with model ")
    seen = text.split("saw the ranking ")[1][:5]
    assert f"the model now {seen}; difference +0.000" in text and float(seen) < 1
    assert dialog.score.text() == "Score the model by these ratings"


def test_a_session_dialog_opened_again_while_scoring_runs_can_cancel_it_and_is_told(
        qtbot, window, gui_library, monkeypatch):
    """Scoring started, the dialog closed and opened again: its Score button did nothing
    (the window ignored a second start), could not cancel, and the verdict went to the
    banner behind the dialog."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from examiner_app.session_dialog import SessionDialog

    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    started, cancelled = [], []

    class Running:
        def cancel(self):
            cancelled.append(True)

    def score_by_ratings(identity, *, on_progress, on_done, on_error):
        started.append(on_done)
        return Running()
    monkeypatch.setattr(window.service, "score_by_ratings", score_by_ratings)

    class Scores:
        searches = [1]

        def text(self, blind=False):
            return "1 rated search(es) scored: nDCG@10 0.9"

    first = SessionDialog(window.settings, window)
    qtbot.addWidget(first)
    first.scoreRequested.connect(lambda: window.score_by_ratings(first))
    first.show()
    first.score.click()
    assert len(started) == 1
    first.close()
    seen = []

    def in_the_new_dialog():
        dialog = QApplication.activeModalWidget()
        seen.append(dialog.score.text())
        dialog.score.click()                        # cancels the run that goes on
        started[0](Scores())                        # its verdict arrives
        seen.append((dialog.outcome.text(), dialog.score.text()))
        dialog.reject()
    QTimer.singleShot(0, in_the_new_dialog)
    window.show_session_dialog()
    assert seen[0] == "Cancel scoring" and cancelled == [True]
    assert seen[1] == ("1 rated search(es) scored: nDCG@10 0.9",
                       "Score the model by these ratings")
    assert not window.banner.isVisible() or "nDCG" not in window.banner.text.text()


def test_the_session_dialog_reads_names_as_stored(qtbot, window, tmp_path, monkeypatch):
    """A study typed with spaces around it is the study in use (Export and Score were
    switched off for it); a Hebrew name no longer turns the English summary around; a
    session "week 1/2" no longer sends the export to another folder as "2.csv"."""
    from PySide6.QtWidgets import QFileDialog

    from core.reports import SessionSummary
    from examiner_app.session_dialog import SessionDialog

    window.settings.study, window.settings.session = "pilot", "week 1/2"
    dialog = SessionDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.study.setText("  pilot ")
    assert dialog.export.isEnabled() and dialog.whose()[1] == "pilot"
    dialog.examiner.setText("\u05de\u05d1\u05d7\u05df")
    dialog.set_summary(SessionSummary("week 1/2", "x"))
    assert dialog.summary.text().startswith("\u2068\u05de\u05d1\u05d7\u05df\u2069 in session")
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (asked.append(a[2]), ("", ""))[1])
    window.settings.last_folder = str(tmp_path)
    window.export_ratings_dialog()
    assert asked == [str(tmp_path / "ratings-week 1-2.csv")]
    exported = []                               # a name typed without .csv gets it
    monkeypatch.setattr(window, "export_ratings", lambda path, notify=None, events=False:
                        exported.append(path))
    for typed in ("ratings", "ratings.CSV", "week.v2"):
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *a, typed=typed: (str(tmp_path / typed), "CSV (*.csv)"))
        window.export_ratings_dialog()
    assert exported == [tmp_path / "ratings.csv", tmp_path / "ratings.CSV",
                        tmp_path / "week.v2.csv"]
    from PySide6.QtWidgets import QMessageBox

    (tmp_path / "ratings.csv").write_text("an older export")    # the dialog asked about
    answers, exported[:] = [QMessageBox.StandardButton.No], []  # "ratings", not ratings.csv
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **kw: (answers.append(a[2]), answers[0])[1])
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "ratings"), "CSV (*.csv)"))
    window.export_ratings_dialog()
    assert exported == [] and "ratings.csv already exists" in answers[-1]
    answers[0] = QMessageBox.StandardButton.Yes
    window.export_ratings_dialog()
    assert exported == [tmp_path / "ratings.csv"]
    monkeypatch.setattr(QFileDialog, "getSaveFileName",      # typed whole: the dialog asked
                        lambda *a: (str(tmp_path / "ratings.csv"), "CSV (*.csv)"))
    answers[0] = QMessageBox.StandardButton.No
    window.export_ratings_dialog()
    assert exported == [tmp_path / "ratings.csv"] * 2 and len(answers) == 3


def test_settings_edited_by_hand_into_nonsense_fall_back_to_defaults(tmp_path, qtbot):
    """A settings file edited by hand (geometry=garbage, a library path with an unquoted
    comma, which QSettings reads as a list) stopped the window from starting, every time;
    a size where a name belongs became the examiner's name. Each falls back to its default."""
    settings_file = tmp_path / "examiner.conf"
    settings_file.write_text("[General]\nlibrary=/a, /b\nexaminer=@Size(1 2)\n"
                             "study=@ByteArray(\\xff)\nsession=x, y\n"
                             "[window]\ngeometry=garbage\nstate=1\n")
    settings = Settings(QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert settings.library is None and settings.geometry() == (None, None)
    assert settings.study == "" and settings.session_typed == ""
    assert "Size" not in settings.examiner and settings.examiner
    settings.q.setValue("examiner", "a\tb")     # a name on two lines, which the log refuses
    settings.q.setValue("study", "pilot\nweek 2")
    settings = Settings(settings.q)             # (a window reads them once, when it opens)
    assert "\t" not in settings.examiner and settings.examiner and settings.study == ""
    w = MainWindow(settings)
    qtbot.addWidget(w)
    assert w.width() > 0 and w.settings.library is None


def test_a_search_made_while_the_ratings_are_scored_does_not_wait_for_the_scoring(
        qtbot, window, gui_library):
    """Scoring reruns every rated search on the thread searches use; it goes one search per
    step, behind the examiner's, so a search asked for meanwhile comes back first."""
    from core.search import SearchQuery

    for sheet in sheets(gui_library)[:3]:
        window.start(gui_library, sheet)
        searched(qtbot, window)
        window.results.select_row(0)
        window.rate_current(2)
    qtbot.waitUntil(lambda: window.service.ratings.pool.activeThreadCount() == 0,
                    timeout=WAIT)
    order, scores, fail = [], [], []
    steps = window.service.score_by_ratings(
        window.identity(), on_progress=lambda *a: None,
        on_done=lambda s: (order.append("score"), scores.append(s)), on_error=fail.append)
    window.service.search(SearchQuery(image=sheets(gui_library)[3], k=5), window.identity(),
                          lambda: True, on_done=lambda r: order.append("search"),
                          on_error=fail.append)
    qtbot.waitUntil(lambda: len(order) + len(fail) == 2, timeout=WAIT)
    assert not fail and order == ["search", "score"]
    assert len(scores[0].searches) == 3 and not scores[0].cancelled
    steps = window.service.score_by_ratings(         # cancelled: stops at the next step
        window.identity(), on_progress=lambda *a: None, on_done=scores.append,
        on_error=fail.append)
    steps.cancel()
    qtbot.waitUntil(lambda: len(scores) == 2, timeout=WAIT)
    assert scores[1].cancelled and len(scores[1].searches) < 3


def test_all_pages_of_an_application_are_searched_and_reopened_so(
        qtbot, window, gui_library, tmp_path):
    """A multi-page file offers "All pages": every figure of every page is searched (each
    with its page), the header says so, the detail view shows the query page a result
    matched, and reopening the search restores the choice."""
    from PIL import Image

    pdf = tmp_path / "application.pdf"
    pages = [Image.open(p).convert("L") for p in sheets(gui_library)[:2]]
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=300)
    window.start(gui_library, pdf)
    first = searched(qtbot, window)
    assert set(first.query_pages) == {0}
    panel = window.query_panel
    row = panel.figure.findData(-3)
    assert panel.figure.itemText(row) == "All pages (2)"
    panel.figure.setCurrentIndex(row)
    panel.figure.activated.emit(row)                # as a pick in the list does
    assert panel.all_pages and panel.box() is None
    window.search()
    every = searched(qtbot, window, first.search_id)
    assert sorted(set(every.query_pages)) == [0, 1]
    assert len(every.query_figures) == len(every.query_pages) > len(first.query_figures)
    assert "every figure of both pages" in window.results.header.text()

    def detail_of_page_2():
        """The detail of a result page 2 of the query matched: that page beside it, the
        matched query figure outlined (it showed page 1, the one the panel had open)."""
        row = next(i for i in range(window.model.rowCount())
                   if window.response.query_pages[window.model.index(i).data(
                       HitRole).query_figure] == 1)
        window.results.select_row(row)
        window.show_detail()
        hit = window.detail.hit
        qtbot.waitUntil(lambda: window.detail.query_view.has_image(), timeout=WAIT)
        assert window.detail.query_title.text() == "Query — page 2 of 2"
        assert window.detail._query_key[1] == 1 and window.query.page_index == 0
        assert window.detail.query_view._pixmap_item.image != window.query.image
        assert window.detail._query_box == window.response.query_figures[hit.query_figure]
        window.show_grid()
    detail_of_page_2()
    panel.set_selection(0)                          # a figure of the page shown: one page
    assert not panel.all_pages
    window.reopen(every.search_id)
    qtbot.waitUntil(lambda: panel.all_pages and not window.busy.isVisible(), timeout=WAIT)
    assert panel.figure.currentData() == -3
    assert "every figure of both pages" in window.results.header.text()
    detail_of_page_2()                              # (as logged)


def test_a_rating_made_just_before_quitting_is_kept(qtbot, window, gui_library):
    import threading

    from core.store import Store

    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    busy = threading.Event()
    window.service.ratings.submit(lambda task: busy.wait(1.0))   # e.g. a summary or export
    window.results.select_row(0)
    window.rate_current(2)                  # queued behind it
    window.close()                          # and the examiner quits at once
    store = Store(gui_library / "library.sqlite", create=False)
    try:
        assert [r["rating"] for r in store.current_ratings(search_id=resp.search_id)] == [2]
    finally:
        store.close()


def test_a_report_shows_the_query_region_its_results_were_searched_with(
        qtbot, window, gui_library, tmp_path):
    """Exported while the next query is loaded and its search pending: the report is still
    the shown search's own, with its crop (not the next query's), outlined on its query
    page."""
    import threading

    import numpy as np
    import pypdfium2

    files = sheets(gui_library)
    window.start(gui_library, files[0])
    searched(qtbot, window)
    box = window.query_panel.view.boxes[0].to_list()
    crop = (box[0], box[1], (box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
    previous = window.response.search_id
    window.query_panel.view.cropDrawn.emit(crop)
    cropped = searched(qtbot, window, previous)
    gate = threading.Event()
    window.service.db.submit(lambda task: gate.wait(WAIT / 1000))   # holds the next search
    try:
        window.load_query(files[3])
        qtbot.waitUntil(lambda: window.query.path == str(files[3]), timeout=WAIT)
        assert window.response is cropped
        window.export_report(tmp_path / "report.html")
        qtbot.waitUntil(lambda: window.banner.text.text().endswith("report.html"),
                        timeout=WAIT)
    finally:
        gate.set()
    html = (tmp_path / "report.html").read_text()
    assert "x0 y0 x1 y1 = " + " ".join(map(str, crop)) in html
    # grouped in the window (the default): the report, figure by figure, says so
    patents = len({h.patent_id for h in cropped.results})
    assert window.model.grouped and patents < len(cropped.results)
    assert (f"the window showed them grouped by patent ({patents} patents); listed here "
            "figure by figure, as ranked") in html
    window.export_report(tmp_path / "report.pdf")   # its query page, the crop outlined
    qtbot.waitUntil(lambda: window.banner.text.text().endswith("report.pdf"), timeout=WAIT)
    head = np.asarray(pypdfium2.PdfDocument(tmp_path / "report.pdf")[0].render(scale=1)
                      .to_pil().convert("RGB")).astype(int)
    assert ((head[:, :, 0] > 150) & (head[:, :, 1] < 100) & (head[:, :, 2] < 100)).sum() > 50


@pytest.fixture
def app_theme(qtbot):
    """The app's own theme (style, palette, style sheet) for one test, as users see it."""
    from PySide6.QtWidgets import QApplication

    from examiner_app import theme

    app = QApplication.instance()
    style, palette, sheet = app.style().name(), app.palette(), app.styleSheet()
    theme.apply(app)
    yield
    app.setStyle(style)
    app.setPalette(palette)
    app.setStyleSheet(sheet)


def test_the_theme_is_light_on_a_dark_desktop(qtbot):
    """On a dark desktop palette the theme kept the system's dark buttons, bevels and scroll
    bars under its dark ink (1.6:1): every role it draws with is set."""
    from PySide6.QtGui import QPalette

    from examiner_app import theme
    from tests.test_gui_layout import contrast

    pal = theme.light_palette(QPalette(QColor("#353535")))     # a dark desktop's palette
    Role, Group = QPalette.ColorRole, QPalette.ColorGroup
    for group in (Group.Active, Group.Inactive):
        for text, back in ((Role.ButtonText, Role.Button), (Role.WindowText, Role.Window),
                           (Role.Text, Role.Base), (Role.ToolTipText, Role.ToolTipBase)):
            assert contrast(pal.color(group, text), pal.color(group, back)) >= 4.5, (text, back)
        for role in (Role.Button, Role.Light, Role.Midlight, Role.Mid, Role.Dark):
            assert pal.color(group, role).lightness() > 150, role


def test_disabled_buttons_look_disabled_in_the_app_theme(qtbot, app_theme):
    """The theme's palette set every colour group, so a disabled OK looked enabled."""
    from PySide6.QtWidgets import QPushButton

    on, off = QPushButton("OK"), QPushButton("OK")
    off.setEnabled(False)
    for button in (on, off):
        qtbot.addWidget(button)
        button.resize(90, 30)

    def darkest_text(button) -> int:
        image = button.grab().toImage().copy(20, 8, 50, 14)      # the label's middle
        return min(image.pixelColor(x, y).lightness()
                   for x in range(image.width()) for y in range(image.height()))
    assert darkest_text(off) > darkest_text(on) + 60


def test_a_report_name_without_a_report_suffix_gets_the_chosen_formats():
    from examiner_app.main_window import report_path

    assert report_path("/r/notes.txt", "PDF document (*.pdf)") == Path("/r/notes.txt.pdf")
    assert report_path("/r/search.v2", "CSV table (*.csv)") == Path("/r/search.v2.csv")
    assert report_path("/r/search", "HTML report (*.html)") == Path("/r/search.html")
    assert report_path("/r/Search.PDF", "HTML report (*.html)") == Path("/r/Search.PDF")


def test_a_report_whose_suffix_was_added_asks_before_replacing_a_file(
        qtbot, window, tmp_path, monkeypatch):
    """The save dialog asks about replacing the name as typed ("search"); the file written
    is search.html, which was overwritten without a word."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QFileDialog, QMessageBox

    (tmp_path / "search.html").write_text("last week's report")
    window.response = SimpleNamespace(search_id=7)
    written, asked = [], []
    monkeypatch.setattr(window, "export_report", written.append)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "search"), "HTML report (*.html)"))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **kw: (asked.append(a[2]), QMessageBox.StandardButton.No)[1])
    window.export_report_dialog()
    assert written == [] and asked and "search.html already exists" in asked[0]
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "new"), "PDF document (*.pdf)"))
    window.export_report_dialog()
    assert written == [tmp_path / "new.pdf"] and len(asked) == 1
    assert (tmp_path / "search.html").read_text() == "last week's report"


def test_blind_mode_hides_the_model_in_the_library_dialog(qtbot, window, gui_library):
    from PySide6.QtWidgets import QFormLayout

    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.show_library_dialog()
    form = window._library_dialog.summary

    def model_row() -> str:
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if label is not None and label.widget().text() == "Model":
                return form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget().text()
        return ""
    model_id = window.service.info["model"]["id"]
    qtbot.waitUntil(lambda: model_id in model_row(), timeout=WAIT)
    window.set_blind_setting(True)
    qtbot.waitUntil(lambda: "hidden in blind mode" in model_row(), timeout=WAIT)
    assert model_id not in model_row()
    window.set_blind_setting(False)
    qtbot.waitUntil(lambda: model_id in model_row(), timeout=WAIT)


def test_rating_chips_by_mouse_click_and_double_click(qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.show_grid()
    view, delegate = window.results.view, window.results.delegate
    index = window.results.model.index(0)

    def chip(value: int):
        return delegate._chip_rects(delegate._card(view.visualRect(index)))[value].center()

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=chip(2))
    assert index.data(RatingRole) == 2
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=chip(2))
    assert index.data(RatingRole) is None                   # a click on the set chip clears it
    # a real double-click: press, release, press, double-click, release (QTest's mouseDClick
    # sends the double-click event alone)
    port, left = view.viewport(), Qt.MouseButton.LeftButton
    qtbot.mouseClick(port, left, pos=chip(3))
    qtbot.mousePress(port, left, pos=chip(3))
    qtbot.mouseDClick(port, left, pos=chip(3))
    qtbot.mouseRelease(port, left, pos=chip(3))
    assert index.data(RatingRole) == 3                      # rated once, not set and cleared
    assert window.stack.currentWidget() is window.results   # and no detail view opened
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    option.rect = view.visualRect(index)
    at = QPointF(chip(3))
    release = QMouseEvent(QEvent.Type.MouseButtonRelease, at, view.viewport().mapToGlobal(at),
                          left, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    for kind in (QEvent.Type.MouseButtonDblClick, None):  # with the release that ends it
        event = release if kind is None else QMouseEvent(
            kind, at, view.viewport().mapToGlobal(at), left, left,
            Qt.KeyboardModifier.NoModifier)
        assert delegate.editorEvent(event, window.results.model, option, index)
    assert index.data(RatingRole) == 3
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=chip(1))
    assert index.data(RatingRole) == 1


def test_all_pages_says_which_pages_of_printed_text_it_left_out(
        qtbot, window, gui_library, tmp_path):
    from PIL import Image

    from core.drawing import prepare_query_page
    from core.synthetic import text_page

    seed = next(s for s in range(20) if prepare_query_page(text_page(s), dpi=300)[0])
    alone = tmp_path / "specification.png"          # a text page searched alone: a warning
    Image.fromarray(text_page(seed)).save(alone)
    window.start(gui_library, alone)
    assert searched(qtbot, window).text_only
    assert window.banner.level == "warning" and "printed text" in window.banner.text.text()
    assert "Open the application's drawing sheets" in window.banner.text.text() and \
        "All pages" not in window.banner.text.text()    # (a one-page file has none to pick)

    pdf = tmp_path / "application.pdf"
    first, last = (Image.open(p).convert("L") for p in sheets(gui_library)[:2])
    first.save(pdf, save_all=True, append_images=[Image.fromarray(text_page(seed)), last],
               resolution=300)
    window.start(gui_library, pdf)
    first = searched(qtbot, window)
    assert not first.text_only and not window.banner.isVisible()
    panel = window.query_panel
    row = panel.figure.findData(-3)
    panel.figure.setCurrentIndex(row)
    panel.figure.activated.emit(row)
    window.search()
    every = searched(qtbot, window, first.search_id)
    assert every.text_pages == [1] and sorted(set(every.query_pages)) == [0, 2]
    assert "every figure of all 3 pages except printed-text page 2" in \
        window.results.header.text()
    window.reopen(every.search_id)                  # the audit log keeps what was left out
    qtbot.waitUntil(lambda: "reopened" in window.results.subheader.text()
                    and not window.busy.isVisible(), timeout=WAIT)
    assert window.response.text_pages == [1]
    assert "except printed-text page 2" in window.results.header.text()
    assert not panel.view.left_out                  # (page 1 shown: its figures searched)

    window.load_query(pdf, 1)                       # the text page open, then all pages:
    text_alone = searched(qtbot, window, every.search_id)
    assert text_alone.text_only and not panel.view.left_out
    panel.figure.setCurrentIndex(row)
    panel.figure.activated.emit(row)
    window.search()
    shown_left_out = searched(qtbot, window, text_alone.search_id)
    assert shown_left_out.text_pages == [1] and panel.view.left_out
    from examiner_app.query_view import LEFT_OUT_COLOR

    drawn = panel.view._boxes                       # its blocks grey, not figures searched
    assert len(drawn) == len(panel.view.boxes) > 0
    assert all(item.pen().color() == LEFT_OUT_COLOR for item in drawn)
    assert panel.file_label.text() == \
        "application.pdf \u2014 page 2 is printed text: not searched"
    panel.set_selection(0)                          # one block picked: searched alone now
    assert not panel.view.left_out and drawn[0].scene() is None
    assert panel.file_label.text() == "application.pdf"

    only_text = tmp_path / "typeface.pdf"           # every page text: searched, and said so
    Image.fromarray(text_page(seed)).save(only_text, save_all=True, resolution=300,
                                          append_images=[Image.fromarray(text_page(seed))])
    window.start(gui_library, only_text)
    one = searched(qtbot, window, every.search_id)
    assert one.text_only and "This page looks like printed text" in window.banner.text.text()
    row = panel.figure.findData(-3)
    panel.figure.setCurrentIndex(row)
    panel.figure.activated.emit(row)
    window.search()
    assert searched(qtbot, window, one.search_id).text_only
    assert window.banner.level == "warning"
    assert "Every page looks like printed text" in window.banner.text.text()


def test_a_sheet_shown_small_keeps_its_thin_lines(qtbot):
    """Fine 1-bit hatching shown at a tenth of its size averages to an even grey (lines kept,
    no moiré), where the view's bilinear sampling dropped most lines or striped them."""
    import numpy as np

    from examiner_app.zoom_view import ZoomView

    page = QImage(2000, 2000, QImage.Format.Format_Mono)
    page.fill(1)                                       # white in the default mono table
    for y in range(0, 2000, 5):                        # 1-px lines every 5 px
        for x in range(2000):
            page.setPixel(x, y, 0)
    view = ZoomView()
    qtbot.addWidget(view)
    view.resize(230, 230)
    view.show()
    view.set_image(page)
    qtbot.wait(50)
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    gray = np.array([[QColor(shot.pixel(x, y)).value() for x in range(60, 160)]
                     for y in range(60, 160)], float)
    assert 170 < gray.mean() < 235                     # 1 in 5 black: about 204
    assert gray.std() < 12


def test_a_sheet_zoomed_to_a_figure_does_not_resize_itself_in_a_loop(qtbot):
    """Fitted to a figure on every resize, the view used to show a scroll bar, fit again
    without the room it took, hide it, and so on: ~30,000 resizes a second froze the app
    (this geometry is the detail view of a real result at 1300x850)."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject
    from PySide6.QtWidgets import QApplication

    from examiner_app.zoom_view import ZoomView

    class Resizes(QObject):
        n = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Resize:
                self.n += 1
                if self.n > 100:            # a loop: end it, so the test fails, not hangs
                    view._target = None
            return False

    page = QImage(2560, 3300, QImage.Format.Format_Grayscale8)
    page.fill(255)
    view = ZoomView()
    qtbot.addWidget(view)
    view.resize(450, 517)
    view.show()
    view.set_image(page)
    resizes = Resizes()
    view.viewport().installEventFilter(resizes)
    view.zoom_to((448, 608, 2016, 2896))
    for _ in range(20):
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert resizes.n < 5
    view.zoom_by(1.25)                      # zoomed by the user, the bars are back to pan
    assert view.horizontalScrollBar().maximum() > 0
    assert view.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded


def test_tab_goes_from_the_query_controls_to_the_filters_to_the_results(window):
    """Keyboard users reach the figure choice, Crop, the filters and Search in the order they
    are laid out, then the results."""
    from PySide6.QtCore import Qt

    def tab_stops(start, n):
        out, w = [], start
        while len(out) < n:
            w = w.nextInFocusChain()
            if w.isVisible() and w.isEnabled() and w.focusProxy() is None and \
                    w.focusPolicy() & Qt.FocusPolicy.TabFocus == Qt.FocusPolicy.TabFocus:
                out.append(w)
        return out

    q, f = window.query_panel, window.filters
    stops = tab_stops(q.view, 12)   # (no query yet: the figure choice and Crop are disabled)
    order = [stops.index(w) for w in (f.date.edit, f.search_button, window.results.view)]
    assert order == sorted(order) and q.crop not in stops
    q.figure.setEnabled(True)
    q.crop.setEnabled(True)
    assert tab_stops(q.view, 3) == [q.figure, q.crop, stops[0]]


def test_zoom_keys_work_as_soon_as_the_detail_view_opens(qtbot, window, gui_library):
    """Space opens the detail view with the focus on the view itself: +, - and F zoom the
    result's sheet at once (the query's once clicked), and Help lists them with the wheel."""
    from PySide6.QtWidgets import QApplication

    from examiner_app.shortcuts import MOUSE_ROWS, shortcut_rows

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.activateWindow()
    window.show_grid()
    qtbot.keyClick(window.results.view, Qt.Key.Key_Space)
    assert window.stack.currentWidget() is window.detail
    view = window.detail.result_view
    qtbot.waitUntil(view.has_image, timeout=WAIT)
    scale = lambda v: v.transform().m11()  # noqa: E731
    before = scale(view)
    focus = QApplication.focusWidget()
    assert focus is window.detail or window.detail.isAncestorOf(focus)
    qtbot.keyClick(focus, Qt.Key.Key_Plus)
    assert scale(view) == pytest.approx(before * 1.25)
    qtbot.keyClick(focus, Qt.Key.Key_Minus)
    assert scale(view) == pytest.approx(before)
    qtbot.keyClick(focus, Qt.Key.Key_F)
    assert view._target == "fit"
    query = window.detail.query_view
    query.setFocus()
    query_before = scale(query)
    qtbot.keyClick(query, Qt.Key.Key_Equal)
    assert scale(query) == pytest.approx(query_before * 1.25)
    rows = shortcut_rows(window.menuBar())
    assert ("Results", "Zoom in", "+, =") in rows and ("Results", "Fit page", "F") in rows
    assert ("Mouse", "Zoom the query or a sheet of the detail view", "Wheel") in MOUSE_ROWS


def test_clearing_the_drawing_leaves_a_search_by_the_words_alone(qtbot, window, gui_library):
    from examiner_app.shortcuts import shortcut_rows

    assert ("File", "Clear drawing", "Ctrl+Shift+Backspace") in shortcut_rows(window.menuBar())
    window.start(gui_library, sheets(gui_library)[0])
    first = searched(qtbot, window)
    window.filters.text.setText("drinking mug")
    window.acts.clear_query.trigger()
    resp = searched(qtbot, window, first.search_id)
    assert window.query is None and window.query_panel.file_label.text() == "No query"
    assert not window.query_panel.view.verticalScrollBar().isVisible()  # (the sheet's)
    assert resp.query is None and resp.text == "drinking mug" and resp.results
    assert window.results.header.text().endswith("the text \u201cdrinking mug\u201d alone")
    assert window.filters.query_text() == "drinking mug"     # the text and filters stay

    window.load_query(sheets(gui_library)[1])                # no text: the results go too
    searched(qtbot, window, resp.search_id)
    window.filters.text.clear()
    window.acts.clear_query.trigger()
    assert window.query is None and window.response is None and window.model.rowCount() == 0
    assert window.results.header.text() == "No search yet"
    assert "Type a title" in window.banner.text.text()


def test_history_names_the_page_and_the_part_of_a_file_searched():
    from examiner_app.history_panel import paged_files, query_label, region_text

    records = [{"query_path": "/q/app.pdf", "query_page": 0},
               {"query_path": "/q/app.pdf", "query_page": 1},
               {"query_path": "/q/app.pdf", "query_page": None},
               {"query_path": "/q/app.tif", "query_page": 0},
               {"query_path": "/q/app.tif", "query_page": 0, "query_box": [10, 20, 300, 400],
                "text": "chair"},
               {"query_path": None, "query_page": 0, "text": "lamp"}]
    paged = paged_files(records)
    labels = [query_label(r, paged) for r in records]
    assert labels == ["app.pdf p.1", "app.pdf p.2", "app.pdf p.all", "app.tif",
                      "app.tif part + \u201cchair\u201d", "\u201clamp\u201d"]
    assert region_text(records[4]) == "page 1, the part x 10\u2013300, y 20\u2013400 (a figure " \
        "or a crop)"
    assert region_text(records[2]) == "every page, all figures" and region_text(records[5]) == ""
    figure = {**records[3], "query_box": [5, 6, 70, 80], "params": {"region": "figure 2"}}
    crop = {**records[3], "query_box": [5, 6, 70, 80], "params": {"region": "crop"}}
    assert query_label(figure) == "app.tif fig.2" and query_label(crop) == "app.tif crop"
    assert region_text(figure) == "page 1, figure 2 x 5\u201370, y 6\u201380"
    assert region_text(crop) == "page 1, a crop x 5\u201370, y 6\u201380"


def test_the_history_lists_only_the_examiners_own_searches_of_the_session(qtbot):
    """A session is often named by its date, which every examiner shares: "Only mine" keeps
    the searches of this examiner in this study, and unticked lists everyone's with who."""
    from examiner_app.history_panel import HistoryPanel

    panel = HistoryPanel()
    qtbot.addWidget(panel)
    who = [("ann", "pilot"), ("bob", "pilot"), ("ann", None), ("bob", None), ("ann", "pilot")]
    panel.set_records([{"id": i + 1, "query_path": "/q/a.png", "query_page": 0, "results": [],
                        "examiner": e, "study": st, "session": "2026-12-05"}
                       for i, (e, st) in enumerate(who)], "2026-12-05", "ann", "pilot")
    def shown():
        return [panel.table.item(i, 0).text() for i in range(panel.table.rowCount())]
    assert shown() == ["1", "5"]
    # (the next day, a session named by its date lists none: the others are said, not lost)
    assert panel.hidden_note.isVisibleTo(panel) and panel.hidden_note.text() == (
        "3 searches of other sessions or examiners are not listed: untick to list them")
    panel.set_records(panel._records, "2026-12-05", "ann", "")       # outside any study
    assert shown() == ["3"]
    panel.only_session.setChecked(False)
    assert shown() == ["1", "2", "3", "4", "5"] and not panel.table.isColumnHidden(6)
    assert not panel.hidden_note.isVisibleTo(panel)
    # everyone's: a study's session named apart from the same name outside it
    assert [panel.table.item(i, 7).text() for i in range(5)] == \
        ["pilot / 2026-12-05", "pilot / 2026-12-05", "2026-12-05", "2026-12-05",
         "pilot / 2026-12-05"]


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Adak"])
def test_the_history_shows_when_on_this_computers_clock(qtbot, monkeypatch, zone):
    """Searches are logged in UTC; the history showed that time with its zone cut off and
    called it today by the local date: at UTC+14 a search of a minute ago read as
    yesterday's, at UTC-10 as ten hours ahead."""
    import time
    from datetime import datetime, timedelta, timezone

    from examiner_app.history_panel import WHEN, HistoryPanel

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        just_now = datetime.now(timezone.utc) - timedelta(minutes=1)
        logged = just_now.isoformat(timespec="seconds")
        panel = HistoryPanel()
        qtbot.addWidget(panel)
        panel.set_records([{"id": 1, "query_path": "/q/a.png", "results": [], "session": "s",
                            "at": logged}], "s")
        local = just_now.astimezone()
        assert panel.table.item(0, WHEN).text() == local.strftime("%H:%M")
        assert local.strftime("%Y-%m-%d %H:%M:%S") in panel.table.item(0, WHEN).toolTip()
        assert logged in panel.table.item(0, 0).toolTip()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_batch_of_others_searches_does_not_push_the_sessions_own_out_of_the_history(
        qtbot, window, settings, gui_library):
    """The dock listed the newest 500 searches of everyone and kept "mine" among them: after
    a batch of 500 searches by another examiner, "Only mine" was empty and its note counted
    the 500 as the only others. The session's own come whatever the others did, and the
    note counts from the whole log."""
    from core.library import Library

    with Library(gui_library) as lib:       # (the copied library may hold earlier searches)
        mine_before = lib.store.count_searches(examiner="Ada Examiner", study="pilot",
                                               session="s-1")
        total_before = lib.store.count_searches()
        ids = [lib.store.log_search(
            examiner=examiner, study="pilot", session="s-1", query_path="/q/a.png",
            query_sha256="x", query_page=0, query_box=None, before=None, locarno=None,
            text=None, model_id="m", k=5, params={}, results=[])
            for examiner in ("Ada Examiner",) * 3 + ("Bob Batch",) * 12]
    window.start(gui_library, None)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    got = []
    window.service.history(window.identity(), on_done=got.append, limit=5)
    qtbot.waitUntil(lambda: bool(got), timeout=WAIT)
    records, counts = got[0]
    assert counts == {"total": total_before + 15, "mine": mine_before + 3}
    listed = [r["id"] for r in records]
    assert set(ids[:3]) <= set(listed) and ids[-5:] == sorted(listed)[-5:]
    assert not set(ids[3:-5]) & set(listed) and listed == sorted(listed, reverse=True)
    panel = window.history
    panel.set_records(records, "s-1", "Ada Examiner", "pilot", counts=counts)
    shown = [int(panel.table.item(i, 0).text()) for i in range(panel.table.rowCount())]
    assert shown[:3] == ids[2::-1]
    assert panel.hidden_note.text().startswith(
        f"{counts['total'] - counts['mine']} searches of other sessions or examiners are not "
        "listed: untick to list them")
    panel.only_session.setChecked(False)
    assert panel.table.rowCount() == len(records)
    older = counts["total"] - len(records)
    assert panel.hidden_note.text() == (f"{older} older searches are not listed here: "
                                        "`patent-examiner history` lists every one")


@pytest.mark.parametrize("text", [None, "pregnancy pillow"])
def test_sheets_of_one_folder_keep_what_tells_them_apart_in_a_narrow_history(qtbot, text):
    """Queries all from one folder (so no folder is shown) were elided in their middle,
    which their names share: 'page0…t.png' twice, 'USD…TIF' for every sheet of a grant."""
    from examiner_app.history_panel import QUERY, HistoryPanel

    panel = HistoryPanel()
    qtbot.addWidget(panel)
    names = ["page02_sheet.png", "page03_sheet.png", "page12_sheet.png",
             "USD0919445-20210518-D00001.TIF", "USD0919445-20210518-D00002.TIF",
             "USD0919445-20210518-D00011.TIF"]
    panel.set_records([{"id": i + 1, "query_path": f"/q/{n}", "query_page": 0, "results": [],
                        "session": "s", "text": text} for i, n in enumerate(names)], "s")
    panel.resize(260 if text else 180, 300)
    panel.show()
    qtbot.waitUntil(lambda: panel.table.viewport().width() > 0)
    panel._fit_query()
    texts = [panel.table.item(i, QUERY).text() for i in range(len(names))]
    assert any("\u2026" in t for t in texts)                          # they were shortened
    assert len(set(texts)) == len(names), texts


def test_a_narrow_history_shortens_file_names_not_the_page_searched(qtbot):
    from examiner_app.history_panel import QUERY, HistoryPanel

    panel = HistoryPanel()
    qtbot.addWidget(panel)
    long_name = "/q/US-application-2019-0123456-drawings-as-filed.pdf"
    panel.set_records([{"id": i + 1, "query_path": long_name, "query_page": page,
                        "results": [], "session": "s"} for i, page in enumerate((0, 1, None))],
                      "s")
    panel.resize(300, 300)
    panel.show()
    qtbot.waitUntil(lambda: panel.table.viewport().width() > 0)
    panel._fit_query()
    texts = [panel.table.item(i, QUERY).text() for i in range(3)]
    assert texts[0].endswith(" p.1") and texts[1].endswith(" p.2") and \
        texts[2].endswith(" p.all")
    assert all("\u2026" in t for t in texts)                 # the name gave way


def test_the_library_dialog_keeps_a_long_message_and_the_skipped_files_whole(
        qtbot, app_theme, settings):
    """At its default size (fits a 768-px screen) a three-line failure is shown whole and the
    skipped-file table keeps room for a few rows (the contents scroll when they must)."""
    from PySide6.QtWidgets import QApplication

    from examiner_app.library_dialog import SKIPPED_ROWS, LibraryDialog
    from examiner_app.service import LibraryService

    dialog = LibraryDialog(LibraryService(), settings)
    qtbot.addWidget(dialog)
    dialog._show_overview({
        "model": {"id": "m", "ref": "r"}, "grant_date_range": ("2001-01-01", "2020-01-01"),
        "patents": 10, "undated_patents": 0, "pages": 30, "figures": 90, "index_segments": 2,
        "searches": 3, "ratings": 4, "sources": [{"path": "/data/a.jsonl"}],
        "missing_page_files": ["/data/gone.png"], "recent_errors": []})
    dialog.show()
    assert dialog.height() <= 700 and not dialog.skipped.isVisible()
    dialog._fill_skipped([(f"/data/sheet{i}.png", "cannot decode") for i in range(6)])
    dialog.result_label.setText("Failed: " + "a long reason that wraps " * 20)
    QApplication.processEvents()
    assert dialog.height() <= 700
    label = dialog.result_label
    assert label.height() >= label.heightForWidth(label.width()) >= 3 * label.fontMetrics(
    ).lineSpacing()
    table = dialog.skipped
    assert table.isVisible() and table.height() >= \
        table.horizontalHeader().height() + SKIPPED_ROWS * table.rowHeight(0)


def test_the_library_dialog_lists_each_source_once_and_keeps_a_skips_remedy_in_view(
        qtbot, app_theme, settings, tmp_path):
    """A source picked again, or being added when the dialog was opened again mid-run, was
    listed both as added and as to add; a new library's model read "(none yet)  []"; a
    skipped file's reason repeated its path and was cut before its remedy."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFormLayout

    from examiner_app.library_dialog import LibraryDialog
    from examiner_app.service import LibraryService

    dialog = LibraryDialog(LibraryService(), settings)
    qtbot.addWidget(dialog)
    source = tmp_path / "grants"
    source.mkdir()
    dialog._show_overview({
        "model": None, "grant_date_range": (None, None), "patents": 0, "undated_patents": 0,
        "pages": 0, "figures": 0, "index_segments": 0, "searches": 0, "ratings": 0,
        "sources": [{"path": str(source)}], "missing_page_files": [], "recent_errors": []})
    form = dialog.summary
    shown = {form.itemAt(i, QFormLayout.ItemRole.LabelRole).widget().text():
             form.itemAt(i, QFormLayout.ItemRole.FieldRole).widget().text()
             for i in range(form.rowCount())
             if form.itemAt(i, QFormLayout.ItemRole.LabelRole) is not None}
    assert shown["Model"] == "(none yet)"
    dialog.add_pending(str(source) + os.sep)            # picked again (as a dialog gives it)
    assert dialog.pending == [] and "already a source" in dialog.result_label.text()
    assert [dialog.sources.item(i).text() for i in range(dialog.sources.count())] == [
        f"\u2713 {source}"]
    dialog.pending = [str(source)]                      # being added: registered as it starts
    dialog.task = object()
    dialog._fill_sources([str(source)])
    assert [dialog.sources.item(i).text() for i in range(dialog.sources.count())] == [
        f"\u2713 {source}  (adding\u2026)"]
    dialog.task = None

    item = str(tmp_path / "m.jsonl line 3")
    reason = (f"{item}: image: absolute path '/x.png' is not allowed (paths are relative to "
              "the manifest's folder; tick 'Manifests may list files outside their folder')")
    dialog._fill_skipped([(item, reason)])
    cell = dialog.skipped.item(0, 1)
    assert cell.text() == reason.removeprefix(f"{item}: ") and cell.toolTip()
    assert dialog.skipped.textElideMode() == Qt.TextElideMode.ElideMiddle


def test_long_file_names_and_paths_never_push_the_library_dialogs_buttons_out(
        qtbot, app_theme, settings):
    """A file name of 130 characters in the progress line, a deep library path and a result
    naming long files made the dialog's contents wider than its view (no sideways scroll
    bar): Cancel and the other buttons were cut off, out of reach."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication

    from examiner_app.library_dialog import LibraryDialog
    from examiner_app.plain_text import breakable
    from examiner_app.service import LibraryService

    name = ("design_patent_application_drawing_sheet_number_1_of_the_very_long_named_"
            "applicant_corporation_international_holdings_limited_final_v2.png")
    dialog = LibraryDialog(LibraryService(), settings)
    qtbot.addWidget(dialog)
    dialog.show()
    width = dialog.width()
    dialog.path_label.setText("Library: " + "/mnt/examining-corps-share/art-unit-2900" * 4)
    dialog._started = 0.0
    dialog._what = "Adding drawings"
    dialog._progress(1, 6, f"/data/scans/{name}")
    dialog.progress_label.show()
    dialog.result_label.setText(breakable(f"Done: added 5 pages; skipped /data/scans/{name}"))
    QApplication.processEvents()
    assert dialog.width() == width
    assert dialog.body.widget().width() <= dialog.body.viewport().width()
    for button in (dialog.cancel_button, dialog.other_button, dialog.ingest_button):
        right = button.mapTo(dialog, QPoint(button.width(), 0)).x()
        assert right <= dialog.width(), (button.text(), right, dialog.width())
    assert dialog.progress_label.is_elided() and name[-6:] in dialog.progress_label.text()
    label = dialog.result_label
    assert label.height() >= label.heightForWidth(label.width()) >= 2 * label.fontMetrics(
    ).lineSpacing()                                     # (the name wraps at its parts)


def test_the_session_summary_follows_the_examiner_typed_and_says_whose_it_is(
        qtbot, window, gui_library):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(3)                                          # Ada rates one result
    qtbot.waitUntil(lambda: "1 rated" in window.session_label.text(), timeout=WAIT)
    seen = []

    def answer():
        dialog = QApplication.activeModalWidget()
        try:
            qtbot.waitUntil(lambda: dialog.summary.text().startswith(
                "Ada Examiner in session s-1 of study pilot: "), timeout=WAIT)
            seen.append(dialog.summary.text())
            dialog.examiner.setText("Bob")
            assert dialog.summary.text() == "\u2026"                # not Ada's counts
            qtbot.waitUntil(lambda: dialog.summary.text().startswith("Bob in session s-1"),
                            timeout=WAIT)
            seen.append(dialog.summary.text())
            dialog.examiner.setText("")
            qtbot.waitUntil(lambda: "Type the examiner" in dialog.summary.text(), timeout=WAIT)
        finally:
            dialog.reject()
    QTimer.singleShot(0, answer)
    window.show_session_dialog()
    assert len(seen) == 2
    assert "1 result rated" in seen[0] and "0 results rated" in seen[1]
    assert window.settings.examiner == "Ada Examiner"               # (cancelled)


def test_rebuild_index_asks_first(qtbot, window, gui_library):
    """Rebuild index\u2026 says what it costs (every page again, searching paused) and starts
    only once confirmed."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    window.start(gui_library)
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    window.service.workers = 0
    window.show_library_dialog()
    dialog = window._library_dialog
    qtbot.waitUntil(lambda: dialog._info is not None, timeout=WAIT)
    told = []

    def answer(button):
        box = dialog.confirm_box
        told.append(box.informativeText())
        if button == "Rebuild":
            next(b for b in box.buttons() if b.text() == "Rebuild").click()
        else:
            box.button(QMessageBox.StandardButton.Cancel).click()
    QTimer.singleShot(0, lambda: answer("Cancel"))
    dialog.rebuild_button.click()
    assert dialog.task is None and not window.service.maintenance
    assert "Searching and rating pause" in told[0] and \
        f"({window.service.info['pages']} pages)" in told[0]
    QTimer.singleShot(0, lambda: answer("Rebuild"))
    dialog.rebuild_button.click()
    assert dialog.task is not None and window.service.maintenance
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    dialog.close()


def test_only_what_can_be_a_drawing_is_accepted_while_dragging(tmp_path):
    from examiner_app.query_sources import can_accept

    def urls(*paths):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) if not str(p).startswith("http") else
                      QUrl(str(p)) for p in paths])
        return mime
    (tmp_path / "notes.txt").write_text("x")
    assert not can_accept(urls(tmp_path / "notes.txt"))
    assert not can_accept(urls(tmp_path))                           # a folder
    assert can_accept(urls(tmp_path / "sheet.TIF")) and can_accept(urls(tmp_path / "app.pdf"))
    assert not can_accept(urls(tmp_path / "notes.txt", tmp_path / "sheet.png"))  # the first
    assert not can_accept(urls("https://example.com/sheet.png"))
    image = QMimeData()
    image.setImageData(QImage(8, 8, QImage.Format.Format_Grayscale8))
    assert can_accept(image) and not can_accept(None)
    # other names are told by how the file begins: a drawing's, or not
    QImage(8, 8, QImage.Format.Format_Grayscale8).save(str(tmp_path / "x.png"))
    (tmp_path / "x.png").rename(tmp_path / "USD0871717 v1.2")
    (tmp_path / "notes.txt").rename(tmp_path / "notes")
    assert can_accept(urls(tmp_path / "USD0871717 v1.2"))
    assert not can_accept(urls(tmp_path / "notes"))


def test_a_files_address_pasted_as_text_is_the_query(tmp_path):
    """A file manager that copies a file's address as text ("file:///...") gives that file;
    a plain path as before."""
    from examiner_app.query_sources import query_from_mime

    sheet = tmp_path / "my sheet.png"
    QImage(8, 8, QImage.Format.Format_Grayscale8).save(str(sheet))
    for text in (QUrl.fromLocalFile(str(sheet)).toString(), str(sheet), f'"{sheet}"'):
        mime = QMimeData()
        mime.setText(text)
        assert query_from_mime(mime) == sheet, text
    mime = QMimeData()
    mime.setText("file:///nowhere/sheet.png")
    assert query_from_mime(mime) == "the clipboard holds no image or drawing file"


def test_at_1024_the_status_bar_keeps_the_current_result_readable(qtbot, window, gui_library):
    """The library, model and session labels give way (elided, whole in their tooltips) to
    the message naming the current result; the history dock keeps its cutoff and count."""
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.resize(1024, 700)
    qtbot.wait(100)
    window.results.select_row(1)
    window.results.select_row(0)
    message = window.statusBar().currentMessage()
    assert message.startswith("US D")
    room = window.library_label.x() - 8
    assert window.statusBar().fontMetrics().horizontalAdvance(message) <= room
    label = window.library_label
    assert label.is_elided() and label.shown_text().endswith("\u2026")
    window.statusBar().clearMessage()
    window.resize(1300, 700)
    qtbot.wait(100)
    assert not label.is_elided()                        # room for all: nothing elided

    window.acts.history.trigger()
    table = window.history.table
    qtbot.waitUntil(lambda: table.rowCount() > 0, timeout=WAIT)
    qtbot.wait(100)
    header = table.horizontalHeader()
    for j in (3, 4):                                    # before, results
        assert header.sectionViewportPosition(j) + header.sectionSize(j) <= \
            table.viewport().width()
    assert table.horizontalScrollBar().maximum() == 0


def test_a_reopened_search_says_which_ratings_were_made_in_another_session(
        qtbot, window, gui_library):
    window.start(gui_library, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    window.results.select_row(0)
    window.rate_current(2)
    qtbot.waitUntil(lambda: "1 rated" in window.session_label.text(), timeout=WAIT)
    window.reopen(resp.search_id)                       # the same session: nothing to say
    qtbot.waitUntil(lambda: "reopened" in window.results.subheader.text(), timeout=WAIT)
    assert not window.banner.isVisible()
    window.settings.session = "s-2"
    window.reopen(resp.search_id)
    qtbot.waitUntil(lambda: "made in session" in window.banner.text.text(), timeout=WAIT)
    assert window.model.index(0).data(RatingRole) == 2
    assert "1 of the ratings shown was made in session s-1: they count there; rating one " \
        "again moves it to this session (s-2)." in window.banner.text.text()
    window.results.select_row(0)                        # rated again here: it counts here
    window.rate_current(3)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=WAIT)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def back_to_s1():
        dialog = QApplication.activeModalWidget()
        dialog.session.setText("s-1")
        dialog.accept()
    window.results.subheader.setText("")
    window.reopen(resp.search_id)                       # shown from s-2: nothing to say
    qtbot.waitUntil(lambda: "reopened" in window.results.subheader.text(), timeout=WAIT)
    assert not window.banner.isVisible()
    QTimer.singleShot(0, back_to_s1)                    # back in s-1: that rating is s-2's
    window.show_session_dialog()
    assert window.banner.isVisible() and "1 of the ratings shown was made in session s-2: " \
        "they count there; rating one again moves it to this session (s-1)." \
        in window.banner.text.text()


def test_a_pdf_report_goes_on_over_the_next_pages_with_a_block_taller_than_a_page(
        qtbot, tmp_path):
    """A very long query text ran past the foot of page 1 (over the page number, losing the
    Model, Search id and Examiner lines after it) and a result with a title of ~700 words was
    cut at the page's foot: each goes on over the next pages, cut between lines, every line
    on a page once, the column headings above each part of the result and never alone."""
    import re

    import numpy as np
    import pypdfium2

    from core.reports import ReportMeta
    from core.search import SearchHit
    from examiner_app.pdf_report import write_pdf

    sentence = "A folding chair with a curved backrest and slender legs. "
    meta = ReportMeta(query="/q.png", query_sha256="ab", before="2020-01-01", locarno="06-01",
                      text=sentence * 200 + "END_OF_TEXT", model_id="m", search_id=7,
                      examiner="Ada Examiner", allowed=99)
    hits = [SearchHit(rank=i + 1, score=0.5 - i / 100, figure_id=i, patent_id=f"USD{800000 + i}",
                      title="armchair " * 700 + "END_OF_TITLE" if i == 1 else "armchair",
                      locarno="06-01", locarno_title="Seats", grant_date="2019-01-01",
                      filing_date=None, image=f"/p/{i}.tif", page_index=0, page_kind=None,
                      sheet=1, figure=[0, 0, 9, 9]) for i in range(3)]

    def thumb(hit):
        image = np.full((160, 120), 255, np.uint8)
        image[::7] = 0
        return image

    layout = write_pdf(tmp_path / "r.pdf", meta, hits, thumb, thumb(hits[0]), {1: 2}, False)
    assert all(p.top + p.height <= layout.page_height + 0.5 for p in layout.placements)
    assert [p.what for p in layout.placements if p.what.startswith("rank")
            and not p.what.endswith("continued")] == ["rank 1", "rank 2", "rank 3"]
    assert any(p.what == "head continued" for p in layout.placements)
    assert sum(p.what == "rank 2 continued" for p in layout.placements) >= 2
    for page in range(layout.placements[-1].page + 1):
        on_page = [p.what for p in layout.placements if p.page == page]
        for i, what in enumerate(on_page):  # headings, then a result (or a part of one)
            if what == "columns":
                assert on_page[i + 1:i + 2] and on_page[i + 1].startswith("rank"), on_page
            elif what.startswith("rank"):
                assert i > 0 and on_page[i - 1].startswith(("rank", "columns")), on_page

    pdf = pypdfium2.PdfDocument(tmp_path / "r.pdf")
    assert len(pdf) == layout.placements[-1].page + 1
    foot = 14 / 25.4 * 72                       # the bottom margin, in points
    text = ""
    for i in range(len(pdf)):
        page = pdf[i]
        width, height = page.get_size()
        chars = page.get_textpage()
        # nothing painted off the page, or over the page number in the bottom margin
        margin = ""
        for j in range(chars.count_chars()):
            left, bottom, right, top = chars.get_charbox(j)
            assert 0 <= left and right <= width and 0 <= bottom and top <= height, \
                (i + 1, chars.get_text_range(j, 1), (left, bottom, right, top))
            if bottom < foot - 1:
                margin += chars.get_text_range(j, 1)
        assert margin.strip() == str(i + 1)
        text += chars.get_text_range()
    flat = re.sub(r"\s+", "", text)
    assert flat.count("slenderlegs.") == 200     # every line of the text, once
    assert flat.count("armchair") == 702
    for line in ("END_OF_TEXT", "END_OF_TITLE", "Modelm", "Figuressearched99", "Searchid7",
                 "ExaminerAdaExaminer", "3results", "P@10ofthissearch"):
        assert flat.count(line) == 1, line


def test_the_report_of_a_reopened_search_names_who_made_it_and_when_as_logged(
        qtbot, window, gui_library, tmp_path):
    """A search logged from the command line by another examiner, reopened and exported, was
    credited to the window's examiner, study and session, and lost its time and query page;
    its report now says what `history ID --report` says (the examiner whose ratings it
    shows named apart), and the report of a search made in the window stays the window's,
    with its time and whether it was shown blind as a reopened one's says (it left them out)."""
    import json
    import re
    import subprocess
    import sys

    import pypdfium2

    def run_cli(*args):
        proc = subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def head(path):
        return re.findall(r"<tr><td><b>(.*?)</b></td><td>(.*?)</td></tr>", path.read_text())

    files = sheets(gui_library)
    logged = json.loads(run_cli("search", files[1], "--library", gui_library, "--json",
                                "--examiner", "Cleo Searcher", "--study", "main",
                                "--session", "cli-3"))
    window.start(gui_library, files[0])
    mine = searched(qtbot, window)
    window.reopen(logged["search_id"])
    qtbot.waitUntil(lambda: window.response.search_id == logged["search_id"]
                    and not window.busy.isVisible(), timeout=WAIT)
    window.results.select_row(0)
    window.rate_current(2)                  # the window's examiner rates the reopened search
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().endswith("(saved)"),
                    timeout=WAIT)
    for name in ("reopened.html", "reopened.pdf", "reopened.csv"):
        window.export_report(tmp_path / name)
        qtbot.waitUntil(lambda: window.banner.text.text().endswith(name), timeout=WAIT)
    run_cli("history", logged["search_id"], "--library", gui_library, "--report",
            tmp_path / "cli.html", "--examiner", "Ada Examiner")

    rows = dict(head(tmp_path / "reopened.html"))
    cli_rows = dict(head(tmp_path / "cli.html"))
    assert {k: rows.get(k) for k in cli_rows} == cli_rows
    assert (rows["Examiner"], rows["Study"], rows["Session"], rows["Query page"]) == \
        ("Cleo Searcher", "main", "cli-3", "1")
    assert rows["Searched at"] and rows["Search id"] == str(logged["search_id"])
    assert rows["Ratings by"] == "Ada Examiner"
    pictures = [(tmp_path / f).read_text().count("data:image/png") for f in ("reopened.html",
                                                                           "cli.html")]
    assert pictures[0] == pictures[1] == len(window.response.results) + 1   # with the query
    pdf = pypdfium2.PdfDocument(tmp_path / "reopened.pdf")
    text = re.sub(r"\s+", " ", "".join(page.get_textpage().get_text_range() for page in pdf))
    pdf.close()
    for line in (f"Searched at {rows['Searched at']}", "Examiner Cleo Searcher", "Study main",
                 "Session cli-3", "Query page 1", "Ratings by Ada Examiner"):
        assert line in text, line
    table = list(csv.DictReader((tmp_path / "reopened.csv").open(encoding="utf-8-sig")))
    assert {r["search_id"] for r in table} == {str(logged["search_id"])}
    assert table[0]["rating"] == "2"

    window.load_query(files[0])             # a search made now: the window's own
    assert searched(qtbot, window, logged["search_id"]).search_id > mine.search_id
    window.export_report(tmp_path / "mine.html")
    qtbot.waitUntil(lambda: window.banner.text.text().endswith("mine.html"), timeout=WAIT)
    rows = dict(head(tmp_path / "mine.html"))
    assert (rows["Examiner"], rows["Study"], rows["Session"]) == ("Ada Examiner", "pilot", "s-1")
    assert "Ratings by" not in rows and "Shown" not in rows
    from core.library import Library

    with Library(gui_library) as lib:       # the same facts as its reopened report's
        assert rows["Searched at"] == lib.store.search_record(window.response.search_id)["at"]
    window.set_blind_setting(True)
    blind = run_search(qtbot, window)
    window.export_report(tmp_path / "blind.html")
    qtbot.waitUntil(lambda: window.banner.text.text().endswith("blind.html"), timeout=WAIT)
    rows = dict(head(tmp_path / "blind.html"))
    assert rows["Shown"].startswith("blind") and rows["Search id"] == str(blind.search_id)


def _hit(rank, figure, pid, score):
    """A result of a made-up patent (the model's view of results, no library needed)."""
    from core.search import SearchHit

    return SearchHit(rank=rank, score=score, figure_id=figure, patent_id=pid, title="t",
                     locarno="06-01", locarno_title="x", grant_date="2020-01-01",
                     filing_date=None, image="/x.png", page_index=0, page_kind="drawing_sheet",
                     sheet=1, figure=[0, 0, 9, 9])


def test_blind_grouping_never_hides_a_rating_in_a_collapsed_group(window):
    """Blind, grouped: figures of one patent with the same score are shuffled, and the one
    shuffled to the head stood for the patent: a rated figure behind it was hidden, the
    patent shown unrated."""
    hits = [_hit(1, 77, "D0919445", 0.9), _hit(2, 78, "D0919445", 0.9),
            _hit(3, 79, "D0919445", 0.9), _hit(4, 80, "D0000001", 0.5)]
    model = window.model
    model.set_blind(True)
    model.set_grouped(True)
    for seed in range(12):
        model.set_results(hits, ratings={78: 3}, seed=seed)
        head = model.index(0).data(HitRole)
        assert head.patent_id == "D0919445" and head.figure_id == 78, seed
        assert model.index(0).data(RatingRole) == 3


def test_a_collapsed_patent_shows_that_another_of_its_figures_is_rated(qtbot, window):
    """Grouped by patent, a rating given to a figure behind the head (expanded, rated,
    collapsed; or a reopened search) is shown on the patent's card: its chip outlined, the
    tooltip and the screen reader's text name it. The card looked unrated before."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFont, QImage, QPainter

    from examiner_app.results_model import HiddenRatingsRole

    hits = [_hit(1, 77, "D0919445", 0.9), _hit(2, 78, "D0919445", 0.8),
            _hit(3, 79, "D0000001", 0.5)]
    model = window.model
    model.set_grouped(True)
    model.set_results(hits, ratings={})
    model.toggle_expanded(0)
    assert model.index(1).data(HitRole).figure_id == 78
    model.setData(model.index(1), 3, RatingRole)
    assert model.index(0).data(HiddenRatingsRole) == []          # expanded: shown on its own
    model.toggle_expanded(0)
    head = model.index(0)
    assert head.data(RatingRole) is None and head.data(HiddenRatingsRole) == [3]
    window.results.view.setCurrentIndex(head)   # its detail says so too (the chips there
    window.show_detail()                        # rate the figure shown)
    assert window.detail.elsewhere.isVisible() and window.detail.elsewhere.text() == \
        "Another figure rated 3; these rate this figure:"
    assert not any(b.isChecked() for b in window.detail.rating_chips.values())
    window.results.view.setCurrentIndex(model.index(1))
    window.show_detail()
    assert not window.detail.elsewhere.isVisible()
    window.show_grid()
    assert head.data(Qt.ItemDataRole.AccessibleTextRole).endswith(
        "not rated, another figure rated 3")
    assert "Another figure rated 3" in head.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1).data(HiddenRatingsRole) == []          # the other patent
    model.setData(head, 1, RatingRole)      # its own rating is said too (a screen reader
    assert head.data(Qt.ItemDataRole.AccessibleTextRole).endswith(   # heard none of it)
        "rated 1 Marginal, another figure rated 3")
    model.setData(head, None, RatingRole)

    model.set_results(hits, ratings={78: 1, 77: 2})              # reopened: both rated
    assert model.index(0).data(RatingRole) == 2
    assert model.index(0).data(HiddenRatingsRole) == [1]
    model.set_grouped(False)
    assert all(model.index(r).data(HiddenRatingsRole) == [] for r in range(3))

    delegate = window.results.delegate
    card = QRect(0, 0, 200, 300)

    def chips(hidden):
        image = QImage(card.size(), QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        delegate._paint_chips(painter, card, None, QFont(), hidden)
        painter.end()
        return [image.copy(r) for r in delegate._chip_rects(card)]
    plain, marked = chips(()), chips([3])
    assert [a == b for a, b in zip(plain, marked)] == [True, True, True, False]


@pytest.mark.parametrize("name", ["missing.png", "empty.png"])
def test_a_query_given_at_start_that_cannot_be_read_says_so(qtbot, window, gui_library,
                                                            tmp_path, name):
    """``gui --query`` with a missing or empty file: the error came while the library was
    still opening, and the library's arrival hid it (the window showed "No query")."""
    (tmp_path / "empty.png").write_bytes(b"")
    window.start(gui_library, tmp_path / name)
    qtbot.waitUntil(lambda: window.service.info is not None and not window.busy.isVisible(),
                    timeout=WAIT)
    qtbot.wait(200)
    assert window.banner.isVisible() and window.banner.level == "error"
    assert window.banner.text.text().startswith("Cannot use this query:")
    assert name in window.banner.text.text()


def test_the_library_variable_comes_before_the_library_used_last(qtbot, window, gui_library,
                                                                  tmp_path, monkeypatch):
    """As the README says, $PATENT_EXAMINER_LIBRARY overrides the default: the window opened
    the library it remembered instead (and a session's searches were logged there)."""
    from core.library import Library

    Library(tmp_path / "other", create=True).close()
    window.settings.library = gui_library
    monkeypatch.setenv("PATENT_EXAMINER_LIBRARY", str(tmp_path / "other"))
    window.start(None)
    qtbot.waitUntil(lambda: window.service.info is not None and not window.busy.isVisible(),
                    timeout=WAIT)
    assert Path(window.service.info["library"]) == tmp_path / "other"
    assert window.settings.library == tmp_path / "other"


def test_a_library_opened_read_only_for_want_of_room_says_what_stopped_it(
        qtbot, window, gui_library, tmp_path, monkeypatch):
    """Opened under a file size limit (or on a full disk) the library is read-only for now:
    the banner says why and what to do, not "read-only for you" (a matter of permissions)."""
    import errno
    import shutil

    import core.store

    copy = shutil.copytree(gui_library, tmp_path / "full")
    (copy / "library.sqlite-shm").unlink(missing_ok=True)
    connect = core.store.sqlite3.connect

    class Limited(core.store.sqlite3.Connection):
        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode"):  # as SQLite says it: the journal
                raise core.store.sqlite3.OperationalError("disk I/O error")   # files fail
            return super().execute(sql, *args)

    def limited_connect(target, *args, **kw):
        return connect(target, *args, **kw) if kw.get("uri") or not str(target).startswith(
            str(copy)) else connect(target, *args, factory=Limited, **kw)
    monkeypatch.setattr(core.store.sqlite3, "connect", limited_connect)
    monkeypatch.setattr(core.store, "no_room", lambda path: errno.EFBIG)
    window.start(copy, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    assert resp.results and resp.search_id is None
    assert window.banner.level == "warning" and window.banner.text.text() == (
        "Nothing can be written to this library now: the file size limit (ulimit -f) is "
        "reached. Searches are not logged and ratings cannot be saved until you raise the "
        "limit and open it again.")
    # the subheader and a refused rating say the same cause (they said "read-only for
    # you", gone from the screen with the banner)
    said = "read-only until you raise the limit and open it again: the file size limit"
    assert said in window.results.subheader.text()
    window.banner.hide()
    window.model.setData(window.model.index(0), 2, RatingRole)
    assert window.banner.level == "error" and said in window.banner.text.text()


def test_a_read_only_library_is_searched_without_logging(qtbot, window, gui_library,
                                                        tmp_path, monkeypatch):
    """A library this user cannot write (a read-only share; emulated, as root ignores file
    modes): every search failed ("searching works ... search with --no-log", which the window
    cannot do). Now searches run unlogged, and the window says what that costs."""
    import os
    import shutil

    import core.store

    copy = shutil.copytree(gui_library, tmp_path / "ro")
    real_access = os.access
    monkeypatch.setattr(core.store.os, "access", lambda p, mode: False if mode == os.W_OK
                        and str(p).startswith(str(copy)) else real_access(p, mode))
    (copy / "library.sqlite-shm").unlink(missing_ok=True)
    before = (copy / "library.sqlite").read_bytes()
    window.start(copy, sheets(gui_library)[0])
    resp = searched(qtbot, window)
    assert resp.results and resp.search_id is None
    assert window.results.subheader.text().split("; ")[-1].startswith(
        "not logged (the library is read-only for you)")
    assert window.banner.isVisible() and "read-only for you" in window.banner.text.text()
    window.model.setData(window.model.index(0), 2, RatingRole)
    assert window.model.index(0).data(RatingRole) is None
    assert window.banner.level == "error" and "not saved" in window.banner.text.text()
    import examiner_app.service

    real_save = examiner_app.service._save_pasted

    def save(image, folder):                # (root writes anywhere: the folder refuses here)
        if str(folder).startswith(str(copy)):
            raise PermissionError(13, "Permission denied", str(folder))
        return real_save(image, folder)
    monkeypatch.setattr(examiner_app.service, "_save_pasted", save)
    QGuiApplication.clipboard().setImage(QImage(str(sheets(gui_library)[1])))
    window.paste()                          # a pasted drawing is searched from a temporary copy
    qtbot.waitUntil(lambda: window.response is not resp and not window.busy.isVisible(),
                    timeout=WAIT)
    assert window.response.results and "pasted-" in window.response.query
    assert not window.response.query.startswith(str(copy))
    from PySide6.QtWidgets import QLabel

    window.show_library_dialog()            # its runs would be refused: it says so first
    dialog = window._library_dialog
    qtbot.waitUntil(lambda: dialog.findChild(QLabel, "readOnly") is not None, timeout=WAIT)
    assert "need write access" in dialog.findChild(QLabel, "readOnly").text()
    dialog.pending.append(str(gui_library))
    dialog._fill_sources(dialog._registered)
    assert not any(b.isEnabled() for b in (dialog.ingest_button, dialog.update_button,
                                           dialog.rebuild_button))
    dialog.close()
    assert (copy / "library.sqlite").read_bytes() == before



def test_a_read_only_library_without_its_latest_changes_says_so(qtbot, window, gui_library,
                                                                tmp_path, monkeypatch):
    """A read-only library whose -wal file holds changes no temporary copy has room to read:
    the window opens it and warns that what was added, searched or rated last may be
    missing (a copy that can be made reads them: tests/test_library.py)."""
    import errno
    import shutil

    import core.store
    from conftest import leave_in_wal, read_only_without_shm

    copy = shutil.copytree(gui_library, tmp_path / "ro")
    leave_in_wal(copy / "library.sqlite", "probe", "saved last")
    (copy / "library.sqlite-shm").unlink()
    read_only_without_shm(monkeypatch, copy)

    def no_room(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(core.store.shutil, "copyfile", no_room)
    window.start(copy, sheets(gui_library)[0])
    assert searched(qtbot, window).results
    text = window.banner.text.text()
    assert window.banner.level == "warning" and "read-only for you" in text
    assert "library.sqlite-wal) could not be read" in text

    import tempfile

    from examiner_app.service import LibraryService

    def no_usable_folder():             # no temporary folder at all: the window's service
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found")
    monkeypatch.setattr(tempfile, "gettempdir", no_usable_folder)   # made one at start
    service = LibraryService()
    with pytest.raises(OSError, match="No usable temporary"):
        service._temp_folder()          # (asked for by a paste no library keeps)
    service.shutdown()


def test_a_library_that_cannot_be_opened_says_why_to_the_search_asked_with_it(
        qtbot, window, gui_library, monkeypatch):
    """Opened with a query (as `gui --library L QUERY` does), a library this user may not read
    said "no library is open: open one ..." once the queued search failed, over the reason."""
    import core.library

    real = core.library.Library

    def unreadable(path, *args, **kw):
        if path == gui_library:
            raise PermissionError(13, "Permission denied", str(path / "library.sqlite"))
        return real(path, *args, **kw)
    monkeypatch.setattr(core.library, "Library", unreadable)
    window.start(gui_library, sheets(gui_library)[0])
    qtbot.waitUntil(lambda: window.results.header.text() == "Search failed", timeout=WAIT)
    qtbot.waitUntil(lambda: not window.busy.isVisible(), timeout=WAIT)
    text = window.banner.text.text()
    assert "Permission denied" in text and "no library is open" not in text


def test_a_library_whose_model_moved_asks_where_it_is(qtbot, window, gui_library, tmp_path,
                                                     monkeypatch):
    """Built with a checkpoint folder that has moved since: the window says which folder and
    lets the examiner locate it (a wrong folder is said and asked again); the library opens
    and remembers the new place."""
    from core.library import Library
    from core.models import create_model, save_checkpoint
    from examiner_app import main_window

    ck = save_checkpoint(create_model("tiny_test", pretrained=None), tmp_path / "ck")
    with Library(gui_library) as lib:
        with lib.store.transaction():
            lib.store._set_meta("model", {**lib.model_info, "ref": str(ck)})
    moved = ck.rename(tmp_path / "moved")
    (tmp_path / "elsewhere").mkdir()
    window.start(gui_library)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert window.banner.level == "warning"
    assert window.banner.text.text().startswith(
        f"This library was built with the model at {ck}, which is not there now.")
    assert window.banner.action.text() == "Locate the model\u2026"
    from PySide6.QtWidgets import QLabel

    window.show_library_dialog()                # says so, in the window's words, and a
    dialog = window._library_dialog             # rebuild it cannot run leaves the notice
    qtbot.waitUntil(lambda: dialog.findChild(QLabel, "modelMoved") is not None, timeout=WAIT)
    assert "Locate the model" in dialog.findChild(QLabel, "modelMoved").text()
    dialog.pending = [str(tmp_path)]
    dialog.refresh()                            # nothing here can run without the model
    qtbot.waitUntil(lambda: "(to add)" in dialog.sources.item(dialog.sources.count() - 1)
                    .text(), timeout=WAIT)
    assert not any(b.isEnabled() for b in (dialog.ingest_button, dialog.update_button,
                                           dialog.rebuild_button))
    dialog.pending = []
    dialog.start_rebuild()
    qtbot.waitUntil(lambda: dialog.task is None and "Failed" in dialog.result_label.text(),
                    timeout=WAIT)
    said = dialog.result_label.text()
    assert "Locate the model" in said and "--model" not in said, said
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert window.banner.action.text() == "Locate the model\u2026"
    dialog.close()
    answers = iter([str(tmp_path / "elsewhere"), str(moved)])
    monkeypatch.setattr(main_window.QFileDialog, "getExistingDirectory",
                        lambda *a, **k: next(answers))
    window.banner.action.click()                    # a folder without the model
    qtbot.waitUntil(lambda: "is not the model" in window.banner.text.text(), timeout=WAIT)
    assert window.banner.text.text().startswith(f"{tmp_path / 'elsewhere'} is not the model")
    assert window.banner.action.isVisible() and window.service.info is None
    window.banner.action.click()                    # where it is now
    qtbot.waitUntil(lambda: window.service.info is not None, timeout=WAIT)
    assert not window.banner.isVisible()
    with Library(gui_library) as lib:
        assert lib.model_info["ref"] == str(moved)
    window.show_library_dialog()                # the failure no longer holds; runs may
    qtbot.waitUntil(lambda: dialog.rebuild_button.isEnabled(), timeout=WAIT)
    assert dialog.result_label.text() == "" and dialog.update_button.isEnabled()
    assert dialog.findChild(QLabel, "modelMoved") is None
    dialog.close()
    window.load_query(sheets(gui_library)[0])
    assert searched(qtbot, window).results


def test_the_window_follows_patents_another_program_adds(qtbot, window, gui_library,
                                                         shared_data, tmp_path):
    """The command line adds patents while the window is open: the next search finds them, by
    title and by drawing, and the status bar counts them."""
    import json

    from conftest import write_subset_manifest
    from core.ingest import ingest
    from core.library import Library
    from core.models import create_model

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.clear_query()
    assert window.banner.text.text().startswith("The drawing is cleared.")
    window.filters.set_values(None, None, "wax warmer", 500)   # (every patent: the tiny
    first = run_search(qtbot, window)                          # model's text ranks none)
    assert not window.banner.isVisible()        # (the hint, followed, goes with it)
    assert "D0838859" not in {h.patent_id for h in first.results}      # WAX WARMER
    before = window.library_label.text()
    with Library(gui_library) as lib:
        patents = lib.info()["patents"]
    manifest = write_subset_manifest(shared_data, tmp_path / "more.jsonl", ["D0838859"])
    with Library(gui_library) as other:
        ingest(other, [manifest], create_model("tiny_test", pretrained=None),
               model_ref="tiny_test:random", allow_absolute=True, workers=0)
    assert "D0838859" in {h.patent_id for h in run_search(qtbot, window).results}
    qtbot.waitUntil(lambda: window.library_label.text() != before, timeout=WAIT)
    assert window.library_label.text().startswith(f"library: {patents + 1} patents, ")
    sheet = json.loads(manifest.read_text().splitlines()[0])["image"]
    window.filters.set_values(None, None, "", 10)
    window.load_query(Path(sheet))
    qtbot.waitUntil(lambda: window.query is not None and window.query.path == sheet,
                    timeout=WAIT)
    assert searched(qtbot, window).results[0].patent_id == "D0838859"


def test_pages_are_named_as_examiners_know_them():
    from examiner_app.detail_view import _page_name

    assert _page_name({"page_kind": "front_view", "sheet": None,
                       "path": "/g/USD0939222-20211228-D00000.TIF"}) == "Representative view"
    assert _page_name({"page_kind": "front_page", "sheet": None, "path": "/p/p0.png"}) == \
        "Front page"
    assert _page_name({"page_kind": "drawing_sheet", "sheet": 4, "path": "/p/p4.png"}) == \
        "Sheet 4"
    assert _page_name({"page_kind": None, "sheet": None, "path": "/p/scan 1.png"}) == \
        "scan 1.png"


@pytest.mark.parametrize("points", [9, 11, 14])
def test_a_result_card_has_room_for_a_seven_digit_number_beside_its_date(qtbot, window,
                                                                          points):
    """The card's first line holds the patent number and the grant date: in a large system
    font the card widens rather than drawing one over the other."""
    from PySide6.QtGui import QFont, QFontMetrics

    from core.sources import display_patent_id
    from examiner_app.result_delegate import DATE_GAP, PAD

    font = QFont(window.results.view.font())
    font.setPointSize(points)
    bold, small = QFont(font), QFont(font)
    bold.setBold(True)
    small.setPointSizeF(points * 0.85)                  # the date's
    need = (QFontMetrics(bold).horizontalAdvance(display_patent_id("D1000001")) + DATE_GAP
            + QFontMetrics(small).horizontalAdvance("2026-12-01"))
    card = window.results.delegate.card_size(font)
    assert card.width() - 6 - 2 * PAD >= need, (card.width(), need)


def test_names_that_look_like_html_are_shown_as_written(qtbot, window, gui_library, tmp_path):
    """A query file named "<h1><font color=red>NO PRIOR ART FOUND.png" drew as a red headline
    in the query panel, and an unreadable one as a green headline in the banner: a name can
    fake a message. Labels show such names as plain text; tooltips escape them."""
    import shutil

    from PySide6.QtWidgets import QLabel

    from examiner_app.plain_text import tip

    name = "<h1><font color=red>NO PRIOR ART FOUND.png"
    query = tmp_path / name
    shutil.copy(sheets(gui_library)[0], query)
    window.start(gui_library, query)
    searched(qtbot, window)
    label, normal = window.query_panel.file_label, QLabel("No query")
    assert label.text() == name
    assert label.sizeHint().height() == normal.sizeHint().height()      # not a headline
    assert label.sizeHint().width() >= label.fontMetrics().horizontalAdvance(name)
    assert "&lt;h1&gt;" in label.toolTip() and "<h1>" not in label.toolTip()
    # a long name ends in "..." where the panel cuts it (it was cut mid-word, nothing said so)
    long = tmp_path / ("Application 29-123456 replacement drawing sheet 2 of 7 for the "
                       "examiner's attention.png")
    shutil.copy(sheets(gui_library)[0], long)
    window.start(gui_library, long)
    searched(qtbot, window)
    qtbot.waitUntil(lambda: label.text() == long.name, timeout=WAIT)
    assert label.is_elided() and label.shown_text().endswith("\u2026")
    assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= \
        label.contentsRect().width()
    assert tip(str(long)) in label.full_tip()
    bad = tmp_path / "<h1><font color=green>ALL CLEAR.png"
    bad.write_bytes(b"not an image")
    window.load_query(bad)
    qtbot.waitUntil(lambda: window.banner.level == "error", timeout=WAIT)
    text = window.banner.text
    assert "<h1><font color=green>ALL CLEAR.png" in text.text()
    as_written = QLabel(text.text())
    as_written.setTextFormat(Qt.TextFormat.PlainText)
    as_written.setWordWrap(True)
    as_written.setFont(text.font())
    assert text.heightForWidth(400) == as_written.heightForWidth(400)   # (a headline: taller)
    assert tip("a <b>\nb") == "<p style='white-space:pre-wrap'>a &lt;b&gt;\nb</p>"

    from examiner_app.elided_label import ElidedLabel
    from examiner_app.library_dialog import LibraryDialog
    from examiner_app.session_dialog import SessionDialog

    def as_written(label: QLabel) -> bool:     # (rendered as a headline it is taller)
        ref = QLabel(label.text())
        ref.setTextFormat(Qt.TextFormat.PlainText)
        ref.setWordWrap(label.wordWrap())
        ref.setFont(label.font())
        return label.heightForWidth(400) == ref.heightForWidth(400) and \
            label.sizeHint().height() == ref.sizeHint().height()
    assert as_written(LibraryDialog._note(f"write access to /x/{name}; searching works."))
    assert as_written(ElidedLabel(name))        # (the detail view's title, the status bar)
    window.settings.examiner = "<h1><font color=red>Ada"
    dialog = SessionDialog(window.settings, window)
    qtbot.addWidget(dialog)
    from core.reports import SessionSummary

    dialog.set_summary(SessionSummary("s-1", "x"))
    assert "<h1><font color=red>Ada" in dialog.summary.text() and as_written(dialog.summary)


def test_every_control_a_keyboard_reaches_has_a_name_a_screen_reader_can_say(
        qtbot, window, gui_library):
    """Glyph buttons (the banner's ✕, ◀ ▶, the calendar's ▾), the results list, the zoom
    views, the page strip and the history had no name, or only their glyph, to be read."""
    from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QAbstractSpinBox,
                                   QLabel, QWidget)

    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.show_message("info", "A message")
    window.acts.history.trigger()
    window.results.select_row(0)
    window.show_detail()
    window.detail.resize(600, 700)          # narrow: the rating chips show their digit alone
    unnamed = []
    labelled = {label.buddy() for label in window.findChildren(QLabel)}     # (read with it)
    for w in window.findChildren(QWidget):
        if not w.isVisible() or not w.focusPolicy() & Qt.FocusPolicy.TabFocus and not (
                isinstance(w, QAbstractButton)) or w in labelled:
            continue
        parent = w.parent()         # (a view's viewport, a spin box's edit: read as it)
        if isinstance(parent, QAbstractSpinBox) or isinstance(
                parent, QAbstractScrollArea) and w is parent.viewport():
            continue
        said = w.accessibleName() or (w.text() if isinstance(w, QAbstractButton) else "")
        if not any(c.isalpha() for c in said.replace("&", "")):
            unnamed.append(f"{type(w).__name__} {w.objectName()!r} {said!r} "
                           f"{w.toolTip()!r} {type(w.parent()).__name__}")
    assert unnamed == [], "\n".join(unnamed)


@pytest.mark.parametrize("points", [11, 15])
def test_the_detail_view_never_widens_the_window_in_a_large_font(qtbot, window, gui_library,
                                                                 points):
    """At 760 px and more the detail view named its chips and buttons in full, whatever they
    needed: in a 15-pt font that held a 1300-px window 1423 px wide (1693 with the history),
    its right edge off the screen; at 11 pt (GNOME's) the history opened beside it widened
    the window to 1338 px, the labels' least width taken for the view's."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    font = app.font()
    large = app.font()
    large.setPointSizeF(points)
    app.setFont(large)
    qtbot.addWidget(window)
    try:
        _no_wider_in_detail(qtbot, window, gui_library)
    finally:
        app.setFont(font)


def _no_wider_in_detail(qtbot, window, gui_library) -> None:
    window.start(gui_library, sheets(gui_library)[0])
    searched(qtbot, window)
    window.results.select_row(0)
    window.show_detail()
    qtbot.wait(200)
    assert window.width() == 1300
    window.acts.history.trigger()
    qtbot.waitUntil(lambda: window.history.table.rowCount() > 0, timeout=WAIT)
    qtbot.wait(200)
    assert window.width() == 1300


def test_the_history_stays_readable_in_a_large_font(qtbot, large_font, window, gui_library):
    """Its widths were pixels for a 9-pt font: at 15 pt the query column kept 100 px and
    every search read 'D09…ng'."""
    from examiner_app.history_panel import QUERY, QUERY_MIN

    files = sheets(gui_library)
    window.start(gui_library, files[0])
    searched(qtbot, window)
    for f in files[1:3]:
        window.load_query(f)
        qtbot.waitUntil(lambda: window.response is not None
                        and window.response.query == str(f), timeout=WAIT)
    window.acts.history.trigger()
    table = window.history.table
    qtbot.waitUntil(lambda: len({r["query_path"] for r in window.history._records}) == 3,
                    timeout=WAIT)
    qtbot.wait(200)
    assert table.columnWidth(QUERY) > QUERY_MIN
    shown = {table.item(i, QUERY).text(): window.history._records[i]["query_path"]
             for i in range(table.rowCount())}
    assert len(shown) == len(set(shown.values())) == 3, shown


def test_the_query_view_shows_when_it_has_the_keyboard(qtbot, window):
    """Tab reaches the query view (whose keys zoom and pan it) with nothing drawn to say so:
    its pixels were the same with the focus and without."""
    from examiner_app import theme

    view = window.query_panel.view
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=WAIT)

    def edge():
        image = view.viewport().grab().toImage()
        return image.pixelColor(1, image.height() // 2).name()

    window.filters.setFocus()
    qtbot.waitUntil(lambda: not view.hasFocus(), timeout=WAIT)
    assert edge() != theme.ACCENT.name()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=WAIT)
    assert edge() == theme.ACCENT.name()
