"""Metric code agrees with ranx; the task definitions select the right gallery and relevance."""
from datetime import date

import numpy as np
import pytest

from core.evaluation import (EvalQuery, Gallery, average_precision, evaluate, hit_at, mrr_at,
                             recall_at)


def test_metrics_match_ranx():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(0)
    qrels, run, ours = {}, {}, {"map": [], "recall@10": [], "mrr@10": [], "hit_rate@1": []}
    for q in range(40):
        n_docs = int(rng.integers(5, 60))
        docs = [f"d{i}" for i in range(n_docs)]
        rel = [d for d in docs if rng.random() < 0.2] or [docs[int(rng.integers(n_docs))]]
        scores = rng.random(n_docs)
        order = np.argsort(-scores)
        ranked = [docs[i] for i in order]
        qrels[f"q{q}"] = {d: 1 for d in rel}
        run[f"q{q}"] = {docs[i]: float(scores[i]) for i in range(n_docs)}
        rels = [d in rel for d in ranked]
        ours["map"].append(average_precision(rels, len(rel)))
        ours["recall@10"].append(recall_at(rels, len(rel), 10))
        ours["mrr@10"].append(mrr_at(rels, 10))
        ours["hit_rate@1"].append(hit_at(rels, 1))
    theirs = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), list(ours))
    for metric, values in ours.items():
        assert np.mean(values) == pytest.approx(theirs[metric], abs=1e-9), metric


def _gallery():
    # patents A (2010, 06-01), B (2012, 06-01), C (2014, 07-01), Q (2016, 06-01; the query's own)
    pats = ["A", "A", "B", "C", "C", "Q", "Q"]
    grant = [date(2010, 1, 1), date(2010, 1, 1), date(2012, 1, 1), date(2014, 1, 1),
             date(2014, 1, 1), date(2016, 1, 1), date(2016, 1, 1)]
    loc = ["06-01", "06-01", "06-01", "07-01", "07-01", "06-01", "06-01"]
    vec = np.eye(7, dtype=np.float32)
    return Gallery(labels=np.arange(1, 8), vectors=vec, patent=np.array(pats, dtype=object),
                   grant=np.array([d.toordinal() for d in grant]),
                   subclass=np.array(loc, dtype=object),
                   main_class=np.array([c[:2] for c in loc], dtype=object),
                   page=np.array([1, 1, 2, 3, 3, 4, 5]))


def test_tasks_use_cutoff_and_exclude_query_page():
    g = _gallery()
    # query = page 4 of Q; most similar to C (figure 4), then Q's other page, then B, then A
    qv = np.array([[0, 0.5, 0.6, 0.9, 0, 1.0, 0.7]], np.float32)
    q = EvalQuery("Q", date(2013, 6, 1), "06-01", page_id=4)
    res = evaluate(g, [q], lambda _: qv)
    sd = res.metrics["same_design"]
    # page 4 itself excluded: Q's other figure (0.7) ranks 2nd after C (0.9)
    assert sd["figure"]["MRR@10"] == pytest.approx(0.5)
    assert sd["patent"]["Hit@1"] == 0.0
    pa = res.metrics["prior_art_subclass"]
    # filed 2013: gallery = A, B (C was granted 2014, Q itself later); ranking B(0.6), A(0.5)
    assert pa["patent"]["mAP"] == pytest.approx(1.0)
    assert pa["figure"]["R@10"] == pytest.approx(1.0)
    assert res.counts["prior_art_class"] == 1


def test_query_without_relevant_prior_art_is_skipped():
    g = _gallery()
    q = EvalQuery("C", date(2009, 1, 1), "07-01", page_id=3)
    res = evaluate(g, [q], lambda _: np.ones((1, 7), np.float32))
    assert res.skipped["prior_art_subclass"] == 1 and res.counts["prior_art_subclass"] == 0


def test_an_application_query_searches_with_all_its_pages_and_finds_no_design_of_its_own():
    from core.evaluation import library_query_vectors, per_application

    g = _gallery()
    # A (2010) and B (2012) are 06-01 prior art of Q (filed 2015), C (2014) is of 07-01.
    # Q's page 4 is nearest to C then A; its page 5 nearest to B then C.
    g.vectors = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1],
                          [0.6, 0, 0.8], [0, 0.9, 0.436]], np.float32)
    sheets = [EvalQuery("Q", date(2015, 6, 1), "06-01", page_id=4),
              EvalQuery("Q", date(2015, 6, 1), "06-01", page_id=5)]
    (app,) = per_application(sheets)
    assert app.pages == (4, 5) and app.page_id is None and app.patent_id == "Q"
    qv = library_query_vectors(None, g)
    assert qv(app).shape == (2, 3)                  # both of Q's figures
    ap = lambda r: r.metrics["prior_art_subclass"]["patent"]["mAP"]  # noqa: E731
    page4 = evaluate(g, sheets[:1], qv)
    assert ap(page4) == pytest.approx((1 / 2 + 2 / 3) / 2)          # C, A, B
    assert page4.counts["same_design"] == 1         # a sheet still finds its other page
    res = evaluate(g, [app], qv)                    # best match over both pages: B, C, A
    assert ap(res) == pytest.approx((1 + 2 / 3) / 2)
    assert "same_design" not in res.metrics and res.skipped["same_design"] == 1
