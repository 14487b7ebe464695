"""The synthetic design-patent generator: deterministic, well-formed metadata, real-looking
line art with hidden lines removed, and corpora in exactly the real manifest format."""
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from core.synthetic import (ENV, FAMILIES, QUERY_INDEX_START, SHEET_SIZE, VIEWS, box, design,
                            generate_patent, merge, patent_id, render_sheets, render_view,
                            revolve, write_corpus, write_queries)

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SIZE = 256


@pytest.fixture(scope="module")
def patents():
    return [generate_patent(i, size=SIZE) for i in range(6)]


def test_same_seed_same_arrays_and_call_order_does_not_matter():
    a = generate_patent(7, seed=3, size=SIZE)
    generate_patent(8, seed=3, size=SIZE)
    b = generate_patent(7, seed=3, size=SIZE)
    assert (a.title, a.grant_date, a.figure_descriptions) == (b.title, b.grant_date,
                                                               b.figure_descriptions)
    for (va, ia), (vb, ib) in zip(a.views, b.views):
        assert va == vb and ia.tobytes() == ib.tobytes()


def test_different_seed_differs():
    a, b = generate_patent(7, seed=0, size=SIZE), generate_patent(7, seed=1, size=SIZE)
    assert any(not np.array_equal(x, y) for (_, x), (_, y) in zip(a.views, b.views))


def test_seven_standard_views(patents):
    assert VIEWS == ("perspective", "front", "rear", "left", "right", "top", "bottom")
    for p in patents:
        assert [v for v, _ in p.views] == list(VIEWS)
        assert all(img.shape == (SIZE, SIZE) and img.dtype == np.uint8 for _, img in p.views)


def test_families_map_to_real_locarno_subclasses():
    assert len(FAMILIES) >= 14
    mains = {f"{k:02d}" for k in range(1, 33)}
    titles = REAL / "locarno_main_classes.json"
    if titles.exists():
        mains = set(json.loads(titles.read_text())["classes"])
    for name, fam in FAMILIES.items():
        assert fam.name == name and fam.titles
        assert re.fullmatch(r"\d\d-\d\d", fam.locarno), name
        assert fam.locarno[:2] in mains, name
    assert FAMILIES["mug"].locarno == "07-01" and FAMILIES["chair"].locarno == "06-01"


def test_every_family_draws_line_art():
    for k, name in enumerate(FAMILIES):
        img = generate_patent(k, family=name, size=160, views=("front",)).views[0][1]
        ink = (img == 0).mean()
        assert 0.003 < ink < 0.3, (name, ink)


def test_ids_are_synthetic():
    assert patent_id(123) == "SYN-000123"
    for i in (0, 5, 99999, 1234567):
        pid = patent_id(i)
        assert pid.startswith("SYN-")
        assert not re.match(r"^(US\s*)?D?\d", pid)


def test_dates_in_range_filing_before_grant():
    for i in range(60):
        p = generate_patent(i, views=())
        assert date(2005, 1, 1) <= p.filing_date < p.grant_date <= date(2024, 12, 31)
        assert 365 <= (p.grant_date - p.filing_date).days <= 3 * 365
        assert p.grant_date.weekday() == 1   # Tuesday, as USPTO grants


def test_figure_descriptions_in_uspto_style(patents):
    p = patents[0]
    d = p.figure_descriptions
    assert len(d) == 7
    noun = p.title.lower()
    assert re.fullmatch(rf"FIG\. 1 is a front perspective view of an? {noun} showing "
                        r"(my|our) new design;", d[0])
    assert re.fullmatch(r"FIG\. 2 is a front elevation(al)? view thereof;", d[1])
    assert re.fullmatch(r"FIG\. 4 is a left side elevation(al)? view thereof;", d[3])
    assert d[5] == "FIG. 6 is a top plan view thereof; and"
    assert d[6] == "FIG. 7 is a bottom plan view thereof."


def test_line_art_is_black_on_white(patents):
    for p in patents:
        for view, img in p.views:
            assert set(np.unique(img)) <= {0, 255}
            ink = (img == 0).mean()
            assert 0.003 < ink < 0.3, (p.family, view, ink)
            assert not (img[:4] == 0).any() and not (img[:, -4:] == 0).any()   # margins


def test_views_of_one_design_differ(patents):
    for p in patents:
        imgs = dict(p.views)
        for view in ("front", "top", "right"):
            assert not np.array_equal(imgs["perspective"], imgs[view])
        distinct = {img.tobytes() for img in imgs.values()}
        assert len(distinct) >= 4, p.family


def test_designs_of_one_family_differ():
    for name in FAMILIES:
        a, b = design(1, family=name)[1].mesh, design(2, family=name)[1].mesh
        same = a.verts.shape == b.verts.shape and np.allclose(a.verts, b.verts)
        assert not same, name
    x = generate_patent(1, family="chair", size=SIZE, views=("front",)).views[0][1]
    y = generate_patent(2, family="chair", size=SIZE, views=("front",)).views[0][1]
    assert ((x == 0) != (y == 0)).mean() > 0.01


def test_hidden_lines_of_a_cube_are_removed():
    img = render_view(box(1, 1, 1), "perspective", 400)
    _, regions = ndimage.label(img == 255)
    assert regions == 4   # outside + the three visible faces; hidden edges would split them


