"""Synthetic figure vectors shaped like real ones, for libraries larger than the real data.

Uniform random vectors are the wrong test of an ANN index (no structure, intrinsic dimension =
d). These are drawn like a real library: a patent centre from the between-patent covariance
of real embeddings, and each figure of the patent around it with the within-patent covariance
(both estimated from a real library built with the same model), then L2-normalized. The
result matches the real effective dimension (~40 of 384), the common mean direction and the
intra- vs inter-patent similarity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class VectorModel:
    mean: np.ndarray
    between: np.ndarray    # (d, d) factor: centre = mean + z @ between
    within: np.ndarray     # (d, d) factor: figure = centre + z @ within
    figures_per_patent: float

    @classmethod
    def fit(cls, vectors: np.ndarray, patents: np.ndarray) -> "VectorModel":
        vectors = vectors.astype(np.float64)
        mean = vectors.mean(0)
        groups = [np.nonzero(patents == p)[0] for p in np.unique(patents)]
        dev = np.concatenate([vectors[g] - vectors[g].mean(0) for g in groups if len(g) > 1])
        within = np.cov(dev.T)
        total = np.cov((vectors - mean).T)
        return cls(mean, _factor(total - within), _factor(within),
                   len(vectors) / len(groups))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` unit vectors (float32) and the synthetic patent number of each."""
        d = len(self.mean)
        sizes = rng.poisson(self.figures_per_patent - 1, size=n) + 1
        patent = np.repeat(np.arange(len(sizes)), sizes)[:n]
        n_pat = int(patent[-1]) + 1
        out = np.empty((n, d), np.float32)
        step = 100_000
        centres = self.mean + rng.standard_normal((n_pat, d)) @ self.between
        for s in range(0, n, step):
            p = patent[s:s + step]
            v = centres[p] + rng.standard_normal((len(p), d)) @ self.within
            out[s:s + step] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out, patent


def _factor(cov: np.ndarray) -> np.ndarray:
    w, u = np.linalg.eigh((cov + cov.T) / 2)
    return (u * np.sqrt(np.clip(w, 0, None))).T
