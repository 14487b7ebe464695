"""Batch samplers: plain shuffled batches, or class-balanced batches for the long tail.

Locarno classes are long-tailed: with plain batches a rare subclass seldom meets a second
member and L_cls has nothing to pull together, while head classes dominate. The balanced
sampler draws ``classes_per_batch`` classes with probability proportional to n_c ** alpha
(alpha = 0: every class equally often; 1: as in the data) and ``per_class`` figures of each.
Both samplers give each distributed rank its own batches (seed + rank) and the same number of
them, and restart deterministically from ``set_epoch``.
"""
from __future__ import annotations

import numpy as np
import torch


class RandomBatches(torch.utils.data.Sampler):
    """Batches of a shuffled order; ``batches_per_epoch`` beyond one pass over the data goes
    on with the next shuffle (no item twice within one pass)."""

    def __init__(self, n: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1,
                 batches_per_epoch: int | None = None):
        if n < batch_size * world:
            raise ValueError(f"{n} training figures are fewer than one batch of {batch_size} "
                             f"per process ({world} processes)")
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.per_pass = n // (batch_size * world)
        self.batches = batches_per_epoch or self.per_pass
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        per_rank = self.per_pass * self.batch_size
        made = 0
        for k in range(-(-self.batches // self.per_pass)):
            key = [self.seed, self.epoch] + ([k] if k else [])   # the first pass as before
            perm = np.random.default_rng(key).permutation(self.n)
            mine = perm[self.rank * per_rank:(self.rank + 1) * per_rank]
            for b in range(min(self.per_pass, self.batches - made)):
                yield mine[b * self.batch_size:(b + 1) * self.batch_size].tolist()
            made += self.per_pass


class BalancedBatches(torch.utils.data.Sampler):
    """``groups[i]``: the class of item i (use a unique value for items of unknown class)."""

    def __init__(self, groups: np.ndarray, batch_size: int, per_class: int = 4,
                 alpha: float = 0.5, seed: int = 0, rank: int = 0, world: int = 1,
                 batches_per_epoch: int | None = None):
        groups = np.asarray(groups)
        if batch_size % per_class:
            raise ValueError(f"batch_size {batch_size} is not a multiple of per_class "
                             f"{per_class}")
        self.classes, inverse = np.unique(groups, return_inverse=True)
        self.members = [np.flatnonzero(inverse == c) for c in range(len(self.classes))]
        sizes = np.array([len(m) for m in self.members], float)
        self.p = sizes ** alpha / (sizes ** alpha).sum()
        self.k = per_class
        self.n_classes = batch_size // per_class
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.batches = batches_per_epoch or max(1, len(groups) // (batch_size * world))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        take = min(self.n_classes, len(self.classes))
        for _ in range(self.batches):
            classes = rng.choice(len(self.classes), take, replace=False, p=self.p)
            batch = []
            for c in classes:
                m = self.members[c]
                batch += rng.choice(m, self.k, replace=len(m) < self.k).tolist()
            while len(batch) < self.batch_size:   # fewer classes than a batch needs
                batch.append(int(rng.integers(sum(len(m) for m in self.members))))
            yield batch
