"""The trainable image encoder: which layers train, and the split of a frozen prefix.

The text tower (everything outside ``clip.visual``) is always frozen: the method aligns
drawings to a fixed text space. In the image trunk, ``freeze_blocks = k`` freezes the stem and
the first k blocks of a timm EfficientNet/MobileNet-style trunk (one with ``blocks``);
``len(blocks) + 1`` freezes the whole trunk (head conv too: only the projection trains); ``-1``
trains everything. Frozen layers stay in eval mode, so their BatchNorm statistics do not drift.

When the frozen prefix is fixed, its output for an image never changes: ``prefix`` and ``tail``
split the forward pass there, so the prefix can be run once per augmented view and cached
(training.features), and training then only runs the tail.
"""
from __future__ import annotations

import torch

from core.models import style_blocks_of, style_head, trunk_features

from .config import ConfigError


def trunk_of(clip) -> torch.nn.Module:
    trunk = getattr(clip.visual, "trunk", None)
    if trunk is None:
        raise ValueError("the image tower has no timm trunk")
    return trunk


def has_blocks(clip) -> bool:
    return hasattr(getattr(clip.visual, "trunk", None), "blocks")


def frozen_modules(clip, freeze_blocks: int) -> list[torch.nn.Module]:
    """The trunk modules that ``freeze_blocks`` freezes (stem first)."""
    if freeze_blocks < 0:
        return []
    trunk = trunk_of(clip)
    if not has_blocks(clip):
        raise ConfigError("freeze_blocks needs a trunk with blocks (EfficientNet-like); "
                          "use freeze_blocks = -1")
    n = len(trunk.blocks)
    if freeze_blocks > n + 1:
        raise ConfigError(f"model.freeze_blocks {freeze_blocks} > the trunk's {n} blocks + 1")
    head = [trunk.conv_head, trunk.bn2] if freeze_blocks == n + 1 else []
    return [trunk.conv_stem, trunk.bn1] + [trunk.blocks[i] for i in range(min(freeze_blocks, n))] \
        + head


def set_trainable(clip, freeze_blocks: int) -> list[torch.nn.Parameter]:
    """Freeze the text tower and the trunk prefix; returns the trainable parameters."""
    for name, p in clip.named_parameters():
        p.requires_grad_(name.startswith("visual.") or name == "logit_scale")
    for m in frozen_modules(clip, freeze_blocks):
        for p in m.parameters():
            p.requires_grad_(False)
    return [p for n, p in clip.visual.named_parameters() if p.requires_grad]


def train_mode(clip, freeze_blocks: int) -> None:
    """Trainable layers in train mode; the text tower and frozen layers in eval mode."""
    clip.train()
    for name, child in clip.named_children():
        if name != "visual":
            child.eval()
    for m in frozen_modules(clip, freeze_blocks):
        m.eval()


def prefix(visual, x: torch.Tensor, freeze_blocks: int) -> torch.Tensor:
    """Output of the frozen stem + first ``freeze_blocks`` blocks for normalized images
    (``visual``: the CLIP image tower). At the pooled split (``len(blocks) + 1``) a tower with
    a style stream gives its pooled features and style statistics side by side."""
    trunk = visual.trunk
    n = len(trunk.blocks)
    if freeze_blocks > n:
        pooled, style = trunk_features(visual, x)
        return pooled if style is None else torch.cat([pooled, style], 1)
    x = trunk.bn1(trunk.conv_stem(x))
    for i in range(freeze_blocks):
        x = trunk.blocks[i](x)
    return x


def tail(visual, feats: torch.Tensor, freeze_blocks: int) -> torch.Tensor:
    """Image embedding (unnormalized) from prefix features: remaining blocks, head, proj.
    ``prefix``/``tail`` with ``freeze_blocks = len(blocks) + 1`` split at the pooled vector."""
    trunk = visual.trunk
    if freeze_blocks > len(trunk.blocks):
        if style_blocks_of(visual) is None:
            return visual.head(feats)
        n = trunk.num_features
        return style_head(visual, feats[:, :n], feats[:, n:])
    return style_head(visual, *trunk_features(visual, feats, freeze_blocks))
