"""USPTO Red Book design grants: ``us-patent-grant`` XML (v4.x) plus one TIFF per sheet.

Accepts one grant folder, a folder of grant folders, a weekly archive folder, or one XML file;
an XML file may concatenate many grants (weekly ``ipg`` files). Only design grants are kept;
``-D00000.TIF`` is the representative view (``front_view``), ``-D0000n.TIF`` is sheet n.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

from ..imageio import SUPPORTED_SUFFIXES
from ..locarno import LocarnoError, parse_locarno
from .._wording import first_few
from ..records import PageRecord, PatentRecord, SourceScan
from ._fields import (FieldError, SourceError, clean_description, date_order_error,
                      display_title, is_figure_description, parse_date, title_from_figures)
from ._files import iter_files
from ._ids import is_us_patent_id, normalize_patent_id
from ._xml import XMLError, iter_documents, parse_xml

#: Grant XML is looked for this many path parts below the root, the file's included: 8
#: folders down (root/grant/x.XML is 2; a folder of unpacked weekly archives,
#: root/year/I20210518/DESIGN/grant/x.XML, is 5).
XML_DEPTH = 9
_SHEET = re.compile(r"-D(\d{5})\.TIFF?$", re.IGNORECASE)


class _NotDesign(Exception):
    """A utility or plant grant, or the reissue of one: not part of a design library."""


def holds_grant_xml(root: Path, max_depth: int | None = XML_DEPTH) -> bool:
    """Whether an XML file within ``max_depth`` below ``root`` (None: at any depth) starts
    like a grant document (read until the first that does)."""
    for path in iter_files(root, {".xml"}, max_depth):
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError:
            continue
        if b"us-patent-grant" in head:
            return True
    return False


def scan_redbook(path: str | Path) -> SourceScan:
    """Grants and their drawing sheets under ``path`` (a folder or one XML file)."""
    path = Path(path).resolve()
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    # (one walk: the XML, and the drawings left outside every grant's folder, said below)
    found = [] if path.is_file() else list(iter_files(path, {".xml"} | SUPPORTED_SUFFIXES))
    xml_found = [p for p in found if p.suffix.lower() == ".xml"]
    files = [path] if path.is_file() else [
        p for p in xml_found if len(p.relative_to(path).parts) <= XML_DEPTH]
    if not files and len(xml_found) == len(files):      # (none deeper either: said below)
        raise SourceError(f"{path}: holds no XML files")
    scan = SourceScan("redbook", path if path.is_dir() else path.parent)
    skipped: list[str] = []
    for xml_path in files:
        try:
            for start, data in iter_documents(xml_path):
                where = f"{xml_path}" + (f" line {start}" if start > 1 else "")
                try:
                    patent, names, warnings = read_grant(data)
                except _NotDesign as exc:
                    skipped.append(str(exc))
                    continue
                except (FieldError, XMLError) as exc:
                    scan.errors.append((where, str(exc)))
                    continue
                _add_grant(scan, where, xml_path.parent, patent, names, warnings)
        except OSError as exc:
            scan.errors.append((str(xml_path), f"cannot read ({exc.strerror or exc})"))
    if path.is_dir():
        deep = [p for p in xml_found if len(p.relative_to(path).parts) > XML_DEPTH]
        if deep:                    # (their drawings are not "outside every grant's folder")
            scan.warnings.append(
                f"{len(deep)} XML file(s) lie more than {XML_DEPTH - 1} folders below {path} "
                f"and were not read (first: {first_few([p.relative_to(path) for p in deep])}): "
                "add a folder nearer to them as a source")
        scan.warnings += _unclaimed(path, [p for p in found if p.suffix.lower() != ".xml"],
                                    {xml.parent for xml in files + deep},
                                    {page.path for page in scan.pages})
    if skipped:
        scan.warnings.append(f"skipped {len(skipped)} grant(s) that are not design patents "
                             f"(utility, plant, or their reissues): {first_few(skipped, 5)}")
    return scan


def _unclaimed(root: Path, drawings: list[Path], grant_folders: set[Path],
               claimed: set[Path]) -> list[str]:
    """A warning naming the ``drawings`` under ``root`` outside every grant's folder (a
    folder of scans beside the grants): read as Red Book, the folder adds none of them."""
    left = [p for p in drawings if p not in claimed
            and p.parent not in grant_folders and p.parent.parent not in grant_folders]
    if not left:
        return []
    return [f"{len(left)} drawing file(s) in {root} lie outside every grant's folder and were "
            f"not added (first: {first_few([p.relative_to(root) for p in left])}): add their "
            "folder as a source of its own"]


def _add_grant(scan: SourceScan, where: str, folder: Path, patent: PatentRecord,
               names: list[str], warnings: list[str]) -> None:
    pid = patent.patent_id
    if pid in scan.patents:
        scan.errors.append((where, f"{pid}: duplicate grant, already read from "
                                   f"{scan.patents[pid].extra['source_file']}"))
        return
    pages, missing = [], []
    for name in names:
        found = _locate(folder, name)
        if found is None:
            missing.append(name)
        else:
            pages.append(_page(pid, found))
    if not pages:
        scan.errors.append((where, f"{pid}: none of its drawing files found "
                                   f"({first_few(names) or 'none listed'})"))
        return
    scan.errors.extend((where, f"{pid}: drawing file not found: {name}") for name in missing)
    patent.extra["source_file"] = where
    scan.patents[pid] = patent
    scan.pages.extend(pages)
    scan.warnings.extend(f"{where}: {pid}: {w}" for w in warnings)


def _locate(folder: Path, name: str) -> Path | None:
    """A drawing next to its XML or in a per-grant subfolder (weekly archive layout), its
    name's case as the XML writes it or another (unzipped or copied to a FAT drive:
    ``-d00001.tif``)."""
    for candidate in (folder / name, folder / _SHEET.split(name)[0] / name):
        if candidate.is_file():
            return candidate
    return _any_case(folder, [_SHEET.split(name)[0], name]) or _any_case(folder, [name])


def _any_case(folder: Path, parts: list[str]) -> Path | None:
    """``folder/parts...`` with each part matched whatever its case, or None."""
    for i, part in enumerate(parts):
        try:
            found = sorted(p for p in folder.iterdir() if p.name.casefold() == part.casefold())
        except OSError:
            return None
        if not found:
            return None
        folder = found[0]
        if i == len(parts) - 1:
            return folder if folder.is_file() else None
    return None


def _page(pid: str, path: Path) -> PageRecord:
    m = _SHEET.search(path.name)
    return PageRecord(pid, path) if m is None else sheet_page(pid, path, int(m.group(1)))


def sheet_page(pid: str, path: Path, sheet: int, page_index: int = 0) -> PageRecord:
    """The page of USPTO drawing file number ``sheet`` (D00000 is the front-page view)."""
    if sheet == 0:
        return PageRecord(pid, path, page_index, page_kind="front_view")
    return PageRecord(pid, path, page_index, page_kind="drawing_sheet", sheet=sheet)


def _text(el: ET.Element | None, sub: str = "") -> str | None:
    """Whitespace-normalised text of ``el`` (or of its child path ``sub``), None when empty."""
    if el is not None and sub:
        el = el.find(sub)
    if el is None:
        return None
    return " ".join("".join(el.itertext()).split()) or None


def read_grant(data: bytes) -> tuple[PatentRecord, list[str], list[str]]:
    """``(patent, drawing file names, warnings)`` from one grant document's bytes."""
    root = parse_xml(data)
    if root.tag != "us-patent-grant":
        raise FieldError(f"not a us-patent-grant document (root element <{root.tag}>)")
    bib = root.find("us-bibliographic-data-grant")
    pub = root.find("us-bibliographic-data-grant/publication-reference/document-id")
    appl = root.find("us-bibliographic-data-grant/application-reference")
    if bib is None or pub is None:
        raise FieldError("no us-bibliographic-data-grant/publication-reference")
    number = _text(pub, "doc-number")
    pid = normalize_patent_id(number)
    if pid is None or not is_us_patent_id(pid):
        raise FieldError(f"publication doc-number {number!r} is not a US patent number")
    # (a design's reissue, RE048999, is told by the Locarno class only designs are given)
    if not (pid.startswith("D") or (appl is not None and appl.get("appl-type") == "design")
            or pid.startswith("RE") and bib.find("classification-locarno/main-classification")
            is not None):
        raise _NotDesign(pid)
    grant, filing = _dates(pid, pub, appl)
    warnings: list[str] = []
    title = _text(bib, "invention-title")
    priority = _priority_claims(bib, warnings)   # sorted, earliest first
    parents = _parent_applications(bib, warnings)
    figures, notes = _drawing_descriptions(root)
    if title is None:
        warnings.append("no title (invention-title)" + (
            ": named from its figure descriptions" if title_from_figures(figures) else ""))
    extra = {
        "source": "redbook", "metadata_origin": "USPTO Red Book grant XML",
        "title_display": display_title(title) or title_from_figures(figures),
        "kind": _text(pub, "kind"),
        "application_number": _text(appl, "document-id/doc-number"),
        "priority_claims": priority, "parent_applications": parents, "drawing_notes": notes,
        **_citations(bib),
    }
    claimed = [date.fromisoformat(c["date"]) for c in priority + parents]
    patent = PatentRecord(
        pid, title=title, grant_date=grant, filing_date=filing,
        priority_date=min((d for d in claimed if d < filing), default=None),
        locarno=_locarno(bib, warnings),
        locarno_edition=_text(bib, "classification-locarno/edition"),
        figure_descriptions=figures, extra=extra)
    return patent, _drawing_names(root), warnings


