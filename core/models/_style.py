"""Style statistics: a second, cheap descriptor of how a drawing is drawn.

Views of one design are drawn alike (line weight, shading and hatching, broken lines, the
scan), while their shapes can differ completely (a top view is a circle, the side view a
bottle). Second-order statistics of an early trunk stage (the Gram matrix of its channels, as in
style transfer) capture the first and ignore the layout. A tower with a style stream embeds a
drawing as ``head(pooled features) + style_proj(style statistics)``: both linear and bias-free,
so a zero ``style_proj`` (an untrained model) computes exactly what the plain tower computes,
and mirror-image TTA and pooled feature banks stay exact. The statistics come from the same
forward pass, so the stream costs almost nothing.
"""
from __future__ import annotations

import contextlib

import torch


class StyleStream(torch.nn.Module):
    """Marker base of image towers with a style stream (``enable_style_stream``)."""


def style_statistics(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) feature maps -> (B, C(C+1)/2): the upper triangle of the channel Gram
    matrix (mean over positions), signed square root (keeps the few large entries from
    dominating; continuous at 0)."""
    c = x.shape[1]
    amp_off = torch.autocast("cuda", enabled=False) if x.is_cuda else contextlib.nullcontext()
    with amp_off:                                   # float32 also under CUDA AMP
        f = x.float().flatten(2)
        g = torch.bmm(f, f.transpose(1, 2)).div(f.size(2))
    iu = torch.triu_indices(c, c, device=x.device)
    g = g[:, iu[0], iu[1]]
    eps = 1e-6
    return torch.sign(g) * (torch.sqrt(g.abs() + eps) - eps ** 0.5)


def style_blocks_of(visual: torch.nn.Module) -> int | None:
    """The stage the style statistics are taken after (None: the tower has no style stream)."""
    return getattr(visual, "style_blocks", None) if isinstance(visual, StyleStream) else None


def trunk_features(visual: torch.nn.Module, x: torch.Tensor, start: int | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(pooled features, style statistics or None)`` of an EfficientNet-like timm trunk.

    ``x`` is a normalized image batch (``start = None``) or the output of the stem and the
    first ``start`` blocks (a cached prefix); the style statistics must lie at or after it.
    """
    trunk = visual.trunk
    blocks = style_blocks_of(visual)
    if start is None:
        x, start = trunk.bn1(trunk.conv_stem(x)), 0
    elif blocks is not None and blocks < start:
        raise ValueError(f"the style statistics are taken after block {blocks}, before the "
                         f"split at block {start}: cache pooled features instead")
    style = None
    for i in range(start, len(trunk.blocks)):
        if i == blocks:
            style = style_statistics(x)
        x = trunk.blocks[i](x)
    if blocks is not None and style is None:
        style = style_statistics(x)
    return trunk.forward_head(trunk.bn2(trunk.conv_head(x))), style


def style_head(visual: torch.nn.Module, pooled: torch.Tensor, style: torch.Tensor | None
               ) -> torch.Tensor:
    """The tower's output from its pooled features and style statistics."""
    out = visual.head(pooled)
    return out if style is None else out + visual.style_proj(style)


def _style_forward(self, x: torch.Tensor) -> torch.Tensor:
    return style_head(self, *trunk_features(self, x))


def enable_style_stream(visual: torch.nn.Module, blocks: int) -> torch.nn.Module:
    """Give ``visual`` a style stream after its first ``blocks`` trunk blocks, in place.

    Adds ``style_proj`` (zero: the vectors stay those of the plain tower until it is trained or
    set) and swaps the class for a subclass whose ``forward`` adds it, like mirror-image TTA;
    enable the style stream first, mirror-image TTA on top of it.
    """
    from ._model import HFlipTTA, swap_forward
    from ._registry import ModelError

    if isinstance(visual, StyleStream):
        if visual.style_blocks != blocks:
            raise ModelError(f"the tower has a style stream after block {visual.style_blocks}, "
                             f"not {blocks}")
        return visual
    if isinstance(visual, HFlipTTA):
        raise ModelError("enable the style stream before mirror-image TTA")
    trunk = getattr(visual, "trunk", None)
    proj = getattr(getattr(visual, "head", None), "proj", None)
    if trunk is None or not hasattr(trunk, "blocks") or not isinstance(proj, torch.nn.Linear):
        raise ModelError("a style stream needs an EfficientNet-like timm trunk (with blocks) "
                         "and a linear projection")
    if not 0 <= blocks <= len(trunk.blocks):
        raise ModelError(f"style statistics after block {blocks}: the trunk has "
                         f"{len(trunk.blocks)} blocks")
    was_training = trunk.training
    trunk.eval()
    with torch.no_grad():
        x = trunk.bn1(trunk.conv_stem(torch.zeros(1, 3, 32, 32)))
        for i in range(blocks):
            x = trunk.blocks[i](x)
    trunk.train(was_training)
    c = int(x.shape[1])
    visual.style_proj = torch.nn.Linear(c * (c + 1) // 2, proj.out_features, bias=False)
    torch.nn.init.zeros_(visual.style_proj.weight)
    visual.style_blocks = int(blocks)
    return swap_forward(visual, StyleStream, "Style", _style_forward, __name__)
