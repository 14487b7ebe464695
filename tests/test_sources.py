"""Ingestion sources: real manifest / Red Book / folder scans, and bad inputs made on the spot."""
import json
import os
import re
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.records import SourceScan
from core.sources import (PAGE_KINDS, SourceError, display_patent_id, display_title, image_id,
                          normalize_patent_id, parse_date, scan_folder, scan_manifest,
                          scan_redbook, scan_source, title_from_figures)

REDBOOK = {  # read by hand from the five XML files
    "D0908315": ("Women's garment top", date(2021, 1, 26), date(2017, 8, 8), "02-01", 4, 4),
    "D0913175": ("License plate fastener cap", date(2021, 3, 16), date(2018, 6, 23), "12-16", 3,
                 6),
    "D0919445": ("Dispenser bottle", date(2021, 5, 18), date(2019, 5, 3), "09-01", 3, 6),
    "D0925765": ("Process plate", date(2021, 7, 20), date(2020, 10, 23), "24-02", 4, 7),
    "D0939222": ("Tool handle", date(2021, 12, 28), date(2020, 7, 24), "04-99", 5, 7),
}


def check_consistent(scan: SourceScan) -> None:
    """Invariants every scan keeps, whatever its input."""
    assert all(isinstance(w, str) and isinstance(r, str) for w, r in scan.errors)
    assert all(isinstance(w, str) for w in scan.warnings)
    assert {p.patent_id for p in scan.pages} == set(scan.patents)
    assert all(p.path.is_absolute() and p.page_kind in (None, *PAGE_KINDS) for p in scan.pages)
    assert all(pid == rec.patent_id for pid, rec in scan.patents.items())


def write_png(path: Path, pages: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [Image.fromarray(np.full((40, 30), 255 - 60 * i, np.uint8)) for i in range(pages)]
    frames[0].save(path, save_all=pages > 1, append_images=frames[1:])
    return path


def row(image="a.png", pid="D0900001", **fields) -> dict:
    base = {"image": image, "patent_id": pid, "page_kind": "drawing_sheet", "sheet": 1,
            "grant_date": "2021-01-05", "filing_date": "2020-01-02", "locarno": "06-01",
            "locarno_edition": "13", "title": "CHAIR", "figure_descriptions": [],
            "metadata_origin": "test"}
    return {**base, **fields}


def write_manifest(folder: Path, rows, name="manifest.jsonl") -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_manifest_folder_says_the_drawings_its_manifest_does_not_name(tmp_path):
    """A folder holding manifest.jsonl is read as that manifest: the images in it that no row
    names were left out without a word (the same files beside a manifest of another name,
    added with the folder, are added as undated images)."""
    for name in ("a.png", "b.png", "c.png", "sub/d.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    manifest = write_manifest(tmp_path, [row("a.png"), row("./c.png", "D0900002",
                                                           grant_date="2021-02-30")])
    scan = scan_source(tmp_path)
    assert [p.path.name for p in scan.pages] == ["a.png"] and len(scan.errors) == 1
    assert scan.warnings == [f"2 drawing file(s) in {tmp_path} are not named by its "
                             "manifest.jsonl and were not added (first: b.png, "
                             f"{Path('sub', 'd.png')}): name them in the manifest, or add the "
                             "files themselves"]
    assert scan_source(manifest).warnings == []      # the manifest chosen: its rows alone


def test_names_composed_or_decomposed_are_one_name(tmp_path):
    """A Mac names files decomposed ("e" + combining accent): a manifest typed composed was
    told "file not found" for a file ls shows with that very name; and a title given both
    ways was a disagreement between rows that look the same."""
    import unicodedata

    nfd = [unicodedata.normalize("NFD", f"crème-{n}.png") for n in (1, 2)]
    for name in nfd:
        (tmp_path / name).write_bytes(b"x")
    title = "Crème brûlée dish"
    scan = scan_manifest(write_manifest(tmp_path, [
        row("crème-1.png", title=unicodedata.normalize("NFD", title)),
        row("crème-2.png", title=title, sheet=2)]))
    assert not scan.errors and [p.path.name for p in scan.pages] == nfd
    assert scan.patents["D0900001"].title == title and not scan.warnings
    # a folder named composed holding a file named decomposed, typed all composed, and with
    # a Windows backslash: found, and the folder's manifest says no file is left unnamed
    (tmp_path / "Crème").mkdir()
    (tmp_path / "Crème" / unicodedata.normalize("NFD", "é.png")).write_bytes(b"x")
    (tmp_path / "manifest.jsonl").unlink()
    write_manifest(tmp_path, [row("crème-1.png"), row("crème-2.png", sheet=2),
                              row("Crème\\é.png", sheet=3)])
    scan = scan_source(tmp_path)
    assert not scan.errors and len(scan.pages) == 3 and not scan.warnings


def grant_xml(number="D0900001", grant="20210105", filing="20200102", locarno="0601",
              title="Chair", sheets=2, root="us-patent-grant", appl_type="design",
              priority=(), related=()) -> str:
    """``related``: (relation, parent application number, its filing date, its patent)."""
    stem = f"US{number}-{grant}"
    figures = "".join(f'<figure num="{i:05d}"><img file="{stem}-D{i:05d}.TIF"/></figure>'
                      for i in range(sheets + 1))
    claims = "".join(f"<priority-claim><country>CN</country><doc-number>{n}</doc-number>"
                     f"<date>{d}</date></priority-claim>" for n, d in priority)
    parents = "".join(
        f"<{rel}><relation><parent-doc><document-id><country>US</country><doc-number>{n}"
        f"</doc-number><date>{d}</date></document-id>"
        + (f"<parent-grant-document><document-id><country>US</country><doc-number>{g}"
           "</doc-number></document-id></parent-grant-document>" if g else "")
        + f"</parent-doc></relation></{rel}>" for rel, n, d, g in related)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE {root} SYSTEM "us-patent-grant-v45-2014-04-03.dtd" [ ]>\n'
        f'<{root} lang="EN" file="{stem}.XML">\n<us-bibliographic-data-grant>\n'
        f"<publication-reference><document-id><country>US</country><doc-number>{number}"
        f"</doc-number><kind>S1</kind><date>{grant}</date></document-id></publication-reference>\n"
        f'<application-reference appl-type="{appl_type}"><document-id><country>US</country>'
        f"<doc-number>29700000</doc-number><date>{filing}</date></document-id>"
        "</application-reference>\n"
        + (f"<us-related-documents>{parents}</us-related-documents>\n" if parents else "")
        + (f"<priority-claims>{claims}</priority-claims>\n" if claims else "")
        + f"<classification-locarno><edition>13</edition><main-classification>{locarno}"
        f"</main-classification></classification-locarno>\n"
        f'<invention-title id="t">{title}</invention-title>\n'
        "</us-bibliographic-data-grant>\n"
        f'<drawings id="DRAWINGS">{figures}</drawings>\n'
        '<description><description-of-drawings><p><figref>FIG. 1</figref> is a front view;'
        " and,</p><p>The broken lines form no part of the claimed design.</p>"
        "</description-of-drawings></description>\n"
        f"</{root}>\n")


