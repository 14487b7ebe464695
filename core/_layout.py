"""Page layout analysis behind ``core.drawing``: ink, text lines, header, figure clusters.

Everything runs on a reduced "layout" grid of about 75 dpi (a cell is ink if any page pixel in
it is) and a coarse grid of 4 x 4 layout cells, so one sheet takes milliseconds.

Text: runs of glyph-sized connected components of similar height side by side (or stacked, for
labels turned by 90 degrees). On a drawing sheet a run is text only when it is a single row of
a few label-sized glyphs standing in white space and neither enclosed nor surrounded by
strokes: dots, dashes, holes and hatching of a drawing chain up too, but amid other ink. A
front page's bibliographic block is packed text instead; it grows down from the top of the
page, and its figure is the drawing below it. The sheet header is the top text line.

Figures: single linkage over the gaps between drawing pieces, measured with a distance
transform on the coarse grid. "FIG. n" labels are seeds: each first takes its nearest big
piece, and two clusters holding a label never merge, so a sheet splits into as many figures
as it has labels while loose parts (broken lines, separate details) join their nearest figure.
Sheets without labels split only at wide gaps.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

_EIGHT = np.ones((3, 3), bool)
COARSE = 4  # layout cells per coarse cell
_GLYPH_MAX_ASPECT = 2.0  # longest letter-like component of a text line, in glyph heights
_HEADER_MIN_GLYPHS = 5  # a front page's rule has a header above it ("US D822,408 S")
_WORDS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


@dataclass
class Analysis:
    """One page analysed once, shared by figure finding and rendering. Boxes are
    (y0, x0, y1, x1), half-open, on the layout grid unless said otherwise."""

    bw: np.ndarray        # full-resolution page, 0 = ink, 255 = paper
    f: int                # page pixels per layout cell
    mm: float             # layout cells per millimetre
    front: bool           # a front page: bibliographic text block above the figure
    block_bottom: np.ndarray | None  # front page: per layout column, bottom of the text block
    lab: np.ndarray       # connected components of the ink (0 = paper)
    lines: np.ndarray     # (m, 4) boxes of the text lines below the header
    label_lines: np.ndarray  # (m,) bool: the line looks like a "FIG. n" label
    header_y: int         # rows above this hold the sheet header
    drawing: np.ndarray   # bool: ink that is neither text nor header
    pieces: np.ndarray    # connected components of the drawing on the coarse grid
    piece_area: np.ndarray  # coarse cells per piece
    ruled: bool = False   # not called a front page, yet it has the front page's rule: a
    #                       front page, or its continuation (the cited references)
    lined: np.ndarray | None = None  # bool per component of ``lab``: in a run of glyphs (text,
    #                                  or a drawing's letters, dots and hatching alike)

    @cached_property
    def image(self) -> Image.Image:
        """``bw`` as a PIL image, for reducing figure crops."""
        return Image.fromarray(np.ascontiguousarray(self.bw))


# --- ink -------------------------------------------------------------------------------------

def gray_sample(page: np.ndarray) -> tuple[int, np.ndarray]:
    """Every 8th pixel of a sheet (and the step); denser in small images (a pasted screen
    crop), whose thin anti-aliased lines a sparse sample misses."""
    step = int(np.clip(np.sqrt(page.size / 40_000), 1, 8))
    return step, page[::step, ::step]


def binarize(page: np.ndarray, threshold: int | None = None) -> np.ndarray:
    """0/255 page: bilevel scans pass through; gray ones (photos, JPEG scans) are cut at a
    fixed ``threshold``, or else at Otsu's level relative to a smooth estimate of the paper
    brightness, so uneven lighting does not become ink. Gray levels that do not split into
    paper and ink (plain noise) give a blank page."""
    if threshold is not None:
        return np.where(page < threshold, np.uint8(0), np.uint8(255))
    step, sample = gray_sample(page)
    if not np.any((sample > 0) & (sample < 255)):
        return page
    coarse = page[::4 * step, ::4 * step].astype(np.float32)
    window = max(3, max(coarse.shape) // 3)  # wider than any solid black area
    paper = ndi.uniform_filter(ndi.maximum_filter(coarse, size=window), size=window)
    paper = np.maximum(paper, 1.0)
    near = np.repeat(np.repeat(paper, 4, 0), 4, 1)[:sample.shape[0], :sample.shape[1]]
    level, separation = _otsu(np.clip(sample * (255.0 / near), 0, 255).astype(np.uint8))
    if separation < 0.70:   # noise: ~0.64 (Gaussian), 0.68 at sigma 40; faint line art 0.72+
        return np.full_like(page, 255)
    cut = np.clip(paper * (np.clip(level, 96, 224) / 255.0), 0, 255).astype(np.uint8)
    cut = np.repeat(np.repeat(cut, 4 * step, 0), 4 * step, 1)[:page.shape[0], :page.shape[1]]
    out = np.greater_equal(page, cut).view(np.uint8)
    out *= 255
    return out


def _otsu(values: np.ndarray) -> tuple[float, float]:
    """Otsu's threshold, and the share of the variance it explains (about 0.64 for unimodal
    noise, near 1 for ink on paper; 0 for a single gray level)."""
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    levels = np.arange(256)
    omega, mu = np.cumsum(p), np.cumsum(p * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1.0 - omega))
    between[~np.isfinite(between)] = 0.0
    total = float((p * (levels - mu[-1]) ** 2).sum())
    top = between.max()
    if total <= 0 or top <= 0:
        return 128.0, 0.0
    best = float(np.flatnonzero(between >= 0.999 * top).mean())  # middle of a flat optimum
    return best, float(top / total)


def reduce_ink(bw: np.ndarray, f: int) -> np.ndarray:
    """Layout grid: a cell is ink when any of its f x f page pixels is darker than white."""
    if f == 1:
        return bw < 255
    word = _WORDS.get(f)
    H, W = bw.shape
    if word is None or W < f or H < f:
        return np.asarray(Image.fromarray(bw).reduce(f)) < 255
    # f pixels of a row read as one machine word: all-white words are all ones.
    h, w = H // f, W // f
    words = bw[:h * f, :w * f].view(word).reshape(h, f, w)
    out = np.ones((-(-H // f), -(-W // f)), bool)
    out[:h, :w] = np.bitwise_and.reduce(words, axis=1) != np.iinfo(word).max
    for rest, cells in ((bw[:, w * f:], out[:, w:]), (bw[h * f:], out[h:])):
        if rest.size:
            cells[...] = np.asarray(Image.fromarray(np.ascontiguousarray(rest)).reduce(f)) < 255
    return out


def pool(mask: np.ndarray, k: int) -> np.ndarray:
    """Any-pooling by k (edges padded), as k strided ORs per axis."""
    h, w = mask.shape
    if h % k or w % k:
        mask = np.pad(mask, ((0, -h % k), (0, -w % k)))
    rows = mask[0::k].copy()
    for i in range(1, k):
        rows |= mask[i::k]
    out = rows[:, 0::k].copy()
    for i in range(1, k):
        out |= rows[:, i::k]
    return out


# --- text ------------------------------------------------------------------------------------

def analyze(page: np.ndarray, cfg, dpi: float, page_kind: str | None) -> Analysis:
    """Text, header and drawing ink of a page; page_kind as in ``core.drawing.find_figures``."""
    bw = binarize(page, cfg.threshold)
    f = max(1, int(round(dpi / cfg.layout_dpi)))
    mm = dpi / f / 25.4
    ink = reduce_ink(bw, f)
    lab, n = ndi.label(ink, _EIGHT)
    boxes = np.array([(0, 0, 0, 0)] + [(s[0].start, s[1].start, s[0].stop, s[1].stop)
                                       for s in ndi.find_objects(lab)], np.int32)
    area = np.bincount(lab.ravel(), minlength=n + 1)
    lines, members, size, upright, glyphs = _text_lines(boxes, area, cfg, mm)
    lined = np.zeros(n + 1, bool)
    for m in members:
        lined[m] = True
    rule_y = _front_rule(boxes, area, glyphs, lab.shape, mm) if page_kind != "front_page" else 0
    ruled = rule_y > 0
    front = page_kind == "front_page" or ruled or (
        page_kind is None and _looks_like_front(boxes, area, glyphs, lab.shape, cfg))
    block = np.full(lab.shape[1], -1, np.int64) if front else None
    if len(lines):
        keep, block = _real_text(lines, members, size, upright, boxes, glyphs, lab, ink, front,
                                 cfg, mm)
        lines, members = lines[keep], [m for m, k in zip(members, keep) if k]
    text = np.zeros(n + 1, bool)
    for m in members:
        text[m] = True
    if len(lines):
        text |= _punctuation(boxes, area, lines, mm)
    header_y = 0
    if not front:
        header_y = _header(lines, boxes, text, lab.shape, cfg, mm)
        lines = lines[lines[:, 2] > header_y]
    header_y = max(header_y, rule_y)    # the header and rule of a front page not called one
    drawing = (~text).take(lab) & ink
    drawing[:header_y] = False
    pieces, n_pieces = ndi.label(pool(drawing, COARSE), _EIGHT)
    return Analysis(bw, f, mm, front, block, lab, lines,
                    np.zeros(len(lines), bool) if front else _label_like(lines), header_y,
                    drawing, pieces, np.bincount(pieces.ravel(), minlength=n_pieces + 1), ruled,
                    lined)


def text_share(an: Analysis, box) -> float:
    """Share of the ink in layout box ``box`` that lies in runs of glyphs: about 1 for a block
    of printed text taken for a figure, at most ~0.8 for the real drawings measured (stipple
    and hatching chain up too; bench/bench_text_pages.py)."""
    y0, x0, y1, x1 = box
    lab = an.lab[y0:y1, x0:x1]
    ink = lab > 0
    return float(an.lined.take(lab)[ink].mean()) if ink.any() else 0.0


def _front_rule(boxes, area, glyphs, shape, mm) -> int:
    """Row below the full-width rule under the header of a front page and of its
    continuation ("Page 2": the cited references, in small type), which drawing sheets do not
    have: a solid straight line across most of the page, thin, in its top quarter, with the
    header's text above it (a scanner's edge line has none); 0 if none."""
    y0, x0, y1, x1 = boxes.T
    h, w = y1 - y0, x1 - x0
    rule = ((w >= 0.6 * shape[1]) & (h <= 1.5 * mm) & (y0 < 0.25 * shape[0])
            & (area >= 0.6 * h * w))
    rule[0] = False
    for r in np.flatnonzero(rule):
        if (glyphs & (y1 <= y0[r])).sum() >= _HEADER_MIN_GLYPHS:
            return int(y1[r])
    return 0


def _looks_like_front(boxes, area, glyphs, shape, cfg):
    """A front page: its upper part is text. Glyph-sized components lying there are many and
    hold most of the ink of all components reaching into it (a drawing's strokes are big
    components; its stipple dots are too small for glyphs)."""
    zone = cfg.front_text_zone * shape[0]
    text = glyphs & (boxes[:, 2] <= zone)
    reaching = boxes[:, 0] < zone
    reaching[0] = False
    return (text.sum() >= cfg.front_min_glyphs
            and area[text].sum() >= cfg.front_text_share * area[reaching].sum())


def _text_lines(boxes, area, cfg, mm):
    """Glyph-sized components chained side by side (or stacked, for turned text): the lines'
    boxes, member components, glyph sizes and whether they are upright (not turned), and
    which components are glyph-sized."""
    y0, x0, y1, x1 = boxes.T
    h, w = y1 - y0, x1 - x0
    lo, hi, long = cfg.glyph_min_mm * mm, cfg.glyph_max_mm * mm, cfg.word_max_mm * mm
    base = area >= 0.15 * h * w  # not a thin slanted stroke
    base[0] = False
    horiz = base & (h >= lo) & (h <= hi) & (w >= 2) & (w <= long)
    vert = base & (w >= lo) & (w <= hi) & (h >= 2) & (h <= long)
    lines, members, sizes, upright = [], [], [], []
    for cand, along, across, ends in ((horiz, w, h, (x0, x1, y0, y1)),
                                      (vert, h, w, (y0, y1, x0, x1))):
        a, b = _chain(np.flatnonzero(cand), *ends, cfg.line_gap)
        if not len(a):
            continue
        n = len(boxes)
        _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)),
                                       directed=False)
        used = np.unique(np.concatenate([a, b]))
        used = used[np.lexsort((across[used], comp[used]))]  # by line, then glyph size
        start = np.flatnonzero(np.r_[True, np.diff(comp[used]) != 0])
        count = np.diff(np.r_[start, len(used)])
        # a row of thin strokes (parallel dashes) has no glyph as wide as it is tall, and a
        # broken bar (a side view drawn in pieces) none as short as a letter or a digit
        wide = np.maximum.reduceat((along >= 0.5 * across)[used].astype(np.uint8), start)
        short = np.maximum.reduceat((along <= _GLYPH_MAX_ASPECT * across)[used].astype(np.uint8),
                                    start)
        letters = wide & short
        gb = boxes[used]
        box = np.concatenate([np.minimum.reduceat(gb[:, :2], start),
                              np.maximum.reduceat(gb[:, 2:], start)], 1)
        keep = letters > 0
        lines.append(box[keep])
        members += [g for g, k in zip(np.split(used, start[1:]), keep) if k]
        sizes.append(across[used[start + count // 2]][keep])  # the median glyph
        upright.append(np.full(keep.sum(), cand is horiz))
    if not lines:
        return np.zeros((0, 4), np.int32), [], np.zeros(0), np.zeros(0, bool), horiz | vert
    return (np.concatenate(lines).astype(np.int32), members,
            np.concatenate(sizes).astype(float), np.concatenate(upright), horiz | vert)


def _chain(idx, a0, a1, b0, b1, gap):
    """Pairs of components adjacent along axis a with similar extent across it (axis b).

    Extents within a factor 2.2 lie in the same or neighbouring tiers, so the glyphs of each
    tier are paired with those of their own tier and the tier below, within a radius fitting
    their size rather than the largest glyph on the page."""
    a0, a1 = a0[idx], a1[idx]
    size = (b1 - b0)[idx].astype(float)
    mid = (b0 + b1)[idx] / 2.0
    tier = np.floor(np.log(np.maximum(size, 1.0)) / np.log(2.2)).astype(int)

    def ends(sel):  # right ends first, then left ends
        return cKDTree(np.concatenate([np.stack([a1[sel], mid[sel]], 1),
                                       np.stack([a0[sel], mid[sel]], 1)]))

    found = [np.zeros((0, 2), int)]
    for t in np.unique(tier):
        own, near = np.flatnonzero(tier == t), np.flatnonzero((tier == t) | (tier == t - 1))
        radius = (gap + 0.35) * size[own].max()
        hits = ends(own).sparse_distance_matrix(ends(near), radius, output_type="ndarray")
        p, q = hits["i"], hits["j"]
        m, k = len(own), len(near)
        right = (p < m) & (q >= k)   # own's right end meets a left end
        left = (p >= m) & (q < k)    # own's left end meets a right end
        found.append(np.stack([own[p[right]], near[q[right] - k]], 1))
        found.append(np.stack([near[q[left]], own[p[left] - m]], 1))
    i, j = np.concatenate(found).T
    big, small = np.maximum(size[i], size[j]), np.minimum(size[i], size[j])
    space = a0[j] - a1[i]
    ok = (i != j) & (small >= big / 2.2) & (np.abs(mid[i] - mid[j]) <= 0.35 * big)
    ok &= (space >= -0.3 * big) & (space <= gap * big)
    return idx[i[ok]], idx[j[ok]]


def _real_text(lines, members, size, upright, boxes, glyphs, lab, ink, front, cfg, mm):
    """Which candidate lines are text, and on a front page the bottom of the text block.

    On drawing sheets, and below a front page's text block, only single rows of a few
    label-sized glyphs standing in white space, not enclosed or surrounded by a drawing: a grid
    of holes or a run of dashes chains up too, but as a block, a long run, or amid strokes.
    The text block is made of long horizontal lines of body-text size with mostly glyphs
    around them (bibliographic text is packed too densely to stand apart); every upright
    candidate line within it is text (stacked words chain up as turned lines)."""
    h, w = lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1]
    extent = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    block, in_block = None, np.zeros(len(lines), bool)
    if front:
        packed = upright & (w >= 3 * size) & (size >= cfg.front_glyph_mm * mm)
        if packed.any():
            other = ~glyphs
            other[0] = False
            packed[packed] = _clutter(lines[packed], size[packed], lab, other, ink,
                                      mm) <= cfg.front_clutter
        strokes = (extent > 25 * mm) & (np.minimum(boxes[:, 2] - boxes[:, 0],
                                                   boxes[:, 3] - boxes[:, 1]) > mm)
        strokes[0] = False
        block = _block_bottom(lines[packed], strokes.take(lab), mm, cfg.front_text_gap_mm * mm)
        in_block = np.array([block[x0:x1].max() >= y0 for y0, x0, y1, x1 in lines], bool)
    count = np.array([len(m) for m in members])
    alone = ~in_block & (size >= cfg.text_min_mm * mm) & (np.minimum(h, w) <= 2.5 * size)
    alone &= count <= cfg.line_max_glyphs
    if alone.any():
        drawing = ink.copy()  # text must not close outlines: blank every glyph of a line
        for y0, x0, y1, x1 in boxes[np.concatenate(members)]:
            drawing[y0:y1, x0:x1] = False
        alone[alone] = ~_enclosed(lines[alone], pool(drawing, COARSE))
        alone[alone] = _surrounded(lines[alone], pool(ink, COARSE),
                                   cfg.label_clearance_mm * mm) < 4
        strokes = extent >= cfg.glyph_min_mm * mm  # not specks
        strokes[0] = False
        alone[alone] = _clutter(lines[alone], size[alone], lab, strokes, ink,
                                mm) <= cfg.text_clutter
    return alone | (upright & in_block), block


def _clutter(lines, size, lab, foreign, ink, mm):
    """Per line: ink of ``foreign`` components (a bool per component) within a margin around
    it (a fraction of its glyph size, at least 1 mm), relative to the ink inside it. Labels
    sit in white space; glyph-like dots of a texture are surrounded by more dots and by
    strokes."""
    if len(lines) > 30:  # one lookup for the page beats one per line
        mask, lookup = foreign.take(lab), None
    else:
        mask, lookup = lab, foreign
    out = np.zeros(len(lines))
    for k, ((y0, x0, y1, x1), s) in enumerate(zip(lines, size)):
        m = int(max(mm, 0.4 * s))
        around = mask[max(0, y0 - m):y1 + m, max(0, x0 - m):x1 + m]
        inside = mask[y0:y1, x0:x1]
        if lookup is not None:
            around, inside = lookup.take(around), lookup.take(inside)
        out[k] = ((np.count_nonzero(around) - np.count_nonzero(inside))
                  / max(1, np.count_nonzero(ink[y0:y1, x0:x1])))
    return out


def _enclosed(lines, drawing):
    """Text lines lying inside a closed outline of the (coarse) drawing: parts of it."""
    outside, _ = ndi.label(~drawing)
    border = np.zeros(outside.max() + 1, bool)
    border[outside[0]] = border[outside[-1]] = True
    border[outside[:, 0]] = border[outside[:, -1]] = True
    border[0] = False
    return np.array([not border.take(outside[y0:y1 + 1, x0:x1 + 1]).any()
                     for y0, x0, y1, x1 in lines // COARSE], bool)


def _surrounded(lines, drawing, clearance):
    """Per line: on how many of its four sides other (coarse) ink comes within ``clearance``
    (layout cells), or two glyph heights. A label stands beside its figure; runs of dashes or
    holes inside an open outline have strokes all around."""
    reach = int(clearance / COARSE)
    out = np.zeros(len(lines), int)
    for k, (y0, x0, y1, x1) in enumerate(lines // COARSE):
        r = max(reach, 2 * min(y1 - y0, x1 - x0))
        out[k] = sum(int(side.any()) for side in (
            drawing[max(0, y0 - r):y0, x0:x1 + 1], drawing[y1 + 1:y1 + 1 + r, x0:x1 + 1],
            drawing[y0:y1 + 1, max(0, x0 - r):x0], drawing[y0:y1 + 1, x1 + 1:x1 + 1 + r]))
    return out


def _block_bottom(lines, strokes, mm, gap):
    """Per column: the bottom of the front page's text block (-1 where it has no text).

    The block grows down from the first line: a line joins it when it starts within ``gap``
    below the block's bottom somewhere within 20 mm to either side (so a text line missed in
    one column does not cut the block short there) and no drawing stroke (``strokes``, on the
    layout grid) lies between. A joining line covers its columns give or take 5 mm."""
    reach, window = int(round(5 * mm)), int(round(20 * mm))
    bottom = np.full(strokes.shape[1], -1, np.int64)
    order = np.argsort(lines[:, 0], kind="stable")
    first = lines[order[0], 0] if len(order) else 0
    for y0, x0, y1, x1 in lines[order]:
        near = bottom[max(0, x0 - window):x1 + window].max()
        if y0 <= first + gap or (0 <= near and y0 - near <= gap
                                 and not strokes[near:y0, x0:x1].any()):
            cols = bottom[max(0, x0 - reach):x1 + reach]
            np.maximum(cols, y1, out=cols)
    return bottom


def _punctuation(boxes, area, lines, mm):
    """Small components (dots, commas) inside a text line's box."""
    pad = int(round(0.5 * mm))
    where = np.zeros((boxes[:, 2].max() + pad + 1, boxes[:, 3].max() + pad + 1), np.int32)
    for k, (y0, x0, y1, x1) in enumerate(lines, 1):
        where[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = k
    y0, x0, y1, x1 = boxes.T
    line = where[(y0 + y1) // 2, (x0 + x1) // 2] - 1
    ly0, lx0, ly1, lx1 = lines[line].T
    across = np.minimum(ly1 - ly0, lx1 - lx0)
    out = ((line >= 0) & (area > 0) & (np.maximum(y1 - y0, x1 - x0) <= across)
           & (y0 >= ly0 - pad) & (y1 <= ly1 + pad) & (x0 >= lx0 - pad) & (x1 <= lx1 + pad))
    out[0] = False
    return out


def _label_like(lines):
    """Lines shaped like "FIG. 12" / "Figure 3" rather than a reference numeral."""
    h, w = lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1]
    return np.maximum(h, w) >= 2 * np.minimum(h, w)


def _header(lines, boxes, text, shape, cfg, mm):
    """Bottom row of the "U.S. Patent  date  Sheet n of N  US Dnnn,nnn S" line, or 0: the top
    text line, in the top zone of the page, spanning a good part of its width, with no
    drawing above it. Marks starting beside it (commas dipping below the line) are in it."""
    H, W = shape
    top = lines[lines[:, 2] <= cfg.header_zone * H]
    if not len(top):
        return 0
    first = top[np.argmin(top[:, 0])]
    row = top[(top[:, 0] < first[2]) & (top[:, 2] > first[0])]
    if row[:, 3].max() - row[:, 1].min() < 0.35 * W:
        return 0
    bottom = int(row[:, 2].max())
    y0, _, y1, _ = boxes.T
    drawing_above = ~text & (y0 < bottom) & (y1 - y0 > cfg.glyph_max_mm * mm)
    drawing_above[0] = False
    if drawing_above.any():
        return 0
    beside = (y0 < bottom) & (y1 - y0 <= cfg.glyph_max_mm * mm)
    beside[0] = False
    return min(H, max(bottom, y1[beside].max(initial=0)) + int(round(0.5 * mm)))


# --- figures ---------------------------------------------------------------------------------

def figure_boxes(an: Analysis, cfg, mode: str) -> list[tuple[int, int, int, int]]:
    """Layout-grid boxes of the figures.

    mode "sheet": split by labels (or by wide gaps when there are none); "front": the drawing
    below the bibliographic text, as one figure; "whole": all drawing ink as one figure.
    In every mode tiny specks far from everything else are dropped as dust.
    """
    pieces, n = an.pieces, len(an.piece_area) - 1
    if n == 0:
        return []
    cell = an.mm / COARSE  # coarse cells per millimetre
    bbox = np.full((n + 1, 4), -1, np.int64)
    for i, sl in enumerate(ndi.find_objects(pieces), 1):
        bbox[i] = sl[0].start, sl[1].start, sl[0].stop, sl[1].stop
    seeds, share = pieces, None
    if mode == "front":
        share = _in_text_block(pieces, an.piece_area, an.block_bottom, an.mm)
        if an.ruled:    # not called a front page: text anywhere below the rule is no figure
            share = np.maximum(share, _in_text_rows(pieces, an.piece_area, an.lines))
        dropped = share > 0.5  # the barcode, rules and stray marks of the bibliographic text
        dropped[0] = True
        if dropped.all():
            if an.ruled:    # all of it text: a continuation of the front page, no figure
                return []
            dropped[np.argmax(an.piece_area[1:]) + 1] = False
        seeds = np.where(dropped.take(pieces), 0, pieces)
        bbox[dropped] = -1
    anchors = an.lines[an.label_lines] // COARSE if mode == "sheet" else np.zeros((0, 4), int)
    if len(anchors):
        seeds = seeds.copy()
        for k, (y0, x0, y1, x1) in enumerate(anchors, n + 1):
            region = seeds[y0:y1 + 1, x0:x1 + 1]
            region[region == 0] = k
        bbox = np.concatenate([bbox, np.full((len(anchors), 4), -1, np.int64)])
    clusters = _Clusters(bbox, np.concatenate([an.piece_area, np.zeros(len(anchors), int)]),
                         seeded=np.arange(len(bbox)) > n, dust=cfg.dust_mm * cell,
                         dust_gap=cfg.dust_gap_mm * cell)
    edges = _gap_edges(seeds, len(bbox) - 1)
    if mode == "sheet":
        if len(anchors):
            _claim(clusters, pieces, anchors)
        boxes = _split_sheet(clusters, edges, len(anchors) > 0, cfg, cell)
    else:
        boxes = _one_figure(clusters, edges, share, cfg, cell)
    boxes = [tuple(int(v) * COARSE for v in b) for b in boxes]
    return [b for b in boxes if not is_dust(b, an, cfg)]   # dust alone is no figure


def is_dust(box, an: Analysis, cfg) -> bool:
    """A box (layout grid) no larger than a speck of dust."""
    y0, x0, y1, x1 = box
    return max(y1 - y0, x1 - x0) <= cfg.dust_mm * an.mm


def _claim(clusters, pieces, anchors):
    """Each label first takes the nearest big piece (one piece per label, closest pairs
    first), so that figures lying closer to each other than to their labels still come
    apart."""
    n = len(clusters.ink) - len(anchors) - 1
    ink = clusters.ink[1:n + 1]
    extent = np.array([clusters.extent(i) for i in range(1, n + 1)])
    pairs = []
    for p in np.flatnonzero((ink >= 0.05 * ink.max()) | (extent >= 0.25 * extent.max())) + 1:
        y0, x0, y1, x1 = clusters.box[p]
        ys, xs = np.nonzero(pieces[y0:y1, x0:x1] == p)
        ys, xs = ys + y0, xs + x0
        for k, (ay0, ax0, ay1, ax1) in enumerate(anchors, n + 1):
            dy = np.maximum(np.maximum(ay0 - ys, ys - ay1), 0)
            dx = np.maximum(np.maximum(ax0 - xs, xs - ax1), 0)
            pairs.append((np.maximum(dy, dx).min(), k, p))
    taken = set()
    for _, k, p in sorted(pairs):
        if k not in taken and p not in taken:
            clusters.merge(k, p, 0, constrained=True)
            taken |= {k, p}


def _split_sheet(clusters, edges, labelled, cfg, cell):
    """Constrained single linkage: clusters holding a label (or, on unlabelled sheets, the big
    clusters left at ``split_gap_mm``) never merge; everything else joins its nearest. A box
    lying within another one (a part claimed by a stray label, such as a section mark) is
    part of that figure."""
    seeded = labelled
    for a, b, w in edges:
        if not seeded and w > cfg.split_gap_mm * cell:
            clusters.seed_big(cfg.big_fraction)
            seeded = True
        clusters.merge(a, b, w, constrained=seeded)
    boxes = []
    for box in (clusters.box[r] for r in clusters.roots()):  # biggest first
        inside = [i for i, b in enumerate(boxes) if _overlap(box, b) >= 0.8 * _area(box)]
        if inside:
            boxes[inside[0]] = _union(boxes[inside[0]], box)
        else:
            boxes.append(box)
    return boxes


def _area(box):
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def _overlap(p, q):
    return _area((max(p[0], q[0]), max(p[1], q[1]), min(p[2], q[2]), min(p[3], q[3])))


def _one_figure(clusters, edges, share, cfg, cell):
    """All drawing as one box; on a front page (``share`` given) only the main figure and the
    big parts beside it that are clear of the text block, not its leftovers."""
    stop = np.inf if share is None else cfg.front_gap_mm * cell
    for a, b, w in edges:
        if w > stop:
            break
        clusters.merge(a, b, w, constrained=False)
    roots = clusters.roots()
    if share is not None and roots:
        touches = {clusters.find(i) for i in np.flatnonzero(share > 0)}
        main = max(roots, key=lambda r: clusters.ink[r])
        size = clusters.extent(main)
        roots = [r for r in roots if r == main or (
            clusters.extent(r) >= cfg.big_fraction * size and r not in touches)]
    if not roots:
        return []
    box = clusters.box[roots[0]]
    for r in roots[1:]:
        box = _union(box, clusters.box[r])
    return [box]


def _gap_edges(seeds: np.ndarray, n: int):
    """(a, b, gap) between neighbouring seeds, nearest first: the generalised Voronoi graph,
    whose minimum spanning tree is the single-linkage hierarchy of the seeds."""
    dist, (iy, ix) = ndi.distance_transform_cdt(seeds == 0, metric="chessboard",
                                                return_indices=True)
    near = seeds[iy, ix]
    a, b, w = [], [], []
    for p, q, dp, dq in ((near[:, 1:], near[:, :-1], dist[:, 1:], dist[:, :-1]),
                         (near[1:], near[:-1], dist[1:], dist[:-1])):
        diff = p != q
        a.append(np.minimum(p, q)[diff])
        b.append(np.maximum(p, q)[diff])
        w.append((dp + dq)[diff])
    a, b, w = np.concatenate(a), np.concatenate(b), np.concatenate(w)
    order = np.argsort(w, kind="stable")
    _, first = np.unique(a[order].astype(np.int64) * (n + 1) + b[order], return_index=True)
    sel = order[np.sort(first)]
    return list(zip(a[sel].tolist(), b[sel].tolist(), w[sel].tolist()))


class _Clusters:
    """Union-find over pieces tracking each cluster's drawing box (seeds from labels have
    none), ink and whether it holds a seed."""

    def __init__(self, bbox, ink, seeded, dust, dust_gap):
        self.parent = np.arange(len(bbox))
        self.box, self.ink, self.seeded = bbox, ink.copy(), seeded.copy()
        self.dust, self.dust_gap = dust, dust_gap

    def find(self, i):
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def extent(self, r):
        y0, x0, y1, x1 = self.box[r]
        return -1 if y0 < 0 else max(y1 - y0, x1 - x0)

    def merge(self, a, b, gap, constrained):
        ra, rb = self.find(a), self.find(b)
        if ra == rb or (constrained and self.seeded[ra] and self.seeded[rb]):
            return
        if self.seeded[rb] and not self.seeded[ra]:
            ra, rb = rb, ra
        ea, eb = self.extent(ra), self.extent(rb)
        if self._dust(ea, gap) and not self.seeded[ra]:
            self.box[ra] = self.box[rb]
        elif eb >= 0 and not self._dust(eb, gap):
            self.box[ra] = _union(self.box[ra], self.box[rb]) if ea >= 0 else self.box[rb]
        self.parent[rb] = ra
        self.seeded[ra] |= self.seeded[rb]
        self.ink[ra] += self.ink[rb]

    def _dust(self, extent, gap):
        """A speck joining something far away does not widen its box."""
        return 0 <= extent <= self.dust and gap >= max(self.dust_gap, 2 * extent)

    def seed_big(self, fraction):
        roots = self.roots()
        biggest = max((self.extent(r) for r in roots), default=0)
        for r in roots:
            self.seeded[r] = self.extent(r) >= fraction * biggest

    def roots(self):
        """Clusters with a drawing box, biggest first."""
        r = [i for i in range(1, len(self.parent)) if self.parent[i] == i and self.box[i][0] >= 0]
        return sorted(r, key=lambda i: -self.extent(i))


def _union(p, q):
    return np.array([min(p[0], q[0]), min(p[1], q[1]), max(p[2], q[2]), max(p[3], q[3])])


def _in_text_rows(pieces, area, lines):
    """1 for each thin coarse piece (at most 2 coarse rows) lying within the rows of text
    lines: the dot leaders of a list of cited references ("Sotelo ...... D6/598"), too small
    for glyphs; else the share of the piece inside the lines' boxes."""
    inside = np.zeros(pieces.shape, bool)
    rows = np.zeros(pieces.shape[0] + 1, bool)
    for y0, x0, y1, x1 in lines // COARSE:
        inside[y0:y1 + 1, x0:x1 + 1] = True
        rows[y0:y1 + 1] = True
    share = np.bincount(pieces[inside], minlength=len(area)) / np.maximum(area, 1)
    for i, sl in enumerate(ndi.find_objects(pieces), 1):
        if sl is not None and sl[0].stop - sl[0].start <= 2 and rows[sl[0].start:sl[0].stop].all():
            share[i] = 1.0
    return share


def _in_text_block(pieces, area, block, mm):
    """Share of each coarse piece lying within the front page's text block (1 mm slack)."""
    rows = np.arange(pieces.shape[0])[:, None] * COARSE
    limit = block[::COARSE][:pieces.shape[1]] - mm
    within = np.bincount(pieces[rows < limit[None, :]], minlength=len(area))
    return within / np.maximum(area, 1)
