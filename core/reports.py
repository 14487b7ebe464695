"""Search reports (CSV, HTML), the ratings export and the per-session summary of a user study.

A search report records what an examiner searched and saw: the query, the filing-date cutoff,
the filters, the model and the ranked results with their metadata (and, in HTML, thumbnails).
The HTML uses only tables and inline styles, so the same text also renders in simple HTML
engines (a GUI turns it into PDF that way).

Relevance scale: 0 not relevant, 1 marginal, 2 relevant, 3 highly relevant. A result is
*relevant* when rated 2 or more; precision at 10 is the share of the ten best-ranked results
rated relevant, unrated results counting as not relevant.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ._wording import counted
from .atomic import replacing
from .search import SearchHit, SearchResponse, page_numbers
from .sources import display_patent_id
from .store import Store

RATING_SCALE = {0: "Not relevant", 1: "Marginal", 2: "Relevant", 3: "Highly relevant"}
RELEVANT_MIN = 2
TOP_K = 10
RELEVANCE_RULE = (f"relevant = rated {RELEVANT_MIN} or more; P@{TOP_K} = relevant patents among "
                  f"the top {TOP_K} patents of the search / {TOP_K} (a patent is relevant when one "
                  "of its drawings is rated so; unrated count as not relevant)")


def top_patents(ranked: list[tuple[int, str]], k: int = TOP_K) -> list[str]:
    """The first ``k`` patents of a search's (rank, patent) list, each at its best figure's
    place: what P@k counts, the same whether the results were shown by figure or by
    patent."""
    return list(dict.fromkeys(p for _, p in sorted(ranked)))[:k]


@dataclass
class ReportMeta:
    """What was asked: enough to redo the search and to judge its results."""

    query: str | None
    query_sha256: str | None
    before: str | None
    locarno: str | None
    text: str | None
    model_id: str | None
    search_id: int | None = None
    at: str | None = None
    examiner: str | None = None
    study: str | None = None
    session: str | None = None
    allowed: int | None = None
    query_box: list[int] | None = None
    query_region: str | None = None     # what the box is: "figure 2", "crop"
    query_page: str | None = None       # "3", or "all" for every page of the file
    text_pages: list[int] = field(default_factory=list)  # all pages: text pages left out (0-based)
    query_note: str | None = None       # why the query drawing is not pictured
    per_patent: bool = False            # one result per patent (its best figure)
    rated_by: str | None = None         # whose ratings it shows, when not the searcher's
    shown_blind: bool = False           # the examiner saw it blind (no scores, ties shuffled)
    shown_grouped: int | None = None    # the window grouped the figures into this many patents
    text_words_read: int | None = None  # a text too long for the model: the words it read
    fusion: dict | None = None          # with a text: the weights of the fused score
    logged_results: int | None = None   # reopened from the log: how many results it holds

    @classmethod
    def from_response(cls, resp: SearchResponse, **extra) -> "ReportMeta":
        pages = sorted(set(resp.query_pages)) if resp.query else []
        page = None if not pages else "all" if len(pages) > 1 else str(pages[0] + 1)
        return cls(query=resp.query, query_sha256=resp.query_sha256, before=resp.before,
                   locarno=resp.locarno, text=resp.text, model_id=resp.model_id,
                   search_id=resp.search_id, allowed=resp.allowed, query_page=page,
                   text_pages=list(resp.text_pages), query_region=resp.query_region,
                   text_words_read=resp.text_words_read, fusion=resp.fusion, at=resp.at,
                   shown_blind=resp.shown_blind, **extra)

    @classmethod
    def from_record(cls, rec: dict) -> "ReportMeta":
        """From a ``Store.search_record`` row (the audit log)."""
        return cls(query=rec.get("query_path"), query_sha256=rec.get("query_sha256"),
                   before=rec.get("before"), locarno=rec.get("locarno"), text=rec.get("text"),
                   model_id=rec.get("model_id"), search_id=rec.get("id"), at=rec.get("at"),
                   examiner=rec.get("examiner"), study=rec.get("study"),
                   session=rec.get("session"), query_box=rec.get("query_box"),
                   query_region=(rec.get("params") or {}).get("region"),
                   allowed=(rec.get("params") or {}).get("allowed"),
                   query_page=None if not rec.get("query_path") else
                   "all" if rec.get("query_page") is None else str(rec["query_page"] + 1),
                   text_pages=(rec.get("params") or {}).get("text_pages", []),
                   text_words_read=(rec.get("params") or {}).get("text_words_read"),
                   fusion=(rec.get("params") or {}).get("fusion") if rec.get("text") else None,
                   per_patent=bool((rec.get("params") or {}).get("per_patent")),
                   shown_blind=bool((rec.get("params") or {}).get("blind")),
                   logged_results=len(rec.get("results") or []))

    def gone(self, listed: int) -> int:
        """How many of the logged results are not among the ``listed`` ones (no longer in
        the library: ``core.audit.logged_hits`` leaves them out)."""
        return max(0, (self.logged_results or 0) - listed)

    def results_heading(self, listed: int) -> str:
        """"12 results", and how many more the log holds that are gone from the library."""
        gone = self.gone(listed)
        return counted(listed, "result") + (
            f" ({gone} more logged, no longer in the library: not listed)" if gone else "")

    def lines(self, blind: bool = False) -> list[tuple[str, str]]:
        from .locarno import title

        if self.query is None and self.text and not self.query_sha256:
            rows = [("Query", "no drawing: the text alone")]
        else:
            rows = [("Query", self.query or "(pasted image)"),
                    ("Query SHA-256", self.query_sha256 or "-")]
        if self.query_note:
            rows.append(("Query drawing", self.query_note))
        if self.query_page:
            rows.append(("Query page", "every page of the file" if self.query_page == "all"
                         else self.query_page))
        if self.text_pages:
            rows.append(("Pages left out", f"{page_numbers(self.text_pages)} (printed text)"))
        if self.query is not None or self.query_sha256:
            rows.append(("Query region", _region_text(self, "x0 y0 x1 y1 = ")))
        rows += [("Prior art granted before", self.before or "no date cutoff"),
                 ("Locarno filter", f"{self.locarno} {title(self.locarno) or ''}".strip()
                  if self.locarno else "none"),
                 ("Text", self.text or "none")]
        if self.text_words_read:
            rows.append(("Text read", f"its first {self.text_words_read} words (the model "
                                      "reads no more)"))
        if weights := self.score_weights(blind):
            rows.append(("Score weights", weights))
        if not blind:
            rows.append(("Model", self.model_id or "-"))
        if self.allowed is not None:
            rows.append(("Figures searched", str(self.allowed)))
        if self.per_patent:
            rows.append(("Per patent", "one result (its best figure)"))
        if self.shown_blind:
            rows.append(("Shown", "blind (no scores; results of equal score in random order)"))
        if self.shown_grouped:
            rows.append(("Grouping", f"the window showed them grouped by patent "
                                     f"({counted(self.shown_grouped, 'patent')}); listed here "
                                     "figure by figure, as ranked"))
        if self.search_id is not None:
            rows.append(("Search id", str(self.search_id)))
        if self.at:
            rows.append(("Searched at", self.at))
        rows += [(key, value) for key, value in (("Examiner", self.examiner),
                                                 ("Study", self.study),
                                                 ("Session", self.session),
                                                 ("Ratings by", self.rated_by)) if value]
        return rows

    def score_weights(self, blind: bool = False) -> str:
        """How a text-and-drawing search weighed them ("" for others, and when blind)."""
        return _fusion_text(self) if self.text and self.fusion and not blind else ""

    def with_ratings_of(self, examiner: str | None, rated: bool) -> "ReportMeta":
        """This report showing ``examiner``'s ratings (``rated``: it has some): named when
        they are not the searcher's own."""
        other = rated and (examiner or None) != (self.examiner or None)
        return replace(self, rated_by=(examiner or "(no examiner)") if other else None)


