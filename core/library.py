"""A library folder: the SQLite store, the vector index and the model it was built with.

Layout: ``library.sqlite`` (metadata, audit log, ratings, list of live index segments),
``index/`` (immutable segment files), ``library.lock`` (held while writing). Files are created
user-only. A library remembers its model; opening it with another model is refused with a
message that says how to rebuild.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ._finder_version import FINDER_VERSION
from ._model_ref import missing_file, open_clip_ref
from ._wording import first_few, shell_arg
from .index import (IndexError_, IndexParams, ModelMismatchError, VectorIndex, damaged_files,
                    empty_manifest, segment_files, write_segment)
from .store import Store, StoreDamaged, StoreError

log = logging.getLogger(__name__)

DB_FILE = "library.sqlite"
INDEX_DIR = "index"
ARCHIVES_DIR = "archives"     # grant archives unpacked by `index add` (core.sources)
QUERIES_DIR = "queries"       # query drawings kept with the library (pasted images, the demo's)
LOCK_FILE = "library.lock"
FINDER_RUNS = "finder_runs"   # meta: ingestion run id -> FINDER_VERSION that cut its pages


_HOLDING = threading.Lock()


@contextlib.contextmanager
def _held_back(logger: logging.Logger) -> Iterator[list[logging.LogRecord]]:
    """Collect what ``logger`` and its children log instead of emitting it (one holder at a
    time: two would restore each other's settings)."""
    held: list[logging.LogRecord] = []

    class _Hold(logging.Handler):
        def emit(self, record):
            held.append(record)

    with _HOLDING:
        handler, propagate = _Hold(), logger.propagate
        logger.addHandler(handler)
        logger.propagate = False
        try:
            yield held
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate


class LibraryError(Exception):
    """A library cannot be used as asked; the message says what to do."""


class MissingFilesError(LibraryError):
    """A rebuild needs page files that are gone or unreadable: ``what`` says which and how
    to restore them; the message adds the way on without them (``--drop-missing``)."""

    def __init__(self, what: str, without: str = "rebuild without them"):
        self.what = what
        super().__init__(f"{what}, or {without} with `patent-examiner index rebuild "
                         "--drop-missing`")


class ModelMovedError(LibraryError):
    """The checkpoint this library was built with is not where it was: ``missing`` is the
    file or folder it needs, ``ref`` the recorded model spec."""

    def __init__(self, message: str, ref: str, missing: str):
        super().__init__(message)
        self.ref, self.missing = ref, missing

    def moved_to(self, place: str | os.PathLike) -> str:
        """The model spec with its file or folder at ``place`` now."""
        if ref := open_clip_ref(self.ref):
            return f"open_clip:{ref[0]}@{place}"
        return str(place)


class LibraryBusyError(LibraryError):
    """Another process is writing to this library."""


def _open_lock(folder: Path) -> int:
    return os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)


def try_lock(fd: int) -> bool:
    """Take the writer lock on ``fd`` (held until it is closed); False if another holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def remove_if_empty(path: Path, made: Path | None = None) -> bool:
    """Remove a library folder that records no page, under the writer lock: a run that made a
    new library and added nothing leaves none behind, and one another run is writing to
    (it holds the lock) is left alone; ``made``: the outermost folder made for it
    (``Library.made``), whose folders around it are removed too where empty. True if it was
    removed."""
    import sqlite3

    try:
        fd = _open_lock(path)
    except OSError:
        return False
    try:
        if not try_lock(fd):
            return False
        db = path / DB_FILE
        if db.exists():
            try:
                conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
                try:
                    if conn.execute("SELECT COUNT(*) FROM pages").fetchone()[0]:
                        return False
                finally:
                    conn.close()
            except sqlite3.Error:
                return False        # cannot tell: left alone
        shutil.rmtree(path, ignore_errors=True)
        if made is not None and made in path.parents:
            for parent in path.parents:
                with contextlib.suppress(OSError):
                    parent.rmdir()
                if parent == made:
                    break
        return True
    finally:
        os.close(fd)


#: Names the user's library folder, over the platform's data directory (and, in the window,
#: over the library used last).
LIBRARY_ENV = "PATENT_EXAMINER_LIBRARY"


def default_library_path() -> Path:
    """The user's default library folder (platform data directory), or $PATENT_EXAMINER_LIBRARY."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser().absolute()
    from platformdirs import user_data_path

    return user_data_path("patent-examiner", appauthor=False) / "library"


