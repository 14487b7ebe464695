"""Files that appear whole or not at all: written beside their target, then renamed over it,
so a full disk or a killed process never leaves a truncated report or record behind."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | os.PathLike, mode: str = "w", *, fsync: bool = False, **open_kw):
    """``open`` a temporary file beside ``path`` (the user's usual permissions); when the
    block ends without error it replaces ``path``, otherwise it is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if "b" not in mode:
        open_kw.setdefault("encoding", "utf-8")
    try:
        with open(tmp, mode, **open_kw) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
