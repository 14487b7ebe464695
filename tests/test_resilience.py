"""A library never loses or duplicates data: kill -9 mid-ingest, damaged files, concurrent
writers, hostile inputs, file permissions. Small synthetic sheets and the tiny model keep it
fast; every random choice is seeded."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.index import IndexError_, IndexParams
from core.ingest import ingest, rebuild, scan_sources
from core.library import Library, LibraryError
from core.models import create_model
from core.overview import source_paths
from core.search import Searcher, SearchQuery

REPO = Path(__file__).resolve().parents[1]
#: small graphs and quick merges, so that a dozen pages exercise every index code path
PARAMS = dict(min_hnsw=12, exact_max=6, fanout=2, segment_max=10_000, ef_construction=40)


def params() -> IndexParams:
    return IndexParams(**PARAMS)


def half_manifest(manifest: Path, out: Path) -> Path:
    rows = manifest.read_text().splitlines()
    out.write_text("\n".join(json.dumps({**json.loads(r), "image": str(manifest.parent /
                                                                        json.loads(r)["image"])})
                             for r in rows[:len(rows) // 2]) + "\n")
    return out


def snapshot(lib: Library) -> dict:
    """Every figure's row and vector, by figure id."""
    rows = lib.store.conn.execute(
        "SELECT f.id, f.patent_id, p.path, p.page_index, f.x0, f.y0, f.x1, f.y1 "
        "FROM figures f JOIN pages p ON p.id = f.page_id").fetchall()
    ids = [r[0] for r in rows]
    vecs = lib.index(verify="full").vectors_of(ids) if ids else []
    return {r[0]: (r[1:], v.tobytes()) for r, v in zip(rows, vecs)}


def check_consistent(path: Path, before: dict) -> dict:
    """The library opens, store and index agree, nothing is duplicated, ``before`` is intact."""
    with Library(path, params=params()) as lib:
        conn = lib.store.conn
        assert conn.execute("SELECT COUNT(*) FROM (SELECT path, page_index FROM pages "
                            "GROUP BY path, page_index HAVING COUNT(*) > 1)").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM pages p WHERE n_figures != (SELECT COUNT(*) "
                            "FROM figures f WHERE f.page_id = p.id)").fetchone()[0] == 0
        now = snapshot(lib)
        labels = np.concatenate([s.labels for s in lib.index().segments])
        assert len(labels) == len(set(labels.tolist())) == len(now)
        assert set(labels.tolist()) == set(now)
        assert {k: now[k] for k in before} == before
        index = lib.index()
        assert index.search(index.vectors_of([next(iter(now))]), 3)[0][0, 0] >= 0
    return now


def _killable_ingest(path: str, manifest: str, model, conn) -> None:
    """Forked child: it inherits the model and its frozen graph; one torch thread is what
    keeps a forked OpenMP runtime safe."""
    import torch

    torch.set_num_threads(1)
    with Library(path, params=params()) as lib:
        ingest(lib, [manifest], model, model_ref="tiny_test:random", workers=0, chunk_pages=2,
               progress=lambda done, total, note: conn.send(done))
    conn.send("finished")


def _leftovers(marker: str) -> list[int]:
    """Processes (orphaned workers) whose environment holds ``marker``."""
    out = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and marker.encode() in Path(f"/proc/{d}/environ").read_bytes():
                out.append(int(d))
        except OSError:
            pass
    return out


@pytest.mark.skipif(sys.platform != "linux", reason="uses fork and /proc")
def test_kill_9_during_index_add_loses_and_duplicates_nothing(sheets, tmp_path):
    import multiprocessing
    import uuid

    path = tmp_path / "lib"
    model = create_model("tiny_test", pretrained=None)
    with Library(path, create=True, params=params()) as lib:
        ingest(lib, [half_manifest(sheets, tmp_path / "half.jsonl")], model,
               model_ref="tiny_test:random", workers=0, allow_absolute=True)
        before = snapshot(lib)
    pristine = tmp_path / "pristine"           # each kill below starts from this library
    shutil.copytree(path, pristine)
    rng = random.Random(7)
    # the command itself, worker processes and all, killed at a random time
    marker = f"PE_KILL_TEST_{uuid.uuid4().hex}"
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "index", "add", str(sheets),
                             "--library", str(path), "--model", "tiny_test:random",
                             "--workers", "2"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, marker: "1"})
    deadline = time.time() + 120
    # the command, the resource tracker, the forkserver and both page workers: a worker blocks
    # on a queue it holds both ends of, so only its lifeline (core._lifeline) ends it
    while len(_leftovers(marker)) < 5 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0, 1))
    assert proc.poll() is None, "index add ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    check_consistent(path, before)
    for _ in range(100):
        if not _leftovers(marker):
            break
        time.sleep(0.1)
    left = _leftovers(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "worker processes outlived a killed index add"
    # the ingest function killed after a random number of pages: in a commit, a merge, ...
    path = tmp_path / "lib2"
    shutil.copytree(pristine, path)
    ctx = multiprocessing.get_context("fork")
    finished = 0
    for _ in range(3):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_killable_ingest, args=(str(path), str(sheets), model, child))
        proc.start()
        stop_after = rng.randint(1, 6)
        while parent.poll(0.05) or proc.is_alive():
            if not parent.poll():
                continue
            msg = parent.recv()
            finished += msg == "finished"
            if msg == "finished" or msg >= stop_after:
                time.sleep(rng.random() * 0.3)
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        check_consistent(path, before)
    assert finished < 3
    with Library(path, params=params()) as lib:
        report = ingest(lib, [sheets], model, model_ref="tiny_test:random", workers=0)
        assert not report.errors
        assert lib.info()["pages"] == len(sheets.read_text().splitlines())
        live = {s["name"] for s in lib.manifest["segments"]}
        assert {p.name.split(".")[0] for p in (path / "index").iterdir()} == live
        assert lib.store.conn.execute(
            "SELECT COUNT(*) FROM patents t WHERE patent_id IN (SELECT patent_id FROM pages) "
            "AND patent_id NOT IN (SELECT patent_id FROM text_vectors)").fetchone()[0] == 0
    check_consistent(path, before)


