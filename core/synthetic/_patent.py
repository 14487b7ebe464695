"""A synthetic design patent: id, title, dates, USPTO-style figure descriptions, views."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ._design import Design, pick
from ._families import FAMILIES, Family
from ._mesh import merge
from ._render import VIEWS, render

QUERY_INDEX_START = 900_000     # write_queries draws new designs from here; corpora stay below

_EARLIEST = date(2005, 1, 1)
_FIRST_TUESDAY = date(2006, 1, 3)   # US patents are granted on Tuesdays
_N_TUESDAYS = (date(2024, 12, 31) - _FIRST_TUESDAY).days // 7 + 1

_WORDING = {   # two USPTO phrasings of the standard views
    "elevational": {"front": "front elevational view", "rear": "rear elevational view",
                    "left": "left side elevational view", "right": "right side elevational view",
                    "top": "top plan view", "bottom": "bottom plan view"},
    "elevation": {"front": "front elevation view", "rear": "rear elevation view",
                  "left": "left side elevation view", "right": "right side elevation view",
                  "top": "top plan view", "bottom": "bottom plan view"},
}


@dataclass
class SyntheticPatent:
    """A procedurally generated design patent; ``views`` hold uint8 line art (0 = ink)."""

    patent_id: str
    index: int
    seed: int
    family: str
    title: str
    locarno: str
    grant_date: date
    filing_date: date
    figure_descriptions: list[str]
    views: list[tuple[str, np.ndarray]]
    broken_lines: bool


def patent_id(index: int) -> str:
    """``SYN-000123``: cannot be mistaken for a US number (``D0906013``)."""
    return f"SYN-{index:06d}"


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """Independent generator per (seed, patent, purpose): results never depend on call order.

    Streams: 0 bibliographic data, 1 shape, 2 drawing style, 3 family, 4 sheet layout,
    5 query view."""
    return np.random.default_rng(np.random.SeedSequence([seed, index, stream]))


def design(index: int, seed: int = 0, family: str | None = None) -> tuple[Family, Design]:
    """The family and 3D design of patent ``index`` (same arguments, same design)."""
    name = family or pick(_rng(seed, index, 3), sorted(FAMILIES))
    fam = FAMILIES[name]
    return fam, fam.build(_rng(seed, index, 1))


def _describe(meta: np.random.Generator, noun: str, views) -> list[str]:
    """USPTO figure descriptions: the first names the article, the others say "thereof"."""
    words = _WORDING[pick(meta, ["elevational", "elevational", "elevation"])]
    who = pick(meta, ["my", "our"])
    article = "an" if noun[0] in "aeiou" else "a"
    lines = []
    for k, view in enumerate(views, start=1):
        what = "front perspective view" if view == "perspective" else words[view]
        if k == 1:
            lines.append(f"FIG. {k} is a {what} of {article} {noun} showing {who} new design")
        else:
            lines.append(f"FIG. {k} is a {what} thereof")
    ends = [";"] * (len(lines) - 2) + ["; and", "."] if len(lines) > 1 else ["."]
    return [line + end for line, end in zip(lines, ends)]


def generate_patent(index: int, seed: int = 0, family: str | None = None, *, size: int = 1024,
                    views=VIEWS, shading: bool | None = None,
                    broken_lines: bool | None = None) -> SyntheticPatent:
    """Synthetic patent number ``index``: deterministic for (index, seed, family, options).

    ``family`` forces the kind of product (another index gives another design of the same
    kind); ``shading``/``broken_lines`` None let the patent decide, as drafters do."""
    fam, des = design(index, seed, family)
    meta, style = _rng(seed, index, 0), _rng(seed, index, 2)
    title = pick(meta, des.titles or fam.titles)
    grant = _FIRST_TUESDAY + timedelta(weeks=int(meta.integers(_N_TUESDAYS)))
    lag = int(meta.integers(365, min(3 * 365, (grant - _EARLIEST).days) + 1))
    filing = grant - timedelta(days=lag)   # 1-3 years earlier, never before 2005
    descriptions = _describe(meta, title.lower(), views)
    shade_draw, env_draw = style.random(), style.random()
    shade = shade_draw < 0.75 if shading is None else shading
    env_drawn = (env_draw < 0.5 if broken_lines is None else broken_lines) and des.env is not None
    mesh = merge(des.mesh, des.env) if env_drawn else des.mesh
    persp = dict(azimuth=float(style.uniform(25, 50) * (1 if style.random() < 0.8 else -1)),
                 elevation=float(style.uniform(15, 32)), distance=float(style.uniform(2.8, 4.5)))
    images = [(v, render(mesh, v, size, shading=shade, **(persp if v == "perspective" else {})))
              for v in views]
    return SyntheticPatent(patent_id(index), index, seed, fam.name, title, fam.locarno, grant,
                           filing, descriptions, images, env_drawn)
