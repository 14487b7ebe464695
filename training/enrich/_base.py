"""What an enricher sees (``FigureContext``) and the factory that builds one by name."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np


@dataclass
class FigureContext:
    """Metadata of one drawing (or, with ``figure_key == ""``, of the whole patent)."""

    patent_id: str
    figure_key: str = ""
    title: str | None = None
    locarno: str | None = None
    view: str | None = None              # "front elevational view"
    description: str | None = None       # "FIG. 3 is a front elevational view thereof"
    object_name: str | None = None       # DeepPatent2 "object"
    captions: list[str] = field(default_factory=list)
    image: Callable[[], np.ndarray] | None = None   # loads the rendered figure (captioners)


class EnricherUnavailable(RuntimeError):
    """The enricher cannot describe anything (endpoint unreachable or refusing, model not
    loadable): the run stops instead of failing every drawing in turn."""


class Enricher(Protocol):
    name: str

    def describe(self, ctx: FigureContext, n: int) -> list[str]:
        """Up to ``n`` descriptions of the drawing."""


def make_enricher(name: str, options: dict | None = None) -> Enricher:
    """An enricher by name (``training.config.ENRICHER_NAMES``); ``options`` from the
    config."""
    try:
        return _make(name, dict(options or {}))
    except TypeError as exc:            # an option the enricher does not take
        why = str(exc).split("() ", 1)[-1].replace("got an unexpected keyword argument",
                                                   "unknown option")
        raise ValueError(f"[enrich.{name}]: {why}") from None


def _make(name: str, options: dict) -> Enricher:
    from ..config import ENRICHER_NAMES

    if name == "template":
        from ._template import TemplateEnricher

        return TemplateEnricher(**options)
    if name == "title":
        from ._template import TitleEnricher

        return TitleEnricher()
    if name == "llm":
        from ._llm import LLMEnricher

        return LLMEnricher.from_config(options)
    if name == "caption":
        from ._caption import CaptionEnricher

        return CaptionEnricher(**options)
    raise ValueError(f"unknown enricher {name!r} ({', '.join(ENRICHER_NAMES)})")
