"""Reading drawing files: PNG, JPEG, TIFF (1-bit CCITT G4, multi-page), BMP, and PDF pages.

Every failure becomes an ``ImageReadError`` with a one-line reason, so ingestion can skip the
file and go on. Huge images are refused before they are decoded (decompression bombs).
"""
from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Refuse anything larger than a 600 dpi A0 sheet (about 20000 x 28000 would be absurd).
MAX_PIXELS = 120_000_000
PDF_DPI = 300
#: Pages counted of a damaged file whose count it does not say (no patent has this many).
MAX_PAGES = 10_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = IMAGE_SUFFIXES | PDF_SUFFIXES


class ImageReadError(Exception):
    """A file that cannot be read as a drawing; the message says why."""


@dataclass
class PageImage:
    """One decoded page: grayscale uint8 (0 = black ink, 255 = white paper)."""

    array: np.ndarray
    path: str
    page_index: int = 0
    dpi: float | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.array.shape[1], self.array.shape[0]

    @property
    def sheet_dpi(self) -> float | None:
        """The file's dpi if it describes a plausible drawing page (3 to 20 inches tall);
        None otherwise (e.g. screenshots tagged 72 dpi), so the drawing code estimates it."""
        if not self.dpi or self.dpi <= 0:
            return None
        inches = self.array.shape[0] / self.dpi
        return self.dpi if 3.0 <= inches <= 20.0 else None


def _to_gray(im: Image.Image, zero_is_white: bool = False) -> np.ndarray:
    """The page as uint8 gray, ink dark; ``zero_is_white``: a TIFF's photometric says 0 is
    white (Pillow turns only 8-bit ones around)."""
    if im.mode == "1":
        return np.asarray(im.convert("L"))
    wide = im.mode in ("I;16", "I;16B", "I;16L", "I", "F")     # (F: 32-bit float, 0 to 1 too)
    # transparent (an alpha channel, or a PNG's one "transparent colour") is the white paper
    if im.mode in ("RGBA", "LA", "PA") or ("transparency" in im.info and not wide):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    if wide:
        arr = np.array(im, dtype=np.float32)        # (float64 doubled a large scan's peak)
        if isinstance(im.info.get("transparency"), int):
            arr[arr == im.info["transparency"]] = 65535 if im.mode != "I" else arr.max()
        hi = float(arr.max()) or 1.0
        arr *= 255.0 / hi
        gray = arr.clip(0, 255, out=arr).astype(np.uint8)
        return 255 - gray if zero_is_white else gray
    if im.mode != "L":
        im = im.convert("L")
    return np.asarray(im)


def _check_size(w: int, h: int, where: str) -> None:
    if w <= 0 or h <= 0:
        raise ImageReadError(f"{where}: empty image ({w}x{h})")
    if w * h > MAX_PIXELS:
        raise ImageReadError(f"{where}: image too large ({w}x{h} pixels, limit {MAX_PIXELS:,}); "
                             "refusing a possible decompression bomb")


#: How image files begin (PNG, JPEG, TIFF both byte orders, BMP, GIF, WebP's RIFF).
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8", b"RIFF")


def may_be_drawing_file(path: str | os.PathLike) -> bool:
    """Whether a file can be a drawing, before decoding it: a drawing format's name, or (a
    name such as "USD0871717 v1.2" or none at all) content that begins as a drawing file's."""
    path = Path(path)
    if path.is_dir():
        return False
    if path.suffix.lower() in SUPPORTED_SUFFIXES:
        return True
    head = _head(path)
    if head is None:
        return not path.suffix      # (not readable now: the decoder will say why)
    return head.startswith(_IMAGE_MAGIC) or b"%PDF-" in head


def _head(path: Path) -> bytes | None:
    """The first KiB of a regular file (where a PDF's header may lie); None for anything
    that cannot be read twice (a pipe) or not now."""
    try:
        if path.is_file():
            with open(path, "rb") as f:
                return f.read(1024)
    except OSError:
        pass
    return None


def _is_pdf(path: Path) -> bool:
    """A PDF by its content (the "%PDF-" header, within the first KiB, of a file that does
    not begin as an image: an image's notes may quote a PDF's), as images are known by theirs
    whatever their name; by its name where the file cannot be read twice (a pipe)."""
    head = _head(path)
    if head is None:
        return path.suffix.lower() in PDF_SUFFIXES
    return not head.startswith(_IMAGE_MAGIC) and b"%PDF-" in head