SEARCH_COLUMNS = ["search_id", "examiner", "study", "session", "query", "query_page",
                  "before", "locarno_filter", "text", "text_words_read", "score_weights",
                  "model_id", "per_patent", "rank", "score", "patent_id", "patent_number",
                  "title", "locarno", "locarno_title", "grant_date", "filing_date", "image",
                  "page", "figure_box", "rating", "query_region", "corrected_since",
                  "logged_results"]


def one_line(text: str, n: int) -> str:
    """``text`` on one line (its line breaks and runs of spaces as one space), cut to ``n``
    characters with an ellipsis: a long or pasted text in a list or a status line."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1].rstrip() + "\u2026"


def _region_text(meta: "ReportMeta", label: str = "") -> str:
    """"figure 2: 10 20 300 400", "crop: ...", or "all figures"."""
    if not meta.query_box:
        return "all figures"
    box = label + " ".join(map(str, meta.query_box))
    return f"{meta.query_region}: {box}" if meta.query_region else box


def _fusion_text(meta: "ReportMeta") -> str:
    """"drawing 1 + text 1.5": how the fused score weighed the query's drawing and text."""
    return " + ".join(f"{name} {weight:g}" for name, weight in fusion_weights(meta))


def fusion_weights(meta: "ReportMeta") -> list[tuple[str, float]]:
    """The parts of a search's score and their weights: [("drawing", 1), ("text", 2)]."""
    drawing = meta.query is not None or bool(meta.query_sha256)
    parts = [(name, meta.fusion.get(key) or 0) for key, name in
             (("image", "drawing"), ("text", "text"), ("cross", "text against drawings"))
             if key != "image" or drawing]
    return [(name, weight) for name, weight in parts if weight]


