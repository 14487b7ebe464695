"""Learned whitening of pooled trunk features as the projection's starting point.

Radenović et al. (2018): whiten with the covariance of differences between matching
descriptors (here: figures of the same design, i.e. other views of one patent), so that the
directions in which views of one design differ are shrunk, then keep the leading principal
directions of the whitened data. Closed form, linear, computed in a second from the training
fold's cached features; the contrastive losses then train on from it. The projection has no
bias, so instead of centring, the features' common mean direction is projected out.
"""
from __future__ import annotations

import numpy as np


def learned_whitening(feats: np.ndarray, groups: np.ndarray, dim: int,
                      ridge: float = 1e-3) -> np.ndarray:
    """(dim, D) projection from features (N, D) and their design ids (N,)."""
    x = feats.astype(np.float64)
    mean = x.mean(0)
    u = mean / (np.linalg.norm(mean) + 1e-12)
    x = x - np.outer(x @ u, u)
    diffs = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if len(idx) > 1:
            diffs.append(x[idx] - x[idx].mean(0))
    if not diffs:
        raise ValueError("learned whitening needs designs with at least two figures")
    d = np.concatenate(diffs)
    cs = d.T @ d / len(d)
    cs += ridge * np.trace(cs) / len(cs) * np.eye(len(cs))
    w, v = np.linalg.eigh(cs)
    p1 = (v / np.sqrt(w)) @ v.T                      # Cs^(-1/2)
    y = x @ p1
    cd = np.cov(y, rowvar=False)
    w2, v2 = np.linalg.eigh(cd)
    p2 = v2[:, np.argsort(w2)[::-1][:dim]]
    proj = (p1 @ p2).T                               # (dim, D)
    proj = proj - np.outer(proj @ u, u)              # the mean direction stays out
    return (proj / np.linalg.norm(proj, axis=1, keepdims=True)).astype(np.float32)
