"""Pages a library already holds under another path: a copy of the same drawing file (added
again from a second folder) is not indexed twice, and a file whose folder was moved (or
copied, the original then deleted) is re-pointed to its new place, keeping its figures, the
search log and the ratings; a file rewritten at its place is told apart from one touched."""
from __future__ import annotations

import os
from pathlib import Path

from ._hashing import sha256_file
from .records import PageRecord
from .store import Store


def file_sha256(path: str | Path) -> str | None:
    """``sha256_file``, None when the file cannot be read."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def file_changed(path, size: int | None, mtime: float | None, sha: str | None) -> bool:
    """Whether a page's file differs from the one indexed: another size, or another time and
    other bytes (pages indexed before hashes were recorded: only the size can tell)."""
    try:
        st = os.stat(path)
    except OSError:
        return False                    # gone: told as missing, not as changed
    if size is not None and st.st_size != size:
        return True
    if mtime is None or abs(st.st_mtime - mtime) <= PageTwins.MTIME_SLACK:
        return False
    return sha is not None and file_sha256(path) != sha


class PageTwins:
    """The library's pages by (page index, file size), to match new pages against: under the
    same patent, or across a stand-in, whose patent is named after the image's path (a
    folder renamed or copied under another name; a manifest naming a folder's image by
    another path): the same bytes are the same drawing."""

    #: A moved file keeps its modification time (mv, cp -a, unpacking an archive); FAT and
    #: network shares round it to 2 s.
    MTIME_SLACK = 2.0

    def __init__(self, store: Store):
        self._by_size: dict[tuple[int, int], list[tuple]] = {}
        self._key_of: dict[int, tuple[int, int]] = {}       # page id -> its key above
        for pid, path, index, size, mtime, page_id, sha in store.conn.execute(
                "SELECT patent_id, path, page_index, file_size, file_mtime, id, file_sha256 "
                "FROM pages WHERE file_size IS NOT NULL"):
            self._by_size.setdefault((index, size), []).append(
                (pid, page_id, path, mtime, sha))
            self._key_of[page_id] = (index, size)
        self._sha: dict[str, str | None] = {}        # each file is read once per run

    def _hash(self, path: str) -> str | None:
        if path not in self._sha:
            self._sha[path] = file_sha256(path)
        return self._sha[path]

    def match(self, page: PageRecord) -> tuple[str, int | None, str, str] | None:
        """("copy" | "moved", page id, old path, its patent) for a page the library holds
        elsewhere, or that this run already takes from another path (a copy; page id None).
        Anything else, a new page (which is remembered, so its copies later in the run are
        known). A library page is matched once: later copies are copies of the page as the
        run leaves it."""
        try:
            stat = Path(page.path).stat()
        except OSError:
            return None                 # unreadable: ingestion reports it
        candidates = self._by_size.setdefault((page.page_index, stat.st_size), [])
        stand_in = page.patent_id.startswith("IMG-")
        # the same patent's first; a stand-in's, or one for a stand-in, only by its bytes
        order = sorted(range(len(candidates)), key=lambda i: candidates[i][0] != page.patent_id)
        for i in order:
            pid, page_id, old, mtime, known_sha = candidates[i]
            by_name = pid == page.patent_id
            if not (by_name or stand_in or pid.startswith("IMG-")):
                continue
            found = None
            if not Path(old).exists():
                # the file itself at its new place: the same bytes as recorded when it was
                # added, or (pages added before hashes were kept) the same name, size and time
                if page_id is None:
                    continue
                if known_sha is not None:
                    if self._hash(str(page.path)) == known_sha:
                        found = "moved", page_id, old, pid
                elif by_name and Path(old).name == Path(page.path).name and \
                        mtime is not None and abs(mtime - stat.st_mtime) <= self.MTIME_SLACK:
                    found = "moved", page_id, old, pid
            else:
                sha = self._hash(str(page.path))
                if sha is not None and (known_sha or self._hash(old)) == sha:
                    found = "copy", page_id, old, pid
            if found is not None:
                if page_id is not None:
                    now = str(page.path) if found[0] == "moved" else old
                    candidates[i] = (page.patent_id, None, now, mtime, known_sha)
                return found
        candidates.append((page.patent_id, None, str(page.path), stat.st_mtime, None))
        return None

    def claim(self, page_id: int, patent_id: str) -> None:
        """The library's page ``page_id`` is filed under ``patent_id`` by this run (a source
        named its own path): a copy of it is a copy of that patent's page from now on."""
        candidates = self._by_size.get(self._key_of.get(page_id), [])
        for i, (_, owner, old, mtime, sha) in enumerate(candidates):
            if owner == page_id:
                candidates[i] = (patent_id, None, old, mtime, sha)
