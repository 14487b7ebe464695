"""Counts, lists and commands in messages: "3 searches", "a, b, c ..."; kept free of the
project's imports so any module, the sources included, can word its warnings alike."""
from __future__ import annotations

import os
import shlex
from typing import Sequence


def counted(n: int, noun: str) -> str:
    """"1 search", "3 searches": a count and its noun (a regular English plural)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith(('s', 'ch')) else 's'}"


def first_few(items: Sequence, n: int = 3, sep: str = ", ") -> str:
    """"a, b, c ...": the first ``n`` of ``items`` joined, "..." saying that more were left."""
    return sep.join(map(str, items[:n])) + (" ..." if len(items) > n else "")


def shell_arg(value: object) -> str:
    """``value`` as one argument of a command a message tells the user to run: quoted where
    a shell would split or expand it ("/data/lib ü 2" pasted unquoted is three arguments)."""
    text = str(value)
    if os.name == "nt":
        return f'"{text}"' if not text or any(c in text for c in ' \t&|^<>()"') else text
    return shlex.quote(text)
