"""Search filters: the filing date (prior art is what was granted before it) or no cutoff, a
Locarno class / subclass picker with titles, optional text and the number of results."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QStyle, QStyleOptionComboBox,
                               QStylePainter, QVBoxLayout, QWidget)

from core import locarno

from .date_field import DateField


class ElidedComboBox(QComboBox):
    """A combo box whose choice ends in "\u2026" when it is wider than the box (a Locarno
    class's title at any window size), the whole title then in its tooltip; the popup list
    is as wide as its longest title, so every title shows whole there."""

    def shown_text(self) -> str:
        """The choice as painted: elided to the box's text field."""
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        return self.fontMetrics().elidedText(opt.currentText, Qt.TextElideMode.ElideRight,
                                             field.width() - 4)

    def paintEvent(self, event) -> None:
        painter = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        shown = self.shown_text()
        tip = opt.currentText if shown != opt.currentText else ""
        if self.toolTip() != tip:
            self.setToolTip(tip)        # (set as painted: set_values blocks the signals)
        opt.currentText = shown
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)


    def showPopup(self) -> None:
        view = self.view()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        view.setMinimumWidth(view.sizeHintForColumn(0) + 2 * view.frameWidth() + bar)
        super().showPopup()


class FilterPanel(QWidget):
    changed = Signal()            # a filter that should re-run the search changed
    searchRequested = Signal()
    problem = Signal(str)         # what was typed in the date is not a date

    def __init__(self, parent=None):
        super().__init__(parent)
        self.date = DateField(QDate.currentDate())
        self.date.setToolTip("Filing (or priority) date of the application: results are prior "
                             "art granted strictly before it")
        self.no_cutoff = QCheckBox("No date cutoff")
        self.no_cutoff.setToolTip("Search the whole library regardless of grant dates "
                                  "(Ctrl+Shift+D)")
        self.main_class = ElidedComboBox()
        self.main_class.addItem("Any class", None)
        for code, title in locarno.main_classes().items():
            self.main_class.addItem(f"{code}  {title}", code)
        self.subclass = ElidedComboBox()
        self.subclass.setEnabled(False)
        self.subclass.addItem("Any subclass", None)
        for combo in (self.main_class, self.subclass):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(18)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Title or description (optional)")
        self.text.setClearButtonEnabled(True)
        self.text.setToolTip("Passed to the search with the drawing; press Enter to search")
        self.k = QSpinBox()
        self.k.setRange(5, 500)
        self.k.setSingleStep(10)
        self.k.setValue(50)
        self.k.setSuffix(" figures")
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("primary")
        self.search_button.setToolTip("Search (Ctrl+Enter)")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        when = QHBoxLayout()
        when.addWidget(self.date, 1)
        when.addWidget(self.no_cutoff)
        form.addRow("Filing date", when)
        form.addRow("Locarno class", self.main_class)
        form.addRow("Subclass", self.subclass)
        form.addRow("Text", self.text)
        form.addRow("Show up to", self.k)
        note = QLabel("Prior art: granted before the filing date. Undated drawings are left "
                      "out by any cutoff.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.search_button, 0, Qt.AlignmentFlag.AlignRight)

        self.no_cutoff.toggled.connect(self._cutoff_toggled)
        self.date.dateChanged.connect(lambda _: self.changed.emit())
        self.date.problem.connect(self.problem.emit)
        self.main_class.currentIndexChanged.connect(self._class_changed)
        self.subclass.currentIndexChanged.connect(lambda _: self.changed.emit())
        self._k_searched = self.k.value()
        self.k.editingFinished.connect(self._k_edited)
        self.text.returnPressed.connect(self.searchRequested.emit)
        self.search_button.clicked.connect(self.searchRequested.emit)
        for a, b in ((self.date, self.no_cutoff), (self.no_cutoff, self.main_class),
                     (self.main_class, self.subclass), (self.subclass, self.text),
                     (self.text, self.k), (self.k, self.search_button)):
            QWidget.setTabOrder(a, b)

    # -- values -----------------------------------------------------------------------------
    def before(self, typed: bool = False) -> date | None:
        """The cutoff entered; with ``typed`` (the examiner asked for the search: Ctrl+Enter,
        Search) the date typed but not entered yet, ``ValueError`` saying why if it is not
        one. A search that starts by itself never takes half-typed text."""
        if self.no_cutoff.isChecked():
            return None
        if not typed:
            return self.date.date().toPython()
        value = self.date.typed_date()
        if value != self.date.date():
            self.date.blockSignals(True)    # searched now, not again through ``changed``
            self.date.setDate(value)
            self.date.blockSignals(False)
        return value.toPython()

    def locarno(self) -> str | None:
        """The class or subclass chosen, as searched and logged ("31" is 31-00)."""
        code = self.subclass.currentData() or self.main_class.currentData()
        return locarno.normalize_locarno(code) if code else None

    def query_text(self) -> str | None:
        return self.text.text().strip() or None

    def set_values(self, before: date | None, locarno_code: str | None, text: str | None,
                   k: int | None = None) -> None:
        """Restore filters (e.g. of a reopened search) without emitting ``changed``."""
        widgets = (self.date, self.no_cutoff, self.main_class, self.subclass, self.k)
        for w in widgets:
            w.blockSignals(True)
        try:
            if before is not None:
                self.date.setDate(QDate(before.year, before.month, before.day))
            self.no_cutoff.setChecked(before is None)
            self.date.setEnabled(before is not None)
            code = locarno.normalize_locarno(locarno_code) if locarno_code else None
            self.main_class.setCurrentIndex(max(0, self.main_class.findData(
                code[:2] if code else None)))
            self._fill_subclasses()
            self.subclass.setCurrentIndex(max(0, self.subclass.findData(
                code if code and len(code) > 2 else None)))
            self.text.setText(text or "")
            if k:
                self.k.setValue(k)
            self.searched()
        finally:
            for w in widgets:
                w.blockSignals(False)

    def searched(self) -> None:
        """The values on screen were searched with: leaving the count unchanged since (after
        Ctrl+Enter) searches no more."""
        self._k_searched = self.k.value()

    def toggle_cutoff(self) -> None:
        self.no_cutoff.toggle()

    # -- internals --------------------------------------------------------------------------
    def _k_edited(self) -> None:
        """Leaving the box (Tab, a click elsewhere) finishes editing too: only a new value
        searches again (and is logged)."""
        if self.k.value() != self._k_searched:
            self._k_searched = self.k.value()
            self.changed.emit()

    def _cutoff_toggled(self, on: bool) -> None:
        self.date.setEnabled(not on)
        self.changed.emit()

    def _fill_subclasses(self) -> None:
        self.subclass.clear()
        self.subclass.addItem("Any subclass", None)
        code = self.main_class.currentData()
        if code:
            for sub, title in locarno.subclasses(code).items():
                self.subclass.addItem(f"{sub}  {title}", sub)
        self.subclass.setEnabled(code is not None)

    def _class_changed(self) -> None:
        self.subclass.blockSignals(True)
        self._fill_subclasses()
        self.subclass.blockSignals(False)
        self.changed.emit()
