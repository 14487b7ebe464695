"""Drawing preprocessing on generated sheets and on the real pages in ../shared/data."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.drawing import (DrawingConfig, FigureBox, find_figures, prepare_page,
                          render_figure, why_no_figure)
from core.imageio import read_page

W, H = 2560, 3300  # a letter sheet at 300 dpi
MM = 300 / 25.4


def font(px: int):
    return ImageFont.load_default(size=px)


def new_sheet(header: bool = True) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    im = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(im)
    if header:
        for x, text in ((330, "U.S. Patent"), (840, "Dec. 29, 2020"), (1250, "Sheet 1 of 7"),
                        (1820, "US D906,013 S")):
            d.text((x, 215), text, fill=0, font=font(55))
    return im, d


def label(d: ImageDraw.ImageDraw, x: int, y: int, text: str) -> tuple[int, int, int, int]:
    d.text((x, y), text, fill=0, font=font(70))
    return d.textbbox((x, y), text, font=font(70))


def vase(d: ImageDraw.ImageDraw, x0: int, y0: int, x1: int, y1: int, width: int = 5) -> None:
    """An outline with some inner detail, as a design drawing has."""
    d.rounded_rectangle((x0, y0, x1, y1), radius=(x1 - x0) // 5, outline=0, width=width)
    d.ellipse((x0 + (x1 - x0) // 4, y0 + 40, x1 - (x1 - x0) // 4, y0 + 160), outline=0,
              width=width)
    for k in range(6):
        y = y0 + (y1 - y0) * (k + 3) // 10
        d.line((x0 + 60, y, x1 - 60, y), fill=0, width=2)


def page(im: Image.Image) -> np.ndarray:
    return np.asarray(im).copy()


def inside(box: FigureBox, x: float, y: float) -> bool:
    return box.x0 <= x < box.x1 and box.y0 <= y < box.y1


def assert_clean_render(img: np.ndarray, size: int = 224) -> None:
    assert img.shape == (size, size) and img.dtype == np.uint8
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    assert border.min() == 255, "the figure is padded on white"
    assert img.min() < 128, "the render is not blank"


# --- configuration and trivial pages -----------------------------------------------------------

def test_config_round_trip_ignores_unknown_keys():
    cfg = DrawingConfig(image_size=160, margin=0.1, stroke_gain=3.0, threshold=140)
    d = cfg.to_dict()
    assert DrawingConfig.from_dict(d) == cfg
    assert DrawingConfig.from_dict({**d, "from_a_future_version": 1}) == cfg
    assert DrawingConfig.from_dict(None) == DrawingConfig()
    json.dumps(d)  # stored in checkpoints as JSON


@pytest.mark.parametrize("shape", [(H, W), (40, 30)])
def test_blank_page_has_no_figures(shape):
    blank = np.full(shape, 255, np.uint8)
    assert find_figures(blank) == []
    assert prepare_page(blank) == []
    img = render_figure(blank)
    assert img.shape == (224, 224) and img.min() == 255


def test_a_soft_toned_photograph_is_told_apart_from_a_blank_page():
    """A continuous-tone image with no lines (a photograph of a shaded object on a lit
    background) gives no figure, and the reason says so rather than calling it blank."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:900, 0:1200]
    r = np.hypot(x - 600, y - 450)
    photo = np.where(r < 300, 200 - 120 * (r / 300) ** 2, 120 + 60 * x / 1200)
    photo = np.clip(photo + rng.normal(0, 8, photo.shape), 0, 255).astype(np.uint8)
    assert find_figures(photo) == []
    assert "photograph" in why_no_figure(photo)
    assert "blank page" in why_no_figure(np.full((H, W), 255, np.uint8))
    im, d = new_sheet()                           # a sheet of text only: not a photograph
    for i in range(30):
        d.text((300, 500 + 80 * i), "The cited references continue here " * 2, fill=0,
               font=font(40))
    assert "blank page, or text only" in why_no_figure(np.asarray(im))


