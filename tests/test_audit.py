"""The audit trail: logged searches shown as they were and replayed against today's library;
the `history` and `ratings` commands."""
import csv
import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.audit import AuditError, logged_hits, replay, search_record
from core.ingest import ingest
from core.library import Library
from core.models import create_model
from core.search import Searcher

from conftest import AUDIT_BEFORE as BEFORE, read_only_without_shm, regrant, search_logged


def run(*args):
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _replay(path: Path, search_id: int):
    with Library(path) as lib:
        return replay(Searcher(lib, create_model("tiny_test", pretrained=None)), search_id)


def test_a_logged_search_is_shown_as_it_was_ranked(searchable_library):
    path, query = searchable_library
    sid = search_logged(path, query)
    with Library(path) as lib:
        rec = search_record(lib.store, sid)
        hits = logged_hits(lib.store, rec)
        assert [(h.rank, h.figure_id, h.score) for h in hits] == \
            [(r["rank"], r["figure_id"], r["score"]) for r in rec["results"]]
        assert hits[0].patent_id == "D0900003" and hits[0].score == pytest.approx(1.0, abs=1e-3)
        assert all(date.fromisoformat(h.grant_date) < BEFORE for h in hits)
        with pytest.raises(AuditError, match="#999 is not in"):
            search_record(lib.store, 999)


def test_replay_reproduces_until_the_library_gains_earlier_prior_art(searchable_library, tmp_path):
    path, query = searchable_library
    sid = search_logged(path, query, text="design 3")
    first = _replay(path, sid)
    assert first.reproduced and first.compared == 8 and first.max_score_diff < 1e-5
    assert "reproduces" in first.text()

    # a new patent, granted before the cutoff, whose drawing is the query's own (added a
    # second later at least: the log and the library keep the time to the second)
    time.sleep(1.05)
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(query, new / "twin.png")
    (new / "manifest.jsonl").write_text(json.dumps(
        {"image": "twin.png", "patent_id": "D0955555", "page_kind": "drawing_sheet",
         "sheet": 1, "grant_date": "2006-02-07", "locarno": "06-01",
         "title": "DESIGN 3 AGAIN"}) + "\n")
    with Library(path) as lib:
        ingest(lib, [new / "manifest.jsonl"], create_model("tiny_test", pretrained=None),
               model_ref=lib.model_info["ref"], workers=0)
    after = _replay(path, sid)
    assert not after.reproduced and after.first_difference is not None
    assert [h.patent_id for h in after.new] == ["D0955555"] and len(after.gone) == 1
    assert after.new_added_since == 1 and after.allowed_now == after.allowed_then + 1
    assert "1 result(s) not in the log (1 of patents added to the library since the search)" \
        in after.text()
    assert f"{after.allowed_then} figures were searched then, {after.allowed_now} now" \
        in after.text()


def test_a_replay_names_the_results_a_correction_took_out(searchable_library):
    """A logged result whose patent's grant date was corrected to after the cutoff is no
    longer ranked: the replay says it was corrected, not only that it went."""
    path, query = searchable_library
    sid = search_logged(path, query)
    with Library(path) as lib:
        first = search_record(lib.store, sid)["results"][0]
        pid = logged_hits(lib.store, search_record(lib.store, sid))[0].patent_id
    regrant(path, pid, "2021-06-01")                    # after the search's cutoff
    after = _replay(path, sid)
    assert first["figure_id"] in after.gone and after.gone_corrected == 2 == len(after.gone)
    assert after.gone_removed == 0 and after.new_added_since == 0
    assert "(2 of patents whose grant date, class or title was corrected since)" in after.text()
    assert after.to_json()["gone_corrected"] == 2


def test_a_replay_says_which_changed_scores_are_of_corrected_patents(searchable_library):
    """A text query's scores read the patents' titles: a title corrected since changes the
    score of its results, and the replay said only that scores differ (a user suspects the
    tool of nondeterminism); it now says how many of them are of corrected patents."""
    path, query = searchable_library
    sid = search_logged(path, query, text="round table")
    with Library(path) as lib:
        pid = logged_hits(lib.store, search_record(lib.store, sid))[0].patent_id
    time.sleep(1.05)                                    # (the log keeps the second)
    manifest = path.parent / "src" / "manifest.jsonl"
    rows = [json.loads(ln) for ln in manifest.read_text().splitlines()]
    manifest.write_text("".join(json.dumps({**r, "title": "ROUND TABLE WITH FOLDING LEGS"}
                                           if r["patent_id"] == pid else r) + "\n"
                                for r in rows))
    with Library(path) as lib:
        ingest(lib, [manifest], create_model("tiny_test", pretrained=None),
               model_ref=lib.model_info["ref"], workers=0)
    after = _replay(path, sid)
    assert after.max_score_diff > 0 and after.score_corrected >= 1
    assert f"({after.score_corrected} of them of patents whose grant date, class or title " \
           "was corrected since: a text query reads the title)" in after.text()
    assert after.to_json()["score_corrected"] == after.score_corrected


