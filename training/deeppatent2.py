"""DeepPatent2 metadata (Ajayi et al. 2023): JSON records of drawings with object names, views
and Locarno classes, read into training jobs.

Records carry fields such as ``patentID`` ("USD0871717-20200107"), ``Figure_file`` (the sheet
image), ``subfigure_file`` (a single figure cut from it), ``object`` ("chair"), ``aspect``
("front view"), ``captions`` and ``classification_locarno`` ("0601"). Field names are matched
case-insensitively; a file may hold a JSON array, an object with a list inside, an object
keyed by id, or JSON lines. Files are read one at a time, so the 2.7M-drawing set streams.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from core.locarno import normalize_locarno
from core.sources import normalize_patent_id

_FIG_NO = re.compile(r"(?:fig(?:ure)?\.?\s*)?(\d+)", re.IGNORECASE)


@dataclass
class DrawingJob:
    """One image to cut into figure crops, with what is known about it."""

    patent_id: str
    path: Path
    page_index: int = 0
    page_kind: str | None = None
    single: bool = False               # the image is one figure (a DeepPatent2 subfigure)
    box: tuple[int, int, int, int] | None = None
    figure_key: str | None = None      # known figure ("fig:3"); None = number on the pages
    meta: dict = field(default_factory=dict)


def _get(rec: dict, *names: str):
    lower = {k.lower(): v for k, v in rec.items()}
    for n in names:
        v = lower.get(n.lower())
        if v not in (None, "", []):
            return v
    return None


def _records(path: Path) -> Iterator[dict]:
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text)
    except ValueError:
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)
        return
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and
                 isinstance(v[0], dict)]
        if lists:
            data = lists[0]
        elif all(isinstance(v, dict) for v in data.values()):
            data = list(data.values())
        else:
            data = [data]
    yield from (r for r in data if isinstance(r, dict))


def _find_image(name: str, roots: list[Path]) -> Path | None:
    for root in roots:
        for candidate in (root / name, root / "images" / name, root / Path(name).name):
            if candidate.is_file():
                return candidate
    return None


def scan_deeppatent2(json_path: str | Path, image_root: str | Path | None = None,
                     errors: list | None = None) -> Iterator[DrawingJob]:
    """Drawing jobs of one DeepPatent2 JSON file; unusable records go to ``errors``."""
    json_path = Path(json_path)
    roots = [Path(image_root)] if image_root else []
    roots += [json_path.parent, json_path.parent.parent]
    for i, rec in enumerate(_records(json_path)):
        where = f"{json_path.name} record {i}"
        raw_id = _get(rec, "patentID", "patent_id", "pid", "id")
        pid = normalize_patent_id(str(raw_id).split("-")[0]) if raw_id else None
        sub = _get(rec, "subfigure_file", "subfigure")
        fig = _get(rec, "Figure_file", "figure_file", "image", "file")
        name = sub or fig
        path = _find_image(str(name), roots) if name else None
        if pid is None or path is None:
            if errors is not None:
                errors.append((where, "no patent id" if pid is None else
                               f"image not found: {name}"))
            continue
        captions = _get(rec, "captions", "caption", "description") or []
        captions = [captions] if isinstance(captions, str) else [str(c) for c in captions]
        fig_no = _get(rec, "figid", "fig_id", "figure_number", "origreftext")
        m = _FIG_NO.search(str(fig_no)) if fig_no is not None else None
        bbox = _get(rec, "bbox", "box")
        box = tuple(int(v) for v in bbox[:4]) if isinstance(bbox, list) and not sub else None
        yield DrawingJob(
            pid, path, single=bool(sub), box=box,
            figure_key=f"fig:{int(m.group(1))}" if m else None,
            meta={"object_name": _get(rec, "object", "object_title"),
                  "view": _get(rec, "aspect", "view"), "captions": captions,
                  "title": _get(rec, "title", "object_title", "object"),
                  "locarno": normalize_locarno(_get(rec, "classification_locarno",
                                                    "locarno")),
                  "source": "deeppatent2"})