def library_path(given: str | os.PathLike | None) -> Path:
    """The library folder a user named (``--library``), else the default one."""
    return Path(given).expanduser().absolute() if given else default_library_path()


#: ``index rebuild`` builds the new library beside the old one (``<name>.rebuild``) and swaps
#: the folders once it is complete (the marker file says so).
REBUILD_SUFFIX = ".rebuild"
REBUILD_MARKER = "REBUILD_COMPLETE"


#: What a rebuild makes anew; everything else in the folder (the unpacked grant archives its
#: pages are read from, kept queries) moves into the rebuilt library.
REBUILT = {DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", DB_FILE + "-journal", INDEX_DIR,
           LOCK_FILE, REBUILD_MARKER}


#: What a rebuild keeps of the library it replaces (rows keep their ids).
KEPT_TABLES = ("sources", "patents", "searches", "ratings", "descriptions", "cache", "refiled",
               "corrections")


@contextlib.contextmanager
def attached(conn, old_db: Path):
    """``conn`` with another library database attached as ``old``."""
    conn.execute("ATTACH DATABASE ? AS old", (str(old_db),))
    try:
        yield conn
    finally:
        conn.execute("DETACH DATABASE old")


def copy_kept_rows(store: Store, old_db: Path) -> None:
    """The rows of ``KEPT_TABLES`` in ``old_db`` that ``store`` lacks, in one transaction
    (searches and ratings written to a library while it was being rebuilt)."""
    with attached(store.conn, old_db) as conn, store.transaction():
        for table in KEPT_TABLES:
            conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM old.{table}")


def _keep_last_rows(library: Path, rebuilt: Path) -> None:
    """Just before a swap: what was written to the library since the rebuild's last copy of
    it (searches and ratings made meanwhile) goes into the rebuilt one, which nobody else
    has open yet (writers wait for the swap meanwhile: ``Library.replaced``)."""
    if not (library / DB_FILE).exists() or not (rebuilt / DB_FILE).exists():
        return
    store = Store(rebuilt / DB_FILE)
    try:
        copy_kept_rows(store, library / DB_FILE)
    finally:
        store.close()


#: How long a library's readers and writers wait for another process's rebuild to swap
#: folders (a marker older than ``SWAP_FRESH_S`` is a killed rebuild's: nobody waits).
SWAP_WAIT_S = 10.0
SWAP_FRESH_S = 120.0


def _swap_marker(path: Path) -> Path:
    real = path.resolve()           # (a library opened through a link is swapped there)
    return real.with_name(real.name + REBUILD_SUFFIX) / REBUILD_MARKER


def _wait_for_swap(marker: Path) -> None:
    """While a rebuild swaps the library's folders (its ``marker`` is there), wait: nothing
    is written to the library it replaces after its last rows were copied."""
    deadline = time.monotonic() + SWAP_WAIT_S
    while time.monotonic() < deadline:
        try:
            if time.time() - marker.stat().st_mtime > SWAP_FRESH_S:
                return
        except OSError:             # no swap (any more)
            return
        time.sleep(0.02)


def finish_interrupted_swap(path: Path) -> None:
    """Complete a rebuild whose final folder swap was interrupted (each step is a rename, so
    an interrupted swap resumes where it stopped)."""
    path = path.resolve()           # a library opened through a link: its folder, not the link
    tmp = path.with_name(path.name + REBUILD_SUFFIX)
    try:
        swapping = (tmp / REBUILD_MARKER).exists()
    except OSError as exc:          # a name too long to have a rebuild beside it has none
        if exc.errno != errno.ENAMETOOLONG:
            raise
        swapping = False
    if not swapping and (path / REBUILD_MARKER).exists():   # swapped, killed before the end
        (path / REBUILD_MARKER).unlink()
        shutil.rmtree(path.with_name(path.name + ".old"), ignore_errors=True)
        return
    if swapping:
        old = path.with_name(path.name + ".old")
        if path.exists():
            _keep_last_rows(path, tmp)
            for entry in sorted(path.iterdir()):
                if entry.name not in REBUILT and not (tmp / entry.name).exists():
                    entry.rename(tmp / entry.name)
            if old.exists():
                shutil.rmtree(old)
            path.rename(old)
        tmp.rename(path)
        (path / REBUILD_MARKER).unlink()
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)