def make_grant(folder: Path, number="D0900001", grant="20210105", **kw) -> Path:
    """A grant folder: XML plus (empty) TIFF files named as the XML lists them."""
    stem = f"US{number}-{grant}"
    sub = folder / stem
    sub.mkdir(parents=True, exist_ok=True)
    for i in range(kw.get("sheets", 2) + 1):
        (sub / f"{stem}-D{i:05d}.TIF").write_bytes(b"")
    (sub / f"{stem}.XML").write_text(grant_xml(number, grant, **kw), encoding="utf-8")
    return sub


# -- ids, dates, titles ----------------------------------------------------------------------

@pytest.mark.parametrize("text, pid", [
    ("D906013", "D0906013"), ("US D906,013 S", "D0906013"), ("USD0906013", "D0906013"),
    ("D0906013", "D0906013"), ("USD0906013-20201229", "D0906013"), ("d906013s", "D0906013"),
    ("US 7,628,675 B2", "07628675"), ("7628675", "07628675"), ("10000000", "10000000"),
    ("PP29,000", "PP029000"), ("RE46000E", "RE046000"), ("SYN-000123", "SYN-000123"),
    ("IMG-chairs-a-1f2e3d4c", "IMG-chairs-a-1f2e3d4c"),
    ("", None), (None, None), ("D0", None), ("D12345678", None), ("US 2005/0005340", None),
    ("1234567890", None), ("two words", None), (906013, None),
])
def test_normalize_patent_id(text, pid):
    assert normalize_patent_id(text) == pid


def test_display_patent_id():
    assert display_patent_id("D0906013") == "US D906,013 S"
    assert display_patent_id("07628675") == "US 7,628,675"
    assert display_patent_id("PP029000") == "US PP29,000"
    assert display_patent_id("SYN-000123") == "SYN-000123"
    assert normalize_patent_id(display_patent_id("D0906013")) == "D0906013"


def test_parse_date():
    assert parse_date("2020-12-29", "f") == parse_date("20201229", "f") == date(2020, 12, 29)
    assert parse_date(None, "f") is None and parse_date(" ", "f") is None
    assert parse_date(20201229, "f") == date(2020, 12, 29)     # (a JSON number, as written)
    for bad in ("2020-13-01", "2020-02-30", "29/12/2020", "2020-1229x", 2020122, 20201229.0,
                True):
        with pytest.raises(ValueError, match="grant_date"):
            parse_date(bad, "grant_date")


@pytest.mark.parametrize("raw, shown", [
    ("PREGNANCY PILLOW", "Pregnancy pillow"), ("ANTI - FATIGUE MAT", "Anti-fatigue mat"),
    ("SHARK BLANKET A47G", "Shark blanket"), ("CAR AIR PURIFIER WITH USB PORTS",
                                             "Car air purifier with USB ports"),
    ("Women's garment top", "Women's garment top"), ("  Tool   handle ", "Tool handle"),
    (None, None), ("", None),
])
def test_display_title(raw, shown):
    assert display_title(raw) == shown


@pytest.mark.parametrize("descriptions, title", [
    (["FIG. 1 is a perspective view of a napkin holder showing our new design"], "Napkin holder"),
    (["FIG. 1 is a front perspective view of a Footwear Upper and Midsole showing my new design"],
     "Footwear upper and midsole"),
    (["FIG. 1 is a perspective view thereof", "FIG. 2 is a top view of the selfie massager of "
      "FIG. 1"], "Selfie massager"),
    (["FIG. 1 is a front elevational view thereof", "FIG. 2 is a rear view"], None),
    (["FIG. 1 is a view of " + "very " * 12 + "long text"], None),
    ([], None),
])
def test_title_from_figures(descriptions, title):
    assert title_from_figures(descriptions) == title


# -- real data -------------------------------------------------------------------------------

@pytest.mark.realdata
def test_real_dev_manifest(shared_data):
    manifest = shared_data / "real_dev" / "manifest.jsonl"
    scan = scan_source(shared_data / "real_dev")
    check_consistent(scan)
    assert scan.kind == "manifest" and not scan.errors and not scan.warnings
    assert len(scan.patents) == 104 and len(scan.pages) == 804
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert Counter(p.patent_id for p in scan.pages) == Counter(r["patent_id"] for r in rows)
    assert Counter(p.page_kind for p in scan.pages) == {"drawing_sheet": 700, "front_page": 104}
    assert {p.path for p in scan.pages} == {(manifest.parent / r["image"]).resolve() for r in rows}
    pillow = scan.patents["D0906013"]
    assert pillow.title == "PREGNANCY PILLOW"
    assert pillow.extra["title_display"] == "Pregnancy pillow"
    assert (pillow.grant_date, pillow.filing_date) == (date(2020, 12, 29), date(2019, 7, 31))
    assert (pillow.locarno, pillow.locarno_edition) == ("06-09", "12")
    assert len(pillow.figure_descriptions) == 7
    assert sum(p.title is None for p in scan.patents.values()) == 9
    # OCR lost those titles; the article named by the figure descriptions stands in for display
    untitled = {pid: p.extra["title_display"] for pid, p in scan.patents.items() if not p.title}
    assert untitled["D0870062"] == "Wireless sports headband"
    assert untitled["D0528368"] == "Ice chest with wheels"
    assert untitled["D0675666"] is None    # its descriptions start "FIG. 2 is a front ... thereof"
    assert sum(t is not None for t in untitled.values()) == 8


@pytest.mark.realdata
def test_redbook_grants(shared_data):
    scan = scan_source(shared_data / "uspto_redbook")
    check_consistent(scan)
    assert scan.kind == "redbook" and not scan.errors and not scan.warnings
    assert set(scan.patents) == set(REDBOOK)
    for pid, (title, grant, filing, loc, sheets, figures) in REDBOOK.items():
        rec = scan.patents[pid]
        assert (rec.title, rec.grant_date, rec.filing_date) == (title, grant, filing)
        # (two are divisionals: the earliest parent's filing date is the date they claim)
        claimed = {"D0908315": date(2014, 5, 21), "D0925765": date(2016, 5, 13)}.get(pid)
        assert (rec.locarno, rec.locarno_edition, rec.priority_date) == (loc, "13", claimed)
        assert len(rec.figure_descriptions) == figures
        assert rec.figure_descriptions[0].startswith("FIG. 1 is ")
        pages = [p for p in scan.pages if p.patent_id == pid]
        assert [(p.page_kind, p.sheet) for p in pages] == \
            [("front_view", None)] + [("drawing_sheet", n) for n in range(1, sheets + 1)]
        assert all(p.path.name.startswith(f"US{pid}-") for p in pages)
    top = scan.patents["D0908315"]
    assert top.figure_descriptions[2] == ("FIG. 3 is a front view of the women's garment top "
                                          "laid flat according to a second embodiment")
    assert top.extra["drawing_notes"] == ["The broken lines in the drawing disclosure depict "
                                          "stitching that forms part of the claimed design"]
    assert top.extra["application_number"] == "29613258" and top.extra["kind"] == "S1"
    assert top.extra["cited_patents"][:2] == ["D0260445", "07628675"]
    assert "US 2005/0005340 A1" in top.extra["cited_other"]
    assert "AU 201614442 C1" in scan.patents["D0925765"].extra["cited_other"]


