"""Canonical patent ids, so that the same patent gets the same id from every source.

US patents follow the Red Book ``doc-number``: the series prefix (``D`` design, ``PP`` plant,
``RE`` reissue, ``H`` statutory invention registration, ``T`` defensive publication, ``X``
pre-1836) plus the number, zero-padded to 8 characters in all: ``D0906013``, ``PP029000``,
utility ``07628675``. Other well-formed ids (``SYN-000123``, ``IMG-...``, foreign numbers)
are kept unchanged.
"""
from __future__ import annotations

import re

_US = re.compile(
    r"""^(?:US)?[\s-]*
        (?P<series>D|PP|RE|H|T|X)?[\s-]*
        (?P<num>\d{1,3}(?:,\d{3})+|\d{1,8})
        (?:[\s-]*(?P<kind>[A-Z]\d?))?
        (?:-(?P<date>\d{8}))?$""",
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)
_CANONICAL_US = re.compile(r"(D|PP|RE|H|T|X)?(\d+)", re.ASCII)
_OTHER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", re.ASCII)


def normalize_patent_id(text: str | None) -> str | None:
    """Canonical id ("US D906,013 S", "USD0906013-20201229" -> "D0906013"), None if not an id."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    m = _US.match(text)
    if m:
        series = (m.group("series") or "").upper()
        digits = m.group("num").replace(",", "")
        width = 8 - len(series)
        if len(digits.lstrip("0")) in range(1, width + 1):
            return series + digits.lstrip("0").zfill(width)
        return None
    return text if _OTHER.match(text) else None


def is_us_patent_id(pid: str) -> bool:
    """Whether a canonical id is a US patent number (not SYN-, IMG- or a foreign id)."""
    return bool(_CANONICAL_US.fullmatch(pid or "")) and len(pid) == 8


def display_patent_id(pid: str) -> str:
    """Human form of a canonical id: "D0906013" -> "US D906,013 S", "07628675" -> "US 7,628,675".
    Other ids are returned unchanged."""
    m = _CANONICAL_US.fullmatch(pid or "")
    if not m or len(pid) != 8:
        return pid
    series, number = m.group(1) or "", f"{int(m.group(2)):,}"
    return f"US {series}{number}" + (" S" if series == "D" else "")
