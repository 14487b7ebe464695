"""``scan_source``: tell a manifest, a Red Book folder and a plain image folder apart."""
from __future__ import annotations

from pathlib import Path

from ..imageio import SUPPORTED_SUFFIXES
from ..records import SourceScan
from ._archive import is_archive
from ._deeppatent2 import is_deeppatent2, scan_deeppatent2
from ._fields import SourceError, future_grant_error
from .._names import NOT_UTF8, readable, storable
from ._files import iter_files
from ._folder import scan_folder
from ._manifest import scan_manifest
from ._redbook import holds_grant_xml, scan_redbook

MANIFEST_SUFFIXES = {".jsonl", ".json"}


def scan_source(path: str | Path, allow_absolute: bool = False) -> SourceScan:
    """Scan whatever ``path`` is, without decoding any image.

    A .jsonl/.json file is a manifest (or DeepPatent2 metadata, told by its fields), a .xml
    file a grant (or weekly grant) file, an image or PDF file a single item. A folder is a
    manifest when it holds ``manifest.jsonl``, Red Book when grant XML lies at most
    ``XML_DEPTH`` parts below it, DeepPatent2 when it holds DeepPatent2 JSON files, otherwise
    a folder of images.
    ``allow_absolute`` lets manifest rows name files outside the manifest's folder.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise SourceError(f"{readable(path)}: no such file or folder")
    if not storable(str(path.resolve())):
        raise SourceError(f"{readable(path)}: {NOT_UTF8}")
    scan = _scan(path, allow_absolute)
    scan.source = path.resolve()
    _drop_future_grants(scan)
    _drop_unstorable_names(scan)
    return scan


def _drop_unstorable_names(scan: SourceScan) -> None:
    """Files whose names the library cannot record (not valid UTF-8) are skipped, named."""
    bad = {str(p.path) for p in scan.pages if not storable(str(p.path))}
    if not bad:
        return
    scan.pages = [p for p in scan.pages if str(p.path) not in bad]
    kept = {p.patent_id for p in scan.pages}
    for pid in [pid for pid in scan.patents if pid not in kept and not storable(
            " ".join(str(v) for v in vars(scan.patents[pid]).values()))]:
        del scan.patents[pid]
    scan.errors.extend((readable(name), NOT_UTF8) for name in sorted(bad))
    scan.errors = [(readable(item), readable(why)) for item, why in scan.errors]


def _drop_future_grants(scan: SourceScan) -> None:
    """A patent granted in the future (``future_grant_error``) and its pages are skipped
    with the reason."""
    future = {pid: why for pid, rec in scan.patents.items()
              if (why := future_grant_error(rec.grant_date))}
    if not future:
        return
    for pid in sorted(future):
        del scan.patents[pid]
        scan.errors.append((pid, f"{future[pid]}; patent skipped"))
    scan.pages = [p for p in scan.pages if p.patent_id not in future]


def deeppatent2_files(path: str | Path) -> list[Path]:
    """The DeepPatent2 JSON files ``scan_source`` reads ``path`` as: the file itself, or a
    folder's metadata files (one per year); [] for a source of another kind."""
    path = Path(path).expanduser()
    if path.is_file():
        return [path] if path.suffix.lower() == ".json" and is_deeppatent2(path) else []
    if not path.is_dir() or (path / "manifest.jsonl").is_file() or holds_grant_xml(path):
        return []
    return _metadata_files(path)


def _metadata_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("*.json")) if p.is_file() and is_deeppatent2(p)]


def _scan(path: Path, allow_absolute: bool) -> SourceScan:
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".json" and is_deeppatent2(path):
            return scan_deeppatent2(path, allow_absolute)
        if suffix in MANIFEST_SUFFIXES:
            return scan_manifest(path, allow_absolute)
        if suffix == ".xml":
            return scan_redbook(path)
        if suffix in SUPPORTED_SUFFIXES:
            return scan_folder(path)
        if is_archive(path):
            raise SourceError(f"{path}: a grant archive; `patent-examiner index add` unpacks it "
                              "into the library (or unpack it and give the folder)")
        raise SourceError(f"{path}: not a manifest (.jsonl, .json), DeepPatent2 JSON, grant XML "
                          "or drawing file")
    if not path.is_dir():
        raise SourceError(f"{path}: not a regular file or folder")
    if (path / "manifest.jsonl").is_file():
        return scan_manifest(path / "manifest.jsonl", allow_absolute, whole_folder=True)
    if holds_grant_xml(path):
        return scan_redbook(path)
    metadata = _metadata_files(path)
    if metadata:            # (the images beside them are theirs: not untitled patents)
        return _merged([scan_deeppatent2(p, allow_absolute) for p in metadata], path)
    if holds_grant_xml(path, max_depth=None):   # grants deeper than looked for: said so, and
        return scan_redbook(path)               # their drawings are not untitled patents
    if next(iter_files(path, SUPPORTED_SUFFIXES), None) is not None:
        return scan_folder(path)
    from ..library import DB_FILE

    if (path / DB_FILE).is_file():      # (iter_files leaves a library's folder out)
        raise SourceError(f"{path}: a library's own folder, whose files are not read as "
                          "drawings: keep the drawings in a folder of their own and add that")
    raise SourceError(f"{path}: holds nothing usable "
                      "(no manifest.jsonl, grant XML, drawing files or grant archives)")


def _merged(scans: list[SourceScan], root: Path) -> SourceScan:
    """One scan of a folder's metadata files (DeepPatent2 ships one per year): a patent as
    the first file gives it, each page once."""
    out = SourceScan(scans[0].kind, root)
    seen: set[Path] = set()
    for scan in scans:
        for pid, rec in scan.patents.items():
            out.patents.setdefault(pid, rec)
        for page in scan.pages:
            if page.path not in seen:
                seen.add(page.path)
                out.pages.append(page)
        out.errors += scan.errors
        out.warnings += scan.warnings
        out.undated += [pid for pid in scan.undated if pid not in out.undated]
    return out


def holds_drawings(folder: Path) -> bool:
    """Whether a folder is a source of its own (a manifest, grant XML or drawing files), as
    opposed to one that only holds grant archives."""
    return ((folder / "manifest.jsonl").is_file() or holds_grant_xml(folder)
            or next(iter_files(folder, SUPPORTED_SUFFIXES), None) is not None)
