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

    #: A moved file keeps its modification time (mv, cp -a, unpacking an archive); FAT and
    #: network shares round it to 2 s.
    MTIME_SLACK = 2.0

    def __init__(self, store: Store):
        self._by_key: dict[tuple[str, int, int], list[tuple[int | None, str, float | None]]] = {}
        for pid, path, index, size, mtime, page_id in store.conn.execute(
                "SELECT patent_id, path, page_index, file_size, file_mtime, id FROM pages "
                "WHERE file_size IS NOT NULL"):
            self._by_key.setdefault((pid, index, size), []).append((page_id, path, mtime))
        self._sha: dict[str, str | None] = {}        # each file is read once per run

    def _hash(self, path: str) -> str | None:
        if path not in self._sha:
            self._sha[path] = file_sha256(path)
        return self._sha[path]

    def match(self, page: PageRecord) -> tuple[str, int | None, str] | None:
        """("copy" | "moved", page id, old path) for a page the library holds elsewhere, or
        that this run already takes from another path (a copy; page id None). Anything
        else, a new page (which is remembered, so its copies later in the run are known)."""
        try:
            stat = Path(page.path).stat()
        except OSError:
            return None                 # unreadable: ingestion reports it
        key = (page.patent_id, page.page_index, stat.st_size)
        candidates = self._by_key.setdefault(key, [])
        for page_id, old, mtime in candidates:
            if not Path(old).exists():
                # the same name, size and time: the file itself, at its new place (a file
                # of that name with other content is a new page)
                if page_id is not None and Path(old).name == Path(page.path).name and \
                        mtime is not None and abs(mtime - stat.st_mtime) <= self.MTIME_SLACK:
                    return "moved", page_id, old
                continue
            sha = self._hash(str(page.path))
            if sha is not None and self._hash(old) == sha:
                return "copy", page_id, old
        candidates.append((None, str(page.path), stat.st_mtime))
        return None
