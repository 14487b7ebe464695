"""Drawing files that cannot be read are refused with a message that names the file and why."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from core.imageio import ImageReadError, count_pages, read_page


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (64, 48), 255).save(buf, format="PNG")
    return buf.getvalue()


def test_a_pdf_without_pages_says_so(tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    path = tmp_path / "blank.pdf"
    doc = pdfium.PdfDocument.new()
    doc.save(str(path))
    doc.close()
    with pytest.raises(ImageReadError, match=r"blank\.pdf: not a readable PDF \(it has no pages"):
        count_pages(path)


def test_a_missing_or_damaged_pdf_is_named_with_the_reason(tmp_path):
    with pytest.raises(ImageReadError, match=r"gone\.pdf: file not found"):
        read_page(tmp_path / "gone.pdf")
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(ImageReadError, match=r"junk\.pdf: not a readable PDF \(\w"):
        count_pages(tmp_path / "junk.pdf")
    (tmp_path / "folder.pdf").mkdir()
    with pytest.raises(ImageReadError, match="is a folder"):
        read_page(tmp_path / "folder.pdf")


def test_a_pdf_page_renders_in_gray_at_the_pdf_resolution(tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    path = tmp_path / "sheet.pdf"
    doc = pdfium.PdfDocument.new()
    doc.new_page(612, 792)                      # US letter, in points
    doc.save(str(path))
    doc.close()
    assert count_pages(path) == 1
    page = read_page(path, 0)
    assert page.array.ndim == 2 and page.array.shape[0] > page.array.shape[1]
    with pytest.raises(ImageReadError, match="has no page 2"):
        read_page(path, 1)


def test_truncated_empty_and_foreign_images_are_refused(tmp_path):
    data = _png_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_bytes(b"these are notes, not a drawing")
    for name, why in (("cut", "damaged or truncated|cannot open|not a readable"),
                      ("empty", "empty file"), ("notes", "not a readable image")):
        with pytest.raises(ImageReadError, match=rf"{name}\.png: ({why})"):
            read_page(tmp_path / f"{name}.png")
    with pytest.raises(ImageReadError, match="empty.png: empty file"):
        count_pages(tmp_path / "empty.png")          # (what a folder scan asks first)
    assert read_page(data).array.shape == (48, 64)


@pytest.mark.parametrize("size", [(12000, 12000), (20000, 10000)])
def test_a_huge_image_is_called_too_large_not_unreadable(tmp_path, size):
    """Over the pixel limit (144 M: past Pillow's warning bound; 200 M: past its error bound)
    the message says the image is too large, before any pixel is decoded."""
    path = tmp_path / "huge.png"
    Image.new("1", size, 1).save(path)
    with pytest.raises(ImageReadError, match=r"huge.png: image too large .*120,000,000"):
        read_page(path)


def test_a_pdf_is_known_by_its_content_not_its_name(tmp_path):
    """An application's PDF saved without its suffix (or as .png) is read as a PDF, and an
    image named .pdf as an image, as images are known by their content whatever their name."""
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument.new()
    for _ in range(2):
        doc.new_page(612, 792)
    for name in ("application", "application.png"):
        doc.save(str(tmp_path / name))
    doc.close()
    for name in ("application", "application.png"):
        assert count_pages(tmp_path / name) == 2
        assert read_page(tmp_path / name, 1).array.shape[0] > 792      # rendered at dpi
    (tmp_path / "sheet.pdf").write_bytes(_png_bytes())
    assert count_pages(tmp_path / "sheet.pdf") == 1
    assert read_page(tmp_path / "sheet.pdf").array.shape == (48, 64)
    from PIL import PngImagePlugin

    notes = PngImagePlugin.PngInfo()          # an image whose notes quote a PDF's header
    notes.add_text("Source", "page 2 of application.pdf, %PDF-1.7")
    Image.new("L", (64, 48), 255).save(tmp_path / "page.png", pnginfo=notes)
    Image.new("L", (64, 48), 255).save(tmp_path / "page.jpg", comment=b"from %PDF-1.7")
    for name in ("page.png", "page.jpg"):
        assert read_page(tmp_path / name).array.shape == (48, 64)


def test_pillow_warnings_about_a_damaged_file_do_not_reach_the_user(tmp_path):
    """A TIFF whose directory lies past its end is refused with one message; Pillow's
    "Corrupt EXIF data" warning (with its internal path) was printed before it."""
    import struct
    import warnings

    path = tmp_path / "cut.tif"
    path.write_bytes(b"II*\x00" + struct.pack("<I", 5000) + bytes(1000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageReadError, match=r"cut\.tif: not a readable image"):
            read_page(path)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16", "RGBA", "P"])
def test_a_transparent_background_is_white_paper_however_the_png_stores_it(tmp_path, mode):
    """Dark lines on a transparent background: with an alpha channel, or (as PNG optimisers
    write it) one colour marked transparent in a tRNS chunk. Read as black, the page was
    "dark all over" and the drawing was never found."""
    import numpy as np

    ink = np.zeros((60, 80), bool)
    ink[10:50, 30:33] = True
    path = tmp_path / "drawing.png"
    if mode == "RGB":
        rgb = np.zeros(ink.shape + (3,), np.uint8)
        rgb[ink] = (0, 0, 160)
        Image.fromarray(rgb).save(path, transparency=(0, 0, 0))
    elif mode == "RGBA":
        rgba = np.zeros(ink.shape + (4,), np.uint8)
        rgba[ink] = (0, 0, 160, 255)
        Image.fromarray(rgba).save(path)
    elif mode == "P":
        Image.fromarray(np.where(ink, 60, 0).astype(np.uint8)).convert("P").save(
            path, transparency=0)
    else:
        values = np.where(ink, 60 if mode == "L" else 6000, 0)
        Image.fromarray(values.astype(np.uint8 if mode == "L" else np.uint16)).save(
            path, transparency=0)
    page = read_page(path, 0).array
    assert page.shape == ink.shape
    assert page[~ink].min() == 255                 # the paper
    assert page[ink].max() < 100                   # the lines
