"""Drawing preprocessing: from a scanned design-patent sheet to clean, square figure images.

Real inputs are whole sheets: a header line ("U.S. Patent  Mar. 3, 2020  Sheet 2 of 7  US
D123,456 S"), one or more figures, "FIG. n" labels and reference numerals; front pages carry a
bibliographic text block above the representative figure. The model must not match on text, so
text is removed, each figure is cropped to its ink, padded to a square on white and resized,
with strokes darkened in proportion to the downscale so that 1-pixel lines stay visible.
Layout analysis (text, header, figure grouping) lives in ``core._layout``.

The parameters live in ``DrawingConfig``, which is stored in every model checkpoint so that
indexing and querying always prepare images the same way. Lengths are in millimetres on the
page; the page resolution is the ``dpi`` argument, else ``DrawingConfig.dpi`` (scans of
drawing sheets are 300 dpi), raised for images too large to be a sheet at that resolution.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from . import _layout
from ._finder_version import FINDER_VERSION  # noqa: F401  (raise it there when cuts change)


#: A figure whose ink lies this much in runs of glyphs is printed text (the 843 real pages
#: at hand: at most 0.93, on a 9 mm mark, 0.77 for a large figure; text pages 0.99 to 1).
_TEXT_FIGURE = 0.95
#: Beside text, a "figure" no longer than this (mm) is a stray mark (a bracket, a smudge).
_SPECK_MM = 5.0

#: Longest side of a US letter / A4 sheet in inches: bigger images at ``cfg.dpi`` are photos.
_SHEET_INCHES = 11.7
#: Heights (pixels) of sheet-shaped images taken for whole sheets scanned at 85 to 170 dpi;
#: smaller ones are more likely crops of a figure.
_COARSE_SCAN = (1000, 2000)
#: A page with this share of its pixels in mid tones is continuous-tone (a photograph), not
#: line art (a drawing's mid tones are anti-aliased stroke edges and light shading).
_MID_TONES, _PHOTO_SHARE = (48, 208), 0.25
#: A query page with more dark than light (a share of its pixels) is a negative; an all-dark
#: one holds nothing to search.
_NEGATIVE_SHARE, _ALL_DARK_SHARE, _NEGATIVE_EDGES = 0.5, 0.998, 0.9


@dataclass(frozen=True)
class DrawingConfig:
    """Every parameter of drawing preprocessing; lengths in millimetres on the page.

    Rendering box-averages a figure down by a whole factor q, turns each pixel's ink share s
    into a darkness g*s / (1 + (g - 1)*s) with g = stroke_gain * q (a 1-pixel line keeps most
    of its darkness, hatching turns gray rather than black) and resizes the rest of the way.
    """

    image_size: int = 224         # output side, pixels
    margin: float = 0.04          # white margin around the figure, fraction of the output side
    stroke_gain: float = 2.0      # ink darkening per unit of downscale (keeps 1-px lines visible)
    dpi: float = 300.0            # page resolution assumed when the caller does not know it
    layout_dpi: float = 75.0      # resolution of the layout analysis grid
    threshold: int | None = None  # gray level below which a pixel is ink; None = automatic
    glyph_min_mm: float = 1.0     # text glyph heights considered
    glyph_max_mm: float = 14.0
    word_max_mm: float = 60.0     # longest run of touching glyphs
    line_gap: float = 2.2         # widest gap inside a text line, in glyph heights
    text_min_mm: float = 2.2      # smaller text on a drawing sheet is taken for drawing detail
    line_max_glyphs: int = 20     # longer runs on a drawing sheet are drawing detail too
    text_clutter: float = 0.03    # most foreign ink around a label, share of its own ink
    label_clearance_mm: float = 8.0  # a label has no ink this close on at least one side
    header_zone: float = 0.12     # the sheet header lies in this top fraction of the page
    front_text_zone: float = 0.4  # a front page's upper part ...
    front_min_glyphs: int = 200   # ... holds this many glyph-sized components ...
    front_text_share: float = 0.8  # ... holding this share of its ink
    front_glyph_mm: float = 1.6   # smallest glyphs of the front page's text block
    front_clutter: float = 0.25   # most non-glyph ink around a line of the text block
    front_text_gap_mm: float = 20.0  # the text block ends at a gap this tall
    front_gap_mm: float = 4.0     # parts of the front-page figure are at most this far apart
    split_gap_mm: float = 10.0    # unlabelled figures are at least this far apart
    big_fraction: float = 0.3     # smaller unlabelled clusters join the nearest figure
    dust_mm: float = 1.5          # specks up to this size ...
    dust_gap_mm: float = 5.0      # ... at least this far from other ink are dust

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "DrawingConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass(frozen=True)
class FigureBox:
    """A figure's box in page pixels (half-open: x0 <= x < x1, y0 <= y < y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    def to_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