def _open(source: str | os.PathLike | bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():     # the size is checked against MAX_PIXELS after
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)   # (damage is told as an error)
            fp = io.BytesIO(source) if isinstance(source, bytes) else source
            return Image.open(fp)
    except FileNotFoundError:
        raise ImageReadError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ImageReadError(f"{source}: is a folder, not an image") from None
    except Image.DecompressionBombError:
        raise ImageReadError(f"{_name(source)}: image too large (over {MAX_PIXELS:,} pixels); "
                             "refusing a possible decompression bomb") from None
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{_name(source)}: not a readable image ({_reason(exc)})") from None
    except OSError as exc:
        raise ImageReadError(f"{_name(source)}: cannot open ({_reason(exc)})") from None


def _name(source) -> str:
    return "<bytes>" if isinstance(source, bytes) else str(source)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def count_pages(path: str | os.PathLike) -> int:
    """Number of pages (frames) in a file, without decoding pixel data (of a file cut off
    after some page, the pages before it)."""
    return page_count(path)[0]


def page_count(path: str | os.PathLike) -> tuple[int, bool]:
    """``count_pages``, and whether those are all the file's pages (False: it is cut off or
    damaged after them)."""
    path = Path(path)
    if _is_pdf(path):
        doc = _pdf(path)
        try:
            return len(doc), True
        finally:
            doc.close()
    if path.is_file() and path.stat().st_size == 0:
        raise ImageReadError(f"{path}: empty file")     # (as read_page says it)
    im = _open(path)
    try:
        return _frames(im)
    finally:
        im.close()


def cut_off(where: str, readable: int) -> str:
    """What is wrong with a file whose pages after ``readable`` cannot be reached."""
    return (f"{where}: damaged or truncated image (it is cut off or damaged after page "
            f"{readable}: the pages after it cannot be read)")


def _frames(im: Image.Image) -> tuple[int, bool]:
    """How many pages (frames) a file holds, and whether that is all of them: of a file
    damaged after some page (a cut-off download of a multi-page TIFF), the pages before
    it, which can still be read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return max(1, int(getattr(im, "n_frames", 1))), True
        except Exception:  # noqa: BLE001 - a decoder's own (TypeError: Missing dimensions)
            pass
        n = 1
        try:
            while n < MAX_PAGES:            # (a file whose pages chain in a loop)
                im.seek(n)
                n += 1
        except Exception:  # noqa: BLE001 - the first page that cannot be reached
            pass
        try:
            im.seek(0)
        except Exception:  # noqa: BLE001 - then reading page 1 says what is wrong
            pass
        return n, False


def pages_for_a_message(path: str | os.PathLike) -> int:
    """How many pages a message about ``path`` should name: 1 for a pipe (it cannot be read
    twice) or a file that cannot be counted now, since the count is only a hint."""
    return page_count_for_a_message(path)[0]


def page_count_for_a_message(path: str | os.PathLike) -> tuple[int, bool]:
    """``pages_for_a_message``, and whether those are all the file's pages."""
    try:
        return page_count(path) if Path(path).is_file() else (1, True)
    except Exception:
        return 1, True


def _pdf(path: Path):
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pragma: no cover - declared dependency
        raise ImageReadError(f"{path}: PDF support needs pypdfium2") from None
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if not path.exists():
        raise ImageReadError(f"{path}: file not found")
    try:
        return pdfium.PdfDocument(str(path))
    except Exception as exc:
        reason = _pdfium_reason(exc)
        if "password" in reason:        # (PDFium's "incorrect password": none was given)
            raise ImageReadError(f"{path}: the PDF is password-protected: open it with its "
                                 "password in a PDF reader, save a copy without one (or "
                                 "print it to PDF), and search that") from None
        raise ImageReadError(f"{path}: not a readable PDF ({reason})") from None


def _pdfium_reason(exc: BaseException) -> str:
    """PDFium's "Failed to load document (PDFium: X)." as the X a user can act on."""
    match = re.search(r"PDFium: ([^)]*)\)", str(exc))
    if match is None:
        return _reason(exc)
    code = match.group(1).strip()
    # PDFium reports a document whose page tree it cannot find (e.g. no pages) as "Success".
    return "it has no pages, or no page tree PDFium can read" if code == "Success" else code.lower()


def _read_pdf_page(path: Path, index: int, dpi: int = PDF_DPI) -> PageImage:
    doc = _pdf(path)
    try:
        if not 0 <= index < len(doc):
            raise ImageReadError(f"{path}: has no page {index + 1} (it has {len(doc)})")
        page = doc[index]
        w, h = page.get_size()
        # a page too large for ``dpi`` (a drawing saved at 72 dpi: 36 x 46 inches) is drawn
        # at the resolution that fits, not refused: a PDF page is no decompression bomb
        scale = min(dpi / 72.0, 0.999 * (MAX_PIXELS / max(w * h, 1e-9)) ** 0.5)
        _check_size(int(w * scale), int(h * scale), str(path))
        im = page.render(scale=scale, grayscale=True).to_pil()
        return PageImage(_to_gray(im), str(path), index, 72.0 * scale)
    except ImageReadError:
        raise
    except Exception as exc:
        raise ImageReadError(f"{path}: cannot render page {index + 1} ({_reason(exc)})") from None
    finally:
        doc.close()


