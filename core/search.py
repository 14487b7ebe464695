"""Prior-art search: a query drawing (optionally with text), a filing-date cutoff and filters in,
ranked figures of earlier patents out.

A sheet with several figures is searched with all of them (a gallery figure scores by its best
match with any query figure) unless the caller picks one figure or draws a crop box; a
multi-page file (an application's PDF) can be searched with the figures of all its pages.
"""
from __future__ import annotations

import contextlib
import hashlib
import operator
import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np

from .drawing import FigureBox, prepare_query_page, render_figure, why_no_figure
from .imageio import ImageReadError, PageImage, read_page
from .index import ModelMismatchError
from .library import Library
from .store import date_ord, now_iso


@dataclass
class SearchQuery:
    """What an examiner asks. ``image`` is a file path, image bytes or a decoded page."""

    image: str | Path | bytes | PageImage | None = None
    page_index: int | None = 0            # None: every page of the file (an application)
    box: FigureBox | None = None          # a picked figure or a crop; None = every figure
    region: str | None = None             # what ``box`` is, for the log: "figure 2", "crop"
    text: str | None = None
    before: date | None = None            # prior art = granted strictly before this date
    locarno: str | None = None            # "NN" class or "NN-NN" subclass
    k: int = 50                           # results; patents when ``per_patent``
    exclude_patents: tuple[str, ...] = ()
    per_patent: bool = False              # each patent once, by its best figure

    def __post_init__(self) -> None:
        """A query made in Python is checked as the command line checks what it is given
        (a datetime cutoff was logged with its time and broke replaying the search; one
        patent id given as a string excluded nothing)."""
        before = self.before
        if isinstance(before, datetime):
            before = before.date()
        elif isinstance(before, str):
            try:
                before = date.fromisoformat(before.strip())
            except ValueError:
                raise ValueError(f"before: {self.before!r} is not a date (YYYY-MM-DD)") from None
        elif before is not None and not isinstance(before, date):
            raise TypeError(f"before: a date, not {type(before).__name__}")
        self.before = before
        if not isinstance(self.image, (str, os.PathLike, bytes, PageImage, type(None))):
            raise TypeError("image: a file path, image bytes or a decoded page, not "
                            f"{type(self.image).__name__}")
        if self.text is not None and not isinstance(self.text, str):
            raise TypeError(f"text: a string, not {type(self.text).__name__}")
        if not isinstance(self.per_patent, bool):
            raise TypeError(f"per_patent: True or False, not {self.per_patent!r}")
        if self.box is not None and not isinstance(self.box, FigureBox):
            try:                            # (x0, y0, x1, y1) as a report or the log has it
                self.box = FigureBox(*(_whole(v, 0, "box: page pixels from 0")
                                       for v in self.box))
            except TypeError:
                raise ValueError("box: a FigureBox or (x0, y0, x1, y1) in page pixels, not "
                                 f"{self.box!r}") from None
        self.locarno = _locarno_code(self.locarno)
        ids = ((self.exclude_patents,) if isinstance(self.exclude_patents, str)
               else tuple(self.exclude_patents))
        self.exclude_patents = tuple(_patent_id(p, "exclude_patents") for p in ids)
        self.k = _whole(self.k, 1, "k: a number of results of at least 1")
        if self.page_index is not None:
            self.page_index = _whole(self.page_index, 0, "page_index: a page counted from 0, "
                                     "or None for every page")


def _locarno_code(given):
    """A Locarno filter as the library writes it ("02.01", 2 -> "02-01", "02"); one that is
    no code is left for the search to refuse with its reason."""
    from .locarno import LocarnoError, parse_locarno_filter

    if given is None or isinstance(given, str) and not given.strip():
        return None
    try:
        return parse_locarno_filter(given)
    except (LocarnoError, TypeError, ValueError):
        return given


def _patent_id(given, what: str) -> str:
    """A patent id as the library keys it, however it was written ("US D908,315 S")."""
    from .sources import normalize_patent_id

    pid = normalize_patent_id(given) if isinstance(given, str) else None
    if pid is None:
        raise ValueError(f"{what}: {given!r} is not a patent id")
    return pid


