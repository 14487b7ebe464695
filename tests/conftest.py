"""Shared fixtures: real data location, tiny model; hypothesis profiles."""
import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings

# CI gates a merge, so its fuzzing is reproducible (fixed examples); local runs explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _private_graph_cache(tmp_path_factory):
    """Frozen model graphs go to a folder of this test session, not the user's cache (the
    variable reaches the subprocesses the tests start)."""
    before = os.environ.get("PATENT_EXAMINER_CACHE")
    os.environ["PATENT_EXAMINER_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("PATENT_EXAMINER_CACHE", None)
    else:
        os.environ["PATENT_EXAMINER_CACHE"] = before


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item):
    """A fatal Qt message goes to stderr at once: pytest-qt keeps the messages of a test for
    its report, which a process aborted by qFatal never writes (a CI run once ended with
    "Fatal Python error: Aborted" and no word of why)."""
    if "PySide6.QtCore" not in __import__("sys").modules:
        return
    import sys

    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind, context, message):
        if kind == QtMsgType.QtFatalMsg:
            capture = item.config.pluginmanager.getplugin("capturemanager")
            if capture is not None:
                capture.suspend_global_capture(in_=False)     # (Qt aborts next)
            sys.stderr.write(f"\nQt fatal message in {item.nodeid}: {message}\n")
            sys.stderr.flush()
        if previous is not None:
            previous(kind, context, message)

    previous = qInstallMessageHandler(handler)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def tiny_model():
    from core.models import create_model

    return create_model("tiny_test", pretrained=None)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """``tiny_test:random`` saved as a checkpoint: the same network and model id, but a command
    that searches a library built with it starts from the cached graph, without importing
    open_clip (seconds saved per command-line run the tests start)."""
    from core.models import create_model, save_checkpoint

    return save_checkpoint(create_model("tiny_test", pretrained=None),
                           tmp_path_factory.mktemp("tiny") / "tiny-test")


# -- GUI tests: a small real library, built once per session -------------------------------
GUI_PATENTS = 8          # patents of real_dev/manifest.jsonl in the GUI test library
GUI_PAGES_PER_PATENT = 3


@pytest.fixture(scope="session")
def gui_library_source(shared_data, tmp_path_factory) -> Path:
    """A built library of a few real patents (tiny model), kept pristine: tests that change a
    library copy it with ``gui_library``."""
    import json

    from core.ingest import ingest
    from core.library import Library
    from core.models import create_model

    src = shared_data / "real_dev" / "manifest.jsonl"
    rows = [json.loads(line) for line in src.read_text().splitlines() if line.strip()]
    per_patent: dict[str, list[dict]] = {}
    for row in rows:
        per_patent.setdefault(row["patent_id"], []).append(row)
    picked = list(per_patent)[:GUI_PATENTS]
    root = tmp_path_factory.mktemp("gui_library")
    manifest = root / "manifest.jsonl"
    with manifest.open("w") as f:
        for pid in picked:
            for row in per_patent[pid][:GUI_PAGES_PER_PATENT]:
                f.write(json.dumps({**row, "image": str(src.parent / row["image"])}) + "\n")
    model = create_model("tiny_test", pretrained=None)
    with Library(root / "library", create=True) as lib:
        report = ingest(lib, [manifest], model, model_ref="tiny_test:random",
                        allow_absolute=True, workers=0)
    assert report.pages_added and not report.errors, report.summary()
    return root / "library"


@pytest.fixture
def gui_library(gui_library_source, tmp_path) -> Path:
    """A private copy of the GUI test library (with its manifest beside it)."""
    import shutil

    target = tmp_path / "library"
    shutil.copytree(gui_library_source, target,
                    ignore=shutil.ignore_patterns("library.lock", "thumbnails"))
    shutil.copy(gui_library_source.parent / "manifest.jsonl", tmp_path / "manifest.jsonl")
    return target


def write_subset_manifest(shared_data: Path, out: Path, patents: list[str] | None = None,
                          n_patents: int = 6) -> Path:
    """A manifest of a few real_dev patents with absolute image paths (use allow_absolute)."""
    import json

    src = shared_data / "real_dev" / "manifest.jsonl"
    rows = [json.loads(line) for line in src.read_text().splitlines() if line.strip()]
    if patents is None:
        patents = sorted({r["patent_id"] for r in rows})[:n_patents]
    keep = [r for r in rows if r["patent_id"] in set(patents)]
    for r in keep:
        r["image"] = str((src.parent / r["image"]).resolve())
    out.write_text("".join(json.dumps(r) + "\n" for r in keep))
    return out


