"""Embeddings of descriptions by the frozen text tower, computed once and kept on disk.

The text tower never trains, so a description's embedding is a constant: it is computed once
(by length, in fixed chunks, without needless padding) and stored under the cache folder keyed
by the tower's identity, then shared by every run, fold and ablation. Reading stored vectors
also keeps a resumed run bit-identical (batched matrix products are not batch-size invariant).
Corpora with more distinct descriptions than ``max_items`` are embedded lazily batch by batch
instead.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

import numpy as np
import torch


def tower_key(model) -> str:
    """Identity of the text tower: its pip package and version, else a hash of its weights."""
    info = model.spec.text_tower
    h = hashlib.sha256(json.dumps([model.spec.arch, info], sort_keys=True).encode())
    if not info.get("package"):
        for name, t in sorted(model.clip.state_dict().items()):
            if not name.startswith("visual."):
                h.update(name.encode())
                h.update(t.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()[:16]


class TextCache:
    def __init__(self, model, device, folder: str | Path | None = None,
                 max_items: int = 1_000_000, chunk: int = 256):
        self.model, self.device, self.max_items, self.chunk = model, device, max_items, chunk
        self.vectors: dict[str, torch.Tensor] = {}
        self.folder = Path(folder) / f"text-{tower_key(model)}" if folder else None
        if self.folder is not None and (self.folder / "texts.json").is_file():
            texts = json.loads((self.folder / "texts.json").read_text(encoding="utf-8"))
            emb = torch.from_numpy(np.load(self.folder / "emb.npy"))
            self.vectors = dict(zip(texts, emb))

    @torch.no_grad()
    def _encode(self, texts: list[str]) -> None:
        texts = sorted(texts, key=lambda t: (len(t), t))
        for i in range(0, len(texts), self.chunk):
            part = texts[i:i + self.chunk]
            tokens = self.model.tokenize(part).to(self.device)
            feats = torch.nn.functional.normalize(
                self.model.clip.encode_text(tokens).float(), dim=-1).cpu()
            self.vectors.update(zip(part, feats))

    def precompute(self, texts: Iterable[str], save: bool = True) -> int:
        """Embed the texts not known yet (all of them, up to ``max_items``); returns how many."""
        missing = list(set(texts) - set(self.vectors))
        if not missing or len(self.vectors) + len(missing) > self.max_items:
            return 0
        self._encode(missing)
        if save and self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            names = list(self.vectors)
            np.save(self.folder / "emb.tmp.npy", torch.stack([self.vectors[t] for t in names])
                    .numpy())
            (self.folder / "texts.tmp.json").write_text(json.dumps(names, ensure_ascii=False))
            (self.folder / "emb.tmp.npy").replace(self.folder / "emb.npy")
            (self.folder / "texts.tmp.json").replace(self.folder / "texts.json")
        return len(missing)

    def __call__(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            if len(self.vectors) + len(missing) > self.max_items:
                self.vectors.clear()
            self._encode(missing)
        return torch.stack([self.vectors[t] for t in texts]).to(self.device)
