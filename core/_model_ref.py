"""What a user may type to name a model, parsed without importing torch (the CLI does it for
every command)."""
from __future__ import annotations

import os
import re
from pathlib import Path

_OPEN_CLIP = re.compile(r"open_clip:(?P<arch>[^@]+)@(?P<path>.+)")


def open_clip_ref(spec: str | None) -> tuple[str, str] | None:
    """(architecture, weights path) of ``open_clip:ARCH@/path/to/weights``; None otherwise."""
    m = _OPEN_CLIP.fullmatch(spec or "")
    return (m["arch"], m["path"]) if m else None


def missing_file(spec: str) -> str | None:
    """The file or folder a model ``spec`` names on disk when it is not there (a checkpoint
    folder, an open_clip weights file); None for a spec that names none or one that is."""
    ref = open_clip_ref(spec)
    where = ref[1] if ref else spec if os.sep in spec else None
    return where if where is not None and not Path(where).expanduser().exists() else None
