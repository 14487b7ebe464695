"""The library's SQLite database (sqlite-utils, WAL): patents, pages, figures, audit log, ratings.

One file holds everything that must survive a crash together: the metadata, the list of live
index segments (``meta.index_manifest``) and the examiners' searches and ratings. A commit of
this database is the single atomic step that makes new vectors visible.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlite_utils

from ._names import name_problem, normal_name, readable
from .atomic import NO_ROOM, no_room
from .records import PageRecord, PatentRecord

SCHEMA_VERSION = 6
UNDATED_ORD = 2**31 - 1   # grant-date ordinal of undated items: excluded by every cutoff

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL, last_run_at TEXT);
    CREATE TABLE patents (
        patent_id TEXT PRIMARY KEY, title TEXT, title_display TEXT,
        grant_date TEXT, filing_date TEXT, priority_date TEXT,
        locarno TEXT, locarno_edition TEXT, country TEXT, synthetic INTEGER NOT NULL DEFAULT 0,
        figure_descriptions TEXT, extra TEXT, source_id INTEGER, run_id TEXT, added_at TEXT);
    CREATE INDEX patents_grant ON patents(grant_date);
    CREATE INDEX patents_locarno ON patents(locarno);
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY, patent_id TEXT NOT NULL, path TEXT NOT NULL,
        page_index INTEGER NOT NULL DEFAULT 0, page_kind TEXT, sheet INTEGER,
        file_size INTEGER, file_mtime REAL, width INTEGER, height INTEGER,
        n_figures INTEGER NOT NULL DEFAULT 0, source_id INTEGER, run_id TEXT, added_at TEXT,
        UNIQUE(path, page_index));
    CREATE INDEX pages_patent ON pages(patent_id);
    CREATE TABLE figures (
        id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL, patent_id TEXT NOT NULL,
        fig_index INTEGER NOT NULL, x0 INTEGER, y0 INTEGER, x1 INTEGER, y1 INTEGER,
        grant_ord INTEGER NOT NULL, run_id TEXT);
    CREATE INDEX figures_patent ON figures(patent_id);
    CREATE INDEX figures_page ON figures(page_id);
    CREATE TABLE ingest_errors (
        id INTEGER PRIMARY KEY, run_id TEXT, at TEXT, source TEXT, item TEXT, reason TEXT);
    CREATE TABLE searches (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, examiner TEXT, study TEXT, session TEXT,
        query_path TEXT, query_sha256 TEXT, query_page INTEGER, query_box TEXT,
        before TEXT, locarno TEXT, text TEXT, model_id TEXT, k INTEGER,
        params TEXT, results TEXT);
    CREATE TABLE ratings (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, search_id INTEGER, examiner TEXT,
        study TEXT, session TEXT, query_sha256 TEXT, model_id TEXT, patent_id TEXT,
        figure_id INTEGER, rank INTEGER, rating INTEGER, blind INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX ratings_search ON ratings(search_id);
    """,
    2: """
    CREATE TABLE descriptions (
        id INTEGER PRIMARY KEY, patent_id TEXT NOT NULL, figure_key TEXT NOT NULL DEFAULT '',
        enricher TEXT NOT NULL, text TEXT NOT NULL, at TEXT,
        UNIQUE(patent_id, figure_key, enricher, text));
    CREATE INDEX descriptions_patent ON descriptions(patent_id);
    CREATE TABLE cache (key TEXT PRIMARY KEY, value TEXT, at TEXT);
    """,
    3: """
    CREATE TABLE text_vectors (
        patent_id TEXT NOT NULL, model_id TEXT NOT NULL, text_sha256 TEXT NOT NULL,
        vector BLOB NOT NULL, PRIMARY KEY (patent_id, model_id));
    """,
    4: """
    ALTER TABLE pages ADD COLUMN file_sha256 TEXT;
    """,
    5: """
    CREATE TABLE refiled (
        figure_id INTEGER PRIMARY KEY, old_patent TEXT NOT NULL, new_patent TEXT NOT NULL,
        at TEXT NOT NULL);
    """,
    6: """
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY, patent_id TEXT NOT NULL, field TEXT NOT NULL, old TEXT,
        new TEXT, source TEXT, at TEXT NOT NULL);
    CREATE INDEX corrections_patent ON corrections(patent_id);
    """,
}


class StoreError(Exception):
    """The database is missing, damaged, locked too long, or from a newer version."""


class StoreDamaged(StoreError):
    """The database file is damaged or not a library database: rebuilding from the sources
    is the way back."""


class DiskFullError(StoreError):
    """The disk holding the library is full: nothing was written; the library is intact."""


class _SideFilesRefused(StoreError):
    """The file system would not write SQLite's side files (-wal, -shm) with room to spare:
    some network shares and USB file systems cannot hold its shared memory."""


def _superseded(item: str, owner: str, sources: set[str]) -> bool:
    """Whether a run of ``sources`` (absolute, and with links resolved) went through the
    skipped ``item`` of the source ``owner``: the same source, a folder holding it (all of
    it was read again), or a part of it (one archive of a folder of archives, a folder's
    manifest: that part's items)."""
    def under(path: str, folder: str) -> bool:
        return path.startswith(folder.rstrip(os.sep) + os.sep)

    if ", " + os.sep in owner:      # an older run's sources, recorded together: _item_of
        return False
    # (an item recorded through a link names the file the run went through by its target;
    # its last part may be a page or a member, "x.tif#2", "week.tar:D0001.xml")
    items = {item} | ({os.path.join(os.path.realpath(os.path.dirname(item)),
                                    os.path.basename(item))} if os.path.isabs(item) else set())
    for owned in {owner, os.path.realpath(owner)}:
        for source in sources:
            if owned == source or under(owned, source):
                return True
            if under(source, owned) and (any(
                    it == source or under(it, source) or it.startswith(source + ":")
                    for it in items) or re.match(
                    rf"{re.escape(os.path.basename(source))} (?:line|record|item) ", item)):
                return True
    return False