@pytest.mark.realdata
def test_redbook_one_grant_folder_or_file(shared_data):
    folder = shared_data / "uspto_redbook" / "USD0919445-20210518"
    assert set(scan_source(folder).patents) == {"D0919445"}
    one = scan_source(folder / "USD0919445-20210518.XML")
    assert set(one.patents) == {"D0919445"} and len(one.pages) == 4


@pytest.mark.realdata
def test_weekly_file_of_concatenated_grants(shared_data, tmp_path):
    """Real grants concatenated into one ipg-style file, drawings in per-grant folders."""
    week = tmp_path / "I20210101"
    xml = b""
    for grant in sorted((shared_data / "uspto_redbook").iterdir()):
        xml += (grant / f"{grant.name}.XML").read_bytes()
        (week / grant.name).mkdir(parents=True)
        for tif in grant.glob("*.TIF"):
            os.symlink(tif, week / grant.name / tif.name)
    (week / "ipg210101.xml").write_bytes(xml)
    scan = scan_source(week)
    check_consistent(scan)
    assert scan.kind == "redbook" and not scan.errors
    assert set(scan.patents) == set(REDBOOK) and len(scan.pages) == 24


@pytest.mark.realdata
def test_folder_of_images(shared_data):
    scan = scan_source(shared_data / "deeppatent2_sheets" / "images")
    check_consistent(scan)
    assert scan.kind == "folder" and not scan.errors and not scan.warnings
    # DeepPatent2 keeps the USPTO file names: patent, grant date and sheet come from them
    names = sorted(p.name for p in (shared_data / "deeppatent2_sheets" / "images").iterdir())
    assert len(scan.pages) == len(names) == 15
    assert sorted(scan.patents) == sorted({"D" + n[3:10] for n in names})
    assert all(r.grant_date == date(2020, 1, 7) for r in scan.patents.values())
    assert sorted((p.patent_id, p.sheet, p.page_kind) for p in scan.pages) == sorted(
        ("D" + n[3:10], int(n[21:26]), "drawing_sheet") for n in names)
    assert set(scan_folder(shared_data / "deeppatent2_sheets" / "images").patents) == \
        set(scan.patents)


def test_folder_groups_uspto_named_drawings_and_keeps_other_files_apart(tmp_path):
    from PIL import Image

    for name in ("USD0900001-20200107-D00000.png", "USD0900001-20200107-D00002.png",
                 "usd0900002-20211231-D00001.tif", "USD0900003-20201399-D00001.png",
                 "holiday.png"):
        Image.new("L", (40, 60), 255).save(tmp_path / name)
    scan = scan_folder(tmp_path)
    check_consistent(scan)
    dated = {pid: r.grant_date for pid, r in scan.patents.items() if r.grant_date}
    assert dated == {"D0900001": date(2020, 1, 7), "D0900002": date(2021, 12, 31)}
    assert sorted((p.patent_id, p.page_kind, p.sheet or 0) for p in scan.pages
                  if p.patent_id in dated) == [("D0900001", "drawing_sheet", 2),
                                               ("D0900001", "front_view", 0),
                                               ("D0900002", "drawing_sheet", 1)]
    # an impossible date in the name (month 13) and any other name: an undated item each
    assert len(scan.patents) == 4 and len(scan.pages) == 5
    assert len(scan.undated) == 2 and not scan.warnings     # (said by the run that adds them)


@pytest.mark.realdata
def test_same_patent_same_id_across_sources(shared_data, tmp_path):
    grant = shared_data / "uspto_redbook" / "USD0908315-20210126"
    tif = grant / "USD0908315-20210126-D00001.TIF"
    rows = [row(str(tif), "US D908,315 S", grant_date="20210126", filing_date="2017-08-08"),
            row(str(grant / "USD0908315-20210126-D00002.TIF"), "USD0908315-20210126", sheet=2,
                grant_date="20210126", filing_date="2017-08-08")]
    manifest = scan_manifest(write_manifest(tmp_path, rows), allow_absolute=True)
    assert set(manifest.patents) == set(scan_redbook(grant).patents) == {"D0908315"}
    assert len(manifest.pages) == 2 and not manifest.errors


# -- manifests: bad rows ---------------------------------------------------------------------

def test_manifest_bad_rows_are_errors_and_the_scan_goes_on(tmp_path):
    (tmp_path / "outside.png").write_bytes(b"x")
    tmp_path = tmp_path / "m"
    tmp_path.mkdir()
    for name in ("a.png", "b.png", "c.png", "d.png", "e.png", "f.png"):
        (tmp_path / name).write_bytes(b"x")
    os.symlink(tmp_path.parent / "outside.png", tmp_path / "link.png")
    rows = [
        row("a.png"),                                            # line 1: good
        '{"image": "b.png", "patent_id": ',                      # 2: malformed JSON
        row("../outside.png", "D0900002"),                       # 3: leaves the folder
        row(str(tmp_path / "b.png"), "D0900003"),                # 4: absolute path
        row("link.png", "D0900004"),                             # 5: symlink escape
        row("missing.png", "D0900005"),                          # 6: missing file
        row("b.png", "D0900006", grant_date="2021-02-30"),       # 7: bad date
        row("c.png", "D0900007", filing_date="2021-06-01"),      # 8: filing after grant
        row("d.png", "D0900008", grant_date=None),               # 9: undated, kept
        "[1, 2]",                                                # 10: not an object
        row("e.png", "D0900009", page_kind="cover"),             # 11: bad page kind
        row("e.png", "not an id!"),                              # 12: bad patent id
        row("e.png", "D0900010", locarno="77-01", sheet=2),      # 13: bad Locarno: warning
        row("a.png"),                                            # 14: duplicate page
        "",                                                      # blank lines are skipped
        row("f.png", "D0900011", grant_date="2099-01-06"),       # 16: granted in the future
        row("f.png", "D0900012"),                                # 17: good (16 was skipped)
    ]
    scan = scan_manifest(write_manifest(tmp_path, rows))
    check_consistent(scan)
    errors = dict(scan.errors)
    bad_lines = (2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14, 16)
    assert set(errors) == {f"manifest.jsonl line {n}" for n in bad_lines}
    assert "invalid JSON" in errors["manifest.jsonl line 2"]
    assert "'..'" in errors["manifest.jsonl line 3"]
    assert "absolute path" in errors["manifest.jsonl line 4"]
    assert "outside" in errors["manifest.jsonl line 5"]
    assert "file not found" in errors["manifest.jsonl line 6"]
    assert "grant_date: '2021-02-30' is not a calendar date" in errors["manifest.jsonl line 7"]
    assert "after grant_date" in errors["manifest.jsonl line 8"]
    assert "page_kind" in errors["manifest.jsonl line 11"]
    assert "patent_id" in errors["manifest.jsonl line 12"]
    assert "duplicate page" in errors["manifest.jsonl line 14"]
    assert "in the future" in errors["manifest.jsonl line 16"]
    assert set(scan.patents) == {"D0900001", "D0900008", "D0900010", "D0900012"}
    assert scan.patents["D0900008"].grant_date is None
    assert scan.patents["D0900010"].locarno is None
    assert scan.undated == ["D0900008"]
    assert any("line 13" in w and "locarno" in w for w in scan.warnings)


