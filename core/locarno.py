"""Locarno classification codes: parsing to a canonical form, titles, and filter matching.

Canonical codes are ``"NN-NN"`` (a subclass, e.g. ``"06-09"``) or ``"NN"`` (only the class is
known). Titles come from ``resources/locarno.json``; its ``source`` field says which part is
transcribed from memory and must be checked against WIPO's published list.

Error policy: ``parse_locarno`` raises ``LocarnoError`` with a reason; ``normalize_locarno``
returns None instead (ingestion stores None and records a warning with the reason).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

from resources import RESOURCES_DIR

LOCARNO_JSON = RESOURCES_DIR / "locarno.json"

#: Classes whose only code is "NN-00" (they have no subclasses).
_NO_SUBCLASSES = {"31", "32"}
_PREFIX = re.compile(r"^(?:LOC\s*(?:\(\s*\d+\s*\))?\s*)?(?:CL\b\.?\s*)?", re.IGNORECASE)
_PAIR = re.compile(r"^(\d{1,2})\s*[-./]\s*(\d{1,2})$", re.ASCII)
_RED_BOOK = re.compile(r"^(\d{2})(\d{2})$", re.ASCII)   # USPTO main-classification "2803"
_CLASS_ONLY = re.compile(r"^(\d{1,2})$", re.ASCII)


class LocarnoError(ValueError):
    """Text that is not a Locarno class or subclass code; the message says why."""


@lru_cache(maxsize=1)
def _table() -> dict:
    with open(LOCARNO_JSON, encoding="utf-8") as f:
        return json.load(f)


def parse_locarno(text: str | int) -> str:
    """Canonical ``"NN-NN"`` or ``"NN"`` for "2803", "28-03", "28.03", "28/3", "6",
    "LOC (12) Cl. 06-09"; several codes ("Cl. 07-01, 07-02") give the first.

    Raises ``LocarnoError`` saying why the text is not a code.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise LocarnoError(f"not a Locarno code: {text!r}")
    raw = str(text).strip()
    core = _PREFIX.sub("", raw, count=1)
    core = re.split(r"[,;]", core, maxsplit=1)[0].strip()
    if not core:
        raise LocarnoError(f"empty Locarno code: {raw!r}")
    m = _PAIR.match(core) or _RED_BOOK.match(core)
    if m:
        cls, sub = int(m.group(1)), int(m.group(2))
    elif m := _CLASS_ONLY.match(core):
        cls, sub = int(m.group(1)), None
    else:
        raise LocarnoError(f"not a Locarno code: {raw!r}")
    if not 1 <= cls <= len(_table()["main_classes"]):
        raise LocarnoError(f"no Locarno class {cls} in {raw!r} (classes are 1 to 32)")
    main = f"{cls:02d}"
    if sub is None:             # (31 and 32 are one code each: "31" is 31-00)
        return f"{main}-00" if main in _NO_SUBCLASSES else main
    if (sub == 0) != (main in _NO_SUBCLASSES):
        raise LocarnoError(f"no Locarno subclass {main}-{sub:02d} in {raw!r}")
    return f"{main}-{sub:02d}"


def parse_locarno_filter(text: str | int) -> str:
    """``parse_locarno`` for a filter a person typed: one code ("06, 28" searched class 06
    alone, class 28 dropped without a word)."""
    if isinstance(text, str) and re.search(r"[,;]", _PREFIX.sub("", text.strip(), count=1)):
        raise LocarnoError(f"one Locarno class or subclass at a time: {text.strip()!r} names "
                           "several (search each of them)")
    return parse_locarno(text)


def normalize_locarno(text: str | int | None) -> str | None:
    """Like ``parse_locarno`` but None for empty or invalid input."""
    if text is None:
        return None
    try:
        return parse_locarno(text)
    except LocarnoError:
        return None


def main_class(code: str) -> str | None:
    """The ``"NN"`` class of a code ("06-09" -> "06"), None when invalid."""
    code = normalize_locarno(code)
    return code[:2] if code else None


def title(code: str | None) -> str | None:
    """Subclass title, falling back to the class title; None for an invalid code."""
    code = normalize_locarno(code)
    if code is None:
        return None
    return _table()["subclasses"].get(code) or _table()["main_classes"][code[:2]]


def main_classes() -> dict[str, str]:
    """``{"01": "Foodstuffs", ...}`` for all 32 classes."""
    return dict(_table()["main_classes"])


def subclasses(main: str | int | None = None) -> dict[str, str]:
    """``{"06-01": "Seats", ...}``: all known subclasses, or those of class ``main``."""
    items = _table()["subclasses"]
    if main is None:
        return dict(items)
    cls = parse_locarno(main)[:2]
    return {code: t for code, t in items.items() if code.startswith(cls + "-")}


def matches(code: str | None, wanted: str | None) -> bool:
    """Whether ``code`` falls under filter ``wanted`` ("06" matches "06-01"; "06-01" only "06-01").

    An empty filter matches everything; an invalid filter raises ``LocarnoError`` (it is user
    input); an unknown or invalid code matches only the empty filter.
    """
    if wanted is None or not str(wanted).strip():
        return True
    wanted = parse_locarno_filter(wanted)
    code = normalize_locarno(code)
    if code is None:
        return False
    return code == wanted or (len(wanted) == 2 and code[:2] == wanted)
