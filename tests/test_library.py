"""End-to-end library behaviour on real sheets: ingest, re-add, cutoff-safe search, resume,
cancel, model binding, and the CLI's JSON contract."""
import json
import os
import re
import shutil
import threading
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from conftest import leave_in_wal, read_only_without_shm, write_subset_manifest
from core.index import ModelMismatchError
from core.ingest import ingest
from core.library import Library, LibraryError, missing_page_files
from core.models import create_model
from core.search import Searcher, SearchQuery
from core.sources import display_patent_id

PATENTS = ["D0906013", "D0793495", "D0910780", "D0889911", "D0576693", "D0778788"]


@pytest.fixture(scope="module")
def real_subset(shared_data, tmp_path_factory):
    return write_subset_manifest(shared_data, tmp_path_factory.mktemp("m") / "subset.jsonl",
                                 PATENTS)


@pytest.fixture(scope="module")
def tiny_library(real_subset, tmp_path_factory):
    model = create_model("tiny_test", pretrained=None)
    lib = Library(tmp_path_factory.mktemp("lib") / "library", create=True)
    report = ingest(lib, [real_subset], model, allow_absolute=True, workers=0)
    return lib, model, report


def test_ingest_counts_and_permissions(tiny_library, real_subset):
    lib, model, report = tiny_library
    n_pages = len(real_subset.read_text().splitlines())
    assert report.pages_added == n_pages and not report.errors
    info = lib.info()
    assert info["patents"] == len(PATENTS) and info["pages"] == n_pages
    assert info["figures"] == report.figures_added >= n_pages
    assert info["model"]["id"] == model.model_id
    assert len(lib.index()) == info["figures"]
    assert (lib.path / "library.sqlite").stat().st_mode & 0o077 == 0


def test_readding_a_source_changes_nothing(tiny_library, real_subset):
    lib, model, _ = tiny_library
    before = (lib.info(), json.dumps(lib.manifest, sort_keys=True))
    report = ingest(lib, [real_subset], model, allow_absolute=True, workers=0)
    assert report.pages_added == 0 and report.pages_already_present == before[0]["pages"]
    assert (lib.info(), json.dumps(lib.manifest, sort_keys=True)) == before


def test_search_never_returns_results_on_or_after_the_cutoff(tiny_library, shared_data):
    lib, model, _ = tiny_library
    searcher = Searcher(lib, model)
    query = shared_data / "real_dev" / "D0906013" / "page02_sheet.png"
    for cutoff in (date(2009, 1, 1), date(2017, 3, 1), date(2020, 1, 1), date(2030, 1, 1)):
        resp = searcher.search(SearchQuery(image=query, before=cutoff, k=50))
        assert all(date.fromisoformat(h.grant_date) < cutoff for h in resp.results)
        # the true number of allowed figures, and all of them when k exceeds it
        n_ok = lib.store.conn.execute(
            "SELECT COUNT(*) FROM figures f JOIN patents t USING(patent_id) "
            "WHERE t.grant_date < ?", (cutoff.isoformat(),)).fetchone()[0]
        assert resp.allowed == n_ok == min(n_ok, 50) or len(resp.results) == 50
        assert len(resp.results) == min(n_ok, 50)



def test_each_result_names_the_query_figure_it_matched(tiny_library, shared_data, tmp_path):
    """Of a query with several figures, each result names the one it is most like (a figure
    of the library's own copy of the sheet: its own box), and a reopened search says the
    same: the detail view shows that figure and page beside the result."""
    from pathlib import Path

    import numpy as np

    from core.audit import logged_hits
    from core.drawing import FigureBox

    lib, model, _ = tiny_library
    query = shared_data / "real_dev" / "D0576693" / "page01_sheet.png"     # 3 figures
    copy = Library(shutil.copytree(lib.path, tmp_path / "lib"))
    with copy:
        resp = Searcher(copy, model).search(SearchQuery(image=query, k=40), log=True)
        assert len(resp.query_figures) > 1 and resp.query_pages == [0] * len(resp.query_figures)
        own = [h for h in resp.results                  # (the library keeps resolved paths)
               if Path(h.image).resolve() == query.resolve() and h.score > 0.999]
        assert len(own) == len(resp.query_figures)
        assert sorted(resp.query_figures[h.query_figure] for h in own) == \
            sorted(h.figure for h in own)
        vectors = copy.index().vectors_of([h.figure_id for h in resp.results])
        queries = copy.index().vectors_of([h.figure_id for h in own])   # (the same vectors)
        order = [resp.query_figures.index(h.figure) for h in own]
        assert [h.query_figure for h in resp.results] == \
            list(np.argmax(queries[np.argsort(order)] @ vectors.T, axis=0))
        rec = copy.store.search_record(resp.search_id)
        assert rec["params"]["query_figures"] == resp.query_figures
        assert [h.query_figure for h in logged_hits(copy.store, rec)] == \
            [h.query_figure for h in resp.results]
        one = Searcher(copy, model).search(SearchQuery(image=query, k=5, box=FigureBox(
            *resp.query_figures[0])))
        assert all(h.query_figure is None for h in one.results)


def test_a_negative_page_is_indexed_as_its_drawing_and_a_dark_one_not_at_all(
        shared_data, tmp_path):
    """A library page that is a negative (a microfilm scan) is cut and indexed as its
    positive, as a query is: the drawing finds it; a page dark all over yields no figure
    and says why (each became one full-page figure of junk)."""
    from PIL import Image, ImageOps

    model = create_model("tiny_test", pretrained=None)
    sheet = shared_data / "real_dev" / "D0576693" / "page01_sheet.png"
    folder = tmp_path / "scans"
    folder.mkdir()
    ImageOps.invert(Image.open(sheet).convert("L")).save(
        folder / "USD0576693-20080909-D00001.png")
    Image.new("L", (2560, 3300), 0).save(folder / "USD0999999-20200101-D00001.png")
    with Library(tmp_path / "lib", create=True) as lib:
        report = ingest(lib, [folder], model, workers=0)
        dark = folder / "USD0999999-20200101-D00001.png"
        assert report.warnings == [f"{dark}: no drawing found (the page is dark all over, "
                                   "with no lines on paper)"]
        rows = lib.store.conn.execute("SELECT patent_id, n_figures FROM pages ORDER BY "
                                      "patent_id").fetchall()
        assert rows == [("D0576693", 3), ("D0999999", 0)]
        resp = Searcher(lib, model).search(SearchQuery(image=sheet, k=3))
        assert [h.patent_id for h in resp.results] == ["D0576693"] * 3
        assert min(h.score for h in resp.results) > 0.99
    from core.drawing import find_figures
    from core.imageio import read_page

    page = read_page(sheet).array                   # (the query panel's boxes: those searched)
    assert find_figures(255 - page) == find_figures(page) and len(find_figures(page)) == 3

def test_locarno_filter(tiny_library, shared_data):
    lib, model, _ = tiny_library
    resp = Searcher(lib, model).search(SearchQuery(
        image=shared_data / "real_dev" / "D0906013" / "page02_sheet.png", locarno="21", k=50))
    assert resp.results and all(h.locarno.startswith("21-") for h in resp.results)


def test_class_31_is_one_code_however_it_was_stored(drawing_manifest, tmp_path, tiny_model):
    """Classes 31 and 32 have one code each: a patent given "31" was stored as "31", one
    given "3100" as "31-00", and the 31-00 filter (the only one the window offers) missed
    the first."""
    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    pids = sorted({r["patent_id"] for r in rows})[:2]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({
        **r, "image": str(drawing_manifest.parent / r["image"]),
        "locarno": {pids[0]: "31", pids[1]: "3100"}.get(r["patent_id"], r["locarno"])}) + "\n"
        for r in rows))
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [manifest], tiny_model, workers=0, allow_absolute=True)
        assert {lib.store.patent(p)["locarno"] for p in pids} == {"31-00"}
        with lib.store.transaction() as conn:          # as a library stored it before
            conn.execute("UPDATE patents SET locarno='31' WHERE patent_id=?", (pids[0],))
        searcher = Searcher(lib, tiny_model)
        for code in ("31", "31-00"):
            resp = searcher.search(SearchQuery(image=drawing_manifest.parent / rows[0]["image"],
                                               locarno=code, k=10, per_patent=True))
            assert {h.patent_id for h in resp.results} == set(pids), code


def test_query_pages_as_examiners_have_them(tiny_library, shared_data, tmp_path):
    """A negative of a sheet (light lines on black) is searched as the drawing it is; a page
    dark all over is refused as such; a PDF whose first page has no drawing names the page
    and the pages it has; a region reaching past the page is searched, and named, clipped."""
    from PIL import Image

    from core.search import QueryError

    lib, model, _ = tiny_library
    searcher = Searcher(lib, model)
    sheet = shared_data / "real_dev" / "D0906013" / "page02_sheet.png"
    plain = searcher.search(SearchQuery(image=sheet, k=5))
    assert plain.results[0].patent_id == "D0906013" and plain.results[0].score > 0.99
    page = np.asarray(Image.open(sheet).convert("L"))
    Image.fromarray(255 - page).save(tmp_path / "negative.png")
    negative = searcher.search(SearchQuery(image=tmp_path / "negative.png", k=5))
    assert [(h.figure_id, round(h.score, 4)) for h in negative.results] == \
        [(h.figure_id, round(h.score, 4)) for h in plain.results]
    Image.new("L", (850, 1100), 0).save(tmp_path / "dark.png")
    with pytest.raises(QueryError, match="dark all over"):
        searcher.search(SearchQuery(image=tmp_path / "dark.png"))
    pages = [Image.new("L", page.shape[::-1], 255), Image.fromarray(page)]
    pages[0].save(tmp_path / "application.pdf", save_all=True, append_images=pages[1:],
                  resolution=300)
    with pytest.raises(QueryError, match=r"application\.pdf, page 1 of 2: no drawing found.*"
                                         r"another of its pages, or all of them"):
        searcher.search(SearchQuery(image=tmp_path / "application.pdf"))
    second = searcher.search(SearchQuery(image=tmp_path / "application.pdf", page_index=1))
    assert second.results[0].patent_id == "D0906013"
    h, w = page.shape
    from core.drawing import FigureBox

    clipped = searcher.search(SearchQuery(image=sheet, box=FigureBox(-50, 100, w + 500, h - 100)),
                              log=True)
    assert clipped.query_figures == [[0, 100, w, h - 100]]
    assert lib.store.search_record(clipped.search_id)["query_box"] == [0, 100, w, h - 100]


def test_other_model_is_refused(tiny_library):
    lib, _, _ = tiny_library
    other = create_model("tiny_test", pretrained=None, seed=7)
    with pytest.raises(ModelMismatchError, match="rebuild"):
        Searcher(lib, other)


def test_a_refused_model_says_only_that_it_is_refused(tiny_library, tmp_path, caplog):
    """Loading a model the library was not built with is refused without first warning about
    that model's weights; a model that is used still warns."""
    lib, _, _ = tiny_library
    with caplog.at_level("WARNING"), pytest.raises(ModelMismatchError, match="rebuild"):
        lib.load_model("efficientnet_b0")
    assert "randomly initialised" not in caplog.text
    with Library(tmp_path / "empty", create=True) as empty, caplog.at_level("WARNING"):
        empty.load_model("tiny_test")
    assert "tiny_test has no offline pretrained weights: randomly initialised" in caplog.text


def test_the_command_a_message_gives_can_be_pasted_for_a_path_with_spaces(tmp_path):
    """`index rebuild --library /data/lib ü 2` pasted as given was three arguments (exit 2,
    "unrecognized arguments"): the path is quoted as a shell reads it."""
    import shlex

    where = tmp_path / "lib ü 2"
    with Library(where, create=True) as lib:
        with lib.store.transaction():
            lib.store._set_meta("model", {"id": "tiny_test-0000000000000000",
                                          "ref": "tiny_test", "arch": "tiny_test"})
        with pytest.raises(ModelMismatchError) as named:
            lib.load_model()
    command = str(named.value).split("`")[1]
    assert shlex.split(command) == ["patent-examiner", "index", "rebuild", "--library",
                                    str(where)]


def test_a_library_whose_model_name_now_loads_another_model_says_to_rebuild(tmp_path, capsys):
    """Built with the default model of an earlier version: the advice was "rebuild it with
    --model ..., or use the model it was built with", which exists nowhere any more; a plain
    rebuild is what works."""
    with Library(tmp_path / "lib", create=True) as lib:
        with lib.store.transaction():
            lib.store._set_meta("model", {"id": "tiny_test-0000000000000000",
                                          "ref": "tiny_test", "arch": "tiny_test"})
        with pytest.raises(ModelMismatchError) as named:
            lib.load_model()
        with pytest.raises(ModelMismatchError) as given:
            lib.load_model("tiny_test")
    assert "the model it names (tiny_test) is now tiny_test-" in str(named.value)
    assert str(named.value).endswith(f"rebuild it with `patent-examiner index rebuild "
                                     f"--library {tmp_path / 'lib'}` (its searches and "
                                     "ratings are kept)")
    assert "--model ..." in str(given.value)
    from core.cli import main

    (tmp_path / "nothing").mkdir()                     # (said before any scan)
    assert main(["index", "add", str(tmp_path / "nothing"), "--library",
                 str(tmp_path / "lib")]) == 1
    assert "the model it names (tiny_test) is now" in capsys.readouterr().err