def test_a_replay_names_the_results_a_correction_brought_in(searchable_library):
    """A patent the cutoff left out of a search (granted after it, by the metadata of the
    time) and corrected since to an earlier grant is ranked when the search is replayed: the
    replay says its patent was corrected, and the library keeps each correction with its
    time and source."""
    path, query = searchable_library
    manifest = path.parent / "src" / "manifest.jsonl"
    regrant(path, "D0900003", "2021-06-01")     # the query's own design, after the cutoff
    sid = search_logged(path, query)
    time.sleep(1.05)                                    # (the log keeps the second)
    regrant(path, "D0900003", "2008-01-04")
    after = _replay(path, sid)
    assert "D0900003" in {h.patent_id for h in after.new} and after.new_added_since == 0
    assert after.new_corrected == len(after.new) and after.to_json()["new_corrected"]
    assert (f"{len(after.new)} result(s) not in the log ({after.new_corrected} of patents "
            "whose grant date, class or title was corrected since)") in after.text()
    with Library(path) as lib:
        log = list(lib.store.conn.execute(
            "SELECT patent_id, field, old, new, source FROM corrections ORDER BY id"))
    assert log == [("D0900003", "grant_date", "2008-01-04", "2021-06-01", str(manifest)),
                   ("D0900003", "grant_date", "2021-06-01", "2008-01-04", str(manifest))]


def test_replay_refuses_a_query_file_that_changed_or_is_gone(searchable_library):
    path, query = searchable_library
    sid = search_logged(path, query)
    query.write_bytes(query.read_bytes() + b"\0")      # same picture, other bytes: changed
    with pytest.raises(AuditError, match="has changed since the search"):
        _replay(path, sid)
    query.unlink()
    with pytest.raises(AuditError, match="is gone"):
        _replay(path, sid)


def test_a_query_given_by_a_relative_path_replays_from_anywhere(searchable_library,
                                                                  monkeypatch, tmp_path):
    """The log keeps the query file's absolute path: the search typed in the query's folder
    (`search query.png`) replays from any other working folder."""
    path, query = searchable_library
    monkeypatch.chdir(query.parent)
    sid = search_logged(path, Path(query.name))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with Library(path) as lib:
        assert search_record(lib.store, sid)["query_path"] == str(query)
    assert _replay(path, sid).reproduced


