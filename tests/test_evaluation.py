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


def test_a_query_with_a_class_alone_is_said_so_not_as_nothing_to_find():
    """A query patent known only as class 06 cannot be judged by subclass: it was counted
    (and said) as having "nothing relevant to find", which reads as no prior art; and one
    without a filing date was counted so for every prior-art task."""
    g = _gallery()
    qv = np.array([[0, 0.5, 0.6, 0.9, 0, 1.0, 0.7]], np.float32)
    res = evaluate(g, [EvalQuery("Q", date(2013, 6, 1), "06", page_id=4),
                       EvalQuery("Q", None, "06-01", page_id=5)], lambda _: qv)
    assert res.skipped["prior_art_subclass"] == 0 and res.counts["prior_art_class"] == 1
    assert (res.no_subclass, res.no_date_or_class) == (1, 1)
    row = [r for r in res.table().splitlines() if r.startswith("prior_art_subclass")]
    assert row == [f"{'prior_art_subclass':<20} {'-':<7} {0:>5}  no query scored (1 of a "
                   "class with no subclass given)"]


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


def test_per_query_scores_are_kept_with_their_query_patent():
    g = _gallery()
    qv = np.array([[0, 0.5, 0.6, 0.9, 0, 1.0, 0.7]], np.float32)
    res = evaluate(g, [EvalQuery("Q", date(2013, 6, 1), "06-01", page_id=4)], lambda _: qv)
    ((pid, scores),) = res.per_query["same_design"]
    assert pid == "Q" and scores["MRR@10"] == pytest.approx(0.5)
    assert res.per_query["prior_art_subclass"][0][1]["mAP"] == pytest.approx(1.0)


def test_no_interval_is_given_from_a_single_query_patent():
    """Resampling one patent gives its own mean every time: no interval rather than one of no
    width; two patents give one."""
    from core.evaluation import EvalResult, compare, intervals

    one = {"same_design": [("P", {"MRR@10": 0.6}), ("P", {"MRR@10": 0.4})]}
    two = {"same_design": [("P", {"MRR@10": 0.6}), ("Q", {"MRR@10": 0.2})]}
    assert intervals(EvalResult(per_query=one)) == {}
    assert compare(EvalResult(per_query=one), EvalResult(per_query=one)) == {}
    point, lo, hi = intervals(EvalResult(per_query=two), n=200)["same_design"]
    assert point == pytest.approx(0.4) and lo < point < hi
    assert set(compare(EvalResult(per_query=two), EvalResult(per_query=two))) == {"same_design"}


def test_bootstrap_interval_of_a_paired_ratio_and_difference():
    from core.evaluation import bootstrap_ci

    rng = np.random.default_rng(1)

    def fold(n_patents, gain):
        rows = []
        for p in range(n_patents):
            for _ in range(int(rng.integers(1, 4))):     # 1-3 sheets per patent
                a = float(rng.uniform(0.1, 0.3))
                rows.append((f"P{p}", a, a * gain))
        return rows

    # b = 2a on every query: every resample gives exactly 2, the interval has no width
    point, lo, hi = bootstrap_ci([fold(20, 2.0), fold(15, 2.0)], n=200)
    assert point == pytest.approx(2.0) and lo == pytest.approx(2.0) and hi == pytest.approx(2.0)

    # the estimate is the mean of per-fold means, not the pooled mean
    folds = [[("A", 1.0, 2.0)], [("B", 1.0, 1.0), ("C", 1.0, 1.0), ("D", 1.0, 1.0)]]
    assert bootstrap_ci(folds, ratio=False, n=50)[0] == pytest.approx(0.5)

    # noisy gains: the interval holds the point estimate and narrows with more patents
    noisy = lambda n: [[(p, a, a + float(rng.normal(0.02, 0.1))) for p, a, _ in fold(n, 1.0)]
                       for _ in range(4)]  # noqa: E731
    small, large = bootstrap_ci(noisy(10), ratio=False), bootstrap_ci(noisy(200), ratio=False)
    for point, lo, hi in (small, large):
        assert lo < point < hi
    assert large[2] - large[1] < (small[2] - small[1]) / 2
    assert large[1] < 0.02 < large[2]


