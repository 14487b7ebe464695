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
