"""The ranked results as a Qt list model: one row per figure, or per patent (its best figure)
with the patent's other figures inserted after it when the group is expanded.

Ratings live here too: a view or delegate sets ``RatingRole`` and the model emits
``ratingChanged`` so the window can store it. In blind mode the order of results with equal
scores is shuffled (the examiner cannot read the model's tie-breaking) and no score is shown.
"""
from __future__ import annotations

import random
from html import escape
from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Signal

from core.reports import RATING_SCALE, corrected_text
from core.search import group_by_patent
from core.sources import display_patent_id

from .thumbnails import ThumbnailLoader

HitRole = Qt.ItemDataRole.UserRole + 1           # core.search.SearchHit of the row
RatingRole = Qt.ItemDataRole.UserRole + 2        # int 0..3 or None
GroupSizeRole = Qt.ItemDataRole.UserRole + 3     # figures of this patent in the results
ExpandedRole = Qt.ItemDataRole.UserRole + 4
IsChildRole = Qt.ItemDataRole.UserRole + 5       # an extra figure of an expanded patent
PositionRole = Qt.ItemDataRole.UserRole + 6      # 1-based rank as displayed (patent or figure)
ThumbErrorRole = Qt.ItemDataRole.UserRole + 7
HiddenRatingsRole = Qt.ItemDataRole.UserRole + 8  # ratings of a collapsed patent's other figures


@dataclass
class _Row:
    hit: object
    position: int
    group: int
    child: bool = False