def test_a_task_no_query_could_be_scored_for_keeps_its_row_and_says_why():
    """The row of a task without scored queries used to vanish from eval's table."""
    from core.evaluation import METRICS, EvalResult

    scores = {m: 0.5 for m in METRICS}
    result = EvalResult(metrics={"same_design": {"figure": scores, "patent": scores}},
                        counts={"same_design": 4, "prior_art_subclass": 0,
                                "prior_art_class": 0},
                        skipped={"same_design": 0, "prior_art_subclass": 4,
                                 "prior_art_class": 0}, n_queries=4)
    rows = result.table().splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["same_design", "same_design",
                                            "prior_art_subclass", "prior_art_class"]
    assert rows[2].endswith("no query scored (4 had nothing relevant to find)")
    assert rows[3].endswith("no query scored")


def test_the_ablation_refuses_more_folds_than_patents(tmp_path, drawing_manifest, capsys):
    """Folds past the patent count are empty: each would still tune (or train) and score
    nothing, hours lost to a typo."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "ablation.py"
    spec = importlib.util.spec_from_file_location("ablation", path)
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    config = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny_test.toml"
    assert ablation.main(["--config", str(config), "--folds", "40", "--variants", "untrained",
                          "--text", "none", "--out", str(tmp_path / "runs"),
                          "--set", f"data.sources=['{drawing_manifest}']",
                          "--set", f"data.cache_dir='{tmp_path / 'cache'}'"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "--folds 40 is more than the 12 patents that can be held out: every fold past them "
        "would score nothing; give --folds 12 or fewer")
    assert not (tmp_path / "runs" / "runs.jsonl").exists()


def test_the_ablation_run_away_from_the_repository_reads_its_default_config(
        tmp_path, monkeypatch, capsys):
    """The default config is found from any folder; its data paths are the repository's, and
    the error says where to run it rather than that the config is missing."""
    import importlib.util
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("ablation", repo / "bench" / "ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    monkeypatch.chdir(tmp_path)
    assert ablation.main(["--folds", "2", "--variants", "untrained", "--text", "none",
                          "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "cannot read the config" not in err
    assert "training data not found" in err
    assert err.strip().endswith(f"run it from {repo})")


def test_the_ablation_summary_compares_each_variant_with_untrained_on_the_same_queries():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "ablation.py"
    spec = importlib.util.spec_from_file_location("ablation", path)
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)

    def rec(variant, fold, pa, sd):
        pq = {"prior_art_subclass/mAP": pa, "same_design/MRR@10": sd}
        means = {k: float(np.mean([v for _, v in rows])) for k, rows in pq.items()}
        d = {"n": {}, "prior_art_class/mAP": None, "same_design/mAP": None, **means,
             "per_query": pq}
        return {"variant": variant, "fold": fold, "deployed": d, "strict": d}

    base = [rec("untrained", 0, [["A", 0.2], ["B", 0.1]], [["A", 0.8], ["B", 0.6]]),
            rec("untrained", 1, [["C", 0.3]], [["C", 0.9], ["D", 0.5]])]
    full = [rec("full", 0, [["A", 0.4], ["B", 0.2]], [["A", 0.9], ["B", 0.7]]),
            rec("full", 1, [["C", 0.3]], [["C", 0.9], ["D", 0.7]])]
    summary = ablation.summarize({"untrained": base, "full": full})
    assert "deployed:vs_untrained" not in summary["untrained"]
    cmp = summary["full"]["deployed:vs_untrained"]
    point, lo, hi = cmp["prior_art_subclass/mAP ratio"]
    assert point == pytest.approx((0.3 + 0.3) / 2 / ((0.15 + 0.3) / 2))
    assert lo <= point <= hi
    assert cmp["same_design/MRR@10 difference"][0] == pytest.approx((0.1 + 0.1) / 2)
    assert "1.333" in ablation.table(summary, None)
    # a paper's ablation step: the same comparison between two trained variants
    clip = [rec("clip_only", 0, [["A", 0.1], ["B", 0.1]], [["A", 0.8], ["B", 0.6]]),
            rec("clip_only", 1, [["C", 0.3]], [["C", 0.9], ["D", 0.5]])]
    step = ablation.summarize({"clip_only": clip, "full": full})["ablations"][
        "the class losses L_cls + L_cat"]
    assert (step["from"], step["to"]) == ("clip_only", "full")
    assert step["prior_art_subclass/mAP ratio"][0] == pytest.approx(0.3 / 0.2)
    assert "the class losses L_cls + L_cat (clip_only -> full)" in ablation.table(
        ablation.summarize({"clip_only": clip, "full": full}), None)
    # one query patent a fold: resampling it gave an interval of no width, claimed as sure
    lone = {name: [rec(name, f, [[p, v]], [[p, v]]) for f, (p, v) in enumerate(scores)]
            for name, scores in (("untrained", [("A", 0.2), ("C", 0.3)]),
                                 ("full", [("A", 0.3), ("C", 0.3)]))}
    sure = ablation.summarize(lone)
    assert sure["full"]["deployed:vs_untrained"]["prior_art_subclass/mAP ratio"] == \
        pytest.approx((0.6 / 0.5, None, None))
    assert "full: prior_art_subclass/mAP ratio 1.200 (no interval: each fold scored one " \
        "query patent)" in ablation.table(sure, None)
    full[1]["deployed"]["per_query"]["same_design/MRR@10"] = [["D", 0.7], ["C", 0.9]]
    with pytest.raises(ValueError, match="other queries"):
        ablation.summarize({"untrained": base, "full": full})


def test_prior_art_is_cut_at_the_priority_date_an_application_claims(drawing_manifest,
                                                                        tmp_path, tiny_model):
    """Prior art must be granted before the effective filing date: a claimed priority date
    earlier than the filing date (the eval cut at the filing date and counted a patent granted
    in between as prior art)."""
    import json
    import shutil

    from core.evaluation import effective_filing_date, queries_from_library
    from core.ingest import ingest
    from core.library import Library

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    rows = [json.loads(x) for x in (src / "manifest.jsonl").read_text().splitlines()]
    pid = rows[0]["patent_id"]
    claimed = [{**r, "priority_date": "2008-10-01"} if r["patent_id"] == pid else r
               for r in rows]
    (src / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in claimed))
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl"], tiny_model, workers=0)
        cutoffs = {q.patent_id: q.filing_date for q in queries_from_library(lib)}
    assert cutoffs[pid] == date(2008, 10, 1)                    # filed 2009-03-01
    assert cutoffs[rows[-1]["patent_id"]] == date.fromisoformat(rows[-1]["filing_date"])
    assert effective_filing_date(date(2009, 3, 1), date(2010, 1, 1)) == date(2009, 3, 1)
    assert effective_filing_date(None, date(2010, 1, 1)) == date(2010, 1, 1)


def test_the_ablation_log_tells_runs_apart(tmp_path, drawing_manifest, monkeypatch):
    """runs.jsonl is appended to by every run: each record names its run (its start time)
    and fold count, so the folds of a 2-fold and a 3-fold run are not read as one."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "ablation.py"
    spec = importlib.util.spec_from_file_location("ablation", path)
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    config = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny_test.toml"
    starts = iter(["2026-01-01T00:00:00+00:00", "2026-01-01T00:05:00+00:00"])

    class Clock:
        @staticmethod
        def now(tz=None):
            from datetime import datetime

            return datetime.fromisoformat(next(starts))
    monkeypatch.setattr(ablation, "datetime", Clock)
    for folds in (2, 3):
        assert ablation.main(["--config", str(config), "--folds", str(folds), "--variants",
                              "untrained", "--text", "none", "--out", str(tmp_path / "runs"),
                              "--set", f"data.sources=['{drawing_manifest}']",
                              "--set", f"data.cache_dir='{tmp_path / 'cache'}'"]) == 0
    records = [json.loads(line) for line in
               (tmp_path / "runs" / "runs.jsonl").read_text().splitlines()]
    assert [(r["run"], r["folds"], r["fold"]) for r in records] == [
        ("2026-01-01T00:00:00+00:00", 2, 0), ("2026-01-01T00:00:00+00:00", 2, 1),
        ("2026-01-01T00:05:00+00:00", 3, 0), ("2026-01-01T00:05:00+00:00", 3, 1),
        ("2026-01-01T00:05:00+00:00", 3, 2)]
