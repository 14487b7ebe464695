"""Bulk embedding beyond one machine: torchrun ranks write shards, a library merges them.

    torchrun --nnodes N --nproc-per-node G ... -m core.cli embed SOURCE... --out SHARDDIR
    patent-examiner index add-shards SHARDDIR --library DIR

Every rank scans the same sources, so all agree on the page list (sorted by file and page),
embeds ``pages[rank::world]`` with the pipeline of core.embed (on its GPU, or its share of
the CPU cores) and writes one shard folder atomically (written aside, renamed into place):
vectors, figure boxes, page and patent records, model id. After a barrier, rank 0 writes
``COMPLETE.json``. A re-run with the same world size keeps the shards already written whose
pages and vectors have not changed (new grants in a source folder are embedded anew; corrected
patent records are written into the shard without embedding again).
Vectors do not depend on how pages were spread over ranks (core.embed), so any world size
gives the vectors of a single-process run.

Merging is ingestion with the shards as the source of vectors: the same atomic chunk commits,
pages already in the library skipped, pages committed in grant-date order (so index segments
cover consecutive date ranges and a cutoff splits at most one of them).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .atomic import replacing
from ._finder_version import FINDER_VERSION
from ._hashing import sha256_file
from ._names import NOT_UTF8, readable, storable
from ._page_twins import file_changed
from .drawing import FigureBox
from .embed import PreparedPage, embed_pages
from .records import PageRecord, PatentRecord, SourceScan
from .store import date_ord

COMPLETE = "COMPLETE.json"
SHARD_FORMAT = "patent-examiner/shard-v1"


class ShardError(Exception):
    """A shard folder is incomplete, damaged or from another model."""


def _rank_world() -> tuple[int, int, int]:
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def shard_name(rank: int, world: int) -> str:
    return f"shard-{rank:05d}-of-{world:05d}"


@dataclass(frozen=True)
class RankShard:
    """This rank's part of an embedding job: its shard folder, and what the run did with it
    (``kept``: the shard already there stood; else ``why`` it was written)."""
    path: Path
    kept: bool
    why: str = "new"


def embed_to_shards(sources: Iterable[str | Path], out: str | Path, model, *,
                    model_ref: str | None = None, allow_absolute: bool = False,
                    batch_size: int = 32, workers: int | None = None,
                    device: str | None = None, progress=None) -> RankShard:
    """This rank's part of a sharded embedding (all of it outside torchrun). On a GPU
    machine rank r uses GPU ``LOCAL_RANK``; on a CPU the ranks of a node share its cores. A
    shard already there is kept only if the same model embedded the same sources into it:
    embedded again when their pages changed since, or its vectors did; its records written
    again when only the patents' records changed (a corrected date or title).
    ``progress(done, total, note)`` follows this rank's pages."""
    from .embed import pick_device

    rank, world, local_rank = _rank_world()
    device = pick_device(device)
    if device == "cuda":
        device = f"cuda:{local_rank}"
    model.to(device)
    if workers is None:
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        workers = max(1, (os.cpu_count() or 2) // local_world)
    dist = None
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    out = Path(out)
    if not storable(str(out.resolve())):
        raise ShardError(f"{readable(out)}: {NOT_UTF8.replace('add it again', 'run again')}")
    out.mkdir(parents=True, exist_ok=True)
    target = out / shard_name(rank, world)
    job = sorted(str(Path(src).expanduser().resolve()) for src in sources)
    # (the job's rank 0 holds the folder: a job of another world size writes other shards)
    with _lock(out / ".embed.lock", out) if rank == 0 else contextlib.nullcontext(), \
            _lock(target.with_name(f".{target.name}.lock"), target):
        _check_job(out, job)
        result = _embed_rank(sources, job, target, model, model_ref, allow_absolute,
                             batch_size, workers, rank, world, progress)
        if dist is not None:
            dist.barrier()
        if rank == 0:
            names = [shard_name(r, world) for r in range(world)]
            missing = [n for n in names if not (out / n).is_dir()]
            if missing:
                raise ShardError(f"shards missing after all ranks finished: {missing[:3]}")
            _atomic_text(out / COMPLETE, json.dumps({"world": world, "shards": names,
                                                     "model_id": model.model_id,
                                                     "sources": job}))
    if dist is not None:
        dist.destroy_process_group()
    return result


@contextlib.contextmanager
def _lock(path: Path, what: Path) -> Iterator[None]:
    """One job at a time writes a shard folder (two jobs of other sources into one --out each
    found no shard, and one's was silently replaced by the other's)."""
    from .library import try_lock

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not try_lock(fd):
            raise ShardError(f"another `embed` job is writing {what}; wait for it to "
                             "finish, or give another --out")
        yield
    finally:
        os.close(fd)


def _check_job(out: Path, job: list[str]) -> None:
    """Refuse a folder whose finished job embedded other sources (with another world size
    its shards have other names, and add-shards merged only the last job's)."""
    try:
        done = json.loads((out / COMPLETE).read_text())
    except (OSError, ValueError):
        return
    if isinstance(done, dict) and done.get("sources", job) != job:
        raise ShardError(f"{out} already holds shards embedded with other sources; write to "
                         "a new --out folder, or delete the old shards")


def _embed_rank(sources, job: list[str], target: Path, model, model_ref,
                allow_absolute: bool, batch_size: int, workers: int, rank: int, world: int,
                progress) -> RankShard:
    from .ingest import scan_sources

    old = _check_reusable(target, model, job) if target.exists() else None
    scans, errors = scan_sources(sources, allow_absolute)
    patents: dict[str, PatentRecord] = {}
    pages: dict[tuple[str, int], PageRecord] = {}
    for scan in scans:
        errors += scan.errors
        for pid, rec in scan.patents.items():
            patents.setdefault(pid, rec)
        for p in scan.pages:
            pages.setdefault((str(p.path), p.page_index), p)
    if not pages:
        reasons = "; ".join(f"{item}: {why}" for item, why in errors[:3])
        raise ShardError("nothing to embed: no drawing pages in the sources"
                         + (f" ({len(errors)} skipped: {reasons})" if errors else ""))
    mine = [pages[k] for k in sorted(pages)][rank::world]
    records = _json_plain({"patents": {pid: _plain(asdict(patents[pid]))
                                       for pid in sorted({p.patent_id for p in mine})},
                           "errors": errors if rank == 0 else []})
    why = "new" if old is None else _outdated(target, old, mine)
    if why is None:
        if all(old.get(k) == v for k, v in records.items()):
            return RankShard(target, kept=True)
        # (a corrected date or title: the vectors stand, the records are written again)
        (target.parent / COMPLETE).unlink(missing_ok=True)
        _atomic_text(target / "records.json", json.dumps({**old, **records}))
        return RankShard(target, kept=False, why="the patents' records changed")
    # (new pages in a source folder, or files changed since: the job is embedded anew, and
    # add-shards waits for this run's COMPLETE.json)
    (target.parent / COMPLETE).unlink(missing_ok=True)
    counter = itertools.count(1)

    def on_page(p: PreparedPage) -> None:
        progress(next(counter), len(mine), Path(p.page.path).name)
    done = list(embed_pages(model, mine, batch_size=batch_size, workers=workers,
                            on_page=on_page if progress is not None else None))
    _write_shard(target, model, model_ref, done, records, job)
    return RankShard(target, kept=False, why=why)


def _outdated(target: Path, meta: dict, mine: list[PageRecord]) -> str | None:
    """Why a shard (its ``records.json``) cannot stand for the pages this rank would embed
    now, or None: other pages, files changed since (``file_changed``: the rule the library
    uses for its pages), or vectors that are not the ones written."""
    fields = ("path", "page_index", "patent_id", "page_kind", "sheet")   # (a page refiled)
    now = sorted(_json_plain([str(getattr(p, f)) if f == "path" else getattr(p, f)
                              for f in fields]) for p in mine)
    if now != sorted([p.get(f) for f in fields] for p in meta["pages"]):
        return "the sources' pages changed"
    files = {p["path"]: p for p in meta["pages"]}
    if any(file_changed(path, p.get("file_size"), p.get("file_mtime"), p.get("file_sha256"))
           for path, p in files.items()):
        return "page files changed"
    vectors = target / "vectors.npy"
    recorded = meta.get("vectors_sha256")
    try:
        if recorded is not None:
            same = sha256_file(vectors) == recorded
        else:
            same = np.load(vectors, mmap_mode="r").shape == (meta["figures"], meta["dim"])
    except (OSError, ValueError, EOFError, KeyError):
        same = False
    return None if same else "its vectors were damaged or missing"


def _json_plain(value):
    """``value`` as it reads back from JSON (tuples as lists), to compare with a record."""
    return json.loads(json.dumps(value))


def _check_reusable(target: Path, model, job: list[str]) -> dict:
    """The records of a shard already there, refused if of another model or of other
    sources than this job's."""
    try:
        meta = json.loads((target / "records.json").read_text())
    except (OSError, ValueError) as exc:
        raise ShardError(f"{target} is damaged ({exc}); delete it and run again") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("pages"), list)
            and "model_id" in meta):
        raise ShardError(f"{target} is damaged (its records.json is not a shard's records); "
                         "delete it and run again")
    if meta.get("model_id") != model.model_id or meta.get("sources", job) != job:
        what = ("another model" if meta.get("model_id") != model.model_id
                else "other sources")
        raise ShardError(f"{target.parent} already holds a shard embedded with {what}; "
                         "write to a new --out folder, or delete the old shards")
    return meta


