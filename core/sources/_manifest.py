"""JSONL manifests (or a JSON array of the same rows): one row per page image.

A row names its image relative to the manifest's folder and repeats its patent's metadata:
patent_id, page_kind, sheet, page_index, grant_date, filing_date, priority_date, locarno,
locarno_edition, title, figure_descriptions, metadata_origin. Each of a patent's fields comes
from its first valid row that gives it (an empty field is filled by a later row); rows that
give another value get a warning.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from .._wording import first_few
from ..imageio import SUPPORTED_SUFFIXES, page_count_for_a_message
from ..locarno import LocarnoError, parse_locarno
from ..records import PageRecord, PatentRecord, SourceScan
from ._fields import (PAGE_KINDS, FieldError, SourceError, date_order_error, display_title,
                      future_grant_error, parse_date, priority_order_error,
                      title_from_figures)
from ._files import decode_text, iter_files, resolve_inside, text_encoding
from ._ids import normalize_patent_id

_PATENT_FIELDS = ("title", "grant_date", "filing_date", "priority_date", "locarno",
                  "locarno_edition", "figure_descriptions")


@dataclass
class _Row:
    where: str
    patent: PatentRecord
    page: PageRecord
    warnings: dict[str, str] = field(default_factory=dict)   # field -> a value not used
    page_given: bool = True                                  # the row has a page_index


def scan_manifest(path: str | Path, allow_absolute: bool = False, *,
                  whole_folder: bool = False) -> SourceScan:
    """Patents and pages of a manifest; bad rows become errors and the scan goes on.
    ``whole_folder``: the manifest stands for its folder (the folder was given), so the
    drawing files in it that no row names are said, not left out without a word."""
    path = Path(path).resolve()
    scan = SourceScan("manifest", path.parent)
    groups: dict[str, list[_Row]] = {}
    objects = _read_objects(path, scan)
    if whole_folder:
        scan.warnings += _unnamed(path, objects)
    for where, obj in objects:
        try:
            row = _parse_row(obj, where, path.parent, allow_absolute)
        except FieldError as exc:
            scan.errors.append((where, str(exc)))
            continue
        groups.setdefault(row.patent.patent_id, []).append(row)
    undated: list[str] = []
    seen: dict[tuple[Path, int], str] = {}
    first_only: dict[Path, bool] = {}       # file -> every accepted row lacks a page_index
    for pid, rows in groups.items():
        first = rows[0]
        patent, came_from = _merged(rows)
        # (checked before its rows claim their pages: a skipped row's page is no duplicate)
        if problem := date_order_error(patent.grant_date, patent.filing_date):
            where = came_from.get("filing_date", first.where)
            if came_from.get("grant_date", where) != where:
                problem += f" (grant_date from {came_from['grant_date']})"
        elif problem := future_grant_error(patent.grant_date):
            where = came_from.get("grant_date", first.where)
        if problem:
            scan.errors.append((where, f"{pid}: {problem}; patent skipped"))
            continue
        pages = []
        for row in rows:
            key = (row.page.path, row.page.page_index)
            if key in seen:
                scan.errors.append((row.where, f"duplicate page: as on {seen[key]}"))
                continue
            seen[key] = row.where
            pages.append(row.page)
            image = row.page.path
            first_only[image] = first_only.get(image, True) and not row.page_given
        if not pages:
            continue
        scan.pages.extend(pages)
        scan.warnings.extend(_unused_values(rows, patent))
        scan.warnings.extend(_disagreements(pid, rows, patent, came_from))
        if late := priority_order_error(patent.priority_date, patent.filing_date,
                                        patent.grant_date):
            where = came_from.get("priority_date", first.where)
            scan.warnings.append(f"{where}: {pid}: {late}: not a date it can claim; ignored")
            patent = replace(patent, priority_date=None)
        scan.patents[pid] = patent
        if patent.grant_date is None:
            undated.append(pid)
    scan.undated = undated
    scan.warnings += _first_pages_only([f for f, only in first_only.items() if only])
    return scan


_MULTI_PAGE = {".pdf", ".tif", ".tiff", ".gif", ".webp"}


def _first_pages_only(files: list[Path]) -> list[str]:
    """A warning naming the multi-page files that rows without a page_index name: such a row
    is the file's first page, and its other pages are not added."""
    many = []
    for f in files:
        if f.suffix.lower() in _MULTI_PAGE:
            n = page_count_for_a_message(f)[0]
            if n > 1:
                many.append(f"{f.name} ({n} pages)")
    if not many:
        return []
    return [f"{len(many)} multi-page file(s) are named by rows without a page_index, so only "
            f"their first page was added (first: {first_few(many)}): give a row per page with "
            "page_index 0, 1, ..., or add the files themselves, which adds every page"]


