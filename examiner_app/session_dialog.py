"""Who is rating, in which study and session, blind mode, and the session's summary: how
many results were rated and the precision of the top 10 by the examiner's own ratings. The
summary follows the examiner, study and session typed, and says whose it is."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout)

from core import name_problem
from core.reports import RELEVANCE_RULE

from .plain_text import plain
from .settings import session_or_today
from .theme import BANNER_COLORS


class SessionDialog(QDialog):
    exportRequested = Signal()
    scoreRequested = Signal()
    scoreCancelled = Signal()
    summaryRequested = Signal(str, str, str)    # examiner, study, session typed (debounced)

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Study session")
        self.settings = settings
        self.examiner = QLineEdit(settings.examiner)
        self.examiner.setPlaceholderText("required: your name or id, e.g. E123")
        self.study = QLineEdit(settings.study)
        self.study.setPlaceholderText("optional, e.g. pilot-2025")
        self.session = QLineEdit(settings.session_typed)   # empty: each day its own session
        self.session.setPlaceholderText("empty: today's date")
        self.blind = QCheckBox("Blind mode: hide scores and the model, shuffle tied results")
        self.blind.setChecked(settings.blind)
        self.summary = plain(QLabel("\u2026"))
        self.summary.setWordWrap(True)
        self.summary.setObjectName("sessionSummary")
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(300)
        self._summary_timer.timeout.connect(self._ask_summary)
        rule = QLabel(RELEVANCE_RULE[0].upper() + RELEVANCE_RULE[1:] + ".")
        rule.setObjectName("muted")
        rule.setWordWrap(True)
        self.export = export = QPushButton("Export ratings CSV\u2026")
        export.clicked.connect(self.exportRequested.emit)
        self.score = QPushButton("Score the model by these ratings")
        self.score.setToolTip("Run every rated search of this session again and compare "
                              "nDCG@10 on the judged patents with the ranking the examiners "
                              "saw")
        self.score.clicked.connect(self._score_clicked)
        self.scoring = False
        self.outcome = plain(QLabel())
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.hide()
        for field in (self.study, self.session):
            field.textChanged.connect(self._export_follows_the_session)
        for field in (self.examiner, self.study, self.session):
            field.textChanged.connect(self._summary_follows)
        form = QFormLayout()
        form.addRow("Examiner", self.examiner)
        form.addRow("Study", self.study)
        form.addRow("Session", self.session)
        form.addRow("", self.blind)
        form.addRow("Ratings", self.summary)
        form.addRow("", rule)
        form.addRow("", export)
        form.addRow("", self.score)
        form.addRow("", self.outcome)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.examiner.textChanged.connect(
            lambda text: self.ok.setEnabled(bool(text.strip())))  # ratings need a rater
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        # room for the summary to read well, and never less than a line that cannot wrap
        # needs (the blind-mode box in a large font)
        self.setMinimumWidth(max(560, lay.minimumSize().width()))

    def _export_follows_the_session(self) -> None:
        """The summary and the export are of the session in use; one typed here counts from
        OK on."""
        s = self.settings
        same = (self.study.text().strip(), self.session.text().strip()) == \
            (s.study, s.session_typed)
        self.export.setEnabled(same)
        self.score.setEnabled(same or self.scoring)
        self.export.setToolTip("" if same else "Press OK to switch to this session first: "
                                               "the export is of the session in use")

    def show_export_outcome(self, level: str, text: str) -> None:
        """Where the export went, or why it failed, shown here: the dialog covers the banner."""
        self.outcome.setStyleSheet(f"color: {BANNER_COLORS.get(level, BANNER_COLORS['info'])[1]}")
        self.outcome.setText(("\u2716 " if level == "error" else "") + text)
        self.outcome.show()
        self.adjustSize()           # room for the wrapped text

    def _score_clicked(self) -> None:
        (self.scoreCancelled if self.scoring else self.scoreRequested).emit()

    def set_scoring(self, on: bool) -> None:
        """While scoring, the button cancels it."""
        self.scoring = on
        self.score.setText("Cancel scoring" if on else "Score the model by these ratings")

    def whose(self) -> tuple[str, str, str]:
        """(examiner, study, session) as typed; an empty session is today's."""
        return (self.examiner.text().strip(), self.study.text().strip(),
                session_or_today(self.session.text()))

    def _summary_follows(self) -> None:
        """Another examiner, study or session typed: its summary, once typing pauses."""
        self.summary.setText("\u2026")
        self._summary_timer.start()

    def _ask_summary(self) -> None:
        examiner, study, session = self.whose()
        if not examiner:
            self.summary.setText("Type the examiner's name to see their ratings.")
            return
        self.summaryRequested.emit(examiner, study, session)

    def set_summary(self, summary, whose: tuple[str, str, str] | None = None) -> None:
        """Show ``summary`` (core.reports.SessionSummary) of ``whose`` (default: the fields
        as typed); the answer for fields typed since is dropped."""
        if whose is not None and whose != self.whose():
            return
        examiner, study, session = (_isolated(x) for x in whose or self.whose())
        in_study = f" of study {study}" if study else ""
        self.summary.setText(f"{examiner} in session {session}{in_study}: {summary.text()}")

    def accept(self) -> None:
        if not self.examiner.text().strip():
            return
        for label, field in (("Examiner", self.examiner), ("Study", self.study),
                             ("Session", self.session)):
            if why := name_problem(field.text().strip()):
                self.show_export_outcome("error", f"{label}: {why}.")
                field.setFocus()
                return
        self.settings.examiner = self.examiner.text()
        self.settings.study = self.study.text()
        self.settings.session = self.session.text()
        self.settings.blind = self.blind.isChecked()
        super().accept()


def _isolated(name: str) -> str:
    """A right-to-left name set apart from the sentence around it (U+2068 ... U+2069): a
    Hebrew or Arabic name turned the whole English line right to left."""
    import unicodedata

    rtl = any(unicodedata.bidirectional(c) in ("R", "AL") for c in name)
    return f"\u2068{name}\u2069" if rtl else name