def read_page(source: str | os.PathLike | bytes, page_index: int = 0) -> PageImage:
    """Decode one page of a drawing file (or of in-memory image bytes)."""
    if not isinstance(source, bytes):
        path = Path(source)
        if _is_pdf(path):
            return _read_pdf_page(path, page_index)
        if path.is_file() and path.stat().st_size == 0:
            raise ImageReadError(f"{path}: empty file")
    where = _name(source)
    im = _open(source)
    try:
        return _decode(im, where, page_index, None)
    finally:
        im.close()


def _decode(im: Image.Image, where: str, page_index: int,
            frames: tuple[int, bool] | None) -> PageImage:
    """Page ``page_index`` of the open image ``im`` (``frames``: what ``_frames`` said of it,
    if known); its damage as an ImageReadError."""
    try:
        _check_size(im.width, im.height, where)
        n, whole = frames or _frames(im)
        if not 0 <= page_index < n:
            raise ImageReadError(
                f"{where}: has no page {page_index + 1} (it has {n})" if whole else
                f"{where}: damaged or truncated image (it is cut off or damaged before page "
                f"{page_index + 1})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)    # (damage is told as an error)
            if page_index != im.tell():
                im.seek(page_index)
                _check_size(im.width, im.height, where)
            im.load()
            zero_is_white = getattr(im, "tag_v2", {}).get(262) == 0
            page = _upright(im)
        dpi = page.info.get("dpi", (None,))[0]
        return PageImage(_to_gray(page, zero_is_white), where, page_index,
                         float(dpi) if dpi else None)
    except ImageReadError:
        raise
    except (OSError, ValueError, SyntaxError, MemoryError, TypeError, KeyError, IndexError,
            EOFError, struct.error, Image.DecompressionBombError) as exc:
        page = f"page {page_index + 1}: " if page_index else ""
        raise ImageReadError(f"{where}: damaged or truncated image ({page}{_reason(exc)})"
                             ) from None


def _upright(im: Image.Image) -> Image.Image:
    """``im`` turned as its EXIF orientation says (a phone stores a picture of a sheet
    sideways, with the turn to show it); as it is where that block is unreadable, since the
    pixels are fine."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a malformed EXIF block: Pillow's errors vary
        return im


#: The multi-page file ``read_page_kept`` read last, still open: key (path, size, mtime),
#: the open image and its frame count.
_KEPT: list = [None, None, None]
_KEPT_LOCK = threading.Lock()


def read_page_kept(path: str | os.PathLike, page_index: int) -> PageImage:
    """``read_page`` for runs that read a file's pages one call at a time (indexing): a
    multi-page file stays open between calls, since reopened for each page a TIFF's page n
    is reached by walking the n - 1 before it (a 400-page TIFF: 72 s instead of 2 s).
    ``release_kept()`` closes it."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return read_page(path, page_index)          # (says what is wrong)
    if _is_pdf(path) or st.st_size == 0 or not path.is_file():
        return read_page(path, page_index)
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _KEPT_LOCK:
        if _KEPT[0] != key:
            _release()
            im = _open(path)
            _KEPT[:] = [key, im, None]
        im = _KEPT[1]
        try:
            if _KEPT[2] is None:
                _KEPT[2] = _frames(im)
            page = _decode(im, _name(path), page_index, _KEPT[2])
        except BaseException:
            _release()
            raise
        if _KEPT[2][0] == 1:        # (nothing to gain by keeping a one-page file open)
            _release()
        return page


def release_kept() -> None:
    """Close the file ``read_page_kept`` kept open."""
    with _KEPT_LOCK:
        _release()


def _release() -> None:
    im = _KEPT[1]
    _KEPT[:] = [None, None, None]
    if im is not None:
        im.close()


def iter_pages(path: str | os.PathLike) -> Iterator[PageImage]:
    """All pages of a file, decoded one at a time, the file opened once (opened again per
    page, a TIFF of a thousand pages took a minute: each opening walks every page)."""
    path = Path(path)
    if _is_pdf(path) or (path.is_file() and path.stat().st_size == 0):
        for i in range(count_pages(path)):
            yield read_page(path, i)
        return
    im = _open(path)
    try:
        where = _name(path)
        _check_size(im.width, im.height, where)
        frames = _frames(im)
        if not frames[1]:       # (all pages of an application, some missing: said, not used)
            raise ImageReadError(cut_off(where, frames[0]))
        for i in range(frames[0]):
            yield _decode(im, where, i, frames)
    finally:
        im.close()
