"""Dates as examiners type them: 2019-07-31, 20190731, 07/31/2019 (US, month first),
31.07.2019 (day first), Jul 31 2019 or 31 July 2019. A filing date decides what counts as
prior art, so a date that could be read two ways is refused with a question, never guessed."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

EXAMPLES = "2019-07-31, 20190731, 07/31/2019, 31.07.2019 or Jul 31 2019"

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_MONTHS = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTH_NAMES)}
_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{2,4})")
_MONTH_DAY = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{2,4})")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\.?\s+([a-z]+)\.?,?\s+(\d{2,4})")


def parse_typed_date(text: str) -> date:
    """The date ``text`` names; ``ValueError`` saying why not (and what to type) otherwise."""
    t = " ".join(text.strip().lower().split())
    if not t:
        raise ValueError(f"no date typed: type one such as {EXAMPLES}")
    if m := _YEAR_FIRST.fullmatch(t):
        return _calendar(text, int(m[1]), int(m[3]), int(m[4]))
    if m := _COMPACT.fullmatch(t):
        return _calendar(text, int(m[1]), int(m[2]), int(m[3]))
    if m := _YEAR_LAST.fullmatch(t):
        first, second, year = int(m[1]), int(m[3]), _full_year(text, m[4])
        if m[2] == "/":                     # the US way: month first
            return _calendar(text, year, first, second)
        if m[2] == ".":                     # the European way: day first
            return _calendar(text, year, second, first)
        if not 1 <= first <= 12 and not 1 <= second <= 12:
            raise ValueError(f"not a calendar date: {text.strip()!r} (no month {first} or "
                             f"{second})")
        readings = {d for month, day in ((first, second), (second, first))
                    if (d := _valid(year, month, day)) is not None}
        if len(readings) > 1:
            raise ValueError(f"{text.strip()!r} could be {_named(year, first, second)} or "
                             f"{_named(year, second, first)}: type it as "
                             f"{year:04d}-MM-DD")
        if readings:
            return readings.pop()
        return _calendar(text, year, *((first, second) if 1 <= first <= 12 else
                                       (second, first)))     # (says why it is none)
    for pattern, month_at, day_at in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        if m := pattern.fullmatch(t):
            month = _MONTHS.get(m[month_at][:3]) if len(m[month_at]) >= 3 else None
            if month is None or not _is_month_name(m[month_at]):
                break
            return _calendar(text, _full_year(text, m[3]), month, int(m[day_at]))
    raise ValueError(f"not a date: {text.strip()!r} (type one such as {EXAMPLES})")


def _is_month_name(word: str) -> bool:
    return any(n.lower().startswith(word) for n in _MONTH_NAMES) or word == "sept"


def _full_year(text: str, digits: str) -> int:
    if len(digits) != 4:
        raise ValueError(f"{text.strip()!r}: type the year in full (four digits)")
    return int(digits)


def _calendar(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"not a calendar date: {text.strip()!r} ({exc})") from None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _named(year: int, month: int, day: int) -> str:
    """"4 March 2015", in English whatever the locale (strftime's %B follows it, and the
    window sets the user's locale)."""
    return f"{day} {_MONTH_NAMES[month - 1]} {year}"


def local_time(stamp: str | None) -> str:
    """A logged time ("2026-12-06T11:19:05+00:00", stored in UTC) on this computer's clock:
    "2026-12-07 01:19:05" at UTC+14; a stamp without a zone is read as UTC, one that is not a
    time is given back as it is."""
    try:
        at = datetime.fromisoformat(stamp or "")
    except ValueError:
        return (stamp or "").replace("T", " ")
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def after_today_note(day: date) -> str | None:
    """What a filing date after today means (a typo for 2019, say), or None for another."""
    if day <= date.today():
        return None
    return (f"the filing date {day.isoformat()} is after today: every dated patent in the "
            "library counts as prior art")
