"""Training data that is missing or empty is a ConfigError before the run starts or trains."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .config import ConfigError, DataCfg


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


def _relative_note(paths: list[tuple[str, str]]) -> str:
    if all(Path(p).expanduser().is_absolute() for _, p in paths):
        return ""
    return f" (relative paths are read from the working directory, {os.getcwd()})"
