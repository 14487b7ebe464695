"""Which view a figure shows: "FIG. n" descriptions matched to figures found on the pages.

Heuristic (design patents): core.drawing finds a sheet's figures in reading order (rows top to
bottom, then left to right), which is the order in which the drawings are numbered. Figures
are therefore numbered globally: drawing sheets in sheet order, figures on a sheet in reading
order, FIG. 1 first. The front page's figure (``front_page``) and the Red Book's
``front_view`` image repeat the representative view, which is FIG. 1 unless a description says
"representative"/"front page" of another figure; they get that number and do not advance the
count. Sheets of unknown kind count as drawing sheets; pages without a sheet number are taken
in page order. A figure beyond the last description keeps its number but has no view text.
Where the figures found on the drawing sheets are not as many as the figures described (a label
cut as a figure, two figures found as one), numbering would give runs of figures their
neighbours' views: then no drawing-sheet figure gets a view or a description (the patent-level
text, title and class, stays right).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_FIG = re.compile(r"^\s*FIG(?:URE)?S?\s*\.?\s*(\d+)([A-Z]?)\b(?:\s*(?:-|to|through|and|&)\s*"
                  r"(\d+))?\s*(?:is|are|shows?|illustrates?)?\s*(.*)$", re.IGNORECASE)
_VIEW = re.compile(
    r"\b((?:(?:front|rear|back|top|bottom|left|right|upper|lower|side|end|isometric|perspective|"
    r"elevation(?:al)?|plan|cross[- ]sectional|sectional|enlarged|partial|exploded|detail|"
    r"underside|opposite|first|second|other|oblique|three[- ]dimensional|3-d)[\s,-]*(?:and\s+)?)"
    r"+view)", re.IGNORECASE)
_REPRESENTATIVE = re.compile(r"front page|representative", re.IGNORECASE)


@dataclass(frozen=True)
class FigureView:
    number: int | None      # global figure number (None: no figure numbering applies)
    view: str | None        # e.g. "front elevational view"
    description: str | None  # the whole "FIG. n is ..." sentence


def parse_descriptions(descriptions: list[str]) -> dict[int, str]:
    """Figure number -> description sentence; "FIGS. 2-4 are ..." covers 2, 3 and 4."""
    out: dict[int, str] = {}
    for text in descriptions or []:
        m = _FIG.match(text.replace(" .", ".").replace(" ,", ","))
        if not m:
            continue
        first = int(m.group(1))
        last = int(m.group(3)) if m.group(3) else first
        for n in range(first, min(last, first + 20) + 1):
            out.setdefault(n, " ".join(text.split()))
    return out


def view_phrase(description: str | None) -> str | None:
    """The view named in a description ("... is a front elevational view thereof" ->
    "front elevational view"), None when it names none."""
    if not description:
        return None
    text = re.sub(r"\s+-\s+", "-", description)        # OCR's "right - side view"
    mirror = text.find("mirror image")
    if mirror >= 0:                 # "..., the rear side view being a mirror image": not shown
        head = text[:mirror]
        cut = max(head.rfind(f"{sep} the ") for sep in (",", ";"))
        text = head[:cut] if cut > 0 else head
    m = _VIEW.search(text)
    if not m:
        return None
    return " ".join(m.group(1).lower().replace(",", " ").split())


def representative_number(descriptions: list[str]) -> int:
    """The figure on the front page: the one called representative, else FIG. 1."""
    for n, text in parse_descriptions(descriptions).items():
        if _REPRESENTATIVE.search(text):
            return n
    return 1


def number_figures(pages: list[tuple[str | None, int | None, int]],
                   descriptions: list[str]) -> list[list[FigureView]]:
    """Views of every figure of a patent's pages.

    ``pages``: (page_kind, sheet, number of figures) per page, in any order; returns, in the
    same order, one ``FigureView`` per figure.
    """
    by_number = parse_descriptions(descriptions)
    rep = representative_number(descriptions)
    front = {i for i, (kind, _, _) in enumerate(pages) if kind in ("front_page", "front_view")}
    numbered = all(sheet is not None for i, (_, sheet, _) in enumerate(pages) if i not in front)
    order = sorted(range(len(pages)), key=lambda i: (
        0 if i in front else 1, pages[i][1] if numbered and i not in front else 0, i))
    found = sum(count for i, (_, _, count) in enumerate(pages) if i not in front)
    trusted = not by_number or found == max(by_number)
    out: list[list[FigureView]] = [[] for _ in pages]
    n = 0
    for i in order:
        for _ in range(pages[i][2]):
            if i in front:
                num = rep
            else:
                n += 1
                num = n
            text = by_number.get(num) if trusted or i in front else None
            out[i].append(FigureView(num, view_phrase(text), text))
    return out
