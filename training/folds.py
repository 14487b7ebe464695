"""Patent-level cross-validation folds, stratified by Locarno main class where possible.

Every figure of a patent lands in the same fold (a model never trains on any view of a
patent it is evaluated on). Patents of each main class are dealt round-robin over the folds
in a seeded random order, starting where the previous class stopped, so classes with few
patents spread over different folds and fold sizes stay within one patent of each other.
"""
from __future__ import annotations

import numpy as np


def assign_folds(patents: dict[str, str], k: int, seed: int = 0) -> dict[str, int]:
    """patent id -> fold in [0, k); ``patents`` maps each id to its main class ("" unknown)."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[str]] = {}
    for pid in sorted(patents):
        by_class.setdefault(patents[pid] or "", []).append(pid)
    out, next_fold = {}, 0
    for cls in sorted(by_class, key=lambda c: (-len(by_class[c]), c)):
        members = by_class[cls]
        for i in rng.permutation(len(members)):
            out[members[i]] = next_fold
            next_fold = (next_fold + 1) % k
    return out


def make_folds(corpus, k: int, seed: int = 0, include_synthetic: bool = False
               ) -> dict[str, int]:
    """Folds over a corpus's real patents (synthetic ones are always training data)."""
    classes = {}
    for pid, loc in zip(corpus.patent, corpus.locarno):
        if include_synthetic or not pid.startswith("SYN-"):
            classes.setdefault(pid, (loc or "")[:2])
    return assign_folds(classes, k, seed)
