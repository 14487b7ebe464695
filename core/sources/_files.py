"""File-system helpers for the sources: deterministic walks, paths kept inside a root, and
text files in the encodings Windows tools save them in."""
from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterator

from ._fields import FieldError

#: How to let a trusted manifest name files outside its folder (command line and app).
_ALLOW = ("for a manifest you trust, allow files outside its folder: `index add --allow-absolute`,"
          " or \"Manifests may list files outside their own folder\" under Manage library")


def iter_files(root: Path, suffixes: set[str], max_depth: int | None = None) -> Iterator[Path]:
    """Files under ``root`` with one of ``suffixes`` (lower case), sorted, hidden ones skipped,
    and a library folder's own (its thumbnails, unpacked archives, kept queries) too: a
    library kept inside the folder of drawings it indexes.

    ``max_depth`` counts path parts below ``root``: 1 = files in ``root`` itself.
    """
    from ..library import DB_FILE

    for folder, dirs, files in os.walk(root):
        if DB_FILE in files:
            dirs[:] = []
            continue
        depth = len(Path(folder).relative_to(root).parts) + 1
        if max_depth is not None and depth >= max_depth:
            dirs[:] = []
        else:
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in suffixes and \
                    not _special(Path(folder) / name):
                yield Path(folder) / name


def _special(path: Path) -> bool:
    """A pipe, socket or device under a drawing's name: opening one waits for a writer that
    never comes (a file that cannot be looked at, a broken link say, is yielded and its
    reader says what is wrong)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def resolve_inside(root: Path, text: object, allow_absolute: bool, field: str = "image") -> Path:
    """The existing file that ``text`` names relative to ``root`` (resolved).

    Unless ``allow_absolute``, the path must stay inside ``root``: no absolute paths, no "..",
    no symbolic link leading out. Backslashes count as separators (manifests from Windows).
    """
    if not isinstance(text, str) or not text.strip():
        raise FieldError(f"{field}: missing or not a string: {text!r}")
    if "\x00" in text:
        raise FieldError(f"{field}: contains a NUL character")
    rel = text.strip().replace("\\", "/")
    if not allow_absolute:
        if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).drive:
            raise FieldError(f"{field}: absolute path {text!r} is not allowed "
                             f"(paths are relative to the manifest's folder; {_ALLOW})")
        if ".." in PurePosixPath(rel).parts:
            raise FieldError(f"{field}: {text!r} leaves the manifest's folder ('..'; {_ALLOW})")
    try:
        path = (root / rel).resolve()
        is_file = path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:
        raise FieldError(f"{field}: cannot resolve {text!r} ({exc})") from None
    if not is_file:         # a name typed composed for a file named decomposed (a Mac's), or
        other = _in_any_form(root, rel)                                     # the other way
        if other is not None:
            path, is_file = other, True
    if not allow_absolute and not path.is_relative_to(root):
        raise FieldError(f"{field}: {text!r} is a link that leads outside the manifest's folder")
    if not is_file:
        raise FieldError(f"{field}: file not found: {text!r}")
    return path


def _in_any_form(root: Path, rel: str) -> Path | None:
    """The file ``rel`` names under ``root`` where a part of it is in another Unicode form
    than on disk (each folder and the file matched by their composed form), resolved."""
    here = root
    for part in PurePosixPath(rel).parts:
        if (here / part).exists():
            here = here / part
            continue
        want = unicodedata.normalize("NFC", part)
        try:
            twins = [n for n in os.listdir(here) if unicodedata.normalize("NFC", n) == want]
        except OSError:
            return None
        if len(twins) != 1:
            return None
        here = here / twins[0]
    try:
        return here.resolve() if here.is_file() else None
    except (OSError, RuntimeError):
        return None


#: Byte-order marks and their encodings, longest first (UTF-32's starts like UTF-16's).
_MARKS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
          (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(raw: bytes) -> str:
    """A text file's contents: UTF-8 (with or without its mark), or UTF-16 or UTF-32 with
    theirs (as Windows PowerShell and Excel's "Unicode text" save). Raises UnicodeDecodeError
    for anything else, NULs included (UTF-16 without its mark)."""
    encoding = text_encoding(raw)
    text = raw.decode(encoding)
    if "\x00" in text:
        raise UnicodeDecodeError(encoding, raw, 0, 1, "NUL characters: not text")
    return text


def text_encoding(head: bytes) -> str:
    """The encoding a text file's first bytes mark (UTF-8 without a mark)."""
    return next((enc for mark, enc in _MARKS if head.startswith(mark)), "utf-8")
