"""Paints a result card (thumbnail, rank, score, patent number, title, Locarno, grant date, a
"corrected" mark on a logged result the library has corrected since, and the 0-3 rating
chips) and turns clicks on a chip or on the "+n figures" badge into edits of
the model (a click on the chip already set clears the rating)."""
from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from . import theme
from .results_model import (ExpandedRole, GroupSizeRole, HiddenRatingsRole, HitRole,
                            IsChildRole, PositionRole, RatingRole, ThumbErrorRole)

PAD = 8
CHIP_H = 22
TEXT_LINES = 3
CORRECTED = "corrected"     # a reopened search's result whose date, class or title changed since
WIDEST_NUMBER = "US D0,000,000 S"   # a design patent's number as a card shows it
WIDEST_DATE = "0000-00-00"
DATE_GAP = 6


def _bold(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setBold(True)
    return bold


def _small(font: QFont) -> QFont:
    """The badges' and the grant date's font."""
    small = QFont(font)
    small.setPointSizeF(font.pointSizeF() * 0.85)
    return small


class ResultDelegate(QStyledItemDelegate):
    def __init__(self, thumb_side: int, parent=None):
        super().__init__(parent)
        self.thumb = thumb_side
        self.blind = False
        self.width = 0      # the width the panel spreads the cards to (0: the least they need)
        self._double_click: tuple[int, int, float] | None = None

    # -- geometry ---------------------------------------------------------------------------
    def _line_height(self, option) -> int:
        return QFontMetrics(option.font).height() + 2

    def card_size(self, font: QFont) -> QSize:
        """As wide as the thumbnail, or as a seven-digit design patent's number and a grant
        date side by side in ``font`` (a large system font), whichever is wider."""
        lh = QFontMetrics(font).height() + 2
        first_line = (QFontMetrics(_bold(font)).horizontalAdvance(WIDEST_NUMBER) + DATE_GAP
                      + QFontMetrics(_small(font)).horizontalAdvance(WIDEST_DATE))
        return QSize(max(self.thumb, first_line) + 2 * PAD + 6,
                     self.thumb + 2 * PAD + TEXT_LINES * lh + CHIP_H + 16)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        size = self.card_size(option.font)
        return QSize(max(size.width(), self.width), size.height())

    def _card(self, rect: QRect) -> QRect:
        return rect.adjusted(3, 3, -3, -3)

    def _thumb_rect(self, card: QRect) -> QRect:
        return QRect(card.left() + PAD, card.top() + PAD, card.width() - 2 * PAD, self.thumb)

    def _chip_rects(self, card: QRect) -> list[QRect]:
        width = (card.width() - 2 * PAD - 3 * 4) // 4
        y = card.bottom() - PAD - CHIP_H + 1
        return [QRect(card.left() + PAD + i * (width + 4), y, width, CHIP_H) for i in range(4)]

    def _badge_rect(self, thumb: QRect, text: str, fm: QFontMetrics) -> QRect:
        w = fm.horizontalAdvance(text) + 12
        return QRect(thumb.right() - w - 3, thumb.bottom() - fm.height() - 6, w, fm.height() + 4)

    @staticmethod
    def _corrected_rect(thumb: QRect, fm: QFontMetrics) -> QRect:
        return QRect(thumb.left() + 3, thumb.bottom() - fm.height() - 6,
                     fm.horizontalAdvance(CORRECTED) + 12, fm.height() + 4)

    @staticmethod
    def _group_text(index: QModelIndex) -> str | None:
        n = index.data(GroupSizeRole) or 1
        if n < 2 or index.data(IsChildRole):
            return None
        if index.data(ExpandedRole):
            return f"\u25be {n} figures"
        return f"+{n - 1} figure{'s' if n > 2 else ''} \u25b8"

    # -- painting ---------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        hit = index.data(HitRole)
        if hit is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = self._card(option.rect)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        child = bool(index.data(IsChildRole))
        painter.setPen(QPen(theme.ACCENT if selected else
                            QColor("#a9b4c2") if hover else theme.BORDER, 2.5 if selected else 1))
        painter.setBrush(theme.CARD_CHILD if child else theme.CARD)
        painter.drawRoundedRect(QRectF(card).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        if option.state & QStyle.StateFlag.State_HasFocus:      # (the keys act here)
            painter.setPen(QPen(theme.ACCENT, 2, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)         # (in the margin round the card)
            painter.drawRoundedRect(QRectF(option.rect).adjusted(1, 1, -1, -1), 7, 7)
            painter.setBrush(theme.CARD_CHILD if child else theme.CARD)

        thumb = self._thumb_rect(card)
        self._paint_thumbnail(painter, thumb, index)
        small = _small(option.font)
        fm_small = QFontMetrics(small)
        painter.setFont(small)
        rank = str(index.data(PositionRole)) + ("\u00b7" if child else "")
        self._badge(painter, QRect(thumb.left() + 3, thumb.top() + 3,
                                   fm_small.horizontalAdvance(rank) + 12, fm_small.height() + 4),
                    rank, theme.BADGE, QColor("white"))
        if not self.blind:
            score = f"{hit.score:.3f}"
            w = fm_small.horizontalAdvance(score) + 12
            self._badge(painter, QRect(thumb.right() - w - 3, thumb.top() + 3, w,
                                       fm_small.height() + 4),
                        score, QColor(255, 255, 255, 225), theme.INK, outline=theme.BORDER)
        group = self._group_text(index)
        if group:
            self._badge(painter, self._badge_rect(thumb, group, fm_small), group,
                        *theme.GROUP_BADGE[:2], outline=theme.GROUP_BADGE[2])
        if hit.corrected:
            self._badge(painter, self._corrected_rect(thumb, fm_small), CORRECTED,
                        *theme.CORRECTED_BADGE)
        self._paint_text(painter, option, card, thumb, hit)
        self._paint_chips(painter, card, index.data(RatingRole), small,
                          index.data(HiddenRatingsRole) or ())
        painter.restore()

    def _paint_thumbnail(self, painter: QPainter, rect: QRect, index: QModelIndex) -> None:
        painter.setPen(QPen(QColor("#e6e9ee"), 1))
        painter.setBrush(QColor("white"))
        painter.drawRect(rect)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is not None and not pixmap.isNull():
            size = pixmap.deviceIndependentSize()
            x = rect.left() + (rect.width() - size.width()) / 2
            y = rect.top() + (rect.height() - size.height()) / 2
            painter.drawPixmap(QPointF(x, y), pixmap)
            return
        error = index.data(ThumbErrorRole)
        painter.setPen(QColor("#a33") if error else theme.MUTED)
        painter.drawText(rect.adjusted(8, 8, -8, -8),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         "Drawing unavailable" if error else "Loading\u2026")

    @staticmethod
    def _badge(painter: QPainter, rect: QRect, text: str, bg: QColor, fg: QColor,
               outline: QColor | None = None) -> None:
        painter.setPen(QPen(outline, 1) if outline else Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(QRectF(rect), 4, 4)
        painter.setPen(fg)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_text(self, painter: QPainter, option, card: QRect, thumb: QRect, hit) -> None:
        from core.sources import display_patent_id

        lh = self._line_height(option)
        x, w = card.left() + PAD, card.width() - 2 * PAD
        y = thumb.bottom() + 6
        fm = QFontMetrics(option.font)
        when, small = hit.grant_date or "undated", _small(option.font)
        room = w - QFontMetrics(small).horizontalAdvance(when) - DATE_GAP   # never run into
        bold = _bold(option.font)
        painter.setFont(bold)
        painter.setPen(theme.INK)
        number = QFontMetrics(bold).elidedText(display_patent_id(hit.patent_id),
                                               Qt.TextElideMode.ElideMiddle, room)
        painter.drawText(QRect(x, y, room, lh), Qt.AlignmentFlag.AlignLeft |
                         Qt.AlignmentFlag.AlignVCenter, number)
        painter.setFont(small)
        painter.setPen(theme.MUTED)
        painter.drawText(QRect(x, y, w, lh), Qt.AlignmentFlag.AlignRight |
                         Qt.AlignmentFlag.AlignVCenter, when)
        painter.setFont(option.font)
        painter.setPen(theme.INK)
        title = (hit.title or "(no title)").strip()
        painter.drawText(QRect(x, y + lh, w, lh), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(title, Qt.TextElideMode.ElideRight, w))
        painter.setPen(theme.MUTED)
        loc = f"{hit.locarno}  {hit.locarno_title or ''}" if hit.locarno else "Locarno: -"
        painter.drawText(QRect(x, y + 2 * lh, w, lh), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(loc, Qt.TextElideMode.ElideRight, w))

    def _paint_chips(self, painter: QPainter, card: QRect, rating, font: QFont,
                     hidden=()) -> None:
        """The four chips, the rating's filled; a rating a collapsed patent's other figure
        has is a thick outline with a dot (the chip is not this figure's rating)."""
        painter.setFont(font)
        for value, rect in enumerate(self._chip_rects(card)):
            on = rating == value
            elsewhere = not on and value in hidden
            color = theme.RATING_COLORS[value] if on else theme.RATING_INK[value]
            painter.setPen(QPen(color, 2.5 if elsewhere else 1))
            painter.setBrush(color if on else QColor("white"))
            inset = 1.25 if elsewhere else 0.5
            painter.drawRoundedRect(QRectF(rect).adjusted(inset, inset, -inset, -inset), 4, 4)
            painter.setPen(theme.RATING_TEXT[value] if on else color)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(value))
            if elsewhere:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(color)
                painter.drawEllipse(QPointF(rect.right() - 6, rect.top() + 6), 2.5, 2.5)

    # -- editing ----------------------------------------------------------------------------
    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem,
                    index: QModelIndex) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick) or \
                event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = event.position().toPoint()
        card = self._card(option.rect)
        for value, rect in enumerate(self._chip_rects(card)):
            if not rect.contains(pos):
                continue
            # A double-click on a chip sets that rating (it does not open the detail view);
            # the release that ends it must not clear the rating again.
            if kind == QEvent.Type.MouseButtonDblClick:
                model.setData(index, value, RatingRole)
                self._double_click = (index.row(), value, time.monotonic())
                return True
            last, self._double_click = self._double_click, None
            interval = QApplication.doubleClickInterval() / 1000
            if last and last[:2] == (index.row(), value) and time.monotonic() - last[2] < interval:
                return True
            current = index.data(RatingRole)
            model.setData(index, None if current == value else value, RatingRole)
            return True
        if kind == QEvent.Type.MouseButtonDblClick:
            return False
        group = self._group_text(index)
        if group:
            small = QFont(option.font)
            small.setPointSizeF(option.font.pointSizeF() * 0.85)
            if self._badge_rect(self._thumb_rect(card), group, QFontMetrics(small)).contains(pos):
                model.toggle_expanded(index.row())
                return True
        return False

    def helpEvent(self, event, view, option, index) -> bool:
        """Chip tooltips name the rating scale; elsewhere the model's tooltip."""
        from PySide6.QtWidgets import QToolTip

        hidden = index.data(HiddenRatingsRole) or ()
        for value, rect in enumerate(self._chip_rects(self._card(option.rect))):
            if rect.contains(event.pos()):
                text = f"{value}: {theme.RATING_LABELS[value]} (key {value})"
                if value in hidden and index.data(RatingRole) != value:
                    text += ("; another figure of this patent has this rating (expand the "
                             "patent to see it)")
                QToolTip.showText(event.globalPos(), text, view)
                return True
        return super().helpEvent(event, view, option, index)
