"""Training data that is missing or empty is a ConfigError before the run starts or trains."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .config import ConfigError, DataCfg
from .losses import UNKNOWN

log = logging.getLogger(__name__)


def check_sources(data: DataCfg) -> None:
    """Every named source, DeepPatent2 file, image root and prepared corpus must exist, and
    something must be named; relative paths are read from the working directory."""
    if data.corpus:
        if not (Path(data.corpus) / "index.json").is_file():
            raise ConfigError(f"data.corpus {data.corpus} is not a prepared corpus (no "
                              f"index.json){_relative_note([('', data.corpus)])}")
        return
    if not (data.sources or data.deeppatent2 or data.synthetic):
        raise ConfigError("no training data: data.sources, data.deeppatent2 and "
                          "data.synthetic are all empty")
    named = [("data.sources", p) for p in data.sources] + \
        [("data.deeppatent2", p) for p in data.deeppatent2] + \
        ([("data.image_root", data.image_root)] if data.image_root else [])
    missing = [(key, str(p)) for key, p in named if not Path(p).expanduser().exists()]
    if missing:
        listed = ", ".join(f"{key} {p}" for key, p in missing)
        raise ConfigError(f"training data not found: {listed}{_relative_note(missing)}")


def check_rows(corpus, rows: np.ndarray) -> None:
    """The corpus must have figures to train on once held-out patents are set aside."""
    if len(rows):
        return
    if len(corpus) == 0:
        errors = corpus.index.get("errors") or []
        first = f"; first of {len(errors)} error(s): {errors[0][0]}: {errors[0][1]}" \
            if errors else ""
        raise ConfigError(f"no training data: the sources gave no figures{first}")
    raise ConfigError(f"no training data: all {len(corpus)} figures belong to held-out patents "
                      "(data.exclude_patents, data.fold)")


def check_class_labels(corpus, rows: np.ndarray, losses: list[str], warn: bool = True
                       ) -> None:
    """L_cls and L_cat need Locarno classes: none among the training figures is a ConfigError
    (the losses would be 0 and the run an L_clip run under another name); some missing is
    told, since those figures then only teach the other losses."""
    wanted = [name for name in ("cls", "cat") if name in losses]
    if not wanted:
        return
    have_class = int((corpus.main_class[rows] != UNKNOWN).sum())
    have_sub = int((corpus.subclass[rows] != UNKNOWN).sum())
    if have_class == 0:
        rest = [name for name in losses if name not in wanted] or ["clip"]
        toml_list = "[" + ", ".join(f'"{name}"' for name in rest) + "]"
        raise ConfigError(
            f"loss.losses asks for {' and '.join('L_' + n for n in wanted)}, but none of the "
            f"{len(rows)} training figures has a Locarno class; add sources that carry one "
            "(USPTO grant XML, DeepPatent2's classification_locarno, a manifest's \"locarno\") "
            f"or train without them: --set 'loss.losses={toml_list}'")
    if not warn:
        return
    if "cls" in wanted and have_sub < len(rows):
        log.warning("%d of %d training figures have no Locarno subclass: L_cls learns from "
                    "the other %d", len(rows) - have_sub, len(rows), have_sub)
    if "cat" in wanted and have_class < len(rows):
        log.warning("%d of %d training figures have no Locarno class: L_cat learns from the "
                    "other %d", len(rows) - have_class, len(rows), have_class)


def _relative_note(paths: list[tuple[str, str]]) -> str:
    if all(Path(p).expanduser().is_absolute() for _, p in paths):
        return ""
    return f" (relative paths are read from the working directory, {os.getcwd()})"
