"""Frozen-prefix feature bank: the frozen trunk prefix run once per augmented view.

With the stem and the first k blocks frozen, their output for a given (augmented) image never
changes during training. The bank stores, for every corpus row, one clean view (float32, for
evaluation: ``tail`` of it equals the model's embedding of the crop) and ``views`` augmented
views (float16, for training), as memory-mapped files keyed by everything they depend on.
Training then runs only the tail: on CPU this makes an epoch over the real data take seconds
instead of minutes, and every fold and ablation reuses the same bank.

A model with ``spec.hflip_tta`` embeds an image as f(x) + f(mirror image of x); its pooled bank
(split = blocks + 1) stores pool(x) + pool(flip(x)) per view, which the linear, bias-free
projection turns into exactly that embedding. A model with a style stream stores its style
statistics next to the pooled features (training.encoder.prefix).
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import encoder
from .augment import AugmentConfig, augment
from .config import ConfigError
from .dataset import FALLBACK_TEXT, Corpus


class FeatureBank:
    def __init__(self, folder: Path):
        meta = json.loads((folder / "bank.json").read_text())
        self.folder = folder
        self.shape = tuple(meta["shape"])
        self.views = int(meta["views"])
        self.freeze_blocks = int(meta["freeze_blocks"])
        n = int(meta["rows"])
        self.clean = np.load(folder / "clean.npy", mmap_mode="r")
        self.aug = np.load(folder / "aug.npy", mmap_mode="r")
        assert self.clean.shape == (n, *self.shape) and self.aug.shape[:2] == (n, self.views)

    @staticmethod
    def key(model, corpus: Corpus, freeze_blocks: int, views: int, aug: AugmentConfig,
            seed: int) -> str:
        """Hash of what the features depend on: the frozen prefix's weights (not the model
        id, which also covers layers the bank does not run), the crops, the split, the views."""
        parts = [model.spec.arch, model.spec.mean, model.spec.std,
                 corpus.index.get("fingerprint"), freeze_blocks, views, asdict(aug), seed]
        if getattr(model.spec, "hflip_tta", False):
            parts.append("hflip_tta")       # absent otherwise: earlier banks keep their keys
        if getattr(model.spec, "style_blocks", None) is not None:
            parts.append(f"style_blocks={model.spec.style_blocks}")
        h = hashlib.sha256(json.dumps(parts, default=str).encode())
        for m in encoder.frozen_modules(model.clip, freeze_blocks):
            for name, t in sorted(m.state_dict().items()):
                h.update(name.encode())
                h.update(t.detach().cpu().contiguous().float().numpy().tobytes())
        return h.hexdigest()[:16]

    @classmethod
    def build(cls, model, corpus: Corpus, cache_dir: str | Path, *, freeze_blocks: int,
              views: int, aug: AugmentConfig, seed: int = 0, batch_size: int = 64,
              progress: bool = True) -> "FeatureBank":
        """The bank for these settings, computed now unless already on disk."""
        key = cls.key(model, corpus, freeze_blocks, views, aug, seed)
        folder = Path(cache_dir) / f"features-{key}"
        if (folder / "bank.json").is_file():
            return cls(folder)
        folder.mkdir(parents=True, exist_ok=True)
        clip = model.clip.eval().to(memory_format=torch.channels_last)
        n = len(corpus)
        gen = torch.Generator().manual_seed(seed)
        flip = bool(getattr(model.spec, "hflip_tta", False))
        if flip and freeze_blocks <= len(clip.visual.trunk.blocks):
            raise ConfigError("a model with hflip_tta needs a pooled bank (features.split = "
                              "number of trunk blocks + 1) built from the images")
        style = getattr(model.spec, "style_blocks", None)
        if style is not None and style < freeze_blocks <= len(clip.visual.trunk.blocks):
            raise ConfigError(f"a model with a style stream after block {style} needs "
                              f"features.split <= {style} or the pooled split (number of trunk "
                              "blocks + 1)")

        def prefix(b: torch.Tensor) -> torch.Tensor:
            return encoder.prefix(clip.visual, model.normalize_batch(b).contiguous(
                memory_format=torch.channels_last), freeze_blocks)

        def run(b: torch.Tensor) -> np.ndarray:
            x = prefix(b)
            if flip:
                x = x + prefix(torch.flip(b, dims=[-1]))
            return x.float().numpy()

        with torch.no_grad():
            probe = run(torch.from_numpy(corpus.image(0)[None, None].copy()))
        shape = tuple(probe.shape[1:])
        clean = np.lib.format.open_memmap(folder / "clean.npy.tmp", "w+", np.float32, (n, *shape))
        augd = np.lib.format.open_memmap(folder / "aug.npy.tmp", "w+", np.float16,
                                         (n, views, *shape))
        bar = tqdm(total=n * (views + 1), desc="feature bank", unit="view", disable=not progress)
        with torch.no_grad():
            for start in range(0, n, batch_size):
                idx = range(start, min(n, start + batch_size))
                batch = torch.from_numpy(np.stack([corpus.image(i) for i in idx])).unsqueeze(1)
                clean[start:start + len(idx)] = run(batch)
                for v in range(views):
                    augd[start:start + len(idx), v] = run(augment(batch, aug, gen))
                bar.update(len(idx) * (views + 1))
        bar.close()
        clean.flush()
        augd.flush()
        del clean, augd
        (folder / "clean.npy.tmp").replace(folder / "clean.npy")
        (folder / "aug.npy.tmp").replace(folder / "aug.npy")
        (folder / "bank.json").write_text(json.dumps(
            {"rows": n, "shape": list(shape), "views": views, "freeze_blocks": freeze_blocks,
             "hflip_tta": flip, "model_id": model.model_id, "augment": asdict(aug), "seed": seed}))
        clip.to(memory_format=torch.contiguous_format)
        return cls(folder)


class FeatureDataset(torch.utils.data.Dataset):
    """Like ``dataset.FigureDataset`` but yields a cached augmented view's prefix features."""

    def __init__(self, bank: FeatureBank, corpus: Corpus, rows: np.ndarray, seed: int = 0):
        self.bank, self.corpus, self.rows, self.seed = bank, corpus, np.asarray(rows), seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, j: int):
        i = int(self.rows[j])
        rng = random.Random(f"{self.seed}:{self.epoch}:{i}")
        view = rng.randrange(self.bank.views)
        texts = self.corpus.texts(i) or [self.corpus.title[i] or FALLBACK_TEXT]
        c = self.corpus
        return (torch.from_numpy(np.asarray(self.bank.aug[i, view], np.float32)),
                rng.choice(texts), int(c.design[i]), int(c.subclass[i]), int(c.main_class[i]))