def _item_of(item: str, source: str, run: str) -> bool:
    """Whether a skipped ``item`` of an earlier run of the sources ``run`` (as recorded: joined
    by ", ") belongs to ``source``: the source itself, a file under it or a member of it (an
    archive), or a line or record of it (a manifest's items name it by its file name: only
    when no other source of that run has the same name). ``source`` is matched as it was
    typed, absolute or with its links resolved (runs recorded it as typed before)."""
    for form in dict.fromkeys((source, os.path.abspath(source), os.path.realpath(source))):
        if not (run == form or run.startswith(form + ", ") or run.endswith(", " + form)
                or f", {form}, " in run):
            continue
        if item == form or item.startswith((form.rstrip(os.sep) + os.sep, form + ":")):
            return True
        name = re.escape(os.path.basename(form.rstrip(os.sep)))
        if re.match(f"{name} (?:line|record|item) ", item) and len(re.findall(
                rf"(?:^|[\\/]){name}(?=, |$)", run)) == 1:
            return True
    return False


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def date_ord(d: date | str | None) -> int:
    """Sortable day number of a grant date; undated items sort after every cutoff."""
    if d is None or d == "":
        return UNDATED_ORD
    if isinstance(d, str):
        d = date.fromisoformat(d)
    return d.toordinal()


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


#: Temporary copies of read-only libraries (``Store._read_through_a_copy``): the prefix, then
#: the process id that made one (a process killed without cleaning up leaves it behind).
_COPY_PREFIX = "patent-examiner-library-"