def _unnamed(path: Path, objects: list[tuple[str, object]]) -> list[str]:
    """A warning naming the drawing files in the manifest's folder that none of its rows
    names (a row skipped for another reason names its file too)."""
    named = set()
    for _, obj in objects:
        try:                    # (as rows find them: backslashes, either Unicode form)
            named.add(resolve_inside(path.parent, obj.get("image"), allow_absolute=True))
        except (FieldError, AttributeError):
            continue
    left = [p for p in iter_files(path.parent, SUPPORTED_SUFFIXES) if p.resolve() not in named]
    if not left:
        return []
    return [f"{len(left)} drawing file(s) in {path.parent} are not named by its {path.name} "
            f"and were not added (first: {first_few([p.relative_to(path.parent) for p in left])}"
            "): name them in the manifest, or add the files themselves"]


def _read_objects(path: Path, scan: SourceScan) -> list[tuple[str, object]]:
    """``(where, decoded row)`` pairs; undecodable lines become errors in ``scan``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if text_encoding(data) in ("utf-16", "utf-32"):     # (Windows PowerShell 5's `>`)
        try:
            data = decode_text(data).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: not readable text ({exc.reason}); save it as UTF-8"
                              ) from None
    elif data.count(0) * 4 >= len(data) > 0:     # (mostly ASCII text as UTF-16: every other)
        raise SourceError(f"{path}: holds NUL bytes (UTF-16 text without its byte-order "
                          "mark?); save it as UTF-8")
    # (a JSON array saved as .jsonl, pretty-printed: one "invalid JSON" per line before)
    if path.suffix.lower() == ".json" or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        try:
            items = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise SourceError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
        if not isinstance(items, list):
            raise SourceError(f"{path}: a .json manifest must hold a list of row objects")
        out = [(f"{path.name} item {i}", item) for i, item in enumerate(items, 1)]
    else:
        out = []
        for lineno, line in enumerate(data.split(b"\n"), 1):
            where = f"{path.name} line {lineno}"
            if not line.strip():
                continue
            try:
                out.append((where, json.loads(line.decode("utf-8-sig"))))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                scan.errors.append((where, f"invalid JSON ({str(exc)[:200]})"))
    if not out and not scan.errors:
        raise SourceError(f"{path}: the manifest has no rows")
    return out


def _parse_row(obj: object, where: str, root: Path, allow_absolute: bool) -> _Row:
    if not isinstance(obj, dict):
        raise FieldError(f"not a JSON object but {type(obj).__name__}")
    pid = normalize_patent_id(obj.get("patent_id"))
    if pid is None:
        raise FieldError(f"patent_id: missing or not a patent id: {obj.get('patent_id')!r}")
    image = resolve_inside(root, obj.get("image"), allow_absolute)
    kind = obj.get("page_kind")
    if kind is not None and kind not in PAGE_KINDS:
        raise FieldError(f"page_kind: {kind!r} is not one of {', '.join(PAGE_KINDS)} or null")
    page = PageRecord(pid, image, page_index=_int(obj, "page_index", 0) or 0, page_kind=kind,
                      sheet=_int(obj, "sheet", 1))
    page_given = obj.get("page_index") is not None
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise FieldError(f"title: not a string: {title!r}")
    title = title if title and title.strip() else None     # (spaces: none, another fills it)
    figures = obj.get("figure_descriptions") or []
    if not isinstance(figures, list) or not all(isinstance(f, str) for f in figures):
        raise FieldError("figure_descriptions: not a list of strings")
    synthetic = obj.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise FieldError(f"synthetic: not true or false: {synthetic!r}")
    warnings: dict[str, str] = {}
    extra = {"source": "manifest",
             "title_display": display_title(title) or title_from_figures(figures)}
    if isinstance(obj.get("metadata_origin"), str):
        extra["metadata_origin"] = obj["metadata_origin"]
    patent = PatentRecord(
        pid, title=title, grant_date=parse_date(obj.get("grant_date"), "grant_date"),
        filing_date=parse_date(obj.get("filing_date"), "filing_date"),
        priority_date=parse_date(obj.get("priority_date"), "priority_date"),
        locarno=_locarno(obj.get("locarno"), where, warnings),
        locarno_edition=_edition(obj.get("locarno_edition"), where, warnings),
        figure_descriptions=list(figures), extra=extra, synthetic=synthetic)
    return _Row(where, patent, page, warnings, page_given)


def _int(obj: dict, name: str, minimum: int) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FieldError(f"{name}: not an integer >= {minimum}: {value!r}")
    return value


def _locarno(value: object, where: str, warnings: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    try:
        return parse_locarno(value)
    except LocarnoError as exc:
        warnings["locarno"] = f"{where}: locarno: {exc}; left out (a class the library has is kept)"
        return None


def _edition(value: object, where: str, warnings: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not text.isascii():
        warnings["locarno_edition"] = (f"{where}: locarno_edition: not an edition number: "
                                       f"{value!r}; ignored")
        return None
    return str(int(text))


def _empty(value: object) -> bool:
    return value is None or value == [] or isinstance(value, str) and not value.strip()


def _unused_values(rows: list[_Row], patent: PatentRecord) -> list[str]:
    """What the rows gave that could not be read, for the fields left unknown (a field
    another row filled is not "left out"), once per field."""
    out: dict[str, str] = {}
    for row in rows:
        for name, message in row.warnings.items():
            if _empty(getattr(patent, name)):
                out.setdefault(name, message)
    return list(out.values())


def _merged(rows: list[_Row]) -> tuple[PatentRecord, dict[str, str]]:
    """A patent as its rows give it: each field from the first row that has it (a field left
    empty on the first row is filled by a later one), and where each came from."""
    patent = replace(rows[0].patent, extra=dict(rows[0].patent.extra))
    came_from: dict[str, str] = {}
    for name in _PATENT_FIELDS:
        given = [r for r in rows if not _empty(getattr(r.patent, name))]
        if name == "locarno_edition" and patent.locarno is not None:
            # (the edition of the class kept: a row of another class gives none)
            given = [r for r in given if r.patent.locarno == patent.locarno]
        if given:
            setattr(patent, name, getattr(given[0].patent, name))
            came_from[name] = given[0].where
        elif name == "locarno_edition":
            patent.locarno_edition = None
    patent.extra["title_display"] = (display_title(patent.title)
                                     or title_from_figures(patent.figure_descriptions))
    if "metadata_origin" not in patent.extra:
        origin = next((r.patent.extra["metadata_origin"] for r in rows
                       if "metadata_origin" in r.patent.extra), None)
        if origin is not None:
            patent.extra["metadata_origin"] = origin
    return patent, came_from


def _disagreements(pid: str, rows: list[_Row], patent: PatentRecord,
                   came_from: dict[str, str]) -> list[str]:
    """Rows that give a field another value than the one kept (an empty one fills, not
    differs)."""
    out = []
    for name in _PATENT_FIELDS:
        for row in rows:
            value = getattr(row.patent, name)
            if not _empty(value) and value != getattr(patent, name):
                kept = came_from.get(name) or came_from.get("locarno", rows[0].where)
                out.append(f"{row.where}: {pid}: {name} differs from {kept}; kept the first")
                break
    return out
