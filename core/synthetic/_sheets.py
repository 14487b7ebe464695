"""Drawing sheets laid out like USPTO ones: header line, 1-3 figures, "FIG. n" labels."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ._design import pick
from ._patent import SyntheticPatent, _rng

SHEET_SIZE = (2550, 3300)       # letter paper at 300 dpi
_MONTHS = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "Jun.", "Jul.", "Aug.", "Sep.", "Oct.",
           "Nov.", "Dec.")
_BINARY = [0] * 128 + [255] * 128


@lru_cache(maxsize=32)
def _font(px: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font: the same glyphs on every machine, no font files needed."""
    return ImageFont.load_default(size=px)


def render_sheets(patent: SyntheticPatent, scale: float = 1.0,
                  max_per_sheet: int = 3) -> list[np.ndarray]:
    """The patent's drawing sheets (no front page) as uint8 arrays, 0 = ink.

    ``scale`` 1 gives 2550x3300 (letter at 300 dpi); the layout is deterministic per patent."""
    rng = _rng(patent.seed, patent.index, 4)
    w, h = round(SHEET_SIZE[0] * scale), round(SHEET_SIZE[1] * scale)
    figures = [(k + 1, _ink_crop(img)) for k, (_, img) in enumerate(patent.views)]
    groups = _group(rng, len(figures), max_per_sheet)
    label = pick(rng, ["FIG. {}", "FIG. {}", "FIG.{}", "Fig. {}"])
    label_px = round(rng.uniform(48, 70) * scale)
    fill = rng.uniform(0.8, 1.0)
    pages = []
    for n, group in enumerate(groups, start=1):
        page = Image.new("L", (w, h), 255)
        _header(_draw(page), patent, n, len(groups), scale)
        _place(page, [figures[k] for k in group], rng, scale, label, label_px, fill)
        pages.append(np.asarray(page))
    return pages


def _draw(img: Image.Image) -> ImageDraw.ImageDraw:
    """A drawing context that renders text without anti-aliasing (the page stays 1-bit)."""
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"
    return draw


def _group(rng, n: int, most: int) -> list[list[int]]:
    """Figures per sheet: the perspective view usually alone, then runs of 1..most."""
    groups, k = [], 0
    if rng.random() < 0.8:
        groups, k = [[0]], 1
    while k < n:
        take = min(int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25])), most, n - k)
        groups.append(list(range(k, k + take)))
        k += take
    return groups


def _ink_crop(img: np.ndarray) -> Image.Image:
    """The drawing cropped to its ink."""
    ink = img < 128
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if len(rows) == 0:
        return Image.fromarray(img)
    return Image.fromarray(img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def _header(draw: ImageDraw.ImageDraw, patent: SyntheticPatent, sheet: int, sheets: int,
            scale: float) -> None:
    """"U.S. Patent   Mar. 3, 2020   Sheet 2 of 7   SYN-000123 S" as on issued drawings."""
    d = patent.grant_date
    base = round(272 * scale)   # text baseline; positions and sizes measured on real sheets
    for x, text, px, anchor in ((328, "U.S. Patent", 74, "ls"),
                                (843, f"{_MONTHS[d.month - 1]} {d.day}, {d.year}", 46, "ls"),
                                (1253, f"Sheet {sheet} of {sheets}", 48, "ls"),
                                (2195, f"{patent.patent_id} S", 52, "rs")):
        font = _font(round(px * scale))
        for dx in range(max(1, round(px * scale / 25))):   # bold: overprinted, still 1-bit
            draw.text((round(x * scale) + dx, base), text, font=font, fill=0, anchor=anchor)


def _block(fig: Image.Image, number: int, label: str, label_px: int, scale: float) -> Image.Image:
    """A figure with its label centred below it."""
    font = _font(label_px)
    text = label.format(number)
    x0, y0, x1, y1 = font.getbbox(text)
    gap = round(60 * scale)
    w, h = max(fig.width, x1 - x0), fig.height + gap + (y1 - y0)
    block = Image.new("L", (w, h), 255)
    block.paste(fig, ((w - fig.width) // 2, 0))
    _draw(block).text(((w - (x1 - x0)) // 2 - x0, fig.height + gap - y0), text,
                               font=font, fill=0)
    return block


def _place(page: Image.Image, figures, rng, scale: float, label: str, label_px: int,
           fill: float) -> None:
    """Figures stacked top to bottom at one common scale inside the drawing area; a lone
    wide figure is often turned to landscape (read with the sheet rotated), label included."""
    W, H = page.size
    ax0, ax1, ay0, ay1 = 0.08 * W, 0.92 * W, 0.11 * H, 0.96 * H
    k = len(figures)
    label_h = label_px + 60 * scale
    turn = k == 1 and figures[0][1].width > 1.3 * figures[0][1].height and rng.random() < 0.6
    cell_w, cell_h = ax1 - ax0, (ay1 - ay0) / k
    if turn:
        cell_w, cell_h = cell_h, cell_w
    s = min(min(cell_w * fill / f.width, (cell_h - label_h) * fill / f.height)
            for _, f in figures)
    for slot, (number, fig) in enumerate(figures):
        size = (max(1, round(fig.width * s)), max(1, round(fig.height * s)))
        sized = fig.resize(size, Image.BILINEAR).point(_BINARY)
        block = _block(sized, number, label, label_px, scale)
        if turn:
            block = block.rotate(90, expand=True, fillcolor=255)
        cx = (ax0 + ax1) / 2
        cy = ay0 + (slot + 0.5) * (ay1 - ay0) / k
        page.paste(block, (round(cx - block.width / 2), round(cy - block.height / 2)))
