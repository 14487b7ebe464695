"""Wall time of `patent-examiner search` in a new process, start-up included: a drawing, and a
drawing with the application's title, each with an empty graph cache and again once the
frozen graphs (image tower, text tower) are cached.

The library is the real development library (default model), built once in --workdir.

    python bench/bench_cli_startup.py [--repeats 3] [--workdir /tmp/pe-bench-modes]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (manifest_rows, positive_int, real_dev_library, require_real_dev,  # noqa: E402
                     summary, table)

from core.models import load_model  # noqa: E402


def run(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--repeats", type=positive_int, default=3,
                    help="timed runs of each cached case (best kept)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pe-bench-modes"))
    args = ap.parse_args()
    require_real_dev()
    with real_dev_library(args.workdir, load_model("default")) as lib:
        library = lib.path
    exe = str(Path(sys.executable).with_name("patent-examiner"))
    row = next(r for r in manifest_rows(kind="drawing_sheet") if r.get("title"))
    drawing = [exe, "search", str(row["path"]), "--library", str(library), "--before",
               row["filing_date"], "--k", "10", "--no-log"]
    titled = drawing + ["--text", row["title"]]
    with tempfile.TemporaryDirectory(prefix="pe-bench-cache-") as cache:    # starts empty
        env = {**os.environ, "PATENT_EXAMINER_CACHE": cache}
        rows = [["drawing, empty cache", run(drawing, env)],
                ["drawing, cached", min(run(drawing, env) for _ in range(args.repeats))],
                ["drawing + title, text graph not cached yet", run(titled, env)],
                ["drawing + title, cached", min(run(titled, env) for _ in range(args.repeats))]]
    print(table(["`patent-examiner search`, new process", "seconds"], rows))


if __name__ == "__main__":
    main()
