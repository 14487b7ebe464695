"""The main window's commands: every menu item, toolbar button and keyboard shortcut, in one
table. Single-key shortcuts (digits, J/K, C...) are bound to the panels they act on, so they
never fire while the examiner types in a field."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QWidget

from core.reports import RATING_SCALE


def make_action(window: QMainWindow, text: str, slot, shortcut=None, tip: str = "",
                checkable: bool = False, context: QWidget | list | None = None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        keys = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(f"{tip or text.replace('&', '')} "
                          f"({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
    else:
        action.setToolTip(tip or text.replace("&", ""))
    action.setStatusTip(tip or text.replace("&", ""))
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    if context is not None:
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        for widget in (context if isinstance(context, list) else [context]):
            widget.addAction(action)
    else:
        window.addAction(action)
    return action


class WindowActions:
    """Creates the actions of ``w`` (a MainWindow) and puts them in its menus and toolbar."""

    def __init__(self, w):
        grid = [w.results, w.detail]
        sheet_keys = [w.query_panel, *grid]       # everywhere but the text fields

        def A(*args, **kwargs) -> QAction:
            return make_action(w, *args, **kwargs)

        self.open = A("&Open drawing\u2026", w.open_dialog, QKeySequence.StandardKey.Open,
                      "Open a query drawing (PNG, JPEG, TIFF, PDF)")
        self.paste = A("&Paste drawing", w.paste, QKeySequence.StandardKey.Paste,
                       "Use the image or file on the clipboard as the query")
        self.clear_query = A("&Clear drawing", w.clear_query, "Ctrl+Shift+Backspace",
                             "Remove the query drawing (the text and filters stay): search by "
                             "the title or description alone")
        self.search = A("&Search", lambda: w.search(typed_date=True), ["Ctrl+Return", "F5"],
                        "Search prior art with the query and filters")
        self.crop = A("&Crop query", w.toggle_crop, "C",
                      "Draw a rectangle on the query to search with part of it",
                      context=sheet_keys)
        self.all_figures = A("Search all &figures", w.search_all_figures, "A",
                             "Search with every figure of the query sheet",
                             context=sheet_keys)
        self.cutoff = A("No date &cutoff", w.filters.toggle_cutoff, "Ctrl+Shift+D",
                        "Switch the filing-date cutoff off or on")
        self.next = A("&Next result", lambda: w.step(1), "J", context=grid)
        self.prev = A("Pre&vious result", lambda: w.step(-1), "K", context=grid)
        self.detail = A("&Detail view", w.toggle_detail, ["Space", "Return"],
                        "Compare the current result with the query at full resolution; "
                        "again: back to the results", context=grid)
        self.back = A("Back to results", w.show_grid, "Esc", context=w.detail)
        # in the detail view (the zoom views' own keys only reach the one clicked)
        self.zoom_in = A("Zoom &in", w.detail.zoom_in, ["+", "="],
                         "Detail view: zoom into the result's sheet (the query's once "
                         "clicked)", context=w.detail)
        self.zoom_out = A("Zoom &out", w.detail.zoom_out, "-",
                          "Detail view: zoom out of the sheet", context=w.detail)
        self.fit = A("Fit &page", w.detail.fit_page, "F",
                     "Detail view: show the whole sheet", context=w.detail)
        self.rate = [A(f"Rate &{v}: {label}", lambda _=False, v=v: w.rate_current(v), str(v),
                       context=grid) for v, label in RATING_SCALE.items()]
        self.unrate = A("C&lear rating", lambda: w.rate_current(None), ["Del", "Backspace"],
                        context=grid)                   # (many laptops have no Del key)
        self.expand = A("&Expand patent", w.toggle_expanded, "E",
                        "Show or hide the other figures of the current patent",
                        context=w.results)
        self.group = A("&Group by patent", w.set_grouped, "Ctrl+G",
                       "One card per patent (best figure first)", checkable=True)
        self.group.setChecked(w.model.grouped)
        self.more = A("Search with &this drawing", w.search_with_current, "Ctrl+Shift+F",
                      "Use the current result's drawing as the new query")
        self.source = A("Open source &file", w.open_current_source, "Ctrl+Shift+O",
                        "Open the result's drawing file in the system viewer")
        self.replay = A("Run &again and compare", w.replay_current, "Ctrl+Shift+R",
                        "Run the search on screen again and say whether the library still "
                        "gives its logged ranking")
        self.history = w.history.toggleViewAction()
        self.history.setText("Search &history")
        self.history.setShortcut(QKeySequence("Ctrl+H"))
        self.history.setToolTip("Show the search history (Ctrl+H)")
        self.history.triggered.connect(w.history_toggled)
        self.to_results = A("Go to &results", w.focus_results, "F6",
                            "Move the keyboard focus to the results (from a field), so J/K, "
                            "the ratings and Space act on them")
        self.report = A("&Export search report\u2026", w.export_report_dialog, "Ctrl+E",
                        "Save the current search as HTML, CSV or PDF")
        self.ratings = A("Export &ratings CSV\u2026", w.export_ratings_dialog, "Ctrl+Shift+E",
                         "Save the ratings of this study session (every examiner) as CSV")
        self.library = A("&Manage library\u2026", w.show_library_dialog, "Ctrl+L",
                         "Add sources, update or rebuild the index")
        self.open_library = A("Open &library\u2026", w.open_library_dialog, "Ctrl+Shift+L",
                              "Open another library folder")
        self.demo = A("&Demo library", lambda: w.start_demo(),
                      tip="Open the built-in library of synthetic patents (built on first use)")
        self.session = A("Study &session\u2026", w.show_session_dialog, "Ctrl+Shift+S",
                         "Examiner, study and session ids, blind mode, session summary")
        self.blind = A("&Blind mode", w.set_blind_setting, "Ctrl+Shift+B",
                       "Hide scores and the model; shuffle tied results", checkable=True)
        self.blind.setChecked(w.settings.blind)
        self.shortcuts = A("&Keyboard shortcuts", w.show_shortcuts, "F1")
        self.quit = A("&Quit", w.close, QKeySequence.StandardKey.Quit)
        self._fill_menus(w)
        self._fill_toolbar(w)

    def _fill_menus(self, w) -> None:
        bar = w.menuBar()
        for title, items in (
                ("&File", (self.open, self.paste, self.clear_query, None, self.report,
                           self.ratings, None, self.open_library, self.library, self.demo, None,
                           self.quit)),
                ("&Search", (self.search, self.crop, self.all_figures, self.cutoff, None,
                             self.more, self.replay, self.history)),
                ("&Results", (self.to_results, self.next, self.prev, self.detail, self.back,
                              self.zoom_in, self.zoom_out, self.fit, None, self.expand,
                              self.group, None,
                              *self.rate, self.unrate, None, self.source)),
                ("S&tudy", (self.session, self.blind, self.ratings)),
                ("&Help", (self.shortcuts,))):
            menu = bar.addMenu(title)
            for a in items:
                menu.addSeparator() if a is None else menu.addAction(a)

    def _fill_toolbar(self, w) -> None:
        tb = w.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.setIconSize(QSize(16, 16))
        for a in (self.open, self.paste, self.search, None, self.group, self.detail, self.more,
                  None, self.history, self.report, None, self.library, self.session):
            tb.addSeparator() if a is None else tb.addAction(a)
