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


def test_a_password_protected_pdf_is_said_to_be_so(tmp_path, monkeypatch):
    """PDFium calls a PDF opened without its user password "incorrect password", as if one
    had been given (the message is PDFium's own, as it raises it for such a file)."""
    import pypdfium2
    from pypdfium2 import PdfiumError

    def locked(*_a, **_kw):
        raise PdfiumError("Failed to load document (PDFium: Incorrect password error).")
    monkeypatch.setattr(pypdfium2, "PdfDocument", locked)
    (tmp_path / "locked.pdf").write_bytes(b"%PDF-1.4 encrypted")
    with pytest.raises(ImageReadError) as said:
        read_page(tmp_path / "locked.pdf")
    assert "password" in str(said.value) and "incorrect" not in str(said.value)
    assert str(said.value).startswith(f"{tmp_path / 'locked.pdf'}: the PDF is password-protected")


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


def _sheet() -> Image.Image:
    """A page with a drawing on it: a dark frame and a cross on white, taller than wide."""
    from PIL import ImageDraw

    im = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(im)
    draw.rectangle((100, 150, 500, 650), outline=0, width=8)
    draw.line((100, 150, 500, 650), fill=0, width=8)
    return im


def test_a_multi_page_tiff_cut_off_after_its_first_page_reads_that_page(tmp_path):
    """A cut-off download of a two-page TIFF: page 1 is read, page 2 is damaged in words
    (a TypeError from the decoder was a traceback, and took page 1 with it)."""
    from PIL import TiffImagePlugin

    whole = tmp_path / "whole.tif"
    with TiffImagePlugin.AppendingTiffWriter(str(whole), True) as tf:
        for im, compression in ((_sheet().convert("1"), "group4"), (_sheet(), "tiff_lzw")):
            im.save(tf, format="TIFF", compression=compression)
            tf.newFrame()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole.read_bytes()[:int(whole.stat().st_size * 0.6)])
    assert (read_page(cut).array == read_page(whole).array).all()
    with pytest.raises(ImageReadError, match=r"cut\.tif: damaged or truncated image \(page 2: "):
        read_page(cut, 1)
    assert count_pages(whole) == 2


def test_a_tiff_cut_off_before_its_last_pages_says_so_where_all_pages_are_read(cut_tiff,
                                                                             tmp_path):
    """A three-page TIFF cut off inside page 3: all its pages (a query's "all pages", a
    folder added to the library) were the two before, without a word about the third."""
    from core.imageio import iter_pages, page_count
    from core.sources import scan_folder

    cut = cut_tiff([_sheet()] * 3, 2)
    assert page_count(tmp_path / "whole.tif") == (3, True)
    assert page_count(cut) == (2, False) and count_pages(cut) == 2
    with pytest.raises(ImageReadError, match=r"cut\.tif: damaged or truncated image \(it is "
                       r"cut off or damaged after page 2: the pages after it cannot be read"):
        list(iter_pages(cut))
    scan = scan_folder(cut)
    assert [p.page_index for p in scan.pages] == [0, 1]         # the pages before it are added
    assert [item for item, _ in scan.errors] == [f"{cut}#3"]


def test_a_drawing_saved_as_a_pdf_at_72_dpi_is_read_not_refused(tmp_path):
    """Pillow writes a PDF page at 72 dpi unless told: a 2560 x 3300 sheet is a 36 x 46 inch
    page, 10666 x 13750 pixels at 300 dpi: it was refused as a decompression bomb. It is drawn
    at the resolution that fits."""
    pytest.importorskip("pypdfium2")
    from core.imageio import MAX_PIXELS

    sheet = _sheet().resize((2560, 3300))
    sheet.save(tmp_path / "d.pdf")                   # (72 dpi)
    page = read_page(tmp_path / "d.pdf")
    h, w = page.array.shape
    assert h * w <= MAX_PIXELS and 250 < page.dpi < 300 and abs(h / w - 3300 / 2560) < 0.01
    assert (page.array < 128).any() and page.sheet_dpi is None     # (46 inches: not a sheet)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_a_picture_stored_sideways_is_read_upright_whatever_its_format(tmp_path, fmt):
    """EXIF orientation 6 (a phone stores the pixels sideways and says how to turn them) was
    followed for JPEG only: a PNG or WebP was searched on its side."""
    upright = _sheet()
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / f"side.{fmt.lower()}"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, format=fmt, exif=exif,
                                                      **({"lossless": True} if fmt == "WEBP"
                                                         else {}))
    page = read_page(path).array
    assert page.shape == (800, 600) and (abs(page.astype(int) - _sheet()).max() < 8)


