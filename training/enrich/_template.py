"""Offline enrichers: descriptions written from templates, and the bare title (ablation).

The object name comes from the title ("PREGNANCY PILLOW" -> "pregnancy pillow") or, when the
title is missing, from the first figure description ("FIG. 1 is a perspective view of an ice
chest with wheels ..." -> "ice chest with wheels"). Its head noun is looked up in
resources/aliases.json for synonyms and hypernyms; the view comes from the figure's own
description; the Locarno class and subclass titles say what kind of article it is.
"""
from __future__ import annotations

import json
import random
import re
from functools import lru_cache

from core.locarno import main_classes, normalize_locarno, title as locarno_title
from core.sources import article_name
from resources import RESOURCES_DIR

from ._base import FigureContext

ALIASES_JSON = RESOURCES_DIR / "aliases.json"
_CPC = re.compile(r"\b[A-H]\d{2}[A-Z]\b.*$")            # "SHARK BLANKET A47G"
_COLLECTION = re.compile(r"^(?:an? )?(?:pair|set|kit|group) of ")
_SPLIT = re.compile(r"\b(?:for|with|of|having|and)\b")
_GENERIC_VIEWS = ("view", "drawing")


@lru_cache(maxsize=1)
def aliases() -> dict[str, dict]:
    return json.loads(ALIASES_JSON.read_text(encoding="utf-8"))["nouns"]


def object_name(ctx: FigureContext) -> str | None:
    """Lower-case name of the claimed article."""
    for text in (ctx.object_name, ctx.title):
        if text:
            name = " ".join(_CPC.sub("", text).replace(" - ", "-").lower().split())
            name = re.sub(r"^(?:ornamental design for |design for )(?:an? |the )?", "", name)
            if name:
                return name
    return article_name(ctx.description) if ctx.description else None


def head_noun(name: str) -> str | None:
    """The noun the name is about, if the alias table knows it: the last word before
    "for/with/of..." ("stripping tool for leafy vegetables" -> "tool"); a known two-word noun
    wins ("lunch box" -> "lunchbox"). A modifier is never taken for it: "hot air gun body" has
    none (not "gun"), "mouse pad" none (not "mouse")."""
    table = aliases()
    words = re.findall(r"[a-z]+", _SPLIT.split(_COLLECTION.sub("", name), maxsplit=1)[0])
    if not words:
        return None
    last = words[-1]
    candidates = ([words[-2] + last] if len(words) > 1 else []) + [last]
    if last.endswith("s"):
        candidates.append(last[:-1])
    return next((c for c in candidates if c in table), None)


_AN_THOUGH_CONSONANT = ("hour", "honest", "honor", "honour", "heir")
_A_THOUGH_VOWEL = ("uni", "usb", "use", "usu", "uti", "ute", "ure", "uri", "uro", "uku", "eu",
                   "one", "ewe")
#: Initialisms read letter by letter from a vowel sound: "an LED lamp", "an HDMI cable".
_AN_INITIALISMS = ("led", "hdmi", "lcd", "mp3", "x-ray", "hvac", "rv", "suv", "sd")
_SINGULAR_IN_S = ("ss", "us", "is", "lens", "gas", "canvas", "chassis", "series", "species")


def _article(name: str) -> str:
    """"a", "an", or none for a plural ("eyeglasses", "house shoes"): by sound, mostly."""
    word = name.split()[0] if name.split() else ""
    if _plural(name):
        return ""
    if word.startswith(_AN_THOUGH_CONSONANT) or word in _AN_INITIALISMS:
        return "an"
    return "an" if word[:1] in "aeiou" and not word.startswith(_A_THOUGH_VOWEL) else "a"


def _plural(name: str) -> bool:
    """Whether the head of the name is plural ("house shoes"; not "pair of slippers")."""
    head = _SPLIT.split(name, maxsplit=1)[0].split()
    last = head[-1] if head else ""
    return last.endswith("s") and not last.endswith(_SINGULAR_IN_S)


class TitleEnricher:
    """The patent title alone: the paper's "no enrichment" baseline."""

    name = "title"

    def describe(self, ctx: FigureContext, n: int) -> list[str]:
        name = object_name(ctx)
        return [name] if name else []


class TemplateEnricher:
    """Several phrasings per drawing from title, aliases, view and Locarno class (no network)."""

    name = "template"

    def __init__(self, seed: int = 0):
        self.seed = seed

    #: Raised when the rules change what is written: a library's descriptions made by
    #: older rules are then written again by the next ``enrich``.
    RULES = 2

    @property
    def settings(self) -> dict:
        return {"seed": self.seed, "rules": self.RULES}

    def describe(self, ctx: FigureContext, n: int) -> list[str]:
        name = object_name(ctx)
        code = normalize_locarno(ctx.locarno)
        sub_title = locarno_title(code).lower() if code and len(code) == 5 else None
        cls_title = main_classes()[code[:2]].lower() if code else None
        if sub_title and sub_title.startswith("miscellaneous"):   # (NN-99: say of what)
            sub_title = f"miscellaneous {cls_title}"
        if not name and not cls_title:
            return []
        # (untitled: the class names what kind of article, not the article itself)
        name = name or f"article of the kind {(sub_title or cls_title).split(',')[0]}"
        noun = head_noun(name)
        entry = aliases().get(noun or "", {})
        alias_names = [a for a in entry.get("aliases", []) if a not in name]
        hypernyms = entry.get("hypernyms", [])
        view = ctx.view
        art = _article(name)
        out = [
            f"{art} {name}",
            f"a design patent drawing of {art} {name}",
            f"line drawing of {art} {name}",
            f"ornamental design for {art} {name}",
            f"black and white patent drawing showing {art} {name}",
        ]
        if view and view not in _GENERIC_VIEWS:
            out += [f"{view} of {art} {name}", f"{art} {name}, {view}",
                    f"patent drawing, {view} of the {name}",
                    f"{view} of an ornamental design for {art} {name}"]
        for a in alias_names:
            out += [f"{_article(a)} {a}", f"line drawing of {_article(a)} {a}"]
            if view:
                out.append(f"{view} of {_article(a)} {a}")
        for h in hypernyms:         # (a class of things: "furniture", "games and toys")
            out += [f"{art} {name}, a kind of {h}", f"{h}: {art} {name}"]
        if sub_title:
            out += [f"{art} {name}, in the class of {sub_title}",
                    f"drawing of an article in the category {sub_title}"]
        if cls_title:
            out += [f"{art} {name} ({cls_title})", f"design of {cls_title}: {art} {name}"]
        if ctx.captions:
            out += [c.strip() for c in ctx.captions if c.strip()]
        unique = list(dict.fromkeys(" ".join(s.split()) for s in out))
        head, rest = unique[:2], unique[2:]
        random.Random(f"{self.seed}:{ctx.patent_id}:{ctx.figure_key}").shuffle(rest)
        return (head + rest)[:n]
