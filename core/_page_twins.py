"""Pages a library already holds under another path: a copy of the same drawing file (added
again from a second folder) is not indexed twice, and a file whose folder was moved is
re-pointed to its new place, keeping its figures, the search log and the ratings."""
from __future__ import annotations

import hashlib
from pathlib import Path

from .records import PageRecord
from .store import Store


def file_sha256(path: str | Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


class PageTwins:
    """The library's pages by (patent, page index, file size), to match new pages against."""

    def __init__(self, store: Store):
        self._by_key: dict[tuple[str, int, int], list[tuple[int, str]]] = {}
        for pid, path, index, size, page_id in store.conn.execute(
                "SELECT patent_id, path, page_index, file_size, id FROM pages "
                "WHERE file_size IS NOT NULL"):
            self._by_key.setdefault((pid, index, size), []).append((page_id, path))

    def match(self, page: PageRecord) -> tuple[str, int, str] | None:
        """("copy" | "moved", page id, old path) for a page the library holds elsewhere."""
        try:
            size = Path(page.path).stat().st_size
        except OSError:
            return None                 # unreadable: ingestion reports it
        candidates = self._by_key.get((page.patent_id, page.page_index, size))
        if not candidates:
            return None
        sha = None
        for page_id, old in candidates:
            if not Path(old).exists():
                if Path(old).name == Path(page.path).name:
                    return "moved", page_id, old
                continue
            sha = sha or file_sha256(page.path)
            if sha is not None and file_sha256(old) == sha:
                return "copy", page_id, old
        return None
