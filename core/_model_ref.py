"""What a user may type to name a model, parsed without importing torch (the CLI does it for
every command)."""
from __future__ import annotations

import re

_OPEN_CLIP = re.compile(r"open_clip:(?P<arch>[^@]+)@(?P<path>.+)")


def open_clip_ref(spec: str | None) -> tuple[str, str] | None:
    """(architecture, weights path) of ``open_clip:ARCH@/path/to/weights``; None otherwise."""
    m = _OPEN_CLIP.fullmatch(spec or "")
    return (m["arch"], m["path"]) if m else None