class ResultsModel(QAbstractListModel):
    # hit, rating (int or None), the rating it replaced (the log has the hit's rank)
    ratingChanged = Signal(object, object, object)

    def __init__(self, thumbnails: ThumbnailLoader, thumb_side: int = 180,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.thumb_side = thumb_side
        self.dpr = 1.0
        self.hits: list = []
        self.grouped = True
        self.blind = False
        self.ratings: dict[int, int] = {}      # figure id -> rating
        self._groups: list[list] = []
        self._expanded: set[str] = set()
        self._rows: list[_Row] = []
        self._seed = 0
        thumbnails.ready.connect(self._thumbnail_ready)
        thumbnails.failed.connect(lambda key, msg: self._thumbnail_ready(key))

    # -- content ----------------------------------------------------------------------------
    def set_results(self, hits: list, *, ratings: dict[int, int] | None = None,
                    seed: int = 0) -> None:
        self.thumbnails.drop_pending(figures_only=True)
        self.beginResetModel()
        self.hits = list(hits)
        self.ratings = dict(ratings or {})
        self._expanded.clear()
        self._seed = seed
        self._layout()
        self.endResetModel()

    def set_ratings(self, ratings: dict[int, int]) -> None:
        """Replace the ratings shown (figure id -> rating) without storing them."""
        self.ratings = dict(ratings)
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1),
                                  [RatingRole, HiddenRatingsRole])

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self.grouped:
            self.beginResetModel()
            self.grouped = grouped
            self._layout()
            self.endResetModel()

    def set_blind(self, blind: bool) -> None:
        if blind != self.blind:
            self.beginResetModel()
            self.blind = blind
            self._layout()
            self.endResetModel()

    def set_device_pixel_ratio(self, dpr: float) -> None:
        if dpr != self.dpr:
            self.dpr = dpr
            if self._rows:
                self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1),
                                      [Qt.ItemDataRole.DecorationRole])

    def _layout(self) -> None:
        hits = self._tie_shuffled(self.hits) if self.blind else self.hits
        self._groups = group_by_patent(hits) if self.grouped else [[h] for h in hits]
        if self.blind and self.grouped:
            self._groups = self._tie_shuffled([self._rated_first(g) for g in self._groups],
                                              key=lambda g: g[0].score)
        self._rows = []
        for gi, group in enumerate(self._groups):
            self._rows.append(_Row(group[0], gi + 1, gi))
            if self.grouped and group[0].patent_id in self._expanded:
                self._rows += [_Row(h, gi + 1, gi, child=True) for h in group[1:]]

    def _rated_first(self, group: list) -> list:
        """A patent's figures with a rated one at the head where it ties with the head's
        score: the shuffle of ties must not hide a rating in a collapsed group."""
        rated = [h for h in group if h.score == group[0].score and h.figure_id in self.ratings]
        if not rated or group[0] is rated[0]:
            return group
        return [rated[0]] + [h for h in group if h is not rated[0]]

    def _tie_shuffled(self, items: list, key=lambda h: h.score) -> list:
        rng = random.Random(self._seed)
        out, i = [], 0
        while i < len(items):
            j = i
            while j < len(items) and key(items[j]) == key(items[i]):
                j += 1
            tie = items[i:j]
            rng.shuffle(tie)
            out += tie
            i = j
        return out

    # -- grouping ---------------------------------------------------------------------------
    def toggle_expanded(self, row: int) -> None:
        """Show or hide the other figures of the patent of ``row``."""
        if not self.grouped or not 0 <= row < len(self._rows):
            return
        r = self._rows[row]
        head = row - sum(1 for x in self._rows[:row] if x.group == r.group)
        group = self._groups[r.group]
        if len(group) < 2:
            return
        pid = group[0].patent_id
        if pid in self._expanded:
            self.beginRemoveRows(QModelIndex(), head + 1, head + len(group) - 1)
            self._expanded.discard(pid)
            self._layout()
            self.endRemoveRows()
        else:
            self.beginInsertRows(QModelIndex(), head + 1, head + len(group) - 1)
            self._expanded.add(pid)
            self._layout()
            self.endInsertRows()
        self.dataChanged.emit(self.index(head), self.index(head),
                              [ExpandedRole, HiddenRatingsRole])

    def patents(self) -> int:
        return len({h.patent_id for h in self.hits})

    def visible_hits(self) -> list:
        """The hits in display order (the best figure per patent when grouped)."""
        return [r.hit for r in self._rows]

    # -- Qt model interface -----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        h = r.hit
        if role == HitRole:
            return h
        if role == Qt.ItemDataRole.DisplayRole:
            return display_patent_id(h.patent_id)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.pixmap(self._thumb_key(h), self.dpr)
        if role == ThumbErrorRole:
            return self.thumbnails.errors.get(self._thumb_key(h))
        if role == RatingRole:
            return self.ratings.get(h.figure_id)
        if role == HiddenRatingsRole:
            return self._hidden_ratings(r)
        if role == GroupSizeRole:
            return len(self._groups[r.group]) if self.grouped else 1
        if role == ExpandedRole:
            return h.patent_id in self._expanded
        if role == IsChildRole:
            return r.child
        if role == PositionRole:
            return r.position
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(h, self._hidden_ratings(r))
        if role == Qt.ItemDataRole.AccessibleTextRole:     # (what a screen reader says)
            hidden = self._hidden_ratings(r)
            own = self.ratings.get(h.figure_id)
            return (f"rank {r.position}, {display_patent_id(h.patent_id)}, {h.title or ''}"
                    + (", corrected since" if h.corrected else "")
                    + (f", rated {own} {RATING_SCALE[own]}" if own is not None else
                       ", not rated")
                    + (f", {hidden_text(hidden)}" if hidden else ""))
        return None

    def _hidden_ratings(self, r: _Row) -> list[int]:
        """The ratings of a collapsed patent's figures other than the one its card shows
        (one per rated figure, best first): the card must not look unrated."""
        if not self.grouped or r.child or r.hit.patent_id in self._expanded:
            return []
        rated = (self.ratings.get(h.figure_id) for h in self._groups[r.group][1:])
        return sorted((v for v in rated if v is not None), reverse=True)

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != RatingRole or not index.isValid():
            return False
        r = self._rows[index.row()]
        previous = self.ratings.get(r.hit.figure_id)
        self._set_rating(r.hit.figure_id, value)
        self.ratingChanged.emit(r.hit, value, previous)
        return True

    def undo_rating(self, figure_id: int, failed, previous) -> bool:
        """Show ``previous`` again where a rating could not be stored, unless the result has
        been rated since (``failed`` is no longer shown). True if it was put back."""
        if self.ratings.get(figure_id) != failed:
            return False
        self._set_rating(figure_id, previous)
        return True

    def _set_rating(self, figure_id: int, value) -> None:
        if value is None:
            self.ratings.pop(figure_id, None)
        else:
            self.ratings[figure_id] = int(value)
        groups = {i for i, g in enumerate(self._groups)
                  if any(h.figure_id == figure_id for h in g)}
        for i, r in enumerate(self._rows):
            if r.hit.figure_id == figure_id or (r.group in groups and not r.child):
                self.dataChanged.emit(self.index(i), self.index(i),
                                      [RatingRole, HiddenRatingsRole])

    def _thumb_key(self, h):
        return ThumbnailLoader.key(h.image, h.page_index, h.figure, self.thumb_side, self.dpr)

    def _thumbnail_ready(self, key) -> None:
        for i, r in enumerate(self._rows):
            if self._thumb_key(r.hit) == key:
                ix = self.index(i)
                self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.DecorationRole])

    def _tooltip(self, h, hidden: list[int]) -> str:
        lines = [f"<b>{display_patent_id(h.patent_id)}</b> {escape(h.title or '')}",
                 f"Locarno {h.locarno or '-'} {escape(h.locarno_title or '')}",
                 f"Granted {h.grant_date or 'undated'}; filed {h.filing_date or '-'}",
                 f"{escape(str(h.image))} (page {h.page_index + 1})"]
        if not self.blind:
            lines.insert(1, f"Score {h.score:.4f}")
        if h.corrected:
            lines.append(f"Shown as logged; corrected since: now {escape(corrected_text(h))}")
        if hidden:
            lines.append(f"{hidden_text(hidden).capitalize()} (expand the patent to see it)")
        return "<br>".join(lines)


def hidden_text(hidden: list[int]) -> str:
    """'another figure rated 3' / '2 other figures rated 3, 1'."""
    if len(hidden) == 1:
        return f"another figure rated {hidden[0]}"
    return f"{len(hidden)} other figures rated {', '.join(map(str, hidden))}"