# -- training fixtures (tests/test_training*.py, tests/test_enrich*.py) ----------------------
_SHAPES = {"06-01": "ellipse", "06-02": "rectangle", "07-01": "triangle", "07-02": "cross"}
_TITLES = {"06-01": "CHAIR", "06-02": "TABLE LAMP", "07-01": "DRINKING MUG", "07-02": "KETTLE"}


def _sheet(shape: str, rng, path: Path) -> None:
    from PIL import Image, ImageDraw

    im = Image.new("L", (600, 800), 255)
    d = ImageDraw.Draw(im)
    x0, y0 = 150 + int(rng.integers(0, 60)), 200 + int(rng.integers(0, 60))
    x1, y1 = x0 + 220 + int(rng.integers(0, 80)), y0 + 260 + int(rng.integers(0, 80))
    if shape == "ellipse":
        d.ellipse((x0, y0, x1, y1), outline=0, width=6)
    elif shape == "rectangle":
        d.rectangle((x0, y0, x1, y1), outline=0, width=6)
    elif shape == "triangle":
        d.polygon([(x0, y1), (x1, y1), ((x0 + x1) // 2, y0)], outline=0, width=6)
    else:
        d.line((x0, y0, x1, y1), fill=0, width=6)
        d.line((x0, y1, x1, y0), fill=0, width=6)
    d.line((x0, (y0 + y1) // 2, x1, (y0 + y1) // 2), fill=0, width=3)
    im.save(path)


@pytest.fixture(scope="session")
def drawing_manifest(tmp_path_factory) -> Path:
    """A JSONL manifest of 12 small patents (2 sheets each) in 4 Locarno subclasses of 2
    classes: each subclass has its own shape, so training can learn it in a few steps."""
    import json

    import numpy as np

    root = tmp_path_factory.mktemp("drawings")
    rng = np.random.default_rng(0)
    rows = []
    codes = list(_SHAPES)
    for i in range(12):
        code = codes[i % 4]
        pid = f"D09{i:05d}"
        for sheet in (1, 2):
            name = f"{pid}_{sheet}.png"
            _sheet(_SHAPES[code], rng, root / name)
            rows.append({"image": name, "patent_id": pid, "page_kind": "drawing_sheet",
                         "sheet": sheet, "grant_date": f"{2010 + i}-01-05",
                         "filing_date": f"{2009 + i}-03-01", "locarno": code,
                         "title": _TITLES[code],
                         "figure_descriptions": ["FIG. 1 is a front elevational view thereof",
                                                 "FIG. 2 is a top plan view thereof"]})
    path = root / "manifest.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


# -- resilience and sharding tests: small sheets that the tiny model embeds in no time ----
@pytest.fixture(scope="session")
def sheets(tmp_path_factory) -> Path:
    """A manifest of 10 small patents, 2 drawing sheets each, one shape per patent."""
    import json

    import numpy as np
    from PIL import Image, ImageDraw

    root = tmp_path_factory.mktemp("sheets")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(10):
        for sheet in (1, 2):
            im = Image.new("L", (400, 520), 255)
            d = ImageDraw.Draw(im)
            x, y = rng.integers(60, 140, 2)
            box = (int(x), int(y) + 60, int(x) + 160 + 8 * i, int(y) + 240 + 10 * sheet)
            (d.ellipse if i % 3 == 0 else d.rectangle if i % 3 == 1 else d.line)(
                box, **({"fill": 0, "width": 5} if i % 3 == 2 else {"outline": 0, "width": 5}))
            name = f"D09{i:05d}_{sheet}.png"
            im.save(root / name)
            rows.append({"image": name, "patent_id": f"D09{i:05d}", "page_kind": "drawing_sheet",
                         "sheet": sheet, "grant_date": f"{2005 + i}-01-04",
                         "filing_date": f"{2003 + i}-05-01", "locarno": "06-01",
                         "title": f"DESIGN {i}"})
    path = root / "manifest.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def cut_tiff(tmp_path):
    """``cut_tiff(pages, readable)``: a Group 4 TIFF of ``pages`` (PIL images) cut off where
    its pages after the first ``readable`` can no longer be reached (a broken download), as
    ``tmp_path / "cut.tif"``."""
    from PIL import TiffImagePlugin

    from core.imageio import page_count

    def make(pages, readable: int) -> Path:
        whole = tmp_path / "whole.tif"
        with TiffImagePlugin.AppendingTiffWriter(str(whole), True) as tf:
            for page in pages:
                page.convert("1").save(tf, format="TIFF", compression="group4")
                tf.newFrame()
        data, cut = whole.read_bytes(), tmp_path / "cut.tif"
        for end in range(len(data) - 1, 0, -16):
            cut.write_bytes(data[:end])
            if page_count(cut) == (readable, False):
                return cut
        raise AssertionError(f"no cut of {whole} leaves {readable} pages readable")
    return make


# -- audit trail and ratings tests: a small library to search and rate --------------------
AUDIT_BEFORE = date(2020, 1, 1)


@pytest.fixture
def searchable_library(sheets, tiny_checkpoint, tmp_path):
    """A library of the generated sheets (tiny model, remembered as ``tiny_checkpoint``) and
    a copy of one sheet as the query."""
    import shutil

    from core.ingest import ingest
    from core.library import Library
    from core.models import create_model

    src = tmp_path / "src"
    shutil.copytree(sheets.parent, src)
    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], create_model("tiny_test", pretrained=None),
               model_ref=str(tiny_checkpoint), workers=0)
    query = tmp_path / "query.png"
    shutil.copy(src / "D0900003_1.png", query)
    return path, query


def search_logged(path: Path, query: Path, **kw) -> int:
    """Search the library at ``path`` with ``query`` as examiner "ann" in session "s1" (8
    results, prior art before AUDIT_BEFORE); returns the logged search's id."""
    from core.library import Library
    from core.models import create_model
    from core.search import Searcher, SearchQuery

    with Library(path) as lib:
        searcher = Searcher(lib, create_model("tiny_test", pretrained=None))
        return searcher.search(SearchQuery(image=query, before=AUDIT_BEFORE, k=8, **kw),
                               log=True, examiner="ann", session="s1").search_id


def regrant(path: Path, patent: str, day: str) -> None:
    """Correct ``patent``'s grant date to ``day`` in the manifest of ``searchable_library``
    at ``path`` and add the manifest again (the library corrects its metadata)."""
    import json

    from core.ingest import ingest
    from core.library import Library
    from core.models import create_model

    manifest = path.parent / "src" / "manifest.jsonl"
    rows = [json.loads(ln) for ln in manifest.read_text().splitlines()]
    for r in rows:
        if r["patent_id"] == patent:
            r["grant_date"] = day
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with Library(path) as lib:
        ingest(lib, [manifest], create_model("tiny_test", pretrained=None),
               model_ref=lib.model_info["ref"], workers=0)


@pytest.fixture
def qtbot(qtbot):
    """pytest-qt's qtbot, whose ``waitUntil`` takes a lambda that gives None as not yet true:
    pytest-qt counts None as an assertion-style callback that passed, so a condition such as
    ``lambda: info.get("demo")`` used to pass at once while info was still empty."""
    wait_until = qtbot.waitUntil

    def strict(callback, **kwargs):
        if getattr(callback, "__name__", "") != "<lambda>":
            return wait_until(callback, **kwargs)
        return wait_until(lambda: bool(callback()), **kwargs)
    qtbot.waitUntil = strict
    return qtbot


def read_only_without_shm(monkeypatch, folder) -> None:
    """``folder``'s library as this user sees it on a read-only medium where its -shm file
    cannot be made (SQLite's plain read-only open fails; root ignores file modes)."""
    import sqlite3

    import core.store

    real_access, real_connect = os.access, sqlite3.connect
    monkeypatch.setattr(core.store.os, "access", lambda p, mode: False if mode == os.W_OK
                        and str(p).startswith(str(folder)) else real_access(p, mode))

    def connect(target, *a, uri=False, **kw):
        if uri and str(folder.resolve()) in target and target.endswith("?mode=ro"):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(target, *a, uri=uri, **kw)
    monkeypatch.setattr(core.store.sqlite3, "connect", connect)


def leave_in_wal(db, key: str, value: str) -> None:
    """Commit ``meta[key] = value`` to library database ``db`` the way a writer killed after
    its commit leaves it: in the -wal file only (everything before it checkpointed)."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", f"""
import json, os, sqlite3
c = sqlite3.connect({str(db)!r}, isolation_level=None)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
          ({key!r}, json.dumps({value!r})))
os._exit(0)"""], check=True)