@pytest.fixture(scope="module")
def built_library(sheets, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("built") / "lib"
    model = create_model("tiny_test", pretrained=None)
    with Library(path, create=True, params=params()) as lib:
        ingest(lib, [sheets], model, model_ref="tiny_test:random", workers=0,
               chunk_pages=5)
        assert any(s["hnsw"] for s in lib.manifest["segments"])
    return path


def _query(sheets: Path) -> Path:
    return sheets.parent / json.loads(sheets.read_text().splitlines()[0])[
        "image"]


def _results(path: Path, query: Path) -> list:
    with Library(path, params=params()) as lib:
        searcher = Searcher(lib, create_model("tiny_test", pretrained=None))
        return [(h.figure_id, h.score) for h in searcher.search(SearchQuery(image=query, k=8))
                .results]


def _damage(path: Path, how: str) -> None:
    if how == "truncate":
        path.write_bytes(path.read_bytes()[:-7])
    elif how == "delete":
        path.unlink()
    else:
        data = bytearray(path.read_bytes())
        data[len(data) // 2 + 3] ^= 0x40
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", [".vec.npy", ".hnsw", ".meta.npz"])
@pytest.mark.parametrize("how", ["flip", "truncate", "delete"])
def test_damaged_index_file_is_reported_never_searched(built_library, sheets,
                                                       tmp_path, suffix, how):
    query = _query(sheets)
    expected = _results(built_library, query)
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    target = sorted((path / "index").glob(f"*{suffix}"))[-1]
    _damage(target, how)
    try:
        got = _results(path, query)
    except (LibraryError, IndexError_) as exc:
        assert "rebuild" in str(exc)
        assert {"flip": "damaged", "truncate": "truncated", "delete": "missing"}[how] in str(exc)
    else:
        assert got == expected  # the damaged bytes were never needed
    with Library(path, params=params()) as lib:
        with pytest.raises((LibraryError, IndexError_), match="damaged|truncated|missing"):
            lib.index(verify="full")
        # `index info` looks at the files' sizes: a missing or cut file shows there at once
        assert lib.info()["damaged_index_files"] == (
            [] if how == "flip" else
            [f"{target.name} ({'gone' if how == 'delete' else 'another size'})"])


def test_damaged_index_is_rebuilt_to_the_same_results(built_library, sheets,
                                                      tmp_path):
    query = _query(sheets)
    expected = _results(built_library, query)
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    for p in (path / "index").glob("*.vec.npy"):
        _damage(p, "flip")
    with Library(path, params=params()) as lib:
        report = rebuild(lib, create_model("tiny_test", pretrained=None),
                         model_ref="tiny_test:random", workers=0)
    assert not report.errors and not report.cancelled
    got = _results(path, query)
    # (scores are rounded to 6 decimals from sums that one segment or several order
    # differently: the last digit may differ)
    assert [f for f, _ in got] and np.allclose([s for _, s in got], [s for _, s in expected],
                                               rtol=0, atol=2e-6)


@pytest.mark.parametrize("how", ["delete", "truncate"])
def test_adding_to_a_library_whose_index_is_damaged_is_refused_until_rebuilt(
        built_library, sheets, tmp_path, how):
    """`index add` said "done" (exit 0) beside index files deleted or cut short, while every
    search of the library was refused: it now adds nothing and says to rebuild first."""
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    target = sorted((path / "index").glob("*.vec.npy"))[0]
    if how == "delete":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:100])
    new = tmp_path / "new"
    new.mkdir()
    Image.open(_query(sheets)).transpose(Image.Transpose.ROTATE_90).save(new / "extra.png")
    model = create_model("tiny_test", pretrained=None)
    with Library(path, params=params()) as lib:
        pages = lib.info()["pages"]
        with pytest.raises(LibraryError, match=f"{target.name}.*damaged, so nothing was added. "
                                               "Rebuild it first"):
            ingest(lib, [new], model, workers=0)
        assert lib.info()["pages"] == pages
    proc = subprocess.run([sys.executable, "-m", "core.cli", "index", "add", str(new),
                           "--library", str(path), "--workers", "0"], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 1 and "Rebuild it first" in proc.stderr
    with Library(path, params=params()) as lib:     # (what the message says to do)
        rebuild(lib, model, model_ref="tiny_test:random", workers=0)
        report = ingest(lib, [new], model, workers=0)
        assert report.pages_added == 1 and lib.info()["pages"] == pages + 1


def test_a_cancelled_rebuild_says_the_library_is_unchanged(built_library, tmp_path):
    """Cancel mid-rebuild: the aside build is dropped, the library is as it was, and the report
    says so rather than counting pages "added" to the build that was thrown away."""
    import threading

    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    Library(path, params=params()).close()      # (a copy records its own folder once)
    before = (path / "library.sqlite").read_bytes()
    cancel = threading.Event()
    with Library(path, params=params()) as lib:
        report = rebuild(lib, create_model("tiny_test", pretrained=None),
                         model_ref="tiny_test:random", workers=0, cancel=cancel,
                         progress=lambda done, total, note: done >= 3 and cancel.set())
    assert report.cancelled and report.pages_added == report.figures_added == 0
    assert report.summary().startswith("cancelled: re-embedded 0 pages")
    assert "the rebuild was cancelled: the library is unchanged" in report.summary()
    assert (path / "library.sqlite").read_bytes() == before
    assert not path.with_name(path.name + ".rebuild").exists()


def test_index_info_names_a_rebuild_stopped_before_its_end(built_library, tmp_path, capsys):
    """A rebuild that stopped (killed, crashed) leaves its aside build for the next run to
    resume: `index info` said nothing of it, nor of it going once the rebuild was run again;
    of a rebuild running now (it holds the writer lock) it says nothing."""
    from core.cli import main

    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    Library(path, params=params()).close()      # (a copy records its own folder once)

    def crash(done, total, note):
        if done >= 3:
            raise RuntimeError("killed")
    with Library(path, params=params()) as lib, pytest.raises(RuntimeError, match="killed"):
        rebuild(lib, create_model("tiny_test", pretrained=None), model_ref="tiny_test:random",
                workers=0, progress=crash)
    aside = path.with_name("lib.rebuild")
    assert aside.is_dir()
    with Library(path, params=params()) as writer, writer.write_lock():
        assert Library(path, params=params()).info()["interrupted_rebuild"] is None  # (running)
    assert main(["index", "info", "--library", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"an `index rebuild` stopped before its end left {aside}: the library is as it " \
        "was; the same rebuild again resumes it" in out
    assert main(["index", "info", "--library", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["interrupted_rebuild"] == str(aside)
    with Library(path, params=params()) as lib:
        rebuild(lib, create_model("tiny_test", pretrained=None), model_ref="tiny_test:random",
                workers=0)
    assert main(["index", "info", "--library", str(path)]) == 0
    assert "stopped before its end" not in capsys.readouterr().out


def test_a_search_opened_before_a_rebuild_swapped_the_library_in_follows_it(
        built_library, sheets, tmp_path):
    """A search whose library was opened just before a rebuild finished (the folders swapped
    under it) searches the new library and logs there; it used to call the index damaged."""
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    model = create_model("tiny_test", pretrained=None)
    with Library(path, params=params()) as reader:
        searcher = Searcher(reader, model)          # index not loaded yet
        with Library(path, params=params()) as writer:
            rebuild(writer, model, model_ref="tiny_test:random", workers=0)
        resp = searcher.search(SearchQuery(image=_query(sheets), k=8), log=True)
    assert resp.results and resp.search_id is not None
    with Library(path, params=params()) as lib:
        assert lib.store.conn.execute("SELECT COUNT(*) FROM searches WHERE id = ?",
                                      (resp.search_id,)).fetchone()[0] == 1
    assert [h.figure_id for h in resp.results] == [f for f, _ in _results(path, _query(sheets))]
    other = create_model("tiny_test", pretrained=None, seed=7)
    with Library(path, params=params()) as reader:     # rebuilt with another model meanwhile:
        searcher = Searcher(reader, model)              # said, not a dimension error
        with Library(path, params=params()) as writer:
            rebuild(writer, other, model_ref="tiny_test:random", workers=0)
        with pytest.raises(IndexError_, match="rebuilt with the model .* open it again"):
            searcher.search(SearchQuery(image=_query(sheets), k=8), log=True)


def test_a_rebuild_where_the_folder_beside_cannot_be_written_says_so(built_library, tmp_path,
                                                                    monkeypatch):
    """The new library is built beside the old one: a parent folder this user cannot write
    is named as the reason, and the library is unchanged."""
    import core.ingest as ingest_module

    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    Library(path, params=params()).close()      # (a copy records its own folder once)
    before = (path / "library.sqlite").read_bytes()

    def refuse(folder, *args, **kwargs):
        if str(folder).endswith(".rebuild"):
            raise PermissionError(1, "Operation not permitted", str(folder))
        return Library(folder, *args, **kwargs)
    monkeypatch.setattr(ingest_module, "Library", refuse)
    with Library(path, params=params()) as lib, pytest.raises(LibraryError) as caught:
        rebuild(lib, create_model("tiny_test", pretrained=None), workers=0)
    assert f"beside this one, in {tmp_path}, which cannot be written here" in str(caught.value)
    assert (path / "library.sqlite").read_bytes() == before


def test_a_rebuild_through_a_link_rebuilds_the_library_it_names(built_library, tmp_path):
    """A library reached through a symbolic link is rebuilt in its own folder: the link stays
    a link to it (it used to be replaced by the new library, the real one left as it was)."""
    real = tmp_path / "store" / "lib"
    shutil.copytree(built_library, real)
    link = tmp_path / "link"
    link.symlink_to(real)
    other = create_model("tiny_test", pretrained=None, seed=7)
    with Library(link, params=params()) as lib:
        rebuild(lib, other, model_ref="tiny_test:random", workers=0)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "store"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["lib"]
    with Library(real, params=params()) as lib:
        assert lib.model_id == other.model_id and lib.store.counts()["pages"]


def _killed_rebuild(built_library, tmp_path, monkeypatch):
    """A copy of the library whose rebuild was killed after some 3-page chunks were committed
    aside: (its path, the model, the pages committed aside)."""
    import functools

    import core.ingest as ingest_module

    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    monkeypatch.setattr(ingest_module, "ingest", functools.partial(ingest, chunk_pages=3))
    model = create_model("tiny_test", pretrained=None)

    def crash(done, total, note):
        if done >= 7:
            raise RuntimeError("killed")
    with Library(path, params=params()) as lib, pytest.raises(RuntimeError):
        rebuild(lib, model, model_ref="tiny_test:random", workers=0, progress=crash)
    with Library(path.with_name(path.name + ".rebuild"), params=params()) as lib:
        return path, model, lib.store.counts()["pages"]


def test_a_resumed_rebuild_says_what_the_interrupted_run_had_done(built_library, tmp_path,
                                                                 monkeypatch):
    """Run again after a kill, a rebuild said "re-embedded 0 pages (0 figures of 10
    patents)" where the killed run had re-embedded them all: it reads as nothing done."""
    path, model, aside = _killed_rebuild(built_library, tmp_path, monkeypatch)
    with Library(path, params=params()) as lib:
        pages = lib.info()["pages"]
        assert 0 < aside < pages
        report = rebuild(lib, model, model_ref="tiny_test:random", workers=0)
        assert lib.info()["pages"] == pages
    assert report.pages_added == pages - aside
    assert (f"re-embedded {pages - aside} pages" in report.summary() and
            f"resuming an interrupted rebuild that had re-embedded {aside} pages"
            in report.summary())


def test_a_rebuild_resumed_after_a_correction_starts_over(built_library, sheets, tmp_path,
                                                         monkeypatch):
    """A rebuild killed after some chunks, a grant date corrected meanwhile, the rebuild run
    again: the corrected date holds (in the patents and in the vectors' cutoff), where the
    resumed aside copy used to bring the old one back."""
    from datetime import date

    from core._corrections import correct_metadata
    from core.records import PatentRecord

    path, model, committed = _killed_rebuild(built_library, tmp_path, monkeypatch)
    assert committed >= 6                                   # chunks committed aside
    aside = path.with_name(path.name + ".rebuild")
    query = _query(sheets)
    with Library(path, params=params()) as lib:
        hits = Searcher(lib, model).search(SearchQuery(image=query, k=50)).results
        pid, sid, granted = lib.store.conn.execute(
            "SELECT patent_id, source_id, grant_date FROM patents WHERE patent_id = ?",
            (hits[0].patent_id,)).fetchone()
        later = date(2031, 1, 1)
        notes, kept, _ = correct_metadata(lib, [(sid, "the source", PatentRecord(
            pid, grant_date=later))])
        assert notes and not kept
        report = rebuild(lib, model, model_ref="tiny_test:random", workers=0)
    assert "it started over" in report.summary() and not aside.exists()
    cutoff = date(2030, 1, 1)
    with Library(path, params=params()) as lib:
        assert lib.store.patents([pid])[pid]["grant_date"] == later.isoformat()
        found = Searcher(lib, model).search(SearchQuery(image=query, k=50, before=cutoff))
        assert pid not in {h.patent_id for h in found.results}
        assert {h.patent_id for h in found.results} == \
            {h.patent_id for h in hits if h.patent_id != pid}


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_damaged_database_is_reported_with_a_rebuild_path(built_library, tmp_path, how):
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    db = path / "library.sqlite"
    data = db.read_bytes()
    db.write_bytes(data[:len(data) // 3] if how == "truncate" else
                   np.random.default_rng(0).bytes(len(data)))
    for side in path.glob("library.sqlite-*"):
        side.unlink()
    with pytest.raises(LibraryError, match="rebuild"):
        Library(path)


def test_a_library_of_a_newer_version_says_upgrade_not_rebuild(built_library, tmp_path):
    """Only a damaged database gets the advice to rebuild from the sources; a library made by
    a newer version says to upgrade, and nothing else (rebuilding would lose its history)."""
    import sqlite3

    from core.store import SCHEMA_VERSION

    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    conn = sqlite3.connect(path / "library.sqlite")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    conn.close()
    with pytest.raises(LibraryError) as caught:
        Library(path)
    assert "upgrade patent-examiner" in str(caught.value)
    assert "rebuild" not in str(caught.value) and "Move the library aside" not in str(caught.value)


def test_two_processes_making_one_database_at_once_both_open_it(tmp_path, monkeypatch):
    """The second process read the schema version (none yet) before the first had made the
    tables; it then ran the same migrations ("table sources already exists") and called a
    healthy library unusable."""
    from core.store import SCHEMA_VERSION, Store

    Store(tmp_path / "library.sqlite").close()        # the first process, a moment earlier
    real = Store.get_meta
    stale = []

    def read_before_the_first_finished(self, key, default=None):
        if key == "schema_version" and not stale:
            stale.append(key)
            return 0
        return real(self, key, default)
    monkeypatch.setattr(Store, "get_meta", read_before_the_first_finished)
    second = Store(tmp_path / "library.sqlite")
    assert stale and second.get_meta("schema_version") == SCHEMA_VERSION
    second.close()


def test_an_emptied_database_beside_index_files_is_refused_not_made_a_new_library(
        built_library, tmp_path):
    """A library.sqlite cut to zero bytes beside the index files of a library: opening it
    made a new empty library (patents: 0) whose next add removed those files."""
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    for extra in ("library.sqlite-wal", "library.sqlite-shm"):
        (path / extra).unlink(missing_ok=True)
    (path / "library.sqlite").write_bytes(b"")
    segments = sorted(p.name for p in (path / "index").iterdir())
    with pytest.raises(LibraryError, match="is empty.*Move the library aside"):
        Library(path)
    assert sorted(p.name for p in (path / "index").iterdir()) == segments
    assert (path / "library.sqlite").stat().st_size == 0
    fresh = tmp_path / "fresh"                  # a new library is still made as before
    Library(fresh, create=True).close()
    (fresh / "library.sqlite").write_bytes(b"")  # (killed before its schema: index empty)
    with Library(fresh) as lib:
        assert lib.info()["patents"] == 0


def test_another_programs_database_in_the_librarys_place_is_left_as_it_is(
        built_library, tmp_path):
    """A valid SQLite file of another program's as library.sqlite was taken for an empty
    library: even `index info` wrote the schema into it, and the next add removed the
    library's index files."""
    import sqlite3

    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    for extra in ("library.sqlite-wal", "library.sqlite-shm"):
        (path / extra).unlink(missing_ok=True)
    db = path / "library.sqlite"
    db.unlink()
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE foo (x); INSERT INTO foo VALUES (42); "
                       "CREATE TABLE meta (k, v);")     # (a table of our name, not ours)
    conn.close()
    before = db.read_bytes()
    segments = sorted(p.name for p in (path / "index").iterdir())
    with pytest.raises(LibraryError, match="not a library database .it holds other tables: "
                                           "foo, meta.*Move the library aside"):
        Library(path)
    assert db.read_bytes() == before
    assert sorted(p.name for p in (path / "index").iterdir()) == segments
    proc = subprocess.run([sys.executable, "-m", "core.cli", "index", "info", "--library",
                           str(path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and "not a library database" in proc.stderr
    assert db.read_bytes() == before


RATER = """
import sys
from core.store import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[3])):
    store.add_rating(search_id=None, patent_id="D0900001", figure_id=i, rank=i, rating=1,
                     model_id="m", query_sha256=None, examiner=sys.argv[2])
"""


def test_two_processes_rating_at_once_lose_nothing(built_library, tmp_path):
    path = tmp_path / "lib"
    shutil.copytree(built_library, path)
    db = str(path / "library.sqlite")
    n = 150
    procs = [subprocess.Popen([sys.executable, "-c", RATER, db, who, str(n)], cwd=REPO)
             for who in ("alice", "bob")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with Library(path) as lib:
        rows = lib.store.conn.execute("SELECT examiner, COUNT(DISTINCT figure_id) FROM ratings "
                                      "GROUP BY examiner ORDER BY examiner").fetchall()
    assert rows == [("alice", n), ("bob", n)]


def test_library_files_are_user_only(built_library, sheets, tmp_path):
    path = tmp_path / "lib"
    old = os.umask(0o022)
    try:
        shutil.copytree(built_library, path)
        for p in [path, *path.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        fresh = tmp_path / "fresh"
        with Library(fresh, create=True, params=params()) as lib:
            ingest(lib, [half_manifest(sheets, tmp_path / "h.jsonl")],
                   create_model("tiny_test", pretrained=None), workers=0, allow_absolute=True)
            Searcher(lib, create_model("tiny_test", pretrained=None)).search(
                SearchQuery(image=_query(sheets)), log=True)
            bad = [p for p in [fresh, *fresh.rglob("*")] if p.stat().st_mode & 0o077]
    finally:
        os.umask(old)
    assert bad == []


def test_manifest_paths_cannot_escape_unless_allowed(sheets, tmp_path, monkeypatch):
    inner = tmp_path / "m"
    inner.mkdir()
    first, second, third, fourth = [json.loads(r) for r in sheets.read_text().splitlines()[:4]]
    os.symlink(sheets.parent / third["image"], inner / "link.png")
    rows = [{**first, "image": os.path.relpath(sheets.parent / first["image"], inner)},
            {**second, "image": str(sheets.parent / second["image"])},
            {**third, "image": "link.png"}]
    (inner / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = create_model("tiny_test", pretrained=None)
    with Library(tmp_path / "lib", create=True) as lib:
        report = ingest(lib, [inner / "manifest.jsonl"], model, workers=0)
        assert report.pages_added == 0 and len(report.errors) == 3
        skips = "SELECT COUNT(*) FROM ingest_errors"        # what `index info --errors` lists
        assert lib.store.conn.execute(skips).fetchone()[0] == 3
        report = ingest(lib, [inner / "manifest.jsonl"], model, workers=0, allow_absolute=True)
        assert report.pages_added == 3 and not report.errors
        assert lib.store.conn.execute(skips).fetchone()[0] == 0     # superseded by this run
        # an update (the source added again, without the option) keeps its leave
        with (inner / "manifest.jsonl").open("a") as f:
            f.write(json.dumps({**fourth, "image": str(sheets.parent / fourth["image"])}) + "\n")
        report = ingest(lib, source_paths(lib)[0], model, workers=0)
        assert report.pages_added == 1 and not report.errors
        other = tmp_path / "other.jsonl"          # ... which no other manifest has
        other.write_text(json.dumps({**fourth, "patent_id": "D0000001",
                                     "image": str(sheets.parent / first["image"])}) + "\n")
        assert ingest(lib, [other], model, workers=0).errors
    # skipped by a run that named another source too: a later run of this source alone
    # clears its skips (they stayed listed as "skipped by earlier runs"), not the other's
    grants = tmp_path / "grants"
    (grants / "USD0999999-20210105").mkdir(parents=True)
    (grants / "USD0999999-20210105" / "USD0999999-20210105.XML").write_text("<broken")
    with Library(tmp_path / "lib2", create=True) as lib:
        ingest(lib, [inner / "manifest.jsonl", grants], model, workers=0)
        items = lambda: [i for (i,) in lib.store.conn.execute(  # noqa: E731
            "SELECT item FROM ingest_errors ORDER BY id")]
        assert sorted(items()) == [str(grants)] + [f"manifest.jsonl line {n}"
                                                   for n in (1, 2, 3, 4)]
        ingest(lib, [inner / "manifest.jsonl"], model, workers=0, allow_absolute=True)
        assert items() == [str(grants)]
    # two manifests of one name: their skips name them alike, yet a run of one clears its
    # own skips only
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "manifest.jsonl").write_text((inner / "manifest.jsonl").read_text())
    with Library(tmp_path / "lib3", create=True) as lib:
        ingest(lib, [inner / "manifest.jsonl", twin / "manifest.jsonl"], model, workers=0)
        count = "SELECT COUNT(*) FROM ingest_errors"
        assert lib.store.conn.execute(count).fetchone()[0] == 8
        ingest(lib, [inner / "manifest.jsonl"], model, workers=0, allow_absolute=True)
        assert [s for (s,) in lib.store.conn.execute("SELECT source FROM ingest_errors")] == \
            [str(twin / "manifest.jsonl")] * 4
    # a source typed relative the first time and otherwise the next, or with ", " in its
    # path (as runs record their sources), is still the same source
    comma = tmp_path / "Smith, John"
    shutil.copytree(inner, comma, symlinks=True)
    shutil.copy(comma / "manifest.jsonl", comma / "list.jsonl")
    monkeypatch.chdir(tmp_path)
    with Library(tmp_path / "lib4", create=True) as lib:
        ingest(lib, ["m/manifest.jsonl", comma / "manifest.jsonl", grants], model, workers=0)
        assert lib.store.conn.execute(count).fetchone()[0] == 1 + 4 + 4
        ingest(lib, [inner / "manifest.jsonl"], model, workers=0, allow_absolute=True)
        assert lib.store.conn.execute(count).fetchone()[0] == 5      # the other manifest's
    with Library(tmp_path / "lib5", create=True) as lib:
        ingest(lib, ["m/manifest.jsonl", comma / "list.jsonl", grants], model, workers=0)
        ingest(lib, [inner / "manifest.jsonl"], model, workers=0, allow_absolute=True)
        assert sorted(i for (i,) in lib.store.conn.execute("SELECT item FROM ingest_errors")
                      ) == [str(grants)] + [f"list.jsonl line {n}" for n in (1, 2, 3, 4)]
        ingest(lib, [comma / "list.jsonl"], model, workers=0, allow_absolute=True)
        assert [i for (i,) in lib.store.conn.execute("SELECT item FROM ingest_errors")] == [
            str(grants)]
    # a source named through a link, or a folder holding its manifest (whose skips name the
    # manifest), or a manifest of another name (.json: "item N"), run again alone
    shutil.copytree(inner, tmp_path / "whole", symlinks=True)
    os.symlink(tmp_path / "whole", tmp_path / "link")
    shutil.copytree(inner, tmp_path / "rows", symlinks=True)
    listed = tmp_path / "rows" / "manifest.jsonl"
    listed.with_name("rows.json").write_text(json.dumps([json.loads(r) for r in
                                                          listed.read_text().splitlines()]))
    listed.unlink()
    # ... or named once as the folder and once as the manifest in it
    for n, (name, again) in enumerate([("link", "link"), ("whole", "whole"),
                                       ("rows/rows.json", "rows/rows.json"),
                                       ("whole", "whole/manifest.jsonl"),
                                       ("whole/manifest.jsonl", "whole")]):
        with Library(tmp_path / f"lib-{n}", create=True) as lib:
            ingest(lib, [name, grants], model, workers=0)
            items = sorted(i for (i,) in lib.store.conn.execute("SELECT item FROM ingest_errors"))
            assert len(items) == 5 and items[0] == str(grants), items
            ingest(lib, [again], model, workers=0, allow_absolute=True)
            assert [i for (i,) in lib.store.conn.execute("SELECT item FROM ingest_errors")] == [
                str(grants)], (name, again)
    # a folder's skip, cleared by a run of the folder holding it (all of it read again)
    (tmp_path / "pics" / "A").mkdir(parents=True)
    shutil.copy(sheets.parent / first["image"], tmp_path / "pics" / "A" / "good.png")
    (tmp_path / "pics" / "A" / "bad.png").write_bytes(b"not an image")
    with Library(tmp_path / "lib-pics", create=True) as lib:
        ingest(lib, [tmp_path / "pics" / "A", grants], model, workers=0)
        skipped = lambda: sorted(i for (i,) in lib.store.conn.execute(  # noqa: E731
            "SELECT item FROM ingest_errors"))
        assert skipped() == [str(grants), str(tmp_path / "pics" / "A" / "bad.png")]
        (tmp_path / "pics" / "A" / "bad.png").unlink()
        ingest(lib, [tmp_path / "pics"], model, workers=0)
        assert skipped() == [str(grants)]


# -- hostile inputs ------------------------------------------------------------------------
def _png(w: int, h: int) -> bytes:
    """A PNG header claiming w x h pixels (no pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data +
                zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _sheet(fmt: str) -> bytes:
    import io

    im = Image.new("L", (300, 400), 255)
    im.paste(0, (60, 80, 240, 90))
    im.paste(0, (60, 80, 70, 300))
    buf = io.BytesIO()
    if fmt == "TIFF":
        im.convert("1").save(buf, format="TIFF", compression="group4")
    else:
        im.save(buf, format=fmt)
    return buf.getvalue()


SHEETS = {"png": _sheet("PNG"), "tif": _sheet("TIFF")}
CONTENT = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(["png", "tif"]).flatmap(
        lambda f: st.integers(0, len(SHEETS[f]) - 1).map(lambda n: SHEETS[f][:n])),
    st.sampled_from([_png(100_000, 100_000), _png(0, 10), _png(70_000, 1), SHEETS["png"],
                     SHEETS["tif"]]),
)
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\0"),
                min_size=1, max_size=12)
DATES = st.sampled_from(["2020-01-07", "2020-02-30", "1899-12-31", "2999-01-01", "20200107",
                         "", None, 7])
FILE = st.tuples(NAMES, st.sampled_from([".png", ".tif", ".TIFF", ".jpg"]), CONTENT, DATES,
                 DATES)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(FILE, min_size=1, max_size=5), xml=st.binary(max_size=200))
def test_fuzz_ingest_reports_bad_files_and_adds_nothing_twice(tmp_path_factory, files, xml):
    root = tmp_path_factory.mktemp("fuzz")
    src = root / "src"
    src.mkdir()
    rows = []
    for i, (name, suffix, content, grant, filing) in enumerate(files):
        fname = f"{i}-{name}{suffix}"
        try:
            (src / fname).write_bytes(content)
        except OSError:  # a name this file system refuses
            continue
        rows.append({"image": fname, "patent_id": f"D09{i:05d}", "grant_date": grant,
                     "filing_date": filing, "page_kind": "drawing_sheet"})
    (src / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                for r in rows), encoding="utf-8")
    grant = root / "grant" / "USD0900001-20210105"
    grant.mkdir(parents=True)
    (grant / "USD0900001-20210105.XML").write_bytes(xml)
    (grant / "USD0900001-20210105-D00001.TIF").write_bytes(SHEETS["tif"])
    shutil.copytree(src, root / "images", ignore=shutil.ignore_patterns("manifest.jsonl"))
    model = create_model("tiny_test", pretrained=None)
    sources = [src / "manifest.jsonl", root / "grant", root / "images"]
    with Library(root / "lib", create=True) as lib:
        scans, unreadable = scan_sources(sources)
        first = ingest(lib, sources, model, workers=0, scans=scans)
        bad_files = len(first.errors) - sum(len(s.errors) for s in scans)
        assert first.pages_total == first.pages_added + bad_files
        again = ingest(lib, sources, model, workers=0)
        assert again.pages_added == 0
        conn = lib.store.conn
        assert conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM pages GROUP BY path, "
                            "page_index HAVING COUNT(*) > 1)").fetchone()[0] == 0
        if lib.manifest:
            labels = np.concatenate([s.labels for s in lib.index(verify="full").segments])
            ids = [r[0] for r in conn.execute("SELECT id FROM figures")]
            assert sorted(labels.tolist()) == sorted(ids)


@pytest.mark.skipif(sys.platform != "linux", reason="finds the workers in /proc")
def test_a_dying_worker_costs_no_page(sheets):
    from core.embed import CpuEncoder, PagePipeline
    from core.records import PageRecord

    def workers() -> list[int]:
        parent = {}
        for d in os.listdir("/proc"):
            try:
                parent[int(d)] = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1]
                                     .split()[1])
            except (ValueError, OSError, IndexError):
                pass
        kids = {p for p, q in parent.items() if q == os.getpid()}
        return [p for p, q in parent.items() if q in kids]  # forkserver -> workers

    model = create_model("tiny_test", pretrained=None)
    rows = [json.loads(r) for r in sheets.read_text().splitlines()]
    pages = [PageRecord(r["patent_id"], sheets.parent / r["image"], 0, r["page_kind"])
             for r in rows]
    out = []
    for done in PagePipeline(model.drawing_config, 2, CpuEncoder(model), ahead=4).run(pages):
        out.append(done)
        if len(out) == 2:
            killed = workers()
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
    assert killed
    assert [p.page.path for p in out] == [p.path for p in pages]
    assert not [p.error for p in out if p.error]
    assert all(p.vectors is not None and len(p.vectors) == len(p.boxes) >= 1 for p in out)


def test_full_disk_mid_ingest_keeps_the_library_and_a_rerun_completes(sheets, tmp_path,
                                                                      monkeypatch, capsys):
    """ENOSPC while an index segment is written: the CLI says so in one line, what was
    committed before stays intact and consistent, and a re-run adds the rest exactly once."""

    from core import cli

    model = create_model("tiny_test", pretrained=None)
    path = tmp_path / "lib"
    with Library(path, create=True, params=params()) as lib:
        ingest(lib, [half_manifest(sheets, tmp_path / "half.jsonl")], model,
               model_ref="tiny_test:random", workers=0, allow_absolute=True)
        before = snapshot(lib)
    assert before
    import shutil as _shutil

    from core import index as index_module

    real = index_module._write_segment_files
    calls = []

    def disk_fills_up(paths, *args, **kwargs):
        """What numpy does on a full disk: a short write, an OSError without errno."""
        calls.append(1)
        paths["meta"].write_bytes(b"\0" * 100)
        paths["vectors"].write_bytes(b"\0" * 100)
        raise OSError("219264 requested and 82912 written")

    monkeypatch.setattr(index_module, "_write_segment_files", disk_fills_up)
    monkeypatch.setattr(_shutil, "disk_usage",
                        lambda p: _shutil._ntuple_diskusage(1 << 30, 1 << 30, 0))
    rc = cli.main(["index", "add", str(sheets), "--library", str(path), "--workers", "0"])
    assert rc == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "disk full" in err and "requested" not in err and "Traceback" not in err
    assert calls
    partial = check_consistent(path, before)
    assert partial == before
    with Library(path) as lib:                  # no half-written segment file is left
        listed = {e["name"] for e in lib.manifest["segments"]}
    on_disk = {f.name.split(".")[0] for f in (path / "index").glob("seg-*")}
    assert on_disk == listed
    monkeypatch.setattr(index_module, "_write_segment_files", real)
    monkeypatch.undo()
    assert cli.main(["index", "add", str(sheets), "--library", str(path), "--workers", "0"]) == 0
    final = check_consistent(path, partial)
    with Library(tmp_path / "direct", create=True, params=params()) as direct:
        ingest(direct, [sheets], model, workers=0)
        assert len(final) == len(snapshot(direct))


_SERVER_PROBE = """
import os, signal, time, concurrent.futures as cf
from multiprocessing import forkserver
from core.embed import warm_up, worker_context
warm_up()
pid = forkserver._forkserver._forkserver_pid
os.kill(pid, signal.SIGINT)          # Ctrl-C reaches the server while it imports torch
time.sleep(0.5)
with cf.ProcessPoolExecutor(1, mp_context=worker_context()) as pool:
    print(pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN)
print(pid)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server is Linux's")
def test_ctrl_c_while_the_worker_server_starts_leaves_it_to_the_main_process():
    """A terminal's Ctrl-C goes to every process of the command: the worker server and its
    workers ignore it (the main process stops after the batch in progress); the server,
    which imports torch for seconds after it starts, used to die of it and break the run."""
    proc = subprocess.run([sys.executable, "-c", _SERVER_PROBE], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    ignored, pid = proc.stdout.split()
    assert ignored == "True" and "KeyboardInterrupt" not in proc.stderr


_ABORT_WHILE_A_WORKER_STARTS = """
import os, signal, sys, threading
from pathlib import Path
from PIL import Image
from core.drawing import DrawingConfig
from core.embed import PagePipeline, warm_up
from core.records import PageRecord
page = Path(sys.argv[1])
Image.new("L", (400, 300), 255).save(page)
warm_up()                                # the server imports torch for seconds: the first
seen = []                                # worker starts only then, inside submit()
def handler(signum, frame):              # as the CLI's: the second Ctrl-C aborts
    seen.append(signum)
    if len(seen) > 1:
        raise KeyboardInterrupt
signal.signal(signal.SIGINT, handler)
for delay in (0.2, 0.4):
    threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    for _ in PagePipeline(DrawingConfig(), workers=2).run([PageRecord("D1", page)] * 8):
        pass
except KeyboardInterrupt:
    print("aborted", len(seen))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server is Linux's")
def test_a_second_ctrl_c_while_a_worker_starts_aborts_without_a_traceback(tmp_path):
    """Ctrl-C twice while `index add` starts its workers: the run aborts (exit 130) and no
    worker left half-started prints a traceback after it (its semaphores gone with the run)."""
    proc = subprocess.run([sys.executable, "-c", _ABORT_WHILE_A_WORKER_STARTS,
                           str(tmp_path / "blank.png")], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["aborted", "2"]
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_broken_pipe_that_is_not_stdout_is_an_error_not_a_quiet_success(tmp_path):
    """A helper process that died (its pipe broke) is a failure, said in one line; output
    piped into a reader that stopped (`| head`) is not."""
    died = ("import sys, core.cli as c\n"
            "def boom(args): raise BrokenPipeError(32, 'Broken pipe')\n"
            "c.cmd_models = boom\n"
            "sys.exit(c.main(['models']))\n")
    proc = subprocess.run([sys.executable, "-c", died], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 1 and "a helper process stopped" in proc.stderr
    assert "Traceback" not in proc.stderr
    read, write = os.pipe()
    os.close(read)                              # the reader is gone before anything is written
    proc = subprocess.run([sys.executable, "-m", "core.cli", "models"], stdout=write,
                          stderr=subprocess.PIPE, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    os.close(write)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_long_but_legal_names_open_write_and_say_when_a_rebuild_cannot_fit(tmp_path,
                                                                           tiny_model):
    """A library folder of 250 bytes opens (its rebuild's name beside it is too long to look
    for), a report of 250 bytes is written (its temporary name is cut), and a rebuild that
    would need a longer name than the file system allows says so and changes nothing."""
    from core.atomic import replacing

    long = tmp_path / ("L" * 250)
    with Library(long, create=True) as lib:
        with pytest.raises(LibraryError, match="a name longer than this file system allows"):
            rebuild(lib, tiny_model, workers=0)
    with Library(long) as lib:
        assert lib.store.counts()["patents"] == 0
    report = tmp_path / ("R" * 245 + ".html")
    with replacing(report) as f:
        f.write("<html></html>")
    assert report.read_text() == "<html></html>"


def test_a_replaced_file_keeps_its_permissions_and_no_planted_link_is_written_through(
        tmp_path, monkeypatch):
    """Exports went through a predictable temporary name opened with open(): a link planted
    under it had the report written into the file it points to; and a report the user had
    made private (600) came back readable by all."""
    import stat

    import core.atomic
    from core.atomic import replacing

    report = tmp_path / "report.csv"
    report.write_text("old")
    report.chmod(0o600)
    with replacing(report) as f:
        f.write("new")
    assert report.read_text() == "new" and stat.S_IMODE(report.stat().st_mode) == 0o600

    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    monkeypatch.setattr(core.atomic.secrets, "token_hex", lambda n: "guessed0")
    planted = tmp_path / f".report.csv.{os.getpid()}.guessed0.{core.atomic._HOST}.tmp"
    planted.symlink_to(victim)
    with pytest.raises(FileExistsError):
        with replacing(report) as f:
            f.write("the report")
    assert victim.read_text() == "mine" and report.read_text() == "new"


def test_the_temporary_files_of_a_killed_export_go_with_the_next_write(tmp_path):
    """An export killed midway (kill -9) left its partial temporary file beside the report
    (22 MB each), and every later export of that report kept them. The next write to the same
    file removes those of this machine's ended processes, and others' untouched for a week;
    a running writer's, another file's and a fresh one from another machine stay."""
    import core.atomic
    from core.atomic import STALE_ELSEWHERE_S, replacing

    host = core.atomic._HOST
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    report = tmp_path / "ratings.csv"
    killed = tmp_path / f".ratings.csv.{ended}.0badc0de.{host}.tmp"
    older = tmp_path / f".ratings.csv.{ended}.0badc0df.tmp"       # (named before the host)
    live = tmp_path / f".ratings.csv.{os.getpid()}.12345678.{host}.tmp"
    elsewhere = tmp_path / f".ratings.csv.{ended}.87654321.other-machine.tmp"
    old_elsewhere = tmp_path / f".ratings.csv.{ended}.87654322.other-machine.tmp"
    other_file = tmp_path / f".notes.csv.{ended}.0badc0de.{host}.tmp"
    for leftover in (killed, older, live, elsewhere, old_elsewhere, other_file):
        leftover.write_text("partial")
    week_ago = time.time() - STALE_ELSEWHERE_S - 60
    os.utime(old_elsewhere, (week_ago, week_ago))
    os.utime(older, (week_ago, week_ago))
    with replacing(report) as f:
        f.write("rated")
    assert report.read_text() == "rated"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (report, live, elsewhere, other_file))


def test_a_replaced_file_keeps_the_group_it_was_shared_with(tmp_path):
    """A report a team reads through its group (640, group "examiners") came back in the
    writer's own group, mode kept: the team could no longer read it."""
    import stat

    from core.atomic import replacing

    others = [g for g in ([65534] if os.getuid() == 0 else os.getgroups())
              if g != os.getegid()]
    if not others:
        pytest.skip("this user belongs to no group but its own")
    report = tmp_path / "report.csv"
    report.write_text("old")
    os.chown(report, -1, others[0])
    report.chmod(0o640)
    with replacing(report) as f:
        f.write("new")
    st = report.stat()
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (others[0], 0o640)
    assert report.read_text() == "new"


def test_names_that_are_not_utf8_are_skipped_named_or_logged_readably(shared_data, tmp_path,
                                                                       tiny_model):
    """File and folder names made on another system (Latin-1 bytes) crashed `index add` and
    the search log: such a file is skipped with the reason, such a source folder is one
    error, and a search of such a file is logged with U+FFFD for the odd bytes."""
    from core.search import Searcher, SearchQuery

    grant = shared_data / "uspto_redbook" / "USD0925765-20210720"
    odd = os.fsdecode(b"caf\xe9")
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    tifs = sorted(grant.glob("*.TIF"))
    shutil.copy(tifs[1], imgs / tifs[1].name)
    shutil.copy(tifs[2], imgs / f"x {odd}.tif")
    (tmp_path / f"dossier {odd}").mkdir()
    shutil.copy(tifs[3], tmp_path / f"dossier {odd}" / tifs[3].name)
    with Library(tmp_path / "lib", create=True) as lib:
        report = ingest(lib, [imgs, tmp_path / f"dossier {odd}"], tiny_model, workers=0)
        assert report.pages_added == 1
        assert sorted(why for _, why in report.errors) == [
            f"{tmp_path}/dossier caf\ufffd: its name is not valid UTF-8 (written on another "
            "system?): rename it, then add it again",
            "its name is not valid UTF-8 (written on another system?): rename it, then add it "
            "again"]
        assert lib.store.counts()["patents"] == 1
        query = tmp_path / f"q {odd}.tif"
        shutil.copy(tifs[1], query)
        resp = Searcher(lib, tiny_model).search(SearchQuery(image=query, k=2), log=True)
        rec = lib.store.search_record(resp.search_id)
        assert rec["query_path"] == f"{tmp_path}/q caf\ufffd.tif"
        from core.audit import query_of

        assert query_of(rec, lib.store).image == str(query)     # found again to replay
    with pytest.raises(LibraryError, match="a library folder's name must be valid UTF-8"):
        Library(tmp_path / f"lib {odd}", create=True)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="a file size limit (RLIMIT_FSIZE) as Linux sets it")
def test_a_file_size_limit_is_said_as_such_not_as_a_damaged_library(shared_data, tmp_path,
                                                                      tiny_model):
    """Under `ulimit -f` a healthy library was called damaged, with advice to move it aside
    and rebuild it (SQLite says only "disk I/O error"), and a training checkpoint failed with
    torch's "unexpected pos" and left its temporary file: a write that finds no room is now
    said as what it is, and the library opens read-only meanwhile."""
    import resource

    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, shared_data / "uspto_redbook" / "USD0908315-20210126", tiny_model,
               workers=0)
    sheet = next((shared_data / "uspto_redbook" / "USD0908315-20210126").glob("*D00001.TIF"))

    def limited(*args, limit=16 << 10, code=None):
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        argv = ([sys.executable, "-c", code] if code else
                [sys.executable, "-m", "core.cli", *map(str, args)])
        return subprocess.run(argv, capture_output=True, text=True, timeout=300,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                    (limit, hard)))

    proc = limited("index", "info", "--library", tmp_path / "lib")
    assert proc.returncode == 0, proc.stderr
    assert "read-only now, the file size limit (ulimit -f) is reached" in proc.stdout
    proc = limited("search", sheet, "--library", tmp_path / "lib")
    assert proc.returncode == 1 and "not a usable library" not in proc.stderr
    assert "cannot be written now, the file size limit (ulimit -f) is reached" in proc.stderr
    assert limited("search", sheet, "--library", tmp_path / "lib", "--no-log",
                   "--json").returncode == 0

    (tmp_path / "run").mkdir()
    proc = limited(limit=256 << 10, code=f"""
import errno, torch
from pathlib import Path
from core.atomic import no_room, replacing, said_no_room
run = Path({str(tmp_path / "run")!r})
assert no_room(run) == errno.EFBIG
try:
    with said_no_room(run / "checkpoint.pt"), replacing(run / "checkpoint.pt", "wb") as f:
        torch.save({{"w": torch.zeros(1 << 18)}}, f)
except OSError as exc:
    print(exc.errno == errno.EFBIG, exc.filename)
""")
    assert proc.stdout.split() == ["True", str(tmp_path / "run" / "checkpoint.pt")], \
        proc.stderr
    assert list((tmp_path / "run").iterdir()) == []         # no temporary file left


def test_titles_left_unwritten_for_want_of_room_say_why_and_what_to_do(shared_data, tmp_path,
                                                                        tiny_model,
                                                                        monkeypatch):
    """The pages are in but the titles' text vectors found no room: the message says what
    stopped them (here a file size limit, not "the disk is full") and how to complete them."""
    import errno

    import core.text_index
    from core.store import DiskFullError

    def no_room(lib, model, patents):
        lib.store._no_room = errno.EFBIG
        raise lib.store._full_error()
    monkeypatch.setattr(core.text_index, "update_text_vectors", no_room)
    with Library(tmp_path / "lib", create=True) as lib:
        with pytest.raises(DiskFullError) as info:
            ingest(lib, shared_data / "uspto_redbook" / "USD0908315-20210126", tiny_model,
                   workers=0)
        assert lib.info()["pages"] == 5
    assert str(info.value) == (
        f"{tmp_path / 'lib'}: no room to write the library: the file size limit (ulimit -f) is "
        "reached. 5 page(s) were added and are searchable by drawing, but the titles of some "
        "patents are not yet searchable as text: raise the limit and add the same sources "
        "again (it completes them)")


def test_a_new_library_that_finds_no_room_leaves_no_folder_behind(tmp_path, monkeypatch):
    """Made where nothing can be written (a file size limit: its database cannot take its
    journal), the new library said "nothing was written" and left its folder and an empty
    database behind."""
    import errno
    import sqlite3

    import core.store

    connect = sqlite3.connect

    class Limited(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode"):
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, *args)

    monkeypatch.setattr(core.store.sqlite3, "connect",
                        lambda target, *a, **kw: connect(target, *a, factory=Limited, **kw))
    monkeypatch.setattr(core.store, "no_room", lambda path: errno.EFBIG)
    with pytest.raises(LibraryError, match="the file size limit"):
        Library(tmp_path / "new", create=True)
    assert not (tmp_path / "new").exists()
    with pytest.raises(LibraryError):                   # nor the folders made to hold it
        Library(tmp_path / "nest" / "a" / "b", create=True)
    assert not (tmp_path / "nest").exists()
    from core.demo import build_demo_library            # nor a demo's
    with pytest.raises(LibraryError):
        build_demo_library(tmp_path / "demo", n_patents=2, workers=1)
    assert not (tmp_path / "demo").exists()
    (tmp_path / "mine").mkdir()                         # a folder the user made is kept
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(LibraryError):
        Library(tmp_path / "mine", create=True)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_a_demo_that_finds_no_room_to_mark_its_folder_leaves_nothing(tmp_path, monkeypatch):
    """The demo's library opened, then had no room to record that it is the demo's: the
    empty library it left was refused by every later demo as 'not the demo library'."""
    import errno

    from core.demo import build_demo_library
    from core.store import Store

    def full(self, key, value):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Store, "set_meta", full)
        with pytest.raises(OSError, match="No space"):
            build_demo_library(tmp_path / "nest" / "demo", n_patents=2, workers=1)
    assert not (tmp_path / "nest").exists()


def test_an_export_into_a_full_folder_names_the_file_and_keeps_the_old_one(
        built_library, tmp_path, monkeypatch):
    """A report or ratings CSV that found the disk full said "disk full; ... (the library
    and earlier files are as they were)", naming no file: the export's folder was the full
    one, not the library's."""
    import errno
    import io

    from core.atomic import replacing
    from core.cli import main

    target = tmp_path / "ratings.csv"
    target.write_text("the export of yesterday")
    with pytest.raises(OSError) as caught:
        with replacing(target) as f:
            f.write("a,b\n")
            raise OSError(errno.ENOSPC, "No space left on device")   # (as a full disk's write)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert target.read_text() == "the export of yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["ratings.csv"]      # no temporary left

    import core.reports

    real = core.reports._SheetSafeWriter.writerow

    def full(self, row):
        real(self, row)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(core.reports._SheetSafeWriter, "writerow", full)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["ratings", "--library", str(built_library), "--out", str(target)]) == 1
    assert f"disk full ({target})" in err.getvalue()
    assert target.read_text() == "the export of yesterday"
