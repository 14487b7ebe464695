"""The frozen CPU graphs of a model's towers, cached on disk so a later process (a command-line
search, the app opening a library) encodes drawings and text without building the network.

Key of an image graph: model id (a content hash of spec and weights) + mirror-image TTA + torch
version; of a text graph: the frozen tower's package, version and config + torch version. A
graph is only reused for the very network that produced it. Files are written aside and
renamed (a killed process never leaves half a graph), user-only, under the user cache folder
(``PATENT_EXAMINER_CACHE`` overrides it). A cache that cannot be read or written only costs
the trace it would have saved.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
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


def text_graph_path(tower_key: str) -> Path:
    """A frozen text tower's graph: one per tower (package, version, config), shared by every
    model that uses it, in a folder of its own (a MiniLM graph is ~90 MB)."""
    import torch

    key = f"{tower_key}|torch={torch.__version__}"
    return cache_dir() / "text" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pt"


def has_graph(model_id: str, hflip_tta: bool = False) -> bool:
    return graph_path(model_id, hflip_tta).is_file()


#: Graphs kept (least recently used beyond this are removed): a user switches between a few
#: models at most, and a graph is ~15 MB for the default model.
KEEP = 6
#: Text tower graphs kept: every shipped architecture uses the same frozen tower.
KEEP_TEXT = 2


def read_graph(model_id: str, hflip_tta: bool = False) -> bytes | None:
    return read_path(graph_path(model_id, hflip_tta))


def write_graph(model_id: str, hflip_tta: bool, data: bytes) -> None:
    write_path(graph_path(model_id, hflip_tta), data, KEEP)


def drop_graph(model_id: str, hflip_tta: bool = False) -> None:
    """Forget a cached graph that turned out unusable."""
    drop_path(graph_path(model_id, hflip_tta))


def read_path(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
        os.utime(path)          # recently used
    except OSError:
        return None
    return data or None


def write_path(path: Path, data: bytes, keep: int) -> None:
    """Write ``data`` aside and rename it into place, then keep the ``keep`` most recently used
    graphs of that folder; a read-only or full disk only means the next process traces again."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".graph-")   # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        _prune(path.parent, keep)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


#: A temporary file this old is what a killed process left (a write takes seconds at most).
STALE_TMP_S = 3600


def _prune(folder: Path, keep: int) -> None:
    graphs = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in graphs[keep:]:
        old.unlink(missing_ok=True)
    now = time.time()
    for tmp in folder.glob(".graph-*"):
        try:
            if now - tmp.stat().st_mtime > STALE_TMP_S:
                tmp.unlink()
        except OSError:     # another process's write finished or cleaned it meanwhile
            pass


def drop_path(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
