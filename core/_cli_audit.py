"""``patent-examiner history`` and ``ratings``: the audit trail and the user-study ratings of a
library, from the command line (the GUI shows the same in its history panel and study dialog).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DIFFERS = 0, 1, 2, 3


def hit_lines(hits) -> list[str]:
    """One line per result: rank, score, patent, grant date, Locarno, title, page file."""
    wid = max([12] + [len(h.patent_id) for h in hits])
    return [f"{h.rank:4d}  {h.score:6.3f}  {h.patent_id:<{wid}} "
            f"{h.grant_date or 'undated':<10} {h.locarno or '--':<5}  "
            f"{in_columns(h.title or '', 48)}  {Path(h.image).name}" for h in hits]


def in_columns(text: str, n: int) -> str:
    """``text`` cut or padded to ``n`` terminal columns: a CJK character or an emoji takes
    two, a combining mark none (padding by characters put the next column out of line)."""
    import unicodedata

    out, used = [], 0
    for ch in text:
        w = 0 if unicodedata.combining(ch) else (
            2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)
        if used + w > n:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (n - used)


def _library(args):
    from .library import Library, library_path

    return Library(library_path(args.library), create=False)


def _query_text(rec: dict) -> str:
    from .reports import one_line

    if rec.get("query_path"):
        from .audit import searched_region

        page = rec.get("query_page")
        where = ["all pages"] if page is None else [f"page {page + 1}"] if page else []
        where += [searched_region(rec)] if rec.get("query_box") else []
        what = Path(rec["query_path"]).name + (f" ({', '.join(where)})" if where else "")
        return what + (f" + {one_line(rec['text'], 60)!r}" if rec.get("text") else "")
    return repr(one_line(rec["text"], 80)) if rec.get("text") else "(pasted image)"


def cmd_history(args) -> int:
    if args.search_id is not None:
        return (cmd_history_replay if args.replay else cmd_history_show)(args)
    if args.replay or args.report:
        flag = "--replay" if args.replay else "--report"
        print(f"patent-examiner: error: {flag} needs the ID of a logged search "
              "(`patent-examiner history` lists them)", file=sys.stderr)
        return EXIT_USAGE
    with _library(args) as lib:
        records = lib.store.searches(limit=args.limit or None, **{    # "": logged without
            k: getattr(args, k) or None for k in ("examiner", "study", "session")
            if getattr(args, k) is not None})
    if args.json:           # the log as JSON lines, newest first: enough to reopen each search
        for rec in records:
            print(json.dumps(rec))
        return EXIT_OK
    if not records:
        print("no searches logged" + (" for these filters" if any(
            getattr(args, k) is not None for k in ("examiner", "study", "session")) else ""))
        return EXIT_OK
    # (the study only where there is one: two studies may name a session alike)
    studies = any((r.get("study") or "").strip() for r in records)
    print(f"{'id':>5}  {'searched at (UTC)':<19}  {'examiner':<12} "
          + (f"{'study':<12} " if studies else "") + f"{'session':<12} {'before':<10} "
          f"{'class':<5} {'results':>7}  query")
    for r in records:
        print(f"{r['id']:>5}  {(r['at'] or '')[:19]:<19}  {in_columns(r['examiner'] or '-', 12)} "
              + (f"{in_columns(r.get('study') or '-', 12)} " if studies else "")
              + f"{in_columns(r['session'] or '-', 12)} {r['before'] or '-':<10} "
              f"{r['locarno'] or '-':<5} {len(r.get('results') or []):>7}  {_query_text(r)}")
    return EXIT_OK


def cmd_history_show(args) -> int:
    from .audit import logged_hits, search_record
    from .reports import ReportMeta

    with _library(args) as lib:
        rec = search_record(lib.store, args.search_id)
        hits = logged_hits(lib.store, rec)
        rows = lib.store.current_ratings(search_id=args.search_id)
        ratings = {}
        for r in rows:
            ratings.setdefault(r["figure_id"], []).append(
                f"{r['rating']}" + (f" ({r['examiner']})" if r["examiner"] else ""))
        if args.report:
            _write_report(lib, rec, hits, rows, args)
            return EXIT_OK              # the report is the output (not the search again)
    if args.json:
        print(json.dumps({**rec, "results": [
            {**h.to_json(), "ratings": ratings.get(h.figure_id, [])} for h in hits]}))
        return EXIT_OK
    meta = ReportMeta.from_record(rec)
    for key, value in meta.lines():
        print(f"{key + ':':<26}{' '.join(str(value).split())}")   # (a text's line breaks)
    missing = len(rec.get("results") or []) - len(hits)
    print(f"{'Results:':<26}{len(hits)}" + (f" ({missing} no longer in the library)"
                                              if missing else ""))
    corrected = sum(bool(h.corrected) for h in hits)
    if corrected:
        print(f"note: the library has corrected {corrected} of these results' patent data "
              "since; they are shown as they were, today's values in [ ]")
    for line, h in zip(hit_lines(hits), hits):
        rated = ratings.get(h.figure_id)
        print(line + (f"  rated {', '.join(rated)}" if rated else "") + _corrected_text(h))
    return EXIT_OK


def _corrected_text(hit) -> str:
    from .reports import corrected_text

    return f"  [now {corrected_text(hit)}]" if hit.corrected else ""


def _write_report(lib, rec: dict, hits, rows: list[dict], args) -> None:
    """The logged search as a report (HTML with thumbnails, or CSV), with one examiner's
    ratings: --examiner's, or the only examiner's who rated it."""
    from tqdm import tqdm

    from ._names import normal_name
    from .audit import moved_library_page
    from .reports import ReportMeta, report_format, write_search_report
    from .thumbnails import ThumbnailCache

    raters = sorted({normal_name(r["examiner"] or "") for r in rows})
    examiner = args.examiner if args.examiner is not None else \
        raters[0] if len(raters) == 1 else None
    ratings = {r["figure_id"]: r["rating"] for r in rows
               if examiner is not None and normal_name(r["examiner"] or "") == examiner}
    if examiner is None and rows:
        print(f"note: {len(raters)} examiners rated this search; the report leaves ratings "
              "out (--examiner NAME puts one examiner's in)", file=sys.stderr)
    page = rec.get("query_page") or 0
    query = rec.get("query_path")
    if query and not Path(query).is_file():         # a library page or kept query, moved
        query = moved_library_page(lib.store, rec) or query
    meta = ReportMeta.from_record(rec).with_ratings_of(examiner, bool(ratings))
    with tqdm(total=len(hits), desc="report pictures", unit="result", file=sys.stderr,
              dynamic_ncols=True, disable=report_format(args.report) != "html") as bar:
        write_search_report(args.report, meta, hits,
                            thumbnails=ThumbnailCache.for_library(lib.path),
                            query_page=(query, page) if query else None, ratings=ratings,
                            progress=lambda done, _total: bar.update(done - bar.n))
    print(f"wrote {args.report}", file=sys.stderr)


def _report_file(text: str) -> Path:
    import argparse

    from .reports import REPORT_FORMATS

    if REPORT_FORMATS.get(Path(text).suffix.lower()) not in ("html", "csv"):
        raise argparse.ArgumentTypeError(f"{text}: a report file ends in .html or .csv (PDF "
                                         "from the desktop app, or print the HTML)")
    return _in_a_folder(text)       # (said before the pictures are drawn, not after)


def _in_a_folder(text: str) -> Path:
    """The file a user named to write, refused where its folder does not exist."""
    import argparse

    path = Path(text).expanduser()
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: there is no folder {path.parent}")
    return path


def csv_file(what: str):
    """An argparse type for a CSV file to write: a name ending in .csv in a folder that exists
    (a slip such as ``--out library.sqlite`` must not replace another file with ``what``)."""
    def check(text: str) -> Path:
        import argparse

        if Path(text).suffix.lower() != ".csv":
            raise argparse.ArgumentTypeError(f"{text}: {what} are written as CSV: give a "
                                             "file name ending in .csv")
        return _in_a_folder(text)
    return check


def cmd_history_replay(args) -> int:
    from .audit import replay
    from .embed import pick_device
    from .search import Searcher

    with _library(args) as lib:
        model = lib.load_model(args.model)
        model.to(pick_device(None))
        result = replay(Searcher(lib, model), args.search_id)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(result.text())
        if result.first_difference is not None and result.response is not None:
            print("now:" + ("" if result.response.results else " no results"))
            for line in hit_lines(result.response.results[:max(10, result.first_difference)]):
                print(line)
    return EXIT_OK if result.reproduced else EXIT_DIFFERS


def cmd_ratings(args) -> int:
    from .reports import (RELEVANCE_RULE, session_summary, write_rating_events_csv,
                          write_ratings_csv)

    if args.events and not args.out:
        print("error: --events says what --out writes: give --out FILE.csv with it",
              file=sys.stderr)
        return EXIT_USAGE
    if args.score:
        return cmd_ratings_score(args)
    with _library(args) as lib:
        store = lib.store
        who = dict(session=args.session, study=args.study, examiner=args.examiner)
        rows = store.current_ratings(**who)
        write = write_rating_events_csv if args.events else write_ratings_csv
        written = write(args.out, store, **who) if args.out else None
        # a group of ratings without an examiner (or study) is theirs, not everyone's; two
        # studies that name a session alike are two sessions
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault(tuple((r[k] or "").strip() for k in ("study", "session",
                                                                   "examiner")), []).append(r)
        summaries = [(st or None, session_summary(store, s or None, e, study=st,
                                                  ratings=groups[st, s, e]))
                     for st, s, e in sorted(groups)]
    if args.json:
        print(json.dumps({"ratings": len(rows), "written": written,
                          "sessions": [{"study": st, "session": s.session,
                                        "examiner": s.examiner,
                                        "searches": s.searches, "rated_searches":
                                        len(s.per_search), "rated": s.rated,
                                        "relevant": s.relevant,
                                        "precision_at_10": s.precision_at_10}
                                       for st, s in summaries]}))
        return EXIT_OK
    if not rows:
        print("no ratings" + (" for these filters" if any(
            v is not None for v in (args.session, args.study, args.examiner)) else ""))
    for st, s in summaries:
        print((f"study {st}, " if st else "")
              + f"session {s.session or '-'}, examiner {s.examiner or '-'}: {s.text()}")
    if rows:
        print(f"({RELEVANCE_RULE})")
    if written is not None:
        print(f"wrote {written} rating{' event' if args.events else ''}(s) to {args.out}",
              file=sys.stderr)
    return EXIT_OK


def cmd_ratings_score(args) -> int:
    from tqdm import tqdm

    from .embed import pick_device
    from .judgments import score_by_ratings
    from .search import Searcher

    with _library(args) as lib:
        model = lib.load_model(args.model)
        model.to(pick_device(None))
        bars: list = []                 # made once the number of rated searches is known

        def progress(done: int, total: int) -> None:
            if not bars and total:
                bars.append(tqdm(total=total, desc="rated searches", unit="search",
                                 file=sys.stderr, dynamic_ncols=True))
            if bars:
                bars[0].update(done - bars[0].n)
        try:
            scores = score_by_ratings(Searcher(lib, model), session=args.session,
                                      study=args.study, examiner=args.examiner,
                                      progress=progress)
        finally:
            for bar in bars:
                bar.close()
    if args.json:
        print(json.dumps(scores.to_json()))
        return EXIT_OK
    for sid, why in scores.skipped:
        print(f"  skipped search #{sid}: {why.removeprefix(f'search #{sid}: ')}",
              file=sys.stderr)
    print(scores.text())
    return EXIT_OK


def register(sub, lib_arg) -> None:
    """Add ``history`` and ``ratings`` to the top-level subparsers."""
    h = sub.add_parser("history", help="the audit log: list logged searches, show one, or run "
                                       "one again to check that it reproduces")
    from .cli import name_filter, non_negative_int, positive_int

    h.add_argument("search_id", type=positive_int, nargs="?", metavar="ID",
                   help="show this search as it was shown, with its ratings")
    act = h.add_mutually_exclusive_group()
    act.add_argument("--report", type=_report_file, metavar="FILE",
                     help="with ID: write the search as a report, .html (with thumbnails) or "
                          ".csv")
    act.add_argument("--replay", action="store_true",
                     help="with ID: run the search again and say whether it gives the same "
                          "ranking (exit status 3 when it does not)")
    lib_arg(h)
    for key in ("examiner", "study", "session"):
        h.add_argument(f"--{key}", type=name_filter, help=f"list only searches of this {key}"
                       + (" (with --report: put this examiner's ratings in)"
                          if key == "examiner" else ""))
    h.add_argument("--model", metavar="NAME_OR_PATH",
                   help="with --replay: the library's model, where it is now if it has moved "
                        "(remembered)")
    h.add_argument("--limit", type=non_negative_int, default=50,
                   help="list the newest N searches (default 50; 0 = all)")
    h.add_argument("--json", action="store_true",
                   help="JSON: the full log records (settings and ranked results), one per "
                        "line")
    h.set_defaults(func=cmd_history)

    r = sub.add_parser("ratings", help="relevance ratings of user studies: summary per "
                                       "session and examiner, CSV export, the model scored "
                                       "by them")
    lib_arg(r)
    r.add_argument("--session", type=name_filter, help="only this session")
    r.add_argument("--study", type=name_filter,
                   help="only this study (\"\": ratings made outside any study)")
    r.add_argument("--examiner", type=name_filter, help="only this examiner's ratings")
    what = r.add_mutually_exclusive_group()
    what.add_argument("--out", type=csv_file("the ratings"), metavar="FILE.csv",
                      help="write the ratings to this CSV file")
    r.add_argument("--events", action="store_true",
                   help="with --out: every rating event in the order made (rated, changed, "
                        "cleared or unchanged, with the rating each replaced), not only the "
                        "current ratings")
    what.add_argument("--score", action="store_true",
                      help="score the library's model by the ratings: every rated search run "
                           "again, nDCG@10 on the judged patents against the ranking the "
                           "examiners saw (core/judgments.py)")
    r.add_argument("--model", metavar="NAME_OR_PATH",
                   help="with --score: the library's model, where it is now if it has moved "
                        "(remembered)")
    r.add_argument("--json", action="store_true", help="the summary (or the scores) as JSON")
    r.set_defaults(func=cmd_ratings)