def _score_text(score: float, blind: bool) -> str:
    return "" if blind else f"{score:.4f}"


#: How a spreadsheet cell that runs as a formula begins (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _SheetSafeWriter:
    """``csv.writer`` for files people open in a spreadsheet: UTF-8 with a byte-order mark
    (so Excel reads non-Latin titles), and a text cell that would begin a formula (a title
    "=HYPERLINK(...)", an examiner "+alice") given a leading apostrophe; numbers stay as
    they are."""

    def __init__(self, f):
        self._w = csv.writer(f)

    def writerow(self, row) -> None:
        self._w.writerow([_sheet_cell(v) for v in row])


def _sheet_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def _csv_file(path: str | os.PathLike):
    return replacing(path, newline="", encoding="utf-8-sig")


def write_search_csv(path: str | os.PathLike, meta: ReportMeta, hits: Iterable[SearchHit],
                     ratings: dict[int, int] | None = None, blind: bool = False) -> int:
    """One row per result (the search's own fields repeated, so every row stands alone);
    ``ratings`` maps figure id -> rating. Returns the number of rows."""
    ratings = ratings or {}
    weights = meta.score_weights(blind)
    n = 0
    with _csv_file(path) as f:
        w = _SheetSafeWriter(f)
        w.writerow(SEARCH_COLUMNS)
        for h in hits:
            w.writerow([meta.search_id or "", meta.examiner or "", meta.study or "",
                        meta.session or "", meta.query or "", meta.query_page or "",
                        meta.before or "", meta.locarno or "", meta.text or "",
                        meta.text_words_read or "", weights,
                        "" if blind else meta.model_id, int(meta.per_patent),
                        h.rank, _score_text(h.score, blind), h.patent_id,
                        display_patent_id(h.patent_id), h.title or "", h.locarno or "",
                        h.locarno_title or "", h.grant_date or "", h.filing_date or "",
                        h.image, h.page_index + 1, " ".join(map(str, h.figure)),
                        ratings.get(h.figure_id, ""),
                        _region_text(meta) if meta.query is not None or meta.query_sha256
                        else "",                        # (a text alone: no drawing region)
                        "; ".join(f"{k}={v or ''}" for k, v in h.corrected.items()),
                        _blank(meta.logged_results)])
            n += 1
    return n


