"""The `patent-examiner` command line: JSON contract, exit codes, one-line errors."""
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from statistics import fmean

import pytest

from conftest import write_subset_manifest

PATENTS = ["D0906013", "D0910780", "D0889911", "D0576693"]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def cli_library(shared_data, tiny_checkpoint, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    manifest = write_subset_manifest(shared_data, tmp / "m.jsonl", PATENTS)
    lib = tmp / "lib"
    proc = run("index", "add", manifest, shared_data / "uspto_redbook", "--library", lib,
               "--model", tiny_checkpoint, "--allow-absolute", "--workers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    return lib, json.loads(proc.stdout.strip().splitlines()[-1])


def test_index_add_and_info(cli_library, tiny_checkpoint):
    lib, summary = cli_library
    assert summary["added_patents"] == len(PATENTS) + 5 and summary["skipped"] == []
    proc = run("index", "info", "--library", lib, "--json")
    info = json.loads(proc.stdout)
    assert info["patents"] == len(PATENTS) + 5
    assert info["model"]["ref"] == str(tiny_checkpoint.resolve())
    # reading a library's counts starts in well under a second: no torch, no image stack
    code = ("import sys; from core.cli import main; rc = main(['index', 'info', '--library', "
            f"{str(lib)!r}]); print(sorted(m for m in ('torch', 'core.embed', 'scipy') "
            "if m in sys.modules), rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "[] 0", proc.stdout + proc.stderr


def test_search_json_contract(cli_library, shared_data, tmp_path):
    lib, _ = cli_library
    q1 = shared_data / "real_dev" / "D0906013" / "page03_sheet.png"
    q2 = shared_data / "uspto_redbook" / "USD0919445-20210518" / "USD0919445-20210518-D00001.TIF"
    qfile = tmp_path / "queries.txt"
    qfile.write_text(f"{q2}\n")
    proc = run("search", q1, "--queries", qfile, "--library", lib, "--before", "2020-06-01",
               "--k", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [ln["query"] for ln in lines] == [str(q1), str(q2)]
    for obj in lines:
        assert obj["before"] == "2020-06-01" and obj["model"].startswith("tiny_test-")
        assert 0 < len(obj["results"]) <= 5
        for r in obj["results"]:
            assert {"rank", "score", "patent_id", "title", "locarno", "grant_date", "image",
                    "figure"} <= set(r)
            assert date.fromisoformat(r["grant_date"]) < date(2020, 6, 1)
            assert len(r["figure"]) == 4
        assert [r["rank"] for r in obj["results"]] == list(range(1, len(obj["results"]) + 1))


def test_search_by_text_alone(cli_library):
    """`search --text` without a drawing ranks the library's patents by their text: every
    figure of a patent carries its patent's score, patents in the order of text similarity."""
    from core.library import Library
    from core.text_index import TextIndex

    lib, _ = cli_library
    title = "Pregnancy pillow"
    proc = run("search", "--text", title, "--library", lib, "--before", "2021-06-01",
               "--k", "50", "--json", "--no-log")
    assert proc.returncode == 0, proc.stderr
    (obj,) = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert obj["query"] is None and obj["text"] == title and obj["query_figures"] == []
    results = obj["results"]
    assert results and all(date.fromisoformat(r["grant_date"]) < date(2021, 6, 1)
                           for r in results)
    scores: dict[str, set] = {}
    for r in results:
        scores.setdefault(r["patent_id"], set()).add(round(r["score"], 5))
    assert all(len(s) == 1 for s in scores.values())
    with Library(lib) as library:
        model = library.load_model(None)
        sims = TextIndex.load(library, model.model_id).similarities(
            model.encode_text([title]).numpy()[0])
    order = list(scores)
    assert len(order) > 1 and order == sorted(order, key=lambda p: -sims[p])
    weight = obj["fusion"]["text"]             # the text output says how its scores add up
    said = run("search", "--text", title, "--library", lib, "--before", "2021-06-01", "--k", "1",
               "--no-log")
    assert said.stdout.splitlines()[1] == f"  score = {weight:g} \u00d7 text similarity"
    assert float(said.stdout.splitlines()[2].split()[1]) == pytest.approx(
        weight * sims[order[0]], abs=2e-3)
    proc = run("search", "--library", lib, "--text", "  ")
    assert proc.returncode == 2 and "--text is empty" in proc.stderr


@pytest.mark.parametrize("args, code, needle", [
    (["search", "x.png", "--before", "2020-13-01"], 2, "not a calendar date"),
    (["search", "x.png", "--locarno", "06, 28"], 2, "one Locarno class or subclass at a time"),
    (["search", "x.png", "--locarno", "banana"], 2, "Locarno"),
    (["search", "--k", "0", "x.png"], 2, "positive integer"),
    (["index", "info", "--library", ""], 2, "empty name"),
    (["history", "--limit", "-1"], 2, "0 or a positive integer"),
    (["history", "--limit", "99999999999999999999999"], 2, "0 or a positive integer"),
    (["history", "99999999999999999999999"], 2, "expected a positive integer"),
    (["search", "x.png", "--k", "9223372036854775808"], 2, "expected a positive integer"),
    (["index", "add", "x", "--device", "tpu"], 2, "cpu, cuda, cuda:N, mps or auto"),
    (["train", "--config", "x.toml", "--set", "foo"], 2, "SECTION.KEY=VALUE"),
    (["train", "--config", "x.toml", "--out", ""], 2, "--out: expected a folder"),
    (["search", "--text", "pillow", "--page", "2"], 2, "only --text"),
    (["search", "x.png", "--page", "all", "--box", "0", "0", "5", "5"], 2, "not 'all'"),
])
def test_usage_errors(args, code, needle):
    proc = run(*args)
    assert proc.returncode == code and needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_user_errors_are_one_line(cli_library, tmp_path):
    lib, _ = cli_library
    proc = run("search", tmp_path / "missing.png", "--library", lib)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    proc = run("search", bad, "--library", lib, "--json")
    assert proc.returncode == 1 and "error" in json.loads(proc.stdout)
    proc = run("index", "info", "--library", tmp_path / "nowhere")
    assert proc.returncode == 1 and "no library" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run("index", "add", tmp_path, "--library", tmp_path / "new", "--model", "no_such")
    assert proc.returncode == 1 and "no_such" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_drawing_search_starts_without_building_the_network(tmp_path):
    """A checkpoint whose frozen image graph was cached by indexing: a later drawing search
    neither imports open_clip nor builds the model, and ranks exactly as a cold start does."""
    import os

    from core.models import create_model, save_checkpoint
    from core.synthetic import write_corpus

    ck = save_checkpoint(create_model("tiny_test", pretrained=None, seed=5), tmp_path / "ck")
    manifest = write_corpus(tmp_path / "corpus", 4, seed=2, sheets=False, size=256)
    lib = tmp_path / "lib"
    proc = run("index", "add", manifest, "--library", lib, "--model", "ck", "--workers", "0",
               cwd=tmp_path)       # a relative path: recorded as where the checkpoint lies
    assert proc.returncode == 0, proc.stderr
    info = json.loads(run("index", "info", "--library", lib, "--json").stdout)
    assert info["model"]["ref"] == str(ck.resolve())
    query = next((tmp_path / "corpus").rglob("*.png"))
    args = ["search", str(query), "--library", str(lib), "--json"]
    code = ("import sys; from core.cli import main; rc = main(" + repr(args) + "); "
            "print(rc, 'open_clip' in sys.modules, 'transformers' in sys.modules)")

    def search(cache):
        env = {**os.environ, "PATENT_EXAMINER_CACHE": str(cache)}
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=600)
        assert p.returncode == 0, p.stderr
        *lines, flags = p.stdout.strip().splitlines()
        results = json.loads(lines[-1])["results"]
        return [(r["patent_id"], r["figure"], r["score"]) for r in results], flags

    warm, warm_flags = search(os.environ["PATENT_EXAMINER_CACHE"])
    cold, cold_flags = search(tmp_path / "empty-cache")
    assert warm_flags == "0 False False" and cold_flags == "0 True True"
    assert warm == cold and len(warm) > 1


def test_per_patent_rows_are_the_same_in_json_and_text(cli_library, shared_data):
    lib, _ = cli_library
    q = shared_data / "real_dev" / "D0906013" / "page03_sheet.png"
    base = ["search", q, "--library", lib, "--k", "3", "--per-patent", "--no-log"]
    proc = run(*base, "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    ids = [r["patent_id"] for r in results]
    assert len(ids) == 3 == len(set(ids)) and [r["rank"] for r in results] == [1, 2, 3]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    text = run(*base)
    assert [ln.split()[2] for ln in text.stdout.splitlines()[1:]] == ids


def test_a_per_patent_search_is_logged_as_it_was_shown(cli_library, shared_data, tmp_path):
    """The audit trail holds the patent rows the examiner saw (not the figures behind them),
    and running it again compares like with like."""
    import shutil

    lib = tmp_path / "lib"
    shutil.copytree(cli_library[0], lib)
    q = shared_data / "real_dev" / "D0906013" / "page03_sheet.png"
    shown = json.loads(run("search", q, "--library", lib, "--k", "3", "--per-patent",
                           "--json").stdout)
    logged = json.loads(run("history", str(shown["search_id"]), "--json",
                            "--library", lib).stdout)
    assert [r["patent_id"] for r in logged["results"]] == \
        [r["patent_id"] for r in shown["results"]]
    assert logged["k"] == 3 and logged["params"]["per_patent"] is True
    said = run("history", str(shown["search_id"]), "--library", lib).stdout
    assert "Per patent" in said and "one result (its best figure)" in said
    assert [ln.split()[0] for ln in said.splitlines() if "Results" in ln] == ["Results:"], said
    replay = run("history", str(shown["search_id"]), "--replay", "--library", lib)
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_a_crop_without_drawing_and_an_empty_cutoff_are_explained(cli_library, tmp_path):
    from PIL import Image, ImageDraw

    lib, _ = cli_library
    page = Image.new("L", (1200, 1600), 255)
    ImageDraw.Draw(page).rectangle([400, 600, 800, 1000], outline=0, width=6)
    q = tmp_path / "q.png"
    page.save(q)
    common = ["--library", lib, "--no-log"]
    for box, needle in ((["0", "0", "200", "200"], "no drawing in the region"),
                        (["5000", "0", "6000", "100"], "outside the page")):
        proc = run("search", q, "--box", *box, *common)
        assert proc.returncode == 1 and needle in proc.stderr and str(q) in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = run("search", q, "--box", "350", "550", "850", "1050", *common)
    assert proc.returncode == 0, proc.stderr
    proc = run("search", q, "--box", "350", "550", "850", "1050", "--library", lib)
    assert proc.returncode == 0, proc.stderr
    listed = run("history", "--library", lib, "--limit", "1")      # the log names the crop
    assert f"{q.name} (crop)" in listed.stdout, listed.stdout
    proc = run("search", q, "--before", "1900-01-01", *common)
    assert proc.returncode == 0 and "no results: the library's earliest grant is" in proc.stdout
    proc = run("search", q, "--before", "2091-07-01", *common)      # (2019 mistyped)
    assert proc.returncode == 0 and "note: the filing date 2091-07-01 is after today" in \
        proc.stderr
    assert "after today" not in run("search", q, "--before", "2019-07-01", *common).stderr
    # a batch in which one query fails exits non-zero after running the others
    qfile = tmp_path / "list.txt"
    qfile.write_text(f"{q}\n{tmp_path / 'missing.png'}\nalso-missing.png\n")
    proc = run("search", "--queries", qfile, "--json", *common)
    assert proc.returncode == 1 and "2 of 3 queries failed" in proc.stderr
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [("error" in ln) for ln in lines] == [False, True, True]
    # a relative entry found nowhere is named where it was looked for first: beside the list
    assert lines[2]["error"] == f"{tmp_path / 'also-missing.png'}: file not found"


@pytest.mark.parametrize("date_text, needle", [
    ("2019-02-30", "not a calendar date"), ("20190731", "YYYY-MM-DD form: '20190731' (for "
                                            "2019-07-31, type that)"),
    ("31.07.2019", "(for 2019-07-31, type that)"), ("07/31/2019", "(for 2019-07-31, type"),
    ("07-08-2019", "YYYY-MM-DD form: '07-08-2019'\n")])
def test_dates_must_be_real_and_in_one_form(date_text, needle):
    """One form a script cannot misread; a form the window reads is answered with its
    reading (an ambiguous one with none)."""
    proc = run("search", "x.png", "--before", date_text)
    assert proc.returncode == 2 and needle in proc.stderr


def test_a_run_that_added_nothing_removes_only_the_library_it_made(shared_data, tmp_path,
                                                                   tiny_checkpoint):
    """Two first adds started together: the one refused (or that added nothing) never removes
    the folder the other is writing to; only a library folder this run made and added
    nothing to goes, and only under the writer lock. A relative --library works (it used to
    end in a traceback, exit 1, after adding)."""
    from core.library import Library, remove_if_empty

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"not an image")
    shared = tmp_path / "shared"
    with Library(shared, create=True) as other:        # another run made it, has not written
        proc = run("index", "add", junk, "--library", shared, "--model", tiny_checkpoint,
                   "--workers", "0")
        assert proc.returncode == 1 and "no library was made" not in proc.stderr
        assert (shared / "library.sqlite").exists()
        with other.write_lock():                        # made here, but another run writes
            assert not remove_if_empty(shared) and shared.exists()
    assert remove_if_empty(shared) and not shared.exists()
    proc = run("index", "add", shared_data / "uspto_redbook", "--library", "relative",
               "--model", tiny_checkpoint, "--workers", "0", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert (tmp_path / "relative" / "library.sqlite").exists()
    proc = run("index", "add", junk, "--library", "relative2", "--model", tiny_checkpoint,
               "--workers", "0", cwd=tmp_path)
    assert proc.returncode == 1 and "no library was made" in proc.stderr
    assert not (tmp_path / "relative2").exists()
    proc = run("index", "add", junk, "--library", tmp_path / "nest" / "p" / "lib", "--model",
               tiny_checkpoint, "--workers", "0")     # nor the folders made to hold it
    assert proc.returncode == 1 and "no library was made" in proc.stderr
    assert not (tmp_path / "nest").exists()


def test_index_add_of_sources_that_are_all_missing_says_so_at_once(tmp_path):
    """Every source mistyped: the error comes before the model loads (it took 12 s to load
    tiny_test and build the network to say so) and no library is made."""
    lib = tmp_path / "lib"
    typos = [str(tmp_path / "drawngs"), str(tmp_path / "grants2021")]
    code = ("import sys; from core.cli import main; rc = main(['index', 'add', *" + repr(typos)
            + ", '--library', " + repr(str(lib)) + ", '--model', 'tiny_test:random']); "
            "print(rc, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert proc.stdout.split() == ["1", "False"], proc.stdout + proc.stderr
    assert proc.stderr.strip() == f"patent-examiner: error: no such source: {', '.join(typos)}"
    assert not lib.exists()


def test_bad_device_library_path_or_list_are_one_line_errors(cli_library, shared_data,
                                                             tmp_path):
    lib, _ = cli_library
    new = tmp_path / "new"
    proc = run("index", "add", shared_data / "uspto_redbook", "--library", new,
               "--model", "tiny_test:random", "--device", "cuda:99")   # a device not here
    assert proc.returncode == 1 and "'cuda:99'" in proc.stderr
    assert not new.exists()      # a failed first add leaves no empty library behind
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"not an image")
    proc = run("index", "add", junk, "--library", new, "--model", "tiny_test:random",
               "--workers", "0")
    assert proc.returncode == 1 and "no library was made" in proc.stderr and not new.exists()
    interrupted = ("import sys, core.ingest as i, core.cli as c\n"   # Ctrl-C twice, early
                   "def stop(*a, **k): raise KeyboardInterrupt\n"
                   "i.ingest = stop\n"
                   f"sys.exit(c.main(['index', 'add', {str(junk)!r}, '--library', "
                   f"{str(new)!r}, '--model', 'tiny_test:random', '--workers', '0']))\n")
    proc = subprocess.run([sys.executable, "-c", interrupted], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 130 and "no library was made" in proc.stderr, proc.stderr
    assert not new.exists()
    from core.models import create_model, save_checkpoint

    other = save_checkpoint(create_model("tiny_test", pretrained=None, seed=7), tmp_path / "ck")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for args in (["index", "info", "--library", a_file],
                 ["eval", "--library", lib, "--patents", tmp_path / "nope.txt"],
                 ["eval", "--library", lib, "--model", other]):
        proc = run(*args)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert "is a file" in run("index", "info", "--library", a_file).stderr


def test_arguments_that_do_not_fit_together_exit_2_and_file_errors_name_the_users_path(
        cli_library, shared_data, tmp_path):
    """Bad argument combinations are usage errors (exit 2); a file the command cannot write
    is one line naming the path the user gave (exit 1); a mistyped source fails the run
    though the other sources are added; a query list saved with a byte-order mark reads."""
    lib, _ = cli_library
    sheet = shared_data / "real_dev" / "D0906013" / "page02_sheet.png"
    for args, needle in (
            (["search", sheet, "--box", "100", "100", "50", "50"], "empty region"),
            (["eval", "--modes", "bogus"], "--modes takes"),
            (["eval", "--page-kinds", "drawing_sheet,frontpage"], "--page-kinds takes"),
            (["search", sheet, "--locarno", "99"], "classes are 1 to 32"),
            (["history", "--report", tmp_path / "r.html"], "needs the ID"),
            (["search", "--text", "   "], "--text is empty"),
            # zero-width and ideographic spaces were searched (exit 1 after the library
            # opened), plain spaces were a usage error (exit 2)
            (["search", "--text", "\u200b\u3000\u200b"], "--text is empty"),
            (["history", "1", "--replay", "--report", tmp_path / "r.html"], "not allowed"),
            (["history", "1", "--report", tmp_path / "no" / "r.html"],
             f"there is no folder {tmp_path / 'no'}"),
            (["ratings", "--out", tmp_path / "no" / "r.csv"],
             f"there is no folder {tmp_path / 'no'}"),
            # a slip that named another file (the library's database) replaced it
            (["ratings", "--out", lib / "library.sqlite"], "ending in .csv"),
            (["ratings", "--score", "--out", tmp_path / "r.csv"], "not allowed with"),
            # bytes that are not UTF-8 crashed in SQLite, after the search had run
            (["search", sheet, "--examiner", "bad\udcffname"], "'bad\\xffname' is not UTF-8"),
            (["ratings", "--study", "\udce9"], "is not UTF-8 text")):
        proc = run(*args, "--library", lib)
        assert proc.returncode == 2 and needle in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert run("index", "info", "--library", lib).returncode == 0
    (tmp_path / "a.csv").mkdir()
    proc = run("ratings", "--out", tmp_path / "a.csv", "--library", lib)
    assert proc.returncode == 1 and proc.stderr.strip() == \
        f"patent-examiner: error: {tmp_path / 'a.csv'}: is a folder, not a file"
    assert not list(tmp_path.glob(".*.tmp"))
    proc = run("index", "add", shared_data / "uspto_redbook", tmp_path / "typo", "--library",
               lib, "--workers", "0")
    assert proc.returncode == 1 and f"no such source: {tmp_path / 'typo'}" in proc.stderr
    listing = tmp_path / "queries.txt"
    listing.write_text(f"{sheet}\n", encoding="utf-8-sig")
    proc = run("search", "--queries", listing, "--library", lib, "--no-log", "--json")
    assert proc.returncode == 0 and "error" not in json.loads(proc.stdout)
    import shutil                                   # a relative entry: beside the list

    (tmp_path / "apps").mkdir()
    shutil.copy(sheet, tmp_path / "apps" / "q1.png")
    (tmp_path / "apps" / "list.txt").write_text("q1.png\n")
    proc = run("search", "--queries", tmp_path / "apps" / "list.txt", "--library", lib,
               "--no-log", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["query"] == str(tmp_path / "apps" / "q1.png")
    import os                                       # ~ in a list, a file:// address
    from urllib.parse import quote

    shutil.copy(sheet, tmp_path / "apps" / "q 2.png")
    (tmp_path / "apps" / "home.txt").write_text("~/q1.png\n")
    proc = subprocess.run([sys.executable, "-m", "core.cli", "search", "--queries",
                           "~/home.txt", f"file://{quote(str(tmp_path / 'apps' / 'q 2.png'))}",
                           "--library", str(lib), "--no-log", "--json"], capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, "HOME": str(tmp_path / "apps")})
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(ln)["query"] for ln in proc.stdout.splitlines()] == \
        [str(tmp_path / "apps" / "q 2.png"), str(tmp_path / "apps" / "q1.png")]
    (tmp_path / "apps" / "sub").mkdir()            # as Windows "Copy as path" writes it
    shutil.copy(sheet, tmp_path / "apps" / "sub" / "q 3.png")
    (tmp_path / "apps" / "win.txt").write_text('"sub\\q 3.png"\r\n')
    proc = run("search", "--queries", tmp_path / "apps" / "win.txt", "--library", lib,
               "--no-log", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["query"] == str(tmp_path / "apps" / "sub" / "q 3.png")
    (tmp_path / "apps" / "empty.txt").write_text("\n# nothing yet\n")
    proc = run("search", "--queries", tmp_path / "apps" / "empty.txt", "--library", lib)
    assert proc.returncode == 1 and "names no drawing" in proc.stderr
    # as Windows PowerShell writes a list (`dir -Name > list.txt`): UTF-16 with its mark
    (tmp_path / "apps" / "u16.txt").write_text("q1.png\r\n", encoding="utf-16")
    proc = run("search", "--queries", tmp_path / "apps" / "u16.txt", "--library", lib,
               "--no-log", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["query"] == str(tmp_path / "apps" / "q1.png")
    # a long text is noted once, also when the first query fails
    long = "drinking mug " + " ".join(f"word{i}" for i in range(150))
    proc = run("search", tmp_path / "gone.png", sheet, "--text", long, "--library", lib,
               "--no-log", "--k", "1")
    assert proc.returncode == 1 and proc.stderr.count("note: the text is longer") == 1
    for name in ("ann\nbob", "ann\u2028bob"):        # (Unicode's line separator too)
        proc = run("search", sheet, "--examiner", name, "--library", lib, "--no-log")
        assert proc.returncode == 2 and "holds a line break, tab or other control " \
            "character" in proc.stderr


def test_eval_text_modes_score_only_queries_with_a_title(shared_data, tmp_path, tiny_checkpoint):
    """A patent without a title (a drawing from a folder of USPTO-named images) cannot be
    searched by its title: with text or fused modes every mode leaves its pages out, so the
    modes compare on the same queries, and the report says how many."""
    import shutil

    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl",
                                     PATENTS[:2] + ["D0822408"])     # prior art of D906,013
    folder = tmp_path / "grants"
    folder.mkdir()
    for n in (1, 2):
        shutil.copy(shared_data / "real_dev" / "D0889911" / f"page0{n + 1}_sheet.png",
                    folder / f"USD0889911-20200218-D0000{n}.png")
    lib = tmp_path / "lib"
    proc = run("index", "add", manifest, folder, "--library", lib, "--model", tiny_checkpoint,
               "--allow-absolute", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    image = json.loads(run("eval", "--library", lib, "--modes", "image", "--json").stdout)
    spaced = json.loads(run("eval", "--library", lib, "--modes", "image", "--json",
                            "--page-kinds", " drawing_sheet, front_page").stdout)
    assert spaced == json.loads(run("eval", "--library", lib, "--modes", "image", "--json",
                                    "--page-kinds", "drawing_sheet,front_page").stdout)
    assert spaced["queries"] > image["queries"]          # the front pages were dropped
    fused = json.loads(run("eval", "--library", lib, "--modes", "image,fused", "--json").stdout)
    assert image["untitled_left_out"] == 0 and fused["untitled_left_out"] == 2
    assert fused["queries"] == image["queries"] - 2 and fused["query_patents"] == 3
    text = run("eval", "--library", lib, "--modes", "text")
    assert text.returncode == 0 and "2 query pages of patents without a title are left out" \
        in text.stdout
    apps = run("eval", "--library", lib, "--modes", "text", "--per", "application")
    assert apps.returncode == 0 and "1 application of patents without a title is left out" \
        in apps.stdout                                   # one patent, however many pages
    # a patent with no prior art in the library, queried whole: nothing to score, said so
    (tmp_path / "one.txt").write_text("D0889911\n")
    none = run("eval", "--library", lib, "--per", "application", "--patents",
               tmp_path / "one.txt")
    assert none.returncode == 1 and "nothing could be scored: none of the 1 query patents has " \
        "a filing date and a Locarno class (prior art needs both" in none.stderr, none.stdout
    assert "2 query pages of patents without a filing date or a Locarno class are not scored " \
        "for prior art" in run("eval", "--library", lib, "--modes", "image").stdout
    assert image["no_date_or_class"] == 2
    # the ids as the app and the USPTO write them are the library's
    (tmp_path / "stored.txt").write_text("D0906013\nD0910780\n")
    (tmp_path / "shown.txt").write_text("US D906,013 S\nUSD0910780\n")
    stored, shown = (json.loads(run("eval", "--library", lib, "--modes", "image", "--json",
                                    "--patents", tmp_path / name).stdout)
                     for name in ("stored.txt", "shown.txt"))
    assert shown == stored and stored["query_patents"] == 2


def test_rebuild_refuses_to_drop_pages_whose_files_are_gone(shared_data, tmp_path, tiny_checkpoint):
    import shutil

    src = tmp_path / "src"
    shutil.copytree(shared_data / "real_dev" / "D0906013", src / "D0906013")
    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", ["D0906013"])
    text = manifest.read_text().replace(str((shared_data / "real_dev").resolve()), str(src))
    manifest.write_text(text)
    lib = tmp_path / "lib"
    proc = run("index", "add", manifest, "--library", lib, "--model", tiny_checkpoint,
               "--allow-absolute", "--workers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    pages = json.loads(proc.stdout.strip().splitlines()[-1])["added_pages"]
    gone = sorted((src / "D0906013").glob("*sheet*.png"))[0]
    gone.unlink()
    db_before = (lib / "library.sqlite").read_bytes()
    told = run("index", "info", "--library", lib).stdout
    assert "missing:   1 page file(s)" in told and gone.name in told and "--drop-missing" in told
    assert json.loads(run("index", "info", "--library", lib, "--json").stdout
                      )["missing_page_files"] == [str(gone)]
    proc = run("index", "rebuild", "--library", lib, "--workers", "0")
    assert proc.returncode == 1 and "gone" in proc.stderr and "--drop-missing" in proc.stderr
    assert (lib / "library.sqlite").read_bytes() == db_before
    proc = run("index", "rebuild", "--library", lib, "--workers", "0", "--drop-missing")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(run("index", "info", "--library", lib, "--json").stdout)
    assert info["pages"] == pages - 1 and info["missing_page_files"] == []


def test_an_interrupted_index_add_exits_130_and_a_rerun_completes(sheets, tmp_path,
                                                                  monkeypatch):
    """The first Ctrl-C stops `index add` after the batch in progress (the cancel event its
    SIGINT handler sets, set here after two pages): exit 130, not success; a re-run adds the
    rest."""
    import signal

    import core.ingest
    from core.cli import main

    real_ingest = core.ingest.ingest

    def interrupted(lib, sources, model, **kw):
        report_progress, cancel = kw["progress"], kw["cancel"]

        def progress(done, total, note):
            report_progress(done, total, note)
            if done >= 2:
                cancel.set()
        return real_ingest(lib, sources, model, **{**kw, "progress": progress, "chunk_pages": 2})
    monkeypatch.setattr(core.ingest, "ingest", interrupted)
    handler = signal.getsignal(signal.SIGINT)
    lib = tmp_path / "lib"
    try:
        rc = main(["index", "add", str(sheets), "--library", str(lib), "--model",
                   "tiny_test:random", "--workers", "0"])
    finally:
        signal.signal(signal.SIGINT, handler)
        monkeypatch.undo()
    assert rc == 130
    n_pages = len(sheets.read_text().splitlines())
    first = json.loads(run("index", "info", "--library", lib, "--json").stdout)["pages"]
    assert 0 < first < n_pages
    proc = run("index", "add", sheets, "--library", lib, "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(run("index", "info", "--library", lib, "--json").stdout)["pages"] == n_pages


def test_models_lists_architectures_weights_and_checkpoints_without_torch():
    code = ("import sys; from core.cli import main; rc = main(['models']); "
            "print('torch' in sys.modules, rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "False 0"
    arch = {line.split()[0]: line for line in lines if line.startswith("  ") and " px " in line}
    assert {"efficientnet_lite0", "resnet50", "tiny_test"} <= set(arch)
    assert "224 px  ImageNet weights installed" in arch["efficientnet_lite0"]
    assert "no offline weights" in arch["resnet50"] and "64 px" in arch["tiny_test"]
    from resources import MODELS_DIR

    meta = json.loads((MODELS_DIR / "default" / "model.json").read_text())
    assert any(line.split()[:2] == ["default", meta["model_id"]] for line in lines)


def test_eval_tells_in_sample_from_held_out_and_can_score_unseen_patents_only(
        shared_data, tmp_path):
    from core.models import create_model, save_checkpoint
    from core.provenance import training_patents, write_training_patents

    # a seed of its own: the subprocesses cache this checkpoint's graph, which must not be
    # the tiny_model fixture's (tests of the cache expect none for it)
    ckpt = save_checkpoint(create_model("tiny_test", pretrained=None, seed=41), tmp_path / "ckpt")
    write_training_patents(ckpt, PATENTS[:2])           # "trained" on two of the four patents
    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", PATENTS)
    lib = tmp_path / "lib"
    proc = run("index", "add", manifest, "--library", lib, "--model", ckpt, "--allow-absolute",
               "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    proc = run("eval", "--library", lib)
    assert proc.returncode == 0, proc.stderr
    assert "IN-SAMPLE: the model was trained on 2 of the 4 query patents" in proc.stdout
    full = json.loads(run("eval", "--library", lib, "--json").stdout)
    unseen = json.loads(run("eval", "--library", lib, "--json", "--unseen-only").stdout)
    assert (full["query_patents"], full["query_patents_trained_on"]) == (4, 2)
    assert (unseen["query_patents"], unseen["query_patents_trained_on"]) == (2, 0)
    assert 0 < unseen["queries"] < full["queries"]
    write_training_patents(ckpt, PATENTS)
    proc = run("eval", "--library", lib, "--unseen-only")
    assert proc.returncode == 1 and "trained on every query patent" in proc.stderr
    (ckpt / "training_patents.txt").unlink()             # a checkpoint that never recorded them
    proc = run("eval", "--library", lib)
    assert "does not record its training patents" in proc.stdout
    assert run("eval", "--library", lib, "--unseen-only").returncode == 1
    assert training_patents("tiny_test:random", "any id") == frozenset()
    assert training_patents(str(ckpt), "another model's id") is None
    write_training_patents(ckpt, PATENTS[:2])
    moved = ckpt.rename(tmp_path / "moved")             # said so, not "does not record"
    proc = run("eval", "--library", lib)
    assert proc.returncode == 1 and f"built with the model at {ckpt}, which is not there " \
        "now" in proc.stderr
    proc = run("index", "info", "--library", lib)        # (it said nothing of it)
    assert proc.returncode == 0 and f"missing:   the model's {ckpt} is not there now" in \
        proc.stdout
    proc = run("eval", "--library", lib, "--model", moved)
    assert proc.returncode == 0 and "IN-SAMPLE: the model was trained on 2 of" in proc.stdout


def test_a_damaged_training_patent_list_is_not_read_as_held_out(shared_data, tmp_path,
                                                                 capsys):
    """The list of training patents beside a checkpoint, emptied or cut short (a broken
    copy), made eval call in-sample patents held out; the sidecar's checksum of it (or, for
    a checkpoint without one, its count of patents) tells: eval warns, --unseen-only
    refuses. The shipped model's list is whole."""
    from core.cli import main
    from core.models import create_model, load_model, save_checkpoint
    from core.provenance import (ProvenanceError, patents_digest, training_patents,
                                 write_training_patents)

    model = create_model("tiny_test", pretrained=None, seed=43)
    record = {"data": {"patents_sha256": patents_digest(PATENTS[:2]),
                       "counts": {"patents": 2}}}
    ckpt = save_checkpoint(model, tmp_path / "ckpt", training=record)
    listed = write_training_patents(ckpt, PATENTS[:2])
    assert training_patents(str(ckpt), model.model_id) == frozenset(PATENTS[:2])
    lib = tmp_path / "lib"
    manifest = write_subset_manifest(shared_data, tmp_path / "m.jsonl", PATENTS)
    assert main(["index", "add", str(manifest), "--library", str(lib), "--model", str(ckpt),
                 "--allow-absolute", "--workers", "0"]) == 0
    capsys.readouterr()
    for damage, said in ((lambda: listed.write_text(""), "2 recorded, 0 listed"),
                         (lambda: listed.write_text(f"{PATENTS[0]}\n{PATENTS[2]}\n"),
                          "not the list recorded")):
        damage()
        with pytest.raises(ProvenanceError, match=said):
            training_patents(str(ckpt), model.model_id)
        assert main(["eval", "--library", str(lib), "--modes", "image"]) == 0
        out = capsys.readouterr()
        assert said in out.err and "held out" not in out.out
        assert "does not record its training patents: these numbers may be in-sample" in out.out
        assert main(["eval", "--library", str(lib), "--unseen-only"]) == 1
        assert f"--unseen-only: {listed} is damaged ({said})" in capsys.readouterr().err
    listed.unlink()                                     # recorded, and gone
    with pytest.raises(ProvenanceError, match=r"training_patents\.txt is not there: it "
                       "cannot tell"):
        training_patents(str(ckpt), model.model_id)
    # a checkpoint written before the checksum: its count of patents
    save_checkpoint(model, ckpt, training={"data": {"counts": {"patents": 2}}})
    listed.write_text(f"{PATENTS[0]}\n")
    with pytest.raises(ProvenanceError, match="2 recorded, 1 listed"):
        training_patents(str(ckpt), model.model_id)
    default = load_model("default")
    assert len(training_patents("default", default.model_id)) == \
        default.training_info["data"]["counts"]["patents"]


def test_an_installed_checkpoint_records_its_training_patents_by_name(tmp_path, monkeypatch):
    """A model named as `models` lists it (not a path) finds its training_patents.txt in the
    installed folder, whatever the working folder."""
    from core import provenance
    from core.models import create_model, save_checkpoint

    monkeypatch.setattr(provenance, "MODELS_DIR", tmp_path / "installed")
    model = create_model("tiny_test", pretrained=None)
    provenance.write_training_patents(save_checkpoint(model, tmp_path / "installed" / "mine"),
                                      ["D1", "D2"])
    (tmp_path / "work" / "tiny_test").mkdir(parents=True)
    save_checkpoint(model, tmp_path / "work" / "tiny_test")
    monkeypatch.chdir(tmp_path / "work")
    assert provenance.training_patents("mine", model.model_id) == {"D1", "D2"}
    assert provenance.training_patents("tiny_test", model.model_id) == frozenset()


def test_a_multi_page_query_file_says_which_page_was_searched(cli_library, shared_data,
                                                              tmp_path, cut_tiff):
    """An application's PDF opens on its front page: the line says there are more pages."""
    from PIL import Image

    lib, _ = cli_library
    pages = [Image.open(shared_data / "real_dev" / "D0906013" / name).convert("L")
             for name in ("page00_front.png", "page03_sheet.png")]
    pdf = tmp_path / "application.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=300)
    base = ["search", pdf, "--library", lib, "--k", "3", "--no-log"]
    second = run(*base, "--page", "2")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"query {pdf} (page 2 of 2; --page N for another, "
                                    "--page all for all): ")
    same = run("search", shared_data / "real_dev" / "D0906013" / "page03_sheet.png",
               "--library", lib, "--k", "3", "--no-log")
    assert "(page" not in same.stdout.splitlines()[0]                    # one-page file
    rows = lambda out: [ln.split()[2:4] for ln in out.splitlines()[1:]]  # noqa: E731
    assert rows(second.stdout) == rows(same.stdout)     # the PDF page is that sheet
    past = run(*base, "--page", "3")
    assert past.returncode == 1 and len(past.stderr.strip().splitlines()) == 1
    references = run("search", shared_data / "real_dev" / "D0822408" / "page01_sheet.png",
                     "--library", lib, "--no-log")       # page 2 of a front page: text only
    assert references.returncode == 1 and "text only" in references.stderr
    cut = cut_tiff(pages + pages[1:], 2)    # cut off inside page 3: what can be read is said
    first = run("search", cut, "--library", lib, "--k", "3", "--no-log", "--page", "2")
    assert first.stdout.startswith(f"query {cut} (page 2 of the 2 that can be read: the file "
                                   "is cut off or damaged after page 2): "), first.stdout
    every = run("search", cut, "--library", lib, "--no-log", "--page", "all")
    assert every.returncode == 1 and "cut off or damaged after page 2" in every.stderr


def test_page_all_searches_with_the_figures_of_every_page(cli_library, shared_data, tmp_path):
    """An application's PDF searched whole: the front page's figure and each sheet's figures
    (a page of cited references adds none), each figure with its page."""
    from PIL import Image

    lib, _ = cli_library
    names = ["page00_front.png", "page01_sheet.png", "page03_sheet.png"]
    pages = [Image.open(shared_data / "real_dev" / "D0822408" / n).convert("L") for n in names]
    pdf = tmp_path / "application.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=300)
    proc = run("search", pdf, "--library", lib, "--page", "all", "--k", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    one = [json.loads(run("search", pdf, "--library", lib, "--page", str(i), "--json",
                          "--no-log").stdout) for i in (1, 3)]
    assert obj["query_pages"] == [0] * len(one[0]["query_figures"]) + \
        [2] * len(one[1]["query_figures"])                 # page 2 (index 1): references only
    assert obj["query_figures"] == one[0]["query_figures"] + one[1]["query_figures"]
    best = max(one, key=lambda o: o["results"][0]["score"])["results"][0]
    assert obj["results"][0]["score"] == pytest.approx(best["score"], abs=1e-5)
    from core.library import Library

    library = Library(lib)
    try:        # the audit log records "every page" as no page
        assert library.store.search_record(obj["search_id"])["query_page"] is None
    finally:
        library.close()
    text = run("search", pdf, "--library", lib, "--page", "all", "--no-log")
    assert text.stdout.startswith(f"query {pdf} (all 3 pages): ")
    for bad, needle in ((["--page", "all", "--box", "0", "0", "9", "9"], "one page"),
                        (["--page", "none"], "a page number or 'all'")):
        proc = run("search", pdf, "--library", lib, "--no-log", *bad)
        assert proc.returncode in (1, 2) and needle in proc.stderr, proc.stderr


def test_eval_says_the_queries_of_a_class_without_subclass(drawing_manifest, tmp_path):
    """Query patents with a class alone were in no count of eval's JSON, and in its text
    only where the subclass task scored nothing at all."""
    from core.ingest import ingest
    from core.library import Library
    from core.models import create_model

    rows = [json.loads(x) for x in drawing_manifest.read_text().splitlines()]
    alone = rows[0]["patent_id"]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({
        **r, "image": str(drawing_manifest.parent / r["image"]),
        "locarno": r["locarno"][:2] if r["patent_id"] == alone else r["locarno"]}) + "\n"
        for r in rows))
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [manifest], create_model("tiny_test", pretrained=None),
               model_ref="tiny_test:random", workers=0, allow_absolute=True)
    sheets = sum(r["patent_id"] == alone for r in rows)
    got = json.loads(run("eval", "--library", tmp_path / "lib", "--json").stdout)
    assert got["no_subclass"] == sheets and got["modes"]["image"]["scored"][
        "prior_art_subclass"] > 0
    text = run("eval", "--library", tmp_path / "lib").stdout
    assert f"{sheets} query pages of patents with a Locarno class but no subclass are " \
        "scored for prior art by class only" in text


def test_eval_per_application_queries_once_per_patent_with_all_its_sheets(cli_library):
    lib, _ = cli_library
    sheets = json.loads(run("eval", "--library", lib, "--json").stdout)
    apps = json.loads(run("eval", "--library", lib, "--json", "--per", "application").stdout)
    assert sheets["per"] == "sheet" and apps["per"] == "application"
    assert apps["queries"] == apps["query_patents"] == sheets["query_patents"]
    assert sheets["queries"] > apps["queries"]
    image = apps["modes"]["image"]
    assert image["skipped"]["same_design"] == apps["queries"]      # no design of its own left
    assert "same_design" not in image["metrics"]
    text = run("eval", "--library", lib, "--per", "application")
    assert f"{apps['queries']} applications (all their pages)" in text.stdout


def test_eval_gives_intervals_and_compares_modes_on_the_same_queries(cli_library):
    """Each mode's headline metrics come with a 95 % interval; text modes are compared with
    image on the same queries (prior-art as a ratio, same-design as a difference)."""
    lib, _ = cli_library
    out = json.loads(run("eval", "--library", lib, "--json", "--modes", "image,fused").stdout)
    image, fused = out["modes"]["image"], out["modes"]["fused"]
    assert image["vs_image"] is None
    for mode in (image, fused):
        # an interval wherever two query patents or more were scored (one: none, not one
        # of no width)
        assert set(mode["intervals"]) == {t for t in mode["metrics"]
                                          if mode["scored_patents"][t] >= 2}
        assert "same_design" in mode["intervals"]
        for task, (mean, lo, hi) in mode["intervals"].items():
            metric = "MRR@10" if task == "same_design" else "mAP"
            assert mean == pytest.approx(mode["metrics"][task]["patent"][metric])
            assert lo <= mean <= hi
        lo, hi = mode["intervals"]["same_design"][1:]
        assert hi > lo                              # its 9 query patents score apart
    vs = fused["vs_image"]
    assert vs["same_design"][0] == pytest.approx(
        fused["metrics"]["same_design"]["patent"]["MRR@10"] -
        image["metrics"]["same_design"]["patent"]["MRR@10"])
    if image["scored_patents"]["prior_art_class"] >= 2:
        assert vs["prior_art_class"][0] == pytest.approx(
            fused["metrics"]["prior_art_class"]["patent"]["mAP"] /
            image["metrics"]["prior_art_class"]["patent"]["mAP"])
    else:
        assert "prior_art_class" not in vs
    text = run("eval", "--library", lib, "--modes", "image,fused").stdout
    assert "95 % intervals" in text and "against image on the same queries" in text


def test_list_files_in_the_encodings_windows_saves_them_are_read_or_refused(tmp_path):
    """UTF-8 (with or without a mark), UTF-16 and UTF-32 with their marks are read; a file
    whose text holds NULs (UTF-16 without its mark) is refused in one line: it crashed the
    search with "embedded null byte", and UTF-32 was read as UTF-16."""
    from core.cli import CliError, read_list

    entries = ["q1.png", "sub\\ü 2.png"]
    for i, encoding in enumerate(("utf-8", "utf-8-sig", "utf-16", "utf-32", "utf-16-be")):
        path = tmp_path / f"{i}.txt"
        mark = b"\xfe\xff" if encoding == "utf-16-be" else b""
        path.write_bytes(mark + "# queries\r\nq1.png\r\n\r\nsub\\ü 2.png\r\n".encode(encoding))
        assert read_list(str(path), "query list") == entries, encoding
    for encoding in ("utf-16-le", "utf-32-le"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes("q1.png\n".encode(encoding))
        with pytest.raises(CliError, match=f"cannot read the query list {path}: not a text"):
            read_list(str(path), "query list")


def test_page_all_leaves_out_pages_of_printed_text(cli_library, shared_data, tmp_path):
    """An application file with a specification page between its drawings: the text page adds
    no query figures and the search says so; a file of text pages alone (a typeface design
    is drawn as text) is still searched with what is found on them."""
    from PIL import Image

    from core.drawing import prepare_query_page
    from core.synthetic import text_page

    lib, _ = cli_library
    seeds = [s for s in range(20) if prepare_query_page(text_page(s), dpi=300)[0]][:2]
    text = [Image.fromarray(text_page(s)) for s in seeds]
    real = [Image.open(shared_data / "real_dev" / "D0906013" / n).convert("L")
            for n in ("page00_front.png", "page03_sheet.png")]
    pdf = tmp_path / "application.pdf"
    real[0].save(pdf, save_all=True, append_images=[text[0], real[1]], resolution=300)
    obj = json.loads(run("search", pdf, "--library", lib, "--page", "all", "--json",
                         "--no-log").stdout)
    assert obj["text_pages"] == [1] and set(obj["query_pages"]) == {0, 2}
    line = run("search", pdf, "--library", lib, "--page", "all", "--no-log").stdout
    assert line.startswith(f"query {pdf} (all 3 pages; page 2 left out: printed text): ")

    one = tmp_path / "specification.png"        # one page of text, searched alone: a note
    Image.fromarray(text_page(seeds[0])).save(one)
    proc = run("search", one, "--library", lib, "--no-log")
    assert proc.returncode == 0 and "looks like printed text" in proc.stderr
    assert json.loads(run("search", one, "--library", lib, "--no-log", "--json").stdout)[
        "text_only"]
    sheet = run("search", shared_data / "real_dev" / "D0906013" / "page03_sheet.png",
                "--library", lib, "--no-log")
    assert "printed text" not in sheet.stderr

    only_text = tmp_path / "typeface.pdf"       # (fresh images: Pillow keeps the appended
    text = [Image.fromarray(text_page(s)) for s in seeds]   # ones of the first file on them)
    text[0].save(only_text, save_all=True, append_images=text[1:], resolution=300)
    obj = json.loads(run("search", only_text, "--library", lib, "--page", "all", "--json",
                         "--no-log").stdout)
    assert obj["text_pages"] == [] and set(obj["query_pages"]) == {0, 1} and obj["text_only"]
    every = run("search", only_text, "--library", lib, "--page", "all", "--no-log")
    assert every.returncode == 0 and "every page looks like printed text" in every.stderr
    assert not json.loads(run("search", pdf, "--library", lib, "--page", "all", "--json",
                              "--no-log").stdout)["text_only"]


def test_the_page_hint_does_not_read_a_pipe_again(tmp_path):
    """A query read from a named pipe: the "(page N of M)" hint opened it a second time and
    waited for a writer that had gone, after the search had run."""
    import os
    import threading

    from core.cli import _page_of

    fifo = tmp_path / "query.fifo"
    os.mkfifo(fifo)
    out = []
    worker = threading.Thread(target=lambda: out.append(_page_of(str(fifo), 1)), daemon=True)
    worker.start()
    worker.join(10)
    waited = worker.is_alive()
    if waited:                  # (let the blocked open go)
        with open(fifo, "wb"):
            pass
    assert not waited and out == [""]


def test_pages_found_again_through_overlapping_sources_are_counted_once(sheets, tmp_path,
                                                                        tiny_checkpoint):
    """A second add of two sources that hold the same drawings (a copied folder, a weekly
    archive and its unpacked grants) says each library page was already there once."""
    import shutil

    copy = shutil.copytree(sheets.parent, tmp_path / "copy")      # same bytes, other paths
    pages = len(sheets.read_text().splitlines())
    args = ("index", "add", sheets, copy / sheets.name, "--library", tmp_path / "lib",
            "--model", tiny_checkpoint, "--workers", "0", "--json")
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["added_pages"] == pages
    assert "indexing: 100%" in first.stderr
    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1])["already_present"] == pages
    assert f"{pages} pages were already in the library" in again.stderr
    assert "indexing" not in again.stderr       # (no empty "indexing: 0page" bar)


def test_info_of_an_empty_library_says_it_has_no_model_yet(tmp_path):
    from core.library import Library

    Library(tmp_path / "lib", create=True).close()
    proc = run("index", "info", "--library", tmp_path / "lib")
    assert proc.returncode == 0, proc.stderr
    assert "model:     (none yet: chosen when drawings are first added)\n" in proc.stdout
    assert "patents:   0" in proc.stdout


def test_a_deleted_working_folder_is_one_clear_line(tmp_path):
    """torch cannot be imported from a deleted folder and died with a message of its own."""
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.run(["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m core.cli '
                           f'search x.png --library "{tmp_path / "lib"}"', sys.executable],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        "patent-examiner: error: the current folder no longer exists (deleted or unmounted): "
        "change to another folder and run the command again")


def test_a_source_given_with_a_tilde_is_added(shared_data, tmp_path, tiny_checkpoint):
    """A quoted ~ (a list pasted into a shell script) reached the archive step unexpanded."""
    import os
    import shutil

    (tmp_path / "imgs").mkdir()
    shutil.copy(next((shared_data / "uspto_redbook").glob("*/*D00001.TIF")), tmp_path / "imgs")
    proc = subprocess.run([sys.executable, "-m", "core.cli", "index", "add", "~/imgs",
                           "--library", str(tmp_path / "lib"), "--model", tiny_checkpoint,
                           "--workers", "0"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0 and "done: added 1 page (" in proc.stderr, proc.stderr


def test_no_folder_for_temporary_files_says_how_to_give_one(cli_library, monkeypatch,
                                                             capsys):
    """Where no temporary folder can be written (torch asks for one when it is imported),
    the one-line error says what to do about it."""
    import errno

    import core.library
    from core.cli import main

    def no_usable_folder(self):
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found in "
                                "['/tmp', '/var/tmp']")
    monkeypatch.setattr(core.library.Library, "info", no_usable_folder)
    assert main(["index", "info", "--library", str(cli_library[0])]) == 1
    assert capsys.readouterr().err == (
        "patent-examiner: error: No usable temporary directory found in ['/tmp', '/var/tmp']; "
        "set TMPDIR to a folder you can write\n")


def test_a_library_file_a_search_cannot_read_is_named_not_the_query(cli_library, shared_data,
                                                                     monkeypatch, capsys):
    """An index file this user may not read failed the search as "QUERY.TIF: Permission
    denied" (or "None: ..." for a text search), blaming a query that reads fine."""
    import core.search
    from core.cli import main

    segment = str(cli_library[0] / "index" / "seg-000001.hnsw")

    def unreadable(self, query, **kw):
        raise PermissionError(13, "Permission denied", segment)
    monkeypatch.setattr(core.search.Searcher, "search", unreadable)
    sheet = next((shared_data / "uspto_redbook" / "USD0908315-20210126").glob("*D00001.TIF"))
    for query in ([str(sheet)], ["--text", "chair"]):
        assert main(["search", *query, "--library", str(cli_library[0]), "--no-log"]) == 1
        assert f"patent-examiner: error: {segment}: Permission denied\n" in \
            capsys.readouterr().err


def test_eval_per_query_csv_holds_the_queries_behind_each_mean(cli_library, tmp_path):
    """--per-query writes one row per scored query, mode and task; the rows' scores average to
    the means eval reports, and each row's rank of its first relevant patent agrees with its
    MRR@10 and Hit@1."""
    import csv

    lib, _ = cli_library
    out = tmp_path / "queries.csv"
    proc = run("eval", "--library", lib, "--json", "--modes", "image,text",
               "--per-query", out)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert f"{len(rows)} per-query rows written to {out}" in proc.stderr
    for mode, got in summary["modes"].items():
        for task, n in got["scored"].items():
            mine = [r for r in rows if r["mode"] == mode and r["task"] == task]
            assert len(mine) == n
            if n:
                assert fmean([float(r["AP"]) for r in mine]) == pytest.approx(
                    got["metrics"][task]["patent"]["mAP"], abs=1e-5)
    assert {r["mode"] for r in rows} == {"image", "text"}
    for r in rows:
        rank = int(r["first_relevant_rank"])
        assert float(r["MRR@10"]) == pytest.approx(1 / rank if rank <= 10 else 0.0, abs=1e-6)
        assert float(r["Hit@1"]) == (rank == 1)
        assert (r["top_patent"] == r["query_patent"]) == (
            r["task"] == "same_design" and rank == 1)
        assert Path(r["query_image"]).is_file() and int(r["query_page"]) >= 1
        assert int(r["relevant_patents"]) >= 1 and r["query_pages"] == "1"
    assert any(r["task"] != "same_design" and r["cutoff"] and r["locarno"] for r in rows)
    assert all(r["cutoff"] == "" for r in rows if r["task"] == "same_design")   # (none used)

    apps = tmp_path / "apps.csv"
    assert run("eval", "--library", lib, "--per", "application", "--per-query",
               apps).returncode == 0
    with open(apps, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["query_page"] == "all" and r["query_image"] == "" and
                        int(r["query_pages"]) >= 1 for r in rows)
    assert any(int(r["query_pages"]) > 1 for r in rows)

    wrong = run("eval", "--library", lib, "--per-query", tmp_path / "queries.txt")
    assert wrong.returncode == 2 and "the per-query scores are written as CSV" in wrong.stderr
    assert not (tmp_path / "queries.txt").exists()


def test_python_dash_m_runs_the_window_and_the_command_line():
    """`python -m examiner_app` said "cannot be directly executed"; it opens the window as
    `patent-examiner gui` does (its options too), and `python -m core` is the command line."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    gui = subprocess.run([sys.executable, "-m", "examiner_app", "--help"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert gui.returncode == 0 and "usage: patent-examiner gui" in gui.stdout
    wrong = subprocess.run([sys.executable, "-m", "examiner_app", "--before", "31/02/2020"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert wrong.returncode == 2 and "--before" in wrong.stderr
    cli = subprocess.run([sys.executable, "-m", "core", "models"], capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 0 and "efficientnet_lite0" in cli.stdout
    version = subprocess.run([sys.executable, "-m", "core", "--version"], capture_output=True,
                             text=True, timeout=120)      # (for a bug report; was refused)
    assert version.returncode == 0 and version.stdout.strip() == "patent-examiner 0.1.0"


def test_result_lines_keep_their_columns_with_wide_and_combining_characters():
    """A title in Chinese or with an emoji put the file-name column out of line (padding
    counted characters, a terminal counts columns)."""
    import unicodedata
    from types import SimpleNamespace

    from core._cli_audit import hit_lines

    def columns(text: str) -> int:
        return sum(0 if unicodedata.combining(c) else
                   2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)

    titles = ["Chair", "+SUM(1,2) Zoë 中文 🚀", "椅子" * 30, "Zoe\u0301 chair"]
    hits = [SimpleNamespace(rank=i, score=0.5, patent_id="D0900001", grant_date="2020-01-07",
                            locarno="06-01", title=t, image=f"/x/sheet{i}.png")
            for i, t in enumerate(titles, 1)]
    lines = hit_lines(hits)
    starts = {columns(line[:line.index(f"sheet{i}.png")]) for i, line in enumerate(lines, 1)}
    assert len(starts) == 1, lines
    assert "椅子" * 12 in lines[2] and "椅子" * 13 not in lines[2]    # (48 columns of it)


def test_non_ascii_names_work_in_an_ascii_locale_and_on_an_ascii_terminal(sheets, tmp_path):
    """LC_ALL=C with PYTHONUTF8=0 read file names as ASCII: adding a folder named "données"
    crashed in the path resolution (a Latin-1 locale: every "é" file "not found"); the
    command runs itself again in Python's UTF-8 mode. A terminal that cannot print "é"
    (PYTHONIOENCODING=ascii) gets escapes where a traceback came."""
    import shutil

    folder = tmp_path / "donn\u00e9es \u4e2d"
    folder.mkdir()
    shutil.copy(sheets.parent / "D0900000_1.png", folder / "requ\u00eate \u00e9.png")
    lib = tmp_path / "biblioth\u00e8que"
    base = {k: v for k, v in os.environ.items()
            if k not in ("LANG", "LANGUAGE", "PYTHONIOENCODING") and not k.startswith("LC_")}
    ascii_locale = {**base, "LC_ALL": "C", "PYTHONUTF8": "0"}
    cmd = [sys.executable, "-m", "core", "index", "add", os.fsencode(folder), "--library",
           os.fsencode(lib), "--model", "tiny_test:random", "--workers", "0"]
    proc = subprocess.run(cmd, capture_output=True, env=ascii_locale, timeout=600)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0 and "Traceback" not in err and "added 1 page" in err, err
    query = folder / "requ\u00eate \u00e9.png"
    proc = subprocess.run([sys.executable, "-m", "core", "search", query, "--library", lib,
                           "--examiner", "Zo\u00eb", "--k", "1"],
                          capture_output=True, text=True, timeout=600,
                          env={**base, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and "requ\\xeate \\xe9.png" in proc.stdout, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "core", "history", "--library", lib],
                          capture_output=True, text=True, timeout=600,
                          env={**base, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and "Zo\\xeb" in proc.stdout, proc.stderr
    # the history's columns keep their place with wide characters (padded by characters, a
    # name in Chinese pushed the rest of its row out of line)
    import unicodedata

    for examiner in ("\u5ba1\u67e5\u5458\u738b\u5c0f\u660e\u5148\u751f", "Ann"):
        assert subprocess.run([sys.executable, "-m", "core", "search", query, "--library",
                               lib, "--examiner", examiner, "--before", "2030-01-01", "--k",
                               "1"], capture_output=True, timeout=600).returncode == 0
    rows = [line for line in subprocess.run(
        [sys.executable, "-m", "core", "history", "--library", lib], capture_output=True,
        text=True, timeout=600, encoding="utf-8").stdout.splitlines() if "2030-01-01" in line]
    assert len(rows) == 2
    assert len({sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
                    for c in row[:row.index("2030-01-01")]) for row in rows}) == 1, rows
