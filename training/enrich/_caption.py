"""Optional captioner hook: a captioning model on disk describes the drawing itself.

Off by default (the paper used BLIP-2). Give ``model_path`` (a local folder that
``transformers.pipeline("image-to-text")`` can load; nothing is downloaded) or, from code, any
``captioner(image_uint8) -> str`` callable.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ._base import EnricherUnavailable, FigureContext


class CaptionEnricher:
    name = "caption"

    def __init__(self, model_path: str | None = None,
                 captioner: Callable[[np.ndarray], str] | None = None, prefix: str = ""):
        if captioner is None and not model_path:
            raise ValueError("the caption enricher needs model_path (a captioning model on "
                             "disk): --caption-model or [enrich.caption]")
        if captioner is None and not (Path(model_path).expanduser() / "config.json").is_file():
            raise ValueError(f"the captioning model {model_path} is not a model folder on disk "
                             "(no config.json; nothing is downloaded)")
        self.model_path = model_path
        self._captioner = captioner
        self.prefix = prefix

    @property
    def settings(self) -> dict:
        return {"model_path": self.model_path, "prefix": self.prefix}

    def _load(self) -> Callable[[np.ndarray], str]:
        if self._captioner is None:
            import core  # noqa: F401  (sets the offline hub before transformers loads)
            from PIL import Image
            from transformers import pipeline

            try:
                pipe = pipeline("image-to-text",
                                model=str(Path(self.model_path).expanduser()))
            except Exception as exc:  # transformers raises many kinds for a bad folder
                why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise EnricherUnavailable(f"cannot load the captioning model "
                                          f"{self.model_path}: {why}") from None

            def run(image: np.ndarray) -> str:
                out = pipe(Image.fromarray(image).convert("RGB"))
                return out[0]["generated_text"] if out else ""
            self._captioner = run
        return self._captioner

    def describe(self, ctx: FigureContext, n: int) -> list[str]:
        if ctx.image is None:
            return []
        text = " ".join(self._load()(ctx.image()).split())
        return [self.prefix + text] if text else []
