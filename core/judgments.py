"""A model scored by examiners' relevance ratings (user studies): every rated search is run
again with the library's model and scored by nDCG@10 on the patents the examiners judged, next
to the ranking they saw when they rated.

Judgments are per patent: an examiner's grade of a patent in a search is their highest rating of
its figures (0-3), several examiners' grades are averaged, and a grade g gains 2^g - 1. Rankings
are condensed to the judged patents (in rank order) before scoring, the usual way to compare
systems on incomplete judgments (Sakai 2007): a model is neither rewarded nor penalised for
patents nobody judged. To compare models, rebuild a copy of the library with the other model
(`index rebuild --model`) and score it on the same ratings. The judged patents are those the
examiners were shown, so they favour the model that showed them (pool bias): a fair comparison
rates searches made with each model.
"""
from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .audit import AuditError, rerun
from .evaluation import bootstrap_ci
from .search import Searcher
from .store import Store

TOP_K = 10
#: Figures ranked when a rated search is run again (deeper than the examiners saw, so that the
#: patents they judged can be found by a model that ranks them lower).
RERUN_DEPTH = 500


def grades(store: Store, *, session: str | None = None, study: str | None = None,
           examiner: str | None = None) -> dict[int, dict[str, float]]:
    """Search id -> patent -> grade, from the current ratings (of one examiner, if given)."""
    best: dict[tuple[int, str, str], int] = {}
    for r in store.current_ratings(session=session, study=study, examiner=examiner):
        if r["search_id"] is None:
            continue
        key = (r["search_id"], r["patent_id"], r["examiner"] or "")
        best[key] = max(best.get(key, 0), r["rating"])
    per: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (sid, patent, _), g in best.items():
        per[sid][patent].append(g)
    return {sid: {p: sum(gs) / len(gs) for p, gs in pats.items()} for sid, pats in per.items()}


def ndcg(ranked_patents: Sequence[str], judged: dict[str, float], k: int = TOP_K
         ) -> float | None:
    """Condensed nDCG@k of a patent ranking; None when no judged patent has a grade above 0
    (there is nothing to find)."""
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    if idcg == 0:
        return None
    condensed = [p for p in ranked_patents if p in judged][:k]
    return sum((2 ** judged[p] - 1) / math.log2(i + 2) for i, p in enumerate(condensed)) / idcg


def patent_order(patents: Sequence[str]) -> list[str]:
    """Patents in the order of their best-ranked figure."""
    return list(dict.fromkeys(patents))


@dataclass
class JudgedSearch:
    search_id: int
    judged: int             # patents judged
    relevant: int           # patents graded 2 or more
    logged: float           # nDCG@k of the ranking the examiners saw
    now: float              # nDCG@k of the model's ranking now
    left_out: int = 0       # judged patents no longer prior art for it (corrected, removed)


def still_prior_art(store: Store, rec: dict, patents) -> set[str]:
    """Those of ``patents`` a logged search could find today: in the library, granted
    before its cutoff and in its Locarno class, by today's metadata (a corrected grant date
    or class may have taken a judged patent out of what it searches)."""
    from .locarno import matches
    from .store import date_ord

    cutoff = date_ord(rec["before"]) if rec.get("before") else None
    searched = store.patents_with_figures(patents)     # (not one whose pages were dropped)
    return {pid for pid, row in store.patents(patents).items()
            if pid in searched and (cutoff is None or date_ord(row.get("grant_date")) < cutoff)
            and matches(row.get("locarno"), rec.get("locarno"))}


