"""DeepPatent2 metadata (Ajayi et al. 2023): JSON records of drawings with object names, views
and Locarno classes, read into training jobs.

Records carry fields such as ``patentID`` ("USD0871717-20200107"), ``Figure_file`` (the sheet
image), ``subfigure_file`` (a single figure cut from it), ``object`` ("chair"), ``aspect``
("front view"), ``captions`` and ``classification_locarno`` ("0601"). Field names are matched
case-insensitively; a file may hold a JSON array, an object with a list inside, an object
keyed by id, or JSON lines. Files are read one at a time, so the 2.7M-drawing set streams.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from core.locarno import normalize_locarno
from core.sources import (deeppatent2_entries, figure_number, figure_sentence,
                          image_candidates, normalize_patent_id, record_field)


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


def _find_image(name: str, json_path: Path, image_root: Path | None) -> Path | None:
    roots = [(image_root, name), (image_root, Path(name).name)] if image_root else []
    for root, rel in roots + image_candidates(json_path, name):
        if (root / rel).is_file():
            return root / rel
    return None


def scan_deeppatent2(json_path: str | Path, image_root: str | Path | None = None,
                     errors: list | None = None) -> Iterator[DrawingJob]:
    """Drawing jobs of one DeepPatent2 JSON file; unusable records go to ``errors``."""
    json_path = Path(json_path)
    root = Path(image_root) if image_root else None
    for place, rec in deeppatent2_entries(json_path, errors):
        where = f"{json_path.name} {place}"
        raw_id = record_field(rec, "patentID", "patent_id", "pid", "id")
        pid = normalize_patent_id(str(raw_id).split("-")[0]) if raw_id else None
        sub = record_field(rec, "subfigure_file", "subfigure")
        fig = record_field(rec, "Figure_file", "figure_file", "image", "file")
        name = sub or fig
        path = _find_image(str(name), json_path, root) if name else None
        if pid is None or path is None:
            if errors is not None:
                errors.append((where, "no patent id" if pid is None else
                               f"image not found: {name}"))
            continue
        captions = record_field(rec, "captions", "caption", "description") or []
        captions = [captions] if isinstance(captions, str) else [str(c) for c in captions]
        number = figure_number(rec)
        bbox = record_field(rec, "bbox", "box")
        box = tuple(int(v) for v in bbox[:4]) if isinstance(bbox, list) and not sub else None
        yield DrawingJob(
            pid, path, single=bool(sub), box=box,
            figure_key=f"fig:{number}" if number is not None else None,
            meta={"object_name": record_field(rec, "object", "object_title"),
                  "view": record_field(rec, "aspect", "view"), "captions": captions,
                  "title": record_field(rec, "title", "object_title", "object"),
                  "locarno": normalize_locarno(record_field(rec, "classification_locarno",
                                                    "locarno")),
                  "source": "deeppatent2", "figure_sentence": figure_sentence(rec)})
