"""The prepared corpus as training data: crops, labels and descriptions, read lazily.

Labels per figure: ``design`` (its patent: views of one design are positives for
same-design), ``subclass`` (Locarno "NN-NN", for L_cls) and ``main_class`` ("NN", for L_cat);
a figure whose code is unknown gets ``losses.UNKNOWN``. Images are memory-mapped from the
shards and descriptions loaded per shard on demand, so a corpus need not fit in memory.
"""
from __future__ import annotations

import copy
import random
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import shards
from .losses import UNKNOWN

FALLBACK_TEXT = "a design patent drawing"


class Corpus:
    def __init__(self, folder: str | Path, enrichers: list[str] | None = None):
        self.folder = Path(folder)
        index = shards.read_index(self.folder)
        if index is None:
            raise FileNotFoundError(f"{self.folder}: not a prepared corpus (no index.json)")
        self.index = index
        self.enrichers = list(enrichers) if enrichers else None
        self.names = [s["name"] for s in index["shards"]]
        shard_of, row_of, pids, keys, locs, titles, pages = [], [], [], [], [], [], []
        for si, name in enumerate(self.names):
            for ri, m in enumerate(shards.shard_meta(self.folder, name)):
                shard_of.append(si)
                row_of.append(ri)
                pids.append(m["patent_id"])
                keys.append(m["figure_key"])
                locs.append(m.get("locarno") or "")
                titles.append(m.get("title") or "")
                pages.append(tuple(m["page"][:2]) if m.get("page") else None)
        self.shard_of = np.asarray(shard_of, np.int32)
        self.row_of = np.asarray(row_of, np.int32)
        self.patent = np.asarray(pids, dtype=object)
        self.figure_key = np.asarray(keys, dtype=object)
        self.locarno = np.asarray(locs, dtype=object)
        self.title = np.asarray(titles, dtype=object)
        self.page = pages              # (image path, page index) the crop was cut from
        self.design = _codes(pids)
        self.subclass = _codes([c if len(c) == 5 else None for c in locs])
        self.main_class = _codes([c[:2] if c else None for c in locs])
        self._images = lru_cache(maxsize=8)(lambda si: shards.shard_images(self.folder,
                                                                           self.names[si]))
        self._texts = lru_cache(maxsize=8)(lambda si: shards.shard_texts(self.folder,
                                                                         self.names[si]))

    def __len__(self) -> int:
        return len(self.patent)

    def with_enrichers(self, enrichers: list[str] | None) -> "Corpus":
        """The same corpus whose ``texts`` come from these enrichers."""
        other = copy.copy(self)
        other.enrichers = list(enrichers) if enrichers else None
        return other

    def image(self, i: int) -> np.ndarray:
        return np.asarray(self._images(int(self.shard_of[i]))[int(self.row_of[i])])

    def texts(self, i: int) -> list[str]:
        rows = self._texts(int(self.shard_of[i]))
        by_enricher = rows[int(self.row_of[i])] if rows else {}
        names = self.enrichers if self.enrichers is not None else list(by_enricher)
        return [t for n in names for t in by_enricher.get(n, [])]

    def select(self, include: set[str] | None = None, exclude: set[str] | None = None
               ) -> np.ndarray:
        """Row indices of the figures of ``include`` patents (all when None), minus ``exclude``."""
        keep = np.ones(len(self), bool)
        if include is not None:
            keep &= np.isin(self.patent, list(include))
        if exclude:
            keep &= ~np.isin(self.patent, list(exclude))
        return np.flatnonzero(keep)


def _codes(values: list) -> np.ndarray:
    """Integer ids of the values (None -> UNKNOWN), in order of first appearance."""
    ids: dict = {}
    return np.asarray([UNKNOWN if v is None else ids.setdefault(v, len(ids)) for v in values],
                      np.int64)


class FigureDataset(torch.utils.data.Dataset):
    """(image uint8 1xSxS, description, design, subclass, main_class) of selected rows; the
    description is drawn anew each epoch (seeded) from the figure's enriched texts."""

    def __init__(self, corpus: Corpus, rows: np.ndarray, seed: int = 0):
        self.corpus = corpus
        self.rows = np.asarray(rows)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def text(self, j: int) -> str:
        i = int(self.rows[j])
        texts = self.corpus.texts(i) or [self.corpus.title[i] or FALLBACK_TEXT]
        return random.Random(f"{self.seed}:{self.epoch}:{i}").choice(texts)

    def labels(self, j: int) -> tuple[int, int, int]:
        i = int(self.rows[j])
        c = self.corpus
        return int(c.design[i]), int(c.subclass[i]), int(c.main_class[i])

    def __getitem__(self, j: int):
        i = int(self.rows[j])
        image = torch.from_numpy(self.corpus.image(i).copy()).unsqueeze(0)
        return (image, self.text(j), *self.labels(j))


def collate(items):
    images, texts, design, sub, cls = zip(*items)
    return {"images": torch.stack(images), "texts": list(texts),
            "design": torch.tensor(design), "subclass": torch.tensor(sub),
            "main_class": torch.tensor(cls)}