def _drop_copies_of_ended_processes() -> None:
    """Remove the temporary library copies that processes no longer running left behind."""
    if os.name != "posix":      # (os.kill(pid, 0) asks whether it runs on POSIX only)
        return
    try:
        tmp = tempfile.gettempdir()
    except OSError:             # (no temporary folder this user may write: no copies in one)
        return
    for folder in Path(tmp).glob(f"{_COPY_PREFIX}*-*"):
        pid = folder.name[len(_COPY_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:         # (another user's process: running, and not ours to judge)
            pass


class Store:
    """Open (and create or migrate) a library database."""

    def __init__(self, path: str | os.PathLike, create: bool = True, timeout: float = 30.0):
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise StoreError(f"{self.path}: no library database here")
        fresh = not self.path.exists()
        self.read_only = not fresh and not (os.access(self.path, os.W_OK)
                                            and os.access(self.path.parent, os.W_OK))
        self.disk_was_full = False      # opened read-only because the disk was full
        self.side_files_refused = False     # read-only: its file system refused -wal/-shm
        self._no_room: int | None = None  # why (core.atomic.NO_ROOM)
        self.unread_changes = False     # read-only, without what its -wal file holds
        self._copy_folder: Path | None = None   # where that is read from (a temporary copy)
        self._closed = False
        if fresh:
            old = os.umask(0o077)
            try:
                self.path.touch()
            finally:
                os.umask(old)
        side = [Path(f"{self.path}{s}") for s in ("-wal", "-shm")]
        there = {p for p in side if p.exists()}
        try:
            self._open(timeout)
        except DiskFullError:
            if fresh or self.read_only:
                raise
            for p in side:          # what this open made (another process's are left alone)
                if p not in there:
                    p.unlink(missing_ok=True)
            self.read_only = self.disk_was_full = True     # reading needs no room
            self._open(timeout)
        except _SideFilesRefused as exc:
            for p in side:
                if p not in there:
                    p.unlink(missing_ok=True)
            self.read_only = self.side_files_refused = True
            try:
                self._open(timeout)
            except StoreDamaged:
                raise
            except StoreError:          # (not even read: the disk itself, not its rules)
                raise StoreError(f"{self.path}: the disk or share would neither write nor "
                                 "read it (disk I/O error); nothing was changed: check the "
                                 "disk, or copy the library to a local disk") from exc

    def _open(self, timeout: float) -> None:
        conn = None
        try:
            conn = self._connect(timeout)
            self._refuse_foreign(conn)
            if not self.read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._conn = conn
            self.db = sqlite_utils.Database(conn)
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise StoreDamaged(f"{self.path}: database is damaged (integrity check failed)")
            self._migrate()
        except StoreDamaged:
            if conn is not None:
                conn.close()
            if self._copy_folder is not None:
                shutil.rmtree(self._copy_folder, ignore_errors=True)
            raise
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if self._copy_folder is not None:
                shutil.rmtree(self._copy_folder, ignore_errors=True)
            if self._full(exc):
                raise self._full_error() from exc
            if not self.read_only and "disk i/o error" in str(exc).lower():
                raise _SideFilesRefused(
                    f"{self.path}: its file system would not let SQLite write its side files "
                    f"({self.path.name}-wal, -shm) though there is room, as some network "
                    "shares and USB file systems will not; nothing was changed: copy the "
                    "library to a local disk to use it") from exc
            if self.unread_changes:     # (not damaged: its file has not been written yet)
                raise StoreError(f"{self.path}: the library cannot be read without the "
                                 f"changes its -wal file holds: {self.UNREAD_CHANGES}") from exc
            raise StoreDamaged(f"{self.path}: not a usable library database ({exc})") from exc

    def _full(self, exc: BaseException) -> bool:
        """Whether an SQLite error means no room to write (with no space left at all, or a
        file size limit, SQLite says only "disk I/O error", so the folder is asked)."""
        text = str(exc).lower()
        if "disk is full" in text:
            self._no_room = errno.ENOSPC
            return True
        self._no_room = no_room(self.path.parent) if "disk i/o error" in text else None
        return self._no_room is not None

    @property
    def no_room_why(self) -> tuple[str, str]:
        """(why, what to do) of the last write that found no room (core.atomic.NO_ROOM)."""
        return NO_ROOM.get(self._no_room or errno.ENOSPC)

    @property
    def no_room_now(self) -> tuple[str, str] | None:
        """(why, what to do) when this library was opened read-only for want of room."""
        return self.no_room_why if self.disk_was_full else None

    def _full_error(self) -> DiskFullError:
        what, remedy = self.no_room_why
        where = "the disk holding the library is full" if what == "the disk is full" else \
            f"no room to write the library: {what}"
        return DiskFullError(f"{self.path.parent}: {where}; nothing was written and the "
                             f"library is not damaged: {remedy} and try again")

    def _connect(self, timeout: float) -> sqlite3.Connection:
        """A read-write connection, or on a library this user cannot write (a read-only share
        or medium) a read-only one: searching works there, writing is refused with a message."""
        kw = dict(timeout=timeout, isolation_level=None, check_same_thread=False)
        if not self.read_only:
            return sqlite3.connect(str(self.path), **kw)
        uri = self.path.resolve().as_uri()
        if not self.disk_was_full:      # (then no -shm file can be made)
            try:
                conn = sqlite3.connect(uri + "?mode=ro", uri=True, **kw)
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError:
                pass
        # a WAL database whose -shm file cannot be made: nothing can be writing it, but its
        # -wal file may hold committed changes, which an immutable reading leaves out
        return self._read_through_a_copy(kw) or sqlite3.connect(
            uri + "?mode=ro&immutable=1", uri=True, **kw)

    def _read_through_a_copy(self, kw: dict) -> sqlite3.Connection | None:
        """A read-only connection to a copy of the database and its -wal file in a temporary
        folder, where SQLite can read the changes the -wal file holds; None when it holds
        none, or the copy cannot be made (``unread_changes`` then says so)."""
        wal = Path(f"{self.path}-wal")
        try:
            if wal.stat().st_size == 0:
                return None
        except OSError:
            return None
        _drop_copies_of_ended_processes()
        folder = None
        try:
            folder = Path(tempfile.mkdtemp(prefix=f"{_COPY_PREFIX}{os.getpid()}-"))
            for source, suffix in ((self.path, ""), (wal, "-wal")):
                shutil.copyfile(source, folder / f"{self.path.name}{suffix}")
            conn = sqlite3.connect(str(folder / self.path.name), **kw)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA query_only=ON")
        except (OSError, sqlite3.Error):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            self.unread_changes = True
            return None
        self._copy_folder = folder
        return conn

    #: What a read-only library without the changes its -wal file holds lacks, and the cure.
    UNREAD_CHANGES = ("the latest changes to this library (in library.sqlite-wal) could not be "
                      "read: no temporary copy of it could be made (no room, or no temporary "
                      "folder this user may write); what was added, searched or rated last may "
                      "be missing until the library is opened once with write access and room "
                      "on its disk")

    @property
    def read_only_words(self) -> str:
        """How this library's being read-only is said: "read-only for you", unless its file
        system is mounted read-only (a CD, a read-only share), which no one can write."""
        try:
            mounted = bool(os.statvfs(self.path.parent).f_flag & os.ST_RDONLY)
        except (AttributeError, OSError):       # (no statvfs on Windows)
            mounted = False
        if self.side_files_refused:
            return ("read-only here (its file system would not let SQLite write its side "
                    "files, -wal and -shm, as some network shares and USB file systems will "
                    "not: copy the library to a local disk to write to it)")
        return ("read-only (its disk or share is mounted read-only)" if mounted
                else "read-only for you")

    def refuse_write(self) -> None:
        """Raise the message of a write to a library this user cannot write (or, opened while
        its disk was full, cannot write now)."""
        if self.disk_was_full:
            raise self._full_error()
        raise StoreError(f"{self.path.parent}: the library is {self.read_only_words}; "
                         "searching works, but adding drawings, logging searches and rating "
                         "need write access")

    # -- schema ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        if not self.read_only:
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                              "value TEXT)")
        version = int(self.get_meta("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: made by a newer version (schema {version}); "
                             "upgrade patent-examiner")
        if self.read_only and version < SCHEMA_VERSION:
            raise StoreError(f"{self.path}: made by an older version and read-only here, so it "
                             "cannot be upgraded; open it once with write access")
        for v in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                # (another process opening the library at the same time may have taken it
                # to v already: read again under the write lock)
                if int(self.get_meta("schema_version", 0)) >= v:
                    continue
                for statement in _MIGRATIONS[v].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self._set_meta("schema_version", v)
        if not self.read_only and not self.get_meta("names_nfc"):
            self._compose_names()
        if not self.read_only and not self.get_meta("file_names_unsearched"):
            self._unsearch_file_names()

    def _refuse_foreign(self, conn: sqlite3.Connection) -> None:
        """Another program's database in the library's place is never taken for a new
        library (nor switched to WAL): the schema would be written into it, and the next
        write would remove the library's index files."""
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        if not any(t != "meta" for t in tables):
            return                      # new (a run stopped before its schema was written)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            ours = row is not None and int(json.loads(row[0])) > 0
        except (sqlite3.DatabaseError, ValueError, TypeError):
            ours = False                # (no meta table, or one of another kind)
        if not ours:
            raise StoreDamaged(f"{self.path}: not a library database (it holds other tables: "
                               f"{', '.join(sorted(tables)[:5])})")

    def _compose_names(self) -> None:
        """Names logged before they were kept in one Unicode form are put in it (NFC), once:
        a rater listed twice under one name (typed, and pasted with combining marks) is one."""
        self.conn.create_function("nfc", 1, lambda v: unicodedata.normalize("NFC", v)
                                  if isinstance(v, str) else v, deterministic=True)
        with self.transaction():
            for table in ("searches", "ratings"):
                self.conn.execute(f"UPDATE {table} SET examiner = nfc(examiner), "
                                  "study = nfc(study), session = nfc(session)")
            self._set_meta("names_nfc", True)

    def _unsearch_file_names(self) -> None:
        """Text vectors embedded from the file name standing in for the title of a drawing
        added from a plain folder go, once (a text query ranked such drawings by how their
        files are named); a patent with descriptions of its own gets its vector back from the
        next ``index add``."""
        from .text_index import GENERATION_KEY, titled_by_file_name

        rows = self.db.query("SELECT patent_id, title, title_display, extra FROM patents "
                             "WHERE patent_id IN (SELECT patent_id FROM text_vectors)")
        named = [(r["patent_id"],) for r in rows if titled_by_file_name(r)]
        with self.transaction():
            self.conn.executemany("DELETE FROM text_vectors WHERE patent_id=?", named)
            if named:
                self._set_meta(GENERATION_KEY, self.get_meta(GENERATION_KEY, 0) + 1)
            self._set_meta("file_names_unsearched", True)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.path}: the library is closed (it was used after "
                             "close(), or after the `with` block that opened it)")
        return self._conn

    def close(self) -> None:
        self._closed = True
        self._conn.close()
        if self._copy_folder is not None:
            shutil.rmtree(self._copy_folder, ignore_errors=True)

    # -- transactions ---------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, retried while another process holds the write lock."""
        if self.read_only:
            self.refuse_write()
        for attempt in range(50):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if self._full(exc):
                    raise self._full_error() from exc
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))
        else:
            raise StoreError(f"{self.path}: database stayed locked by another process")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:    # (SQLite may have rolled a full write back)
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and self._full(exc):
                raise self._full_error() from exc
            raise

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def _set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                          (key, json.dumps(value)))

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction():
            self._set_meta(key, value)

    # -- ingestion ------------------------------------------------------------------------
    def source_id(self, kind: str, path: str, legacy: str | None = None) -> int:
        """The id of the source at ``path``, registered now if new. ``legacy``: the folder
        an older version registered this (manifest) file as; that row is moved to the file."""
        row = self.conn.execute("SELECT id FROM sources WHERE path=?", (path,)).fetchone()
        if row:
            return row[0]
        if legacy is not None:
            row = self.conn.execute("SELECT id FROM sources WHERE path=? AND kind=?",
                                    (legacy, kind)).fetchone()
            if row:
                with self.transaction():
                    self.conn.execute("UPDATE sources SET path=? WHERE id=?", (path, row[0]))
                return row[0]
        with self.transaction():
            cur = self.conn.execute("INSERT INTO sources(kind, path, added_at) VALUES (?,?,?)",
                                    (kind, path, now_iso()))
            return cur.lastrowid

    def absolute_sources(self) -> set[str]:
        """Sources added with leave to name files outside their own folder; adding them
        again (an update) keeps that leave."""
        return set(self.get_meta("absolute_sources", []))

    def registrations(self) -> tuple[int, list[str]]:
        """Where the registered sources stand (the last source id, the absolute-path leaves),
        for ``forget_registrations_since`` to undo what a run then registered."""
        last = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM sources").fetchone()[0]
        return last, sorted(self.absolute_sources())

    def forget_registrations_since(self, state: tuple[int, list[str]]) -> None:
        """Unregister the sources registered since ``registrations`` gave ``state`` that no
        page names (a cancelled run's), and their absolute-path leaves."""
        last, absolute = state
        with self.transaction():
            self.conn.execute("DELETE FROM sources WHERE id > ? AND id NOT IN (SELECT "
                              "source_id FROM pages WHERE source_id IS NOT NULL)", (last,))
        if sorted(self.absolute_sources()) != absolute:
            self.set_meta("absolute_sources", absolute)

    def remember_absolute(self, paths: Iterable[str]) -> None:
        new = set(paths) - self.absolute_sources()
        if new:
            self.set_meta("absolute_sources", sorted(self.absolute_sources() | new))

    def move_pages(self, moves: Iterable[tuple[int, str, int | None]]) -> None:
        """Point each page (page id, new path, source id) at the place its file now lies
        (figures and ratings stay), in one transaction. A source all of whose pages now lie
        at another source's place, its own path gone (a folder moved or renamed), hands its
        patents to that source, so the moved manifest corrects them, and is unregistered
        (Update looked for it in vain)."""
        moves = [(page_id, path, sid, os.stat(path).st_mtime) for page_id, path, sid in moves]
        if not moves:
            return
        was: dict[int, int | None] = {}
        for chunk, marks in _chunked([page_id for page_id, *_ in moves]):
            was.update(self.conn.execute(
                f"SELECT id, source_id FROM pages WHERE id IN ({marks})", chunk))
        now: dict[int, set[int]] = {}
        for page_id, _, sid, _ in moves:
            if was.get(page_id) is not None and sid is not None and sid != was[page_id]:
                now.setdefault(was[page_id], set()).add(sid)
        with self.transaction() as conn:
            conn.executemany("UPDATE pages SET path=?, file_mtime=?, "
                             "source_id=COALESCE(?, source_id) WHERE id=?",
                             [(path, mtime, sid, page_id) for page_id, path, sid, mtime in moves])
            for old, new in now.items():
                row = conn.execute("SELECT path FROM sources WHERE id=?", (old,)).fetchone()
                if (len(new) != 1 or row is None or os.path.exists(row[0]) or conn.execute(
                        "SELECT 1 FROM pages WHERE source_id=? LIMIT 1", (old,)).fetchone()):
                    continue
                conn.execute("UPDATE patents SET source_id=? WHERE source_id=?",
                             (next(iter(new)), old))
                conn.execute("DELETE FROM sources WHERE id=?", (old,))

    def read_paths_moved(self, old: str, new: str, tables: Iterable[str]) -> None:
        """On a read-only library, read each of ``tables``' paths that begin with ``old`` as
        beginning with ``new``: temporary views in this connection shadow the tables (the
        file itself is not written)."""
        def quoted(text: str) -> str:
            return "'" + text.replace("'", "''") + "'"

        guarded = self.conn.execute("PRAGMA query_only").fetchone()[0]
        self.conn.execute("PRAGMA query_only=OFF")      # (it forbids temporary views too)
        try:
            for table in tables:
                columns = [row[1] for row in
                           self.conn.execute(f"PRAGMA main.table_info({table})")]
                shown = [f"CASE WHEN substr(path, 1, {len(old)}) = {quoted(old)} THEN "
                         f"{quoted(new)} || substr(path, {len(old) + 1}) ELSE path END AS path"
                         if c == "path" else f'"{c}"' for c in columns]
                self.conn.execute(f"DROP VIEW IF EXISTS temp.{table}")
                self.conn.execute(f"CREATE TEMP VIEW {table} AS SELECT {', '.join(shown)} "
                                  f"FROM main.{table}")
        finally:
            self.conn.execute(f"PRAGMA query_only={'ON' if guarded else 'OFF'}")

    def known_pages(self) -> dict[tuple[str, int], tuple[int | None, float | None, str | None,
                                                         int, str]]:
        """(path, page_index) -> (file size, mtime, SHA-256, page id, patent id) of every page
        already in the library (the hash is None for pages added before it was recorded)."""
        return {(p, i): rest for p, i, *rest in self.conn.execute(
            "SELECT path, page_index, file_size, file_mtime, file_sha256, id, patent_id "
            "FROM pages")}

    def _refilings(self, figure_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """Figure id -> (stand-in, patent) for those of ``figure_ids`` whose page was added as
        an image of a folder (an IMG- stand-in) and filed under its patent since."""
        out: dict[int, tuple[str, str]] = {}
        for chunk, marks in _chunked(list(dict.fromkeys(figure_ids))):
            out.update((fid, (old, new)) for fid, old, new in self.conn.execute(
                "SELECT figure_id, old_patent, new_patent FROM refiled "
                f"WHERE figure_id IN ({marks})", chunk))
        return out

    def _as_filed(self, rows: list[dict]) -> list[dict]:
        """``rows`` (ratings, logged results) naming the patent each refiled scan is filed
        under now, as the library does; the stand-in they logged kept as
        ``logged_patent_id``."""
        refilings = self._refilings(r["figure_id"] for r in rows
                                    if r.get("figure_id") is not None)
        for r in rows:
            old, new = refilings.get(r.get("figure_id"), (None, None))
            if r.get("patent_id") == old:
                r["logged_patent_id"], r["patent_id"] = old, new
        return rows

    def corrected_since(self, patent_ids: Iterable[str], at: str) -> set[str]:
        """Those of ``patent_ids`` whose grant date, class or title a source corrected after
        ``at`` (a logged search's time; their figure descriptions it did not show)."""
        out: set[str] = set()
        for chunk, marks in _chunked(list(dict.fromkeys(patent_ids))):
            out.update(pid for (pid,) in self.conn.execute(
                f"SELECT DISTINCT patent_id FROM corrections WHERE patent_id IN ({marks}) "
                "AND at > ? AND field != 'figure_descriptions'", [*chunk, at]))
        return out

    def max_figure_id(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM figures").fetchone()[0]

    def patent_grant_ords(self, patent_ids: Iterable[str]) -> dict[str, int]:
        out = {}
        for pid in set(patent_ids):
            row = self.conn.execute("SELECT grant_date FROM patents WHERE patent_id=?",
                                    (pid,)).fetchone()
            if row:
                out[pid] = date_ord(row[0])
        return out

    def upsert_patents(self, records: Iterable[PatentRecord], source_id: int | None,
                       run_id: str | None = None) -> None:
        """Insert new patents; for known ones only fill fields that are still empty."""
        at = now_iso()
        for r in records:
            row = {
                "patent_id": r.patent_id, "title": r.title,
                "title_display": r.extra.get("title_display") or r.title,
                "grant_date": _iso(r.grant_date), "filing_date": _iso(r.filing_date),
                "priority_date": _iso(r.priority_date), "locarno": r.locarno,
                "locarno_edition": r.locarno_edition, "country": r.country,
                "synthetic": int(r.synthetic),
                "figure_descriptions": json.dumps(r.figure_descriptions),
                "extra": json.dumps(r.extra, default=str), "source_id": source_id,
                "run_id": run_id, "added_at": at,
            }
            cols = ", ".join(row)
            marks = ", ".join("?" * len(row))
            fill = ", ".join(f"{c}=COALESCE(patents.{c}, excluded.{c})" for c in row
                             if c not in ("patent_id", "added_at", "synthetic", "run_id"))
            self.conn.execute(f"INSERT INTO patents({cols}) VALUES ({marks}) "
                              f"ON CONFLICT(patent_id) DO UPDATE SET {fill}", tuple(row.values()))

    def insert_page(self, page: PageRecord, *, size: int | None, mtime: float | None,
                    width: int, height: int, n_figures: int, source_id: int | None,
                    run_id: str, sha256: str | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO pages(patent_id, path, page_index, page_kind, sheet, file_size, "
            "file_mtime, width, height, n_figures, source_id, run_id, added_at, file_sha256) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (page.patent_id, str(page.path), page.page_index, page.page_kind, page.sheet, size,
             mtime, width, height, n_figures, source_id, run_id, now_iso(), sha256))
        return cur.lastrowid

    def insert_figures(self, rows: list[tuple]) -> None:
        """rows: (id, page_id, patent_id, fig_index, x0, y0, x1, y1, grant_ord, run_id)."""
        self.conn.executemany(
            "INSERT INTO figures(id, page_id, patent_id, fig_index, x0, y0, x1, y1, grant_ord, "
            "run_id) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def log_errors(self, run_id: str, sources: list[str], errors: list[tuple[str, str]],
                   owners: list[str | None] = (), *, replace: bool = False) -> None:
        """Record a run's skipped items, each under the source it came from (``owners``, as
        named; None or missing: under the run's sources together); ``replace``: drop what
        earlier runs recorded of these ``sources`` (the run went through, so its list is the
        current one), and earlier skips of files the library now holds."""
        sources = [readable(os.path.abspath(s)) for s in sources]
        source = ", ".join(sources)
        if replace:
            forms = {f for s in sources for f in (s, os.path.realpath(s))}
            self.conn.execute("DELETE FROM ingest_errors WHERE source=?", (source,))
            # an earlier run's skips of one of these sources, recorded under it (however it
            # was named: a link or its target; or its folder), or among the others that run
            # named
            self.conn.executemany("DELETE FROM ingest_errors WHERE id=?", [
                (row_id,) for row_id, was, item in self.conn.execute(
                    "SELECT id, source, item FROM ingest_errors WHERE run_id IS NOT ?",
                    (run_id,))
                if _superseded(item, was, forms) or any(_item_of(item, s, was) for s in sources)])
            # a file an earlier run skipped and the library holds now is skipped no more
            # (another run's sources may have been named otherwise: a path typed, an update)
            self.conn.execute("DELETE FROM ingest_errors WHERE run_id IS NOT ? AND item IN "
                              "(SELECT path FROM pages)", (run_id,))
        at = now_iso()
        owners = list(owners)[:len(errors)]
        owners += [None] * (len(errors) - len(owners))
        self.conn.executemany(
            "INSERT INTO ingest_errors(run_id, at, source, item, reason) VALUES (?,?,?,?,?)",
            [(run_id, at, readable(os.path.abspath(owner)) if owner else source,
              readable(item), readable(reason)) for (item, reason), owner in zip(errors, owners)])

    # -- reading --------------------------------------------------------------------------
    _FIGURE_COLS = (
        "f.id AS figure_id, f.patent_id, f.fig_index, f.x0, f.y0, f.x1, f.y1, "
        "p.path AS image, p.page_index, p.page_kind, p.sheet, p.id AS page_id, "
        "t.title, t.title_display, t.grant_date, t.filing_date, t.priority_date, t.locarno, "
        "t.locarno_edition, t.synthetic, t.figure_descriptions")

    def figures_by_ids(self, ids: Iterable[int]) -> dict[int, dict]:
        ids = [int(i) for i in ids]
        out: dict[int, dict] = {}
        for chunk, marks in _chunked(ids):
            for row in self.db.query(
                    f"SELECT {self._FIGURE_COLS} FROM figures f JOIN pages p ON p.id=f.page_id "
                    f"JOIN patents t ON t.patent_id=f.patent_id WHERE f.id IN ({marks})", chunk):
                out[row["figure_id"]] = row
        return out

    def figures_of_patent(self, patent_id: str) -> list[dict]:
        return list(self.db.query(
            f"SELECT {self._FIGURE_COLS} FROM figures f JOIN pages p ON p.id=f.page_id "
            "JOIN patents t ON t.patent_id=f.patent_id WHERE f.patent_id=? "
            "ORDER BY p.page_index, p.sheet, p.path, f.fig_index", [patent_id]))

    def patent(self, patent_id: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM patents WHERE patent_id=?", [patent_id]))
        return rows[0] if rows else None

    def patents(self, patent_ids: Iterable[str]) -> dict[str, dict]:
        """``patent`` of many ids in a few queries; ids not in the library are left out."""
        ids = list(dict.fromkeys(patent_ids))
        out: dict[str, dict] = {}
        for chunk, marks in _chunked(ids):
            for row in self.db.query(f"SELECT * FROM patents WHERE patent_id IN ({marks})",
                                     chunk):
                out[row["patent_id"]] = row
        return out

    def pages_of_patent(self, patent_id: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM pages WHERE patent_id=? ORDER BY page_kind "
                                  "DESC, sheet, path, page_index", [patent_id]))

    def figure_ids_where_locarno(self, code: str) -> list[int]:
        """Figure ids whose patent's Locarno code equals ``code`` or lies under class ``code``."""
        if len(code) == 2:
            sql = ("SELECT f.id FROM figures f JOIN patents t ON t.patent_id=f.patent_id "
                   "WHERE t.locarno = ? OR t.locarno LIKE ?")
            args = [code, code + "-%"]
        else:                   # (31-00 and 32-00 were stored as "31" and "32" before)
            sql = ("SELECT f.id FROM figures f JOIN patents t ON t.patent_id=f.patent_id "
                   "WHERE t.locarno IN (?, ?)")
            args = [code, code[:2] if code.endswith("-00") else code]
        return [r[0] for r in self.conn.execute(sql, args)]

    def count_figures_before(self, ids: Iterable[int], cutoff: int | None) -> int:
        """How many of the figures ``ids`` were granted before the cutoff ordinal."""
        if cutoff is None:
            return len(list(ids))
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _ids(id INTEGER PRIMARY KEY)")
        self.conn.execute("DELETE FROM _ids")
        self.conn.executemany("INSERT OR IGNORE INTO _ids VALUES (?)", ((int(i),) for i in ids))
        return self.conn.execute("SELECT COUNT(*) FROM figures f JOIN _ids USING(id) "
                                 "WHERE f.grant_ord < ?", (cutoff,)).fetchone()[0]

    def patents_with_figures(self, patent_ids: Iterable[str]) -> set[str]:
        """Those of ``patent_ids`` the index holds figures of (a patent whose pages were all
        dropped keeps its row, its metadata, but is searched no more)."""
        out: set[str] = set()
        for chunk, marks in _chunked(list(dict.fromkeys(patent_ids))):
            out.update(r[0] for r in self.conn.execute(
                f"SELECT DISTINCT patent_id FROM figures WHERE patent_id IN ({marks})", chunk))
        return out

    def figure_ids_of_patents(self, patent_ids: Iterable[str]) -> list[int]:
        ids = list(patent_ids)
        out: list[int] = []
        for chunk, marks in _chunked(ids):
            out += [r[0] for r in self.conn.execute(
                f"SELECT id FROM figures WHERE patent_id IN ({marks})", chunk)]
        return out

    def patent_of_figures(self, figure_ids: Iterable[int]) -> dict[int, str]:
        ids = [int(i) for i in figure_ids]
        out: dict[int, str] = {}
        for chunk, marks in _chunked(ids):
            out.update(self.conn.execute(
                f"SELECT id, patent_id FROM figures WHERE id IN ({marks})", chunk).fetchall())
        return out

    def counts(self) -> dict[str, int]:
        q = self.conn.execute
        return {
            "patents": q("SELECT COUNT(*) FROM patents WHERE patent_id IN "
                         "(SELECT DISTINCT patent_id FROM pages)").fetchone()[0],
            "pages": q("SELECT COUNT(*) FROM pages").fetchone()[0],
            "figures": q("SELECT COUNT(*) FROM figures").fetchone()[0],
            "undated_patents": q("SELECT COUNT(*) FROM patents WHERE grant_date IS NULL AND "
                                 "patent_id IN (SELECT patent_id FROM pages)").fetchone()[0],
            "searches": q("SELECT COUNT(*) FROM searches").fetchone()[0],
            # current ratings (a changed or cleared one counts once or not at all), as the
            # session summary and the ratings export count them
            "ratings": q("SELECT COUNT(*) FROM ratings WHERE id IN "
                         f"({_LATEST_RATINGS.format(cond='')}) AND rating IS NOT NULL"
                         ).fetchone()[0],
        }

    def pages_by_run(self) -> dict[str | None, int]:
        """Pages per ingestion run."""
        return dict(self.conn.execute("SELECT run_id, COUNT(*) FROM pages GROUP BY run_id"))

    def date_range(self) -> tuple[str | None, str | None]:
        return tuple(self.conn.execute(
            "SELECT MIN(grant_date), MAX(grant_date) FROM patents WHERE patent_id IN "
            "(SELECT patent_id FROM pages)").fetchone())

    def all_figures(self) -> list[tuple[int, str, int]]:
        """(figure id, patent id, grant ordinal) of every figure."""
        return list(self.conn.execute("SELECT id, patent_id, grant_ord FROM figures ORDER BY id"))

    # -- audit trail and ratings ----------------------------------------------------------
    def log_search(self, *, query_path: str | None, query_sha256: str | None,
                   query_page: int | None, query_box: list | None, before: str | None,
                   locarno: str | None, text: str | None, model_id: str, k: int,
                   results: list[dict], params: dict | None = None,
                   examiner: str | None = None, study: str | None = None,
                   session: str | None = None, at: str | None = None) -> int:
        """Record one search exactly enough to reopen it (``at``: when; default now);
        returns its id. Examiner, study and session are kept trimmed, an empty one as none.
        A query file name that is not valid UTF-8 is kept with U+FFFD for its odd bytes (its
        SHA-256 still identifies it)."""
        examiner, study, session = (_who(examiner, "examiner"), _who(study, "study"),
                                    _who(session, "session"))
        query_path = readable(query_path) if query_path is not None else None
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO searches(at, examiner, study, session, query_path, query_sha256, "
                "query_page, query_box, before, locarno, text, model_id, k, params, results) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (at or now_iso(), examiner, study, session, query_path, query_sha256,
                 query_page, json.dumps(query_box) if query_box is not None else None, before,
                 locarno, text, model_id, k, json.dumps(params or {}), json.dumps(results)))
            return cur.lastrowid

    def searches(self, limit: int | None = 200, **where: str | None) -> list[dict]:
        """Logged searches, newest first; ``where``: the examiner, study and/or session to
        match (None matches searches logged without one); ``limit`` None: all."""
        cond, args = _search_filter(where)
        rows = self.db.query(f"SELECT * FROM searches {cond} ORDER BY id DESC LIMIT ?",
                             [*args, -1 if limit is None else limit])
        records = [_decode_search(r) for r in rows]
        self._as_filed([x for rec in records for x in rec.get("results") or []])
        return records

    def count_searches(self, **where: str | None) -> int:
        cond, args = _search_filter(where)
        return self.conn.execute(f"SELECT COUNT(*) FROM searches {cond}", args).fetchone()[0]

    def search_record(self, search_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM searches WHERE id=?", [search_id]))
        if not rows:
            return None
        rec = _decode_search(rows[0])
        self._as_filed(rec.get("results") or [])
        return rec

    def add_rating(self, *, search_id: int | None, patent_id: str, figure_id: int | None,
                   rank: int | None, rating: int | None, model_id: str | None,
                   query_sha256: str | None, examiner: str | None, study: str | None = None,
                   session: str | None = None, blind: bool = False) -> int:
        """Append a rating (``None`` clears it); committed before returning. A rating of a
        logged search records the model of that search's ranking (one reopened after a
        rebuild with another model rates the ranking it shows, not today's model)."""
        examiner, study, session = (_who(examiner, "examiner"), _who(study, "study"),
                                    _who(session, "session"))
        with self.transaction():
            if search_id is not None:
                logged = self.conn.execute("SELECT model_id FROM searches WHERE id = ?",
                                           (search_id,)).fetchone()
                model_id = logged[0] if logged and logged[0] else model_id
            cur = self.conn.execute(
                "INSERT INTO ratings(at, search_id, examiner, study, session, query_sha256, "
                "model_id, patent_id, figure_id, rank, rating, blind) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (now_iso(), search_id, examiner, study, session, query_sha256, model_id,
                 patent_id, figure_id, rank, rating, int(blind)))
            return cur.lastrowid

    def rating_event(self, row_id: int) -> dict | None:
        """One rating event (a row of the ratings table) by its id; None if there is none."""
        rows = list(self.db.query("SELECT * FROM ratings WHERE id=?", [row_id]))
        return rows[0] if rows else None

    def current_ratings(self, search_id: int | None = None, session: str | None = None,
                        *, study: str | None = None, examiner: str | None = None
                        ) -> list[dict]:
        """The latest rating per (search, examiner, figure/patent); cleared ones omitted.
        ``session``: those whose latest rating was made in that session (a rating belongs to
        the session it was last set or cleared in, as the examiner's screen shows it);
        ``study``: that study's, "" those made outside any study; ``examiner``: that
        examiner's."""
        cond = "WHERE search_id = ?" if search_id is not None else ""
        args: list = [search_id] if search_id is not None else []
        where = ""
        for column, value in (("session", session), ("examiner", examiner), ("study", study)):
            if value is not None:
                where += f"AND COALESCE(TRIM({column}), '') IN (?, ?) "
                args += _both_forms(value)
        sql = (f"SELECT * FROM ratings WHERE id IN ({_LATEST_RATINGS.format(cond=cond)}) "
               f"AND rating IS NOT NULL {where}ORDER BY search_id, rank")
        return self._as_filed([dict(r) for r in self.db.query(sql, args)])

    def rating_events(self, session: str | None = None, *, study: str | None = None,
                      examiner: str | None = None) -> list[dict]:
        """Every rating event in the order made, each with ``change`` (rated, changed,
        cleared, or unchanged: set again as it was) and ``previous`` (the rating it
        replaced: the same examiner's of the same result, whatever session it was made in);
        filtered by the session, study or examiner it was made in."""
        last: dict[tuple, int | None] = {}
        wanted = [(column, set(_both_forms(value))) for column, value in
                  (("session", session), ("study", study), ("examiner", examiner))
                  if value is not None]
        out = []
        for r in map(dict, self.db.query("SELECT * FROM ratings ORDER BY id")):
            key = (r["search_id"], r["examiner"] or "",
                   r["figure_id"] if r["figure_id"] is not None else -1,
                   r["patent_id"] if r["figure_id"] is None else None)
            r["previous"] = before = last.get(key)
            last[key] = r["rating"]
            r["change"] = ("unchanged" if r["rating"] == before else
                           "cleared" if r["rating"] is None else
                           "rated" if before is None else "changed")
            if all((r[column] or "").strip() in forms for column, forms in wanted):
                out.append(r)
        return self._as_filed(out)      # (a refiled figure keeps its key: its id)


#: The latest rating event of each (search, examiner, figure or else patent): the current
#: rating (a figure's rating made after its scan was filed under a patent names the patent).
_LATEST_RATINGS = ("SELECT MAX(id) FROM ratings {cond} GROUP BY search_id, "
                   "COALESCE(examiner, ''), COALESCE(figure_id, -1), "
                   "CASE WHEN figure_id IS NULL THEN patent_id END")


def _search_filter(where: dict) -> tuple[str, list]:
    unknown = set(where) - {"examiner", "study", "session"}
    if unknown:
        raise TypeError(f"searches cannot be filtered by {', '.join(sorted(unknown))}")
    # (trimmed, and '' as none: as logged before names were trimmed on the way in)
    terms = [f"COALESCE(TRIM({k}), '') IN (?, ?)" for k in where]
    return (("WHERE " + " AND ".join(terms)) if terms else "",
            [form for v in where.values() for form in _both_forms(v or "")])


def _both_forms(name: str) -> list[str]:
    """A name to match, composed (as names are kept) and decomposed (as a library read-only
    here may hold one logged before names were kept composed)."""
    return [normal_name(name), unicodedata.normalize("NFD", normal_name(name))]


def _chunked(ids: list, size: int = 900):
    """``ids`` in chunks under SQLite's variable limit, each with its ``?,?,...`` marks."""
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def _who(name: str | None, what: str) -> str | None:
    """An examiner, study or session name as stored: trimmed, an empty one as none; one
    that is not one line is refused (``what``: which of the three it is)."""
    name = normal_name(name or "") or None
    if name and (why := name_problem(name)):
        raise StoreError(f"the {what} name {name!r} {why}")
    return name


def _decode_search(row: dict) -> dict:
    row = dict(row)
    for key in ("query_box", "params", "results"):
        if row.get(key):
            row[key] = json.loads(row[key])
    return row
