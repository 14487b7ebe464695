"""Grant archives as the USPTO ships them: a weekly .tar (or a .zip) whose members are
per-grant ZIPs holding the grant XML and its TIFF sheets.

``index add ARCHIVE`` unpacks the XML and the drawings once into the library
(``archives/<archive name>``, one folder per grant; an archive of the same name from elsewhere
gets a folder of its own) and ingests that folder like any Red Book
folder; adding the same archive again reuses it. Member names never escape the target folder,
a damaged inner ZIP costs that grant only, and a short disk stops the unpacking with a clear
message before the disk is full.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator, NamedTuple

from ..atomic import NO_ROOM
from ._fields import SourceError
from ._files import iter_files

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
#: What a grant needs: its XML and its drawing sheets.
KEEP_SUFFIXES = {".xml", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
#: A grant ZIP or one of its files larger than this is not a design grant.
MAX_MEMBER_BYTES = 1 << 30
#: Unpacking stops when less than this would be left on the library's disk.
MIN_FREE_BYTES = 256 << 20
#: Files are copied out in pieces of this size; a grant ZIP larger than the spool size is
#: read from a temporary file in the unpacking folder, a smaller one from memory.
CHUNK_BYTES, SPOOL_BYTES = 1 << 20, 64 << 20
COMPLETE = ".unpacked.json"
#: Grant ZIPs of a weekly archive that hold no design grant, by their names: utility
#: (US10901234-...), plant (USPP032999-...) and statutory invention registrations (USH...);
#: most of a week's drawings, never indexed. Designs (USD...) and reissues (USRE..., a design
#: one told later by its XML) are unpacked.
_NOT_DESIGN_ZIP = re.compile(r"^US(?:PP|H)?\d{6,8}-\d{8}\.zip$", re.IGNORECASE)

Progress = Callable[[int, int, str], None]


def is_archive(path: str | os.PathLike) -> bool:
    name = Path(path).name.lower()
    return Path(path).is_file() and name.endswith(ARCHIVE_SUFFIXES)


def archives_in(folder: str | os.PathLike) -> list[Path]:
    """The grant archives in ``folder`` or one level below (weekly downloads saved into one
    folder), sorted."""
    last = {"." + s.rsplit(".", 1)[-1] for s in ARCHIVE_SUFFIXES}    # (.tar.gz: .gz)
    return [p for p in iter_files(Path(folder), last, max_depth=2) if is_archive(p)]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[:-len(suffix)]
    return path.stem


class Unpacked(NamedTuple):
    """An unpacked archive: its folder, per-member errors, the names of the grant ZIPs left
    packed (utility, plant and SIR grants), and whether this call unpacked it (not reused)."""
    folder: Path
    errors: list[tuple[str, str]]
    not_design: list[str]
    fresh: bool


def unpack_archive(path: str | os.PathLike, dest_root: str | os.PathLike,
                   progress: Progress | None = None) -> Unpacked:
    """Unpack the grants of ``path`` into ``dest_root/<name>``, or reuse an earlier unpacking
    of the same file (its errors are those found then)."""
    path, dest_root = Path(path).resolve(), Path(dest_root)
    st = path.stat()
    stamp = {"archive": str(path), "size": st.st_size, "mtime": st.st_mtime}
    target = _target(dest_root, path)
    done = _unpacked(target)
    if {k: done.get(k) for k in stamp} == stamp:
        return Unpacked(target, [tuple(e) for e in done.get("errors", [])],
                        done.get("not_design", []), fresh=False)
    part = dest_root / (target.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    dest_root.mkdir(parents=True, exist_ok=True, mode=0o700)    # library files: user only
    part.mkdir(mode=0o700)
    errors: list[tuple[str, str]] = []
    not_design: list[str] = []
    try:
        with _members(path, not_design) as members:
            for i, member in enumerate(members, start=1):
                if progress is not None:
                    progress(i, len(members), f"unpacking {PurePosixPath(member.name).name}")
                _unpack_member(member, part, f"{path}:{member.name}", errors)
    except OSError as exc:
        shutil.rmtree(part, ignore_errors=True)
        reason = NO_ROOM[exc.errno][0] if _disk_full(exc) else exc.strerror or str(exc)
        raise SourceError(f"{path}: cannot unpack ({reason}); nothing was added") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        shutil.rmtree(part, ignore_errors=True)
        raise SourceError(f"{path}: not a readable archive ({_why(exc)})") from None
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    record = json.dumps({**stamp, "errors": errors, "not_design": not_design}).encode()
    _write(part, "", COMPLETE, io.BytesIO(record), len(record), str(path), errors)
    shutil.rmtree(target, ignore_errors=True)
    part.replace(target)
    return Unpacked(target, errors, not_design, fresh=True)


def _unpacked(folder: Path) -> dict:
    """The record of a finished unpacking in ``folder`` ({} if none)."""
    try:
        return json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _target(dest_root: Path, path: Path) -> Path:
    """The archive's own folder: ``<name>``, unless another archive of that name (weekly
    downloads in other folders, or a .tar and a .zip of one week) unpacked there first; then
    ``<name>-<hash of its path>``, so neither overwrites the other's drawings."""
    plain = dest_root / _stem(path)
    if not plain.exists() or _unpacked(plain).get("archive") == str(path):
        return plain
    return dest_root / f"{plain.name}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