@dataclass
class JudgedScores:
    model: str
    k: int
    searches: list[JudgedSearch] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)    # (search id, why)
    cancelled: bool = False
    rated_searches: int | None = None       # rated searches there were to score

    def means(self) -> tuple[float, float]:
        n = len(self.searches)
        return (sum(s.logged for s in self.searches) / n, sum(s.now for s in self.searches) / n)

    def difference(self, n: int = 2000) -> tuple[float, float, float]:
        """Mean nDCG now minus as seen, with a 95 % bootstrap interval over searches."""
        rows = [(str(s.search_id), s.logged, s.now) for s in self.searches]
        return bootstrap_ci([rows], ratio=False, n=n)

    def text(self, blind: bool = False) -> str:
        """The verdict in a sentence or two (``blind``: without naming the model, as a
        blind user study shows nothing that tells models apart)."""
        skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
        looked = len(self.searches) + len(self.skipped)
        stopped = "" if not self.cancelled else (
            f" (stopped early: {looked} of {self.rated_searches} rated searches looked at)"
            if self.rated_searches is not None else " (stopped early)")
        if not self.searches:
            return (f"No rated search scored{skipped}{stopped}." if self.cancelled else
                    f"No rated search to score{skipped}.")
        logged, now = self.means()
        diff, lo, hi = self.difference()
        model = "the library's model" if blind else f"model {self.model}"
        left_out = sum(s.left_out for s in self.searches)
        return (f"{len(self.searches)} rated search(es) scored with {model}"
                f"{skipped}{stopped}. nDCG@{self.k} on the judged patents: as the examiners "
                f"saw the ranking {logged:.3f}, the model now {now:.3f}; difference "
                f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}] (95 %, searches resampled)."
                + (f" {left_out} judged patent(s) left out of both: no longer prior art for "
                   "their search (grant date or class corrected since, or gone from the "
                   "library)." if left_out else ""))

    def to_json(self) -> dict:
        out = {"model": self.model, "k": self.k, "scored": len(self.searches),
               "cancelled": self.cancelled,
               "skipped": [{"search_id": i, "reason": r} for i, r in self.skipped],
               "per_search": [vars(s) for s in self.searches]}
        if self.searches:
            logged, now = self.means()
            diff, lo, hi = self.difference()
            out.update(ndcg_logged=logged, ndcg_now=now, difference=diff,
                       difference_95=[lo, hi])
        return out


class RatingsScoring:
    """``score_by_ratings`` one rated search at a time, for callers that interleave other
    work with it (the GUI runs an examiner's search between two steps)."""

    def __init__(self, searcher: Searcher, *, session: str | None = None,
                 study: str | None = None, examiner: str | None = None, k: int = TOP_K):
        self.searcher = searcher
        self.k = k
        self._todo = sorted(grades(searcher.library.store, session=session, study=study,
                                   examiner=examiner).items())
        self.total = len(self._todo)
        self.done = 0
        self.scores = JudgedScores(searcher.model.model_id, k, rated_searches=self.total)

    def step(self) -> bool:
        """Score the next rated search; False when none is left."""
        if self.done >= self.total:
            return False
        sid, marks = self._todo[self.done]
        self.done += 1
        out = self.scores
        store = self.searcher.library.store
        rec = store.search_record(sid)
        if rec is None:
            out.skipped.append((sid, "not in the log"))
            return True
        if not any(marks.values()):
            out.skipped.append((sid, "no patent rated above 0"))
            return True
        findable = still_prior_art(store, rec, marks)
        left_out = len(marks) - len(findable)
        marks = {p: g for p, g in marks.items() if p in findable}
        logged = ndcg(patent_order([r["patent_id"] for r in rec.get("results") or []]),
                      marks, self.k)
        if logged is None:
            out.skipped.append((sid, "the patents rated above 0 are no longer prior art for "
                                     "it (their grant date or class corrected since, or gone "
                                     "from the library)"))
            return True
        try:
            resp = rerun(self.searcher, rec, k=max(RERUN_DEPTH, int(rec.get("k") or 0)))
        except AuditError as exc:
            out.skipped.append((sid, str(exc)))
            return True
        now = ndcg(patent_order([h.patent_id for h in resp.results]), marks, self.k)
        out.searches.append(JudgedSearch(sid, len(marks), sum(g >= 2 for g in marks.values()),
                                         logged, now, left_out))
        return True


def score_by_ratings(searcher: Searcher, *, session: str | None = None,
                     study: str | None = None, examiner: str | None = None, k: int = TOP_K,
                     progress: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None) -> JudgedScores:
    """Every rated search of the library (of one session, study or examiner) scored by its
    ratings, as logged and as the library's model ranks it now; ``cancel`` stops between
    searches (``cancelled`` is then set and the searches scored so far are kept)."""
    run = RatingsScoring(searcher, session=session, study=study, examiner=examiner, k=k)
    while True:
        if progress is not None:
            progress(run.done, run.total)
        if cancel is not None and cancel.is_set() and run.done < run.total:
            run.scores.cancelled = True
            break
        if not run.step():
            break
    return run.scores