def png_data_uri(image: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def report_head_html(meta: ReportMeta, *, query_src: str | None = None, blind: bool = False,
                     title: str = "Prior-art search report") -> str:
    """The report's title and what was asked (with the query drawing, if given)."""
    e = html.escape
    out = [f"<h2>{e(title)}</h2>", "<table cellspacing='0' cellpadding='3'><tr>"]
    if query_src:
        out.append(f"<td valign='top'><img src='{e(query_src)}' width='200'></td>")
    out.append("<td valign='top'><table cellspacing='0' cellpadding='2'>")
    for k, v in meta.lines(blind):
        out.append(f"<tr><td><b>{e(k)}</b></td><td>{e(v)}</td></tr>")
    out.append("</table></td></tr></table>")
    return "\n".join(out)


def result_columns(blind: bool) -> list[str]:
    return ["Rank", "Drawing", "Patent", "Title", "Locarno", "Granted",
            *([] if blind else ["Score"]), "Rating"]


def result_cells(hit: SearchHit, *, image_src: str | None, rating: int | None,
                 blind: bool, image_width: int = 120, image_height: int | None = None
                 ) -> list[tuple[str, str]]:
    """One result as (alignment, cell HTML) per column of ``result_columns``; the thumbnail
    is ``image_height`` high when given (a tall drawing), else ``image_width`` wide."""
    e = html.escape
    size = f"height='{image_height}'" if image_height else f"width='{image_width}'"
    img = f"<img src='{e(image_src)}' {size}>" if image_src else ""
    rating_text = f"{rating} {RATING_SCALE[rating]}" if rating is not None else ""
    number = e(display_patent_id(hit.patent_id)).replace(" ", "&nbsp;")  # (one line)
    cells = [("right", str(hit.rank)), ("center", img),
             ("left", f"<b>{number}</b><br><small>"
                      f"{e(Path(hit.image).name)} p.{hit.page_index + 1}</small>"),
             ("left", e(hit.title or "") + (
                 "<br><small>corrected since: now " + e(corrected_text(hit)) + "</small>"
                 if hit.corrected else "")),
             ("left", f"{hit.locarno or '-'}<br><small>{e(hit.locarno_title or '')}</small>"),
             ("left", e(hit.grant_date or "undated"))]
    if not blind:
        cells.append(("right", f"{hit.score:.4f}"))
    cells.append(("left", e(rating_text)))
    return cells


_SHOWN_NAMES = {"grant_date": "granted", "filing_date": "filed", "locarno": "Locarno",
                "title": "title"}


def corrected_text(hit: SearchHit) -> str:
    """Today's values of a logged result corrected since: "granted 2019-10-01, Locarno 16-01"."""
    return ", ".join(f"{_SHOWN_NAMES[k]} {v or '-'}" for k, v in hit.corrected.items())


def precision_line(hits: list[SearchHit], ratings: dict[int, int], gone: int = 0) -> str:
    """"P@10 of this search: 0.30 (3 relevant patents among its top 10, 5 drawings rated)";
    ``gone``: logged results no longer in the library, which it cannot count."""
    good = {h.patent_id for h in hits if ratings.get(h.figure_id, -1) >= RELEVANT_MIN}
    relevant = len(good.intersection(top_patents([(h.rank, h.patent_id) for h in hits])))
    rated = sum(h.figure_id in ratings for h in hits)
    return (f"P@{TOP_K} of this search: {relevant / TOP_K:.2f} "
            f"({counted(relevant, 'relevant patent')} among its top {TOP_K}, "
            f"{counted(rated, 'drawing')} rated"
            + (f"; of the results listed: the {counted(gone, 'logged result')} no longer in "
               "the library, and their ratings, are not counted" if gone else "") + ")")


def search_html(meta: ReportMeta, hits: list[SearchHit], *,
                image_src: Callable[[SearchHit], str | None] = lambda h: None,
                query_src: str | None = None, ratings: dict[int, int] | None = None,
                blind: bool = False, title: str = "Prior-art search report") -> str:
    """A self-contained report page; ``image_src`` gives each result's thumbnail URL."""
    ratings = ratings or {}
    e = html.escape
    out = [f"<html><head><meta charset='utf-8'><title>{e(title)}</title></head>"
           "<body style='font-family: sans-serif; font-size: 10pt'>",
           report_head_html(meta, query_src=query_src, blind=blind, title=title),
           f"<h3>{e(meta.results_heading(len(hits)))}</h3>"
           "<table border='1' cellspacing='0' cellpadding='4' width='100%' "
           "style='border-collapse: collapse; border-color: #999'>"
           "<tr style='background-color: #e8e8e8'>"
           + "".join(f"<th>{c}</th>" for c in result_columns(blind)) + "</tr>"]
    for h in hits:
        cells = result_cells(h, image_src=image_src(h), rating=ratings.get(h.figure_id),
                             blind=blind)
        out.append("<tr>" + "".join(f"<td align='{a}'>{c}</td>" for a, c in cells) + "</tr>")
    out.append("</table>")
    if ratings:
        out.append(f"<p>{e(precision_line(hits, ratings, meta.gone(len(hits))))}<br>"
                   f"<small>{e(RELEVANCE_RULE)}</small></p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_search_html(path: str | os.PathLike, meta: ReportMeta, hits: list[SearchHit], *,
                      thumbnail: Callable[[SearchHit], np.ndarray | None],
                      query_image: np.ndarray | None = None,
                      ratings: dict[int, int] | None = None, blind: bool = False) -> None:
    """The HTML report with thumbnails embedded (one file to archive or mail)."""
    text = search_html(meta, hits, ratings=ratings, blind=blind,
                       query_src=png_data_uri(query_image) if query_image is not None else None,
                       image_src=lambda h: _uri_or_none(thumbnail(h)))
    with replacing(path) as f:
        f.write(text)


#: Report formats by file suffix; PDF is written by the GUI (it renders the HTML with Qt).
REPORT_FORMATS = {".html": "html", ".htm": "html", ".csv": "csv", ".pdf": "pdf"}


def report_format(path: str | os.PathLike) -> str:
    fmt = REPORT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: a report is .html, .csv or .pdf")
    return fmt


def write_search_report(path: str | os.PathLike, meta: ReportMeta, hits: list[SearchHit], *,
                        thumbnails, query_page: tuple[str, int] | None = None,
                        ratings: dict[int, int] | None = None, blind: bool = False,
                        progress: Callable[[int, int], None] | None = None) -> None:
    """A search report as CSV or HTML, by the suffix of ``path``; ``thumbnails`` is a
    ``core.thumbnails.ThumbnailCache`` for the HTML's pictures, ``query_page`` (file, page)
    the query drawing to show in its header (with ``meta.query_box`` outlined on it);
    ``progress(done, total)`` is told of each result's picture drawn."""
    from .thumbnails import query_picture, report_thumbnails

    fmt = report_format(path)
    if fmt == "csv":
        write_search_csv(path, meta, hits, ratings, blind)
    elif fmt == "html":
        picture, note = query_picture(thumbnails, *query_page, box=meta.query_box,
                                      sha256=meta.query_sha256) if query_page else (None, None)
        thumbnail = report_thumbnails(thumbnails, progress and (
            lambda drawn: progress(drawn, len(hits))))
        write_search_html(path, replace(meta, query_note=note), hits,
                          thumbnail=thumbnail, query_image=picture,
                          ratings=ratings, blind=blind)
    else:
        raise ValueError(f"{path}: PDF reports are written by the desktop app; use .html "
                         "(a browser prints it to PDF) or .csv")


def _uri_or_none(image: np.ndarray | None) -> str | None:
    return png_data_uri(image) if image is not None else None


# -- ratings ---------------------------------------------------------------------------------
RATINGS_COLUMNS = ["rated_at", "examiner", "study", "session", "search_id", "query",
                   "query_sha256", "before", "locarno_filter", "text", "text_words_read",
                   "model_id", "rank", "patent_id", "patent_number", "figure_id", "rating",
                   "relevant", "blind"]


def write_ratings_csv(path: str | os.PathLike, store: Store, *, session: str | None = None,
                      study: str | None = None, examiner: str | None = None) -> int:
    """The current rating of every rated result (optionally of one session, study or
    examiner)."""
    return _write_rating_rows(
        path, store, store.current_ratings(session=session, study=study, examiner=examiner),
        RATINGS_COLUMNS, lambda r, s: [
            r["at"], *_rated_in(r, s), r["model_id"] or "", _blank(r["rank"]),
            r["patent_id"], display_patent_id(r["patent_id"]), _blank(r["figure_id"]),
            r["rating"], int(r["rating"] >= RELEVANT_MIN), r["blind"]])


RATING_EVENTS_COLUMNS = ["event_id", "at", "examiner", "study", "session", "search_id",
                         "query", "query_sha256", "before", "locarno_filter", "text",
                         "text_words_read", "model_id", "rank", "patent_id", "patent_number",
                         "figure_id", "change", "previous_rating", "rating", "blind"]


def write_rating_events_csv(path: str | os.PathLike, store: Store, *,
                            session: str | None = None, study: str | None = None,
                            examiner: str | None = None) -> int:
    """Every rating event in the order made (set, changed, cleared), for studies that look at
    how examiners revised their judgements; the filters as for ``write_ratings_csv``."""
    return _write_rating_rows(
        path, store, store.rating_events(session=session, study=study, examiner=examiner),
        RATING_EVENTS_COLUMNS, lambda r, s: [
            r["id"], r["at"], *_rated_in(r, s), r["model_id"] or "", _blank(r["rank"]),
            r["patent_id"], display_patent_id(r["patent_id"]), _blank(r["figure_id"]),
            r["change"], _blank(r["previous"]), _blank(r["rating"]), r["blind"]])


def _write_rating_rows(path, store: Store, rows: list[dict], columns: list[str],
                       cells: Callable[[dict, dict], list]) -> int:
    """``rows`` of the ratings table as CSV, each as ``cells(row, its search's record)``."""
    searches: dict[int, dict] = {}
    with _csv_file(path) as f:
        w = _SheetSafeWriter(f)
        w.writerow(columns)
        for r in rows:
            sid = r["search_id"]
            if sid is not None and sid not in searches:
                searches[sid] = store.search_record(sid) or {}
            w.writerow(cells(r, searches.get(sid, {})))
    return len(rows)


EVAL_COLUMNS = ["mode", "task", "query_patent", "patent_number", "query_image", "query_page",
                "query_pages", "cutoff", "locarno", "relevant_patents", "first_relevant_rank",
                "top_patent", "AP", "R@10", "MRR@10", "Hit@1"]


def write_eval_csv(path: str | os.PathLike, results: dict, pages: dict[int, tuple[str, int]]
                   ) -> int:
    """One row per scored query, mode and task of ``eval`` (patent-level scores), to find
    the queries behind a low mean; ``results`` maps mode -> ``EvalResult``, ``pages`` maps a
    library page id -> (image path, page index). Returns the number of rows."""
    from .evaluation import METRICS         # (their columns: AP for one query's mAP)

    n = 0
    with _csv_file(path) as f:
        w = _SheetSafeWriter(f)
        w.writerow(EVAL_COLUMNS)
        for mode, result in results.items():
            for task, outcomes in result.details.items():
                for o in outcomes:
                    q = o.query
                    image, index = pages.get(q.page_id, ("", None))
                    w.writerow([mode, task, q.patent_id, display_patent_id(q.patent_id), image,
                                "all" if q.pages else "" if index is None else index + 1,
                                len(q.pages) or 1,
                                "" if task == "same_design" else _blank(q.filing_date),
                                q.locarno or "",
                                o.relevant, o.first_relevant, o.top_patent,
                                *(round(o.scores[m], 6) for m in METRICS)])
                    n += 1
    return n


def _rated_in(r: dict, s: dict) -> list:
    """Who rated, and the search rated: examiner, study, session, search id, query, its
    SHA-256, the cutoff, the class filter, the text and (one too long for the model) how many
    of its words the model read."""
    return [r["examiner"] or "", r["study"] or "", r["session"] or "",
            _blank(r["search_id"]), s.get("query_path") or "", r["query_sha256"] or "",
            s.get("before") or "", s.get("locarno") or "", s.get("text") or "",
            _blank((s.get("params") or {}).get("text_words_read"))]


def _blank(value) -> object:
    """An empty cell for a missing value (a cleared rating, a result with no rank)."""
    return "" if value is None else value


# -- session summary --------------------------------------------------------------------------
@dataclass
class SearchScore:
    search_id: int | None
    rated: int
    top: list[str] = field(default_factory=list)       # the search's top TOP_K patents
    relevant_patents: set[str] = field(default_factory=set)
    logged_in: tuple = ("", None)       # the (study, session) the search was made in

    @property
    def relevant_top(self) -> int:
        """Relevant patents among the search's top ``TOP_K``: a patent counts once, however
        many of its figures (by however many examiners) were rated relevant."""
        return len(self.relevant_patents.intersection(self.top))

    @property
    def precision(self) -> float:
        return self.relevant_top / TOP_K


@dataclass
class SessionSummary:
    session: str | None
    examiner: str | None
    searches: int = 0           # searches logged in the session (by this examiner)
    rated: int = 0              # results rated
    relevant: int = 0           # results rated relevant
    per_search: list[SearchScore] = field(default_factory=list)
    study: str | None = None    # of this study ("": outside any; None: of any study)

    @property
    def precision_at_10(self) -> float | None:
        """Mean P@10 over the searches with at least one rating."""
        if not self.per_search:
            return None
        return sum(s.precision for s in self.per_search) / len(self.per_search)

    def text(self) -> str:
        """"3 searches, 2 rated; ..." (a search of an earlier session rated in this one is
        named apart: "1 search, 2 rated (1 of them made in another session)")."""
        p = self.precision_at_10
        # (two studies that name a session alike hold two sessions)
        earlier = sum(s.logged_in[1] != self.session or self.study is not None
                      and s.logged_in[0] != self.study.strip() for s in self.per_search)
        return (f"{counted(self.searches, 'search')}, {len(self.per_search)} rated"
                + (f" ({earlier} of them made in another session)" if earlier else "")
                + f"; {counted(self.rated, 'result')} rated, {self.relevant} relevant; mean "
                f"P@{TOP_K} "
                + (f"{p:.2f}" if p is not None else "-"))


def session_summary(store: Store, session: str | None, examiner: str | None = None, *,
                    study: str | None = None, ratings: list[dict] | None = None
                    ) -> SessionSummary:
    """How much an examiner (None: anyone, "": none given) rated in a session (None: outside
    any; of one study, if given) and the precision of the top 10 by those ratings (see
    ``RELEVANCE_RULE``). ``ratings``: those ratings, where the caller has them already."""
    out = SessionSummary(session, examiner or None, study=study)
    out.searches = store.count_searches(session=session, **{
        k: v or None for k, v in (("examiner", examiner), ("study", study)) if v is not None})
    by_search: dict[int | None, SearchScore] = {}
    # (to the store None is any session; here it is the ratings made outside one)
    if ratings is None:
        ratings = store.current_ratings(session=session or "", study=study, examiner=examiner)
    for r in ratings:
        score = by_search.get(r["search_id"])
        if score is None:
            rec = store.search_record(r["search_id"]) if r["search_id"] is not None else None
            score = by_search[r["search_id"]] = SearchScore(r["search_id"], 0, top_patents(
                [(x["rank"], x["patent_id"]) for x in (rec or {}).get("results") or []]),
                logged_in=((rec or {}).get("study") or "", (rec or {}).get("session"))
                if rec else ((study or "").strip(), session))
        score.rated += 1
        out.rated += 1
        if r["rating"] >= RELEVANT_MIN:
            out.relevant += 1
            score.relevant_patents.add(r["patent_id"])
    out.per_search = list(by_search.values())
    return out
