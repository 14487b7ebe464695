"""Retrieval evaluation: same-design and prior-art (novelty) search, at figure and patent level.

same_design: relevant = other figures of the query's own patent (no date cutoff).
prior_art:   gallery = patents granted before the query's filing date; relevant = same Locarno
             subclass (``prior_art_subclass``) or same main class (``prior_art_class``).
A patent ranks by its best figure. Metrics: mAP, Recall@10, MRR@10, Hit@1. Figures on the query
page itself are never part of the gallery. Queries with no relevant item are not scored (counted).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable, Iterable, Sequence

import numpy as np

from .locarno import normalize_locarno
from .store import date_ord
from .text_index import describing_title

TASKS = ("same_design", "prior_art_subclass", "prior_art_class")
METRICS = ("mAP", "R@10", "MRR@10", "Hit@1")


# -- metric primitives (checked against ranx in the tests) -----------------------------------
def average_precision(rels: Sequence[bool], n_relevant: int) -> float:
    if n_relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for i, r in enumerate(rels, 1):
        if r:
            hits += 1
            total += hits / i
    return total / n_relevant


def recall_at(rels: Sequence[bool], n_relevant: int, k: int) -> float:
    return sum(rels[:k]) / n_relevant if n_relevant else 0.0


def mrr_at(rels: Sequence[bool], k: int) -> float:
    for i, r in enumerate(rels[:k], 1):
        if r:
            return 1.0 / i
    return 0.0


def hit_at(rels: Sequence[bool], k: int) -> float:
    return 1.0 if any(rels[:k]) else 0.0


def score_ranking(rels: Sequence[bool], n_relevant: int) -> dict[str, float]:
    return {"mAP": average_precision(rels, n_relevant), "R@10": recall_at(rels, n_relevant, 10),
            "MRR@10": mrr_at(rels, 10), "Hit@1": hit_at(rels, 1)}


# -- queries and gallery -------------------------------------------------------------------
def effective_filing_date(filing: date | None, priority: date | None) -> date | None:
    """The date prior art must be granted before: the priority date an application claims
    where it is earlier (a foreign filing within the priority period), else its filing date."""
    if filing is None or priority is None:
        return filing or priority
    return min(filing, priority)


@dataclass
class EvalQuery:
    patent_id: str
    filing_date: date | None              # effective: ``effective_filing_date``
    locarno: str | None
    page_id: int | None = None            # a library page (its stored vectors are reused)
    pages: tuple[int, ...] = ()           # or all these pages: the whole application
    image: str | None = None              # or an image file outside the library
    text: str | None = None


@dataclass
class Gallery:
    """All figure vectors of a library with their patent metadata (exact ranking)."""

    labels: np.ndarray
    vectors: np.ndarray
    patent: np.ndarray          # patent id per figure
    grant: np.ndarray           # grant ordinal per figure
    subclass: np.ndarray
    main_class: np.ndarray
    page: np.ndarray            # page id per figure

    @classmethod
    def from_library(cls, library) -> "Gallery":
        index = library.index(verify="none")
        labels = np.concatenate([s.labels for s in index.segments])
        vectors = np.concatenate([np.asarray(s.vectors) for s in index.segments])
        order = np.argsort(labels)
        labels, vectors = labels[order], vectors[order]
        meta = {r[0]: r[1:] for r in library.store.conn.execute(
            "SELECT f.id, f.patent_id, f.grant_ord, t.locarno, f.page_id FROM figures f "
            "JOIN patents t ON t.patent_id = f.patent_id")}
        rows = [meta[int(lab)] for lab in labels]
        canonical = {c: normalize_locarno(c) or "" for c in {r[2] for r in rows}}
        loc = [canonical[r[2]] for r in rows]   # (a "31" stored before it was 31-00)
        return cls(labels, vectors, np.array([r[0] for r in rows], dtype=object),
                   np.array([r[1] for r in rows], np.int64), np.array(loc, dtype=object),
                   np.array([code[:2] for code in loc], dtype=object),
                   np.array([r[3] for r in rows], np.int64))


def queries_from_library(library, page_kinds: Iterable[str] | None = ("drawing_sheet",),
                         patents: Iterable[str] | None = None) -> list[EvalQuery]:
    """One query per library page (of the given kinds), with its patent's metadata;
    ``patents``: only these (one id may be given as a string; any way of writing it)."""
    from .sources import normalize_patent_id

    if isinstance(patents, str):
        patents = [patents]
    wanted = ({normalize_patent_id(p) or p for p in patents} if patents is not None
              else None)
    kinds = set(page_kinds) if page_kinds else None
    out = []
    for pid, page_id, kind, filing, priority, loc, *named in library.store.conn.execute(
            "SELECT p.patent_id, p.id, p.page_kind, t.filing_date, t.priority_date, "
            "t.locarno, t.title, t.title_display, t.extra FROM pages p JOIN patents t ON "
            "t.patent_id = p.patent_id WHERE p.n_figures > 0 ORDER BY p.patent_id, p.id"):
        if wanted is not None and pid not in wanted:
            continue
        if kinds is not None and kind not in kinds:
            continue
        cutoff = effective_filing_date(*(date.fromisoformat(d) if d else None
                                         for d in (filing, priority)))
        title = describing_title(dict(zip(("title", "title_display", "extra"), named)))
        out.append(EvalQuery(pid, cutoff, normalize_locarno(loc), page_id=page_id,
                             text=title))
    return out


@dataclass
class EvalResult:
    metrics: dict = field(default_factory=dict)    # task -> level -> metric -> mean
    counts: dict = field(default_factory=dict)     # task -> scored queries
    skipped: dict = field(default_factory=dict)    # task -> queries without relevant items
    n_queries: int = 0
    no_date_or_class: int = 0                      # queries prior art cannot be judged for
    no_subclass: int = 0                           # of those judged, with a class alone
    per_query: dict = field(default_factory=dict)  # task -> [(query patent, patent-level scores)]
    details: dict = field(default_factory=dict)    # task -> [QueryOutcome], per_query's order

    def table(self) -> str:
        lines = [f"{'task':<20} {'level':<7} {'n':>5} " + " ".join(f"{m:>7}" for m in METRICS)]
        for task in TASKS:
            if not self.metrics.get(task):      # said, rather than a row gone missing
                n = self.skipped.get(task, 0)
                why = [f"{n} had nothing relevant to find"] if n else []
                if task == "prior_art_subclass" and self.no_subclass:
                    why.append(f"{self.no_subclass} of a class with no subclass given")
                lines.append(f"{task:<20} {'-':<7} {0:>5}  no query scored"
                             + (f" ({'; '.join(why)})" if why else ""))
                continue
            for level in ("figure", "patent"):
                m = self.metrics.get(task, {}).get(level)
                if m is None:
                    continue
                lines.append(f"{task:<20} {level:<7} {self.counts[task]:>5} " +
                             " ".join(f"{m[k]:7.3f}" for k in METRICS))
        return "\n".join(lines)


@dataclass
class QueryOutcome:
    """One scored query of one task, at patent level: what to look at when a mean is low."""

    query: EvalQuery
    relevant: int               # relevant patents in its gallery
    first_relevant: int         # rank of the best-ranked of them (1 = top)
    top_patent: str             # the patent ranked first
    scores: dict                # METRICS -> value


# the headline metric of each task, reported with an interval
HEADLINE = {"same_design": "MRR@10", "prior_art_subclass": "mAP", "prior_art_class": "mAP"}


def intervals(result: EvalResult, n: int = 2000) -> dict:
    """Task -> (mean, low, high): the patent-level headline metric with a 95 % interval, query
    patents resampled (a patent's pages are not independent queries): the difference to a
    baseline of zeros, as one fold."""
    return {task: bootstrap_ci([[(p, 0.0, s[m]) for p, s in result.per_query[task]]],
                               ratio=False, n=n)
            for task, m in HEADLINE.items() if _resamplable(result.per_query.get(task))}


def _resamplable(rows) -> bool:
    """Whether scores of a task come from two query patents or more: resampling one patent
    gives the same mean every time, an interval of no width that claims a certainty."""
    return len({p for p, _ in rows or ()}) >= 2


def compare(base: EvalResult, other: EvalResult, n: int = 2000) -> dict:
    """Task -> (estimate, low, high) of ``other`` against ``base`` on the same queries: the
    ratio of prior-art mAP, the difference of same-design MRR@10 (95 % intervals)."""
    out = {}
    for task, m in HEADLINE.items():
        a, b = base.per_query.get(task), other.per_query.get(task)
        if not _resamplable(a) or not b:
            continue
        if [p for p, _ in a] != [p for p, _ in b]:
            raise ValueError("compare: the two results scored other queries")
        est = bootstrap_ci([[(p, x[m], y[m]) for (p, x), (_, y) in zip(a, b)]],
                           ratio=task != "same_design", n=n)
        if not np.isnan(est[0]):            # no ratio to a baseline that found nothing
            out[task] = est
    return out


def _patent_ranking(order: np.ndarray, patents: np.ndarray) -> list[str]:
    seen, out = set(), []
    for pid in patents[order]:
        if pid not in seen:
            seen.add(pid)
            out.append(pid)
    return out


def evaluate(gallery: Gallery, queries: list[EvalQuery],
             query_vectors: Callable[[EvalQuery], np.ndarray],
             scores_fn: Callable[[EvalQuery, np.ndarray], np.ndarray] | None = None
             ) -> EvalResult:
    """Score every query on the three tasks.

    ``query_vectors(q)`` gives the query's figure vectors; a gallery figure scores by its best
    match with any of them, unless ``scores_fn(q, sims)`` rewrites the scores (text fusion).
    """
    sums: dict = {t: {"figure": [], "patent": [], "query": [], "detail": []} for t in TASKS}
    skipped = {t: 0 for t in TASKS}
    no_date_or_class = no_subclass = 0
    for q in queries:
        qv = query_vectors(q)
        sims = (qv @ gallery.vectors.T).max(axis=0)
        if scores_fn is not None:
            sims = scores_fn(q, sims)
        # a whole application's own figures are the query, never results (same-design has
        # nothing left to find and is skipped)
        not_self = (gallery.patent != q.patent_id if q.pages else
                    gallery.page != (q.page_id if q.page_id is not None else -1))
        cutoff = date_ord(q.filing_date) if q.filing_date else None
        sub = q.locarno or ""
        tasks = {
            "same_design": (not_self, gallery.patent == q.patent_id),
        }
        if cutoff is None or not sub:
            no_date_or_class += 1
        else:
            before = not_self & (gallery.grant < cutoff)
            if len(sub) == 5:
                tasks["prior_art_subclass"] = (before, gallery.subclass == sub)
            else:
                no_subclass += 1
            tasks["prior_art_class"] = (before, gallery.main_class == sub[:2])
        for task in TASKS:
            spec = tasks.get(task)
            if spec is None:            # (counted above: what it lacks to be judged)
                continue
            mask, relevant = spec
            idx = np.nonzero(mask)[0]
            if not relevant[idx].any():
                skipped[task] += 1
                continue
            order = idx[np.argsort(-sims[idx], kind="stable")]
            rels = relevant[order].tolist()
            sums[task]["figure"].append(score_ranking(rels, int(relevant[idx].sum())))
            ranked_patents = _patent_ranking(order, gallery.patent)
            rel_patents = set(gallery.patent[idx][relevant[idx]])
            prels = [p in rel_patents for p in ranked_patents]
            scores = score_ranking(prels, len(rel_patents))
            sums[task]["patent"].append(scores)
            sums[task]["query"].append(q.patent_id)
            sums[task]["detail"].append(QueryOutcome(q, len(rel_patents), prels.index(True) + 1,
                                                     ranked_patents[0], scores))
    result = EvalResult(n_queries=len(queries), skipped=skipped,
                        no_date_or_class=no_date_or_class, no_subclass=no_subclass)
    for task in TASKS:
        result.counts[task] = len(sums[task]["figure"])
        result.per_query[task] = list(zip(sums[task]["query"], sums[task]["patent"]))
        result.details[task] = sums[task]["detail"]
        if result.counts[task]:
            result.metrics[task] = {
                level: {m: float(np.mean([s[m] for s in sums[task][level]])) for m in METRICS}
                for level in ("figure", "patent")}
    return result


def bootstrap_ci(folds: Sequence[Sequence[tuple[str, float, float]]], *, ratio: bool = True,
                 n: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Point estimate and confidence interval of mean(b) / mean(a) (or, ``ratio=False``,
    mean(b) - mean(a)) for paired per-query scores ``(query patent, a, b)`` grouped by fold.

    The estimate is the cross-validation one: per-fold means, averaged over folds. The interval
    is a percentile bootstrap that resamples query *patents* within each fold (a patent's
    sheets are not independent queries) and keeps the pairing of a and b.
    """
    rng = np.random.default_rng(seed)
    prepared = []
    for rows in folds:
        patents = sorted({p for p, _, _ in rows})
        pos = {p: i for i, p in enumerate(patents)}
        idx = np.array([pos[p] for p, _, _ in rows])
        sums = np.zeros((len(patents), 2))
        np.add.at(sums, idx, np.array([(a, b) for _, a, b in rows], dtype=float))
        prepared.append((sums, np.bincount(idx, minlength=len(patents))))

    def stat(weights: list[np.ndarray]) -> float:
        means = np.array([w @ sums / (w @ counts) for (sums, counts), w in zip(prepared, weights)])
        a, b = means.mean(axis=0)
        return (b / a if a else float("nan")) if ratio else b - a

    point = stat([np.ones(len(c)) for _, c in prepared])
    draws = [stat([np.bincount(rng.integers(0, len(c), len(c)), minlength=len(c))
                   for _, c in prepared]) for _ in range(n)]
    lo, hi = np.nanpercentile(draws, [50 * (1 - level), 50 * (1 + level)])
    return float(point), float(lo), float(hi)


def per_application(queries: list[EvalQuery]) -> list[EvalQuery]:
    """One query per patent holding all its query pages: the examiner searching with every
    drawing of an application (``search --page all``) rather than one sheet."""
    by_patent: dict[str, list[EvalQuery]] = {}
    for q in queries:
        by_patent.setdefault(q.patent_id, []).append(q)
    return [replace(qs[0], page_id=None, pages=tuple(q.page_id for q in qs))
            for qs in by_patent.values()]


def library_query_vectors(library, gallery: Gallery):
    """A ``query_vectors`` function reading stored vectors of library pages."""
    def fn(q: EvalQuery) -> np.ndarray:
        sel = np.isin(gallery.page, q.pages) if q.pages else gallery.page == q.page_id
        if not sel.any():
            raise ValueError(f"page {q.page_id or q.pages} has no figures in the index")
        return gallery.vectors[sel]
    return fn


MODES = ("image", "text", "fused")


def fusion_scores_fn(gallery: Gallery, text_index, encode_text, mode: str, weights: dict):
    """A ``scores_fn`` for ``evaluate``: image only, text only (query text against the gallery
    patents' texts, plus text-to-image if weighted), or the fused score used by the search."""
    if mode == "image":
        return None
    sim_rows = {pid: i for i, pid in enumerate(text_index.patent_ids.tolist())}
    row_of_fig = np.array([sim_rows.get(p, -1) for p in gallery.patent], np.int64)
    cache: dict[str, np.ndarray] = {}

    def fn(q: EvalQuery, sims: np.ndarray) -> np.ndarray:
        if not q.text:
            text_part = np.zeros_like(sims)
            cross = np.zeros_like(sims)
        else:
            if q.text not in cache:
                cache[q.text] = encode_text(q.text)
            tv = cache[q.text]
            per_patent = np.append(text_index.vectors @ tv, 0.0)
            text_part = per_patent[row_of_fig].astype(np.float32)
            cross = gallery.vectors @ tv if weights["cross"] else np.zeros_like(sims)
        fused = weights["text"] * text_part + weights["cross"] * cross
        if mode == "text":
            return fused
        return weights["image"] * sims + fused
    return fn
