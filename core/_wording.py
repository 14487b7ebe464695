"""Counts and lists in messages: "3 searches", "a, b, c ..."; kept free of imports so any
module, the sources included, can word its warnings alike."""
from __future__ import annotations

from typing import Sequence


def counted(n: int, noun: str) -> str:
    """"1 search", "3 searches": a count and its noun (a regular English plural)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith(('s', 'ch')) else 's'}"


def first_few(items: Sequence, n: int = 3, sep: str = ", ") -> str:
    """"a, b, c ...": the first ``n`` of ``items`` joined, "..." saying that more were left."""
    return sep.join(map(str, items[:n])) + (" ..." if len(items) > n else "")