def _whole(value, least: int, what: str) -> int:
    try:
        n = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        n = None
    if n is None or n < least:
        raise ValueError(f"{what}, not {value!r}")
    return n


#: What a result showed of its patent: logged with it, so the audit trail shows it as it was
#: after the library corrects a date, class or title (both dates: a report must not pair the
#: grant date shown then with a filing date corrected since).
SHOWN_FIELDS = ("grant_date", "filing_date", "locarno", "title")


@dataclass
class SearchHit:
    rank: int
    score: float
    figure_id: int
    patent_id: str
    title: str | None
    locarno: str | None
    locarno_title: str | None
    grant_date: str | None
    filing_date: str | None
    image: str                  # source page path as ingested
    page_index: int
    page_kind: str | None
    sheet: int | None
    figure: list[int]           # box on that page
    synthetic: bool = False
    corrected: dict = field(default_factory=dict)   # a logged hit: field -> today's value,
    #                                                 where the library was corrected since
    query_figure: int | None = None     # of several query figures, the one it is most like
    #                                     (an index into the response's query_figures)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class SearchResponse:
    query: str | None
    model_id: str
    before: str | None
    locarno: str | None
    text: str | None
    results: list[SearchHit]
    query_figures: list[list[int]] = field(default_factory=list)
    query_pages: list[int] = field(default_factory=list)   # the page of each query figure
    text_pages: list[int] = field(default_factory=list)    # all pages: pages of printed text
    #                                                        left out (0-based)
    text_only: bool = False             # the page (every page) looks like printed text
    query_sha256: str | None = None
    query_region: str | None = None     # the query's ``region`` (with a box)
    allowed: int | None = 0             # figures that pass the cutoff and filters (None:
    #                                     a search reopened from a log that did not say)
    timings_ms: dict = field(default_factory=dict)
    search_id: int | None = None
    text_words_read: int | None = None  # a text too long for the text tower: the words read
    text_unread: str | None = None      # a text given with a drawing that held nothing to
    #                                     read (its reason): searched by the drawing alone
    fusion: dict | None = None          # with a text: the weights of the fused score
    shown_blind: bool = False           # searched to be shown blind (no scores, ties shuffled)
    at: str | None = None               # when it was logged (ISO, UTC)

    @property
    def text_note(self) -> str | None:
        """What a person should know about how the text was read."""
        if self.text_unread is not None:
            return f"{self.text_unread}: searched by the drawing alone"
        if self.text_words_read is None:
            return None
        return (f"the text is longer than the model reads: only its first "
                f"{self.text_words_read} words were read")

    def to_json(self) -> dict:
        return {"query": self.query, "before": self.before, "model": self.model_id,
                "locarno": self.locarno, "text": self.text, "allowed": self.allowed,
                **({"text_words_read": self.text_words_read} if self.text_words_read else {}),
                **({"fusion": self.fusion} if self.fusion else {}),
                "query_figures": self.query_figures, "query_pages": self.query_pages,
                "text_pages": self.text_pages, "text_only": self.text_only,
                "search_id": self.search_id,
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
                "results": [h.to_json() for h in self.results]}


def page_numbers(pages) -> str:
    """0-based page indexes as people number pages: "2, 5"."""
    return ", ".join(str(i + 1) for i in pages)


#: Default weights of the fused score: image-to-image, text-to-patent-text, text-to-image.
#: text 1.5: the weight picked on the training folds in 3 of 4 cross-validation folds (2.0 in
#: the other) for the shipped recipe (docs/results_training.md). A trained checkpoint may carry
#: its own (training["fusion"]), tuned on held-out folds.
DEFAULT_FUSION = {"image": 1.0, "text": 1.5, "cross": 0.0}
#: Figures ranked per patent asked for by a ``per_patent`` search (patents have ~10 figures;
#: a pool that holds fewer than k patents is widened).
PATENT_POOL = 10


class QueryError(Exception):
    """The query cannot be run (unreadable image, no drawing found, bad filter)."""


class UnreadableQuery(QueryError, ImageReadError):
    """The query's image cannot be read (missing, damaged, not an image): a ``QueryError``
    and an ``ImageReadError``, so either catches it."""