def test_hidden_lines_behind_a_box_are_removed():
    scene = merge(box(1, 1, 1), box(0.5, 2, 0.5, center=(0, 0, -2)))
    size, margin = 400, 0.06
    img = render_view(scene, "front", size, margin=margin)
    s = size * (1 - 2 * margin) / 2          # the scene is 2 units tall
    col = round(size / 2 + 0.25 * s)          # a vertical edge of the back box
    rows_hidden = slice(round(size / 2 - 0.4 * s), round(size / 2 + 0.4 * s))
    rows_shown = slice(round(size / 2 - 0.95 * s), round(size / 2 - 0.6 * s))
    band = slice(col - 3, col + 4)
    assert not (img[rows_hidden, band] == 0).any()
    assert (img[rows_shown, band] == 0).any(axis=1).all()


def test_environment_is_drawn_in_broken_lines():
    floor = box(3, 0.02, 3, center=(0, -0.55, 0))
    solid = render_view(merge(box(1, 1, 1), floor), "perspective", 600)
    broken = render_view(merge(box(1, 1, 1), floor.with_flags(add=ENV)), "perspective", 600)
    eight = np.ones((3, 3))
    assert ndimage.label(solid == 0, eight)[1] <= 3
    assert ndimage.label(broken == 0, eight)[1] > 20   # the cube plus many dashes


def test_shading_strokes_on_curved_surfaces_only():
    can = revolve([(0, 0), (1, 0), (1, 2), (0, 2)], crease=[True] * 4)
    plain = render_view(can, "front", 400, shading=False)
    shaded = render_view(can, "front", 400, shading=True)
    assert (shaded == 0).sum() > (plain == 0).sum() * 1.1
    cube = box(1, 1, 1)
    assert np.array_equal(render_view(cube, "front", 400, shading=True),
                          render_view(cube, "front", 400, shading=False))


def test_sheet_has_header_and_figures(patents):
    p = patents[1]
    pages = render_sheets(p, scale=0.25)
    assert 2 <= len(pages) <= 7
    for page in pages:
        h, w = page.shape
        assert (w, h) == (round(SHEET_SIZE[0] * 0.25), round(SHEET_SIZE[1] * 0.25))
        assert set(np.unique(page)) <= {0, 255}
        ink_rows = (page == 0).any(axis=1)
        header = slice(round(0.055 * h), round(0.09 * h))
        assert ink_rows[header].any()                                 # header line
        assert not ink_rows[round(0.09 * h):round(0.11 * h)].any()   # gap above figures
        assert ink_rows[round(0.12 * h):].sum() > 0.1 * h            # figures and labels


def _real_keys():
    manifest = REAL / "real_dev" / "manifest.jsonl"
    if manifest.exists():
        with open(manifest) as f:
            return list(json.loads(f.readline()))
    return ["image", "patent_id", "page_kind", "sheet", "grant_date", "filing_date", "locarno",
            "locarno_edition", "title", "figure_descriptions", "metadata_origin"]


def test_corpus_manifest_matches_real_format(tmp_path):
    manifest = write_corpus(tmp_path, 2, seed=4, size=SIZE, scale=0.25)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert {r["patent_id"] for r in rows} == {"SYN-000000", "SYN-000001"}
    for r in rows:
        assert list(r) == _real_keys() + ["synthetic"] and r["synthetic"] is True
        assert r["page_kind"] == "drawing_sheet" and r["locarno_edition"] == "13"
        assert r["metadata_origin"] == "synthetic (core.synthetic, seed 4)"
        assert isinstance(r["sheet"], int) and r["figure_descriptions"]
        with Image.open(tmp_path / r["image"]) as im:
            assert im.mode == "1"


def test_corpus_of_single_figures(tmp_path):
    manifest = write_corpus(tmp_path, 1, size=128, sheets=False)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [r["sheet"] for r in rows] == list(range(1, 8))
    views = generate_patent(0, size=128).views
    for r, (_, img) in zip(rows, views):
        with Image.open(tmp_path / r["image"]) as im:
            assert np.array_equal(np.asarray(im.convert("L")), img)   # lossless 1-bit PNG


def test_queries_are_new_designs(tmp_path):
    manifest = write_queries(tmp_path, 3, size=128)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(rows) == 3
    for r in rows:
        assert int(r["patent_id"][4:]) >= QUERY_INDEX_START
        assert r["locarno"] == FAMILIES[r["family"]].locarno
        assert (tmp_path / r["image"]).exists()
    with pytest.raises(ValueError):
        write_corpus(tmp_path, 2, start=QUERY_INDEX_START - 1)


def test_cancelled_corpus_stops_at_once_without_a_manifest(tmp_path):
    import threading
    from concurrent.futures import CancelledError

    from core.synthetic import write_corpus

    cancel = threading.Event()
    cancel.set()
    for workers in (1, 2):
        with pytest.raises(CancelledError):
            write_corpus(tmp_path / f"w{workers}", 50, workers=workers, cancel=cancel)
        assert not (tmp_path / f"w{workers}" / "manifest.jsonl").exists()
