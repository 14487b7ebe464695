"""Scoring a model by examiners' ratings: condensed nDCG@10 of rated searches run again."""
import json
import math
import shutil

import pytest

from core.audit import logged_hits, search_record
from core.judgments import grades, ndcg, patent_order, score_by_ratings
from core.library import Library
from core.models import create_model
from core.search import Searcher
from core.store import Store
from conftest import regrant, search_logged
from test_audit import run


def test_condensed_ndcg_by_hand():
    judged = {"A": 3, "B": 0, "C": 2}
    # X is unjudged and left out: the list scored is B, A, C
    dcg = 0 + 7 / math.log2(3) + 3 / math.log2(4)
    ideal = 7 + 3 / math.log2(3)
    assert ndcg(["X", "B", "A", "C"], judged) == pytest.approx(dcg / ideal)
    assert ndcg(["A", "C", "B"], judged) == pytest.approx(1.0)
    assert ndcg(["A", "C"], judged, k=1) == pytest.approx(1.0)
    assert ndcg(["C", "A"], judged, k=1) == pytest.approx(3 / 7)
    assert ndcg(["A", "B"], {"A": 0, "B": 0}) is None            # nothing to find
    assert patent_order(["A", "A", "B", "A", "C"]) == ["A", "B", "C"]


def test_grades_take_each_examiners_best_figure_and_average_examiners(tmp_path):
    store = Store(tmp_path / "library.sqlite")
    rate = lambda sid, patent, fig, g, who, study="st": store.add_rating(  # noqa: E731
        search_id=sid, patent_id=patent, figure_id=fig, rank=fig, rating=g, model_id=None,
        query_sha256=None, examiner=who, study=study, session="s1")
    rate(1, "A", 1, 1, "ann")
    rate(1, "A", 2, 3, "ann")              # ann's best figure of A: 3
    rate(1, "A", 1, 1, "bob")              # bob's: 1 -> A's grade (3 + 1) / 2
    rate(1, "B", 5, 0, "ann")
    rate(2, "C", 7, 2, "ann", study="other")
    rate(None, "D", 8, 3, "ann")           # a rating outside a logged search: not a judgment
    assert grades(store) == {1: {"A": 2.0, "B": 0.0}, 2: {"C": 2.0}}
    assert grades(store, study="other") == {2: {"C": 2.0}}
    assert grades(store, examiner="bob") == {1: {"A": 1.0}}
    store.close()


def test_rated_searches_are_scored_as_seen_and_as_ranked_now(searchable_library, tmp_path):
    path, query = searchable_library
    sid = search_logged(path, query)
    gone_query = tmp_path / "gone.png"
    shutil.copy(query, gone_query)
    gone = search_logged(path, gone_query)
    with Library(path) as lib:
        store = lib.store
        for s in (sid, gone):
            hits = logged_hits(store, search_record(store, s))
            order = patent_order([h.patent_id for h in hits])
            first = {p: next(h for h in hits if h.patent_id == p) for p in order}
            for patent, grade in ((order[0], 0), (order[2], 3)):   # the best is the 3rd
                h = first[patent]
                store.add_rating(search_id=s, patent_id=patent, figure_id=h.figure_id,
                                 rank=h.rank, rating=grade, model_id=None, query_sha256=None,
                                 examiner="ann", session="s1")
    gone_query.unlink()
    expected = (7 / math.log2(3)) / 7          # condensed: [order[0] (0), order[2] (3)]
    with Library(path) as lib:
        scores = score_by_ratings(Searcher(lib, create_model("tiny_test", pretrained=None)))
    assert [s.search_id for s in scores.searches] == [sid]
    (row,) = scores.searches
    assert (row.judged, row.relevant) == (2, 1)
    assert row.logged == pytest.approx(expected) and row.now == pytest.approx(expected)
    assert [(i, "is gone" in why) for i, why in scores.skipped] == [(gone, True)]
    diff, lo, hi = scores.difference(n=200)
    assert diff == lo == hi == 0.0                  # the same model ranks as it did
    assert scores.model in scores.text() and scores.model not in scores.text(blind=True)

    proc = run("ratings", "--score", "--json", "--library", path)
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert obj["scored"] == 1 and obj["ndcg_now"] == pytest.approx(expected)
    bars = [ln for ln in proc.stderr.replace("\r", "\n").splitlines() if "rated searches" in ln]
    assert bars and all("/2" in ln for ln in bars)     # one bar, of the 2 rated searches
    text = run("ratings", "--score", "--library", path).stdout
    assert f"as the examiners saw the ranking {expected:.3f}, the model now {expected:.3f}" \
        in text and "1 skipped" in text

    import threading

    stop = threading.Event()
    stop.set()
    with Library(path) as lib:
        stopped = score_by_ratings(Searcher(lib, create_model("tiny_test", pretrained=None)),
                                   cancel=stop)
    assert stopped.cancelled and not stopped.searches
    assert stopped.text() == ("No rated search scored (stopped early: 0 of 2 rated searches "
                              "looked at).")