@contextlib.contextmanager
def _reading_query():
    try:
        yield
    except UnreadableQuery:
        raise
    except ImageReadError as exc:
        raise UnreadableQuery(str(exc)) from exc


def load_query_page(image, page_index: int = 0) -> tuple[PageImage, str | None, str | None]:
    """Decode a query; returns the page, its path (if any) and the sha256 of its bytes."""
    if isinstance(image, PageImage):
        return image, image.path, hashlib.sha256(image.array.tobytes()).hexdigest()
    with _reading_query():
        if isinstance(image, bytes):
            return read_page(image, page_index), None, hashlib.sha256(image).hexdigest()
        path = Path(image)
        data = path.read_bytes() if path.is_file() else b""
        page = read_page(path, page_index)
    return page, str(path), hashlib.sha256(data).hexdigest()


def _on_page(path: str | None, page_index: int, exc: QueryError) -> str:
    """A query page's problem, naming the file and, in a file of several pages, the page:
    the drawings of an application's PDF are often not on its first page."""
    if path is None:
        return str(exc)
    from .imageio import pages_for_a_message

    n = pages_for_a_message(path)
    if n < 2:
        return f"{path}: {exc}"
    return (f"{path}, page {page_index + 1} of {n}: {exc}; or search another of its pages, "
            "or all of them")


