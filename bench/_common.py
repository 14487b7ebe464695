"""Helpers shared by the benchmark scripts: argument types, machine load, timing statistics,
table printing."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL_DEV = SHARED_DATA / "real_dev" / "manifest.jsonl"


def summary(doc: str) -> str:
    """A script's ``--help`` description: the first paragraph of its docstring, lines joined
    (its first line alone cuts a sentence that wraps)."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def config_error(script: str, exc: Exception, argv) -> str:
    """A training script's config error; where the default config was used away from the
    repository, the hint to run it there (its data paths are relative to the repository)."""
    away = Path.cwd().resolve() != REPO
    default = "--config" not in " ".join(argv if argv is not None else sys.argv)
    hint = (f" (the default config's paths are relative to the repository: run it from {REPO})"
            if away and default else "")
    return f"{script}: error: {exc}{hint}"


def _whole_number(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _whole_number(text, 1, "a positive whole number")


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole_number(text, 0, "0 or a positive whole number")


def manifest_rows(manifest: Path = REAL_DEV, n: int | None = None, kind: str | None = None
                  ) -> list[dict]:
    """The rows of a JSONL page manifest, each with ``path`` (its page image); only pages of
    ``kind`` if given; an evenly spaced sample of ``n`` if given."""
    rows = [json.loads(x) for x in manifest.read_text().splitlines() if x.strip()]
    for r in rows:
        r["path"] = manifest.parent / r["image"]
    if kind:
        rows = [r for r in rows if r.get("page_kind") == kind]
    if n:
        rows = rows[::max(1, len(rows) // n)][:n]
    return rows


def require_real_dev() -> None:
    """Stop with a message when the real development data is absent; else print the machine."""
    if not REAL_DEV.is_file():
        sys.exit(f"needs the real development data at {REAL_DEV}")
    print(f"machine: {machine()}")


@contextmanager
def real_dev_library(workdir: Path, model):
    """The real development library in ``workdir/real``, indexed with ``model`` by the first
    run and reused by later ones (and by the other benchmarks given the same folder)."""
    from core.ingest import ingest
    from core.library import Library

    with Library(workdir / "real", create=True) as lib:
        ingest(lib, [REAL_DEV], model)
        yield lib


def load() -> str:
    """The 1/5/15-minute load averages (other users share this machine: always record it)."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load()}"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, float), q))


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    cells = [[str(c) for c in header]] + [[c if isinstance(c, str) else f"{c:.4g}" if
                                           isinstance(c, float) else str(c) for c in r]
                                          for r in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


class TreeCPU:
    """CPU seconds of a process and all its descendants (forkserver workers included), by
    polling /proc: a process that exits between two polls loses at most one interval."""

    def __init__(self, pid: int, interval: float = 0.25):
        import threading

        self.pid, self.interval = pid, interval
        self.seen: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            parent, stat = {}, {}
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        with open(f"/proc/{d}/stat") as f:
                            text = f.read()
                    except OSError:
                        continue
                    name = text[text.index("(") + 1:text.rindex(")")]
                    fields = text[text.rindex(")") + 2:].split()
                    parent[int(d)] = int(fields[1])
                    stat[int(d)] = (name, (int(fields[11]) + int(fields[12])) / tick)
            for p in stat:
                q = p
                while q in parent and q != self.pid and q > 1:
                    q = parent[q]
                if q == self.pid:
                    self.seen[p] = stat[p]
            self._stop.wait(self.interval)

    def stop(self) -> dict[int, tuple[str, float]]:
        self._stop.set()
        self._thread.join()
        return self.seen

    @property
    def total(self) -> float:
        return sum(s for _, s in self.seen.values())