def test_a_manifest_priority_date_after_the_filing_date_is_said_and_ignored(tmp_path):
    """A claimed application is filed before the one that claims it: a later priority_date
    is a typo, and one after the grant would move the eval cutoff past the grant."""
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(b"x")
    scan = scan_manifest(write_manifest(tmp_path, [
        row("a.png", "D0900001", priority_date="2021-01-01"),
        row("b.png", "D0900002", filing_date=None, priority_date="2021-03-01"),
        row("c.png", "D0900003", priority_date="2019-05-01")]))
    assert not scan.errors
    assert [scan.patents[f"D090000{i}"].priority_date for i in (1, 2, 3)] == [
        None, None, date(2019, 5, 1)]
    late = [w for w in scan.warnings if "priority_date" in w]
    assert len(late) == 2
    assert late[0] == ("manifest.jsonl line 1: D0900001: priority_date 2021-01-01 is after "
                       "filing_date 2020-01-02: not a date it can claim; ignored")
    assert "D0900002: priority_date 2021-03-01 is after grant_date 2021-01-05" in late[1]


def test_manifest_allow_absolute(tmp_path):
    inner = tmp_path / "m"
    inner.mkdir()
    (tmp_path / "outside.png").write_bytes(b"x")
    rows = [row("../outside.png"), row(str(tmp_path / "outside.png"), page_index=1)]
    path = write_manifest(inner, rows)
    assert len(scan_manifest(path).errors) == 2
    scan = scan_manifest(path, allow_absolute=True)
    assert not scan.errors and [p.page_index for p in scan.pages] == [0, 1]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_among_the_drawings_is_passed_over_not_waited_on(tmp_path):
    """A FIFO named pipe.png in a folder of drawings hung `index add` for good (opening it
    waits for a writer), Cancel and Quit included; it is no drawing and is passed over."""
    import subprocess
    import sys

    Image.new("L", (40, 30), 255).save(tmp_path / "drawing.png")
    os.mkfifo(tmp_path / "pipe.png")
    code = ("import sys; from core.sources import scan_folder; s = scan_folder(sys.argv[1]); "
            "print(len(s.pages), [p.path.name for p in s.pages], len(s.errors))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.split() == ["1", "['drawing.png']", "0"], proc.stderr


def test_manifest_says_a_multi_page_file_whose_rows_give_no_page_index(tmp_path):
    """A row without page_index is the file's first page: where every row naming a multi-page
    TIFF lacks one, its other pages would go unadded without a word, so the scan says so."""
    pages = [Image.new("L", (40, 30), 255) for _ in range(3)]
    for name in ("three.tif", "covered.tif"):
        pages[0].save(tmp_path / name, save_all=True, append_images=pages[1:])
    Image.new("L", (40, 30), 255).save(tmp_path / "one.tif")
    rows = [row("three.tif"), row("one.tif", pid="D0900002"),
            row("covered.tif", pid="D0900003"), row("covered.tif", pid="D0900003", sheet=2,
                                                    page_index=1)]
    scan = scan_manifest(write_manifest(tmp_path, rows))
    assert not scan.errors and len(scan.pages) == 4
    assert scan.warnings == [
        "1 multi-page file(s) are named by rows without a page_index, so only their first page "
        "was added (first: three.tif (3 pages)): give a row per page with page_index 0, 1, "
        "..., or add the files themselves, which adds every page"]
    rows[0]["page_index"] = 0                   # said: the first page is the one meant
    assert scan_manifest(write_manifest(tmp_path, rows)).warnings == []


def test_manifest_filing_after_grant_skips_the_whole_patent(tmp_path):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"x")
    rows = [row("a.png", filing_date="2022-01-01"),
            row("b.png", filing_date="2022-01-01", sheet=2)]
    scan = scan_manifest(write_manifest(tmp_path, rows))
    assert not scan.patents and not scan.pages and len(scan.errors) == 1


def test_manifest_rows_that_disagree_keep_the_first_and_empty_fields_are_filled(tmp_path):
    """A field the first row leaves empty is filled by a later row (it was reported as a
    difference and the patent kept undated: out of every prior-art search with a cutoff);
    a value that differs from the one kept is reported with where that came from."""
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(b"x")
    rows = [row("a.png", title=None, grant_date=None, filing_date=None, locarno=None),
            row("b.png", sheet=2, title="Ice chest", locarno="07-01"),
            row("c.png", sheet=3, title="OTHER", filing_date="2019-05-03", locarno=None)]
    scan = scan_manifest(write_manifest(tmp_path, rows))
    patent = scan.patents["D0900001"]
    assert (patent.title, patent.extra["title_display"], patent.locarno) == (
        "Ice chest", "Ice chest", "07-01")
    assert patent.grant_date == date(2021, 1, 5) and patent.filing_date == date(2020, 1, 2)
    assert scan.warnings == ["manifest.jsonl line 3: D0900001: title differs from "
                             "manifest.jsonl line 2; kept the first",
                             "manifest.jsonl line 3: D0900001: filing_date differs from "
                             "manifest.jsonl line 2; kept the first"]


def test_manifest_rows_fill_blank_titles_keep_a_class_with_its_edition_and_name_the_row(
        tmp_path):
    """A title of spaces is empty too; a class is kept with its own row's edition (06-09
    with another row's edition 13 was a pair no row gave); an unreadable class that a later
    row fills is not "left out"; a date problem names the row the date came from."""
    for name in "abcdef":
        (tmp_path / f"{name}.png").write_bytes(b"x")
    rows = [row("a.png", title="  ", locarno="99-99", locarno_edition=None),
            row("b.png", sheet=2, title="Pregnancy pillow", locarno="06-09",
                locarno_edition=None),
            row("c.png", sheet=3, locarno="06-01", locarno_edition="13"),
            row("d.png", "D0900002", filing_date=None),
            row("e.png", "D0900002", sheet=2, filing_date="2022-03-01"),
            row("f.png", "D0900003", title=" ", locarno_edition=None),
            row("f.png", "D0900003", title=" ", page_index=1)]
    scan = scan_manifest(write_manifest(tmp_path, rows))
    patent = scan.patents["D0900001"]
    assert (patent.title, patent.locarno, patent.locarno_edition) == (
        "Pregnancy pillow", "06-09", None)
    other = scan.patents["D0900003"]    # the same class's edition on a later row: kept; a
    assert (other.title, other.locarno_edition) == (None, "13")    # title of spaces: none
    assert not any("left out" in w for w in scan.warnings)
    assert any("line 3: D0900001: locarno differs from manifest.jsonl line 2" in w
               for w in scan.warnings)
    (where, why), = scan.errors
    assert where == "manifest.jsonl line 5" and why.startswith("D0900002: ")
    assert why.endswith("(grant_date from manifest.jsonl line 4); patent skipped")