class Searcher:
    """Runs queries against one library with the model it was built with."""

    def __init__(self, library: Library, model, fusion: dict | None = None):
        library.check_model(model)
        self.library = library
        self.model = model
        self.cfg = model.drawing_config
        self.fusion = {**DEFAULT_FUSION, **model.training_info.get("fusion", {}),
                       **(fusion or {})}
        self._text_index = None
        self._text_key = None

    def warm_up(self) -> None:
        """Load the index and run the encoder once (on CPU that builds its frozen graph), so
        the first real query is as fast as the ones after it."""
        self.library.index()
        blank = np.full((self.model.image_size, self.model.image_size), 255, np.uint8)
        self.embed_query([blank])

    def text_index(self):
        """The patents' text vectors, reloaded when another process (or this one) has added
        patents, corrected their metadata or rebuilt the library since they were read."""
        from .text_index import TextIndex, text_generation

        lib = self.library
        lib.reopen_if_replaced()
        key = (lib.content_key(), text_generation(lib.store))
        if self._text_index is None or key != self._text_key:
            self._text_index = TextIndex.load(lib, self.model.model_id)
            self._text_key = key
        return self._text_index

    def query_figures(self, page: np.ndarray, box: FigureBox | None, dpi: float | None = None
                      ) -> tuple[list[FigureBox], list[np.ndarray], bool]:
        """The figures of a query page (or the region ``box`` of it) and their images, and
        whether the page looks like printed text only (core.drawing.prepare_query_page)."""
        if box is not None:
            H, W = page.shape[:2]
            if box.x1 <= box.x0 or box.y1 <= box.y0:
                raise QueryError(f"the region {box.to_list()} is empty: it needs x0 < x1 and "
                                 "y0 < y1")
            if box.x1 <= 0 or box.y1 <= 0 or box.x0 >= W or box.y0 >= H:
                raise QueryError(f"the region {box.to_list()} lies outside the page "
                                 f"({W} x {H} pixels)")
            # the part on the page is what is searched (and what the response names)
            box = FigureBox(max(0, box.x0), max(0, box.y0), min(W, box.x1), min(H, box.y1))
            image = render_figure(page, box, self.cfg, dpi=dpi)   # (a negative's positive)
            if not (image < 128).any():
                raise QueryError(f"no drawing in the region {box.to_list()} (is it blank?)")
            return [box], [image], False
        figures, text_only = prepare_query_page(page, self.cfg, dpi=dpi)
        if not figures:
            raise QueryError(f"no drawing found in the query image: {why_no_figure(page)}")
        return [b for b, _ in figures], [im for _, im in figures], text_only

    def embed_query(self, images: list[np.ndarray]) -> np.ndarray:
        """The encoder ingestion uses: a query figure gets the very vector it would be stored
        with (and the frozen CPU graph is ~1.8x faster than eager)."""
        from .embed import encoder_for

        return encoder_for(self.model)(images)

    def search(self, query: SearchQuery, *, log: bool = False, examiner: str | None = None,
               study: str | None = None, session: str | None = None,
               blind: bool = False) -> SearchResponse:
        """Run ``query``; with ``log``, record it in the audit log with who searched and
        whether the results were shown ``blind`` (no scores, ties in random order)."""
        t = {"start": time.perf_counter()}
        text = (query.text or "").strip() or None
        unread = None
        if text is not None and self.model.text_is_blank(text):
            unread = "the text holds only spaces or invisible characters"
        elif text is not None and self.model.text_knows_no_word(text):
            unread = (f"the text {text!r} holds no word the text model knows (it reads "
                      "English: emoji and other scripts are unknown to it, so every such text "
                      "would be the same query)")
        typed, text = text, (None if unread else text)
        if query.image is None and text is None:
            raise QueryError(f"nothing to search by: {unread}" if unread else
                             "a query needs a drawing, a text, or both")
        words_read = self.model.text_words_read(text) if text else None
        self.check_library_model()
        if query.image is None and not self.fusion["cross"] and not len(self.text_index()):
            self.library.index()        # (an empty library says so, not "image files alone")
            raise QueryError("no patent in this library has a title or description to search "
                             "the text against (a library of image files alone): add a drawing "
                             "to the query, or add the patents' metadata (a manifest, grant "
                             "XML or DeepPatent2 JSON)")
        path = sha = None
        boxes: list[FigureBox] = []
        pages: list[int] = []
        text_pages: list[int] = []
        text_only = False
        vectors = None
        if query.image is not None:
            if query.page_index is None:
                path, sha, pages, boxes, images, text_pages, text_only = self._all_pages(query)
                t["decode"] = t["preprocess"] = time.perf_counter()
            else:
                page, path, sha = load_query_page(query.image, query.page_index)
                t["decode"] = time.perf_counter()
                try:
                    boxes, images, text_only = self.query_figures(page.array, query.box,
                                                                  page.sheet_dpi)
                except QueryError as exc:
                    raise QueryError(_on_page(path, query.page_index, exc)) from None
                pages = [query.page_index] * len(boxes)
                t["preprocess"] = time.perf_counter()
            vectors = self.embed_query(images)
        text_vec = self.model.encode_text([text]).numpy()[0] if text else None
        t["embed"] = time.perf_counter()
        k = query.k * PATENT_POOL if query.per_patent else query.k
        while True:
            hits, allowed = self.search_vectors(vectors, before=query.before,
                                                locarno=query.locarno, k=k,
                                                exclude_patents=query.exclude_patents,
                                                text_vector=text_vec)
            # patents of many figures can fill the pool: widen it until k patents are in it
            if not query.per_patent or len(hits) < k or k >= allowed or len(set(
                    self.library.store.patent_of_figures([f for f, _ in hits]).values())
                    ) >= query.k:
                break
            k *= 4
        t["search"] = time.perf_counter()
        results = hydrate(self.library.store, hits)
        if vectors is not None and len(vectors) > 1 and results:
            nearest = (vectors @ self.library.index().vectors_of(
                [h.figure_id for h in results]).T).argmax(axis=0)
            results = [replace(h, query_figure=int(i)) for h, i in zip(results, nearest)]
        if query.per_patent:
            results = [replace(g[0], rank=i) for i, g in
                       enumerate(group_by_patent(results)[:query.k], 1)]
        t["metadata"] = time.perf_counter()
        steps = list(t)
        timings = {b: (t[b] - t[a]) * 1000 for a, b in zip(steps, steps[1:])}
        timings["total"] = (t[steps[-1]] - t["start"]) * 1000
        resp = SearchResponse(
            query=path, model_id=self.model.model_id,
            before=query.before.isoformat() if query.before else None,
            locarno=query.locarno, text=text, results=results,
            query_figures=[b.to_list() for b in boxes], query_pages=pages,
            text_pages=text_pages, text_only=text_only, query_sha256=sha, allowed=allowed,
            timings_ms=timings, query_region=query.region if query.box else None,
            text_words_read=words_read, fusion=dict(self.fusion) if text else None,
            shown_blind=blind, text_unread=unread)
        if log:
            resp.at = now_iso()
            entry = dict(at=resp.at,
                query_path=None if path is None else os.path.abspath(path),   # for replays
                query_sha256=sha, query_page=query.page_index,
                query_box=boxes[0].to_list() if query.box else None,     # (clipped)
                before=resp.before,
                locarno=query.locarno, text=text, model_id=self.model.model_id,
                k=query.k, results=[{"rank": h.rank, "score": h.score, "figure_id": h.figure_id,
                                     "patent_id": h.patent_id, **{
                                         f: getattr(h, f) for f in SHOWN_FIELDS},
                                     **({"query_figure": h.query_figure}
                                        if h.query_figure is not None else {})}
                                    for h in results],
                params={"allowed": allowed, **({"fusion": self.fusion} if text else {}),
                        **({"text_pages": text_pages} if text_pages else {}),
                        **({"per_patent": True} if query.per_patent else {}),
                        **({"blind": True} if blind else {}),
                        **({"region": query.region} if query.box and query.region else {}),
                        **({"query_figures": resp.query_figures, "query_pages": pages}
                           if len(boxes) > 1 else {}),
                        **({"text_words_read": words_read} if words_read else {}),
                        **({"text_unread": typed} if unread else {})},
                examiner=examiner, study=study, session=session)
            resp.search_id = self.library.write_where_kept(   # logged where the library is now
                lambda store: store.log_search(**entry), lambda store, i: store.search_record(i))
        return resp

    def _all_pages(self, query: SearchQuery):
        """Path, sha256, and the pages, boxes and images of the figures of every page of the
        query file, the pages of printed text left out, and whether every page looks like
        printed text (searched as it is then); pages without a drawing (a front page's
        continuation) add none."""
        from .imageio import iter_pages

        if query.box is not None:
            raise QueryError("a region belongs to one page: give the page with it")
        if not isinstance(query.image, (str, Path)):
            raise QueryError("all pages: the query must be a file")
        path = str(query.image)
        with _reading_query():
            found = [prepare_query_page(page.array, self.cfg, dpi=page.sheet_dpi)
                     for page in iter_pages(path)]
        # pages of printed text (the specification) are left out, unless every page is text
        # (a typeface design is drawn as text)
        drawn = any(figures and not text for figures, text in found)
        text_pages = [i for i, (figures, text) in enumerate(found) if text and drawn]
        pages, boxes, images = [], [], []
        for i, (figures, _) in enumerate(found):
            if i not in text_pages:
                pages += [i] * len(figures)
                boxes += [b for b, _ in figures]
                images += [im for _, im in figures]
        if not images:
            raise QueryError(f"{path}: no drawing found on any of its pages")
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return path, sha, pages, boxes, images, text_pages, not drawn

    def check_library_model(self) -> None:
        """ModelMismatchError if the library was rebuilt with another model since this
        searcher was made (another process, or the window's own rebuild): its vectors and
        text vectors are that model's now."""
        self.library.reopen_if_replaced()
        built = self.library.model_id
        if built is not None and built != self.model.model_id:
            raise ModelMismatchError(
                f"the library was rebuilt with the model {built} since it was opened (this "
                f"search would use {self.model.model_id}): open it again to search with its "
                "new model", built_with=built, in_use=self.model.model_id)

    def search_vectors(self, vectors: np.ndarray | None, *, before: date | None,
                       locarno: str | None, k: int, exclude_patents: tuple[str, ...] = (),
                       text_vector: np.ndarray | None = None
                       ) -> tuple[list[tuple[int, float]], int]:
        """(figure id, score) best first and the number of figures that pass the filters.

        Image only: a gallery figure scores by its best match with any query figure. With text,
        candidates from the image search, the text search over patents and (if weighted) the
        text-to-image search are re-scored with the fused score.
        """
        from .locarno import LocarnoError, parse_locarno_filter

        index = self.library.index()
        if self.library.model_id != self.model.model_id:   # rebuilt with another, just now
            raise ModelMismatchError(
                f"the library was rebuilt with the model {self.library.model_id} while this "
                "search ran; search again")
        cutoff = date_ord(before) if before else None
        code = None
        allowed_labels = None
        if locarno:
            try:
                code = parse_locarno_filter(locarno)
            except LocarnoError as exc:
                raise QueryError(str(exc)) from None
            allowed_labels = np.asarray(sorted(self.library.store.figure_ids_where_locarno(code)),
                                        np.int64)
        excluded_patents = set(exclude_patents)
        if excluded_patents:
            excluded = {f["figure_id"] for pid in excluded_patents
                        for f in self.library.store.figures_of_patent(pid)}
            if excluded:
                base = (allowed_labels if allowed_labels is not None else
                        np.asarray([r[0] for r in self.library.store.all_figures()], np.int64))
                allowed_labels = np.setdiff1d(base, np.fromiter(excluded, np.int64))
        n_allowed = (index.count_allowed(cutoff) if allowed_labels is None else
                     self.library.store.count_figures_before(allowed_labels, cutoff))
        if text_vector is None:
            return self._image_ranking(index, vectors, k, cutoff, allowed_labels), n_allowed
        w = self.fusion
        fetch = max(4 * k, 200)
        candidates: set[int] = set()
        if vectors is not None and w["image"]:
            candidates |= {fid for fid, _ in self._image_ranking(index, vectors, fetch, cutoff,
                                                                 allowed_labels)}
        text_index = self.text_index()
        top_patents = [pid for pid, _ in text_index.top(text_vector, fetch, cutoff, code)
                       if pid not in excluded_patents]
        candidates |= set(self.library.store.figure_ids_of_patents(top_patents))
        if w["cross"]:
            labels, _ = index.search(text_vector[None], fetch, before=cutoff,
                                     allowed=allowed_labels)
            candidates |= {int(x) for x in labels[0] if x >= 0}
        if not candidates:
            return [], n_allowed
        cand = np.fromiter(candidates, np.int64)
        cand_vecs = index.vectors_of(cand)
        patent_of = self.library.store.patent_of_figures(cand)
        text_sims = text_index.similarities(text_vector)
        score = np.zeros(len(cand), np.float32)
        if vectors is not None and w["image"]:
            score += w["image"] * (vectors @ cand_vecs.T).max(axis=0)
        score += w["text"] * np.array([text_sims.get(patent_of.get(int(c)), 0.0) for c in cand],
                                      np.float32)
        if w["cross"]:
            score += w["cross"] * (cand_vecs @ text_vector)
        order = np.lexsort((cand, -score))[:k]
        return [(int(cand[i]), float(score[i])) for i in order], n_allowed

    @staticmethod
    def _image_ranking(index, vectors, k, cutoff, allowed_labels) -> list[tuple[int, float]]:
        labels, scores = index.search(vectors, k, before=cutoff, allowed=allowed_labels)
        best: dict[int, float] = {}
        for row_l, row_s in zip(labels, scores):
            for lab, sc in zip(row_l.tolist(), row_s.tolist()):
                if lab >= 0 and sc > best.get(lab, -np.inf):
                    best[lab] = sc
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

