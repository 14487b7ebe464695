"""What a library holds, for front ends: its summary, the sources it was built from and the
files that recent ingestion runs skipped (with reasons).

"Update the library" means ingesting its registered sources again; ingestion skips every page
already present, so only new or changed files are embedded.
"""
from __future__ import annotations

from pathlib import Path

from .library import Library


def library_overview(library: Library, errors: int = 200) -> dict:
    """``Library.info()`` plus ``sources`` (kind, path, added, last run), the latest
    ``errors`` skipped files (``recent_errors``: at, item, reason), newest first, and the page
    files no longer where they were added (``missing_page_files``)."""
    from .library import missing_page_files

    db = library.store.db
    info = library.info()
    info["missing_page_files"] = missing_page_files(library)
    info["sources"] = list(db.query(
        "SELECT kind, path, added_at, last_run_at FROM sources ORDER BY id"))
    info["recent_errors"] = list(db.query(
        "SELECT at, item, reason FROM ingest_errors ORDER BY id DESC LIMIT ?", [errors]))
    return info


def source_paths(library: Library) -> tuple[list[str], list[str]]:
    """The registered sources, to ingest again, and why any is left out: a manifest that an
    older version registered as its folder (scanning the folder would take every image in
    it for a patent of its own)."""
    from .sources._deeppatent2 import is_deeppatent2

    paths, notes = [], []
    for kind, path in library.store.conn.execute("SELECT kind, path FROM sources ORDER BY id"):
        folder = Path(path)
        # (a folder holding its DeepPatent2 JSON is scanned as such since it was added)
        if kind == "deeppatent2" and folder.is_dir() and \
                any(is_deeppatent2(p) for p in folder.glob("*.json")):
            paths.append(path)
            continue
        if kind in ("manifest", "deeppatent2") and folder.is_dir() and \
                not (folder / "manifest.jsonl").is_file():
            notes.append(f"{path}: registered as a folder by an older version, not as the "
                         f"{kind} file in it; add that file again to update from it")
            continue
        paths.append(path)
    return paths, notes