def test_a_manifest_saved_as_utf16_is_read_or_refused_in_one_line(tmp_path):
    """Windows PowerShell 5 saves `>` output as UTF-16: every row was "invalid JSON"."""
    (tmp_path / "a.png").write_bytes(b"x")
    text = "\r\n".join(json.dumps(r) if isinstance(r, dict) else r for r in [row("a.png")])
    (tmp_path / "manifest.jsonl").write_bytes(text.encode("utf-16"))
    scan = scan_manifest(tmp_path / "manifest.jsonl")
    assert set(scan.patents) == {"D0900001"} and not scan.errors
    (tmp_path / "manifest.jsonl").write_bytes(text.encode("utf-16-le"))   # without its mark
    with pytest.raises(SourceError, match="NUL bytes .UTF-16 text without its byte-order mark"):
        scan_manifest(tmp_path / "manifest.jsonl")


def test_a_json_array_saved_as_jsonl_and_a_date_written_as_a_number_are_read(tmp_path):
    """A pretty-printed JSON array in a .jsonl file gave one "invalid JSON" per line (44 for
    two rows); a grant date written as the number 20201229 was refused as "expected
    YYYYMMDD"."""
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"x")
    rows = [row("a.png"), {**row("b.png", "D0900002"), "grant_date": 20201229}]
    (tmp_path / "manifest.jsonl").write_text("\ufeff" + json.dumps(rows, indent=1),
                                             encoding="utf-8")
    scan = scan_manifest(tmp_path / "manifest.jsonl")
    assert not scan.errors and set(scan.patents) == {"D0900001", "D0900002"}
    assert str(scan.patents["D0900002"].grant_date) == "2020-12-29"


def test_manifest_unicode_names_backslashes_and_json_array(tmp_path):
    write_png(tmp_path / "Stühle" / "椅子 1.png")
    rows = [row("Stühle\\椅子 1.png", "US D900,001 S", locarno="LOC (13) Cl. 06-01")]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    scan = scan_source(path)
    assert scan.kind == "manifest" and not scan.errors
    assert scan.pages[0].path == (tmp_path / "Stühle" / "椅子 1.png").resolve()
    assert scan.patents["D0900001"].locarno == "06-01"


def test_manifest_that_holds_nothing(tmp_path):
    with pytest.raises(SourceError, match="no rows"):
        scan_manifest(write_manifest(tmp_path, ["", "  "]))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SourceError, match="not valid JSON"):
        scan_source(tmp_path / "bad.json")


# -- Red Book: bad documents -----------------------------------------------------------------

def test_redbook_generated_grant(tmp_path):
    make_grant(tmp_path, priority=[("2019", "20190301"), ("2018", "20181109")])
    scan = scan_source(tmp_path)
    check_consistent(scan)
    rec = scan.patents["D0900001"]
    assert (rec.title, rec.locarno, rec.priority_date) == ("Chair", "06-01", date(2018, 11, 9))
    assert rec.figure_descriptions == ["FIG. 1 is a front view"]
    assert [c["doc_number"] for c in rec.extra["priority_claims"]] == ["2018", "2019"]
    assert [p.page_kind for p in scan.pages] == ["front_view", "drawing_sheet", "drawing_sheet"]


def test_redbook_divisional_claims_its_parents_filing_date(tmp_path):
    """A divisional or continuation is judged against the prior art before its earliest
    parent's filing date (a chain of divisions lists each link); eval's cutoff reads it."""
    from core.evaluation import effective_filing_date

    make_grant(tmp_path, "D0900001", filing="20200102", related=[
        ("division", "29657941", "20180726", "D903143"),
        ("division", "29564484", "20160513", "D825774")])
    make_grant(tmp_path, "D0900002", grant="20210112", filing="20200301",
               related=[("continuation", "29600000", "20190201", None)],
               priority=[("2018", "20180901")])
    make_grant(tmp_path, "D0900003", grant="20210119", filing="20200401",
               related=[("division", "29600001", "2019-13-45", None)])
    scan = scan_source(tmp_path)
    one, two, three = (scan.patents[f"D090000{i}"] for i in (1, 2, 3))
    assert one.priority_date == date(2016, 5, 13)
    assert effective_filing_date(one.filing_date, one.priority_date) == date(2016, 5, 13)
    assert [(p["relation"], p["date"], p["patent"]) for p in one.extra["parent_applications"]] \
        == [("division", "2016-05-13", "D0825774"), ("division", "2018-07-26", "D0903143")]
    assert two.priority_date == date(2018, 9, 1)        # the foreign claim is earlier still
    assert two.extra["parent_applications"][0]["doc_number"] == "29600000"
    assert three.priority_date is None and three.extra["parent_applications"] == []
    assert any("D0900003" in w and "parent application ignored" in w for w in scan.warnings)


