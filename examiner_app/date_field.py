"""The filing-date field: a date typed as the examiner writes it (core.dates), stepped a day
with the arrow keys or the wheel, or picked from a calendar (Alt+Down). QDateEdit edits one
section at a time and lost what was typed over a selection (Ctrl+A, 2019-07-31 gave
2026-07-31), and the cutoff decides what counts as prior art."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import (QCalendarWidget, QHBoxLayout, QLineEdit, QStyle, QToolButton,
                               QWidget)

from core.dates import EXAMPLES, parse_typed_date

FIRST, LAST = date(1790, 1, 1), date(2199, 12, 31)     # a typo, not a filing date, outside


class DateField(QWidget):
    """``dateChanged`` when a new date is entered (Enter, the focus leaving), stepped or
    picked; ``problem`` with a message when what was typed is not a date (the field keeps
    the last good date, marked, until it is fixed: then ``problem`` with "")."""

    dateChanged = Signal(QDate)
    problem = Signal(str)

    def __init__(self, value: QDate, parent=None):
        super().__init__(parent)
        self._date = value
        self.edit = QLineEdit(value.toString("yyyy-MM-dd"))
        self.edit.setAccessibleName("Filing date")
        self.edit.installEventFilter(self)
        self.button = QToolButton()
        self.button.setText("\u25be")
        self.button.setToolTip("Pick the date from a calendar (Alt+Down)")
        self.button.setAccessibleName("Pick the filing date from a calendar")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.clicked.connect(self.show_calendar)
        self.calendar: QCalendarWidget | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self.setFocusProxy(self.edit)
        self._fit_a_date()
        self.edit.editingFinished.connect(self.commit)
        self.edit.textEdited.connect(lambda _: self._mark(None))

    def _fit_a_date(self) -> None:
        """Room for a whole date in the field's font (a large system font included)."""
        frame = self.edit.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None,
                                              self.edit)
        self.edit.setMinimumWidth(self.edit.fontMetrics().horizontalAdvance("0000-00-00")
                                  + 2 * frame + 10)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._fit_a_date()
        super().changeEvent(event)

    # -- value ------------------------------------------------------------------------------
    def date(self) -> QDate:
        return self._date

    def setDate(self, value: QDate) -> None:
        """Show ``value`` (a new one emits ``dateChanged`` unless signals are blocked)."""
        self.edit.setText(value.toString("yyyy-MM-dd"))
        self._mark(None)
        if value != self._date:
            self._date = value
            self.dateChanged.emit(value)

    def typed_date(self) -> QDate:
        """The date in the box now, typed or not yet entered; ``ValueError`` saying why the
        text is not one."""
        day = parse_typed_date(self.edit.text())
        if not FIRST <= day <= LAST:
            raise ValueError(f"{self.edit.text().strip()!r} is not a filing date between "
                             f"{FIRST.year} and {LAST.year}")
        return QDate(day.year, day.month, day.day)

    def commit(self) -> bool:
        """Take the typed text as the date (shown back as YYYY-MM-DD, so the examiner sees
        how it was read); False, with the field marked and ``problem`` said, if it is not."""
        try:
            value = self.typed_date()
        except ValueError as exc:
            self._mark(str(exc))
            self.problem.emit(f"Filing date: {exc}")
            return False
        self.setDate(value)
        return True

    def step(self, days: int = 0, months: int = 0) -> None:
        base = self._date
        try:
            base = self.typed_date()
        except ValueError:
            pass
        new = base.addDays(days).addMonths(months)
        if FIRST <= new.toPython() <= LAST:
            self.setDate(new)

    def _mark(self, error: str | None) -> None:
        if error is None and self.edit.styleSheet():
            self.problem.emit("")           # fixed
        self.edit.setStyleSheet("QLineEdit { border: 1px solid #c62828; }" if error else "")
        self.edit.setToolTip(error or ("Type the date as " + EXAMPLES + "; Up/Down steps a "
                                       "day, Page Up/Down a month"))

    # -- keys, wheel, calendar --------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit and self.isEnabled():
            if event.type() == QEvent.Type.KeyPress:
                key, mods = event.key(), event.modifiers()
                if key == Qt.Key.Key_Down and mods & Qt.KeyboardModifier.AltModifier or \
                        key == Qt.Key.Key_F4:
                    self.show_calendar()
                    return True
                steps = {Qt.Key.Key_Up: (1, 0), Qt.Key.Key_Down: (-1, 0),
                         Qt.Key.Key_PageUp: (0, 1), Qt.Key.Key_PageDown: (0, -1)}
                if key in steps:
                    self.step(*steps[key])
                    return True
            elif event.type() == QEvent.Type.Wheel:
                delta = event.angleDelta().y()
                if delta:
                    self.step(1 if delta > 0 else -1)
                return True
        return super().eventFilter(watched, event)

    def show_calendar(self) -> None:
        if not self.isEnabled():
            return
        if self.calendar is None:
            self.calendar = QCalendarWidget(self)
            self.calendar.setWindowFlags(Qt.WindowType.Popup)
            self.calendar.setGridVisible(True)
            self.calendar.setDateRange(QDate(FIRST.year, 1, 1), QDate(LAST.year, 12, 31))
            self.calendar.activated.connect(self._picked)
            self.calendar.clicked.connect(self._picked)
        try:
            self.calendar.setSelectedDate(self.typed_date())     # typed, not yet entered
        except ValueError:
            self.calendar.setSelectedDate(self._date)
        self.calendar.adjustSize()
        self.calendar.move(self.mapToGlobal(QPoint(0, self.height())))
        self.calendar.show()
        self.calendar.setFocus()

    def _picked(self, value: QDate) -> None:
        self.calendar.hide()
        self.setDate(value)
        self.edit.setFocus()
