"""The frozen CPU image graph of a model, cached on disk so a later process (a command-line
search, the app opening a library) encodes drawings without building the network again.

Key: model id (a content hash of spec and weights) + mirror-image TTA + torch version, so a
graph is only reused for the very network that produced it. Files are written aside and
renamed (a killed process never leaves half a graph), user-only, under the user cache folder
(``PATENT_EXAMINER_CACHE`` overrides it). A cache that cannot be read or written only costs
the trace it would have saved.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    override = os.environ.get("PATENT_EXAMINER_CACHE")
    if override:
        return Path(override).expanduser() / "graphs"
    from platformdirs import user_cache_path

    return user_cache_path("patent-examiner", appauthor=False) / "graphs"


def graph_path(model_id: str, hflip_tta: bool = False) -> Path:
    import torch

    key = f"{model_id}|tta={int(hflip_tta)}|torch={torch.__version__}"
    return cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pt"


def has_graph(model_id: str, hflip_tta: bool = False) -> bool:
    return graph_path(model_id, hflip_tta).is_file()


#: Graphs kept (least recently used beyond this are removed): a user switches between a few
#: models at most, and a graph is ~15 MB for the default model.
KEEP = 6


def read_graph(model_id: str, hflip_tta: bool = False) -> bytes | None:
    path = graph_path(model_id, hflip_tta)
    try:
        data = path.read_bytes()
        os.utime(path)          # recently used
    except OSError:
        return None
    return data or None


def write_graph(model_id: str, hflip_tta: bool, data: bytes) -> None:
    path = graph_path(model_id, hflip_tta)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".graph-")   # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        _prune(path.parent)
    except OSError:     # read-only or full disk: the next process traces again
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    graphs = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in graphs[KEEP:]:
        old.unlink(missing_ok=True)


def drop_graph(model_id: str, hflip_tta: bool = False) -> None:
    """Forget a cached graph that turned out unusable."""
    try:
        graph_path(model_id, hflip_tta).unlink(missing_ok=True)
    except OSError:
        pass