def test_a_text_too_long_or_with_nothing_to_read_is_said(tiny_library, shared_data, tmp_path):
    """The text tower reads a bounded number of tokens: a longer text is searched by its
    first words and the response, the log and its report say how many; a text of invisible
    characters is no text (refused alone, left out beside a drawing)."""
    from core.reports import ReportMeta
    from core.search import QueryError

    lib, model, _ = tiny_library
    searcher = Searcher(lib, model)
    long = "a drinking cup with a handle " * 40
    resp = searcher.search(SearchQuery(text=long, k=3), log=True)
    rec = lib.store.search_record(resp.search_id)
    assert resp.text_words_read and resp.text_words_read < len(long.split())
    assert rec["params"]["text_words_read"] == resp.text_words_read
    assert rec["text"] == long.strip()                      # what was typed, all of it
    assert resp.to_json()["fusion"] == searcher.fusion
    assert ("Text read", f"its first {resp.text_words_read} words (the model reads no more)") \
        in ReportMeta.from_record(rec).lines()
    import csv

    from core.reports import write_search_csv

    write_search_csv(tmp_path / "long.csv", ReportMeta.from_record(rec), resp.results)
    with open(tmp_path / "long.csv", encoding="utf-8-sig") as f:      # (the CSV said not)
        assert {r["text_words_read"] for r in csv.DictReader(f)} == {str(resp.text_words_read)}
    short = searcher.search(SearchQuery(text="drinking cup", k=3))
    assert short.text_words_read is None and short.text_note is None
    with pytest.raises(QueryError, match="nothing to search by: the text holds only spaces"):
        searcher.search(SearchQuery(text="\u200b &nbsp; ", k=3))
    # every word unknown to the text model (emoji, another script): each such text read as
    # one and the same "unknown word", ranked as if it meant something
    for unknown in ("\U0001f453", "\U0001f56f\ufe0f\U0001f525",
                    "\u30ef\u30c3\u30af\u30b9\u30a6\u30a9\u30fc\u30de\u30fc"):
        with pytest.raises(QueryError, match=re.escape(
                f"nothing to search by: the text {unknown!r} holds no word the text model "
                "knows")):
            searcher.search(SearchQuery(text=unknown, k=3))
    assert searcher.search(SearchQuery(text="cup \U0001f453", k=3)).text == "cup \U0001f453"
    sheet = shared_data / "real_dev" / PATENTS[0] / "page02_sheet.png"
    drawing = searcher.search(SearchQuery(image=sheet, text="\u200b", k=3))
    assert drawing.text is None and "fusion" not in drawing.to_json()
    assert drawing.text_note == ("the text holds only spaces or invisible characters: searched "
                                 "by the drawing alone")
    emoji = searcher.search(SearchQuery(image=sheet, text="\U0001f453", k=3), log=True)
    assert emoji.text is None and [h.figure_id for h in emoji.results] == \
        [h.figure_id for h in drawing.results]
    assert emoji.text_note.endswith("same query): searched by the drawing alone")
    assert lib.store.search_record(emoji.search_id)["params"]["text_unread"] == "\U0001f453"
    assert all(k != "Score weights" for k, _ in ReportMeta.from_response(drawing).lines())
    # the report says how the fused score weighed drawing and text (the text alone: no drawing)
    assert searcher.fusion == {"image": 1.0, "text": 1.5, "cross": 0.0}
    assert ("Score weights", "text 1.5") in ReportMeta.from_record(rec).lines()
    fused = searcher.search(SearchQuery(image=sheet, text="drinking cup", k=3), log=True)
    for meta in (ReportMeta.from_response(fused),
                 ReportMeta.from_record(lib.store.search_record(fused.search_id))):
        assert ("Score weights", "drawing 1 + text 1.5") in meta.lines()
        assert all(k != "Score weights" for k, _ in meta.lines(blind=True))


def test_a_read_only_library_searches_and_refuses_writes(tiny_library, shared_data, tmp_path,
                                                         monkeypatch):
    """A library this user may not write (a read-only share or medium; emulated here, since
    root ignores file modes) opens for searching; a write says it is read-only, nothing else."""
    import shutil

    import core.store
    from core.store import StoreError

    lib, model, _ = tiny_library
    copy = shutil.copytree(lib.path, tmp_path / "ro")
    real_access = os.access
    monkeypatch.setattr(core.store.os, "access", lambda p, mode: False if mode == os.W_OK
                        and str(p).startswith(str(copy)) else real_access(p, mode))
    (copy / "library.sqlite-shm").unlink(missing_ok=True)
    before = (copy / "library.sqlite").read_bytes()
    with Library(copy) as ro:
        assert ro.store.read_only and ro.info()["figures"] == lib.info()["figures"]
        query = SearchQuery(image=shared_data / "real_dev" / "D0906013" / "page02_sheet.png",
                            k=5)
        assert Searcher(ro, model).search(query).results
        with pytest.raises(StoreError, match="read-only.*need write access$"):
            Searcher(ro, model).search(query, log=True)
        import errno

        import core.library

        real_open = os.open

        def read_only_medium(path, flags, *a):
            if str(path).startswith(str(copy)) and flags & (os.O_RDWR | os.O_WRONLY):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_open(path, flags, *a)

        monkeypatch.setattr(core.library.os, "open", read_only_medium)
        with pytest.raises(StoreError, match="read-only"):      # adding and rebuilding too
            ingest(ro, [shared_data / "uspto_redbook"], model, workers=0)
    assert (copy / "library.sqlite").read_bytes() == before



def test_a_file_system_that_refuses_sqlites_side_files_opens_the_library_read_only(
        tiny_library, tmp_path, monkeypatch):
    """Some network shares and USB file systems will not hold SQLite's -shm file: every
    writable open failed with "disk I/O error", which was called damage ("move the library
    aside and rebuild it", losing its searches and ratings). It opens for searching, and
    says why it cannot be written."""
    import shutil
    import sqlite3

    import core.store
    from core.store import StoreError

    lib, _, _ = tiny_library
    copy = shutil.copytree(lib.path, tmp_path / "usb")
    before = (copy / "library.sqlite").read_bytes()
    real_connect = sqlite3.connect

    class Refused:
        def execute(self, *a):
            raise sqlite3.OperationalError("disk I/O error")

        def close(self):
            pass

    def connect(target, *a, uri=False, **kw):
        if not uri and str(target).startswith(str(copy)):       # (a writable open)
            return Refused()
        return real_connect(target, *a, uri=uri, **kw)
    monkeypatch.setattr(core.store.sqlite3, "connect", connect)
    with Library(copy) as ro:
        assert ro.store.read_only and ro.info()["figures"] == lib.info()["figures"]
        assert "would not let SQLite write its side files" in ro.store.read_only_words
        with pytest.raises(StoreError, match="copy the library to a local disk"):
            ro.store.refuse_write()
    assert (copy / "library.sqlite").read_bytes() == before


@pytest.mark.parametrize("no_shm", [False, True])
def test_a_read_only_copy_shows_the_drawings_unpacked_into_it(drawing_manifest, tmp_path,
                                                              tiny_model, monkeypatch, no_shm):
    """Drawings unpacked into a library (its archives folder) are named by absolute path; a
    copy opened writable names its own copies again, but a read-only copy (a share, a DVD)
    named the original's: missing with the original gone ("rebuild --drop-missing")."""
    import shutil

    import core.store

    with Library(tmp_path / "lib", create=True) as lib:
        week = tmp_path / "lib" / "archives" / "week-49"
        week.mkdir(parents=True)
        for sheet in sorted(drawing_manifest.parent.glob("*.png"))[:3]:
            shutil.copy2(sheet, week / sheet.name)
        ingest(lib, [week], tiny_model, workers=0)
    copy = shutil.copytree(tmp_path / "lib", tmp_path / "copy on a 'share'")
    (tmp_path / "lib").rename(tmp_path / "gone")
    if no_shm:
        read_only_without_shm(monkeypatch, copy)
    else:
        real_access = os.access
        monkeypatch.setattr(core.store.os, "access", lambda p, mode: False if mode == os.W_OK
                            and str(p).startswith(str(copy)) else real_access(p, mode))
    before = (copy / "library.sqlite").read_bytes()
    with Library(copy) as ro:
        assert ro.store.read_only
        assert not missing_page_files(ro)
        paths = [p for (p,) in ro.store.conn.execute("SELECT path FROM pages")]
        assert len(paths) == 3 and all(p.startswith(str(copy / "archives" / "week-49"))
                                       for p in paths)
    assert (copy / "library.sqlite").read_bytes() == before


def test_a_read_only_library_reads_the_changes_its_wal_file_holds(tiny_library, shared_data,
                                                                  tmp_path, monkeypatch, capsys):
    """A read-only library whose -wal file holds committed changes and no -shm file is
    beside it (a copy that left it out, a writer killed) is read with those changes, from a
    temporary copy removed on close (and, left by a process killed since, on the next open);
    where no copy can be made (no room, a temporary folder it may not write), the library
    opens without them and `index info`, `search` and the window say so. A logged CLI search
    is refused before it runs, naming --no-log."""
    import errno
    import shutil
    import tempfile
    from pathlib import Path

    import core.store
    from core.cli import main

    lib, _, _ = tiny_library
    copy = shutil.copytree(lib.path, tmp_path / "ro")
    db = copy / "library.sqlite"
    leave_in_wal(db, "probe", "saved last")
    assert Path(f"{db}-wal").stat().st_size > 0
    Path(f"{db}-shm").unlink()
    files = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    read_only_without_shm(monkeypatch, copy)
    temp = Path(tempfile.gettempdir())
    core.store._drop_copies_of_ended_processes()    # (left by other runs killed on this machine)
    stale, alive = (temp / f"patent-examiner-library-{pid}-x" for pid in (999999999, 1))
    for folder in (stale, alive):
        (folder / "library.sqlite").parent.mkdir(exist_ok=True)
        (folder / "library.sqlite").write_bytes(b"a copy")
    copies = set(temp.glob("patent-examiner-library-*")) - {stale}
    cut = shutil.copytree(lib.path, tmp_path / "never_checkpointed")    # all in its -wal file
    Path(f"{cut / 'library.sqlite'}-shm").unlink(missing_ok=True)
    with Library(copy) as ro:
        assert ro.store.read_only and ro.store.get_meta("probe") == "saved last"
        assert ro.info()["unread_changes"] is None
        assert len(set(temp.glob("patent-examiner-library-*")) - copies) == 1
        with pytest.raises(core.store.StoreError, match="read-only"):
            ro.store.set_meta("probe", "changed")
    assert set(temp.glob("patent-examiner-library-*")) == copies and alive in copies
    shutil.rmtree(alive)
    copies.discard(alive)
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == files

    def no_room(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(core.store.shutil, "copyfile", no_room)
    with Library(copy) as ro:
        assert ro.store.get_meta("probe") is None
        assert "could not be read" in ro.info()["unread_changes"]
    assert main(["index", "info", "--library", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "access:    read-only for you" in out and "library.sqlite-wal) could not be" in out
    assert main(["search", str(tmp_path), "--library", str(copy)]) == 1
    assert "read-only for you, so this search cannot be logged: search with --no-log" in \
        capsys.readouterr().err
    with monkeypatch.context() as m:       # a read-only mount is no one's to write
        real_statvfs = os.statvfs

        def mounted_read_only(path):
            got = real_statvfs(path)
            return type("statvfs", (), {"f_flag": got.f_flag | os.ST_RDONLY})()
        m.setattr(core.store.os, "statvfs", mounted_read_only)
        assert main(["index", "info", "--library", str(copy)]) == 0
        assert "access:    read-only (its disk or share is mounted read-only)" in \
            capsys.readouterr().out
        with Library(copy) as ro:
            with pytest.raises(core.store.StoreError, match=r"is read-only \(its disk or "
                                                             "share is mounted read-only"):
                ro.store.set_meta("probe", "changed")
    query = shared_data / "real_dev" / "D0906013" / "page02_sheet.png"
    assert main(["search", str(query), "--library", str(copy), "--no-log", "--k", "2",
                 "--model", "tiny_test:random"]) == 0
    assert "note: the latest changes to this library" in capsys.readouterr().err
    monkeypatch.undo()
    read_only_without_shm(monkeypatch, copy)

    def not_allowed(*a, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(temp / "x"))
    monkeypatch.setattr(core.store.tempfile, "mkdtemp", not_allowed)
    with Library(copy) as ro:
        assert ro.store.get_meta("probe") is None and ro.info()["unread_changes"]
    assert set(temp.glob("patent-examiner-library-*")) == copies
    read_only_without_shm(monkeypatch, cut)
    with pytest.raises(LibraryError) as err:
        Library(cut)
    assert "could not be read" in str(err.value) and "rebuild" not in str(err.value)

    def no_usable_folder():             # what Python says with no temporary folder to write
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found")
    monkeypatch.setattr(core.store.tempfile, "gettempdir", no_usable_folder)
    with Library(copy) as ro:
        assert ro.store.get_meta("probe") is None and ro.info()["unread_changes"]


def test_cancel_with_rollback_leaves_library_as_it_was(tiny_library, shared_data, tmp_path):
    lib, model, _ = tiny_library
    extra = write_subset_manifest(shared_data, tmp_path / "extra.jsonl", ["D0528368", "D0538119"])
    from core.overview import source_paths

    before = (lib.info(), json.dumps(lib.manifest, sort_keys=True))
    sources = (source_paths(lib), lib.store.absolute_sources())
    cancel = threading.Event()

    def progress(done, total, note):
        if done >= 3:
            cancel.set()
    report = ingest(lib, [extra], model, allow_absolute=True, workers=0, chunk_pages=2,
                    progress=progress, cancel=cancel, rollback_on_cancel=True)
    assert report.cancelled
    assert (lib.info(), json.dumps(lib.manifest, sort_keys=True)) == before
    # nor is the source registered: an update would add what was cancelled
    assert (source_paths(lib), lib.store.absolute_sources()) == sources
    assert not [p for p in (lib.path / "index").iterdir()
                if p.name.split(".")[0] not in {s["name"] for s in lib.manifest["segments"]}]


def test_interrupted_run_resumes_without_duplicates(shared_data, tmp_path, tiny_model):
    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", PATENTS[:3])
    n_pages = len(manifest.read_text().splitlines())
    lib = Library(tmp_path / "lib", create=True)
    cancel = threading.Event()
    first = ingest(lib, [manifest], tiny_model, allow_absolute=True, workers=0, chunk_pages=3,
                   progress=lambda d, t, n: cancel.set() if d >= 7 else None, cancel=cancel)
    assert first.cancelled and 0 < first.pages_added < n_pages
    second = ingest(lib, [manifest], tiny_model, allow_absolute=True, workers=0)
    assert first.pages_added + second.pages_added == n_pages
    rows = lib.store.conn.execute("SELECT path, COUNT(*) FROM pages GROUP BY path "
                                  "HAVING COUNT(*) > 1").fetchall()
    assert rows == []
    labels = np.concatenate([s.labels for s in lib.index().segments])
    assert len(labels) == len(set(labels.tolist())) == lib.info()["figures"]


def test_a_disk_that_fills_after_the_pages_says_they_were_added_and_a_rerun_completes(
        shared_data, tmp_path, tiny_model, monkeypatch):
    """The disk fills between a chunk's pages and its patents' title vectors: the message
    says the pages went in (it said "nothing was written") and what is missing, and adding
    the same source again completes the title vectors."""
    from core import text_index
    from core.store import DiskFullError

    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", PATENTS[:2])
    n_pages = len(manifest.read_text().splitlines())
    real = text_index.update_text_vectors

    def full(*args, **kw):
        raise DiskFullError("disk full")
    monkeypatch.setattr(text_index, "update_text_vectors", full)
    with Library(tmp_path / "lib", create=True) as lib:
        with pytest.raises(DiskFullError) as err:
            ingest(lib, [manifest], tiny_model, allow_absolute=True, workers=0)
        assert f"{n_pages} page(s) were added" in str(err.value)
        assert "nothing was written" not in str(err.value)
        assert lib.info()["pages"] == n_pages
        assert len(text_index.missing_text_vectors(lib, tiny_model)) == 2
        monkeypatch.setattr(text_index, "update_text_vectors", real)
        again = ingest(lib, [manifest], tiny_model, allow_absolute=True, workers=0)
        assert again.pages_added == 0
        assert text_index.missing_text_vectors(lib, tiny_model) == []


@pytest.mark.slow
def test_a_title_that_arrives_later_reaches_the_text_search(drawing_manifest, tmp_path,
                                                             tiny_model):
    """A patent first added without a title gets it from a later source (empty fields are
    filled); its text vector follows, so a title query finds it."""
    from core.text_index import TextIndex

    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()][:2]
    for r in rows:
        r["image"] = str(drawing_manifest.parent / r["image"])
    first, later = tmp_path / "first.jsonl", tmp_path / "later.jsonl"
    first.write_text(json.dumps({**rows[0], "title": None}) + "\n")
    later.write_text(json.dumps(rows[1]) + "\n")
    pid = rows[0]["patent_id"]
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [first], tiny_model, workers=0, allow_absolute=True)
        untitled = TextIndex.load(lib, tiny_model.model_id).vectors[0].copy()
        ingest(lib, [later], tiny_model, workers=0, allow_absolute=True)
        assert lib.store.conn.execute("SELECT title FROM patents WHERE patent_id=?",
                                      (pid,)).fetchone()[0] == rows[1]["title"]
        titled = TextIndex.load(lib, tiny_model.model_id).vectors[0]
        assert not np.allclose(titled, untitled)
        fresh = Library(tmp_path / "fresh", create=True)
        with fresh:
            ingest(fresh, [later], tiny_model, workers=0, allow_absolute=True)
            assert np.allclose(TextIndex.load(fresh, tiny_model.model_id).vectors[0], titled,
                               atol=1e-6)


def test_a_corrected_manifest_corrects_the_library_and_the_date_cutoff(drawing_manifest,
                                                                        tmp_path, tiny_model):
    """A source added again with a fixed grant date, title and class for a patent it gave
    updates that patent (the index's date cutoff too); another source's different values
    are reported and left alone; a grant date in the future is refused."""
    import shutil

    from core.text_index import TextIndex

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    rows = [json.loads(x) for x in (src / "manifest.jsonl").read_text().splitlines()]
    pid = rows[0]["patent_id"]
    wrong = [{**r, "grant_date": "2025-01-07"} if r["patent_id"] == pid else r for r in rows]
    (src / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in wrong) + "\n")
    query = SearchQuery(image=src / rows[0]["image"], k=50, before=date(2012, 1, 1))

    def text_vector(library):
        ti = TextIndex.load(library, tiny_model.model_id)
        return ti.vectors[list(ti.patent_ids).index(pid)].copy()

    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        untitled = text_vector(lib)
        searcher = Searcher(lib, tiny_model)
        assert pid not in {h.patent_id for h in searcher.search(query).results}
        fixed = [{**r, "title": "Corrected cup", "locarno": "07-02"} if r["patent_id"] == pid
                 else r for r in rows]
        (src / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in fixed) + "\n")
        report = ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 0 and len(report.corrected) == 1
        assert report.corrected[0].startswith(f"{pid} from {src / 'manifest.jsonl'}: ")
        assert "grant_date 2025-01-07 -> 2010-01-05" in report.corrected[0]
        got = lib.store.patent(pid)
        assert (got["grant_date"], got["title"], got["locarno"]) == \
            ("2010-01-05", "Corrected cup", "07-02")
        assert pid in {h.patent_id for h in Searcher(lib, tiny_model).search(query).results}
        assert lib.store.count_figures_before(
            lib.store.figure_ids_of_patents([pid]), date(2012, 1, 1).toordinal()) == 2
        assert not np.allclose(text_vector(lib), untitled)      # it follows the title
        with Library(tmp_path / "fresh", create=True) as fresh:
            ingest(fresh, [src / "manifest.jsonl"], tiny_model, workers=0)
            assert np.allclose(text_vector(fresh), text_vector(lib), atol=1e-6)
        again = ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        assert again.corrected == [] and not again.warnings

        other = tmp_path / "other.jsonl"     # another source, other date: reported, not applied
        other.write_text(json.dumps({**rows[0], "image": str(src / rows[0]["image"]),
                                     "grant_date": "2011-01-04"}) + "\n")
        report = ingest(lib, [other], tiny_model, workers=0, allow_absolute=True)
        assert report.corrected == [] and lib.store.patent(pid)["grant_date"] == "2010-01-05"
        assert [w for w in report.warnings if "other metadata" in w] == [
            f"{pid}: {other} gives other metadata (title Corrected cup -> "
            f"{rows[0]['title']}; grant_date 2010-01-05 -> 2011-01-04; locarno 07-02 -> "
            f"{rows[0]['locarno']}); the library keeps what the patent's first source gave "
            f"(to correct it, fix and add {src / 'manifest.jsonl'} again)"]
        future = tmp_path / "future.jsonl"
        future.write_text(json.dumps({**rows[0], "image": str(src / rows[0]["image"]),
                                      "patent_id": "D0999999", "grant_date": "2099-01-06",
                                      "filing_date": "2098-01-01"}) + "\n")
        report = ingest(lib, [future], tiny_model, workers=0, allow_absolute=True)
        assert report.pages_added == 0 and lib.store.patent("D0999999") is None
        assert report.errors == [(f"{future.name} line 1", "D0999999: grant date 2099-01-06 "
                                  "is in the future: not a granted patent; patent skipped")]

        # its own source with the date blanked: the library keeps the date and says so (it
        # said the patent was now undated, excluded by any cutoff, and kept it prior art)
        blank = [{**r, "grant_date": None} if r["patent_id"] == pid else r for r in fixed]
        (src / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in blank) + "\n")
        report = ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        assert lib.store.patent(pid)["grant_date"] == "2010-01-05"
        assert pid in {h.patent_id for h in Searcher(lib, tiny_model).search(query).results}
        assert [w for w in report.warnings if "the date the library" in w] == [
            f"1 patent given no grant date here keeps the date the library has ({pid} "
            "2010-01-05): it is prior art to later filing dates as before (an empty field "
            "never clears one; a wrong date is corrected by giving the right one in the "
            "patent's own source)"]


