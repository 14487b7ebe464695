"""The audit trail: a logged search as it was shown, and whether it still gives the same ranking.

Every search is logged with its query file's SHA-256, page, region, cutoff, filters, text,
fusion weights, model and ranked results (``Store.log_search``). ``logged_hits`` turns a log
record back into the results the examiner saw; ``rerun`` runs the search again on today's
library, and ``replay`` says what changed, so an audit can tell a reproducible search from one
whose library or model has moved on since.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .drawing import FigureBox
from .library import QUERIES_DIR, LibraryError
from .locarno import title as locarno_title
from .search import (SHOWN_FIELDS, QueryError, Searcher, SearchHit, SearchQuery,
                     SearchResponse, hydrate)
from .store import Store

#: Scores that differ by less than this are the same (float16 weights, CPU vs GPU kernels).
SCORE_TOLERANCE = 1e-3


class AuditError(LibraryError):
    """A logged search cannot be shown or replayed (unknown id, query file gone or changed)."""


def search_record(store: Store, search_id: int) -> dict:
    rec = store.search_record(search_id)
    if rec is None:
        raise AuditError(f"search #{search_id} is not in this library's log")
    return rec


def logged_hits(store: Store, rec: dict) -> list[SearchHit]:
    """The results of a logged search as they were ranked, scored and shown then: a grant
    date, Locarno class or title corrected since is shown as logged, today's value in
    ``hit.corrected`` (searches logged before results kept them show today's). A figure no
    longer in the library, or whose id now names a figure of another patent (a library
    rebuilt by a figure finder that cuts its pages differently), is left out rather than
    shown in its place; a scan filed under its patent since it was added as an image of a
    folder is shown under that patent (its title and date as corrections)."""
    logged = rec.get("results") or []
    hits = hydrate(store, [(r["figure_id"], r["score"]) for r in logged])
    then = {r["figure_id"]: r for r in logged}     # (refiled scans: under their patents)
    kept = []
    for h in hits:
        r = then[h.figure_id]
        if r.get("patent_id") not in (None, h.patent_id):
            continue
        h.rank = r.get("rank", h.rank)
        h.query_figure = r.get("query_figure")
        for f in SHOWN_FIELDS:
            if f in r and r[f] != getattr(h, f):
                h.corrected[f] = getattr(h, f)
                setattr(h, f, r[f])
        if "locarno" in h.corrected:
            h.locarno_title = locarno_title(h.locarno)
        kept.append(h)
    return kept


def query_of(rec: dict, store: Store | None = None) -> SearchQuery:
    """The ``SearchQuery`` that produced a log record; its query file must still be there, or
    (with ``store``) be a library page that has moved since (``rerun`` checks that it still
    has the same bytes)."""
    path = rec.get("query_path")
    if path is None and not rec.get("text"):
        raise AuditError(f"search #{rec['id']} was made with a pasted image that was not "
                         "saved: it cannot be run again")
    if path is not None and not Path(path).is_file():
        moved = moved_library_page(store, rec) if store is not None else None
        if moved is None:
            raise AuditError(f"search #{rec['id']}: the query file {path} is gone")
        path = moved
    box = rec.get("query_box")
    return SearchQuery(image=path, page_index=rec.get("query_page"),
                       box=FigureBox(*box) if box else None,
                       region=(rec.get("params") or {}).get("region"), text=rec.get("text"),
                       before=date.fromisoformat(rec["before"][:10]) if rec.get("before") else None,
                       locarno=rec.get("locarno"), k=int(rec.get("k") or 50),
                       per_patent=bool((rec.get("params") or {}).get("per_patent")))


def searched_region(rec: dict) -> str:
    """Which part of the query page a logged search used: "" for every figure, else what the
    log says it was ("figure 2", "crop"), or "part" for searches logged before it said."""
    if not rec.get("query_box"):
        return ""
    return (rec.get("params") or {}).get("region") or "part"


def moved_library_page(store: Store, rec: dict) -> str | None:
    """Where a logged query file now lies when it was one of the library's pages, or a query
    kept in its ``queries`` folder (pasted images, the demo's queries), and the library has
    moved: a file of the same name and the logged SHA-256 (or, for a name that is not UTF-8,
    logged readably, the file in its folder that reads so)."""
    from ._page_twins import file_sha256

    name, sha = Path(rec["query_path"]).name, rec.get("query_sha256")
    if not sha:
        return None
    if "\ufffd" in rec["query_path"]:      # a name that is not UTF-8, logged as readable
        from ._names import readable

        folder = Path(rec["query_path"]).parent
        for entry in (sorted(folder.iterdir()) if folder.is_dir() else []):
            if readable(entry) == rec["query_path"] and entry.is_file() and \
                    file_sha256(entry) == sha:
                return str(entry)
    kept = store.path.parent / QUERIES_DIR / name
    if kept.is_file() and (file_sha256(kept) == sha or _page_sha_matches(kept, rec, sha)):
        return str(kept)
    for (path,) in store.conn.execute("SELECT DISTINCT path FROM pages WHERE path LIKE ?",
                                      ("%" + name,)):
        if Path(path).name == name and Path(path).is_file() and (
                file_sha256(path) == sha or _page_sha_matches(Path(path), rec, sha)):
            return path
    return None


def _page_sha_matches(path: Path, rec: dict, sha: str) -> bool:
    """A query handed over as a decoded page is logged with the hash of its pixels."""
    from .imageio import read_page

    try:
        page = read_page(str(path), rec.get("query_page") or 0)
    except Exception:       # unreadable now: reported as changed
        return False
    return hashlib.sha256(page.array.tobytes()).hexdigest() == sha


@dataclass
class Replay:
    """A logged search run again: what matches the log and what does not."""

    search_id: int
    logged_model: str | None
    model: str
    compared: int                       # ranks compared (the shorter of the two rankings)
    same_order: bool                    # the same figures at the same ranks
    max_score_diff: float               # over figures in both rankings
    in_both: int | None = None          # figures in both rankings (None: not counted)
    first_difference: int | None = None  # the first rank whose figure differs
    new: list[SearchHit] = field(default_factory=list)      # now ranked, not in the log
    gone: list[int] = field(default_factory=list)           # logged figure ids not ranked now
    response: SearchResponse | None = None
    # why, as far as the library knows: it grew, or was corrected, since the search
    new_added_since: int = 0            # new results whose patent was added after the search
    new_corrected: int = 0              # new results whose patent was corrected since
    gone_corrected: int = 0             # gone results whose patent was corrected since
    gone_removed: int = 0               # gone results no longer in the library
    new_refiled: int = 0                # new results of patents folder images were filed under
    gone_refiled: int = 0               # gone results: folder images filed under a patent since
    score_corrected: int = 0            # results in both scored otherwise, patent corrected since
    allowed_then: int | None = None     # figures the cutoff and filters let through then
    allowed_now: int | None = None

    @property
    def reproduced(self) -> bool:
        return (self.same_order and not self.new and not self.gone
                and self.max_score_diff <= SCORE_TOLERANCE)

    def text(self, blind: bool = False) -> str:
        """What matches and what does not, in a sentence or two; ``blind`` (a user study's
        blind mode) names no model and no score."""
        if self.reproduced:
            same = ("the same scores" if self.max_score_diff == 0 or blind else
                    f"scores within {self.max_score_diff:.1g}")
            if not self.compared:
                return (f"Search #{self.search_id} reproduces: it found nothing then and "
                        "finds nothing now.")
            return (f"Search #{self.search_id} reproduces: today's library gives the same "
                    f"{self.compared} results in the same order, with {same}.")
        parts = [f"Search #{self.search_id} does not reproduce:"]
        if self.logged_model and self.logged_model != self.model:
            parts.append("it was made with another model than the library's now;" if blind
                         else f"it was made with model {self.logged_model}, the library now "
                              f"has {self.model};")
        if self.first_difference is not None:
            parts.append(f"the ranking differs from rank {self.first_difference} on;")
        if self.allowed_then is not None and self.allowed_now is not None \
                and self.allowed_then != self.allowed_now:
            parts.append(f"{self.allowed_then} figures were searched then, {self.allowed_now} "
                         "now;")
        filed = "of patents that folder images were filed under since"
        if self.new:
            why = [f"{self.new_refiled} {filed}"] if self.new_refiled else []
            why += [f"{self.new_added_since} of patents added to the library since the "
                    "search"] if self.new_added_since else []
            why += [f"{self.new_corrected} of patents whose grant date, class or title was "
                    "corrected since"] if self.new_corrected else []
            parts.append(f"{len(self.new)} result(s) not in the log"
                         + (f" ({'; '.join(why)});" if why else ";"))
        if self.gone:
            why = [f"{self.gone_refiled} folder images filed under a patent since"
                   ] if self.gone_refiled else []
            why += [f"{self.gone_corrected} of patents whose grant date, class or title was "
                    "corrected since"] if self.gone_corrected else []
            why += [f"{self.gone_removed} no longer in the library"] if self.gone_removed else []
            parts.append(f"{len(self.gone)} logged result(s) no longer ranked"
                         + (f" ({'; '.join(why)});" if why else ";"))
        if self.in_both == 0:
            parts.append("no result is in both.")
        elif blind:
            parts.append("the scores of the results in both " + (
                "differ." if self.max_score_diff > SCORE_TOLERANCE else "agree."))
        elif self.max_score_diff:
            why = (f" ({self.score_corrected} of them of patents whose grant date, class or "
                   "title was corrected since: a text query reads the title)"
                   if self.score_corrected else "")
            parts.append(f"the scores of the results in both differ by up to "
                         f"{self.max_score_diff:.2g}{why}.")
        else:
            parts.append("the results in both have the same scores.")
        return " ".join(parts)

    def to_json(self) -> dict:
        return {"search_id": self.search_id, "reproduced": self.reproduced,
                "logged_model": self.logged_model, "model": self.model,
                "compared": self.compared, "same_order": self.same_order,
                "first_difference": self.first_difference,
                "max_score_diff": round(self.max_score_diff, 6),
                "new": [h.figure_id for h in self.new], "gone": self.gone,
                "new_added_since": self.new_added_since, "new_corrected": self.new_corrected,
                "gone_corrected": self.gone_corrected,
                "gone_removed": self.gone_removed, "new_refiled": self.new_refiled,
                "gone_refiled": self.gone_refiled, "score_corrected": self.score_corrected,
                "allowed_then": self.allowed_then,
                "allowed_now": self.allowed_now}


def rerun(searcher: Searcher, rec: dict, k: int | None = None) -> SearchResponse:
    """A logged search run again with its logged settings (its query, region, cutoff,
    filters, text and fusion weights; ``k`` results instead of the logged number if given);
    not logged itself."""
    query = query_of(rec, searcher.library.store)
    if k is not None:
        query.k = k
    fusion = (rec.get("params") or {}).get("fusion")
    saved = searcher.fusion
    if fusion:
        searcher.fusion = {**saved, **fusion}
    try:
        resp = searcher.search(query, log=False)
    except QueryError as exc:
        raise AuditError(f"search #{rec['id']} cannot be run again: {exc}") from None
    finally:
        searcher.fusion = saved
    sha = rec.get("query_sha256")
    if query.image is not None and sha and resp.query_sha256 != sha \
            and not _page_sha_matches(Path(query.image), rec, sha):
        raise AuditError(f"search #{rec['id']}: the query file {query.image} has changed "
                         "since the search (its SHA-256 differs from the logged one)")
    return resp


def replay(searcher: Searcher, search_id: int) -> Replay:
    """Run a logged search again and compare its ranking with the logged one."""
    rec = search_record(searcher.library.store, search_id)
    resp = rerun(searcher, rec)
    logged = rec.get("results") or []
    logged_ids = [r["figure_id"] for r in logged]
    now_ids = [h.figure_id for h in resp.results]
    n = min(len(logged_ids), len(now_ids))
    first = next((i + 1 for i in range(n) if logged_ids[i] != now_ids[i]), None)
    if first is None and len(logged_ids) != len(now_ids):
        first = n + 1
    score_then = {r["figure_id"]: r["score"] for r in logged}
    diffs = [abs(h.score - score_then[h.figure_id]) for h in resp.results
             if h.figure_id in score_then]
    now_set, then_set = set(now_ids), set(logged_ids)
    new = [h for h in resp.results if h.figure_id not in then_set]
    gone = [f for f in logged_ids if f not in now_set]
    store = searcher.library.store
    added = {pid for (pid,) in store.conn.execute(
        "SELECT patent_id FROM patents WHERE added_at > ?", (rec["at"],))}     # (to the second)
    # folder images filed under their patents since: their stand-ins left the ranking, the
    # patents came into it (not added or corrected as such)
    refiled = dict(store.conn.execute("SELECT figure_id, new_patent FROM refiled WHERE at >= ?",
                                      (rec["at"],)))
    filed_under = set(refiled.values())
    new_refiled = [h for h in new if h.patent_id in filed_under]
    gone_ids = {f for f in gone if f not in refiled}
    still = [h for h in logged_hits(store, rec) if h.figure_id in gone_ids]
    corrected = store.corrected_since({h.patent_id for h in new} - added - filed_under,
                                      rec["at"])
    rescored = [h.patent_id for h in resp.results if h.figure_id in score_then
                and abs(h.score - score_then[h.figure_id]) > SCORE_TOLERANCE]
    rescored_corrected = store.corrected_since(rescored, rec["at"]) if rescored else set()
    return Replay(search_id=search_id, logged_model=rec.get("model_id"),
                  model=searcher.model.model_id, compared=n, same_order=first is None,
                  max_score_diff=max(diffs, default=0.0), in_both=len(diffs),
                  first_difference=first, new=new, gone=gone, response=resp,
                  new_added_since=sum(h.patent_id in added - filed_under for h in new),
                  new_corrected=sum(h.patent_id in corrected for h in new),
                  new_refiled=len(new_refiled), gone_refiled=len(gone) - len(gone_ids),
                  gone_corrected=sum(bool(h.corrected) for h in still),
                  gone_removed=len(gone_ids) - len(still),
                  score_corrected=sum(p in rescored_corrected for p in rescored),
                  allowed_then=(rec.get("params") or {}).get("allowed"),
                  allowed_now=resp.allowed)