def shard_summary(target: Path) -> dict:
    """Counts of one written shard: pages, figures, pages that failed, skipped inputs."""
    meta = json.loads((Path(target) / "records.json").read_text())
    failed = [(p["path"], p["error"]) for p in meta["pages"] if p.get("error")]
    return {"pages": len(meta["pages"]), "figures": meta["figures"],
            "failed_pages": failed, "skipped": [tuple(e) for e in meta["errors"]]}


def job_summary(out: str | Path) -> dict:
    """Counts of a finished job (rank 0 wrote its COMPLETE.json): shards, pages, figures."""
    out = Path(out)
    names = json.loads((out / COMPLETE).read_text())["shards"]
    counts = [shard_summary(out / name) for name in names]
    return {"shards": len(names), "pages": sum(c["pages"] for c in counts),
            "figures": sum(c["figures"] for c in counts)}


def _write_shard(target: Path, model, model_ref, done: list[PreparedPage], records: dict,
                 job: list[str]) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    vectors = np.concatenate([p.vectors for p in done] or
                             [np.zeros((0, model.embed_dim), np.float32)]).astype(np.float32)
    with open(tmp / "vectors.npy", "wb") as f:
        np.save(f, vectors)
        f.flush()
        os.fsync(f.fileno())
    vectors_sha256 = sha256_file(tmp / "vectors.npy")
    pages = [{**_plain(asdict(p.page)), "width": p.width, "height": p.height,
              "file_size": p.file_size, "file_mtime": p.file_mtime,
              "file_sha256": p.file_sha256, "error": p.error,
              "no_figure": p.no_figure, "boxes": [b.to_list() for b in p.boxes]}
             for p in done]
    meta = {"format": SHARD_FORMAT, "model_id": model.model_id, "model_ref": model_ref,
            "finder": FINDER_VERSION,
            "dim": model.embed_dim, "figures": len(vectors), "pages": pages,
            **records, "sources": job, "vectors_sha256": vectors_sha256}
    _atomic_text(tmp / "records.json", json.dumps(meta))
    old = target.with_name(target.name + ".old")        # an outdated shard of this rank
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _plain(d: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Path) else v)
            for k, v in d.items()}