def test_history_and_ratings_commands(searchable_library, tmp_path):
    path, query = searchable_library
    sid = search_logged(path, query)
    other = search_logged(path, query, locarno="06-01")
    with Library(path) as lib:
        hits = logged_hits(lib.store, search_record(lib.store, sid))
        for h, grade in zip(hits[:3], (3, 0, 2)):
            lib.store.add_rating(search_id=sid, patent_id=h.patent_id, figure_id=h.figure_id,
                                 rank=h.rank, rating=grade, model_id=None, query_sha256=None,
                                 examiner="ann", session="s1")

    cli = run("search", query, "--library", path, "--before", "2020-01-01", "--k", "3",
              "--examiner", "bob", "--study", "pilot", "--session", "s2")
    assert cli.returncode == 0, cli.stderr
    (mine,) = [json.loads(ln) for ln in run("history", "--library", path, "--session", "s2",
                                            "--json").stdout.splitlines()]
    assert (mine["examiner"], mine["study"], len(mine["results"])) == ("bob", "pilot", 3)
    told = run("history", mine["id"], "--library", path).stdout
    assert "Examiner:                 bob" in told and "Study:                    pilot" in \
        told and "Session:                  s2" in told
    assert run("history", "--library", path, "--examiner", "nobody").stdout.strip() == \
        "no searches logged for these filters"

    listing = run("history", "--library", path, "--session", "s1")
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == [other, sid]        # newest first
    assert "06-01" in rows[0] and "query.png" in rows[1]
    records = [json.loads(ln) for ln in run("history", "--library", path, "--json",
                                           "--session", "s1", "--limit", "1"
                                           ).stdout.splitlines()]
    assert [r["id"] for r in records] == [other] and len(records[0]["results"]) == 8

    shown = run("history", sid, "--library", path, "--json")
    obj = json.loads(shown.stdout)
    assert [r["ratings"] for r in obj["results"][:4]] == [["3 (ann)"], ["0 (ann)"],
                                                          ["2 (ann)"], []]
    text = run("history", sid, "--library", path).stdout
    assert "Prior art granted before: 2020-01-01" in text and "rated 3 (ann)" in text

    report = tmp_path / "search.html"
    made = run("history", sid, "--library", path, "--report", report)
    assert made.returncode == 0, made.stderr
    assert made.stdout == "" and made.stderr.strip().endswith(f"wrote {report}")
    assert "report pictures: 100%" in made.stderr and "8/8" in made.stderr
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 8 + 1          # results + the query
    assert "3 Highly relevant" in page and "Prior art granted before" in page
    allowed = obj["params"]["allowed"]              # how many figures the cutoff let through
    assert 8 <= allowed and f"<b>Figures searched</b></td><td>{allowed}</td>" in page
    table = tmp_path / "search.csv"
    assert run("history", sid, "--library", path, "--report", table).returncode == 0
    rows = csv.DictReader(table.open(encoding="utf-8-sig"))
    assert [r["rating"] for r in rows][:4] == ["3", "0", "2", ""]
    assert run("history", sid, "--library", path, "--report", tmp_path / "r.pdf"
               ).returncode == 2                          # PDF: the desktop app's

    replayed = run("history", sid, "--replay", "--library", path, "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["reproduced"] is True
    missing = run("history", 42, "--replay", "--library", path)
    assert missing.returncode == 1 and missing.stderr.strip() == \
        "patent-examiner: error: search #42 is not in this library's log"

    out = tmp_path / "ratings.csv"
    summary = run("ratings", "--library", path, "--out", out)
    assert summary.returncode == 0, summary.stderr
    assert "session s1, examiner ann: 2 searches, 1 rated; 3 results rated, 2 relevant; " \
        "mean P@10 0.20" in summary.stdout
    rows = csv.DictReader(out.open(encoding="utf-8-sig"))
    assert sorted(r["rating"] for r in rows) == ["0", "2", "3"]
    assert json.loads(run("ratings", "--library", path, "--session", "s2",
                          "--json").stdout)["ratings"] == 0
    nobody = run("ratings", "--library", path, "--examiner", "bob")
    assert nobody.stdout.strip() == "no ratings for these filters"
    ann = json.loads(run("ratings", "--library", path, "--examiner", "ann", "--json").stdout)
    assert ann["ratings"] == 3 and [s["examiner"] for s in ann["sessions"]] == ["ann"]
    events = tmp_path / "events.csv"
    wrote = run("ratings", "--library", path, "--out", events, "--events")
    assert wrote.returncode == 0 and "wrote 3 rating event(s)" in wrote.stderr
    assert [r["change"] for r in csv.DictReader(events.open(encoding="utf-8-sig"))] == \
        ["rated"] * 3
    for alone in ([], ["--score"]):
        lone = run("ratings", "--library", path, "--events", *alone)
        assert lone.returncode == 2 and "--out FILE.csv" in lone.stderr


def test_the_log_is_filtered_in_the_database(tmp_path):
    """Searches are selected by examiner, study and session in SQL (None: logged without
    one), newest first, so a long study's log is never read whole to list a few."""
    from core.store import Store

    store = Store(tmp_path / "library.sqlite")
    who = [("ann", "s1"), ("bob", "s1"), ("ann", None), ("ann", "s1")]
    ids = [store.log_search(query_path="/q.png", query_sha256=None, query_page=0,
                            query_box=None, before=None, locarno=None, text=None, model_id="m",
                            k=5, results=[], examiner=e, session=s) for e, s in who]
    assert [r["id"] for r in store.searches(examiner="ann", session="s1")] == [ids[3], ids[0]]
    assert [r["id"] for r in store.searches(session=None)] == [ids[2]]
    assert [r["id"] for r in store.searches(limit=2)] == [ids[3], ids[2]]
    assert len(store.searches(limit=None)) == 4
    assert store.count_searches(session="s1") == 3 and store.count_searches() == 4
    with pytest.raises(TypeError, match="patent"):
        store.searches(patent="D1")
    store.close()


def test_names_are_trimmed_and_an_empty_study_is_outside_any_study(tmp_path):
    """What the GUI trims, the command line's --examiner "ann " or --study "" must not keep:
    the log and the ratings store names trimmed and an empty one as none, and filters find
    rows logged before they were (with '' or spaces)."""
    from core.reports import session_summary
    from core.store import Store, StoreError

    store = Store(tmp_path / "library.sqlite")
    sid = store.log_search(query_path="/q.png", query_sha256=None, query_page=0,
                           query_box=None, before=None, locarno=None, text=None, model_id="m",
                           k=5, results=[], examiner="ann ", study="", session=" s9")
    rec = store.search_record(sid)
    assert (rec["examiner"], rec["study"], rec["session"]) == ("ann", None, "s9")
    store.conn.execute("INSERT INTO searches(at, examiner, study, session, model_id, k, "
                       "results) VALUES ('2020-01-01', 'ann', '', 's9 ', 'm', 5, '[]')")
    found = store.searches(examiner="ann", study=None, session="s9")
    assert len(found) == 2 and store.searches(examiner=" ann", study="", session="s9 ") == found
    store.add_rating(search_id=sid, patent_id="D1", figure_id=1, rank=1, rating=3,
                     model_id="m", query_sha256=None, examiner=" ann", study="",
                     session="s9")
    summary = session_summary(store, "s9", "ann", study="")
    assert (summary.searches, len(summary.per_search), summary.rated) == (2, 1, 1)
    assert store.current_ratings(study="", examiner="ann")[0]["examiner"] == "ann"
    # a name on two lines (a spreadsheet row pasted) is refused by the log and the ratings
    with pytest.raises(StoreError, match="the examiner name 'Jane Doe.tE123' holds a line"):
        store.log_search(query_path="/q.png", query_sha256=None, query_page=0, query_box=None,
                         before=None, locarno=None, text=None, model_id="m", k=5, results=[],
                         examiner="Jane Doe\tE123\n")
    with pytest.raises(StoreError, match="study name"):
        store.add_rating(search_id=sid, patent_id="D1", figure_id=1, rank=1, rating=3,
                         model_id="m", query_sha256=None, examiner="ann", study="a\nb")
    assert store.count_searches() == 2 and len(store.current_ratings()) == 1
    store.close()


def test_a_name_typed_and_pasted_in_other_unicode_forms_is_one_person(tmp_path, monkeypatch):
    """"Zoë" typed (one character) and pasted (e + a combining diaeresis) read alike: they
    were two raters, each with a rating of their own, listed twice under the same name."""
    from core.store import Store

    typed, pasted = "Zo\u00eb", "Zoe\u0308"
    store = Store(tmp_path / "library.sqlite")
    sid = store.log_search(query_path="/q.png", query_sha256=None, query_page=0,
                           query_box=None, before=None, locarno=None, text=None, model_id="m",
                           k=5, results=[], examiner=typed, study=pasted, session="s")
    for name, rating in ((typed, 1), (pasted, 3)):
        store.add_rating(search_id=sid, patent_id="D1", figure_id=1, rank=1, rating=rating,
                         model_id="m", query_sha256=None, examiner=name, study=typed,
                         session="s")
    current = store.current_ratings()
    assert [(r["examiner"], r["study"], r["rating"]) for r in current] == [(typed, typed, 3)]
    assert store.current_ratings(examiner=pasted, study=pasted) == current
    assert [r["id"] for r in store.searches(examiner=pasted, study=typed)] == [sid]
    # logged by an older version as pasted: found by either form where the library is
    # read-only here, and put in one form once it is opened with write access
    for table in ("searches", "ratings"):
        store.conn.execute(f"UPDATE {table} SET examiner = ?", (pasted,))
    store.conn.execute("DELETE FROM meta WHERE key = 'names_nfc'")
    store.conn.commit()
    store.close()
    with monkeypatch.context() as m:
        read_only_without_shm(m, tmp_path)
        old = Store(tmp_path / "library.sqlite")
        assert old.read_only and [r["id"] for r in old.searches(examiner=typed)] == [sid]
        assert len(old.current_ratings(examiner=typed)) == 1
        old.close()
    store = Store(tmp_path / "library.sqlite")
    assert {e for t in ("searches", "ratings") for (e,) in store.conn.execute(
        f"SELECT examiner FROM {t}")} == {typed}
    store.close()


def test_a_rating_of_a_logged_search_names_the_model_of_its_ranking(tmp_path):
    """A search reopened after the library was rebuilt with another model shows the logged
    ranking; its rating recorded today's model, so a study split by model gave that model
    judgments (and ranks) of another's ranking."""
    from core.store import Store

    store = Store(tmp_path / "library.sqlite")
    sid = store.log_search(query_path="/q.png", query_sha256=None, query_page=0,
                           query_box=None, before=None, locarno=None, text=None,
                           model_id="lite0-old", k=5, results=[], examiner="ann")
    for search_id in (sid, None):                       # logged, and a result of no search
        store.add_rating(search_id=search_id, patent_id="D1", figure_id=1, rank=1, rating=3,
                         model_id="tiny-new", query_sha256=None, examiner="ann")
    assert {r["search_id"]: r["model_id"] for r in store.current_ratings()} == \
        {sid: "lite0-old", None: "tiny-new"}
    store.close()


def test_a_rebuild_keeps_the_ids_the_log_and_ratings_name(searchable_library):
    """Rebuilding (here without a page whose file is gone) gives every figure it cuts the same
    way its old id, so a logged search reopens with the very figures it showed; a figure
    whose id would now name another patent's is left out, never shown in its place."""
    from core.ingest import rebuild

    path, query = searchable_library
    sid = search_logged(path, query)
    sql = ("SELECT f.id, p.path, p.page_index, f.x0, f.y0, f.x1, f.y1 FROM figures f "
           "JOIN pages p ON p.id = f.page_id")
    with Library(path) as lib:
        before = {r[0]: r[1:] for r in lib.store.conn.execute(sql)}
        shown = {h.figure_id: h.patent_id for h in logged_hits(lib.store,
                                                               search_record(lib.store, sid))}
    first = min(before)                                   # the first page's figure goes
    Path(before[first][0]).unlink()
    with Library(path) as lib:
        rebuild(lib, create_model("tiny_test", pretrained=None), drop_missing=True)
    with Library(path) as lib:
        after = {r[0]: r[1:] for r in lib.store.conn.execute(sql)}
        assert after == {i: v for i, v in before.items() if v[0] != before[first][0]}
        rec = search_record(lib.store, sid)
        again = {h.figure_id: h.patent_id for h in logged_hits(lib.store, rec)}
        assert again == {i: p for i, p in shown.items() if i in after}

        # an id that now names another patent's figure is not shown as the logged result
        rec["results"][0]["patent_id"] = "D0999999"
        assert rec["results"][0]["figure_id"] not in {
            h.figure_id for h in logged_hits(lib.store, rec)}


def test_an_empty_study_filter_means_outside_any_study(tmp_path):
    """`ratings --study ""` and `history --study ""` take the searches and ratings made
    outside a study, as the CSV and the score do, not nothing."""
    from core.library import Library

    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        for study in ("S1", None):
            sid = lib.store.log_search(query_path="/q.png", query_sha256="x", query_page=0,
                                       query_box=None, before=None, locarno=None, text=None,
                                       model_id="m", k=5, results=[], examiner="ann",
                                       study=study, session="s1")
            lib.store.add_rating(search_id=sid, patent_id="D0000001", figure_id=1, rank=1,
                                 rating=3, model_id="m", query_sha256="x", examiner="ann",
                                 study=study, session="s1")
    out = json.loads(run("ratings", "--library", path, "--study", "", "--json",
                         "--out", tmp_path / "r.csv").stdout)
    assert out["ratings"] == out["written"] == 1 and out["sessions"][0]["rated"] == 1
    logged = [json.loads(x) for x in run("history", "--library", path, "--study", "",
                                         "--json").stdout.splitlines()]
    assert [r["study"] for r in logged] == [None]


def test_a_report_of_a_per_patent_search_says_its_rows_are_patents(searchable_library,
                                                                    tmp_path):
    """`search --per-patent` ranks one figure per patent: its report says so (it read as
    the top figures)."""
    path, query = searchable_library
    sid = search_logged(path, query, per_patent=True)
    plain = search_logged(path, query)
    for search_id, said in ((sid, True), (plain, False)):
        report = tmp_path / f"{search_id}.html"
        assert run("history", search_id, "--library", path, "--report", report).returncode == 0
        assert ("one result (its best figure)" in report.read_text()) is said


def test_a_report_with_another_examiners_ratings_names_them(searchable_library, tmp_path):
    """`history ID --report --examiner bob` of ann's search shows bob's ratings and says
    whose they are (the desktop app's report of a reopened search does the same)."""
    path, query = searchable_library
    sid = search_logged(path, query)                      # by ann
    with Library(path) as lib:
        hit = logged_hits(lib.store, search_record(lib.store, sid))[0]
        for who in ("ann", "bob"):
            lib.store.add_rating(search_id=sid, patent_id=hit.patent_id, figure_id=hit.figure_id,
                                 rank=hit.rank, rating=3, model_id=None, query_sha256=None,
                                 examiner=who)
    for who, named in (("bob", True), ("ann", False), ("bob ", True)):
        report = tmp_path / f"{who.strip()}.html"
        assert run("history", sid, "--library", path, "--report", report,
                   "--examiner", who).returncode == 0
        page = report.read_text()
        assert "3 Highly relevant" in page and ("<b>Ratings by</b></td><td>bob" in page) is named
    # a name typed in another Unicode form than it was given in (pasted): the same examiner
    with Library(path) as lib:
        lib.store.add_rating(search_id=sid, patent_id=hit.patent_id, figure_id=hit.figure_id,
                             rank=hit.rank, rating=2, model_id=None, query_sha256=None,
                             examiner="Zo\u00eb")
    report = tmp_path / "zoe.html"
    assert run("history", sid, "--library", path, "--report", report,
               "--examiner", "Zoe\u0308").returncode == 0
    assert "2 Relevant" in report.read_text()


def test_a_report_never_shows_another_drawing_as_the_query(searchable_library, tmp_path):
    """The file at a logged query's path replaced by another drawing (or gone): the report
    says so and shows no query picture; it showed the new drawing as the one searched."""
    from PIL import Image

    path, query = searchable_library
    sid = search_logged(path, query)
    report = tmp_path / "search.html"
    assert run("history", sid, "--library", path, "--report", report).returncode == 0
    assert report.read_text().count("data:image/png;base64,") == 8 + 1   # results + query
    page = np.asarray(Image.open(query).convert("L"))
    Image.fromarray(255 - page).save(query)              # another drawing, the same name
    for state in ("has changed since the search", "is gone"):
        made = run("history", sid, "--library", path, "--report", report)
        assert made.returncode == 0, made.stderr
        text = report.read_text()
        assert text.count("data:image/png;base64,") == 8 and state in text, state
        query.unlink(missing_ok=True)


def test_a_search_logged_as_a_rebuild_swaps_its_library_in_is_in_the_new_log(
        searchable_library, monkeypatch):
    """A rebuild in another process copies the log, then swaps its library in: a search
    written to the old database between the two is logged again in the new one (it was
    lost with the old database)."""
    import sqlite3

    from core.search import SearchQuery
    from core.store import Store

    path, query = searchable_library
    real = Store.log_search
    swapped = []

    def log_then_swap(store, **entry):
        if not swapped:         # the rebuild's copy, made before this entry is written
            aside = path.with_name("lib.rebuild")
            shutil.copytree(path, aside, ignore=shutil.ignore_patterns("library.sqlite*"))
            src, dst = sqlite3.connect(path / "library.sqlite"), \
                sqlite3.connect(aside / "library.sqlite")
            src.backup(dst)
            src.close(), dst.close()
        search_id = real(store, **entry)
        if not swapped:
            swapped.append(search_id)
            path.rename(path.with_name("lib.old"))
            path.with_name("lib.rebuild").rename(path)
        return search_id

    monkeypatch.setattr(Store, "log_search", log_then_swap)
    with Library(path) as lib:
        resp = Searcher(lib, create_model("tiny_test", pretrained=None)).search(
            SearchQuery(image=query, before=BEFORE, k=8), log=True, examiner="ann")
    assert swapped
    with Library(path) as lib:
        rec = lib.store.search_record(resp.search_id)
        assert rec is not None and rec["examiner"] == "ann"
        assert [r["figure_id"] for r in rec["results"]] == [h.figure_id for h in resp.results]


def test_each_rating_is_summarised_in_exactly_one_session_and_examiner_row(tmp_path):
    """The ratings made outside a session, or without an examiner, are their own row: that
    row did count every session's (or examiner's) ratings, so the rows added up to more
    than the CSV holds. Two studies that name a session alike are two rows, each named."""
    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        for session, examiner, rated, study in (("S2", "bob", 3, None), (None, "bob", 1, None),
                                                ("S2", None, 2, None), ("S2", "bob", 2, "pilot")):
            sid = lib.store.log_search(query_path="/q.png", query_sha256="x", query_page=0,
                                       query_box=None, before=None, locarno=None, text=None,
                                       model_id="m", k=5, results=[], examiner=examiner,
                                       session=session, study=study)
            for rank in range(1, rated + 1):
                lib.store.add_rating(search_id=sid, patent_id=f"D000000{rank}",
                                     figure_id=rank, rank=rank, rating=3, model_id="m",
                                     query_sha256="x", examiner=examiner, session=session,
                                     study=study)
    out = json.loads(run("ratings", "--library", path, "--json",
                         "--out", tmp_path / "r.csv").stdout)
    rows = {(s["study"], s["session"], s["examiner"]): (s["searches"], s["rated"])
            for s in out["sessions"]}
    assert rows == {(None, "S2", "bob"): (1, 3), (None, None, "bob"): (1, 1),
                    (None, "S2", None): (1, 2), ("pilot", "S2", "bob"): (1, 2)}
    assert sum(rated for _, rated in rows.values()) == out["ratings"] == out["written"] == 8
    text = run("ratings", "--library", path).stdout.splitlines()
    assert "study pilot, session S2, examiner bob: 1 search, 1 rated; 2 results rated, " \
        "2 relevant; mean P@10 0.00" in text
    assert "session S2, examiner bob: 1 search, 1 rated; 3 results rated, 3 relevant; " \
        "mean P@10 0.00" in text


def test_a_logged_search_shows_its_results_as_they_were_after_a_correction(
        searchable_library):
    """A grant date or class the library corrects after a search does not rewrite the audit
    trail: the search shows what it showed, and says what was corrected since."""
    path, query = searchable_library
    sid = search_logged(path, query)
    with Library(path) as lib:
        first = logged_hits(lib.store, search_record(lib.store, sid))[0]
        with lib.store.transaction():
            lib.store.conn.execute("UPDATE patents SET grant_date = '1999-01-02', "
                                   "filing_date = '1998-06-01', locarno = '99-99' "
                                   "WHERE patent_id = ?", (first.patent_id,))
        hits = logged_hits(lib.store, search_record(lib.store, sid))
    again = hits[0]
    same = [h for h in hits if h.patent_id == first.patent_id]
    assert all(h.corrected for h in same) and not any(h.corrected for h in hits if h not in same)
    assert first.corrected == {} and again.figure_id == first.figure_id
    # (the filing date too: a report paired the grant date shown then with today's filing)
    assert (again.grant_date, again.filing_date, again.locarno, again.locarno_title) == \
        (first.grant_date, first.filing_date, first.locarno, first.locarno_title)
    assert again.corrected == {"grant_date": "1999-01-02", "filing_date": "1998-06-01",
                               "locarno": "99-99"}
    shown = run("history", sid, "--library", path)
    assert shown.returncode == 0, shown.stderr
    assert f"corrected {len(same)} of these results' patent data since" in shown.stdout
    line = next(ln for ln in shown.stdout.splitlines() if first.patent_id in ln)
    assert first.grant_date in line and \
        line.endswith("[now granted 1999-01-02, filed 1998-06-01, Locarno 99-99]")


def test_a_replay_in_blind_mode_names_no_model_and_no_score():
    from core.audit import Replay

    changed = Replay(search_id=4, logged_model="lite0-aaaa", model="lite0-bbbb", compared=10,
                     same_order=False, max_score_diff=0.36, first_difference=3)
    assert "lite0-aaaa" in changed.text() and "0.36" in changed.text()
    blind = changed.text(blind=True)
    assert "does not reproduce" in blind and "another model" in blind
    assert "lite0" not in blind and "0.36" not in blind
    same = Replay(search_id=4, logged_model="m", model="m", compared=10, same_order=True,
                  max_score_diff=2e-4)
    assert "within" in same.text() and "within" not in same.text(blind=True)


def test_a_replay_with_no_result_in_common_does_not_call_their_scores_the_same():
    """Every logged result gone and all new ones in their place: there are no results in
    both to compare ("the results in both have the same scores" was said of none)."""
    from core.audit import Replay

    none_shared = Replay(search_id=1, logged_model="m", model="m", compared=3,
                         same_order=False, max_score_diff=0.0, in_both=0, first_difference=1,
                         gone=[1, 2, 3])
    for blind in (False, True):
        said = none_shared.text(blind)
        assert said.endswith("no result is in both.") and "same scores" not in said
    shared = Replay(search_id=1, logged_model="m", model="m", compared=3, same_order=False,
                    max_score_diff=0.0, in_both=2, first_difference=1, gone=[3])
    assert shared.text().endswith("the results in both have the same scores.")


def test_a_query_kept_in_the_library_is_found_after_the_library_moved(searchable_library,
                                                                        tmp_path):
    """A pasted image is saved in the library's queries folder and logged by its path there:
    once the library has moved, replay and the report find it in the library's new place."""
    path, query = searchable_library
    kept = path / "queries" / "pasted-0123456789abcdef.png"
    kept.parent.mkdir()
    shutil.copy(query, kept)
    sid = search_logged(path, kept)
    moved = tmp_path / "elsewhere" / "lib"
    moved.parent.mkdir()
    path.rename(moved)
    assert _replay(moved, sid).same_order
    report = tmp_path / "r.html"
    assert run("history", sid, "--library", moved, "--report", report).returncode == 0
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 8 + 1 and "file is gone" not in page


def test_a_long_text_is_noted_and_listed_on_one_line(searchable_library):
    """A text longer than the model reads is said at the search; the history lists it cut to
    a line and shows it without its line breaks."""
    path, query = searchable_library
    long = "design 3 with a handle\n" + "and a lid " * 200
    made = run("search", query, "--text", long, "--library", path, "--k", "3")
    assert made.returncode == 0, made.stderr
    assert "note: the text is longer than the model reads: only its first" in made.stderr
    listed = run("history", "--library", path).stdout.splitlines()
    assert max(len(ln) for ln in listed) < 200 and "design 3 with a handle and a lid" in listed[1]
    shown = run("history", "1", "--library", path).stdout
    assert "Text:                     design 3 with a handle and a lid and a lid" in shown
    assert "Text read:                its first" in shown


def test_replay_and_scoring_find_a_moved_model_once_told(searchable_library, tmp_path):
    """A library built with a checkpoint folder that has moved since: `history --replay` and
    `ratings --score` say so and take its new place with --model, which is remembered."""
    from core.models import save_checkpoint

    path, query = searchable_library
    sid = search_logged(path, query)
    ck = save_checkpoint(create_model("tiny_test", pretrained=None), tmp_path / "ck")
    with Library(path) as lib:
        with lib.store.transaction():
            lib.store._set_meta("model", {**lib.model_info, "ref": str(ck)})
        hit = logged_hits(lib.store, search_record(lib.store, sid))[0]
        lib.store.add_rating(search_id=sid, patent_id=hit.patent_id, figure_id=hit.figure_id,
                             rank=hit.rank, rating=3, model_id=None, query_sha256=None,
                             examiner="ann", session="s1")
    moved = ck.rename(tmp_path / "moved")
    refused = run("history", sid, "--replay", "--library", path)
    assert refused.returncode == 1
    assert f"built with the model at {ck}, which is not there now" in refused.stderr
    assert "history --replay" in refused.stderr
    replayed = run("history", sid, "--replay", "--library", path, "--model", moved, "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["reproduced"] is True
    scored = run("ratings", "--score", "--json", "--library", path)      # remembered
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["scored"] == 1


def test_a_search_of_another_study_rated_in_a_session_of_the_same_name_is_said(tmp_path):
    """Study A's session s-1 and study B's session s-1 are two sessions: a search made in A
    and rated in B is one 'made in another session' in B's summary (it was not)."""
    from core.reports import session_summary

    path = tmp_path / "lib"
    with Library(path, create=True) as lib:
        sids = [lib.store.log_search(query_path="/q.png", query_sha256="x", query_page=0,
                                     query_box=None, before=None, locarno=None, text=None,
                                     model_id="m", k=5, results=[], examiner="ann",
                                     study=study, session="s-1") for study in ("A", "B")]
        for sid in sids:
            lib.store.add_rating(search_id=sid, patent_id="D0000001", figure_id=1, rank=1,
                                 rating=3, model_id="m", query_sha256="x", examiner="ann",
                                 study="B", session="s-1")
        b = session_summary(lib.store, "s-1", "ann", study="B")
        assert "2 rated (1 of them made in another session)" in b.text()
        anywhere = session_summary(lib.store, "s-1", "ann")      # of any study: one session
        assert "made in another session" not in anywhere.text()
    text = run("ratings", "--library", path).stdout
    assert "study B, session s-1, examiner ann: 1 search, 2 rated (1 of them made in " \
        "another session)" in text
    listed = run("history", "--library", path).stdout.splitlines()
    assert listed[0].split()[:7] == ["id", "searched", "at", "(UTC)", "examiner", "study",
                                     "session"]
    assert [ln.split()[3:5] for ln in listed[1:]] == [["B", "s-1"], ["A", "s-1"]]
