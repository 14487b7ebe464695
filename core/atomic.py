"""Files that appear whole or not at all: written beside their target, then renamed over it,
so a full disk or a killed process never leaves a truncated report or record behind."""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
import stat
import time
from pathlib import Path

#: Less than this left on a disk: a write that failed there without saying why ran out of
#: space (numpy's short writes, hnswlib's saves and SQLite's "disk I/O error" carry no errno).
FULL_BELOW = 1 << 20


#: Why a write finds no room, by errno: what it is and what to do, as the user is told.
NO_ROOM = {errno.ENOSPC: ("the disk is full", "free space"),
           getattr(errno, "EDQUOT", -1): ("your disk quota is used up", "free space"),
           errno.EFBIG: ("the file size limit (ulimit -f) is reached", "raise the limit")}
#: A failed write whose error says nothing about why is tried again with this much.
PROBE_BYTES = 1 << 20


def no_room(path: str | os.PathLike) -> int | None:
    """Why nothing more can be written in the folder ``path``, as an errno of ``NO_ROOM`` (a
    full disk, a used-up quota, a file size limit), or None. For the failed writes that do not
    say why (SQLite's "disk I/O error", numpy's short writes): the disk is asked, then a
    probe file is written there and removed."""
    try:
        if shutil.disk_usage(path).free < FULL_BELOW:
            return errno.ENOSPC
    except OSError:
        return None
    probe = Path(path) / f".room-probe.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        return exc.errno if exc.errno in NO_ROOM else None
    try:
        left = memoryview(bytes(PROBE_BYTES))
        while left:                 # (a limit reached part way is a short write, then errno)
            left = left[os.write(fd, left):]
        os.fsync(fd)
    except OSError as exc:
        return exc.errno if exc.errno in NO_ROOM else None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()
    return None


@contextlib.contextmanager
def said_no_room(path: str | os.PathLike, *, folder: str | os.PathLike | None = None):
    """A failed write of ``path`` that found no room (torch's, numpy's and hnswlib's errors do
    not say so) is raised as the OSError of ``NO_ROOM`` that says why, naming ``path``; other
    errors as they are. The folder asked is ``folder``, else the one ``path`` is in."""
    try:
        yield
    except Exception as exc:        # (torch: RuntimeError; safetensors: an error of its own)
        if isinstance(exc, OSError) and exc.errno in NO_ROOM:
            raise
        code = no_room(folder if folder is not None else Path(path).parent)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from exc


@contextlib.contextmanager
def replacing(path: str | os.PathLike, mode: str = "w", *, fsync: bool = False, **open_kw):
    """``open`` a temporary file beside ``path`` (with the permissions ``path`` has, else the
    user's usual ones); when the block ends without error it replaces ``path``, otherwise it
    is removed. The temporary file is new, never one found there (a link planted under its
    name would have had the contents written through it). A file-system error names
    ``path``, not the temporary file the user never asked for."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    _sweep(path)
    tmp = path.with_name(f".{_short(path.name)}.{os.getpid()}.{secrets.token_hex(4)}"
                         f".{_HOST}.tmp")
    if "b" not in mode:
        open_kw.setdefault("encoding", "utf-8")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o666)
            try:
                _keep_access(fd, path)
                f = os.fdopen(fd, mode, **open_kw)
            except BaseException:
                os.close(fd)
                raise
        except OSError as exc:
            raise _about(exc, path) from None
        try:
            with f:
                yield f
                if fsync:
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:      # out of room writing it: said of ``path``, not of nothing
            if exc.filename is None and exc.errno in NO_ROOM:
                raise _about(exc, path) from None
            raise
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _about(exc, path) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


#: This machine in a temporary file's name: only its own processes' files are known dead.
_HOST = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:32] or "host"
#: A temporary file of another machine (a shared folder) untouched this long is left over.
STALE_ELSEWHERE_S = 7 * 24 * 3600


def _sweep(path: Path) -> None:
    """Remove the temporary files of writes to ``path`` that a killed process left (a report
    of hundreds of MB each time): those of this machine's processes that have ended, and
    others untouched for ``STALE_ELSEWHERE_S``."""
    pattern = re.compile(rf"\.{re.escape(_short(path.name))}\.(\d+)\.[0-9a-f]{{8}}"
                         rf"(?:\.([A-Za-z0-9-]+))?\.tmp")
    try:
        names = [(entry, m) for entry in os.scandir(path.parent)
                 if (m := pattern.fullmatch(entry.name))]
    except OSError:
        return
    for entry, m in names:
        with contextlib.suppress(OSError):
            here = m[2] == _HOST
            if here and _running(int(m[1])) or not here and \
                    time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_ELSEWHERE_S:
                continue
            os.unlink(entry.path)


def _running(pid: int) -> bool:
    if os.name == "nt":         # (os.kill there ends the process: never asked)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True             # (another user's: alive; an odd number: not ours to judge)
    return True


def _keep_access(fd: int, path: Path) -> None:
    """Give the new file ``path``'s permissions and, where this user may, its group (a report
    kept private stays so; one shared with a team's group stays readable by that group)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if os.chown in os.supports_fd and st.st_gid != os.fstat(fd).st_gid:
        with contextlib.suppress(OSError):  # (not a group of this user's: the mode is kept)
            os.chown(fd, -1, st.st_gid)
    if os.chmod in os.supports_fd:
        os.chmod(fd, stat.S_IMODE(st.st_mode))


def _short(name: str, limit: int = 100) -> str:
    """``name`` cut to at most ``limit`` bytes: a temporary name that adds to a long but legal
    file name must still fit the file system's 255."""
    while len(os.fsencode(name)) > limit:
        name = name[:-1]
    return name


def _about(exc: OSError, path: Path) -> OSError:
    """``exc`` as an error about ``path`` (same errno, so the same OSError subclass)."""
    return OSError(exc.errno, exc.strerror or str(exc), str(path))