def _atomic_text(path: Path, text: str) -> None:
    with replacing(path, fsync=True) as f:
        f.write(text)


# -- merging --------------------------------------------------------------------------------
class ShardSet:
    """The complete shards of a folder, read as a source of pages with their vectors."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not storable(str(self.folder.resolve())):
            raise ShardError(f"{readable(self.folder)}: {NOT_UTF8}")
        if not self.folder.is_dir():
            raise ShardError(f"{self.folder}: no such folder (the --out folder of "
                             "`patent-examiner embed`)")
        try:
            complete = json.loads((self.folder / COMPLETE).read_text())
        except ValueError:
            complete = None             # (said below: damaged)
        except OSError:
            if not any(p.is_dir() for p in self.folder.glob("shard-*")):
                raise ShardError(
                    f"{self.folder}: holds no shards of an `embed` job (pass the --out folder "
                    "of `patent-examiner embed`; drawings, manifests and Red Book folders are "
                    "added with `patent-examiner index add`)") from None
            raise ShardError(f"{self.folder}: no complete sharded embedding here (the "
                             f"`embed` job has not finished: {COMPLETE} is missing)") from None
        world = complete.get("world") if isinstance(complete, dict) else None
        if not (isinstance(world, int) and world > 0
                and complete.get("shards") == [shard_name(r, world) for r in range(world)]):
            raise ShardError(f"{self.folder / COMPLETE} is damaged (it does not list the "
                             "job's shards); run the `embed` job again")
        self.model_id = complete.get("model_id")
        self.shards = [self._read_shard(name) for name in complete["shards"]]
        self.model_ref = self.shards[0][0]["model_ref"] if self.shards else None
        # the oldest figure finder that cut a shard's pages (None: one did not record it)
        versions = [meta.get("finder") for meta, _ in self.shards]
        self.finder = None if None in versions else min(versions, default=FINDER_VERSION)

        self._where: dict[tuple[str, int], tuple[int, int, dict]] = {}
        for s, (meta, _) in enumerate(self.shards):
            start = 0
            for p in meta["pages"]:
                self._where[(p["path"], p["page_index"])] = (s, start, p)
                start += len(p["boxes"])

    def _read_shard(self, name: str) -> tuple[dict, np.ndarray]:
        """A shard's records and vectors, checked: its format and model, the vectors' shape
        and their checksum (a shard written before checksums: that every vector is finite)."""
        folder = self.folder / name
        try:
            meta = json.loads((folder / "records.json").read_text())
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        except (OSError, ValueError, EOFError) as exc:
            raise ShardError(f"{folder}: unreadable shard ({exc or 'an empty file'})") from None
        try:
            ok = (meta.get("format") == SHARD_FORMAT and meta["model_id"] == self.model_id
                  and vectors.shape == (meta["figures"], meta["dim"]))
        except (KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise ShardError(f"{folder}: damaged or from another model")
        recorded = meta.get("vectors_sha256")
        if recorded is not None:
            if sha256_file(folder / "vectors.npy") != recorded:
                raise ShardError(f"{folder}: its vectors changed since they were written "
                                 "(checksum mismatch); run the `embed` job again")
            return meta, vectors
        for start in range(0, len(vectors), 1 << 16):     # (a shard without the checksum)
            if not np.isfinite(vectors[start:start + (1 << 16)]).all():
                raise ShardError(f"{folder}: damaged (vectors that are not numbers); run the "
                                 "`embed` job again")
        return meta, vectors

    def check_model(self, model) -> None:
        """Refuse to merge vectors of another model than ``model``."""
        if self.model_id != model.model_id:
            raise ShardError(f"{self.folder} was embedded with model {self.model_id}, not with "
                             f"{model.model_id}")
        dims = {meta["dim"] for meta, _ in self.shards if meta["figures"]}
        if dims - {model.embed_dim}:        # (records edited to name another model)
            raise ShardError(f"{self.folder}: its vectors have {', '.join(map(str, dims))} "
                             f"dimensions, but model {model.model_id} makes "
                             f"{model.embed_dim}: they are not this model's")

    def scan(self) -> SourceScan:
        """Patents and pages of all shards, pages in grant-date order."""
        scan = SourceScan("shards", self.folder.resolve())
        for meta, _ in self.shards:
            scan.errors += [tuple(e) for e in meta["errors"]]
            for pid, rec in meta["patents"].items():
                scan.patents.setdefault(pid, _patent(rec))
            scan.pages += [PageRecord(p["patent_id"], Path(p["path"]), p["page_index"],
                                      p["page_kind"], p["sheet"]) for p in meta["pages"]]
        scan.pages.sort(key=lambda p: (date_ord(scan.patents[p.patent_id].grant_date),
                                       str(p.path), p.page_index))
        return scan

    def embed(self, model, pages: Iterable[PageRecord], *, on_page=None, cancel=None, **_
              ) -> Iterator[PreparedPage]:
        """Stands in for ``embed_pages``: the stored result of each page."""
        for page in pages:
            if cancel is not None and cancel.is_set():
                return
            s, start, p = self._where[(str(page.path), page.page_index)]
            prepared = PreparedPage(page, width=p["width"], height=p["height"],
                                    file_size=p["file_size"], file_mtime=p["file_mtime"],
                                    file_sha256=p.get("file_sha256"),
                                    boxes=[FigureBox(*b) for b in p["boxes"]],
                                    error=p["error"],
                                    no_figure=p.get("no_figure") or "the shard was written "
                                    "by an older version, which did not record why")
            prepared.vectors = np.asarray(self.shards[s][1][start:start + len(p["boxes"])])
            if on_page is not None:
                on_page(prepared)
            yield prepared


def _patent(rec: dict) -> PatentRecord:
    for key in ("grant_date", "filing_date", "priority_date"):
        if rec.get(key):
            rec[key] = date.fromisoformat(rec[key])
    return PatentRecord(**rec)


def add_shards(library, folder: "str | Path | ShardSet", model, *,
               model_ref: str | None = None, progress=None, cancel=None):
    """Merge a complete sharded embedding (a folder, or a ShardSet already open) into
    ``library`` (see the module docstring)."""
    from .ingest import ingest

    shards = folder if isinstance(folder, ShardSet) else ShardSet(folder)
    folder = shards.folder
    shards.check_model(model)
    scan = shards.scan()
    return ingest(library, [str(folder)], model, model_ref=model_ref or shards.model_ref,
                  progress=progress, cancel=cancel, scans=[scan], embed=shards.embed,
                  finder=shards.finder)