def find_figures(page: np.ndarray, page_kind: str | None = None,
                 cfg: DrawingConfig = DrawingConfig(), *,
                 dpi: float | None = None) -> list[FigureBox]:
    """Figure boxes in reading order; [] for a blank page.

    page_kind is "front_page", "drawing_sheet" or None (a page whose upper part is all text
    is then taken for a front page). A negative is cut as its positive; a page dark all
    over has no figure.
    """
    an = _analyze_drawing(page, page_kind, cfg, dpi)
    return [] if an is None else _find(an, cfg)


def render_figure(page: np.ndarray, box: FigureBox | None = None,
                  cfg: DrawingConfig = DrawingConfig(), *, page_kind: str | None = None,
                  dpi: float | None = None) -> np.ndarray:
    """The figure in ``box`` as an (image_size x image_size) uint8 image: text erased, cropped
    to its ink, centred on white. ``box`` None takes all drawing on the page (the figure of a
    front page; all ink below the header of a sheet, a crop or a photo)."""
    an = _analyze_drawing(page, page_kind, cfg, dpi)
    if an is None:                  # (dark all over: no lines on paper to draw)
        return np.full((cfg.image_size, cfg.image_size), 255, np.uint8)
    if box is None:
        found = _layout.figure_boxes(an, cfg, "front" if an.front else "whole")
        return _render(an, found[0] if found else None, cfg)
    return _render_box(an, box, cfg)


def _render_box(an: _layout.Analysis, box: FigureBox, cfg: DrawingConfig) -> np.ndarray:
    return _render(an, _layout_box(an, box), cfg)


def _layout_box(an: _layout.Analysis, box: FigureBox) -> tuple[int, int, int, int]:
    """A page-pixel box, clipped to the page, as the layout-grid box (y0, x0, y1, x1) that
    covers it."""
    H, W = an.bw.shape
    x0, y0 = min(max(box.x0, 0), W), min(max(box.y0, 0), H)
    x1, y1 = min(max(box.x1, x0), W), min(max(box.y1, y0), H)
    f = an.f
    return y0 // f, x0 // f, -(-y1 // f), -(-x1 // f)


def prepare_page(page: np.ndarray, page_kind: str | None = None,
                 cfg: DrawingConfig = DrawingConfig(), *,
                 dpi: float | None = None) -> list[tuple[FigureBox, np.ndarray]]:
    """find_figures and render_figure for every figure of a page, on one analysis of it."""
    an = _analyze_drawing(page, page_kind, cfg, dpi)
    return [] if an is None else [(b, _render_box(an, b, cfg)) for b in _find(an, cfg)]


def prepare_query_page(page: np.ndarray, cfg: DrawingConfig = DrawingConfig(), *,
                       dpi: float | None = None
                       ) -> tuple[list[tuple[FigureBox, np.ndarray]], bool]:
    """``prepare_page`` of a query page, and whether it looks like printed text only (every
    figure found is a block of text lines: a specification or bibliographic page of an
    application file). Such a page still has its figures: a typeface design is drawn as
    text, so only the caller, seeing the file's other pages, can leave it out."""
    an = _analyze_drawing(page, None, cfg, dpi)
    if an is None:
        return [], False
    boxes = _find(an, cfg)
    return [(b, _render_box(an, b, cfg)) for b in boxes], _printed(an, boxes)


def positive(page: np.ndarray) -> np.ndarray:
    """A page that is a negative (light lines on a dark ground: a film or microfiche
    scan, a screenshot of a dark viewer) turned into dark lines on paper, as drawings are
    indexed; any other page as it is. A negative is more dark than light, its edges (the
    ground around the drawing) nearly all dark; the darkest real sheets are a quarter dark,
    and a crop of a dark shaded part still has paper at some edge."""
    return _positive(page, _layout.gray_sample(_check(page))[1])


