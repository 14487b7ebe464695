"""Plain folders of drawing files (or one file) without metadata: one undated item per file.

Each file becomes a patent record ``IMG-<readable path>-<hash>`` titled with its file name, and
one page per page/frame of the file. Without a grant date these items are excluded by any date
cutoff; the scan says so in a warning. Files named as the USPTO names grant drawings
(``USD0871717-20200107-D00002.png``, also DeepPatent2's) say their patent, grant date and
sheet: they are grouped into that patent, dated.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from pathlib import Path

from .._names import NOT_UTF8, readable, storable
from ..imageio import SUPPORTED_SUFFIXES, ImageReadError, cut_off, page_count
from ..records import PageRecord, PatentRecord, SourceScan
from ._fields import FieldError, SourceError, parse_date
from ._files import iter_files
from ._ids import normalize_patent_id
from ._redbook import sheet_page

_READABLE_LEN = 40


def image_id(key: str) -> str:
    """``IMG-`` + the ASCII-folded path without suffix (40 chars at most) + 8 hex digits of
    its hash. Stable for a given path; distinct for distinct paths."""
    stem = key.rsplit(".", 1)[0] if "." in key.rsplit("/", 1)[-1] else key
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    readable = re.sub(r"[^A-Za-z0-9]+", "-", ascii_stem).strip("-")[:_READABLE_LEN].strip("-")
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"IMG-{readable}-{digest}" if readable else f"IMG-{digest}"


_USPTO_NAME = re.compile(r"(?P<doc>US[A-Z]{0,2}\d{5,8})-(?P<date>\d{8})-D(?P<sheet>\d{5})",
                         re.IGNORECASE | re.ASCII)


def uspto_drawing_name(stem: str) -> tuple[str, date, int] | None:
    """(patent id, grant date, sheet) from a USPTO drawing file name, or None."""
    m = _USPTO_NAME.fullmatch(stem)
    pid = normalize_patent_id(m.group("doc")) if m else None
    if pid is None:
        return None
    try:
        return pid, parse_date(m["date"], "file name"), int(m["sheet"])
    except FieldError:
        return None


def scan_folder(path: str | Path) -> SourceScan:
    """Every drawing file under ``path`` (recursively), or ``path`` itself when it is a file.

    Ids hash the path relative to the folder's parent (the folder's own name included), so
    the same file gets the same id in every scan and two folders' "a.png" differ.
    """
    path = Path(path).resolve()
    if path.is_file():
        root, files = path.parent, [path]
    elif path.is_dir():
        root, files = path, list(iter_files(path, SUPPORTED_SUFFIXES))
    else:
        raise SourceError(f"{path}: no such file or folder")
    if not files:
        suffixes = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise SourceError(f"{path}: holds no drawing files ({suffixes})")
    scan = SourceScan("folder", root)
    for file in files:
        if not storable(str(file)):
            scan.errors.append((readable(file), NOT_UTF8))
            continue
        key = file.relative_to(root.parent).as_posix()
        try:
            n, whole = page_count(file)
            if not whole:       # (the pages before the damage are added)
                scan.errors.append((f"{file}#{n + 1}", cut_off(str(file), n)))
        except ImageReadError as exc:
            scan.errors.append((str(file), str(exc)))
            continue
        except Exception as exc:  # a decoder's own exception: one bad file must not stop a scan
            scan.errors.append((str(file), f"cannot read ({type(exc).__name__}: {exc})"[:300]))
            continue
        named = uspto_drawing_name(file.stem)
        if named is not None:
            pid, grant, sheet = named
            scan.patents.setdefault(pid, PatentRecord(pid, grant_date=grant,
                                                      extra={"source": "folder"}))
            scan.pages.extend(sheet_page(pid, file, sheet, i) for i in range(n))
            continue
        pid = image_id(key)
        scan.patents[pid] = PatentRecord(pid, title=file.name, country="",
                                         extra={"source": "folder", "relative_path": key,
                                                "title_display": file.name})
        scan.pages.extend(PageRecord(pid, file, page_index=i) for i in range(n))
    scan.undated = [pid for pid, p in scan.patents.items() if p.grant_date is None]
    return scan
