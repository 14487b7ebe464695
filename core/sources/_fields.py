"""Field parsing shared by the sources: dates, page kinds, display titles, figure descriptions."""
from __future__ import annotations

import re
from datetime import date, timedelta

#: ``front_page``: a whole front page, bibliographic text block plus the representative figure
#: (e.g. a Google-Patents scan). ``front_view``: the representative figure alone, without the
#: text block (Red Book ``-D00000.TIF``). ``drawing_sheet``: a numbered drawing sheet.
PAGE_KINDS = ("front_page", "front_view", "drawing_sheet")

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})(\d{2})(\d{2})$", re.ASCII)
_CPC_TAIL = re.compile(r"\s+[A-H]\d{2}[A-Z](?:\s*\d{1,4}/\d{2,6})?$", re.ASCII)
_SPACED_HYPHEN = re.compile(r"(?<=\w) - (?=\w)")
_ACRONYMS = {"3D", "AC", "ATV", "CD", "DC", "DVD", "GPS", "HDMI", "LCD", "LED", "OLED", "PC",
             "RV", "TV", "USB", "UV"}
_FIGURE = re.compile(r"^FIG(?:URE)?S?\b\.?\s*\d", re.IGNORECASE)
_DESCRIPTION_TAIL = re.compile(r"(?:[;,]\s*(?:and|or)\s*,?|[.;,:])\s*$", re.IGNORECASE)
#: "FIG. 1 is a perspective view of an ice chest with wheels from the front, ..." -> the article
_OF_ARTICLE = re.compile(r"\bview of (?:an? |the )?(.+?)(?:,|;| showing| in accordance| according|"
                         r" with the| of the present| of fig| from the| thereof| embodying|$)",
                         re.IGNORECASE)
_MAX_ARTICLE_WORDS = 10


class SourceError(Exception):
    """A source path that does not exist or holds nothing usable; the message says why."""


class FieldError(ValueError):
    """One bad field of one row or document; the message names the field."""


def parse_date(value: object, field: str) -> date | None:
    """``date`` from "2020-12-29" or "20201229"; None when absent; ``FieldError`` when invalid."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 8:
        value = str(value)          # (20201229 written as a JSON number)
    m = _DATE.match(value.strip()) if isinstance(value, str) else None
    if m:
        y, mo, d = (int(g) for g in m.groups() if g is not None)
        try:
            return date(y, mo, d)
        except ValueError as exc:
            raise FieldError(f"{field}: {value!r} is not a calendar date ({exc})") from None
    raise FieldError(f"{field}: invalid date {value!r} (expected YYYY-MM-DD or YYYYMMDD)")


def date_order_error(grant: date | None, filing: date | None) -> str | None:
    """Why a filing date after the grant date makes the record unusable, or None."""
    if grant and filing and filing > grant:
        return f"filing_date {filing} is after grant_date {grant}"
    return None


def priority_order_error(priority: date | None, filing: date | None,
                         grant: date | None) -> str | None:
    """Why a priority date cannot be one (a claimed application is filed before the one that
    claims it, and before its grant), or None."""
    later_than = (("filing_date", filing) if filing else ("grant_date", grant))
    if priority and later_than[1] and priority > later_than[1]:
        return f"priority_date {priority} is after {later_than[0]} {later_than[1]}"
    return None


def future_grant_error(grant: date | None) -> str | None:
    """Why a grant date after tomorrow (a weekly archive may be dated a day ahead) is a wrong
    date, not a granted patent, or None."""
    if grant is not None and grant > date.today() + timedelta(days=1):
        return f"grant date {grant} is in the future: not a granted patent"
    return None


def display_title(title: object) -> str | None:
    """A clean form of an (OCR) title for display: "PREGNANCY PILLOW" -> "Pregnancy pillow".

    Titles with lower-case letters are trusted and only get their whitespace normalised. All-caps
    titles lose a trailing CPC symbol ("SHARK BLANKET A47G") and OCR's spaced hyphens
    ("ANTI - FATIGUE"), and are put in sentence case, keeping a few common acronyms.
    """
    if not isinstance(title, str):
        return None
    text = " ".join(title.split())
    if not text or any(c.islower() for c in text):
        return text or None
    text = _SPACED_HYPHEN.sub("-", _CPC_TAIL.sub("", text))
    words = [w if w.strip(".,;:()") in _ACRONYMS else w.lower() for w in text.split(" ")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def article_name(description: str) -> str | None:
    """The article a figure description names, lower case: "FIG. 1 is a perspective view of a
    napkin holder showing our new design" -> "napkin holder"; None for "... view thereof"."""
    m = _OF_ARTICLE.search(description)
    if not m:
        return None
    words = m.group(1).lower().rstrip(" .").split()
    return " ".join(words) if 0 < len(words) <= _MAX_ARTICLE_WORDS else None


def title_from_figures(descriptions: list[str]) -> str | None:
    """A display title for a patent whose title is missing (OCR lost it): the article the first
    naming figure description names, in sentence case."""
    for text in descriptions:
        name = article_name(text)
        if name:
            return name[:1].upper() + name[1:]
    return None


def is_figure_description(text: str) -> bool:
    """Whether a paragraph describes figures ("FIG. 1 is ...", "FIGS. 2-3 are ...")."""
    return bool(_FIGURE.match(text))


def clean_description(text: str) -> str:
    """Whitespace-normalised text without a list's trailing "; and," or final period."""
    return _DESCRIPTION_TAIL.sub("", " ".join(text.split())).rstrip()