class Member(NamedTuple):
    """A file of an archive, opened when it is unpacked."""
    name: str
    size: int                               # as the archive's header gives it
    open: Callable[[], BinaryIO]


@contextmanager
def _members(path: Path, not_design: list[str]) -> Iterator[list[Member]]:
    """The regular files of a .tar/.tgz or .zip worth reading, while the archive is open; the
    grant ZIPs named as no design's go to ``not_design``."""
    def wanted(name: str) -> bool:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix == ".zip" and _NOT_DESIGN_ZIP.match(PurePosixPath(name).name):
            not_design.append(PurePosixPath(name).name)
            return False
        return suffix == ".zip" or suffix in KEEP_SUFFIXES

    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            _not_a_manifest(path, [i.filename for i in zf.infolist() if not i.is_dir()])
            yield [Member(info.filename, info.file_size, lambda info=info: zf.open(info))
                   for info in zf.infolist() if not info.is_dir() and wanted(info.filename)]
        return
    with tarfile.open(path) as tf:
        _not_a_manifest(path, [m.name for m in tf.getmembers() if m.isfile()])
        yield [Member(m.name, m.size, lambda m=m: tf.extractfile(m))
               for m in tf.getmembers() if m.isfile() and wanted(m.name)]


def _not_a_manifest(path: Path, names: list[str]) -> None:
    """An archive of a manifest and its images is not grant files: its rows would be lost
    (every image an undated patent of its own), so it is refused with what to do."""
    listed = next((n for n in names if PurePosixPath(n).suffix.lower() == ".jsonl"), None)
    if listed is not None:
        raise SourceError(f"{path}: holds a manifest ({listed}), not USPTO grant files: "
                          "unpack it and add the manifest")


def _unpack_member(member: Member, part: Path, where: str,
                   errors: list[tuple[str, str]]) -> None:
    try:
        if member.size > MAX_MEMBER_BYTES:
            raise ValueError(f"{member.size:,} bytes, more than any grant holds")
        with member.open() as src:
            if member.name.lower().endswith(".zip"):
                # a grant ZIP is read from a copy, not the archive's stream: a ZIP is read by
                # seeking back, and each seek back restarts a .tgz's decompression
                with (io.BytesIO() if member.size <= SPOOL_BYTES
                      else tempfile.TemporaryFile(dir=part)) as copy:
                    shutil.copyfileobj(src, copy, CHUNK_BYTES)
                    copy.seek(0)
                    _unpack_grant_zip(copy, PurePosixPath(member.name).stem, part, where,
                                      errors)
            else:
                _write(part, _folder_of(member.name), PurePosixPath(member.name).name, src,
                       member.size, where, errors)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError,
            zlib.error) as exc:
        if isinstance(exc, OSError) and _disk_full(exc):
            raise
        errors.append((where, f"damaged archive member ({exc})"))


def _unpack_grant_zip(data: BinaryIO, stem: str, part: Path, where: str,
                      errors: list[tuple[str, str]]) -> None:
    """The files of one grant ZIP; one found damaged takes the grant's others with it (a
    grant with some of its sheets would be added as if whole, or read as loose drawings)."""
    written: list[Path] = []
    try:
        with zipfile.ZipFile(data) as zf:
            for info in zf.infolist():
                if info.is_dir() or PurePosixPath(info.filename).suffix.lower() \
                        not in KEEP_SUFFIXES:
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    errors.append((f"{where}:{info.filename}", "too large for a grant file"))
                    continue
                folder = _folder_of(info.filename) or stem
                with zf.open(info) as src:
                    dest = _write(part, folder, PurePosixPath(info.filename).name, src,
                                  info.file_size, f"{where}:{info.filename}", errors)
                if dest is not None:
                    written.append(dest)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
            with suppress(OSError):
                path.parent.rmdir()         # (its grant folder, when nothing else is there)
        raise


def _folder_of(name: str) -> str:
    """The grant folder a member belongs in: its parent folder's name (flattened, so every
    grant lies one level below the unpacked root whatever the archive's nesting)."""
    return PurePosixPath(name).parent.name


def _write(part: Path, folder: str, filename: str, src: BinaryIO, size: int, where: str,
           errors: list[tuple[str, str]]) -> Path | None:
    """Copy ``src`` (``size`` bytes by the archive's header) to ``part/folder/filename`` and
    return where; a member found damaged while copied leaves no part of itself behind."""
    if not filename or filename in (".", "..") or folder == ".." or "\\" in folder + filename:
        errors.append((where, "unsafe file name in the archive"))
        return None
    if shutil.disk_usage(part).free - size < MIN_FREE_BYTES:
        raise OSError(28, "No space left on device")
    out = part / folder if folder else part
    out.mkdir(exist_ok=True, mode=0o700)
    dest = out / filename
    if dest.exists():
        errors.append((where, f"{folder}/{filename} is in the archive twice; kept the first"))
        return None
    try:
        with os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            shutil.copyfileobj(src, f, CHUNK_BYTES)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, EOFError) or "unexpected end of data" in text:
        return f"{text}: it ends early, as an interrupted download does; download it again"
    return text


def _disk_full(exc: OSError) -> bool:
    return getattr(exc, "errno", None) in NO_ROOM