def test_float_and_16_bit_min_is_white_tiffs_are_read_ink_dark(tmp_path):
    """A 32-bit float TIFF (0 to 1) was clipped to a black page ("dark all over"); a 16-bit
    TIFF whose 0 is white came out as a negative."""
    import numpy as np

    sheet = np.asarray(_sheet())
    Image.fromarray(sheet.astype(np.float32) / 255).save(tmp_path / "f.tif")
    assert abs(read_page(tmp_path / "f.tif").array.astype(int) - sheet).max() <= 1
    white0 = ((255 - sheet).astype(np.uint16) * 257)
    Image.fromarray(white0).save(tmp_path / "w.tif", tiffinfo={262: 0})
    assert Image.open(tmp_path / "w.tif").tag_v2[262] == 0
    assert abs(read_page(tmp_path / "w.tif").array.astype(int) - sheet).max() <= 1



def test_a_malformed_exif_block_does_not_make_a_sound_picture_unreadable(tmp_path):
    """Orientation is read where it can be: a PNG whose EXIF block is not EXIF was refused as
    damaged once orientation was followed for every format."""
    _sheet().save(tmp_path / "odd.png", exif=b"Exif\x00\x00garbage-not-tiff-header")
    assert (read_page(tmp_path / "odd.png").array == _sheet()).all()


def test_all_pages_of_a_tiff_are_read_in_one_opening(tmp_path, monkeypatch):
    """`--page all` read each page with read_page, each opening walking every page: a TIFF of
    1000 blank pages took a minute, of 5000 more than five. One opening serves every page,
    and each page is the one read_page gives."""
    import numpy as np
    from PIL import Image

    import core.imageio
    from core.imageio import iter_pages, read_page

    frames = [Image.fromarray(np.full((40, 60), 255 - 40 * i, np.uint8)) for i in range(5)]
    path = tmp_path / "application.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    opened = []
    real_open = core.imageio._open
    monkeypatch.setattr(core.imageio, "_open", lambda src: (opened.append(src),
                                                            real_open(src))[1])
    pages = list(iter_pages(path))
    assert len(opened) == 1 and [p.page_index for p in pages] == [0, 1, 2, 3, 4]
    for page in pages:
        assert np.array_equal(page.array, read_page(path, page.page_index).array)
    assert [int(p.array.mean()) for p in pages] == [255, 215, 175, 135, 95]


def test_indexing_reads_a_multi_page_tiff_in_one_opening(tmp_path, monkeypatch):
    """Indexing prepares one page per call: each call opened the file again and walked the
    pages before its own (a 400-page TIFF: 72 s, against 2 s opened once). The file stays
    open from page to page, gives each page read_page gives, follows a file replaced under
    the same name, and is closed at the end of the run."""
    import numpy as np

    import core.imageio
    from core.drawing import DrawingConfig
    from core.embed import PagePipeline
    from core.records import PageRecord

    def tiff(shade, n=5):
        frames = [Image.fromarray(np.full((40, 60), shade - 40 * i, np.uint8))
                  for i in range(n)]
        frames[0].save(path, save_all=True, append_images=frames[1:])

    path = tmp_path / "application.tif"
    tiff(255)
    opened = []
    real_open = core.imageio._open
    monkeypatch.setattr(core.imageio, "_open", lambda src: (opened.append(src),
                                                            real_open(src))[1])
    order = [0, 1, 2, 4, 3]
    pages = [core.imageio.read_page_kept(path, i) for i in order]
    assert len(opened) == 1
    monkeypatch.setattr(core.imageio, "_open", real_open)
    for i, page in zip(order, pages):
        assert page.page_index == i and np.array_equal(page.array, read_page(path, i).array)
    with pytest.raises(ImageReadError, match=r"has no page 6 \(it has 5\)"):
        core.imageio.read_page_kept(path, 5)
    tiff(250, 4)                                # (another file under the same name)
    assert int(core.imageio.read_page_kept(path, 1).array.mean()) == 210
    core.imageio.release_kept()
    assert core.imageio._KEPT[1] is None

    monkeypatch.setattr(core.imageio, "_open", lambda src: (opened.append(src),
                                                            real_open(src))[1])
    opened.clear()
    done = list(PagePipeline(DrawingConfig(), workers=0).run(
        [PageRecord("D1", path, i) for i in range(4)]))
    assert len(opened) == 1 and [d.error for d in done] == [None] * 4
    assert core.imageio._KEPT[1] is None