def test_patents_a_source_leaves_undated_are_said_as_the_run_leaves_them(drawing_manifest,
                                                                         tmp_path, tiny_model):
    """A manifest without a patent's grant date beside one that gives it: the patent is
    dated, and nothing calls it undated (the first manifest's warning said it was kept
    undated, excluded by any cutoff); alone, the manifest leaves it undated and says so."""
    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    pid = rows[0]["patent_id"]
    undated = tmp_path / "undated.jsonl"
    undated.write_text("".join(json.dumps({**r, "image": str(drawing_manifest.parent /
                                                            r["image"]),
                                           "grant_date": None if r["patent_id"] == pid
                                           else r["grant_date"]}) + "\n" for r in rows))
    dated = tmp_path / "dated.jsonl"
    dated.write_text("".join(json.dumps({**r, "image": str(drawing_manifest.parent /
                                                          r["image"])}) + "\n" for r in rows))
    for order in ([undated, dated], [dated, undated]):
        with Library(tmp_path / f"lib-{order[0].stem}", create=True) as lib:
            report = ingest(lib, order, tiny_model, workers=0, allow_absolute=True)
            assert lib.store.patent(pid)["grant_date"] == rows[0]["grant_date"]
            assert not [w for w in report.warnings if "grant date" in w], report.warnings
    with Library(tmp_path / "alone", create=True) as lib:
        report = ingest(lib, [undated], tiny_model, workers=0, allow_absolute=True)
        assert lib.store.patent(pid)["grant_date"] is None
        assert [w for w in report.warnings if "grant date" in w] == [
            f"1 patent has no grant date and stays undated (excluded by any date cutoff): {pid}"]


def test_a_folder_and_a_manifest_naming_some_of_its_images_in_one_run(drawing_manifest,
                                                                       tmp_path, tiny_model):
    """Named after the folder, the manifest's image was taken as the folder's undated
    stand-in and its patent never made; either way the run said both images stayed undated."""
    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    (tmp_path / "F").mkdir()
    shutil.copy(drawing_manifest.parent / rows[0]["image"], tmp_path / "F" / "p.png")
    shutil.copy(drawing_manifest.parent / rows[-1]["image"], tmp_path / "F" / "q.png")
    (tmp_path / "F" / "sub").mkdir()            # a name twice: each said by its path
    shutil.copy(drawing_manifest.parent / rows[-3]["image"], tmp_path / "F" / "sub" / "q.png")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({**rows[0], "image": "F/p.png"}) + "\n")
    for n, order in enumerate([[tmp_path / "F", manifest], [manifest, tmp_path / "F"]]):
        with Library(tmp_path / f"lib{n}", create=True) as lib:
            report = ingest(lib, order, tiny_model, workers=0)
            assert lib.store.patent(rows[0]["patent_id"])["grant_date"] == rows[0]["grant_date"]
            undated = [pid for (pid,) in lib.store.conn.execute(
                "SELECT patent_id FROM patents WHERE grant_date IS NULL")]
            assert len(undated) == 2 and sorted(undated)[0].startswith("IMG-F-q")
            assert [w for w in report.warnings if "grant date" in w] == [
                "2 images have no grant date in their file name and stay undated (excluded by "
                f"any date cutoff): {tmp_path / 'F' / 'q.png'}, {tmp_path / 'F/sub/q.png'}"]


def test_updating_scans_exactly_the_files_and_folders_that_were_added(drawing_manifest,
                                                                       tmp_path, tiny_model):
    """A manifest and a single image are registered as themselves, not as their folders:
    updating the library re-reads them and takes no other file of those folders (stray
    images, reports, screenshots) for a patent. A manifest an older version registered as its
    folder is left out of updates with a note, and adding the file again moves the row."""
    import shutil

    from core.overview import source_paths

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    rows = [json.loads(x) for x in (src / "manifest.jsonl").read_text().splitlines()]
    (src / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:4]) + "\n")
    (src / "m2.jsonl").write_text("\n".join(json.dumps(r) for r in rows[4:6]) + "\n")
    single = src / rows[8]["image"]                 # one unlisted sheet, added on its own
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl", single], tiny_model, workers=0)
        registered = {p: k for k, p in lib.store.conn.execute("SELECT kind, path FROM sources")}
        assert registered == {str(src / "manifest.jsonl"): "manifest", str(single): "folder"}
        before = lib.info()
        paths, notes = source_paths(lib)
        report = ingest(lib, paths, tiny_model, workers=0)
        assert notes == [] and report.pages_added == 0 and lib.info() == before

        lib.store.conn.execute("UPDATE sources SET path=? WHERE kind='manifest'", (str(src),))
        (src / "manifest.jsonl").rename(src / "first.jsonl")   # a folder without manifest.jsonl
        paths, notes = source_paths(lib)
        assert paths == [str(single)] and notes == [
            f"{src}: registered as a folder by an older version, not as the manifest file in "
            "it; add that file again to update from it"]
        ingest(lib, [src / "first.jsonl"], tiny_model, workers=0)
        assert dict(lib.store.conn.execute("SELECT path, kind FROM sources")) == {
            str(src / "first.jsonl"): "manifest", str(single): "folder"}
        assert lib.info() == before


def test_a_plain_folder_renamed_or_copied_under_another_name_is_the_same_drawings(
        drawing_manifest, tmp_path, tiny_model):
    """A plain folder's images are filed under stand-ins named after their path: renamed,
    the folder's images were added again as new undated patents (every result twice), and
    a copy under another name the same; they are its drawings, moved or copied."""
    import shutil

    scans = tmp_path / "scans"
    scans.mkdir()
    for sheet in sorted(drawing_manifest.parent.glob("*.png"))[:3]:
        shutil.copy2(sheet, scans / sheet.name)
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [scans], tiny_model, workers=0)
        figures = lib.store.conn.execute("SELECT id, page_id FROM figures ORDER BY id").fetchall()
        patents = {p for (p,) in lib.store.conn.execute("SELECT patent_id FROM patents")}
        report = ingest(lib, [scans.rename(tmp_path / "week-49")], tiny_model, workers=0)
        assert (report.pages_added, report.pages_moved) == (0, 3)
        assert lib.store.conn.execute(
            "SELECT id, page_id FROM figures ORDER BY id").fetchall() == figures
        assert {p for (p,) in lib.store.conn.execute("SELECT patent_id FROM patents")} == patents
        shutil.copytree(tmp_path / "week-49", tmp_path / "backup")
        report = ingest(lib, [tmp_path / "backup"], tiny_model, workers=0)
        assert report.pages_added == 0 and "3 page(s) are copies" in " ".join(report.warnings)
        assert lib.store.counts()["figures"] == len(figures) and not missing_page_files(lib)


