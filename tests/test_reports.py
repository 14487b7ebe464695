"""Core helpers of the GUI (no Qt): search reports, the ratings export, the per-session
summary (precision at 10 by the examiner's own ratings) and the thumbnail cache."""
import csv
import errno
import os

import numpy as np
import pytest
from PIL import Image

from core import reports
from core.reports import (ReportMeta, session_summary, write_rating_events_csv,
                          write_ratings_csv, write_search_csv)
from core.search import SearchHit
from core.store import Store
from core.thumbnails import ThumbnailCache, fit, pad_square


def hit(rank: int, pid: str = "D0906013", score: float = 0.9) -> SearchHit:
    return SearchHit(rank=rank, score=score, figure_id=100 + rank, patent_id=pid,
                     title="Pregnancy pillow", locarno="06-09", locarno_title="Mattresses",
                     grant_date="2020-12-29", filing_date="2019-07-31", image="/x/sheet.png",
                     page_index=0, page_kind="drawing_sheet", sheet=1, figure=[1, 2, 30, 40])


META = ReportMeta(query="/q/query.png", query_sha256="ab" * 32, before="2021-01-01",
                  locarno="06", text=None, model_id="tiny-123", search_id=7, allowed=42)


def test_search_csv_has_one_row_per_result_with_the_search_fields(tmp_path):
    path = tmp_path / "r.csv"
    n = write_search_csv(path, META, [hit(1), hit(2, "SYN-000004", 0.5)], {101: 3})
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert n == 2 and [r["rank"] for r in rows] == ["1", "2"]
    assert rows[0]["patent_number"] == "US D906,013 S" and rows[1]["patent_number"] == "SYN-000004"
    assert rows[0]["rating"] == "3" and rows[1]["rating"] == ""
    assert {r["before"] for r in rows} == {"2021-01-01"} and rows[0]["model_id"] == "tiny-123"
    assert rows[0]["figure_box"] == "1 2 30 40" and rows[0]["score"] == "0.9000"
    assert rows[0]["query_region"] == "all figures" and rows[0]["corrected_since"] == ""
    assert rows[0]["score_weights"] == ""
    assert rows[0]["query_page"] == "" and rows[0]["per_patent"] == "0"
    import dataclasses

    # which page, whose search and per patent: each row stands alone (the CSV of a search of
    # every page read as one of page 1's; an examiner's as anyone's)
    whose = dataclasses.replace(META, query_page="all", per_patent=True, examiner="Ada",
                                study="pilot", session="s-1")
    write_search_csv(path, whose, [hit(1)])
    row = next(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert (row["query_page"], row["per_patent"]) == ("all", "1")
    assert (row["examiner"], row["study"], row["session"]) == ("Ada", "pilot", "s-1")

    fused = dataclasses.replace(META, text="Pillow", fusion={"image": 1.0, "text": 1.5})
    write_search_csv(path, fused, [hit(1)])
    assert next(csv.DictReader(path.open(encoding="utf-8-sig")))["score_weights"] == \
        "drawing 1 + text 1.5"
    write_search_csv(path, fused, [hit(1)], blind=True)
    assert next(csv.DictReader(path.open(encoding="utf-8-sig")))["score_weights"] == ""
    text_only = dataclasses.replace(fused, query=None, query_sha256=None)
    write_search_csv(path, text_only, [hit(1)])     # (it said "all figures" of no drawing)
    assert next(csv.DictReader(path.open(encoding="utf-8-sig")))["query_region"] == ""

    crop = dataclasses.replace(META, query_box=[5, 6, 70, 80], query_region="figure 2")
    fixed = hit(1)
    fixed.corrected = {"grant_date": "2021-02-02", "locarno": "06-01"}
    write_search_csv(path, crop, [fixed])
    row = next(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert row["query_region"] == "figure 2: 5 6 70 80"
    assert row["corrected_since"] == "grant_date=2021-02-02; locarno=06-01"
    page = reports.search_html(crop, [fixed, hit(2)])
    assert page.count("corrected since: now granted 2021-02-02, Locarno 06-01") == 1


def test_csv_files_open_in_a_spreadsheet_as_text_not_formulas(tmp_path):
    """A title or query text that begins like a formula (=, +, -, @) is written with a
    leading apostrophe, so a spreadsheet shows it rather than runs it; a negative score stays
    a number; the file starts with a byte-order mark, so Excel reads non-Latin titles."""
    import dataclasses

    evil = hit(1, score=-0.25)
    evil.title = '=HYPERLINK("http://evil.example/x","click")'
    greek = hit(2)
    greek.title = "Καρέκλα 中文 @home"
    meta = dataclasses.replace(META, text="+1 cmd|calc")
    path = tmp_path / "r.csv"
    write_search_csv(path, meta, [evil, greek])
    assert path.read_bytes().startswith(b"\xef\xbb\xbfsearch_id,")
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert rows[0]["title"] == "'" + evil.title and rows[0]["score"] == "-0.2500"
    assert rows[1]["title"] == greek.title and {r["text"] for r in rows} == {"'+1 cmd|calc"}


def test_blind_reports_hide_scores_and_model(tmp_path):
    path = tmp_path / "r.csv"
    write_search_csv(path, META, [hit(1)], blind=True)
    row = next(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert row["score"] == "" and row["model_id"] == ""
    page = reports.search_html(META, [hit(1)], blind=True)
    assert "tiny-123" not in page and "0.9000" not in page


def test_html_report_embeds_thumbnails_and_states_the_search(tmp_path):
    path = tmp_path / "r.html"
    thumb = np.full((20, 30), 255, np.uint8)
    reports.write_search_html(path, META, [hit(1), hit(2)], thumbnail=lambda h: thumb,
                              query_image=thumb, ratings={101: 2})
    page = path.read_text()
    assert page.count("data:image/png;base64,") == 3
    for text in ("2021-01-01", "06", "tiny-123", "2 Relevant", "42"):
        assert text in page
    assert "<b>US&nbsp;D906,013&nbsp;S</b>" in page        # a patent number on one line
    assert reports.RELEVANCE_RULE in page
    assert "P@10 of this search: 0.10 (1 relevant patent among its top 10, 1 drawing " \
        "rated)" in page


#: A logged ranking of 20 figures, each of its own patent (figure r at rank r).
RANKED = [{"rank": r, "score": 1 - r / 100, "figure_id": r, "patent_id": f"D{r:07d}"}
          for r in range(1, 21)]


def _store_with_ratings(tmp_path) -> Store:
    store = Store(tmp_path / "library.sqlite")
    ids = []
    for session, text in (("s1", "wax warmer"), ("s1", None), ("s1", None), ("s2", None)):
        ids.append(store.log_search(query_path="/q.png", query_sha256="x", query_page=0,
                                    query_box=None, before="2020-01-01", locarno=None,
                                    text=text, model_id="m", k=20, results=RANKED,
                                    params={"text_words_read": 1} if text else None,
                                    examiner="ada", session=session))

    def rate(search, rank, value, examiner="ada", session="s1"):
        store.add_rating(search_id=ids[search], patent_id=f"D{rank:07d}", figure_id=rank,
                         rank=rank, rating=value, model_id="m", query_sha256="x",
                         examiner=examiner, study="pilot", session=session)
    rate(0, 1, 3)
    rate(0, 3, 1)
    rate(0, 5, 1)
    rate(0, 5, 2)            # re-rated: the latest rating counts
    rate(0, 12, 2)           # relevant but outside the top 10
    rate(1, 1, 0)
    rate(1, 2, 3, examiner="bob")
    rate(3, 1, 3, session="s2")
    return store


def test_session_summary_precision_at_10(tmp_path):
    store = _store_with_ratings(tmp_path)
    s = session_summary(store, "s1", "ada")
    assert (s.searches, s.rated, s.relevant) == (3, 5, 3)
    assert sorted(x.precision for x in s.per_search) == [0.0, 0.2]
    assert s.precision_at_10 == pytest.approx(0.1)
    assert "P@10 0.10" in s.text()
    assert session_summary(store, "nobody").precision_at_10 is None
    assert store.counts()["ratings"] == 7         # 8 rating events, one a change
    assert session_summary(store, "s1", "ada", study="pilot").rated == 5
    assert session_summary(store, "s1", "ada", study="other").rated == 0
    store.close()


def test_ratings_csv_lists_current_ratings_of_a_session(tmp_path):
    store = _store_with_ratings(tmp_path)
    path = tmp_path / "ratings.csv"
    assert write_ratings_csv(path, store, session="s1") == 6
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert set(rows[0]) == set(reports.RATINGS_COLUMNS)
    five = [r for r in rows if r["rank"] == "5"]
    assert len(five) == 1 and five[0]["rating"] == "2" and five[0]["relevant"] == "1"
    assert {r["query"] for r in rows} == {"/q.png"} and {r["before"] for r in rows} == \
        {"2020-01-01"}
    assert {r["text"] for r in rows if r["search_id"] == "1"} == {"wax warmer"}
    assert {r["text"] for r in rows if r["search_id"] != "1"} == {""}
    assert {(r["search_id"], r["text_words_read"]) for r in rows} == {("1", "1"), ("2", "")}
    assert write_ratings_csv(path, store) == 7
    assert write_ratings_csv(path, store, study="other") == 0
    assert write_ratings_csv(path, store, examiner="bob") == 1
    assert [r["examiner"] for r in csv.DictReader(path.open(encoding="utf-8-sig"))] == ["bob"]
    assert write_ratings_csv(path, store, session="s2", examiner="bob") == 0
    store.close()


def test_rating_events_csv_keeps_every_change_in_order(tmp_path):
    """The events export keeps what the current ratings drop: the rating a change replaced,
    a cleared rating, and the order they were made in."""
    store = _store_with_ratings(tmp_path)
    store.add_rating(search_id=1, patent_id="D0000003", figure_id=3, rank=3, rating=None,
                     model_id="m", query_sha256="x", examiner="ada", study="pilot",
                     session="s2")                       # cleared in a later session
    path = tmp_path / "events.csv"
    assert write_rating_events_csv(path, store) == 9
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert list(rows[0]) == reports.RATING_EVENTS_COLUMNS
    assert [int(r["event_id"]) for r in rows] == list(range(1, 10))
    rank5 = [(r["change"], r["previous_rating"], r["rating"]) for r in rows
             if r["rank"] == "5"]
    assert rank5 == [("rated", "", "1"), ("changed", "1", "2")]
    assert {r["text_words_read"] for r in rows if r["rank"] == "5"} == {"1"}
    assert (rows[-1]["change"], rows[-1]["previous_rating"], rows[-1]["rating"],
            rows[-1]["session"]) == ("cleared", "1", "", "s2")
    # bob's rating of a result ada rated too is his first, not a change of hers
    assert [r["change"] for r in rows if r["examiner"] == "bob"] == ["rated"]
    assert write_rating_events_csv(path, store, session="s2") == 2
    assert [r["change"] for r in csv.DictReader(path.open(encoding="utf-8-sig"))] == \
        ["rated", "cleared"]
    assert write_rating_events_csv(path, store, examiner="bob", study="pilot") == 1
    assert write_rating_events_csv(path, store, study="") == 0
    store.close()


def test_thumbnails_are_cached_on_disk_and_refreshed_when_the_file_changes(tmp_path,
                                                                          monkeypatch):
    page = np.full((1000, 800), 255, np.uint8)
    page[100:600, 100:700:50] = 0
    src = tmp_path / "sheet.png"
    Image.fromarray(page).save(src)
    (tmp_path / "lib").mkdir()                  # (a library's folder, not made by its cache)
    cache = ThumbnailCache.for_library(tmp_path / "lib")
    first = cache.thumbnail(src, 0, (100, 100, 700, 600), side=120)
    assert max(first.shape) == 120 and first.min() < 160
    assert len(list((tmp_path / "lib" / "thumbnails").rglob("*.png"))) == 1

    import core.thumbnails as thumbnails

    def no_decoding(*args):
        raise AssertionError("decoded although cached")
    monkeypatch.setattr(thumbnails, "read_page", no_decoding)
    assert np.array_equal(cache.thumbnail(src, 0, (100, 100, 700, 600), side=120), first)
    monkeypatch.undo()
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    cache.thumbnail(src, 0, (100, 100, 700, 600), side=120)
    assert len(list((tmp_path / "lib" / "thumbnails").rglob("*.png"))) == 2
    whole = ThumbnailCache(None).thumbnail(src, 0, None, side=100)
    assert whole.shape == (100, 80)


def test_fit_keeps_one_pixel_lines_visible():
    image = np.full((2000, 2000), 255, np.uint8)
    image[:, 1000] = 0
    small = fit(image, 200)
    assert small.shape == (200, 200) and small.min() < 170


def test_pad_square_centres_on_white():
    out = pad_square(np.zeros((10, 4), np.uint8))
    assert out.shape == (10, 10) and out[:, :3].min() == 255 and out[:, 3:7].max() == 0


def test_figure_thumbnail_shows_the_box_on_white_paper_only():
    """A label or a neighbouring figure just outside the box never shows in the margin."""
    from core.thumbnails import crop

    page = np.full((400, 400), 255, np.uint8)
    page[100:200, 100:200] = 0            # the figure
    page[205:215, 120:180] = 0            # its "FIG. 1" label, just below the box
    out = crop(page, (100, 100, 200, 200))
    assert out.shape == (108, 108)        # box + a 4 % margin on each side
    assert (out[:4] == 255).all() and (out[-4:] == 255).all()
    assert (out[:, :4] == 255).all() and (out[:, -4:] == 255).all()
    assert (out[4:-4, 4:-4] == 0).all()


def test_a_report_names_the_query_page_or_every_page():
    from core.search import SearchResponse

    def meta(query, pages):
        return ReportMeta.from_response(SearchResponse(
            query=query, model_id="m", before=None, locarno=None, text=None, results=[],
            query_figures=[[0, 0, 9, 9]] * len(pages), query_pages=pages))

    rows = lambda m: dict(m.lines())  # noqa: E731
    assert rows(meta("/q/app.pdf", [2, 2]))["Query page"] == "3"
    assert rows(meta("/q/app.pdf", [0, 1, 1, 3]))["Query page"] == "every page of the file"
    assert "Query page" not in rows(meta(None, [0]))               # a pasted image
    logged = {"query_path": "/q/app.pdf", "query_page": None, "id": 3}
    assert ReportMeta.from_record(logged).query_page == "all"
    assert ReportMeta.from_record({**logged, "query_page": 1}).query_page == "2"
    assert "every page of the file" in reports.search_html(meta("/q/app.pdf", [0, 1]), [])
    # pages of printed text an all-pages search left out, now and from the log
    left = ReportMeta.from_response(SearchResponse(
        query="/q/app.pdf", model_id="m", before=None, locarno=None, text=None, results=[],
        query_figures=[[0, 0, 9, 9]] * 2, query_pages=[0, 3], text_pages=[1, 2]))
    assert rows(left)["Pages left out"] == "2, 3 (printed text)"
    again = ReportMeta.from_record({**logged, "params": {"text_pages": [1, 2]}})
    assert rows(again)["Pages left out"] == "2, 3 (printed text)"
    assert "Pages left out" not in rows(ReportMeta.from_record(logged))


def test_a_report_that_cannot_be_finished_leaves_the_old_file_whole(tmp_path, monkeypatch):
    """A full disk (or any failure) mid-export: the earlier report stays as it was and no
    half-written file or temporary is left."""
    store = _store_with_ratings(tmp_path)
    path = tmp_path / "ratings.csv"
    assert write_ratings_csv(path, store, session="s1") == 6
    before = path.read_bytes()

    def full_disk(*args, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(reports, "display_patent_id", full_disk)   # fails after the header
    with pytest.raises(OSError, match="No space"):
        write_ratings_csv(path, store)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "ratings" in p.name) == ["ratings.csv"]
    store.close()


def test_a_full_disk_while_logging_says_so_and_leaves_the_store_usable(tmp_path):
    """SQLite's "database or disk is full" is a clear disk-full error (not "damaged, move
    the library aside"), nothing is half-written, and writing works once there is room."""
    from core.store import DiskFullError

    store = _store_with_ratings(tmp_path)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")      # the disk is now full
    big = [{"figure_id": i, "score": 0.5, "patent_id": f"D{i:07d}"} for i in range(20000)]
    with pytest.raises(DiskFullError, match="disk holding the library is full"):
        store.log_search(query_path="/q.png", query_sha256="x", query_page=0, query_box=None,
                         before=None, locarno=None, text=None, model_id="m", k=20,
                         results=big, examiner="ada")
    assert store.conn.execute("SELECT COUNT(*) FROM searches").fetchone()[0] == 4
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    store.log_search(query_path="/q.png", query_sha256="x", query_page=0, query_box=None,
                     before=None, locarno=None, text=None, model_id="m", k=20, results=big,
                     examiner="ada")
    assert store.conn.execute("SELECT COUNT(*) FROM searches").fetchone()[0] == 5
    store.close()


def test_a_library_on_a_full_disk_still_opens_for_reading_and_leaves_nothing(tmp_path,
                                                                         monkeypatch):
    """Opening a library writes its journal files; on a full disk that fails, so it opens
    read-only instead (searching and listing work), removes the journal files it made, and
    a write says the disk is full."""
    import sqlite3

    import core.store as store_module
    from core.store import DiskFullError, Store

    _store_with_ratings(tmp_path).close()
    db = tmp_path / "library.sqlite"
    assert not (tmp_path / "library.sqlite-wal").exists()
    connect = sqlite3.connect

    class Full(sqlite3.Connection):
        def execute(self, sql, *args):
            out = super().execute(sql, *args)         # the journal files are made, then
            if sql.startswith("PRAGMA journal_mode"):  # the disk has no room for them
                raise sqlite3.OperationalError("disk I/O error")
            return out

    def full_connect(target, *args, **kw):
        return connect(target, *args, **kw) if kw.get("uri") else \
            connect(target, *args, factory=Full, **kw)
    monkeypatch.setattr(store_module.sqlite3, "connect", full_connect)
    monkeypatch.setattr(store_module, "no_room", lambda path: errno.ENOSPC)
    store = Store(db, create=False)
    try:
        assert store.read_only and store.disk_was_full
        assert store.conn.execute("SELECT COUNT(*) FROM searches").fetchone()[0] == 4
        assert not (tmp_path / "library.sqlite-wal").exists()
        assert not (tmp_path / "library.sqlite-shm").exists()
        with pytest.raises(DiskFullError, match="disk holding the library is full"):
            store.log_search(query_path="/q.png", query_sha256="x", query_page=0,
                             query_box=None, before=None, locarno=None, text=None,
                             model_id="m", k=20, results=[], examiner="ada")
    finally:
        store.close()


def test_a_search_by_its_text_alone_is_not_called_a_pasted_image():
    meta = ReportMeta(query=None, query_sha256=None, before="2019-06-01", locarno=None,
                      text="wax warmer", model_id="m")
    lines = dict(meta.lines())
    assert lines["Query"] == "no drawing: the text alone" and "Query region" not in lines
    pasted = ReportMeta(query=None, query_sha256="ab", before=None, locarno=None, text=None,
                        model_id="m")
    assert dict(pasted.lines())["Query"] == "(pasted image)"


def test_ratings_outside_a_study_are_kept_apart_from_a_studys(tmp_path):
    """An empty study ("") means ratings made outside any study, not every study's."""
    store = _store_with_ratings(tmp_path)            # all rated in study "pilot"
    sid = store.log_search(query_path="/q.png", query_sha256="x", query_page=0, query_box=None,
                           before=None, locarno=None, text=None, model_id="m", k=20,
                           results=[], examiner="ada", session="s1")
    store.add_rating(search_id=sid, patent_id="D0000001", figure_id=1, rank=1, rating=3,
                     model_id="m", query_sha256="x", examiner="ada", study=None, session="s1")
    path = tmp_path / "r.csv"
    assert write_ratings_csv(path, store, session="s1", study="") == 1
    assert [r["study"] for r in csv.DictReader(path.open(encoding="utf-8-sig"))] == [""]
    assert session_summary(store, "s1", "ada", study="").rated == 1
    assert session_summary(store, "s1", "ada", study="").searches == 4   # (logged outside)
    assert session_summary(store, "s1", "ada", study="pilot").rated == 5
    store.close()


def test_p_at_10_counts_the_searchs_top_10_patents_however_the_results_were_shown(tmp_path):
    """P@10 counts relevant patents among the logged ranking's first 10 patents (each at its
    best figure's place): a patent counts once however many of its figures are rated, and the
    same ratings give the same P@10 in the summary and the report, whether the examiner
    rated them grouped by patent or figure by figure."""
    # 30 figures of 15 patents: patent p holds the figures at ranks p and p + 15
    ranked = [{"rank": r, "score": 1 - r / 100, "figure_id": r,
               "patent_id": f"D{(r - 1) % 15:07d}"} for r in range(1, 31)]
    store = Store(tmp_path / "library.sqlite")
    sid = store.log_search(query_path="/q.png", query_sha256="x", query_page=0, query_box=None,
                           before=None, locarno=None, text=None, model_id="m", k=30,
                           results=ranked, examiner="ada", session="s1")
    # ada rates grouped by patent (positions 1, 2, 4 and 12), bob figure by figure; both the
    # second figures of the top patents and figures of patents 1, 2, 4 and 12
    for examiner, figures in (("ada", (1, 16, 2, 4, 12)), ("bob", (16, 17, 19, 27))):
        for f in figures:
            store.add_rating(search_id=sid, patent_id=ranked[f - 1]["patent_id"], figure_id=f,
                             rank=f, rating=3, model_id="m", query_sha256="x",
                             examiner=examiner, session="s1")
    assert session_summary(store, "s1", "ada").precision_at_10 == pytest.approx(0.3)
    assert session_summary(store, "s1", "bob").precision_at_10 == pytest.approx(0.3)
    hits = [SearchHit(rank=x["rank"], score=x["score"], figure_id=x["figure_id"],
                      patent_id=x["patent_id"], title=None, locarno=None, locarno_title=None,
                      grant_date=None, filing_date=None, image="p.png", page_index=0,
                      page_kind=None, sheet=None, figure=[0, 0, 1, 1]) for x in ranked]
    for figures in ((1, 16, 2, 4, 12), (16, 17, 19, 27)):
        line = reports.precision_line(hits, {f: 3 for f in figures})
        assert line.startswith("P@10 of this search: 0.30 (3 relevant patents among its top 10")
    store.close()


def test_a_rating_changed_in_a_later_session_belongs_to_that_session(tmp_path):
    """What the examiner's screen shows (the latest rating of each result) is what the
    sessions' exports and summaries count, each rating in the session it was last set in."""
    store = Store(tmp_path / "library.sqlite")
    sid = store.log_search(query_path="/q.png", query_sha256="x", query_page=0, query_box=None,
                           before=None, locarno=None, text=None, model_id="m", k=20,
                           results=[], examiner="ada", session="s1")

    def rate(figure, value, session):
        store.add_rating(search_id=sid, patent_id=f"D000000{figure}", figure_id=figure,
                         rank=figure, rating=value, model_id="m", query_sha256="x",
                         examiner="ada", session=session)
    for figure, value in ((1, 3), (2, 2), (3, 1)):
        rate(figure, value, "s1")
    rate(1, None, "s2")                          # reopened in s2: cleared and re-rated
    rate(2, 1, "s2")
    by = {s: {r["figure_id"]: r["rating"] for r in store.current_ratings(session=s)}
          for s in ("s1", "s2")}
    assert by == {"s1": {3: 1}, "s2": {2: 1}}
    assert session_summary(store, "s1", "ada").rated == 1
    store.close()


def test_a_report_of_a_part_of_the_sheet_outlines_that_part_on_the_query(tmp_path):
    """A crop (or one figure) searched is drawn as a red rectangle on the report's query
    page, where it lies on the page; a search of the whole sheet shows it unmarked."""
    import base64
    import io
    import re

    from core.thumbnails import REGION_RGB, query_thumbnail

    page = np.full((1000, 800), 255, np.uint8)
    src = tmp_path / "sheet.png"
    Image.fromarray(page).save(src)
    cache = ThumbnailCache(None)
    assert query_thumbnail(cache, str(src), 0).ndim == 2
    marked = query_thumbnail(cache, str(src), 0, box=(200, 100, 600, 500))
    assert marked.shape == (400, 320, 3)
    red = np.all(marked == REGION_RGB, axis=2)
    ys, xs = np.nonzero(red)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (80, 40, 240, 200)   # the box / 2.5
    assert not red[45:195, 85:235].any()                  # an outline, not a fill
    assert query_thumbnail(cache, str(tmp_path / "gone.png"), 0, box=(0, 0, 9, 9)) is None

    from core._hashing import sha256_file

    meta = ReportMeta(**{**META.__dict__, "query": str(src), "query_box": [200, 100, 600, 500],
                         "query_sha256": sha256_file(src)})       # (the file searched)
    path = tmp_path / "r.html"
    told = []
    reports.write_search_report(path, meta, [hit(1), hit(2)], thumbnails=cache,
                                query_page=(str(src), 0),
                                progress=lambda done, total: told.append((done, total)))
    assert told == [(1, 2), (2, 2)]                   # each result's picture, as drawn
    uri = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", path.read_text()).group(1)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB"))
    assert np.all(shown == REGION_RGB, axis=2).any()


def test_a_summary_names_searches_of_another_session_rated_in_this_one(tmp_path):
    store = Store(tmp_path / "library.sqlite")
    ids = [store.log_search(query_path="/q.png", query_sha256=None, query_page=0,
                            query_box=None, before=None, locarno=None, text=None, model_id="m",
                            k=20, results=RANKED, examiner="ann", session=s)
           for s in ("s1", "s2")]
    for sid in ids:                              # both rated in s2
        store.add_rating(search_id=sid, patent_id="D0000001", figure_id=1, rank=1, rating=3,
                         model_id="m", query_sha256=None, examiner="ann", session="s2")
    assert session_summary(store, "s2", "ann").text().startswith(
        "1 search, 2 rated (1 of them made in another session); 2 results rated")
    assert session_summary(store, "s1", "ann").text().startswith("1 search, 0 rated;")
    store.close()


def test_the_header_of_a_search_shown_blind_says_so():
    """A logged search the examiner saw blind (no scores, ties shuffled) says so in its
    header, which `history ID` and the reports print; others say nothing of it."""
    rec = {"id": 3, "query_path": "/q.png", "query_sha256": "ab", "query_page": 0,
           "model_id": "m", "params": {"allowed": 5, "blind": True}}
    assert ("Shown", "blind (no scores; results of equal score in random order)") in \
        ReportMeta.from_record(rec).lines()
    rec["params"] = {"allowed": 5}
    assert "Shown" not in dict(ReportMeta.from_record(rec).lines())


def test_counts_are_said_in_the_singular_for_one():
    """"1 results", "1 searches" in report headings and session summaries."""
    from core.reports import counted

    assert [counted(n, "search") for n in (0, 1, 3)] == ["0 searches", "1 search", "3 searches"]
    assert [counted(n, "result") for n in (1, 2)] == ["1 result", "2 results"]


def test_a_report_of_a_logged_search_says_which_results_are_gone(tmp_path):
    """A logged search reported after some of its results left the library (their pages
    dropped) listed the others and said nothing, its P@10 lower than the ratings summary's:
    the heading, the precision line and the CSV say how many the log holds."""
    rec = {"id": 7, "query_path": "/q/query.png", "query_sha256": "ab" * 32,
           "before": "2021-01-01", "model_id": "tiny-123", "at": "2026-01-01T00:00:00",
           "results": [{"figure_id": 100 + r, "rank": r, "score": 0.9} for r in (1, 2, 3)]}
    meta = ReportMeta.from_record(rec)
    hits = [hit(1), hit(3, "D0910780")]                  # rank 2 gone from the library
    page = reports.search_html(meta, hits, ratings={101: 3})
    assert "2 results (1 more logged, no longer in the library: not listed)" in page
    assert "of the results listed: the 1 logged result no longer in the library, and their " \
           "ratings, are not counted" in page
    path = tmp_path / "r.csv"
    write_search_csv(path, meta, hits)
    assert {r["logged_results"] for r in csv.DictReader(path.open(encoding="utf-8-sig"))} == \
        {"3"}
    whole = reports.search_html(meta, [hit(1), hit(2), hit(3, "D0910780")], ratings={101: 3})
    assert "<h3>3 results</h3>" in whole and "not counted" not in whole
