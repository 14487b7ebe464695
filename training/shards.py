"""Rendered figure crops on disk: shards of uint8 images plus one JSON line of metadata each.

A shard is ``shard-NNNNN.npy`` (N x S x S uint8, memory-mapped when read) and
``shard-NNNNN.jsonl`` (one object per row: patent_id, figure_key, locarno, title, view, ...).
Pages are decoded and cut into figures once; every epoch, fold and ablation then reads crops.
A 2.7M-drawing corpus at 224 px is ~135 GB of shards that are never all in memory.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

INDEX_FILE = "index.json"


class ShardWriter:
    """Append figures; every ``shard_size`` rows become one shard file pair."""

    def __init__(self, folder: str | Path, image_size: int, shard_size: int = 4096):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.image_size = image_size
        self.shard_size = shard_size
        self.images: list[np.ndarray] = []
        self.meta: list[dict] = []
        self.shards: list[dict] = []

    def add(self, image: np.ndarray, meta: dict) -> None:
        if image.shape != (self.image_size, self.image_size) or image.dtype != np.uint8:
            raise ValueError(f"figure crop must be uint8 {self.image_size}x{self.image_size}, "
                             f"got {image.dtype} {image.shape}")
        self.images.append(image)
        self.meta.append(meta)
        if len(self.images) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        if not self.images:
            return
        name = f"shard-{len(self.shards):05d}"
        images = np.stack(self.images)
        lines = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in self.meta)
        np.save(self.folder / f"{name}.npy", images)
        with open(self.folder / f"{name}.jsonl", "w", encoding="utf-8") as f:
            f.write(lines)
        self.shards.append({"name": name, "count": len(self.images),
                            "sha256": _shard_digest(images, lines.encode())})
        self.images, self.meta = [], []

    def close(self, info: dict) -> dict:
        """Write the remaining rows and ``index.json`` (last: a folder without it is partial)."""
        self.flush()
        index = {"image_size": self.image_size, "shards": self.shards,
                 "count": sum(s["count"] for s in self.shards),
                 "content_sha256": _corpus_digest(s["sha256"] for s in self.shards), **info}
        tmp = self.folder / (INDEX_FILE + ".tmp")
        tmp.write_text(json.dumps(index, indent=1))
        tmp.replace(self.folder / INDEX_FILE)
        return index


def _shard_digest(images: np.ndarray, lines: bytes) -> str:
    return hashlib.sha256(images.tobytes() + lines).hexdigest()[:16]


def _corpus_digest(shard_digests) -> str:
    return hashlib.sha256("".join(shard_digests).encode()).hexdigest()[:16]


def content_sha256(folder: str | Path) -> str | None:
    """The crops and records a corpus holds, as ``ShardWriter.close`` records them; worked
    out from its files for a corpus written before that was recorded (None: no corpus)."""
    folder = Path(folder)
    index = read_index(folder)
    if index is None:
        return None
    if index.get("content_sha256"):
        return index["content_sha256"]
    return _corpus_digest(_shard_digest(np.load(folder / f"{s['name']}.npy"),
                                        (folder / f"{s['name']}.jsonl").read_bytes())
                          for s in index["shards"])


def read_index(folder: str | Path) -> dict | None:
    path = Path(folder) / INDEX_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def shard_images(folder: str | Path, name: str) -> np.ndarray:
    return np.load(Path(folder) / f"{name}.npy", mmap_mode="r")


def shard_meta(folder: str | Path, name: str) -> list[dict]:
    with open(Path(folder) / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_texts(folder: str | Path, name: str, texts: list[dict[str, list[str]]]) -> None:
    """Per-row descriptions by enricher (``shard-NNNNN.texts.json``), attached after enrichment."""
    path = Path(folder) / f"{name}.texts.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(texts, ensure_ascii=False))
    tmp.replace(path)


def shard_texts(folder: str | Path, name: str) -> list[dict[str, list[str]]]:
    path = Path(folder) / f"{name}.texts.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
