"""Drawing preprocessing: from a scanned design-patent sheet to clean, square figure images.

Real inputs are whole sheets: a header line ("U.S. Patent  Mar. 3, 2020  Sheet 2 of 7  US
D123,456 S"), one or more figures, "FIG. n" labels and reference numerals; front pages carry a
bibliographic text block above the representative figure. The model must not match on text, so
text is removed, each figure is cropped to its ink, padded to a square on white and resized.

The parameters live in ``DrawingConfig``, which is stored in every model checkpoint so that
indexing and querying always prepare images the same way.

IMPLEMENTATION PENDING (see docs/ARCHITECTURE.md): the API below is the contract.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class DrawingConfig:
    image_size: int = 224

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
                 cfg: DrawingConfig = DrawingConfig()) -> list[FigureBox]:
    raise NotImplementedError


def render_figure(page: np.ndarray, box: FigureBox | None = None,
                  cfg: DrawingConfig = DrawingConfig()) -> np.ndarray:
    raise NotImplementedError