def test_a_moved_manifest_folder_corrects_its_patents_and_its_old_place_is_forgotten(
        drawing_manifest, tmp_path, tiny_model):
    """A manifest's folder moved and added from its new place: its pages follow, but its
    patents stayed with the old registration, so a title fixed in the moved manifest was
    refused as another source's ("fix and add <the old path, gone> again"), and every
    Update reported the old path as skipped."""
    import json
    import shutil

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        moved = src.rename(tmp_path / "moved")
        report = ingest(lib, [moved / "manifest.jsonl"], tiny_model, workers=0)
        assert (report.pages_added, report.pages_moved) == (0, 24)
        assert [p for (p,) in lib.store.conn.execute("SELECT path FROM sources")] == [
            str(moved / "manifest.jsonl")]
        rows = [json.loads(x) for x in (moved / "manifest.jsonl").read_text().splitlines()]
        rows[0]["title"] = "Corrected chair"
        (moved / "manifest.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
        report = ingest(lib, [moved / "manifest.jsonl"], tiny_model, workers=0)
        assert not [w for w in report.warnings if "gives other metadata" in w]
        assert lib.store.conn.execute("SELECT title FROM patents WHERE patent_id=?",
                                      (rows[0]["patent_id"],)).fetchone()[0] == "Corrected chair"


def test_a_manifest_naming_a_folders_images_by_another_path_files_them_once(
        drawing_manifest, tmp_path, tiny_model):
    """A folder's images, then a manifest naming the same drawings elsewhere (a copy of them,
    or the folder moved with the manifest written into it): the pages were indexed a second
    time under the manifest's patent, every result twice, the stand-ins' ratings left on
    missing files; added the other way round, once. They are filed under the patent."""
    import shutil

    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    mine = [r for r in rows if r["patent_id"] == rows[0]["patent_id"]]
    for case in ("copy", "moved"):
        folder = tmp_path / case / "P"
        folder.mkdir(parents=True)
        for r in mine:
            shutil.copy2(drawing_manifest.parent / r["image"], folder / r["image"])
        with Library(tmp_path / case / "lib", create=True) as lib:
            ingest(lib, [folder], tiny_model, workers=0)
            figures = lib.store.conn.execute("SELECT id FROM figures ORDER BY id").fetchall()
            if case == "copy":
                manifest = tmp_path / case / "manifest.jsonl"
                manifest.write_text("".join(json.dumps(
                    {**r, "image": str(drawing_manifest.parent / r["image"])}) + "\n"
                    for r in mine))
            else:
                folder = folder.rename(tmp_path / case / "Q")
                manifest = folder / "manifest.jsonl"
                manifest.write_text("".join(json.dumps(r) + "\n" for r in mine))
            report = ingest(lib, [manifest], tiny_model, workers=0, allow_absolute=True)
            assert report.pages_added == 0 and len(report.refiled) == len(mine), case
            assert report.pages_moved == (len(mine) if case == "moved" else 0)
            assert {p for (p,) in lib.store.conn.execute(
                "SELECT patent_id FROM patents")} == {rows[0]["patent_id"]}
            assert lib.store.conn.execute(
                "SELECT id FROM figures ORDER BY id").fetchall() == figures
            assert not missing_page_files(lib)


def test_a_folder_image_named_by_its_path_and_by_a_copy_in_one_run_goes_to_its_own(
        drawing_manifest, tmp_path, tiny_model):
    """One run of a manifest naming a folder's image by its own path and another naming a
    copy of it under another patent: the page went to whichever came last, the first patent
    left without pages; run one at a time, each patent had its page."""
    import shutil

    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    (tmp_path / "scans").mkdir()
    (tmp_path / "copy").mkdir()
    shutil.copy2(drawing_manifest.parent / rows[0]["image"], tmp_path / "scans" / "x.png")
    shutil.copy2(drawing_manifest.parent / rows[0]["image"], tmp_path / "copy" / "z.png")
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({**rows[0], "image": str(tmp_path / "scans" / "x.png")}) + "\n")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({**rows[0], "image": str(tmp_path / "copy" / "z.png"),
                                 "patent_id": "D0999999"}) + "\n")
    for n, order in enumerate([[own, other], [other, own]]):
        with Library(tmp_path / f"lib{n}", create=True) as lib:
            ingest(lib, [tmp_path / "scans"], tiny_model, workers=0)
            report = ingest(lib, order, tiny_model, workers=0, allow_absolute=True)
            assert len(report.refiled) == 1 and report.pages_added == 1, order
            pages = dict(lib.store.conn.execute("SELECT path, patent_id FROM pages"))
            assert pages == {str(tmp_path / "scans" / "x.png"): rows[0]["patent_id"],
                             str(tmp_path / "copy" / "z.png"): "D0999999"}, order


def test_a_replay_says_folder_images_filed_under_their_patents_since(drawing_manifest,
                                                                     tmp_path, tiny_model):
    """Folder images filed under their patents after a search: its replay said the results
    came from patents "added" and "corrected" since, neither of which happened."""
    import shutil

    from core.audit import replay

    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()][:8]
    (tmp_path / "scans").mkdir()
    for r in rows:
        shutil.copy2(drawing_manifest.parent / r["image"], tmp_path / "scans" / r["image"])
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [tmp_path / "scans"], tiny_model, workers=0)
        searcher = Searcher(lib, tiny_model)
        sid = searcher.search(SearchQuery(image=tmp_path / "scans" / rows[0]["image"], k=5,
                                          per_patent=True), log=True).search_id
        (tmp_path / "scans" / "manifest.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows))
        report = ingest(lib, [tmp_path / "scans" / "manifest.jsonl"], tiny_model, workers=0)
        assert len(report.refiled) == len(rows)
        result = replay(Searcher(lib, tiny_model), sid)
        assert not result.reproduced and result.new_refiled and result.gone_refiled
        assert (result.new_added_since, result.new_corrected, result.gone_corrected,
                result.gone_removed) == (0, 0, 0, 0)
        assert "folder images filed under a patent since" in result.text()
        assert "added" not in result.text() and "corrected" not in result.text()


def test_identical_images_of_a_moved_folder_are_one_move_and_a_copy(drawing_manifest,
                                                                     tmp_path, tiny_model):
    """Two files of the same bytes in a folder (one indexed, one a copy): the folder moved,
    both were taken as the move of its page, the last one winning."""
    import shutil

    folder = tmp_path / "A"
    folder.mkdir()
    sheet = sorted(drawing_manifest.parent.glob("*.png"))[0]
    shutil.copy2(sheet, folder / "a.png")
    shutil.copy2(sheet, folder / "a_dup.png")
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [folder], tiny_model, workers=0)
        assert lib.store.counts()["pages"] == 1
        report = ingest(lib, [folder.rename(tmp_path / "B")], tiny_model, workers=0)
        assert report.pages_moved == 1 and "1 page(s) are copies" in " ".join(report.warnings)
        assert [p for (p,) in lib.store.conn.execute("SELECT path FROM pages")] == [
            str(tmp_path / "B" / "a.png")]