def _rated_search(path, query, grades) -> tuple[int, list[str]]:
    """A logged search whose first patents (in ranked order) ann rated ``grades``; returns
    its id and the patents in ranked order."""
    sid = search_logged(path, query)
    with Library(path) as lib:
        hits = logged_hits(lib.store, search_record(lib.store, sid))
        order = patent_order([h.patent_id for h in hits])
        first = {p: next(h for h in hits if h.patent_id == p) for p in order}
        for patent, grade in zip(order, grades):
            h = first[patent]
            lib.store.add_rating(search_id=sid, patent_id=patent, figure_id=h.figure_id,
                                 rank=h.rank, rating=grade, model_id=None, query_sha256=None,
                                 examiner="ann")
    return sid, order


def test_a_judged_patent_no_longer_prior_art_is_left_out_of_both_scores(searchable_library):
    """A judged patent whose grant date was corrected to after the search's cutoff cannot be
    ranked by the search run again: it is left out of the logged and the new score alike
    (and said), not counted as the model's miss; a search whose only relevant patent it was
    is skipped with the reason."""
    path, query = searchable_library
    sid, order = _rated_search(path, query, (3, 2, 0))

    def score():
        with Library(path) as lib:
            return score_by_ratings(Searcher(lib, create_model("tiny_test", pretrained=None)))

    (before,) = score().searches
    assert before.logged == pytest.approx(1.0) and before.now == pytest.approx(1.0)
    regrant(path, order[0], "2021-06-01")               # after the search's cutoff
    scores = score()
    (row,) = scores.searches
    assert (row.judged, row.left_out) == (2, 1)
    assert row.logged == pytest.approx(1.0) and row.now == pytest.approx(1.0)
    assert "1 judged patent(s) left out of both: no longer prior art" in scores.text()
    regrant(path, order[1], "2021-06-01")
    (skipped,) = score().skipped
    assert skipped[0] == sid and "no longer prior art" in skipped[1]


def test_a_judged_patent_dropped_from_the_library_is_left_out_of_both_scores(
        searchable_library):
    """A judged patent whose pages were dropped (its files gone, `index rebuild
    --drop-missing`) keeps its metadata row but is searched no more: it counted as prior art
    the model now failed to find (nDCG 1.0 -> 0.61, read as a regression)."""
    from pathlib import Path

    from core.ingest import rebuild

    path, query = searchable_library
    sid, order = _rated_search(path, query, (3, 3, 0))
    with Library(path) as lib:
        for page in lib.store.pages_of_patent(order[0]):
            Path(page["path"]).unlink()
    model = create_model("tiny_test", pretrained=None)
    with Library(path) as lib:
        rebuild(lib, model, model_ref="tiny_test:random", workers=0, drop_missing=True)
    with Library(path) as lib:
        assert lib.store.patent(order[0]) is not None       # (its row stays)
        scores = score_by_ratings(Searcher(lib, model))
    (row,) = scores.searches
    assert (row.judged, row.left_out) == (2, 1)
    assert row.logged == pytest.approx(1.0) and row.now == pytest.approx(1.0)


def test_a_dropped_patent_added_again_counts_as_new(searchable_library):
    """A patent whose pages a rebuild dropped keeps its row; added again (its files back),
    the add said "0 new patents" while the library's count of patents rose by one."""
    from pathlib import Path

    from core.ingest import ingest, rebuild

    path, _ = searchable_library
    model = create_model("tiny_test", pretrained=None)
    with Library(path) as lib:
        before = lib.info()["patents"]
        pid = lib.store.conn.execute("SELECT patent_id FROM pages LIMIT 1").fetchone()[0]
        moved = [Path(p["path"]) for p in lib.store.pages_of_patent(pid)]
        source = lib.store.conn.execute("SELECT path FROM sources").fetchone()[0]
    for page in moved:
        page.rename(page.with_suffix(".aside"))
    with Library(path) as lib:
        rebuild(lib, model, model_ref="tiny_test:random", workers=0, drop_missing=True)
        assert lib.info()["patents"] == before - 1
    for page in moved:
        page.with_suffix(".aside").rename(page)
    with Library(path) as lib:
        report = ingest(lib, [source], model, model_ref="tiny_test:random", workers=0)
        assert lib.info()["patents"] == before
    assert report.patents_added == 1 and "1 new patent)" in report.summary()