def hydrate(store, ranked: list[tuple[int, float]]) -> list[SearchHit]:
    """Attach patent and page metadata (``store``: the library's ``Store``) to ranked figure
    ids; figures no longer in the library are left out."""
    from .locarno import title as locarno_title

    rows = store.figures_by_ids([fid for fid, _ in ranked])
    hits = []
    for fid, score in ranked:
        r = rows.get(fid)
        if r is None:
            continue
        hits.append(SearchHit(
            rank=len(hits) + 1, score=round(float(score), 6), figure_id=fid,
            patent_id=r["patent_id"], title=r["title_display"] or r["title"],
            locarno=r["locarno"], locarno_title=locarno_title(r["locarno"]),
            grant_date=r["grant_date"], filing_date=r["filing_date"], image=r["image"],
            page_index=r["page_index"], page_kind=r["page_kind"], sheet=r["sheet"],
            figure=[r["x0"], r["y0"], r["x1"], r["y1"]], synthetic=bool(r["synthetic"])))
    return hits


def group_by_patent(hits: list[SearchHit]) -> list[list[SearchHit]]:
    """Results grouped by patent, patents ranked by their best figure (best figure first)."""
    groups: dict[str, list[SearchHit]] = {}
    for h in hits:
        groups.setdefault(h.patent_id, []).append(h)
    return list(groups.values())
