"""Queries as examiners paste them: one figure cut out of a real sheet, downscaled to screen
resolution and JPEG-compressed. Does the figure split still find the drawing, and does the
search still put the figure's own patent first? On the real development library (default
model, built once in --workdir; shared with bench_query_modes.py).

    python bench/bench_query_crops.py [--queries 40] [--workdir /tmp/pe-bench-modes]
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (manifest_rows, positive_int, real_dev_library, require_real_dev,  # noqa: E402
                     summary, table)

from core.drawing import prepare_page  # noqa: E402
from core.imageio import read_page  # noqa: E402
from core.search import hydrate  # noqa: E402
from core.models import load_model  # noqa: E402
from core.search import Searcher  # noqa: E402

SCALES = (1.0, 0.33, 0.25, 0.15, 0.1)    # of a 300 dpi sheet: 300, 100, 75, 45, 30 dpi


def pasted(crop: np.ndarray, scale: float) -> np.ndarray:
    im = Image.fromarray(crop)
    im = im.resize((max(8, round(im.width * scale)), max(8, round(im.height * scale))),
                   Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return np.asarray(Image.open(buf).convert("L"))


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--queries", type=positive_int, default=40)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pe-bench-modes"))
    args = ap.parse_args()
    require_real_dev()
    model = load_model("default")
    with real_dev_library(args.workdir, model) as lib:
        searcher = Searcher(lib, model)
        cfg = model.drawing_config
        crops = []
        for r in manifest_rows(n=args.queries, kind="drawing_sheet"):
            sheet = read_page(r["path"]).array
            box = prepare_page(sheet, "drawing_sheet", cfg)[0][0]
            crops.append((r["patent_id"], sheet[box.y0:box.y1, box.x0:box.x1]))
        rows = []
        for scale in SCALES:
            found = first = 0
            for patent, crop in crops:
                figures = prepare_page(pasted(crop, scale), None, cfg)
                if not figures:
                    continue
                found += 1
                vectors = searcher.embed_query([im for _, im in figures])
                hits, _ = searcher.search_vectors(vectors, before=None, locarno=None, k=5)
                first += hydrate(searcher.library.store, hits)[0].patent_id == patent
            rows.append([f"{5 * round(60 * scale)} dpi", len(crops), f"{found}/{len(crops)}",
                         f"{first}/{len(crops)}"])
    print(table(["pasted at", "queries", "drawing found", "own patent at rank 1"], rows))


if __name__ == "__main__":
    main()