def _positive(page: np.ndarray, sample: np.ndarray) -> np.ndarray:
    if not _NEGATIVE_SHARE < _dark_share(sample) < _ALL_DARK_SHARE:
        return page
    edges = np.concatenate([sample[0], sample[-1], sample[:, 0], sample[:, -1]])
    return 255 - page if (edges < 128).mean() >= _NEGATIVE_EDGES else page


def _dark_share(sample: np.ndarray) -> float:
    """The share of dark pixels in a page's ``gray_sample``."""
    return float((sample < 128).mean())


def why_no_figure(page: np.ndarray, *, query: bool = True) -> str:
    """Why a page gave no figure, in words for the person who gave it: blank or text only, or
    soft continuous tones (a photograph) that do not separate into lines and paper. ``query``:
    the reason is for someone searching with the page, so it says what to give instead."""
    _, sample = _layout.gray_sample(_check(page))
    if _dark_share(sample) >= _ALL_DARK_SHARE:
        reason = "the page is dark all over, with no lines on paper"
        return reason + "; give a page with a drawing" if query else reason
    if ((sample > _MID_TONES[0]) & (sample < _MID_TONES[1])).mean() >= _PHOTO_SHARE:
        reason = "its tones do not separate into lines and paper (a photograph?)"
        return (reason + "; the search compares line drawings: use a drawing, or a scan or "
                "photograph of one") if query else reason
    reason = "a blank page, or text only"
    return (reason + " (such as the cited references continuing a front page); give a page "
            "with a drawing") if query else reason


def _printed(an: _layout.Analysis, boxes: list[FigureBox]) -> bool:
    """Every figure of ``boxes`` is a block of printed text or a speck beside it."""
    speck = _SPECK_MM * an.mm * an.f        # page pixels
    return bool(boxes) and all(
        max(b.x1 - b.x0, b.y1 - b.y0) < speck
        or _layout.text_share(an, _layout_box(an, b)) >= _TEXT_FIGURE for b in boxes)


def _analyze_drawing(page, page_kind, cfg, dpi) -> _layout.Analysis | None:
    """The analysis figures are cut from: of a negative (a microfilm scan, light lines on
    black) its positive; None for a page dark all over (it would be one black "figure")."""
    sample = _layout.gray_sample(_check(page))[1]
    if _dark_share(sample) >= _ALL_DARK_SHARE:
        return None
    return _analyze(_positive(page, sample), page_kind, cfg, dpi)


def _analyze(page, page_kind, cfg, dpi) -> _layout.Analysis:
    page = _check(page)
    return _layout.analyze(page, cfg, _resolution(page.shape, cfg, dpi), page_kind)


def _resolution(shape, cfg: DrawingConfig, dpi: float | None) -> float:
    """The page's dpi: given, else that of a whole sheet for an image shaped like a sheet
    (letter or A4, portrait) but too small to be one at ``cfg.dpi``, else ``cfg.dpi`` raised
    for images too large to be a sheet at it (photos)."""
    if dpi:
        return float(dpi)
    h, w = shape
    if 1.25 <= h / w <= 1.45 and _COARSE_SCAN[0] <= h < _COARSE_SCAN[1]:
        return h / _SHEET_INCHES
    return max(cfg.dpi, max(h, w) / _SHEET_INCHES)


