"""Thumbnails of figures and pages for front ends, cached on disk under the library folder.

Decoding a 300 dpi sheet costs tens of milliseconds, so a results grid that decoded every page
each time it scrolled would stutter. A thumbnail is made once, stored as a small PNG in
``<library>/thumbnails/`` (keyed by file, page, box, size and the file's size and mtime, so an
edited file gets a new thumbnail), and read back in about a millisecond afterwards.

Thin strokes of a line drawing fade when a sheet is shrunk tenfold by averaging; a gamma
that grows with the reduction darkens faint ink (solid ink stays black, shading stays gray),
so lines stay visible.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from .imageio import read_page

CACHE_DIR = "thumbnails"
#: Part of every cache key: bump it when thumbnails are made differently.
THUMB_VERSION = 2
#: Margin around a figure's box, as a fraction of its longer side.
FIGURE_MARGIN = 0.04


class ThumbnailCache:
    """Make and cache thumbnails; ``folder=None`` keeps nothing on disk."""

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = Path(folder) if folder is not None else None

    @classmethod
    def for_library(cls, library_path: str | os.PathLike) -> "ThumbnailCache":
        return cls(Path(library_path) / CACHE_DIR)

    def thumbnail(self, path: str | os.PathLike, page_index: int = 0,
                  box: Sequence[int] | None = None, side: int = 256) -> np.ndarray:
        """The figure in ``box`` (page pixels; None = the whole page) of a drawing file, fitted
        in ``side`` x ``side`` pixels (aspect kept): a uint8 grayscale array."""
        key = self._key(path, page_index, box, side)
        cached = self._cached(key)
        if cached is not None:
            return cached
        page = read_page(path, page_index).array
        thumb = fit(crop(page, box), side)
        self._store(key, thumb)
        return thumb

    # -- disk cache -----------------------------------------------------------------------
    def _key(self, path, page_index: int, box, side: int) -> str | None:
        if self.folder is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        text = (f"v{THUMB_VERSION}|{Path(path).resolve()}|{page_index}|"
                f"{list(box) if box else None}|{side}|{st.st_size}|{st.st_mtime_ns}")
        return hashlib.sha1(text.encode()).hexdigest()

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.png"

    def _cached(self, key: str | None) -> np.ndarray | None:
        if key is None:
            return None
        try:
            with Image.open(self._file(key)) as im:
                return np.asarray(im.convert("L"))
        except (OSError, ValueError):
            return None

    def _store(self, key: str | None, thumb: np.ndarray) -> None:
        if key is None:
            return
        target = self._file(key)
        tmp = None
        try:
            self.folder.mkdir(exist_ok=True)        # (not a library folder gone meanwhile)
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                Image.fromarray(thumb).save(f, format="PNG")
            os.replace(tmp, target)
        except OSError:  # read-only library or full disk: thumbnails still work, uncached
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


def crop(page: np.ndarray, box: Sequence[int] | None) -> np.ndarray:
    """The box of a page inside a small white margin (the whole page when box is None). The
    margin is paper, not the page around the box: a figure label or a neighbouring figure just
    outside the box must not show up in the thumbnail."""
    if box is None:
        return page
    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = page.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return page
    pad = int(FIGURE_MARGIN * max(x1 - x0, y1 - y0))
    return np.pad(page[y0:y1, x0:x1], pad, constant_values=255)


def fit(image: np.ndarray, side: int) -> np.ndarray:
    """Shrink a grayscale drawing to fit ``side`` x ``side``, keeping thin strokes visible."""
    h, w = image.shape
    scale = max(h, w) / side
    if scale <= 1:
        return np.ascontiguousarray(image)
    im = Image.fromarray(image)
    factor = int(scale)
    if factor >= 2:
        im = im.reduce(factor)
    out_w, out_h = max(1, round(w / scale)), max(1, round(h / scale))
    small = np.asarray(im.resize((out_w, out_h), Image.LANCZOS), dtype=np.float32)
    ink = np.clip((255.0 - small) / 255.0, 0.0, 1.0) ** max(0.35, scale ** -0.5)
    return np.round(255.0 * (1.0 - ink)).astype(np.uint8)


def pad_square(image: np.ndarray) -> np.ndarray:
    """Centre a thumbnail on a white square (reports lay thumbnails out in equal cells)."""
    h, w = image.shape
    side = max(h, w)
    out = np.full((side, side), 255, np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = image
    return out


def report_thumbnails(cache: "ThumbnailCache", progress: Callable[[int], None] | None = None):
    """Square thumbnails of results for reports (``hit -> array``); None for a drawing that
    cannot be read now, so a report still lists it. ``progress(n)`` is told how many have
    been drawn so far."""
    from .imageio import ImageReadError

    drawn = 0

    def thumb(hit):
        nonlocal drawn
        try:
            return pad_square(cache.thumbnail(hit.image, hit.page_index, hit.figure, side=240))
        except (ImageReadError, OSError):
            return None
        finally:
            drawn += 1
            if progress is not None:
                progress(drawn)
    return thumb


#: Colour of the searched region drawn on a report's query page (the GUI's crop red).
REGION_RGB = (192, 57, 43)
QUERY_SIDE = 400


def query_thumbnail(cache: "ThumbnailCache", path: str | None, page_index: int = 0,
                    box: Sequence[int] | None = None) -> np.ndarray | None:
    """The query page for a report's header; None when it cannot be read now. With ``box``
    (page pixels: the figure or crop searched) it is an RGB image with that region outlined,
    so a report of a part of the sheet shows which part."""
    from .imageio import ImageReadError

    if path is None:
        return None
    try:
        if box is None:
            return cache.thumbnail(path, page_index, None, side=QUERY_SIDE)
        page = read_page(path, page_index).array
    except (ImageReadError, OSError):
        return None
    return outline(fit(page, QUERY_SIDE), box, page.shape)


def query_picture(cache: "ThumbnailCache", path: str | None, page_index: int = 0,
                  box: Sequence[int] | None = None, sha256: str | None = None
                  ) -> tuple[np.ndarray | None, str | None]:
    """``query_thumbnail`` of the file a search was made with, and why it is not shown when
    it is not: a file at the path that is not the one searched (``sha256``, as logged) would
    show another drawing as the query."""
    from ._hashing import sha256_file

    if path is None:
        return None, None
    if sha256 is not None:
        try:
            if sha256_file(path) != sha256:
                return None, ("not shown: the file at this path has changed since the search "
                              "(its SHA-256 differs)")
        except OSError:
            return None, "not shown: the file is gone or cannot be read now"
    picture = query_thumbnail(cache, path, page_index, box)
    return picture, None if picture is not None else "not shown: the file cannot be read now"


def outline(thumb: np.ndarray, box: Sequence[int], page_shape: tuple[int, int],
            rgb: tuple[int, int, int] = REGION_RGB) -> np.ndarray:
    """An RGB copy of a page's grayscale thumbnail with a page box outlined (clipped to the
    page; at least 2 pixels wide, so it survives the report's downscaling)."""
    h, w = thumb.shape
    sy, sx = h / page_shape[0], w / page_shape[1]
    x0, y0, x1, y1 = (int(v) for v in box)
    x0, x1 = (min(max(round(v * sx), 0), w - 1) for v in (x0, x1))
    y0, y1 = (min(max(round(v * sy), 0), h - 1) for v in (y0, y1))
    out = np.repeat(thumb[:, :, None], 3, axis=2)
    t = max(2, round(max(h, w) / 130))
    color = np.array(rgb, np.uint8)
    out[y0:min(y0 + t, y1 + 1), x0:x1 + 1] = color
    out[max(y1 - t + 1, y0):y1 + 1, x0:x1 + 1] = color
    out[y0:y1 + 1, x0:min(x0 + t, x1 + 1)] = color
    out[y0:y1 + 1, max(x1 - t + 1, x0):x1 + 1] = color
    return out