def _dates(pid: str, pub: ET.Element, appl: ET.Element | None) -> tuple[date, date]:
    """Grant and filing dates, both required for a design grant."""
    found = []
    for el, sub, name in ((pub, "date", "grant date (publication-reference)"),
                          (appl, "document-id/date", "filing date (application-reference)")):
        try:
            day = parse_date(_text(el, sub), name)
        except FieldError as exc:
            raise FieldError(f"{pid}: {exc}") from None
        if day is None:
            raise FieldError(f"{pid}: design grant without a {name}")
        found.append(day)
    grant, filing = found
    if problem := date_order_error(grant, filing):
        raise FieldError(f"{pid}: {problem}")
    return grant, filing


def _locarno(bib: ET.Element, warnings: list[str]) -> str | None:
    code = _text(bib, "classification-locarno/main-classification")
    if code is None:
        warnings.append("no Locarno class (classification-locarno): added without one, so a "
                        "search filtered by class leaves it out")
        return None
    try:
        return parse_locarno(code)
    except LocarnoError as exc:
        warnings.append(f"classification-locarno: {exc}; left out (a class the library has "
                        "is kept)")
        return None


def _priority_claims(bib: ET.Element, warnings: list[str]) -> list[dict]:
    claims = []
    for claim in bib.iterfind("priority-claims/priority-claim"):
        try:
            day = parse_date(_text(claim, "date"), "priority-claim date")
        except FieldError as exc:
            warnings.append(f"{exc}; claim ignored")
            continue
        if day is not None:
            claims.append({"country": _text(claim, "country"),
                           "doc_number": _text(claim, "doc-number"), "date": day.isoformat()})
    return sorted(claims, key=lambda c: c["date"])