def _check(page: np.ndarray) -> np.ndarray:
    page = np.asarray(page)
    if page.ndim != 2 or page.size == 0:
        raise ValueError(f"expected a 2-D grayscale page, got shape {page.shape}")
    if page.dtype == bool:
        return np.where(page, 255, 0).astype(np.uint8)
    if page.dtype != np.uint8:
        return np.clip(page, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(page)


def _find(an, cfg: DrawingConfig) -> list[FigureBox]:
    found = _layout.figure_boxes(an, cfg, "front" if an.front else "sheet")
    if not found and not an.ruled:  # ink but no drawing (text only): the ink below the
        # header, less dust; a front page's continuation (cited references) has no figure
        marks = [(max(sl[0].start, an.header_y), sl[1].start, sl[0].stop, sl[1].stop)
                 for sl in ndi.find_objects(an.lab) if sl is not None]
        marks = [b for b in marks if b[0] < b[2] and not _layout.is_dust(b, an, cfg)]
        if not marks:
            return []
        found = [(min(b[0] for b in marks), min(b[1] for b in marks),
                  max(b[2] for b in marks), max(b[3] for b in marks))]
    H, W = an.bw.shape
    f = an.f
    return _reading_order([FigureBox(int(x0 * f), int(y0 * f), int(min(W, x1 * f)),
                                     int(min(H, y1 * f))) for y0, x0, y1, x1 in found])


def _reading_order(boxes: list[FigureBox]) -> list[FigureBox]:
    """Rows top to bottom (a box whose middle lies above the current row's bottom joins it),
    each row left to right."""
    rows: list[list[FigureBox]] = []
    for b in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        if rows and (b.y0 + b.y1) / 2 < max(r.y1 for r in rows[-1]):
            rows[-1].append(b)
        else:
            rows.append([b])
    return [b for row in rows for b in sorted(row, key=lambda b: b.x0)]


# --- rendering -------------------------------------------------------------------------------

def _render(an, box, cfg: DrawingConfig) -> np.ndarray:
    """Render layout-grid box ``box`` (y0, x0, y1, x1) of an analysed page."""
    size = cfg.image_size
    keep = None if box is None else _own_ink(an, box)
    if keep is None or not keep.any():
        return np.full((size, size), 255, np.uint8)
    rows, cols = np.flatnonzero(keep.any(1)), np.flatnonzero(keep.any(0))
    keep = keep[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    f = an.f
    H, W = an.bw.shape
    y0, x0 = (box[0] + rows[0]) * f, (box[1] + cols[0]) * f
    y1, x1 = min(H, (box[0] + rows[-1] + 1) * f), min(W, (box[1] + cols[-1] + 1) * f)
    # Box-average by a whole factor q, blank what is not this figure's drawing (text, other
    # figures) per reduced pixel, darken, pad to a square and resize the rest of the way.
    q = max(1, int(max(y1 - y0, x1 - x0) * (1 + 2 * cfg.margin) / size))
    small = np.asarray(an.image.reduce(q, box=(x0, y0, x1, y1))).astype(np.float32)
    ink = (255.0 - small) / 255.0
    gain = cfg.stroke_gain * q
    small = 255.0 * (1.0 - gain * ink / (1.0 + (gain - 1.0) * ink))
    small[~_cover(keep, f, q, small.shape)] = 255.0
    h, w = small.shape
    side = max(h, w) + 2 * math.ceil(max(h, w) * cfg.margin)
    canvas = np.full((side, side), 255, np.uint8)
    canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = small
    if side == size:
        return canvas
    return np.asarray(Image.fromarray(canvas).resize((size, size), Image.BICUBIC))


def _cover(keep: np.ndarray, f: int, q: int, shape) -> np.ndarray:
    """Which q x q pixel blocks overlap a kept f x f layout cell (the grids share an origin)."""
    for axis, n in enumerate(shape):
        start = np.arange(n) * q // f
        stop = np.minimum(((np.arange(n) + 1) * q - 1) // f + 1, keep.shape[axis])
        total = np.concatenate([np.zeros_like(keep.take([0], axis)), keep.cumsum(axis)], axis)
        keep = (total.take(stop, axis) - total.take(start, axis)) > 0
    return keep


def _own_ink(an, box) -> np.ndarray:
    """Drawing cells inside ``box`` of the pieces lying mostly inside it, so neighbouring
    figures reaching into a found figure's box stay out. A box cutting through the drawing
    (drawn by a user around a detail) keeps all drawing in it; one holding no drawing keeps
    all its ink."""
    y0, x0, y1, x1 = (max(0, int(v)) for v in box)
    c = _layout.COARSE
    cy0, cx0, cy1, cx1 = y0 // c, x0 // c, -(-y1 // c), -(-x1 // c)
    pieces = an.pieces[cy0:cy1, cx0:cx1]
    own = np.bincount(pieces.ravel(), minlength=len(an.piece_area)) * 2 >= an.piece_area
    own[0] = False
    mask = np.repeat(np.repeat(own.take(pieces), c, 0), c, 1)
    mask = mask[y0 - c * cy0:y1 - c * cy0, x0 - c * cx0:x1 - c * cx0]
    drawing = an.drawing[y0:y1, x0:x1]
    keep = drawing & mask[:drawing.shape[0], :drawing.shape[1]]
    if np.count_nonzero(keep) * 2 < np.count_nonzero(drawing):
        keep = drawing
    return keep if keep.any() else an.lab[y0:y1, x0:x1] > 0