def test_a_title_stored_decomposed_is_not_corrected_by_the_same_title_composed(
        drawing_manifest, tmp_path, tiny_model):
    """A library holding a title decomposed (stored before titles were kept composed, or from
    a Mac's text) was "corrected" to the same title composed when its source was added again,
    and the patent's enriched descriptions dropped with it."""
    import json
    import shutil
    import unicodedata

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    rows = [json.loads(ln) for ln in (src / "manifest.jsonl").read_text().splitlines()]
    for r in rows:
        r["title"] = f"Crème {r['title']}"
        r["figure_descriptions"] = [d + " (façade)" for d in r["figure_descriptions"]]
    (src / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        with lib.store.transaction() as conn:
            for pid, title, figures in conn.execute(
                    "SELECT patent_id, title, figure_descriptions FROM patents").fetchall():
                conn.execute("UPDATE patents SET title=?, figure_descriptions=? "
                             "WHERE patent_id=?", (unicodedata.normalize("NFD", title), json.dumps(
                                 [unicodedata.normalize("NFD", d) for d in json.loads(figures)]),
                                 pid))
        report = ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        assert report.corrected == [] and not report.warnings


def test_a_copied_folder_adds_nothing_and_a_moved_one_is_followed(drawing_manifest, tmp_path,
                                                                   tiny_model):
    """The same drawings added again from a copy of their folder are not indexed twice (no
    duplicate results); added from the folder they were moved to, the library points at the
    new place, keeps every figure id (so the search log and ratings still name them) and
    rebuilds without a missing file."""
    import shutil

    from core.ingest import rebuild

    first = tmp_path / "first"
    shutil.copytree(drawing_manifest.parent, first)
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [first / "manifest.jsonl"], tiny_model, workers=0)
        figures = lib.store.conn.execute("SELECT id, page_id FROM figures ORDER BY id").fetchall()
        pages = lib.store.counts()["pages"]

        shutil.copytree(first, tmp_path / "copy")
        report = ingest(lib, [tmp_path / "copy" / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 0 and report.pages_already_present == pages
        assert "copies of pages already in the library" in " ".join(report.warnings)
        assert lib.store.counts()["pages"] == pages

        from core.audit import AuditError, query_of, replay, search_record

        sheet = sorted(first.glob("*.png"))[0]       # a search made with a library page
        sid = Searcher(lib, tiny_model).search(SearchQuery(image=sheet, k=5), log=True
                                               ).search_id
        first.rename(tmp_path / "moved")
        report = ingest(lib, [tmp_path / "moved" / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 0 and report.pages_moved == pages
        with pytest.raises(AuditError, match="gone"):
            query_of(search_record(lib.store, sid))
        assert replay(Searcher(lib, tiny_model), sid).reproduced     # found where it went
        assert "moved" in report.summary()
        paths = [p for (p,) in lib.store.conn.execute("SELECT path FROM pages")]
        assert all(p.startswith(str(tmp_path / "moved")) for p in paths)
        assert lib.store.conn.execute(
            "SELECT id, page_id FROM figures ORDER BY id").fetchall() == figures
        report = rebuild(lib, tiny_model, workers=0)
        assert not report.errors and f"of {report.patents_added} patents" in report.summary()
        assert report.patents_added == 12

    # a folder and its copy in one run: each drawing once
    with Library(tmp_path / "lib2", create=True) as lib:
        report = ingest(lib, [tmp_path / "moved" / "manifest.jsonl",
                              tmp_path / "copy" / "manifest.jsonl"], tiny_model, workers=0)
        assert lib.store.counts()["pages"] == pages == report.pages_added
    # a file of the same name and size but other content at the new place is a new page
    from PIL import Image, PngImagePlugin

    def rewrite(path, note):                     # other bytes, the same size
        info = PngImagePlugin.PngInfo()
        info.add_text("note", note)
        Image.open(path).save(path, pnginfo=info)

    sheet = sorted((tmp_path / "copy").glob("*.png"))[0]
    rewrite(sheet, "a")
    with Library(tmp_path / "lib3", create=True) as lib:
        ingest(lib, [tmp_path / "copy" / "manifest.jsonl"], tiny_model, workers=0)
        (tmp_path / "copy").rename(tmp_path / "copy2")
        sheet = tmp_path / "copy2" / sheet.name
        size = sheet.stat().st_size
        rewrite(sheet, "b")
        assert sheet.stat().st_size == size
        report = ingest(lib, [tmp_path / "copy2" / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_moved == pages - 1 and report.pages_added == 1

    # copied, checked, the original deleted (cp without -p: new times): followed, not doubled
    with Library(tmp_path / "lib4", create=True) as lib:
        ingest(lib, [tmp_path / "copy2" / "manifest.jsonl"], tiny_model, workers=0)
        figures = lib.store.conn.execute("SELECT id FROM figures ORDER BY id").fetchall()
        shutil.copytree(tmp_path / "copy2", tmp_path / "copy3", copy_function=shutil.copy)
        report = ingest(lib, [tmp_path / "copy3" / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 0
        shutil.rmtree(tmp_path / "copy2")
        report = ingest(lib, [tmp_path / "copy3" / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 0 and report.pages_moved == pages
        assert lib.store.conn.execute("SELECT id FROM figures ORDER BY id").fetchall() == figures

    # a file rewritten in place: told, with the remedy
    with Library(tmp_path / "lib5", create=True) as lib:
        ingest(lib, [tmp_path / "copy3" / "manifest.jsonl"], tiny_model, workers=0)
        sheet = tmp_path / "copy3" / sheet.name
        os.utime(sheet, (1e9, 1e9))              # touched only: the same bytes, no warning
        report = ingest(lib, [tmp_path / "copy3" / "manifest.jsonl"], tiny_model, workers=0)
        assert not any("changed" in w for w in report.warnings)
        rewrite(sheet, "c")
        os.utime(sheet, (2e9, 2e9))
        report = ingest(lib, [tmp_path / "copy3" / "manifest.jsonl"], tiny_model, workers=0)
        assert [w for w in report.warnings if "changed" in w] == [
            f"1 file(s) of pages already in the library have changed since they were added "
            f"(e.g. {sheet}): the index still holds their old drawings; `patent-examiner index "
            "rebuild` (Rebuild index) indexes them anew"]


def test_imagenet_model_ranks_own_patent_first(shared_data, tmp_path):
    """With real features, another sheet of the query's own patent is the top patent."""
    model = create_model("efficientnet_lite0", pretrained="imagenet")
    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", PATENTS)
    lib = Library(tmp_path / "lib", create=True)
    ingest(lib, [manifest], model, allow_absolute=True, workers=0)
    searcher = Searcher(lib, model)
    hits_at_1 = 0
    for pid in PATENTS:
        query = shared_data / "real_dev" / pid / "page02_sheet.png"
        resp = searcher.search(SearchQuery(image=query, k=10))
        others = [h for h in resp.results if not h.image.endswith(f"{pid}/page02_sheet.png")]
        hits_at_1 += others[0].patent_id == pid
    assert hits_at_1 >= len(PATENTS) - 1


def test_warm_up_loads_the_index_and_builds_the_query_encoder(tiny_library):
    """What the GUI runs when it opens a library, so the first query is not the slow one."""
    from core.models import create_model
    from core.search import Searcher

    lib, _, _ = tiny_library
    model = create_model("tiny_test", pretrained=None)      # a fresh object: nothing cached
    lib._index = None
    searcher = Searcher(lib, model)
    assert getattr(model, "_cpu_encoder", None) is None
    searcher.warm_up()
    assert lib._index is not None
    assert model._cpu_encoder._graph is not None


def _weekly_archive(shared_data, path, extra_members=()):
    """A weekly grant archive laid out as the USPTO ships it: a tar of per-grant ZIPs."""
    import io
    import tarfile
    import zipfile

    with tarfile.open(path, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for grant in sorted((shared_data / "uspto_redbook").iterdir()):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                for f in sorted(grant.iterdir()):
                    zf.write(f, f"{grant.name}/{f.name}")
            add(f"I20210126/DESIGN/{grant.name}.ZIP", buf.getvalue())
        for name, data in extra_members:
            add(name, data)
    return path


def test_weekly_grant_archive_is_unpacked_into_the_library_once(shared_data, tmp_path,
                                                                  tiny_model):
    import io
    import zipfile

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.xml", "<us-patent-grant/>")
    archive = _weekly_archive(shared_data, tmp_path / "I20210126.tar", [
        ("I20210126/DESIGN/USD0999999-20210126.ZIP", b"PK\x03\x04 damaged"),
        ("I20210126/DESIGN/USD0999998-20210126.ZIP", evil.getvalue())])
    lib = Library(tmp_path / "library", create=True)
    calls = []
    first = ingest(lib, [archive], tiny_model, workers=0,
                   progress=lambda *call: calls.append(call))
    assert first.patents_added == 5 and first.pages_added == 24
    # unpacking reports files without a total, so a bar in pages never shows the file count
    unpacking = [note for done, total, note in calls if note.startswith("unpacking")]
    assert unpacking and unpacking[-1].endswith("(7 / 7 files of I20210126.tar)")
    assert {total for done, total, note in calls if total} == {24}
    reasons = dict(first.errors)
    assert any("USD0999999" in item and "damaged" in why for item, why in reasons.items())
    assert any("unsafe file name" in why for why in reasons.values())
    assert not list(tmp_path.rglob("escaped.xml"))
    unpacked = [tmp_path / "library" / "archives", *(tmp_path / "library" / "archives").rglob("*")]
    assert all(p.stat().st_mode & 0o077 == 0 for p in unpacked)     # user only
    folder = tmp_path / "library" / "archives" / "I20210126"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(
        p.name for p in (shared_data / "uspto_redbook").iterdir())
    assert [r[0] for r in lib.store.conn.execute("SELECT path FROM sources")] == [str(folder)]
    again = ingest(lib, [archive], tiny_model, workers=0)       # same archive: nothing new
    assert again.pages_added == 0 and again.pages_already_present == 24
    # its two damaged files were listed when it was unpacked, not on every update
    assert not again.errors and again.warnings == [
        f"{archive}: 2 files in it could not be unpacked when it was added (listed then)"]
    os.utime(archive, (1e9, 1e9))                  # downloaded again: a new stamp, same grants
    again = ingest(lib, [archive], tiny_model, workers=0)
    assert again.pages_added == 0 and again.pages_already_present == 24
    assert dict(again.errors).keys() == reasons.keys()          # unpacked anew: listed anew
    assert lib.info()["patents"] == 5 and lib.info()["pages"] == 24
    assert json.loads((folder / ".unpacked.json").read_text())["mtime"] == 1e9
    lib.close()

    fresh = Library(tmp_path / "cancelled", create=True)          # the GUI's Cancel
    stop = threading.Event()
    report = ingest(fresh, [archive], tiny_model, workers=0, cancel=stop,
                    rollback_on_cancel=True,
                    progress=lambda done, total, note: note.endswith("TIF") and stop.set())
    assert report.cancelled and fresh.info()["pages"] == 0
    assert not (tmp_path / "cancelled" / "archives").exists()    # (nor the folder for it)
    fresh.close()


def test_a_weekly_archive_unpacks_no_utility_or_plant_grants(shared_data, tmp_path, tiny_model):
    """A week's tar is mostly utility grants: each was unpacked into the library with all its
    drawings and kept there, never indexed."""
    import io
    import zipfile

    def grant_zip(stem: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(f"{stem}/{stem}.XML", "<us-patent-grant/>")
            zf.writestr(f"{stem}/{stem}-D00001.TIF", b"II*\x00" + bytes(4096))
        return buf.getvalue()
    others = ["I20210126/UTIL0901/US10901234-20210126.ZIP",
              "I20210126/PLANT/USPP032999-20210126.ZIP", "I20210126/SIR/USH0002345-20210126.ZIP"]
    (tmp_path / "downloads").mkdir()
    archive = _weekly_archive(shared_data, tmp_path / "downloads" / "I20210126.tar",
                              [(name, grant_zip(name.rsplit("/", 1)[1][:-4])) for name in others])
    with Library(tmp_path / "library", create=True) as lib:
        report = ingest(lib, [tmp_path / "downloads"], tiny_model, workers=0)
        assert report.patents_added == 5 and not report.errors
        assert report.warnings == [f"{archive}: left packed: 3 grant ZIPs of utility, plant or "
                                   "SIR grants (US10901234-20210126.ZIP, USPP032999-20210126.ZIP,"
                                   " USH0002345-20210126.ZIP), not design patents"]
        folder = tmp_path / "library" / "archives" / "I20210126"
        assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(
            p.name for p in (shared_data / "uspto_redbook").iterdir())
        from core.overview import source_paths

        again = ingest(lib, source_paths(lib)[0], tiny_model, workers=0)    # an update: the
        assert again.pages_already_present == 24 and again.pages_added == 0   # unpacked folder
        assert not again.warnings and not again.errors      # read once, nothing said again

        import tarfile                      # a week of utility grants only: said so
        only = tmp_path / "I20210202.tar"
        with tarfile.open(only, "w") as tar:
            data = grant_zip("US10999999-20210202")
            info = tarfile.TarInfo("I20210202/UTIL0999/US10999999-20210202.ZIP")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        report = ingest(lib, [only], tiny_model, workers=0)
        assert report.errors == [(str(only), "it holds no design grant; left packed: 1 grant "
                                  "ZIP of utility, plant or SIR grants (US10999999-20210202.ZIP)")]
        assert not (tmp_path / "library" / "archives" / "I20210202").exists()
        damaged = tmp_path / "I20210209.tar"    # its one design grant damaged: not "none"
        with tarfile.open(damaged, "w") as tar:
            for name, data in (("DESIGN/USD0930000-20210209.ZIP", b"PK\x03\x04 damaged"),
                               ("UTIL/US10999998-20210209.ZIP", grant_zip("US10999998"))):
                info = tarfile.TarInfo(f"I20210209/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        errors = ingest(lib, [damaged], tiny_model, workers=0).errors
        assert len(errors) == 2 and "damaged archive member" in errors[0][1]
        assert errors[1][1].startswith("none of its other grants could be unpacked (said above)")

    batch = tmp_path / "mine.tar"           # ZIPs named otherwise are unpacked as before
    with tarfile.open(batch, "w") as tar:
        grant = shared_data / "uspto_redbook" / "USD0908315-20210126"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for f in sorted(grant.iterdir()):
                zf.write(f, f"{grant.name}/{f.name}")
        info = tarfile.TarInfo("batch/US2021-designs-part1.zip")
        info.size = len(buf.getvalue())
        tar.addfile(info, io.BytesIO(buf.getvalue()))
    with Library(tmp_path / "other", create=True) as lib:
        report = ingest(lib, [batch], tiny_model, workers=0)
        assert report.patents_added == 1 and not report.warnings


def test_a_moved_or_copied_library_names_its_own_unpacked_drawings(shared_data, tmp_path,
                                                                    tiny_model):
    """The drawings of a grant archive are unpacked into the library: moved, it lost them
    ("no longer where they were added"), and a copy named the original's files."""
    import shutil

    from core.library import missing_page_files

    archive = _weekly_archive(shared_data, tmp_path / "I20210126.tar", [])
    with Library(tmp_path / "library", create=True) as lib:
        assert ingest(lib, [archive], tiny_model, workers=0).pages_added == 24
    shutil.copytree(tmp_path / "library", tmp_path / "copy")
    (tmp_path / "library").rename(tmp_path / "moved")
    for name in ("moved", "copy"):
        with Library(tmp_path / name) as lib:
            assert missing_page_files(lib) == []
            paths = [p for (p,) in lib.store.conn.execute("SELECT path FROM pages UNION ALL "
                                                          "SELECT path FROM sources")]
            assert paths and all(p.startswith(str(tmp_path / name / "archives")) for p in paths)
            query = next((tmp_path / name / "archives").rglob("*D00001.TIF"))
            assert Searcher(lib, tiny_model).search(SearchQuery(image=query, k=3)).results
    with Library(tmp_path / "copy") as lib:       # and the source updates where it lies
        from core.overview import source_paths

        assert ingest(lib, source_paths(lib)[0], tiny_model, workers=0).pages_added == 0


def test_a_rebuild_keeps_the_unpacked_archives_and_kept_queries(shared_data, tmp_path,
                                                                tiny_model):
    """The drawings of a grant archive and pasted queries live in the library folder: a
    rebuild carries them into the rebuilt library (it deleted them with the old folder), and
    a swap interrupted half way carries the rest when the library next opens."""
    from core.ingest import rebuild
    from core.library import REBUILD_MARKER, REBUILD_SUFFIX, finish_interrupted_swap, \
        missing_page_files

    archive = _weekly_archive(shared_data, tmp_path / "I20210126.tar", [])
    path = tmp_path / "library"
    with Library(path, create=True) as lib:
        assert ingest(lib, [archive], tiny_model, workers=0).pages_added == 24
    (path / "queries").mkdir()
    (path / "queries" / "pasted-00.png").write_bytes(b"kept")
    for _ in range(2):                          # (the second needs the files the first kept)
        with Library(path) as lib:
            assert rebuild(lib, tiny_model, workers=0).pages_added == 24
        with Library(path) as lib:
            assert missing_page_files(lib) == []
        assert (path / "queries" / "pasted-00.png").read_bytes() == b"kept"
    aside = path.with_name(path.name + REBUILD_SUFFIX)
    shutil.copytree(path, aside, ignore=shutil.ignore_patterns("archives", "queries"))
    (aside / REBUILD_MARKER).touch()
    (path / "queries").rename(aside / "queries")        # interrupted after one move
    finish_interrupted_swap(path)
    old = path.with_name(path.name + ".old")
    assert not aside.exists() and not old.exists()
    assert {p.name for p in path.iterdir()} >= {"archives", "queries", "index", "library.sqlite"}
    with Library(path) as lib:
        assert missing_page_files(lib) == []
    old.mkdir()                                         # killed after the last rename
    (path / REBUILD_MARKER).touch()
    finish_interrupted_swap(path)
    assert not old.exists() and not (path / REBUILD_MARKER).exists()
    path.rename(tmp_path / "moved")                     # a rebuilt library moved: followed
    with Library(tmp_path / "moved") as lib:
        assert missing_page_files(lib) == []


def test_a_library_kept_inside_its_folder_of_drawings_does_not_index_itself(shared_data,
                                                                             tmp_path,
                                                                             tiny_model):
    """Adding the folder again (to pick up new pages) indexed the library's cached thumbnails
    as undated patents."""
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    grant = shared_data / "uspto_redbook" / "USD0925765-20210720"
    for tif in sorted(grant.glob("*.TIF"))[:2]:
        shutil.copy(tif, imgs / tif.name)
    with Library(imgs / "lib", create=True) as lib:
        assert ingest(lib, [imgs], tiny_model, workers=0).pages_added == 2
        before = lib.store.counts()
    (imgs / "lib" / "thumbnails").mkdir(exist_ok=True)
    shutil.copy(imgs / sorted(p.name for p in imgs.glob("*.TIF"))[0],
                imgs / "lib" / "thumbnails" / "cached.tif")
    with Library(imgs / "lib") as lib:
        again = ingest(lib, [imgs], tiny_model, workers=0)
        assert again.pages_added == 0 and lib.store.counts() == before
        # the library's folder itself as a source: said as such (it held "nothing usable")
        shutil.copy(imgs / sorted(p.name for p in imgs.glob("*.TIF"))[0], imgs / "lib")
        errors = ingest(lib, [imgs / "lib"], tiny_model, workers=0).errors
        assert errors == [(str(imgs / "lib"), f"{imgs / 'lib'}: a library's own folder, whose "
                           "files are not read as drawings: keep the drawings in a folder of "
                           "their own and add that")]


def test_archives_of_the_same_name_keep_their_own_drawings(shared_data, tmp_path, tiny_model):
    """Weekly downloads all called weekly.tar (or a .tar and a .zip of one week) unpack into
    folders of their own: none overwrites another's drawings, in one run or in several."""
    import tarfile
    import zipfile

    from core.library import missing_page_files

    grants = sorted((shared_data / "uspto_redbook").iterdir())[:3]
    made = []
    for i, grant in enumerate(grants):
        folder = tmp_path / f"week{i}"
        folder.mkdir()
        if i < 2:
            path = folder / "weekly.tar"
            with tarfile.open(path, "w") as tar:
                tar.add(grant, arcname=grant.name)
        else:
            path = folder / "weekly.zip"
            with zipfile.ZipFile(path, "w") as zf:
                for f in sorted(grant.iterdir()):
                    zf.write(f, f"{grant.name}/{f.name}")
        made.append(path)
    with Library(tmp_path / "one_run", create=True) as lib:
        ingest(lib, made, tiny_model, workers=0)
        assert lib.info()["patents"] == 3 and not missing_page_files(lib)
    with Library(tmp_path / "runs", create=True) as lib:
        for path in [*made, made[0]]:            # the first added again at the end
            ingest(lib, [path], tiny_model, workers=0)
        assert lib.info()["patents"] == 3 and not missing_page_files(lib)
        assert len(list((tmp_path / "runs" / "archives").iterdir())) == 3

    # a folder of downloads: its archives are added, and updating takes the new ones
    from core.overview import source_paths

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    made[0].rename(downloads / "w0.tar")
    with Library(tmp_path / "folder", create=True) as lib:
        report = ingest(lib, [downloads], tiny_model, workers=0)
        assert lib.info()["patents"] == 1 and not report.errors
        made[1].rename(downloads / "w1.tar")      # next week's download
        paths, _ = source_paths(lib)
        assert str(downloads) in paths
        ingest(lib, paths, tiny_model, workers=0)
        assert lib.info()["patents"] == 2 and not missing_page_files(lib)


def test_a_damaged_archive_of_a_folder_fixed_and_added_alone_is_skipped_no_more(
        shared_data, tmp_path, tiny_model, monkeypatch):
    """Paths typed relative: the folder's skip of the archive named it as typed, which the
    archive's own run (absolute) never matched, so it stayed listed after it was added."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "week").mkdir()
    (tmp_path / "week" / "I20210126.tar").write_bytes(b"not a tar at all" * 100)
    with Library(tmp_path / "library", create=True) as lib:
        report = ingest(lib, ["week"], tiny_model, workers=0)
        assert [item for item, _ in report.errors] == [str(tmp_path / "week" / "I20210126.tar")]
        _weekly_archive(shared_data, tmp_path / "week" / "I20210126.tar")
        assert ingest(lib, ["week/I20210126.tar"], tiny_model, workers=0).pages_added
        assert lib.store.conn.execute("SELECT item FROM ingest_errors").fetchall() == []
    # added through a link to its folder, fixed and added by its own path: the same file
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "I20210126.tar").write_bytes(b"not a tar at all" * 100)
    (tmp_path / "dlink").symlink_to(tmp_path / "dl")
    with Library(tmp_path / "library2", create=True) as lib:
        ingest(lib, ["week/I20210126.tar"], tiny_model, workers=0)
        report = ingest(lib, ["dlink"], tiny_model, workers=0)
        assert [item for item, _ in report.errors] == [str(tmp_path / "dlink" / "I20210126.tar")]
        _weekly_archive(shared_data, tmp_path / "dl" / "I20210126.tar")
        ingest(lib, ["dl/I20210126.tar"], tiny_model, workers=0)
        assert lib.store.conn.execute("SELECT item FROM ingest_errors").fetchall() == []


def test_archive_that_is_not_one_or_a_full_disk_is_a_clear_error(shared_data, tmp_path,
                                                                  tiny_model, monkeypatch):
    import shutil
    from collections import namedtuple

    bad = tmp_path / "grants.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    archive = _weekly_archive(shared_data, tmp_path / "I20210126.tar")
    with Library(tmp_path / "library", create=True) as lib:
        report = ingest(lib, [bad], tiny_model, workers=0)
        assert report.pages_added == 0
        assert report.errors and "not a readable archive" in report.errors[0][1]
        cut = tmp_path / "cut.tar"          # an interrupted download
        cut.write_bytes(archive.read_bytes()[:archive.stat().st_size * 9 // 10])
        report = ingest(lib, [cut], tiny_model, workers=0)
        assert report.pages_added == 0 and "it ends early" in report.errors[0][1]
        import zipfile

        zipfile.ZipFile(tmp_path / "empty.zip", "w").close()      # named as the user gave it
        report = ingest(lib, [tmp_path / "empty.zip"], tiny_model, workers=0)
        assert report.errors == [(str(tmp_path / "empty.zip"), f"{tmp_path / 'empty.zip'}: "
                                  "holds nothing usable (no manifest.jsonl, grant XML, "
                                  "drawing files or grant archives)")]
        assert not (tmp_path / "library" / "archives").exists()   # (none left, nor its folder)
        import tarfile

        packed = tmp_path / "my_set.tar"     # a manifest and its images: not grant files
        manifest = shared_data / "real_dev" / "manifest.jsonl"
        with tarfile.open(packed, "w") as tf:
            tf.add(manifest, "my_set/manifest.jsonl")
            tf.add(shared_data / "real_dev" / "D0906013", "my_set/D0906013")
        report = ingest(lib, [packed], tiny_model, workers=0)
        assert report.pages_added == 0 and report.errors == [(str(packed), (
            f"{packed}: holds a manifest (my_set/manifest.jsonl), not USPTO grant files: "
            "unpack it and add the manifest"))]
        assert not (tmp_path / "library" / "archives").exists()
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**6, 10**6))
        report = ingest(lib, [archive], tiny_model, workers=0)
        assert report.pages_added == 0 and "the disk is full" in report.errors[0][1]
        assert not (tmp_path / "library" / "archives").exists()   # no half unpacking


def test_deeppatent2_metadata_builds_a_dated_library(shared_data, tmp_path, tiny_model):
    """DeepPatent2 JSON (records of the 15 real sheets here): pages are the sheets, the grant
    date comes from the patent id, the object name stands in for the title."""
    import shutil

    images = sorted((shared_data / "deeppatent2_sheets" / "images").glob("*.png"))
    folder = tmp_path / "dp2"
    (folder / "images").mkdir(parents=True)
    records = []
    for img in images:
        shutil.copy(img, folder / "images" / img.name)     # a link out would be refused
        pid = img.stem.rsplit("-", 1)[0]                      # USD0871717-20200107
        records += [{"patentID": pid, "Figure_file": img.name, "subfigure_file":
                     f"{img.stem}_{k}.png", "object": "drinking cup", "aspect": "front view",
                     "classification_locarno": "0701"} for k in (1, 2)]
    records.append({"patentID": "USD0999999-20200107", "Figure_file": "missing.png"})
    records.append({"patentID": "USD0999998-20200107", "Figure_file": "../../etc/passwd"})
    (folder / "2020.json").write_text(json.dumps(records))
    with Library(tmp_path / "library", create=True) as lib:
        report = ingest(lib, [folder / "2020.json"], tiny_model, workers=0)
        patents = {img.stem.rsplit("-", 1)[0] for img in images}
        assert report.pages_added == len(images) == 15
        assert report.patents_added == len(patents) == 11
        reasons = " ".join(r for _, r in report.errors)
        assert "image not found: missing.png" in reasons and "leaves" in reasons
        rows = list(lib.store.conn.execute("SELECT DISTINCT grant_date, locarno, title FROM "
                                           "patents"))
        assert rows == [("2020-01-07", "07-01", "drinking cup")]
        searcher = Searcher(lib, tiny_model)
        query = SearchQuery(image=images[0], k=5)
        assert searcher.search(query).results                       # granted before today
        query.before = date(2020, 1, 7)                              # not before their grant
        assert not searcher.search(query).results
        from PIL import Image, PngImagePlugin

        note = PngImagePlugin.PngInfo()             # a patentID without its date: said once,
        note.add_text("note", "another sheet")      # by the run, with how ids give dates
        Image.open(images[0]).save(folder / "images" / "u.png", pnginfo=note)
        (folder / "2021.json").write_text(json.dumps(
            [{"patentID": "USD0912345", "Figure_file": "u.png", "object": "cup"}]))
        report = ingest(lib, [folder / "2021.json"], tiny_model, workers=0)
        assert [w for w in report.warnings if "grant date" in w] == [
            "1 patent has no grant date and stays undated (excluded by any date cutoff): "
            "D0912345; a DeepPatent2 patentID dates its patent as USD0871717-20200107 does"]


def test_deeppatent2_metadata_in_a_folder_or_added_later_reaches_the_library(
        shared_data, tmp_path, tiny_model):
    """The data set's folder (JSON beside its images) is read as DeepPatent2, not as a folder
    of untitled images; and a library first built from the images alone gets the titles and
    classes it lacks from the JSON added later (they were kept out as "other metadata")."""
    import shutil

    from core.search import QueryError
    from core.sources._ids import normalize_patent_id

    from core.overview import source_paths

    every = sorted((shared_data / "deeppatent2_sheets" / "images").glob("*.png"))
    images = every[:4]
    folder = tmp_path / "dp2"
    (folder / "images").mkdir(parents=True)

    def record(img):
        shutil.copy(img, folder / "images" / img.name)
        return {"patentID": img.stem.rsplit("-", 1)[0], "Figure_file": img.name,
                "object": "drinking cup", "classification_locarno": "0701"}
    records = [record(img) for img in images]
    (folder / "2020.json").write_text(json.dumps(records))
    patents = {img.stem.rsplit("-", 1)[0].split("-")[0] for img in images}
    with Library(tmp_path / "whole", create=True) as lib:
        report = ingest(lib, [folder], tiny_model, workers=0)
        assert report.pages_added == len(images)
        rows = set(lib.store.conn.execute("SELECT title, locarno FROM patents"))
        assert rows == {("drinking cup", "07-01")}
        records.append(record(every[4]))
        (folder / "2020.json").write_text(json.dumps(records))
        patents.add(every[4].stem.rsplit("-", 1)[0].split("-")[0])
        paths, notes = source_paths(lib)        # updating scans the folder again
        assert paths == [str(folder.resolve())] and notes == []
        assert ingest(lib, paths, tiny_model, workers=0).pages_added == 1
    with Library(tmp_path / "later", create=True) as lib:
        ingest(lib, [folder / "images"], tiny_model, workers=0)
        assert set(lib.store.conn.execute("SELECT title, locarno FROM patents")) == \
            {(None, None)}
        later = ingest(lib, [folder / "2020.json"], tiny_model, workers=0)
        assert later.pages_added == 0 and not later.warnings
        assert set(lib.store.conn.execute("SELECT title, locarno FROM patents")) == \
            {("drinking cup", "07-01")}
        resp = Searcher(lib, tiny_model).search(SearchQuery(image=images[0], locarno="07-01",
                                                            k=50))
        assert {h.patent_id for h in resp.results} == {normalize_patent_id(p) for p in patents}
    with Library(tmp_path / "untitled", create=True) as lib:    # no patent has a text
        ingest(lib, [folder / "images"], tiny_model, workers=0)
        searcher = Searcher(lib, tiny_model)      # (both raised a ValueError from numpy)
        fused = searcher.search(SearchQuery(image=images[0], text="drinking cup", k=5))
        assert len(fused.results) == 5
        with pytest.raises(QueryError, match="no patent in this library has a title"):
            searcher.search(SearchQuery(text="drinking cup", k=5))


def test_a_page_of_cited_references_is_kept_without_figures(shared_data, tmp_path, tiny_model):
    """D822,408 page 2 continues the front page (cited references) though the manifest calls
    it a drawing sheet: the page is recorded, says why it has no figure, and adds none."""
    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", ["D0822408"])
    lib = Library(tmp_path / "lib", create=True)
    report = ingest(lib, [manifest], tiny_model, allow_absolute=True, workers=0)
    assert report.pages_added == len(manifest.read_text().splitlines()) == 9
    assert [w for w in report.warnings if "no drawing found" in w] == [
        f"{shared_data.resolve() / 'real_dev' / 'D0822408' / 'page01_sheet.png'}: no drawing "
        "found (a blank page, or text only)"]
    per_page = dict(lib.store.conn.execute(
        "SELECT path, n_figures FROM pages WHERE patent_id = 'D0822408'").fetchall())
    assert [n for p, n in per_page.items() if p.endswith("page01_sheet.png")] == [0]
    assert lib.info()["figures"] == sum(per_page.values()) == 8


def test_a_blank_later_page_of_a_file_is_named_by_its_page(drawing_manifest, tmp_path,
                                                          tiny_model):
    """"x.pdf: no drawing found" of page 2 read as if the whole file had none."""
    from PIL import Image

    sheet = Image.open(sorted(drawing_manifest.parent.glob("*.png"))[0]).convert("L")
    (tmp_path / "src").mkdir()
    pdf = tmp_path / "src" / "application.pdf"
    sheet.save(pdf, save_all=True, append_images=[Image.new("L", sheet.size, 255), sheet])
    with Library(tmp_path / "lib", create=True) as lib:
        report = ingest(lib, [tmp_path / "src"], tiny_model, workers=0)
        assert report.pages_added == 3
        assert [w for w in report.warnings if "no drawing found" in w] == [
            f"{pdf} page 2: no drawing found (a blank page, or text only)"]


def test_pages_cut_by_an_older_figure_finder_are_told_and_rebuilt(shared_data, tmp_path,
                                                                  tiny_model, capsys):
    """A library knows which figure finder cut each ingestion run's pages: pages from before
    the current one (or from a library that never recorded it) are counted, an `index add`
    says so, and a rebuild cuts them again with the current finder."""
    from core.drawing import FINDER_VERSION
    from core.ingest import rebuild
    from core.library import FINDER_RUNS

    first = write_subset_manifest(shared_data, tmp_path / "a.jsonl", PATENTS[:2])
    second = write_subset_manifest(shared_data, tmp_path / "b.jsonl", PATENTS[2:3])
    lib = Library(tmp_path / "lib", create=True)
    report = ingest(lib, [first], tiny_model, allow_absolute=True, workers=0)
    assert lib.older_finder_pages() == 0 and lib.older_finder_note() is None
    runs = lib.store.get_meta(FINDER_RUNS)
    assert runs == {report.run_id: FINDER_VERSION}
    lib.store.set_meta(FINDER_RUNS, {report.run_id: FINDER_VERSION - 1})   # cut by the last one
    n_old = report.pages_added
    assert lib.older_finder_pages() == lib.info()["pages_older_finder"] == n_old
    lib.store.set_meta(FINDER_RUNS, {})                 # a library from before the stamps
    assert lib.older_finder_pages() == n_old

    added = ingest(lib, [second], tiny_model, allow_absolute=True, workers=0)
    assert added.pages_added > 0 and lib.older_finder_pages() == n_old   # new pages: current
    assert any(f"{n_old} page(s) of this library were cut into figures by an older" in w
               and "index rebuild" in w for w in added.warnings)

    from core.cli import main

    assert main(["index", "info", "--library", str(tmp_path / "lib")]) == 0
    assert f"note:      {n_old} page(s) were cut into figures by an older figure finder" \
        in capsys.readouterr().out

    rebuilt = rebuild(lib, tiny_model, model_ref="tiny_test:random", workers=0)
    assert not rebuilt.errors
    with Library(tmp_path / "lib") as lib:
        assert lib.older_finder_pages() == 0
        assert lib.info()["pages"] == n_old + added.pages_added


def test_a_date_filled_with_new_pages_dates_the_earlier_figures_too(drawing_manifest,
                                                                    tmp_path, tiny_model):
    """A patent first added undated, then with its date and another sheet: every figure of it
    is dated (not only the new sheet's), and said as a correction. Pages another source adds
    to a dated patent are dated as the library dates it."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    rows = [json.loads(x) for x in (src / "manifest.jsonl").read_text().splitlines()]
    pid = rows[0]["patent_id"]
    mine = [r for r in rows if r["patent_id"] == pid]
    undated = {k: v for k, v in mine[0].items() if k != "grant_date"}
    (src / "manifest.jsonl").write_text(json.dumps(undated) + "\n")
    cutoff = date(2012, 1, 1)
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        (src / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in mine) + "\n")
        report = ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 1
        assert report.corrected == [f"{pid} from {src / 'manifest.jsonl'}: grant_date (none) "
                                    "-> 2010-01-05"]
        figures = lib.store.figure_ids_of_patents([pid])
        assert len(figures) == 2
        assert lib.store.count_figures_before(figures, cutoff.toordinal()) == 2
        query = SearchQuery(image=src / mine[0]["image"], k=10, before=cutoff)
        found = Searcher(lib, tiny_model).search(query).results
        assert sorted(h.image for h in found if h.patent_id == pid) == \
            sorted(str(src / r["image"]) for r in mine)

    shutil.rmtree(tmp_path / "lib")
    (src / "manifest.jsonl").write_text(json.dumps(mine[0]) + "\n")
    other = tmp_path / "other.jsonl"                # another source, another date, a new sheet
    other.write_text(json.dumps({**mine[1], "image": str(src / mine[1]["image"]),
                                 "grant_date": "2013-01-08"}) + "\n")
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        report = ingest(lib, [other], tiny_model, workers=0, allow_absolute=True)
        assert report.pages_added == 1 and report.corrected == []
        assert any("other metadata" in w for w in report.warnings)
        assert lib.store.patent(pid)["grant_date"] == "2010-01-05"
        figures = lib.store.figure_ids_of_patents([pid])
        assert lib.store.count_figures_before(figures, cutoff.toordinal()) == 2


def test_a_correction_names_the_title_an_untitled_patent_was_shown_with():
    from core._corrections import _shown

    stored = {"title": None, "title_display": "Seat cushion"}
    assert _shown("title", None, stored) == "(none; shown as 'Seat cushion')"
    assert _shown("grant_date", None, stored) == "(none)"
    assert _shown("title", "Chair", stored) == "Chair"
    assert _shown("title", "WAX WARMER\nwith  lid", stored) == "WAX WARMER with lid"  # one line


def test_a_grant_corrected_through_its_own_folder_is_corrected(shared_data, tmp_path,
                                                              tiny_model):
    """A week's grant folder added, then one grant's folder of it added again with a fixed
    title: the same grant files, so the correction applies (it used to be refused as
    another source's)."""
    import shutil

    weekly = tmp_path / "rb"
    shutil.copytree(shared_data / "uspto_redbook", weekly)
    grant = next(p for p in sorted(weekly.iterdir()) if p.is_dir())
    xml = next(grant.glob("*.XML"))
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [weekly], tiny_model, workers=0)
        pid = next(iter(lib.store.conn.execute("SELECT patent_id FROM pages WHERE path LIKE ?",
                                               (f"{grant}%",))))[0]
        title = lib.store.patent(pid)["title"]
        text = xml.read_text()
        xml.write_text(text.replace(f">{title}</invention-title>",
                                    ">Corrected article</invention-title>", 1))
        report = ingest(lib, [grant], tiny_model, workers=0)
        assert [c.split(":")[0] for c in report.corrected] == [f"{pid} from {grant}"]
        assert lib.store.patent(pid)["title"] == "Corrected article"



def test_a_searcher_follows_what_another_process_adds_rebuilds_and_corrects(
        drawing_manifest, tmp_path, tiny_model):
    """An open searcher (the desktop app) and another process (the command line) on one
    library: patents added, a rebuild swapped in, a class corrected are all in its next
    search, by drawing and by title (the titles were read once and never again)."""
    from core.ingest import rebuild

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    rows = [json.loads(x) for x in (src / "manifest.jsonl").read_text().splitlines()]
    pids = sorted({r["patent_id"] for r in rows})

    def manifest(name, upto, **change):
        out = [{**r, **change.get(r["patent_id"], {})} for r in rows
               if r["patent_id"] in pids[:upto]]
        (src / name).write_text("\n".join(json.dumps(r) for r in out) + "\n")
        return src / name

    kettles = lambda **kw: {h.patent_id for h in searcher.search(      # noqa: E731
        SearchQuery(text="KETTLE", k=40, **kw)).results}
    with Library(tmp_path / "lib", create=True) as reader:
        ingest(reader, [manifest("m.jsonl", 6)], tiny_model, workers=0)
        searcher = Searcher(reader, tiny_model)
        assert "D0900003" in kettles() and "D0900007" not in kettles()
        with Library(tmp_path / "lib") as writer:
            ingest(writer, [manifest("m.jsonl", 9)], tiny_model, workers=0)
        assert {"D0900003", "D0900007"} <= kettles()
        with Library(tmp_path / "lib") as writer:
            rebuild(writer, tiny_model, workers=0)
        with Library(tmp_path / "lib") as writer:
            ingest(writer, [manifest("m.jsonl", 12)], tiny_model, workers=0)
        last = [r for r in rows if r["patent_id"] == "D0900011"][0]
        found = searcher.search(SearchQuery(image=src / last["image"], k=5)).results
        assert found and found[0].patent_id == "D0900011"
        assert {"D0900003", "D0900007", "D0900011"} <= kettles(locarno="07-02")
        with Library(tmp_path / "lib") as writer:               # a class corrected
            ingest(writer, [manifest("m.jsonl", 12, D0900007={"locarno": "06-01"})],
                   tiny_model, workers=0)
        assert "D0900007" not in kettles(locarno="07-02")


def test_a_manifest_files_images_a_folder_added_under_their_patents(drawing_manifest, tmp_path,
                                                                    tiny_model):
    """Scans added as a plain folder first (undated stand-ins, IMG-...), then a manifest that
    names them: the pages are filed under their patents with the manifest's date, class and
    title (the date cutoff finds them), the stand-ins go, and it is said."""
    src = tmp_path / "scans"
    shutil.copytree(drawing_manifest.parent, src)
    (src / "manifest.jsonl").unlink()
    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()][:4]
    cutoff = date(2013, 1, 1)
    from core.audit import logged_hits, replay
    from core.judgments import score_by_ratings

    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src], tiny_model, workers=0)
        assert all(p.startswith("IMG-") for p, in lib.store.conn.execute(
            "SELECT patent_id FROM patents"))
        # a search that showed the stand-ins, rated: its log still holds after the refiling
        seen = Searcher(lib, tiny_model).search(SearchQuery(image=src / rows[0]["image"], k=8),
                                                log=True, examiner="ann")
        for h, grade in zip(seen.results[:3], (3, 2, 0)):
            lib.store.add_rating(search_id=seen.search_id, patent_id=h.patent_id,
                                 figure_id=h.figure_id, rank=h.rank, rating=grade,
                                 model_id=None, query_sha256=None, examiner="ann")
        (src / "meta.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        report = ingest(lib, [src / "meta.jsonl"], tiny_model, workers=0)
        assert report.pages_added == 0 and report.corrected == [] and len(report.refiled) == 4
        assert report.refiled[0].startswith(
            f"{rows[0]['image']} under {rows[0]['patent_id']} (was IMG-")
        assert all(c.endswith(", an image of a folder)") for c in report.refiled)
        assert "4 pages filed under their patents" in report.summary()
        assert {k for k, in lib.store.conn.execute(
            "SELECT DISTINCT page_kind FROM pages WHERE patent_id LIKE 'D%'")} == \
            {"drawing_sheet"}                              # as the manifest says
        shown = logged_hits(lib.store, lib.store.search_record(seen.search_id))
        assert [h.figure_id for h in shown] == [h.figure_id for h in seen.results]
        assert shown[0].patent_id == rows[0]["patent_id"] and "title" in shown[0].corrected
        again_seen = replay(Searcher(lib, tiny_model), seen.search_id)
        assert again_seen.reproduced, again_seen.text()
        scores = score_by_ratings(Searcher(lib, tiny_model))
        (judged,) = scores.searches
        assert judged.logged == pytest.approx(judged.now)
        mine = {r["patent_id"] for r in rows}
        got = {p["patent_id"]: p for p in lib.store.patents(mine).values()}
        assert set(got) == mine and got[rows[0]["patent_id"]]["title"] == rows[0]["title"]
        stand_ins = {p for p, in lib.store.conn.execute("SELECT patent_id FROM patents")
                     if p.startswith("IMG-")}
        assert len(stand_ins) == 24 - 4                  # the scans the manifest names go
        figures = lib.store.figure_ids_of_patents(sorted(mine))
        assert len(figures) == 4
        assert lib.store.count_figures_before(figures, cutoff.toordinal()) == 4
        found = Searcher(lib, tiny_model).search(
            SearchQuery(image=src / rows[0]["image"], k=5, before=cutoff)).results
        assert found and found[0].patent_id == rows[0]["patent_id"]
        again = ingest(lib, [src / "meta.jsonl"], tiny_model, workers=0)
        assert again.refiled == again.corrected == [] and not again.warnings
        folder = ingest(lib, [src], tiny_model, workers=0)      # the folder scanned again
        assert (folder.pages_added, folder.refiled) == (0, [])
        assert not [w for w in folder.warnings if "other patents" in w]
        assert len(lib.store.figure_ids_of_patents(sorted(mine))) == 4
        (src / "other.jsonl").write_text(json.dumps({**rows[0], "patent_id": "D0999990"}) + "\n")
        other = ingest(lib, [src / "other.jsonl"], tiny_model, workers=0)   # a real id: kept
        assert other.refiled == [] and other.warnings == [
            f"1 page(s) are in the library under other patents than their source names now "
            f"(e.g. {src / rows[0]['image']}: {rows[0]['patent_id']} in the library, D0999990 "
            "here); the library keeps them where they are"]
    from core.ingest import rebuild

    with Library(tmp_path / "lib") as lib:                      # kept through a rebuild
        rebuild(lib, tiny_model, workers=0)
    with Library(tmp_path / "lib") as lib:
        shown = logged_hits(lib.store, lib.store.search_record(seen.search_id))
        assert [h.figure_id for h in shown] == [h.figure_id for h in seen.results]


def test_ratings_of_scans_follow_them_to_the_patent_they_are_filed_under(
        drawing_manifest, tmp_path, tiny_model):
    """Two scans of one patent added as a folder and rated relevant, then filed under their
    patent by a manifest: the session's P@10 counts the patent once, the ratings CSV and the
    search log name the patent (the stand-in kept as ``logged_patent_id``), and rating a scan
    again in the reopened search replaces its earlier rating instead of adding a second one."""
    import csv
    from pathlib import Path

    from core.reports import session_summary, write_ratings_csv

    src = tmp_path / "scans"
    shutil.copytree(drawing_manifest.parent, src)
    (src / "manifest.jsonl").unlink()
    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()][:2]
    patent = rows[0]["patent_id"]
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src], tiny_model, workers=0)
        seen = Searcher(lib, tiny_model).search(SearchQuery(image=src / rows[0]["image"], k=100),
                                                log=True, examiner="ann")
        two = [h for h in seen.results if Path(h.image).name in {r["image"] for r in rows}]
        assert len(two) == 2 and max(h.rank for h in two) <= 10, [h.rank for h in two]
        for h in two:
            lib.store.add_rating(search_id=seen.search_id, patent_id=h.patent_id,
                                 figure_id=h.figure_id, rank=h.rank, rating=3, model_id=None,
                                 query_sha256=None, examiner="ann")
        assert session_summary(lib.store, None, "ann").per_search[0].relevant_top == 2
        (src / "meta.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        assert len(ingest(lib, [src / "meta.jsonl"], tiny_model, workers=0).refiled) == 2

        summary = session_summary(lib.store, None, "ann")
        assert summary.per_search[0].relevant_top == 1 and summary.precision_at_10 == 0.1
        write_ratings_csv(tmp_path / "r.csv", lib.store)
        exported = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8-sig")))
        assert [r["patent_id"] for r in exported] == [patent, patent]
        (rec,) = lib.store.searches()
        filed = [r for r in rec["results"] if r["figure_id"] in {h.figure_id for h in two}]
        assert [r["patent_id"] for r in filed] == [patent, patent]
        assert [r["logged_patent_id"] for r in filed] == [h.patent_id for h in two]
        assert all(h.patent_id.startswith("IMG-") for h in two)

        lib.store.add_rating(search_id=seen.search_id, patent_id=patent,
                             figure_id=two[0].figure_id, rank=two[0].rank, rating=0,
                             model_id=None, query_sha256=None, examiner="ann")
        current = lib.store.current_ratings(search_id=seen.search_id)
        assert sorted((r["figure_id"], r["rating"]) for r in current) == sorted(
            [(two[0].figure_id, 0), (two[1].figure_id, 3)])
        assert session_summary(lib.store, None, "ann").per_search[0].relevant_top == 1


def test_a_library_deleted_while_open_says_so_instead_of_saving_into_it(sheets, tmp_path,
                                                                        tiny_model):
    """Deleted (or moved) while a window has it open, the library is not written on as if
    it were there: a search and a rating say it is gone (they were reported as saved into
    the deleted file), and no thumbnail brings its folder back."""
    from core.search import SearchQuery
    from core.thumbnails import ThumbnailCache

    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        ingest(lib, [sheets], tiny_model, workers=0)
    lib = Library(path)
    searcher = Searcher(lib, tiny_model)
    query = SearchQuery(image=sheets.parent / "D0900001_1.png", k=3)
    hit = searcher.search(query, log=True).results[0]
    shutil.rmtree(path)
    with pytest.raises(LibraryError, match="is gone .deleted or moved while open"):
        searcher.search(query, log=True)
    with pytest.raises(LibraryError, match="is gone"):
        lib.write_where_kept(lambda store: store.add_rating(
            search_id=1, patent_id=hit.patent_id, figure_id=hit.figure_id, rank=1, rating=2,
            model_id=None, query_sha256=None, examiner="ann"),
            lambda store, row: store.rating_event(row))
    ThumbnailCache.for_library(path).thumbnail(sheets.parent / "D0900001_1.png", 0, None, 64)
    assert not path.exists()
    lib.close()


def test_a_rating_saved_as_a_rebuild_swaps_folders_is_kept(sheets, tmp_path, tiny_model,
                                                            monkeypatch):
    """A rating saved by another window after the rebuild's last copy of the ratings (just
    before its folders swap) is in the rebuilt library: the swap copies what the replaced
    library gained meanwhile (it was lost, though reported as saved), and a window that
    writes while the folders swap waits for the swap."""
    import core.ingest
    from core.ingest import rebuild
    from core.library import finish_interrupted_swap

    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        ingest(lib, [sheets], tiny_model, workers=0)
    window = Library(path)                      # open in another window all along

    def swap_after_a_rating(where):
        # a rating that was on its way in as the rebuild made its last copy: in the database
        # being replaced (one that comes later waits for the swap: Library.replaced)
        window.store.add_rating(search_id=None, patent_id="D0900001", figure_id=1, rank=1,
                                rating=3, model_id=None, query_sha256=None, examiner="ann",
                                session="late")
        finish_interrupted_swap(where)

    monkeypatch.setattr(core.ingest, "finish_interrupted_swap", swap_after_a_rating)
    with Library(path) as lib:
        rebuild(lib, tiny_model, workers=0)
    window.close()
    with Library(path) as lib:
        assert [r["session"] for r in lib.store.current_ratings()] == ["late"]


def test_a_library_opened_through_a_link_is_not_gone_while_a_rebuild_swaps_it(sheets,
                                                                               tmp_path,
                                                                               tiny_model):
    """Between a rebuild's two folder renames the library's folder is briefly missing: a
    window holding it through a link waits for the swap instead of calling it gone."""
    from core.library import REBUILD_MARKER, REBUILD_SUFFIX

    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        ingest(lib, [sheets], tiny_model, workers=0)
    link = tmp_path / "link"
    link.symlink_to(path)
    window = Library(link)
    rebuilt = path.with_name(path.name + REBUILD_SUFFIX)
    rebuilt.mkdir()
    (rebuilt / REBUILD_MARKER).touch()
    path.rename(path.with_name("lib.old"))             # the swap's first rename
    assert window.replaced() is False
    (rebuilt / REBUILD_MARKER).unlink()                 # no swap: really gone
    with pytest.raises(LibraryError, match="is gone"):
        window.replaced()
    window.close()


def test_a_write_waits_while_another_process_swaps_the_folders(sheets, tmp_path, tiny_model):
    """While a rebuild's swap marker is fresh, a window's write waits for the swap (and then
    goes to the rebuilt library); a stale marker (a killed rebuild's) is not waited for."""
    import threading
    import time

    from core.library import REBUILD_MARKER, REBUILD_SUFFIX, SWAP_FRESH_S

    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        ingest(lib, [sheets], tiny_model, workers=0)
    window = Library(path)
    rebuilt = path.with_name(path.name + REBUILD_SUFFIX)
    rebuilt.mkdir()
    marker = rebuilt / REBUILD_MARKER
    marker.touch()
    threading.Timer(0.5, marker.unlink).start()        # the swap ends
    start = time.monotonic()
    assert window.replaced() is False
    assert 0.4 < time.monotonic() - start < 5
    marker.touch()
    os.utime(marker, (time.time() - SWAP_FRESH_S - 5,) * 2)
    start = time.monotonic()
    assert window.replaced() is False and time.monotonic() - start < 0.3
    window.close()


def test_an_ingest_summary_counts_in_words_that_agree():
    """"added 1 page (1 figure, 1 new patent)...; 1 page was already...": plurals were fixed
    ("1 new patents", "1 pages were")."""
    from core.ingest import IngestReport

    one = IngestReport("r", pages_added=1, figures_added=1, patents_added=1,
                       pages_already_present=1, seconds=0.5).summary()
    assert one.startswith("done: added 1 page (1 figure, 1 new patent) in 0.5 s; 1 page was "
                          "already in the library; 0 skipped")
    two = IngestReport("r", pages_added=2, figures_added=3, patents_added=2,
                       pages_already_present=0, seconds=1).summary()
    assert two.startswith("done: added 2 pages (3 figures, 2 new patents) in 1.0 s; 0 pages "
                          "were already in the library")
    again = IngestReport("r", pages_added=1, figures_added=2, patents_added=1, rebuilt=True,
                         seconds=1).summary()
    assert again.startswith("done: re-embedded 1 page (2 figures of 1 patent) in 1.0 s")
    # resumed: this run's pages, and the library's patents as the library's (it read
    # "1004 pages (1633 figures of 350 patents)" with 350 the whole library's)
    resumed = IngestReport("r", pages_added=4, figures_added=6, patents_added=9, rebuilt=True,
                           pages_already_present=5, seconds=1).summary()
    assert resumed.startswith("done: re-embedded 4 pages (6 figures) in 1.0 s, resuming an "
                              "interrupted rebuild that had re-embedded 5 pages; 9 patents in "
                              "the library; 0 skipped")


def test_a_library_built_in_python_remembers_the_model_that_built_it(shared_data, tmp_path):
    """A library built with the Python API recorded its model as "default" whatever model
    built it: `lib.load_model()` and every command then refused it as "now another model".
    It records what loads the model again (its checkpoint folder, its name), and a model made
    in Python that nothing names is said to be one, with what to do."""
    from core.models import load_model, save_checkpoint

    grant = shared_data / "uspto_redbook" / "USD0908315-20210126"
    folder = save_checkpoint(create_model("tiny_test", pretrained=None, seed=31),
                             tmp_path / "ck")
    with Library(tmp_path / "ck-lib", create=True) as lib:
        # (one source given as a str, not a list: it was read letter by letter, "/" first)
        report = ingest(lib, str(grant), load_model(str(folder)), workers=0)
        assert report.sources == [str(grant)] and report.pages_added > 0
        assert lib.model_info["ref"] == str(folder.resolve())
        assert lib.load_model().model_id == lib.model_id
    with Library(tmp_path / "named", create=True) as lib:
        ingest(lib, grant, create_model("tiny_test", pretrained=None), workers=0)
        assert lib.model_info["ref"] == "tiny_test:random"
        assert lib.load_model().model_id == lib.model_id
    made = create_model("tiny_test", pretrained=None, seed=31)
    with Library(tmp_path / "made", create=True) as lib:
        ingest(lib, [grant], made, workers=0)
        assert lib.model_info["ref"] is None
        with pytest.raises(ModelMismatchError, match="one made in Python that no name or "
                                                     "folder loads: save it"):
            lib.load_model()
        save_checkpoint(made, tmp_path / "saved")       # what the message says to do
        assert lib.load_model(str(tmp_path / "saved")).model_id == lib.model_id
        assert lib.load_model().model_id == lib.model_id        # remembered


def test_a_query_made_in_python_is_checked_as_the_command_line_checks_it():
    """A datetime cutoff was logged with its time (replaying the search then failed), a
    string cutoff failed after the search ran, one excluded patent given as a string
    excluded nothing, and k=0 or page -1 were taken."""
    from datetime import datetime

    q = SearchQuery(text="chair", before=datetime(2021, 6, 1, 12, 30))
    assert q.before == date(2021, 6, 1) and type(q.before) is date
    assert SearchQuery(text="chair", before=" 2021-06-01").before == date(2021, 6, 1)
    assert SearchQuery(text="chair", exclude_patents="D0908315").exclude_patents == \
        ("D0908315",)
    assert SearchQuery(text="chair", k=np.int64(5), page_index=np.int32(1)).k == 5
    for bad, why in ((dict(before="June 2021"), "not a date"),
                     (dict(before=20210601), "a date, not int"),
                     (dict(k=0), "k: a number of results of at least 1, not 0"),
                     (dict(k=True), "not True"), (dict(k=2.5), "not 2.5"),
                     (dict(page_index=-1), "page_index: a page counted from 0"),
                     # (these failed deep in the search, or were taken: "no" as True)
                     (dict(image=5), "image: a file path, image bytes or a decoded page"),
                     (dict(text=123), "text: a string, not int"),
                     (dict(per_patent="no"), "per_patent: True or False"),
                     (dict(box=(0, 0, 500)), r"box: a FigureBox or \(x0, y0, x1, y1\)"),
                     (dict(box=(0, -1, 5, 5)), "box: page pixels from 0, not -1"),
                     (dict(exclude_patents=[5]), "exclude_patents: 5 is not a patent id")):
        with pytest.raises((ValueError, TypeError), match=why):
            SearchQuery(**{"text": "chair", **bad})
    from core.drawing import FigureBox

    # as a report, the log or the window writes them: one form the search and its log use
    q = SearchQuery(image="q.png", box=[0, 0, 500, 400], locarno="02.01",
                    exclude_patents=["US D908,315 S", "d913175"])
    assert q.box == FigureBox(0, 0, 500, 400) and q.locarno == "02-01"
    assert q.exclude_patents == ("D0908315", "D0913175")
    assert SearchQuery(text="chair", locarno=2).locarno == "02"
    assert SearchQuery(text="chair", locarno="zz").locarno == "zz"     # (the search says why)


def test_python_callers_meet_the_documented_errors(tiny_library, tmp_path):
    """An unreadable query image raised an ImageReadError that ``except core.QueryError``
    missed; a closed library raised sqlite3's own error; a file given as a model was said as
    its folder; an excluded patent written as the window shows it excluded nothing."""
    import core

    lib, model, _ = tiny_library
    searcher = core.Searcher(lib, model)
    (tmp_path / "notes.png").write_text("not an image")
    for image in (tmp_path / "missing.png", tmp_path / "notes.png", b"garbage"):
        with pytest.raises(core.QueryError) as caught:
            searcher.search(SearchQuery(image=image))
        assert isinstance(caught.value, core.ImageReadError)    # (as the CLI catches it)
        assert isinstance(caught.value, core.UnreadableQuery)
    first = searcher.search(SearchQuery(text="chair", k=1)).results[0].patent_id
    shown = display_patent_id(first)                             # "US D576,693 S"
    again = searcher.search(SearchQuery(text="chair", k=1, exclude_patents=shown))
    assert again.results[0].patent_id != first
    with pytest.raises(core.ModelError, match=r"notes.png: not a checkpoint \(its folder"):
        core.load_model(tmp_path / "notes.png")
    with pytest.raises(core.ModelError, match="no model named"):
        core.load_model(" ")
    from core.evaluation import queries_from_library

    one = queries_from_library(lib, patents=shown)               # one id, as it is shown
    assert one and {q.patent_id for q in one} == {first}

    closed = core.Library(lib.path)
    closed.close()
    with pytest.raises(core.StoreError, match="the library is closed"):
        core.Searcher(closed, model).search(SearchQuery(text="chair"))


def test_a_library_folder_this_user_may_not_open_says_so(tiny_library, monkeypatch):
    """A library folder of another user's (mode 700) said ".../REBUILD_COMPLETE: Permission
    denied", naming a file that is not there rather than the folder and what to do."""
    import core.library

    lib, _, _ = tiny_library
    real = os.access
    for part, what in ((lib.path, "folder"), (lib.path / "index", "index folder"),
                       (lib.path / "library.sqlite", "database")):
        # (inside a folder opened to others, a library's own files are the user's only: it
        # was called damaged, or its search blamed the query drawing)
        monkeypatch.setattr(core.library.os, "access", lambda p, mode, part=part: False
                            if Path(p) == part and mode & os.R_OK else real(p, mode))
        with pytest.raises(LibraryError, match=f"{part}: this user may not open the "
                                               f"library's {what}"):
            Library(lib.path)


def test_an_index_file_this_user_may_not_read_is_not_called_damaged(tiny_library,
                                                                     monkeypatch, capsys):
    """A segment file of mode 600 in a library shared for reading: `index info` said nothing
    and a search said "the index is damaged; rebuild it" (nothing was, and the user could not
    rebuild it): the file is named as one this user may not read."""
    import core.index
    from core.cli import main

    lib, _, _ = tiny_library
    vec = next((lib.path / "index").glob("*.vec.npy"))
    real_access, real_load = os.access, np.load
    monkeypatch.setattr(core.index.os, "access", lambda p, mode: False if Path(p) == vec
                        else real_access(p, mode))

    def load(path, *args, **kw):
        if Path(path) == vec:
            raise PermissionError(13, "Permission denied", str(vec))
        return real_load(path, *args, **kw)
    monkeypatch.setattr(core.index.np, "load", load)
    assert core.index.damaged_files(lib.path / "index", lib.manifest) == [
        f"{vec.name} (this user may not read it)"]
    assert main(["index", "info", "--library", str(lib.path)]) == 0
    out = capsys.readouterr().out
    assert f"this user may not read index file(s) {vec.name}" in out and "damaged" not in out
    with Library(lib.path) as again:
        with pytest.raises(PermissionError):
            again.index()


@pytest.mark.parametrize("text", [None, "cup"])
def test_a_per_patent_search_gives_k_patents_however_many_figures_lead(searchable_library,
                                                                       monkeypatch, text):
    """Patents are ranked from a pool of the best figures; where a few patents' many figures
    filled it (real patents have 15-50), fewer than k patents came back, and nothing said so.
    The pool is made small here so that the sheets' patents fill it."""
    import core.search

    path, query = searchable_library
    with Library(path) as lib:
        searcher = Searcher(lib, create_model("tiny_test", pretrained=None))
        every = searcher.search(SearchQuery(image=query, text=text, k=100_000)).results
        ranked = list(dict.fromkeys(h.patent_id for h in every))   # by each one's best figure
        k = len(ranked) - 1
        monkeypatch.setattr(core.search, "PATENT_POOL", 1)
        assert len({h.patent_id for h in every[:k]}) < k              # the pool is too small
        got = searcher.search(SearchQuery(image=query, text=text, k=k, per_patent=True))
        assert [h.patent_id for h in got.results] == ranked[:k]
        assert [h.rank for h in got.results] == list(range(1, k + 1))


def test_a_searcher_of_a_library_rebuilt_with_another_model_says_to_open_it_again(
        searchable_library, tmp_path):
    """Another process rebuilt the library with another model: every search of a searcher
    made before said "search again" (which failed the same way), and one by title alone that
    no patent had a title (the titles' vectors are the new model's)."""
    from core.ingest import rebuild
    from core.models import load_checkpoint, save_checkpoint

    path, query = searchable_library
    ck = save_checkpoint(create_model("tiny_test", pretrained=None, seed=5), tmp_path / "ck")
    other = load_checkpoint(ck)
    with Library(path) as reader:
        searcher = Searcher(reader, create_model("tiny_test", pretrained=None))
        assert searcher.search(SearchQuery(image=query, k=3)).results
        with Library(path) as writer:
            rebuild(writer, other, model_ref=str(ck), workers=0)
        for q in (SearchQuery(image=query, k=3), SearchQuery(text="cup", k=3)):
            with pytest.raises(ModelMismatchError, match="open it again") as said:
                searcher.search(q)
            assert (said.value.built_with, said.value.in_use) == (
                other.model_id, searcher.model.model_id)
        assert Searcher(reader, other).search(SearchQuery(text="cup", k=3)).results


def test_an_image_file_name_is_not_searched_as_a_title(drawing_manifest, tmp_path,
                                                       tiny_model, monkeypatch):
    """A drawing added from a plain folder is shown under its file name, but a text query
    does not read that name as patent text: it ranked "pregnancy pillow.png" (a neck fan)
    second for "pregnancy pillow", and a library of image files alone never gave its
    refusal. A library where such vectors were stored loses them when next opened."""
    import unicodedata

    from core.evaluation import queries_from_library
    from core.search import QueryError
    from core.text_index import TextIndex, update_text_vectors

    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(drawing_manifest.parent / rows[0]["image"], scans / "pregnancy pillow.png")
    shutil.copy(drawing_manifest.parent / rows[2]["image"], scans / "neck fan.png")
    mac = unicodedata.normalize("NFD", "crème brûlée dish.png")         # (as a Mac names it)
    shutil.copy(drawing_manifest.parent / rows[4]["image"], scans / mac)
    with Library(tmp_path / "images", create=True) as lib:
        ingest(lib, [scans], tiny_model, workers=0)
        assert {r["title"] for r in lib.store.db.query("SELECT title FROM patents")} == \
            {"pregnancy pillow.png", "neck fan.png", "crème brûlée dish.png"}  # (shown so)
        assert len(TextIndex.load(lib, tiny_model.model_id)) == 0
        assert {q.text for q in queries_from_library(lib, None)} == {None}    # (eval's)
        with pytest.raises(QueryError, match="a library of image files alone"):
            Searcher(lib, tiny_model).search(SearchQuery(text="pregnancy pillow"))
    with Library(tmp_path / "empty", create=True) as lib:   # (what a first add killed leaves)
        with pytest.raises(LibraryError, match="is empty: add drawings"):
            Searcher(lib, tiny_model).search(SearchQuery(text="pregnancy pillow"))
    with Library(tmp_path / "images") as lib:
        # as an older version left it: the file names embedded
        vector = np.ones(tiny_model.embed_dim, np.float32).tobytes()
        lib.store.conn.executemany(
            "INSERT INTO text_vectors(patent_id, model_id, text_sha256, vector) "
            "VALUES (?,?,'x',?)", [(pid, tiny_model.model_id, vector) for (pid,) in
                                   lib.store.conn.execute("SELECT patent_id FROM patents")])
        lib.store.conn.execute("DELETE FROM meta WHERE key='file_names_unsearched'")
        lib.store.conn.commit()
    import core.store

    real_access = os.access
    with monkeypatch.context() as m:                    # read-only for this user
        m.setattr(core.store.os, "access", lambda p, mode: real_access(p, mode) and (
            mode != os.W_OK or "images" not in str(p)))
        with Library(tmp_path / "images") as lib:
            assert lib.store.read_only
            assert len(TextIndex.load(lib, tiny_model.model_id)) == 0     # (not used)
            assert update_text_vectors(lib, tiny_model) == 0     # (eval's: nothing written)
    with Library(tmp_path / "images") as lib:
        assert len(TextIndex.load(lib, tiny_model.model_id)) == 0
    # beside patents with metadata, the file names add nothing to a text query's ranking
    with Library(tmp_path / "mixed", create=True) as lib:
        ingest(lib, [drawing_manifest, scans], tiny_model, workers=0)
        index = TextIndex.load(lib, tiny_model.model_id)
        assert len(index) == 12
        hits = Searcher(lib, tiny_model).search(SearchQuery(text="pregnancy pillow", k=50))
        assert all(not h.title.endswith(".png") for h in hits.results)