class Library:
    """Open an existing library (or create one with ``create=True``)."""

    def __init__(self, path: str | os.PathLike, create: bool = False,
                 params: IndexParams | None = None):
        self.path = Path(path).expanduser()
        self.params = params or IndexParams()
        if self.path.exists() and not self.path.is_dir():
            raise LibraryError(f"{self.path} is a file, not a library folder")
        if not self.path.resolve().name:
            raise LibraryError(f"{self.path} cannot be a library: name a folder of its own")
        for part, what in ((self.path, "folder"), (self.path / INDEX_DIR, "index folder"),
                           (self.path / DB_FILE, "database")):
            need = os.R_OK | (os.X_OK if part.is_dir() else 0)
            if part.exists() and not os.access(part, need):
                raise LibraryError(f"{part}: this user may not open the library's {what} (its "
                                   "permissions): ask its owner for read access")
        finish_interrupted_swap(self.path)
        self.made: Path | None = None   # the outermost folder this object made for it
        db = self.path / DB_FILE
        if not db.exists():
            if not create:
                raise LibraryError(f"no library at {self.path} (create one with `patent-examiner "
                                   f"index add SOURCE --library {shell_arg(self.path)}`)")
            from ._names import readable, storable

            if not storable(str(self.path.resolve())):
                raise LibraryError(f"{readable(self.path)}: a library folder's name must be "
                                   "valid UTF-8 (the library records paths inside it): choose "
                                   "another name")
            old = os.umask(0o077)
            try:
                try:
                    top = self.path         # the outermost folder this makes
                    while not top.parent.exists() and top.parent != top:
                        top = top.parent
                    self.path.mkdir(parents=True)
                    self.made = top
                except FileExistsError:
                    pass
                (self.path / INDEX_DIR).mkdir(exist_ok=True)
            finally:
                os.umask(old)
        self._refuse_emptied(db)
        new = not db.exists()
        try:
            self.store = self._open_store(db)
        except BaseException:
            if self.created:        # (no room for a new library: nothing of it left behind)
                shutil.rmtree(self.made, ignore_errors=True)
            elif new:               # (in a folder of the user's: what it made there)
                for made in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                    made.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    (self.path / INDEX_DIR).rmdir()
            raise
        self._db_inode = os.stat(db).st_ino     # (a rebuild swaps in another file)
        self._follow_own_folder()
        self._index: VectorIndex | None = None
        self._index_key = None

    @property
    def created(self) -> bool:
        """This object made the library's folder (not another process)."""
        return self.made is not None

    def _follow_own_folder(self) -> None:
        """The drawings unpacked into the library (its ``archives`` folder) are named by
        absolute path: a library moved or copied elsewhere names its own copies again, not
        files that are gone or belong to the library it was copied from."""
        here = str(self.path)
        was = self.store.get_meta("library_path")
        if was == here:
            return
        try:
            same = was is not None and Path(was).resolve() == self.path.resolve()
        except OSError:
            same = False
        old, new = (os.path.join(p, ARCHIVES_DIR) + os.sep for p in (was or here, here))
        if self.store.read_only:        # (read as if rewritten: the file is not written)
            if was is not None and not same:
                self.store.read_paths_moved(old, new, ("pages", "sources"))
            return
        try:        # (best effort: a library that cannot be written now opens as it is)
            with self.store.transaction() as conn:
                if was is not None and not same:
                    for table in ("pages", "sources"):
                        conn.execute(f"UPDATE {table} SET path = ? || substr(path, ?) "
                                     "WHERE substr(path, 1, ?) = ?",
                                     (new, len(old) + 1, len(old), old))
                self.store._set_meta("library_path", here)
        except StoreError:
            pass

    def _refuse_emptied(self, db: Path) -> None:
        """An empty database beside a library's index files was lost or cut off (a copy or
        a disk gone wrong): opened, it would become a new library whose next write removes
        those files."""
        wal = db.with_name(db.name + "-wal")
        try:
            emptied = (db.stat().st_size == 0 and not (wal.exists() and wal.stat().st_size)
                       and any((self.path / INDEX_DIR).iterdir()))
        except OSError:
            return
        if emptied:
            raise LibraryError(f"{db} is empty, but {self.path / INDEX_DIR} holds a library's "
                               "index: the database was lost or cut off. Move the library "
                               "aside and rebuild it from its sources with "
                               "`patent-examiner index add`.")

    @staticmethod
    def _open_store(db: Path) -> Store:
        try:
            store = Store(db)
        except StoreDamaged as exc:
            raise LibraryError(f"{exc}. Move the library aside and rebuild it from its sources "
                               "with `patent-examiner index add`.") from exc
        except StoreError as exc:       # newer, read-only and older, locked, disk full
            raise LibraryError(str(exc)) from exc
        return store

    def replaced(self) -> bool:
        """Whether a rebuild swapped a new library in since this one was opened; a
        LibraryError if the library is gone (deleted or moved while open: what is written to
        the open database would be lost). A swap in progress is waited for."""
        marker = _swap_marker(self.path)
        _wait_for_swap(marker)
        try:
            return os.stat(self.path / DB_FILE).st_ino != self._db_inode
        except OSError:
            pass
        if marker.exists():     # mid-swap still: the open one is the library's
            return False
        try:                    # (or the swap has just ended)
            return os.stat(self.path / DB_FILE).st_ino != self._db_inode
        except OSError:
            raise LibraryError(f"the library at {self.path} is gone (deleted or moved while "
                               "open): nothing more can be saved to it; open it where it "
                               "is now") from None

    def content_key(self) -> tuple:
        """What the library holds, cheaply: its database file and index segments (an add, a
        date correction or a rebuild, in this process or another, changes it)."""
        return self._db_inode, [seg["name"] for seg in (self.manifest or {}).get("segments",
                                                                                 [])]

    def reopen_if_replaced(self) -> bool:
        """Follow a rebuild that swapped a new library in since this one was opened (the
        open database is the old one, its index files gone): True if it was reopened."""
        if not self.replaced():
            return False
        db = self.path / DB_FILE
        inode = os.stat(db).st_ino
        self.store.close()
        self.store = self._open_store(db)
        self._db_inode = inode
        self._index = self._index_key = None
        return True

    def write_where_kept(self, write: Callable[[Store], int],
                         read: Callable[[Store, int], object]) -> int:
        """``write`` one row (it returns the row's id) into the library's database as it is
        now: a rebuild in another process may have swapped a new one in, and what went to
        the old one would be lost. Swapped in just as the row was written, the new one gets
        it too unless the rebuild copied it (``read`` gives the row, to compare)."""
        self.reopen_if_replaced()
        store = self.store
        row_id = write(store)
        if self.replaced():
            written = read(store, row_id)
            self.reopen_if_replaced()
            if read(self.store, row_id) != written:
                row_id = write(self.store)
        return row_id

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- model binding --------------------------------------------------------------------
    @property
    def model_info(self) -> dict | None:
        return self.store.get_meta("model")

    @property
    def model_id(self) -> str | None:
        info = self.model_info
        return info["id"] if info else None

    def check_model(self, model, named_by_library: bool = False) -> None:
        """Raise ModelMismatchError unless ``model`` built this library (or it is empty).
        ``named_by_library``: ``model`` is what the library's own model reference loads now
        (that reference, "default" after an upgrade, names another model than it did)."""
        if self.model_id is not None and self.model_id != model.model_id:
            ref = (self.model_info or {}).get("ref")
            if named_by_library and "ref" in (self.model_info or {}) and ref is None:
                raise ModelMismatchError(
                    f"this library was built with model {self.model_id}, one made in Python "
                    "that no name or folder loads: save it (core.models.save_checkpoint) and "
                    "give that folder once with --model (the library remembers it), or rebuild "
                    f"the library with another model (`patent-examiner index rebuild --library "
                    f"{shell_arg(self.path)} --model NAME`)", built_with=self.model_id,
                    in_use=model.model_id)
            if named_by_library and ref:
                raise ModelMismatchError(
                    f"this library was built with model {self.model_id}; the model it names "
                    f"({ref}) is now {model.model_id}: rebuild it with `patent-examiner index "
                    f"rebuild --library {shell_arg(self.path)}` (its searches and ratings are "
                    "kept)",
                    built_with=self.model_id, in_use=model.model_id)
            raise ModelMismatchError(
                f"this library was built with model {self.model_id} but the model in use is "
                f"{model.model_id}; rebuild it with `patent-examiner index rebuild --library "
                f"{shell_arg(self.path)} --model ...`, or use the model it was built with",
                built_with=self.model_id, in_use=model.model_id)

    def check_index_files(self) -> None:
        """A LibraryError naming an index file that is missing or cut short (not read): adding
        to such a library said "done" while every search of it was refused."""
        if damaged := damaged_files(self.path / INDEX_DIR, self.manifest):
            raise LibraryError(f"index file {first_few(damaged)}: the index of {self.path} "
                               "is damaged, so nothing was added. Rebuild it first with "
                               "`patent-examiner index rebuild --library "
                               f"{shell_arg(self.path)}`, then "
                               "add again")

    def bind_model(self, conn, model, ref: str | None) -> None:
        """Record ``model`` as this library's (when it has none yet), with what loads it again:
        ``ref``, else the name or folder it was loaded by (None: one made in Python)."""
        if self.model_id is None:
            self.store._set_meta("model", {"id": model.model_id,
                                           "ref": ref or getattr(model, "ref", None),
                                           "arch": model.spec.arch,
                                           "embed_dim": model.embed_dim})

    # -- figure finder --------------------------------------------------------------------
    def record_finder(self, run_id: str, version: int | None) -> None:
        """Note which figure finder cut the pages of ingestion run ``run_id`` (None: not
        known); inside the run's transaction."""
        runs = self.store.get_meta(FINDER_RUNS) or {}
        if run_id not in runs:
            self.store._set_meta(FINDER_RUNS, {**runs, run_id: version})

    def older_finder_pages(self) -> int:
        """Pages cut into figures by an older figure finder than this version's, or by one
        not recorded (libraries built before versions were recorded); ``index rebuild``
        cuts them again."""
        runs = self.store.get_meta(FINDER_RUNS) or {}
        return sum(n for run, n in self.store.pages_by_run().items()
                   if (runs.get(run) or 0) < FINDER_VERSION)

    def older_finder_note(self) -> str | None:
        """What to tell the user about ``older_finder_pages``, or None."""
        n = self.older_finder_pages()
        if not n:
            return None
        return (f"{n} page(s) of this library were cut into figures by an older figure finder "
                f"(or one that was not recorded); `patent-examiner index rebuild --library "
                f"{shell_arg(self.path)}` cuts them again (searches and ratings are kept)")

    def model_ref(self, override: str | None = None, fallback: str | None = None) -> str:
        """What to load as this library's model: ``override``, else what it was built with
        (a checkpoint folder that has moved since is a LibraryError that says so), else
        ``fallback`` or the default model."""
        if override:
            return override
        ref = (self.model_info or {}).get("ref")
        gone = self._model_missing()
        if gone:
            how = (f"--model {ref[:-len(gone)]}NEW-PATH" if ref.endswith("@" + gone) else
                   "--model")           # (an open_clip file is named with its architecture)
            raise ModelMovedError(f"this library was built with the model at {gone}, which is not "
                               f"there now: put it back, or give its new place once with "
                               f"{how} (search, index add, history --replay, ratings "
                               "--score: the library remembers it), or "
                               "rebuild the library with another model (index rebuild "
                               "--model NAME)", ref, gone)
        return ref or fallback or "default"

    def remember_model_ref(self, model, ref: str) -> None:
        """The model this library was built with, found at ``ref`` now (its recorded place is
        gone, or none was recorded): later commands load it from there without being told."""
        info = self.model_info
        if (info and info.get("id") == model.model_id and ref != info.get("ref")
                and (info.get("ref") is None or missing_file(info["ref"]))
                and not missing_file(ref)
                and not self.store.read_only):
            with self.store.transaction():
                self.store._set_meta("model", {**info, "ref": ref})

    def load_model(self, override: str | None = None):
        """The model this library was built with (or ``override``, which must match)."""
        from .models import load_model

        with _held_back(logging.getLogger("core.models")) as held:
            model = load_model(self.model_ref(override))
        # (a refused model's load warnings would only mislead)
        self.check_model(model, named_by_library=not override)
        for record in held:
            logging.getLogger(record.name).handle(record)
        if override:
            self.remember_model_ref(model, override)
        return model

    # -- index ----------------------------------------------------------------------------
    @property
    def manifest(self) -> dict | None:
        return self.store.get_meta("index_manifest")

    def index(self, verify: str = "lazy") -> VectorIndex:
        """The live index (reloaded when another process has committed new segments; segments
        already loaded are kept). Vector blocks are checked in the background."""
        self.reopen_if_replaced()       # a rebuild in another process swapped a new one in
        manifest = self.manifest
        if manifest is None:
            raise LibraryError(f"the library at {self.path} is empty: add drawings with "
                               "`patent-examiner index add SOURCE`")
        key = [s["name"] for s in manifest["segments"]]
        if self._index is None or key != self._index_key:
            try:
                self._index = VectorIndex(self.path / INDEX_DIR, manifest, self.params, verify,
                                          previous=self._index)
                if verify == "lazy":
                    self._index.verify_in_background()
            except IndexError_ as exc:
                if self.reopen_if_replaced():       # a rebuild swapped the folders meanwhile
                    return self.index(verify)
                raise LibraryError(f"{exc}. The index of {self.path} is damaged; rebuild it "
                                   "with `patent-examiner index rebuild --library "
                                   f"{shell_arg(self.path)}`"
                                   ) from exc
            self._index_key = key
        return self._index

    def write_segment(self, labels: np.ndarray, dates: np.ndarray, vectors: np.ndarray) -> dict:
        return write_segment(self.path / INDEX_DIR, labels, dates, vectors, self.params)

    def next_label(self) -> int:
        """First free vector label (figure id), above anything in the store or the index."""
        top = self.store.max_figure_id()
        for seg in (self.manifest or {}).get("segments", []):
            top = max(top, seg.get("max_label", 0))
        return top + 1

    def set_manifest(self, manifest: dict) -> None:
        """Inside a store transaction: make ``manifest`` the live index."""
        self.store._set_meta("index_manifest", manifest)

    def new_manifest(self, model) -> dict:
        return self.manifest or empty_manifest(model.model_id, model.embed_dim)

    def collect_garbage(self) -> int:
        """Delete segment files that no committed manifest names (left by crashed writers)."""
        live = {s["name"] for s in (self.manifest or {}).get("segments", [])}
        removed = 0
        for path in (self.path / INDEX_DIR).glob("seg-*"):
            if path.name.split(".")[0] not in live:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed

    def drop_segment_files(self, names) -> None:
        for name in names:
            for p in segment_files(self.path / INDEX_DIR, name):
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    p.unlink()

    # -- locking --------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive writer lock (one ingest/rebuild at a time; readers never wait)."""
        if self.store.read_only:
            self.store.refuse_write()
        try:
            fd = _open_lock(self.path)
        except FileNotFoundError:
            raise LibraryError(f"the library folder {self.path} was removed while this run "
                               "started (by another run that added nothing?); run it "
                               "again") from None
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            self.store.refuse_write()
        try:
            if not try_lock(fd):
                raise LibraryBusyError(f"another process is writing to the library at "
                                       f"{self.path}; wait for it to finish")
            self.collect_garbage()
            yield
        finally:
            os.close(fd)

    # -- summary --------------------------------------------------------------------------
    def info(self) -> dict:
        counts = self.store.counts()
        first, last = self.store.date_range()
        manifest = self.manifest or {}
        return {
            "library": str(self.path),
            "model": self.model_info,
            **counts,
            "grant_date_range": [first, last],
            "index_segments": len(manifest.get("segments", [])),
            "index_vectors": sum(s["count"] for s in manifest.get("segments", [])),
            "pages_older_finder": self.older_finder_pages(),
            "damaged_index_files": damaged_files(self.path / INDEX_DIR, manifest),
            "read_only": self.store.read_only,
            "read_only_words": self.store.read_only_words if self.store.read_only else None,
            # (opened read-only for want of room: [why, what to do])
            "no_room": list(self.store.no_room_now) if self.store.no_room_now else None,
            "unread_changes": self.store.UNREAD_CHANGES if self.store.unread_changes else None,
            "demo": self.store.get_meta("demo") is not None,
            "demo_unfinished": not (self.store.get_meta("demo") or {"complete": True}
                                    ).get("complete"),
            "model_missing": self._model_missing(),
            "interrupted_rebuild": self._interrupted_rebuild(),
        }

    def _model_missing(self) -> str | None:
        """The file or folder of the checkpoint this library was built with, if it is gone."""
        ref = (self.model_info or {}).get("ref")
        return missing_file(ref) if ref else None

    def _interrupted_rebuild(self) -> str | None:
        """The folder an ``index rebuild`` stopped before its end left beside this library
        (not one a rebuild running now is building: it holds this library's writer lock)."""
        real = self.path.resolve()
        aside = real.with_name(real.name + REBUILD_SUFFIX)
        if not aside.is_dir() or (aside / REBUILD_MARKER).exists():
            return None
        try:
            fd = _open_lock(self.path)
        except OSError:
            return None                 # (cannot tell: say nothing)
        try:
            return str(aside) if try_lock(fd) else None
        finally:
            os.close(fd)                # (and the lock with it)


def missing_page_files(library: Library) -> list[str]:
    """The library's page files that are no longer where they were added."""
    return sorted({p for (p,) in library.store.conn.execute("SELECT DISTINCT path FROM pages")
                   if not Path(p).is_file()})
