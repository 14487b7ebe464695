"""Pages of printed text, as an application file holds besides its drawings (specification,
claim, bibliographic data): what a query of all pages must not take for drawings."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ._sheets import SHEET_SIZE

_WORDS = ("the ornamental design for a container as shown and described wherein FIG. 1 is a "
          "front elevational view thereof 2 rear 3 left side 4 top plan 5 bottom the broken "
          "lines depict environment and form no part of claimed design (12) [0003] "
          "embodiment article manufacture").split()


def text_page(seed: int, *, size: int | None = None, columns: int | None = None) -> np.ndarray:
    """A uint8 page (``SHEET_SIZE``, 300 dpi) of text lines at a font size of ``size`` pixels
    (random 28-60, i.e. 7-14 pt) in one or two columns, with paragraph breaks and a ruled
    header half of the time."""
    rng = np.random.default_rng(seed)
    size = size or int(rng.integers(28, 61))
    columns = columns or int(rng.integers(1, 3))
    w, h = SHEET_SIZE
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=size)
    y = int(rng.integers(150, 400))
    if rng.random() < 0.5:
        draw.text((w // 2 - 300, 120), "US 2020/0123456 A1", fill=0, font=font)
        draw.line((250, 140 + 2 * size, w - 250, 140 + 2 * size), fill=0, width=5)
        y = max(y, 200 + 3 * size)
    column_w = (w - 500) // columns
    stop = int(rng.integers(h // 2, h - 250))
    while y < stop:
        for c in range(columns):
            words, line = list(rng.choice(_WORDS, 40)), ""
            while words and draw.textlength(line + " " + words[0], font=font) < column_w - 60:
                line += " " + words.pop(0)
            draw.text((250 + c * column_w, y), line.strip(), fill=0, font=font)
        y += int(size * 1.5) + (2 * size if rng.random() < 0.1 else 0)
    return np.asarray(img)
