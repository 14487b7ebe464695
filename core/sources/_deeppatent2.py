"""DeepPatent2 metadata (Ajayi et al. 2023): JSON records of US design drawings, 2007-2020.

A record carries ``patentID`` ("USD0871717-20200107": the patent and its grant date),
``Figure_file`` (the drawing sheet) and/or ``subfigure_file`` (one figure cut from it),
``object`` ("chair"), ``aspect`` ("front view"), ``captions`` and ``classification_locarno``
("0601"). Field names are matched case-insensitively; a file may hold a JSON array, an object
with a list inside, an object keyed by id, or JSON lines. For a library, every sheet is a page
(the core splits it into figures like any other sheet); a record with only a subfigure makes
that image the page. DeepPatent2 has no filing dates and no patent titles: the object name
stands in for the title.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Iterator

from ..locarno import LocarnoError, parse_locarno
from .._wording import counted, first_few
from ..records import PageRecord, PatentRecord, SourceScan
from ._fields import FieldError, SourceError, display_title
from ._files import decode_text, resolve_inside, text_encoding
from ._ids import normalize_patent_id

#: Keys that tell a DeepPatent2 record from a manifest row.
MARKER_FIELDS = ("patentid", "figure_file", "subfigure_file")
_GRANTED = re.compile(r"-(\d{4})(\d{2})(\d{2})$")


def record_field(rec: dict, *names: str):
    """The first non-empty of ``names`` in ``rec``, matched case-insensitively."""
    lower = {k.lower(): v for k, v in rec.items()}
    for n in names:
        v = lower.get(n.lower())
        if v not in (None, "", []):
            return v
    return None


def deeppatent2_records(path: str | Path, errors: list | None = None) -> Iterator[dict]:
    """The records of one DeepPatent2 JSON file, in file order (see ``deeppatent2_entries``)."""
    return (rec for _, rec in deeppatent2_entries(path, errors))


def deeppatent2_entries(path: str | Path, errors: list | None = None
                        ) -> Iterator[tuple[str, dict]]:
    """(where, record) of one DeepPatent2 JSON file, in file order: where is "line N" in a
    JSON-lines file, else "record N" (1-based). A JSON-lines file's bad line goes to
    ``errors`` as (where, why) and the others are read; without ``errors`` it raises."""
    name = Path(path).name
    text = decode_text(Path(path).read_bytes())
    try:
        data = json.loads(text)
    except ValueError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        for i, (n, line) in enumerate(lines):
            try:
                rec = json.loads(line)
            except ValueError as exc:
                why = (f"column {exc.colno}: {exc.msg}"
                       if isinstance(exc, json.JSONDecodeError) else str(exc))
                if i == 0 or errors is None:    # the first line too: not JSON lines at all
                    raise (whole if i == 0 else ValueError(f"line {n}: {why}")) from None
                errors.append((f"{name} line {n}", f"not JSON ({why})"))
                continue
            if isinstance(rec, dict):
                yield f"line {n}", rec
        return
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and
                 isinstance(v[0], dict)]
        if lists:
            data = lists[0]
        elif all(isinstance(v, dict) for v in data.values()):
            data = list(data.values())
        else:
            data = [data]
    yield from ((f"record {i}", r) for i, r in enumerate(data, 1) if isinstance(r, dict))


def is_deeppatent2(path: str | Path) -> bool:
    """Whether a .json file holds DeepPatent2 records (rather than manifest rows), from its
    first kilobytes: a year of DeepPatent2 is hundreds of megabytes, parsed once, by the scan."""
    try:
        with open(path, "rb") as f:
            raw = f.read(64 * 1024)
    except OSError:
        return False
    head = raw.decode(text_encoding(raw), "ignore").lower()
    return any(f'"{key}"' in head for key in MARKER_FIELDS)


def image_candidates(json_path: Path, name: str) -> list[tuple[Path, str]]:
    """(root, relative name) pairs where DeepPatent2 keeps the image ``name``: next to the
    JSON, in an ``images`` folder beside it, or in the ``images`` folder one folder up."""
    base = Path(name.replace("\\", "/")).name
    out: list[tuple[Path, str]] = []
    # (one folder up, its images folder only: a record's path resolved there reached any
    # folder beside the JSON's, ~/private_cases from a JSON saved in ~/Downloads)
    for root, rels in ((json_path.parent, (name, f"images/{base}", base)),
                       (json_path.parent.parent, (f"images/{base}",))):
        for rel in rels:
            if (root, rel) not in out:
                out.append((root, rel))
    return out


def scan_deeppatent2(path: str | Path, allow_absolute: bool = False) -> SourceScan:
    """Patents and pages of one DeepPatent2 JSON file; bad records become errors."""
    path = Path(path).resolve()
    scan = SourceScan("deeppatent2", path.parent)
    seen: set[Path] = set()
    try:
        records = list(deeppatent2_entries(path, scan.errors))
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: not readable DeepPatent2 JSON ({exc})") from None
    bad_classes: dict[str, str] = {}        # patent -> why its class is not one
    other_classes: dict[str, set[str]] = {}     # patent -> classes its later records give
    other_dates: dict[str, set[str]] = {}       # patent -> grant dates likewise
    views: dict[str, dict[int, str]] = {}
    for place, rec in records:
        where = f"{path.name} {place}"
        raw_id = str(record_field(rec, "patentID", "patent_id", "pid", "id") or "")
        pid = normalize_patent_id(raw_id.split("-")[0]) if raw_id else None
        if pid is None:
            scan.errors.append((where, f"no usable patent id ({raw_id!r})"))
            continue
        name = record_field(rec, "Figure_file", "figure_file", "subfigure_file", "subfigure")
        try:
            image = _locate(path, name, allow_absolute)
        except FieldError as exc:
            scan.errors.append((where, str(exc)))
            continue
        record = _patent(pid, raw_id, rec, bad_classes)
        if pid not in scan.patents:
            scan.patents[pid] = record
        else:                   # (a patent's records: one may lack what another gives)
            _fill(scan.patents[pid], record, other_classes, other_dates)
        if said := figure_sentence(rec):
            views.setdefault(pid, {}).setdefault(*said)
        if image not in seen:
            seen.add(image)
            sheet = record_field(rec, "Figure_file", "figure_file") is not None
            # (an image of one figure: its number orders it, as a sheet's number does)
            scan.pages.append(PageRecord(pid, image,
                                         page_kind="drawing_sheet" if sheet else None,
                                         sheet=None if sheet else figure_number(rec)))
    for pid, by_number in views.items():       # (read by enrich as a grant's FIG. sentences)
        scan.patents[pid].figure_descriptions = [by_number[n] for n in sorted(by_number)]
    if (records or scan.errors) and not scan.patents:
        raise SourceError(f"{path}: no usable DeepPatent2 record "
                          f"({scan.errors[0][1] if scan.errors else 'empty'})")
    # (said by the run once it has gone through: another source of it may date them)
    scan.undated = [pid for pid, p in scan.patents.items() if p.grant_date is None]
    bad = [f"{pid} {why}" for pid, why in bad_classes.items()
           if pid in scan.patents and scan.patents[pid].locarno is None]
    if bad:
        scan.warnings.append(f"{path.name}: {len(bad)} patents have a Locarno class that is "
                             f"not one, left out (a class the library has is kept): "
                             f"{first_few(bad, sep='; ')}")
    # (the date cuts the prior art: a silent pick of one would hide the other)
    for others, field, what in ((other_classes, "locarno", "Locarno classes"),
                                (other_dates, "grant_date", "grant dates")):
        differ = [f"{pid} {getattr(scan.patents[pid], field)} (also {', '.join(sorted(v))})"
                  for pid, v in others.items()]
        if differ:
            scan.warnings.append(f"{path.name}: {counted(len(differ), 'patent')} "
                                 f"{'has' if len(differ) == 1 else 'have'} records of other "
                                 f"{what}; each keeps its first record's: "
                                 f"{first_few(differ, sep='; ')}")
    return scan


def _fill(patent: PatentRecord, record: PatentRecord, other_classes: dict[str, set[str]],
          other_dates: dict[str, set[str]]) -> None:
    """``patent`` (from its first record) given what a later ``record`` of it gives and it
    lacks; a class or grant date other than its own is noted in ``other_classes`` or
    ``other_dates``."""
    if not patent.title and record.title:
        patent.title, patent.extra["title_display"] = record.title, \
            record.extra.get("title_display")
    if patent.grant_date is None:
        patent.grant_date = record.grant_date
    elif record.grant_date not in (None, patent.grant_date):
        other_dates.setdefault(patent.patent_id, set()).add(record.grant_date.isoformat())
    if patent.locarno is None:
        patent.locarno = record.locarno
    elif record.locarno not in (None, patent.locarno):
        other_classes.setdefault(patent.patent_id, set()).add(record.locarno)


def _locate(json_path: Path, name: object, allow_absolute: bool) -> Path:
    if not isinstance(name, str) or not name.strip():
        raise FieldError("no Figure_file or subfigure_file")
    for root, rel in image_candidates(json_path, name.strip()):
        try:
            return resolve_inside(root, rel, allow_absolute)
        except FieldError as exc:
            if "file not found" not in str(exc):    # unsafe or unreadable: no other place
                raise
    raise FieldError(f"image not found: {name} (looked beside the JSON, in its images folder "
                     "and in ../images)")


_FIG_NO = re.compile(r"(?:fig(?:ure)?\.?\s*)?(\d+)", re.IGNORECASE)


def figure_number(rec: dict) -> int | None:
    """The number of the figure a record shows ("FIG. 3", "3", "Figure 3" -> 3), or None."""
    fig = record_field(rec, "figid", "fig_id", "figure_number", "origreftext")
    m = _FIG_NO.search(str(fig)) if fig is not None else None
    return int(m.group(1)) if m else None


def figure_sentence(rec: dict) -> tuple[int, str] | None:
    """A record's figure number and its view as a grant's figure sentence ("FIG. 2 is a
    front view of the chair"), or None without both."""
    n = figure_number(rec)
    aspect = record_field(rec, "aspect", "view")
    if n is None or not isinstance(aspect, str) or not aspect.strip():
        return None
    aspect = " ".join(aspect.split()).lower()
    aspect += "" if aspect.endswith("view") else " view"
    obj = record_field(rec, "object", "object_title")
    return n, (f"FIG. {n} is a {aspect}"
               + (f" of the {' '.join(str(obj).split())}" if obj else ""))


def _patent(pid: str, raw_id: str, rec: dict, bad_classes: dict[str, str]) -> PatentRecord:
    m = _GRANTED.search(raw_id)
    grant = None
    if m:
        try:
            grant = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            grant = None
    obj = record_field(rec, "title", "object_title", "object")
    title = str(obj).strip() if obj else None
    raw_class = record_field(rec, "classification_locarno", "locarno")
    locarno = None
    if raw_class is not None:
        try:
            locarno = parse_locarno(raw_class)
        except LocarnoError as exc:
            bad_classes.setdefault(pid, str(exc))
    return PatentRecord(
        pid, title=title, grant_date=grant, locarno=locarno,
        extra={"source": "deeppatent2", "title_display": display_title(title) if title else None,
               "metadata_origin": "DeepPatent2 (object name as title; no filing date)"})