def test_redbook_bad_documents_are_per_file_errors(tmp_path):
    make_grant(tmp_path, "D0900001")
    bad = {
        "application.xml": grant_xml("D0900002", root="us-patent-application"),
        "truncated.xml": grant_xml("D0900003")[:700],
        "undated.xml": grant_xml("D0900004", grant=""),
        "unfiled.xml": grant_xml("D0900005", filing=""),
        "baddate.xml": grant_xml("D0900006", grant="20211345"),
        "backwards.xml": grant_xml("D0900007", filing="20220101"),
        "nodrawings.xml": grant_xml("D0900008", sheets=5),
        "notxml.xml": "just text, <us-patent-grant",
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    scan = scan_source(tmp_path)
    check_consistent(scan)
    assert set(scan.patents) == {"D0900001"}
    errors = {Path(where).name: reason for where, reason in scan.errors}
    assert set(errors) == set(bad)
    assert "not a us-patent-grant" in errors["application.xml"]
    assert "malformed XML" in errors["truncated.xml"]
    assert "grant date" in errors["undated.xml"] and "filing date" in errors["unfiled.xml"]
    assert "20211345" in errors["baddate.xml"]
    assert "after grant_date" in errors["backwards.xml"]
    assert "none of its drawing files" in errors["nodrawings.xml"] and \
        errors["nodrawings.xml"].endswith("D00002.TIF ...)")         # 6 files: 3 named
    assert "malformed XML" in errors["notxml.xml"]


def test_redbook_duplicate_grant_and_bad_locarno(tmp_path):
    make_grant(tmp_path / "a", locarno="9999")
    make_grant(tmp_path / "b")
    scan = scan_source(tmp_path)
    assert scan.patents["D0900001"].locarno is None and len(scan.pages) == 3
    (where, reason), = scan.errors
    assert "/b/" in where and "duplicate grant" in reason
    assert len(scan.warnings) == 1 and "classification-locarno" in scan.warnings[0]


def test_a_grant_without_a_class_or_title_is_added_with_a_word_about_each(tmp_path):
    """A grant XML without its Locarno class was added in silence, then left out of every
    class-filtered search; one without a title, likewise untitled."""
    make_grant(tmp_path / "a", locarno="", title="")
    make_grant(tmp_path / "b", "D0900002")
    scan = scan_source(tmp_path)
    assert set(scan.patents) == {"D0900001", "D0900002"} and not scan.errors
    assert scan.patents["D0900001"].locarno is None
    assert [w.split(": D0900001: ")[1] for w in scan.warnings] == [
        "no title (invention-title)",
        "no Locarno class (classification-locarno): added without one, so a search filtered "
        "by class leaves it out"]


def test_redbook_concatenated_grants_with_a_broken_one(tmp_path):
    docs = [grant_xml("D0900001"), grant_xml("D0900002")[:-40], grant_xml("D0900003"),
            grant_xml("09999999", appl_type="utility")]
    for pid in ("D0900001", "D0900003"):
        for i in range(3):
            (tmp_path / f"US{pid}-20210105-D{i:05d}.TIF").write_bytes(b"")
    weekly = tmp_path / "ipg210105.xml"
    weekly.write_text("".join(docs), encoding="utf-8")
    scan = scan_redbook(weekly)
    check_consistent(scan)
    assert set(scan.patents) == {"D0900001", "D0900003"} and len(scan.pages) == 6
    (where, reason), = scan.errors
    second = 1 + docs[0].count("\n")
    assert where == f"{weekly} line {second}" and "malformed XML" in reason
    assert scan.warnings == ["skipped 1 grant(s) that are not design patents (utility, "
                             "plant, or their reissues): 09999999"]


def test_redbook_grants_of_unpacked_weekly_archives_reissues_and_lower_case_names(tmp_path):
    """A folder of weekly archives unpacked by hand (week/DESIGN/grant/x.XML) was read as
    untitled images, and a grant that deep beside a shallow one was dropped unnamed; a
    design's reissue (RE..., with its Locarno class) was skipped as not a design; TIFFs whose
    names' case differs from the XML's were "not found"; skipped grants are named."""
    deep = make_grant(tmp_path / "2021" / "I20210518" / "DESIGN", "D0919445", "20210518")
    make_grant(tmp_path / "D0900001", "D0900001")
    deepest = make_grant(tmp_path.joinpath(*"abcdefg"), "D0900002")   # XML 8 folders down
    reissue = make_grant(tmp_path / "2021" / "I20210518" / "REISSUE", "RE048999", "20210518",
                         appl_type="reissue")
    utility = tmp_path / "2021" / "I20210518" / "UTIL0901" / "US10901234-20210518"
    utility.mkdir(parents=True)
    (utility / "US10901234-20210518.XML").write_text(
        grant_xml("10901234", "20210518", appl_type="utility").replace(
            "<classification-locarno><edition>13</edition><main-classification>0601"
            "</main-classification></classification-locarno>", ""), encoding="utf-8")
    for tif in reissue.glob("*.TIF"):
        tif.rename(tif.with_name(tif.name.lower()))
    (deep / f"{deep.name}.XML").rename(deep.parent / f"{deep.name}.XML")   # XML above its
    deep = deep.rename(deep.with_name(deep.name.lower()))     # drawings' folder, lower case
    for tif in deep.glob("*.TIF"):
        tif.rename(tif.with_name(tif.name.lower()))
    scan = scan_source(tmp_path)
    check_consistent(scan)
    assert len(deepest.relative_to(tmp_path).parts) == 8
    assert scan.kind == "redbook" and set(scan.patents) == {"D0919445", "D0900001", "RE048999",
                                                            "D0900002"}
    assert scan.patents["D0919445"].title == "Chair" and scan.patents["RE048999"].locarno
    assert {p.path.parent for p in scan.pages if p.patent_id not in ("D0900001", "D0900002")
            } == {deep, reissue}
    assert all(p.path.is_file() for p in scan.pages) and not scan.errors
    assert scan.warnings == ["skipped 1 grant(s) that are not design patents (utility, plant, "
                             "or their reissues): 10901234"]
    (tmp_path / "scans").mkdir()                # drawings beside the grants: named, not lost
    write_png(tmp_path / "scans" / "mydrawing.png")
    assert scan_source(tmp_path).warnings[0] == (
        f"1 drawing file(s) in {tmp_path} lie outside every grant's folder and were not added "
        "(first: scans/mydrawing.png): add their folder as a source of its own")
    # a grant one folder deeper than is looked for: its XML is named, not its drawings as
    # if they lay outside every grant's folder
    too_deep = make_grant(tmp_path.joinpath(*"abcdefgh"), "D0900003")
    warnings = scan_source(tmp_path).warnings
    assert warnings[0] == (
        f"1 XML file(s) lie more than 8 folders below {tmp_path} and were not read (first: "
        f"{(too_deep / 'USD0900003-20210105.XML').relative_to(tmp_path)}): add a folder "
        "nearer to them as a source")
    assert not any("outside every grant's folder" in w and "D0900003" in w for w in warnings)
    # ... and where it is the only grant: the folder was read as plain images, its sheets
    # added as untitled, undated patents, and nothing was said
    alone = tmp_path / "alone"
    make_grant(alone.joinpath(*"abcdefgh"), "D0900004")
    scan = scan_source(alone)
    assert scan.kind == "redbook" and not scan.pages and not scan.patents
    assert scan.warnings[0].startswith(f"1 XML file(s) lie more than 8 folders below {alone}")


def test_redbook_parser_loads_no_dtd_and_expands_no_entity(tmp_path):
    grant = make_grant(tmp_path, "D0900001", title="Chair &secret;")
    (grant / "us-patent-grant-v45-2014-04-03.dtd").write_text('<!ENTITY secret "LEAK">')
    laughs = grant_xml("D0900002").replace(
        "[ ]>", '[ <!ENTITY a "aaaaaaaaaa"> <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"> ]>'
    ).replace(">Chair<", ">&b;<")
    make_grant(tmp_path, "D0900002")
    (tmp_path / "USD0900002-20210105" / "USD0900002-20210105.XML").write_text(laughs)
    scan = scan_source(tmp_path)
    assert not scan.patents
    reasons = " ".join(reason for _, reason in scan.errors)
    assert "undefined entity &secret;" in reasons and "entity declarations are refused" in reasons


def test_redbook_drawings_next_to_the_xml_and_no_paths_from_the_xml(tmp_path):
    text = grant_xml("D0900001", sheets=1).replace(
        'file="USD0900001-20210105-D00001.TIF"', 'file="../../etc/passwd"')
    (tmp_path / "USD0900001-20210105.XML").write_text(text)
    (tmp_path / "USD0900001-20210105-D00000.TIF").write_bytes(b"")
    scan = scan_source(tmp_path)
    assert [p.page_kind for p in scan.pages] == ["front_view"] and not scan.errors


# -- plain folders and dispatch --------------------------------------------------------------

def test_folder_multipage_unicode_and_unreadable(tmp_path):
    root = tmp_path / "chairs"
    write_png(root / "Stühle" / "stuhl ß.png")
    write_png(root / "椅子.png")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(
        root / "multi.tif", save_all=True,
        append_images=[Image.fromarray(np.full((20, 20), 200, np.uint8))] * 2)
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    (root / ".hidden.png").write_bytes(b"")
    (root / "notes.txt").write_text("ignored")
    scan = scan_source(root)
    check_consistent(scan)
    assert [Path(w).name for w, _ in scan.errors] == ["broken.png"]
    assert len(scan.patents) == 3 and len(scan.pages) == 5
    by_title = {r.title: pid for pid, r in scan.patents.items()}
    assert by_title["stuhl ß.png"].startswith("IMG-chairs-Stuhle-stuhl-")
    assert by_title["椅子.png"].startswith("IMG-chairs-")
    assert all(pid.isascii() for pid in scan.patents)
    multi = [p for p in scan.pages if p.patent_id == by_title["multi.tif"]]
    assert [p.page_index for p in multi] == [0, 1, 2]
    assert sorted(scan.undated) == sorted(scan.patents)


def test_image_id_is_stable_readable_and_distinct():
    assert image_id("chairs/a.png") == image_id("chairs/a.png")
    assert image_id("chairs/a.png") != image_id("chairs/a.jpg")
    assert image_id("chairs/a b.png") != image_id("chairs/a_b.png")
    assert image_id("chairs/a.png").startswith("IMG-chairs-a-")
    assert len(image_id("x/" + "long name " * 30 + ".png")) <= 4 + 40 + 1 + 8


def test_single_image_file(tmp_path):
    scan = scan_source(write_png(tmp_path / "one.png"))
    assert scan.kind == "folder" and len(scan.pages) == 1
    assert re.fullmatch(r"IMG-[A-Za-z0-9-]+-one-[0-9a-f]{8}", next(iter(scan.patents)))


def test_paths_that_hold_nothing_usable(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        scan_source(tmp_path / "missing")
    with pytest.raises(SourceError, match="nothing usable"):
        scan_source(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match="nothing usable"):
        scan_source(tmp_path)
    with pytest.raises(SourceError, match="not a manifest"):
        scan_source(tmp_path / "notes.txt")


# -- fuzzing ---------------------------------------------------------------------------------

FIELDS = ["image", "patent_id", "page_kind", "sheet", "page_index", "grant_date", "filing_date",
          "priority_date", "locarno", "locarno_edition", "title", "figure_descriptions"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=3), max_leaves=8)
GOOD_LINE = json.dumps(row("a.png"))
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw, text: str) -> str:
    chars = list(text)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, max(0, len(chars) - 1)))
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        if op == "delete" and chars:
            del chars[i]
        else:
            c = draw(st.characters(blacklist_categories=("Cs",)))
            chars[i:i + (op == "replace")] = [c]
    return "".join(chars)