#: US applications whose filing date a grant claims as its own (35 U.S.C. 120, 121): a
#: divisional or continuation is judged against the prior art of its parent's filing date.
_PARENT_RELATIONS = ("division", "continuation", "continuation-in-part")


def _parent_applications(bib: ET.Element, warnings: list[str]) -> list[dict]:
    """The earlier US applications (a chain of divisions lists each link) whose filing date
    the grant claims, earliest first."""
    parents = []
    for relation in _PARENT_RELATIONS:
        for doc in bib.iterfind(f"us-related-documents/{relation}/relation/parent-doc"):
            try:
                day = parse_date(_text(doc, "document-id/date"), f"{relation} parent date")
            except FieldError as exc:
                warnings.append(f"{exc}; parent application ignored")
                continue
            if day is not None:
                granted = normalize_patent_id(_text(doc, "parent-grant-document/document-id/"
                                                         "doc-number") or "")
                parents.append({"relation": relation,
                                "doc_number": _text(doc, "document-id/doc-number"),
                                "date": day.isoformat(), "patent": granted})
    return sorted(parents, key=lambda c: c["date"])


def _drawing_descriptions(root: ET.Element) -> tuple[list[str], list[str]]:
    """("FIG. n is ..." paragraphs, other paragraphs such as the broken-line statement)."""
    figures, notes = [], []
    section = root.find("description/description-of-drawings")
    for p in section.iter("p") if section is not None else ():
        text = clean_description("".join(p.itertext()))
        if text:
            (figures if is_figure_description(text) else notes).append(text)
    return figures, notes


def _citations(bib: ET.Element) -> dict[str, list[str]]:
    """Cited US patents as canonical ids; other cited patent documents as "CC number kind"."""
    patents, other = [], []
    for doc in bib.iterfind(".//patcit/document-id"):
        country, number = _text(doc, "country"), _text(doc, "doc-number")
        cited = normalize_patent_id(number) if country == "US" else None
        if cited and is_us_patent_id(cited):
            patents.append(cited)
        elif number:
            other.append(" ".join(filter(None, (country, number, _text(doc, "kind")))))
    return {"cited_patents": list(dict.fromkeys(patents)), "cited_other": other}


def _drawing_names(root: ET.Element) -> list[str]:
    """Drawing file names listed in ``<drawings>`` (plain names only: no folders)."""
    names = [img.get("file", "") for img in root.iterfind("drawings/figure/img")]
    names = [n for n in names if n and n == Path(n).name and n not in (".", "..")]
    return list(dict.fromkeys(names))