def test_an_indexed_page_without_a_figure_carries_the_reason(tmp_path):
    """Ingestion warns per page without a figure; the warning names a photograph as one, and
    leaves the query's advice ("use a drawing") out."""
    from core.embed import prepare_page as prepare_indexed
    from core.records import PageRecord

    y, x = np.mgrid[0:900, 0:1200]
    r = np.hypot(x - 600, y - 450)
    photo = np.where(r < 300, 200 - 120 * (r / 300) ** 2, 120 + 60 * x / 1200)
    photo = np.clip(photo + np.random.default_rng(1).normal(0, 8, photo.shape), 0, 255)
    Image.fromarray(photo.astype(np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray(np.full((H, W), 255, np.uint8)).save(tmp_path / "blank.png")
    got = {name: prepare_indexed(PageRecord("D1", tmp_path / f"{name}.png"), {})
           for name in ("photo", "blank")}
    assert got["photo"].boxes == [] and got["photo"].error is None
    assert got["photo"].no_figure == "its tones do not separate into lines and paper (a photograph?)"
    assert got["blank"].no_figure == "a blank page, or text only"
    im, d = new_sheet()
    d.rectangle((800, 800, 1600, 1900), outline=0, width=6)
    im.save(tmp_path / "drawing.png")
    drawn = prepare_indexed(PageRecord("D1", tmp_path / "drawing.png"), {})
    assert len(drawn.boxes) == 1 and drawn.no_figure is None


def test_page_must_be_two_dimensional():
    with pytest.raises(ValueError):
        find_figures(np.zeros((10, 10, 3), np.uint8))


# --- generated sheets --------------------------------------------------------------------------

def test_sheet_splits_into_figures_in_reading_order():
    im, d = new_sheet()
    vase(d, 300, 600, 1100, 1500)            # FIG. 1, top left
    vase(d, 1300, 600, 2200, 1500)           # FIG. 2, top right, 17 mm away
    vase(d, 700, 2000, 1800, 2700)           # FIG. 3, below
    labels = [label(d, 560, 1560, "FIG. 1"), label(d, 1600, 1560, "FIG. 2"),
              label(d, 1100, 2760, "FIG. 3")]
    boxes = find_figures(page(im), "drawing_sheet")
    assert len(boxes) == 3
    assert [b.x0 < 1200 for b in boxes[:2]] == [True, False] and boxes[2].y0 > 1800
    for b, (x0, y0, x1, y1) in zip(boxes, ((300, 600, 1100, 1500), (1300, 600, 2200, 1500),
                                           (700, 2000, 1800, 2700))):
        assert abs(b.x0 - x0) < 30 and abs(b.y0 - y0) < 30 and abs(b.x1 - x1) < 30 \
            and abs(b.y1 - y1) < 30
    for lx0, ly0, lx1, ly1 in labels:
        assert not any(inside(b, (lx0 + lx1) / 2, (ly0 + ly1) / 2) for b in boxes)
    assert all(b.y0 > 300 for b in boxes), "the header is no figure"


def test_header_and_labels_do_not_reach_the_render():
    im, d = new_sheet()
    vase(d, 700, 700, 1700, 2300)
    label(d, 1050, 2400, "FIG. 1")
    label(d, 1750, 1400, "12")               # a reference numeral beside the figure
    bare, d2 = new_sheet(header=False)
    vase(d2, 700, 700, 1700, 2300)
    want = render_figure(page(bare))
    for got in (render_figure(page(im)), prepare_page(page(im))[0][1]):
        assert_clean_render(got)
        assert np.abs(got.astype(int) - want).mean() < 0.5


def test_label_inside_the_box_is_erased_but_drawing_detail_is_kept():
    im, d = new_sheet(header=False)
    vase(d, 700, 700, 1700, 2300)
    for k in range(8):  # a row of small holes inside the outline: drawing, not text
        d.ellipse((820 + 100 * k, 2000, 870 + 100 * k, 2050), outline=0, width=4)
    label(d, 1050, 2400, "FIG. 1")
    box = FigureBox(600, 600, 1800, 2550)  # reaches around the label
    got = render_figure(page(im), box)
    bare, d2 = new_sheet(header=False)
    vase(d2, 700, 700, 1700, 2300)
    for k in range(8):
        d2.ellipse((820 + 100 * k, 2000, 870 + 100 * k, 2050), outline=0, width=4)
    assert np.abs(got.astype(int) - render_figure(page(bare))).mean() < 0.5


def test_broken_lines_details_and_hatching_stay_one_figure():
    im, d = new_sheet()
    for x in range(500, 1900, 60):  # a dashed ("broken line") outline
        d.line((x, 700, x + 35, 700), fill=0, width=4)
        d.line((x, 2100, x + 35, 2100), fill=0, width=4)
    for y in range(700, 2100, 60):
        d.line((500, y, 500, y + 35), fill=0, width=4)
        d.line((1900, y, 1900, y + 35), fill=0, width=4)
    vase(d, 800, 900, 1600, 1900)
    for k in range(20):  # hatching
        d.line((850 + 35 * k, 1500, 850 + 35 * k + 60, 1560), fill=0, width=2)
    d.ellipse((2000, 1300, 2090, 1390), outline=0, width=4)  # a separate small detail
    label(d, 1050, 2250, "FIG. 1")
    boxes = find_figures(page(im), "drawing_sheet")
    assert len(boxes) == 1
    b = boxes[0]
    assert b.x0 <= 505 and b.y0 <= 705 and b.x1 >= 2085 and b.y1 >= 2095


def test_one_pixel_strokes_stay_visible():
    im = Image.new("L", (W, H), 255)
    ImageDraw.Draw(im).rectangle((200, 500, 2300, 2800), outline=0, width=1)
    ImageDraw.Draw(im).line((200, 500, 2300, 2800), fill=0, width=1)
    img = render_figure(page(im))
    assert_clean_render(img)
    assert img.min() < 100
    assert (img < 160).mean() > 0.015


def test_gray_photo_with_noise_and_uneven_light():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:1800, 0:1400]
    paper = 170 + 60 * xx / 1400 + rng.normal(0, 8, (1800, 1400))  # darker on the left
    im = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    vase(ImageDraw.Draw(im), 300, 400, 1100, 1400, width=6)
    arr = np.asarray(im).copy()
    boxes = find_figures(arr)
    assert len(boxes) == 1
    b = boxes[0]
    assert abs(b.x0 - 300) < 40 and abs(b.y0 - 400) < 40 and abs(b.x1 - 1100) < 40
    assert_clean_render(render_figure(arr, b))
    noise = np.clip(paper, 0, 255).astype(np.uint8)
    assert find_figures(noise) == []


@pytest.mark.parametrize("sheet", ["D0799320/page02_sheet.png", "D0902399/page03_sheet.png",
                                   "D0844202/page09_sheet.png"])
def test_a_small_pasted_crop_keeps_its_faint_lines(shared_data, sheet):
    """A real figure copied off the screen at 45 dpi: its lines are now faint anti-aliased
    gray (these three once binarized to a blank page). It is still the whole drawing."""
    from core.imageio import read_page

    sheet_page = read_page(shared_data / "real_dev" / sheet).array
    b = find_figures(sheet_page, "drawing_sheet")[0]
    crop = Image.fromarray(sheet_page[b.y0:b.y1, b.x0:b.x1])
    small = page(crop.resize((round(crop.width * 0.15), round(crop.height * 0.15)),
                             Image.LANCZOS))
    boxes = find_figures(small)
    ink = small < 160
    covered = np.zeros_like(ink)
    for box in boxes:
        covered[box.y0:box.y1, box.x0:box.x1] = True
    assert len(boxes) >= 1 and (ink & covered).sum() >= 0.9 * ink.sum()


def test_plain_crop_without_header_or_labels():
    im = Image.new("L", (500, 400), 255)
    vase(ImageDraw.Draw(im), 60, 40, 440, 360, width=3)
    arr = np.asarray(im).copy()
    assert len(find_figures(arr)) == 1
    img = render_figure(arr)
    assert_clean_render(img)
    cols = np.flatnonzero((img < 200).any(0))
    assert cols[-1] - cols[0] > 0.75 * 224, "the figure fills the square"


def test_user_box_through_a_figure_keeps_what_it_holds():
    im, d = new_sheet(header=False)
    vase(d, 700, 700, 1700, 2300)
    img = render_figure(page(im), FigureBox(650, 650, 1250, 1500))
    assert_clean_render(img)


def test_prepare_page_equals_find_then_render():
    im, d = new_sheet()
    vase(d, 300, 600, 1100, 1500)
    vase(d, 1300, 600, 2200, 1500)
    label(d, 560, 1560, "FIG. 1")
    label(d, 1600, 1560, "FIG. 2")
    arr = page(im)
    prepared = prepare_page(arr, "drawing_sheet")
    boxes = find_figures(arr.copy(), "drawing_sheet")
    assert [b for b, _ in prepared] == boxes
    for (b, img), box in zip(prepared, boxes):
        assert np.array_equal(img, render_figure(arr.copy(), box))


def test_image_size_and_margin_follow_the_config():
    im, d = new_sheet(header=False)
    vase(d, 700, 700, 1700, 2300)
    cfg = DrawingConfig(image_size=96, margin=0.1)
    img = render_figure(page(im), None, cfg)
    assert_clean_render(img, 96)
    rows = np.flatnonzero((img < 250).any(1))
    assert rows[0] >= 8 and rows[-1] <= 87


# --- real pages --------------------------------------------------------------------------------

def manifest(shared_data):
    path = shared_data / "real_dev" / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_real_front_pages_give_the_figure_below_the_text(shared_data):
    fronts = [r for r in manifest(shared_data) if r["page_kind"] == "front_page"][::8]
    for row in fronts:
        arr = read_page(shared_data / "real_dev" / row["image"]).array
        boxes = find_figures(arr, "front_page")
        assert len(boxes) == 1, row["image"]
        b = boxes[0]
        assert b.y0 > 0.4 * arr.shape[0], f"{row['image']}: figure box {b} reaches the text"
        assert find_figures(arr) == boxes, "a front page is recognised without page_kind"
        assert_clean_render(render_figure(arr, b))


# Sheets checked by eye: (image, number of figures on it).
REAL_SHEETS = [
    ("D0906013/page01_sheet.png", 1), ("D0906013/page07_sheet.png", 2),
    ("D0866941/page02_sheet.png", 3), ("D0576693/page01_sheet.png", 3),
    ("D0854892/page02_sheet.png", 4), ("D0584939/page02_sheet.png", 3),
    ("D0675666/page03_sheet.png", 3), ("D0669945/page04_sheet.png", 4),
    ("D0916390/page03_sheet.png", 4), ("D0861272/page01_sheet.png", 2),
    ("D0902399/page02_sheet.png", 2), ("D0878885/page10_sheet.png", 1),
    ("D0910260/page07_sheet.png", 1), ("D0894460/page03_sheet.png", 1),
]


@pytest.mark.parametrize("image,count", REAL_SHEETS)
def test_real_sheets_split_into_their_figures(shared_data, image, count):
    arr = read_page(shared_data / "real_dev" / image).array
    prepared = prepare_page(arr, "drawing_sheet")
    assert len(prepared) == count
    header_bottom = 0.09 * arr.shape[0]  # "U.S. Patent ... Sheet n of N ..." ends above this
    for box, img in prepared:
        assert box.y0 > header_bottom
        assert_clean_render(img)


def test_a_bar_drawn_in_pieces_is_not_taken_for_a_line_of_text(shared_data):
    """D769,454 FIG. 7: a side view drawn as a broken bar with small circles on it chains up
    like a text line (pieces of label height in a row); none of its pieces is shaped like a
    letter, so the whole bar stays drawing, while the sheet's four "FIG. n" labels are erased."""
    arr = read_page(shared_data / "real_dev" / "D0769454/page03_sheet.png").array
    prepared = prepare_page(arr, "drawing_sheet")
    assert len(prepared) == 4
    fig7 = prepared[1][0]
    assert (fig7.x1 - fig7.x0) > 800 and (fig7.y1 - fig7.y0) < 120      # the whole bar
    for _, img in prepared:
        assert_clean_render(img)


@pytest.mark.parametrize("dpi", [150, 200])
def test_real_sheets_scanned_coarser_split_alike_without_a_dpi_tag(shared_data, dpi):
    """The same sheets at 150 or 200 dpi, with nothing saying so (a PNG export): the page's
    shape tells its resolution, so the millimetre thresholds still fit."""
    from PIL import Image

    wrong = []
    for image, count in REAL_SHEETS:
        page = Image.fromarray(read_page(shared_data / "real_dev" / image).array)
        small = page.resize((round(page.width * dpi / 300), round(page.height * dpi / 300)),
                            Image.LANCZOS)
        found = len(find_figures(np.asarray(small), "drawing_sheet"))
        if found != count:
            wrong.append((image, count, found))
    assert not wrong


def test_resolution_of_an_untagged_page_comes_from_its_shape():
    """Coarse whole-sheet scans are told by their shape; anything 2000 px or taller is not
    taken for one (crops of 300 dpi sheets are sheet-shaped too)."""
    from core.drawing import _resolution

    cfg = DrawingConfig()
    assert _resolution((3300, 2550), cfg, None) == 300           # a sheet at 300 dpi
    for dpi in (100, 150):                                       # letter sheets, coarser
        h, w = round(11 * dpi), round(8.5 * dpi)
        assert abs(_resolution((h, w), cfg, None) - dpi) < 0.07 * dpi
    assert _resolution((700, 500), cfg, None) == 300             # a crop of a figure
    # a 300 dpi sheet cropped to its drawings (DeepPatent2 ships them so), sheet-shaped:
    # taking it for a whole sheet at ~215 dpi would shrink every threshold
    assert _resolution((2517, 1855), cfg, None) == 300
    assert _resolution((2200, 1700), cfg, 96.0) == 96.0          # a tag wins


def test_real_sheets_never_keep_the_header(shared_data):
    sheets = [r for r in manifest(shared_data) if r["page_kind"] == "drawing_sheet"][::35]
    for row in sheets:
        arr = read_page(shared_data / "real_dev" / row["image"]).array
        boxes = find_figures(arr)
        assert boxes and all(b.y0 > 0.09 * arr.shape[0] for b in boxes), row["image"]


def deeppatent2_sheets(shared_data):
    folder = shared_data / "deeppatent2_sheets"
    for ocr in sorted((folder / "amazon_files").glob("*.json")):
        words = json.loads(ocr.read_text())
        yield folder / "images" / f"{ocr.stem}.png", words


def test_deeppatent2_sheets_have_one_figure_per_label(shared_data):
    for image, words in deeppatent2_sheets(shared_data):
        labels = [w for w in words if w["Type"] == "WORD"
                  and re.match(r"(?i)fig", w["DetectedText"])]
        assert len(find_figures(read_page(image).array)) == len(labels), image.name


def test_deeppatent2_labels_are_erased(shared_data):
    """Whitening the OCR'd "FIG. n" labels changes no render: they never reach the model."""
    for image, words in deeppatent2_sheets(shared_data):
        arr = read_page(image).array
        h, w = arr.shape
        clean = arr.copy()
        for word in words:
            if word["Type"] == "LINE" and re.match(r"(?i)fig", word["DetectedText"]):
                bb = word["Geometry"]["BoundingBox"]
                clean[int(bb["Top"] * h):int((bb["Top"] + bb["Height"]) * h) + 1,
                      int(bb["Left"] * w):int((bb["Left"] + bb["Width"]) * w) + 1] = 255
        for box in find_figures(arr):
            got = render_figure(arr, box).astype(int)
            assert np.abs(got - render_figure(clean, box)).mean() < 0.5, image.name


def test_redbook_sheets_hold_the_described_figures(shared_data):
    for xml in sorted((shared_data / "uspto_redbook").glob("*/*.XML")):
        text = xml.read_text()
        described = re.search(r"<description-of-drawings>(.*?)</description-of-drawings>",
                              text, re.S).group(1)
        numbers = {int(n) for n in re.findall(r"FIG\.?\s*(?:</b>)?\s*(\d+)", described)}
        tiffs = sorted(xml.parent.glob("*-D*.TIF"))
        counts = [len(find_figures(read_page(t).array)) for t in tiffs]
        assert counts[0] >= 1, "the front-page view"
        assert sum(counts[1:]) == len(numbers), (xml.name, counts, sorted(numbers))


def test_specks_of_dust_alone_are_a_blank_page():
    page = np.full((1100, 850), 255, np.uint8)
    for y, x in ((100, 120), (640, 500), (300, 700)):
        page[y:y + 3, x:x + 3] = 0                      # scanner dust, 0.25 mm at 300 dpi
    assert find_figures(page) == []
    page[500:700, 300:360] = 0                          # a drawing: the dust stays out of it
    (box,) = find_figures(page)
    assert (box.x0, box.y0, box.x1, box.y1) == (300, 500, 360, 700)


def continuation_page(rule: bool = True, header: bool = True) -> Image.Image:
    """A front page's continuation: "US D906,013 S / Page 2", the full-width rule, then the
    cited references in small type (rows of numbers, dates, names and classes)."""
    im, d = new_sheet(header=False)
    if header:
        d.text((1150, 215), "US D906,013 S", fill=0, font=font(55))
        d.text((1220, 285), "Page 2", fill=0, font=font(40))
    if rule:
        d.line((320, 345, 2210, 345), fill=0, width=4)
    for k, text in enumerate(("FIG. 5 is a rear side elevational view thereof;",
                              "FIG. 6 is a right plan view thereof; and,",
                              "FIG. 7 is a bottom plan view thereof.")):
        d.text((330, 400 + 48 * k), text, fill=0, font=font(40))
    d.text((550, 580), "1 Claim, 7 Drawing Sheets", fill=0, font=font(40))
    d.text((650, 700), "References Cited", fill=0, font=font(40))
    for k in range(40):
        y, col = 800 + 52 * (k % 20), k // 20
        d.text((360 + 1000 * col, y), f"D7{87 + k},858 S * 5/2017 Sotelo ........ D6/598",
               fill=0, font=font(34))
    return im


def test_a_continuation_of_the_front_page_has_no_figure(shared_data):
    """D822,408 page 2 (cited references, which the manifest calls a drawing sheet) and a
    generated one: the front page's rule under the header marks them, text is all they hold.
    Without the rule the same text, called a drawing sheet, is still taken for figures: the
    rule is what tells the page from a sheet."""
    arr = read_page(shared_data / "real_dev" / "D0822408/page01_sheet.png").array
    assert find_figures(arr, "drawing_sheet") == [] and find_figures(arr) == []
    assert prepare_page(arr, "drawing_sheet") == []
    made = page(continuation_page())
    assert find_figures(made, "drawing_sheet") == [] and find_figures(made) == []
    assert len(find_figures(page(continuation_page(rule=False)), "drawing_sheet")) > 0


def test_a_scanner_edge_line_is_not_a_front_page_rule():
    """A thin dark line across the top of a scan has no header text above it: the same page
    of small type under it is not taken for a front page's continuation."""
    im = continuation_page(rule=False, header=False)
    ImageDraw.Draw(im).line((0, 30, W, 30), fill=0, width=4)
    assert len(find_figures(page(im), "drawing_sheet")) > 0


def test_a_long_flat_design_at_the_top_of_a_sheet_is_not_a_rule():
    """A wide thin part drawn near the header (a trim strip in side view) is a figure: the
    rule of a front page is one straight line, the strip's outline is joined to its ends."""
    im, d = new_sheet()
    d.rectangle((330, 420, 2200, 436), outline=0, width=3)         # 1.4 mm tall, 16 cm long
    label(d, 1150, 520, "FIG. 1")
    vase(d, 900, 1200, 1600, 2600)
    label(d, 1150, 2700, "FIG. 2")
    boxes = find_figures(page(im), "drawing_sheet")
    assert len(boxes) == 2 and inside(boxes[0], 1200, 428) and inside(boxes[1], 1200, 1900)


def test_query_pages_of_printed_text_are_told_from_drawings(shared_data):
    """A specification page (generated text, 7-14 pt, one or two columns) is taken for printed
    text whenever figures are found on it; real sheets and front pages, read as query pages,
    never are (bench/bench_text_pages.py runs this over every real page)."""
    from core.drawing import prepare_query_page
    from core.synthetic import text_page

    flagged = 0
    for seed in range(12):
        figures, text = prepare_query_page(text_page(seed), dpi=300)
        assert text == bool(figures), seed
        flagged += text
    assert flagged >= 3                     # some pages do yield figures, all are caught
    for name in ("D0906013/page00_front.png", "D0906013/page03_sheet.png",
                 "D0879528/page04_sheet.png", "D0803216/page03_sheet.png"):
        arr = read_page(shared_data / "real_dev" / name).array
        figures, text = prepare_query_page(arr)
        assert figures and not text, name
        assert [b for b, _ in figures] == find_figures(arr)


def test_only_a_negative_is_turned_positive():
    """Light lines on a dark ground are inverted for the search; a crop of a dark shaded
    part (more ink than paper, but paper at an edge) and an ordinary sheet are not."""
    from core.drawing import positive

    negative = np.zeros((400, 300), np.uint8)
    negative[100:300, 80:84] = 255                   # a light line on a dark ground
    assert (positive(negative) == 255 - negative).all()
    shaded = np.full((400, 300), 255, np.uint8)
    shaded[:, 40:] = 0                               # dark shading, paper at the left edge
    assert positive(shaded) is shaded
    sheet = np.full((400, 300), 255, np.uint8)
    sheet[100:300, 80:84] = 0
    assert positive(sheet) is sheet