MANIFEST_LINES = st.one_of(
    st.text(max_size=80),
    mutated(GOOD_LINE),
    st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES).map(json.dumps),
    st.fixed_dictionaries({k: JSON_VALUES for k in FIELDS}).map(json.dumps),
)


@FUZZ
@given(lines=st.lists(MANIFEST_LINES, max_size=8))
def test_fuzz_manifest_lines_become_row_errors(tmp_path, lines):
    (tmp_path / "a.png").write_bytes(b"x")
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join([GOOD_LINE, *lines]), encoding="utf-8")
    check_consistent(scan_manifest(path))


GOOD_XML = grant_xml().encode()


@st.composite
def mutated_bytes(draw, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(out) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if op == "flip":
            out[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del out[i]
        elif op == "insert":
            out[i:i] = draw(st.sampled_from([b"<", b">", b"&", b"&a;", b"<!ENTITY a 'x'>",
                                             b"<?xml version='1.0'?>", b"\x00", b"\xff"]))
        else:
            del out[i:]
            break
        if not out:
            break
    return bytes(out)


@FUZZ
@given(data=st.one_of(mutated_bytes(GOOD_XML), mutated_bytes(GOOD_XML * 3),
                      st.binary(max_size=300)))
@example(data=GOOD_XML.replace(b'encoding="UTF-8"', b'encoding="TF-8"', 1))  # found in CI
def test_fuzz_grant_xml_bytes_become_file_errors(tmp_path, data):
    make_grant(tmp_path)
    (tmp_path / "USD0900001-20210105" / "USD0900001-20210105.XML").write_bytes(data)
    scan = scan_redbook(tmp_path)
    check_consistent(scan)


def test_deeppatent2_views_reach_a_library_as_figure_sentences(tmp_path):
    """A record's figure number and aspect ("FIG. 2", "front view") were read for training
    from a config but not into a library: enrich there knew no view of any figure."""
    from core.sources import scan_deeppatent2
    from training.views import number_figures

    (tmp_path / "images").mkdir()
    for n in (1, 2):
        Image.new("L", (40, 30), 255).save(tmp_path / "images" / f"s{n}.png")
    common = {"patentID": "USD0871741-20200107", "object": "chair"}
    records = [{**common, "subfigure_file": "s2.png", "figid": "FIG. 2", "aspect": "Front"},
               {**common, "subfigure_file": "s1.png", "figid": "1",
                "aspect": "perspective view"}]
    (tmp_path / "2020.json").write_text(json.dumps(records))
    scan = scan_deeppatent2(tmp_path / "2020.json")
    patent = scan.patents["D0871741"]
    assert patent.figure_descriptions == ["FIG. 1 is a perspective view of the chair",
                                          "FIG. 2 is a front view of the chair"]
    views = number_figures([(p.page_kind, p.sheet, 1) for p in scan.pages],
                           patent.figure_descriptions)      # (FIG. 2's image came first)
    assert [vs[0].view for vs in views] == ["front view", "perspective view"]
    (tmp_path / "2020.json").write_text(json.dumps(records), encoding="utf-16")   # Windows
    again = scan_source(tmp_path / "2020.json")     # (it was read as a manifest of bad rows)
    assert again.kind == "deeppatent2" and again.patents["D0871741"].figure_descriptions == \
        patent.figure_descriptions


def test_deeppatent2_json_reaches_no_folder_beside_its_own(tmp_path):
    """A JSON saved in ~/Downloads naming "private_cases/sheet.png" indexed
    ~/private_cases/sheet.png (the folder one up was searched with the record's whole path);
    one folder up, only its images folder is searched."""
    (tmp_path / "Downloads").mkdir()
    write_png(tmp_path / "private_cases" / "sheet.png")
    write_png(tmp_path / "images" / "USD0871741-20200107-D00001.png")
    records = [{"patentID": "USD0871741-20200107", "Figure_file": "private_cases/sheet.png"},
               {"patentID": "USD0871741-20200107",
                "Figure_file": "USD0871741-20200107-D00001.png"}]
    (tmp_path / "Downloads" / "dp2.json").write_text(json.dumps(records))
    scan = scan_source(tmp_path / "Downloads" / "dp2.json")
    assert [p.path for p in scan.pages] == [tmp_path / "images" / "USD0871741-20200107-D00001.png"]
    (where, why), = scan.errors
    assert where == "dp2.json record 1" and "image not found: private_cases/sheet.png" in why


def test_deeppatent2_json_lines_skip_a_bad_line_and_say_what_they_lack(tmp_path):
    """A JSON-lines file with one broken line: that line is skipped by its number and the
    others are read; a patentID without a grant date and a class that is not one are said
    (as manifests say them), not dropped in silence."""
    from core.sources import scan_deeppatent2

    (tmp_path / "images").mkdir()
    for n in (1, 2, 3):
        Image.new("L", (40, 30), 255).save(tmp_path / "images" / f"s{n}.png")
    lines = [{"patentID": "USD0871741-20200107", "Figure_file": "s1.png", "object": "chair",
              "classification_locarno": "0601"},
             {"patentID": "USD0871720", "Figure_file": "s2.png", "object": "bottle"},
             {"patentID": "USD0871722-20200107", "Figure_file": "s3.png", "object": "table",
              "classification_locarno": "6-3x"}]
    missing = {"patentID": "USD0871745-20200107", "Figure_file": "gone.png"}
    text = ("\n".join(json.dumps(r) for r in lines) + '\n{"patentID": "USD0871744", "obj\n'
            + json.dumps(missing) + "\n")
    (tmp_path / "2020.json").write_text(text)
    scan = scan_deeppatent2(tmp_path / "2020.json")
    assert sorted(scan.patents) == ["D0871720", "D0871722", "D0871741"]
    # each named by its line (a record count of the lines read named other lines)
    assert scan.errors == [
        ("2020.json line 4", "not JSON (column 28: Unterminated string starting at)"),
        ("2020.json line 5", "image not found: gone.png (looked beside the JSON, in its images "
                             "folder and in ../images)")]
    assert scan.patents["D0871741"].locarno == "06-01"
    assert scan.patents["D0871722"].locarno is None
    assert scan.undated == ["D0871720"]            # (said by the run: another may date it)
    assert scan.warnings == [
        "2020.json: 1 patents have a Locarno class that is not one, left out (a class the "
        "library has is kept): "
        "D0871722 not a Locarno code: '6-3x'"]
    (tmp_path / "2020.json").write_text('{"patentID": "USD0871744", "obj\n' + text)
    with pytest.raises(SourceError, match="not readable DeepPatent2 JSON"):
        scan_deeppatent2(tmp_path / "2020.json")


def test_a_class_left_out_takes_its_edition_with_it(tmp_path):
    """A class that is not one was left out, its edition kept: "Locarno - (edition 12)"."""
    (tmp_path / "a.png").write_bytes(b"x")
    scan = scan_manifest(write_manifest(tmp_path, [row("a.png", locarno="Class 17",
                                                       locarno_edition="12")]))
    patent = scan.patents["D0900001"]
    assert (patent.locarno, patent.locarno_edition) == (None, None)
    assert [w for w in scan.warnings if "left out (a class the library has is kept)" in w]


def test_a_deeppatent2_patent_takes_what_its_later_records_give(tmp_path):
    """A patent's class was its first record's alone: a first record without one left the
    patent out of every class filter, and a later record of another class was not said."""
    from PIL import Image

    from core.sources import scan_deeppatent2

    (tmp_path / "images").mkdir()
    for n in range(1, 5):
        Image.new("L", (40, 30), 255).save(tmp_path / "images" / f"s{n}.png")
    records = [{"patentID": "USD0871728-20200107", "Figure_file": "s1.png",
                "classification_locarno": ""},
               {"patentID": "USD0871728-20200107", "Figure_file": "s2.png", "object": "vase",
                "classification_locarno": "0903"},
               {"patentID": "USD0871717-20200107", "Figure_file": "s3.png",
                "classification_locarno": "0601"},
               {"patentID": "USD0871717-20200107", "Figure_file": "s4.png",
                "classification_locarno": "2101"}]
    (tmp_path / "2020.json").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    scan = scan_deeppatent2(tmp_path / "2020.json")
    assert (scan.patents["D0871728"].locarno, scan.patents["D0871728"].title) == \
        ("09-03", "vase")
    assert scan.patents["D0871717"].locarno == "06-01"
    assert scan.warnings == ["2020.json: 1 patent has records of other Locarno classes; each "
                             "keeps its first record's: D0871717 06-01 (also 21-01)"]
    # a later record of another grant date: said (the date cuts the prior art), first kept
    records[3]["patentID"] = "USD0871717-20210105"
    (tmp_path / "2020.json").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    scan = scan_deeppatent2(tmp_path / "2020.json")
    assert str(scan.patents["D0871717"].grant_date) == "2020-01-07"
    assert scan.warnings[1] == ("2020.json: 1 patent has records of other grant dates; each "
                                "keeps its first record's: D0871717 2020-01-07 (also "
                                "2021-01-05)")


def test_an_archive_is_unpacked_in_pieces_and_a_damaged_file_leaves_nothing(tmp_path,
                                                                           monkeypatch):
    """A weekly archive's files are copied out in pieces, not read whole into memory (an
    80 MB drawing took 80 MB and more), and a file found damaged while copied (its checksum
    read at its end, or its compressed data) leaves no part of itself among the unpacked
    drawings; a grant ZIP larger than is read in memory is read from a temporary file."""
    import io
    import tarfile
    import tracemalloc
    import zipfile

    import core.sources._archive
    from core.sources import unpack_archive

    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("USD0999990-20210126/USD0999990-20210126.XML", "<us-patent-grant/>")
        zf.writestr("USD0999990-20210126/USD0999990-20210126-D00001.TIF", bytes(80 << 20))
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("USD0999991-20210126/USD0999991-20210126-D00001.TIF", b"II*\x00" * 4096)
    damaged = bytearray(bad.getvalue())
    damaged[damaged.index(b"II*\x00") + 100] ^= 0xFF             # its CRC no longer matches
    inflated = io.BytesIO()                             # its compressed data cannot be read
    name = "USD0999992-20210126/USD0999992-20210126-D00001.TIF"
    with zipfile.ZipFile(inflated, "w", zipfile.ZIP_DEFLATED) as zf:
        # its XML and first sheet unpack, its second does not: none of the grant is kept
        zf.writestr("USD0999992-20210126/USD0999992-20210126.XML", "<us-patent-grant/>")
        zf.writestr(name.replace("D00001", "D00002"), b"II*\x00" * 64)
        zf.writestr(name, (b"II*\x00" + bytes(range(256)) * 64) * 8)
    garbled = bytearray(inflated.getvalue())
    start = garbled.index(name.encode()) + len(name) + 10
    garbled[start:start + 8] = b"\xff" * 8
    archive = tmp_path / "I20210126.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("DESIGN/USD0999990-20210126.ZIP", big.getvalue()),
                           ("DESIGN/USD0999991-20210126.ZIP", bytes(damaged)),
                           ("DESIGN/USD0999992-20210126.ZIP", bytes(garbled))):
            info = tarfile.TarInfo(f"I20210126/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    del big, bad, damaged
    tracemalloc.start()
    try:
        folder, errors, not_design, fresh = unpack_archive(archive, tmp_path / "archives")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fresh and not not_design
    assert peak < 16 << 20
    drawing = folder / "USD0999990-20210126" / "USD0999990-20210126-D00001.TIF"
    assert drawing.stat().st_size == 80 << 20
    (where, why), (where2, why2) = errors
    assert where.endswith("USD0999991-20210126.ZIP") and "Bad CRC-32" in why
    # (zlib's error: it ended the whole unpacking in a traceback, with a .part folder left)
    assert where2.endswith("USD0999992-20210126.ZIP") and "while decompressing" in why2
    for grant in ("USD0999991-20210126", "USD0999992-20210126"):
        assert not (folder / grant).exists() or not any((folder / grant).iterdir())
    assert unpack_archive(archive, tmp_path / "archives").fresh is False
    monkeypatch.setattr(core.sources._archive, "SPOOL_BYTES", 1 << 10)     # (as Python 3.10
    again = unpack_archive(archive, tmp_path / "again")      # has them: no seekable spool)
    assert again.errors == errors
    assert (again.folder / drawing.relative_to(folder)).stat().st_size == 80 << 20
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["I20210126"]
