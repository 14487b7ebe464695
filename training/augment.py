"""Augmentations for line drawings, batched on uint8 grayscale tensors (N, 1, S, S).

Drawings are black ink on white paper (255): everything that is padded, filled or erased
becomes white, never black. Internally the batch is turned into "ink" (255 - x, paper = 0) so
zero padding of the geometric ops is white paper. All randomness comes from one
``torch.Generator`` so a seeded run is reproducible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    hflip: float = 0.5             # probability of a horizontal flip
    vflip: float = 0.0             # vertical flips turn a top view into a bottom view: off
    crop_p: float = 0.8            # probability of a random resized crop
    crop_scale: tuple = (0.55, 1.0)   # kept area fraction (> 1 would zoom out)
    crop_ratio: tuple = (0.8, 1.25)
    zoom_out: float = 0.2          # probability of shrinking the drawing inside white margins
    rotate_deg: float = 6.0        # uniform small rotation, degrees
    erase_p: float = 0.25          # random erasing (white rectangle)
    erase_area: tuple = (0.02, 0.15)
    gridmask_p: float = 0.2        # GridMask (white squares on a regular grid)
    gridmask_ratio: float = 0.4    # share of each grid cell's side that is masked
    stroke_p: float = 0.3          # stroke-width jitter: thicken or thin the ink by one pixel

    @classmethod
    def from_dict(cls, d: dict | None) -> "AugmentConfig":
        d = dict(d or {})
        for k in ("crop_scale", "crop_ratio", "erase_area"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)

    @classmethod
    def none(cls) -> "AugmentConfig":
        return cls(hflip=0, vflip=0, crop_p=0, zoom_out=0, rotate_deg=0, erase_p=0,
                   gridmask_p=0, stroke_p=0)


def augment(batch: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """A randomly augmented copy of a uint8 (N, 1, S, S) batch (white = 255)."""
    if batch.dtype != torch.uint8 or batch.dim() != 4 or batch.shape[1] != 1:
        raise ValueError(f"expected a uint8 (N, 1, S, S) batch, got {batch.dtype} "
                         f"{tuple(batch.shape)}")
    ink = 255.0 - batch.float()
    ink = _geometry(ink, cfg, gen)
    ink = _stroke_jitter(ink, cfg.stroke_p, gen)
    keep = torch.ones_like(ink)
    keep = keep * _erase_mask(ink, cfg, gen) * _gridmask(ink, cfg, gen)
    ink = ink * keep
    return (255.0 - ink).round().clamp(0, 255).to(torch.uint8)


def _rand(n: int, gen: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _geometry(ink: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Flips, random resized crop / zoom-out and rotation as one affine resampling."""
    n = len(ink)
    sx = torch.where(_rand(n, gen) < cfg.hflip, -1.0, 1.0)
    sy = torch.where(_rand(n, gen) < cfg.vflip, -1.0, 1.0)
    # Side of the sampled window relative to the image (1 = whole image, < 1 = crop).
    area = _rand(n, gen, *cfg.crop_scale)
    log_r = _rand(n, gen, math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1]))
    ratio = torch.exp(log_r)
    wx = torch.sqrt(area * ratio).clamp(max=1.0)
    wy = torch.sqrt(area / ratio).clamp(max=1.0)
    crop = _rand(n, gen) < cfg.crop_p
    wx, wy = torch.where(crop, wx, 1.0), torch.where(crop, wy, 1.0)
    zoom = (_rand(n, gen) < cfg.zoom_out) & ~crop
    z = _rand(n, gen, 1.1, 1.5)
    wx, wy = torch.where(zoom, z, wx), torch.where(zoom, z, wy)
    # Window centre: anywhere the window stays inside the image (centred when zooming out).
    cx = (_rand(n, gen) * 2 - 1) * (1 - wx).clamp(min=0)
    cy = (_rand(n, gen) * 2 - 1) * (1 - wy).clamp(min=0)
    angle = _rand(n, gen, -1, 1) * math.radians(cfg.rotate_deg)
    if not (crop.any() or zoom.any() or (sx < 0).any() or (sy < 0).any() or
            cfg.rotate_deg > 0):
        return ink
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos * wx * sx
    theta[:, 0, 1] = -sin * wy
    theta[:, 1, 0] = sin * wx
    theta[:, 1, 1] = cos * wy * sy
    theta[:, 0, 2] = cx
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta.to(ink.device), list(ink.shape), align_corners=False)
    return F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _stroke_jitter(ink: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Thicker (3x3 dilation of ink) or thinner (erosion) strokes for a share ``p`` of items."""
    if p <= 0:
        return ink
    n = len(ink)
    pick = _rand(n, gen) < p
    thicker = _rand(n, gen) < 0.5
    if not pick.any():
        return ink
    dil = F.max_pool2d(ink, 3, 1, 1)
    ero = -F.max_pool2d(-ink, 3, 1, 1)
    # Erosion can remove 1-px lines entirely: thin by blending instead of replacing.
    thin = (ink + ero) / 2
    out = torch.where(thicker.view(-1, 1, 1, 1).to(ink.device), dil, thin)
    return torch.where(pick.view(-1, 1, 1, 1).to(ink.device), out, ink)


def _erase_mask(ink: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    n, _, h, w = ink.shape
    mask = torch.ones(n, 1, h, w)
    on = _rand(n, gen) < cfg.erase_p
    area = _rand(n, gen, *cfg.erase_area) * h * w
    ratio = torch.exp(_rand(n, gen, math.log(0.3), math.log(3.3)))
    eh = torch.sqrt(area * ratio).clamp(1, h).long()
    ew = torch.sqrt(area / ratio).clamp(1, w).long()
    y0 = (_rand(n, gen) * (h - eh + 1).float()).long()
    x0 = (_rand(n, gen) * (w - ew + 1).float()).long()
    for i in torch.nonzero(on).flatten().tolist():
        mask[i, :, y0[i]:y0[i] + eh[i], x0[i]:x0[i] + ew[i]] = 0
    return mask.to(ink.device)


def _gridmask(ink: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """GridMask (Chen et al. 2020): squares of side ratio*d removed on a grid of period d."""
    n, _, h, w = ink.shape
    mask = torch.ones(n, 1, h, w)
    on = _rand(n, gen) < cfg.gridmask_p
    if not on.any():
        return mask.to(ink.device)
    ys, xs = torch.arange(h), torch.arange(w)
    for i in torch.nonzero(on).flatten().tolist():
        d = int(_rand(1, gen, max(h // 7, 4), max(h // 3, 5)).item())
        side = max(1, int(d * cfg.gridmask_ratio))
        oy, ox = (torch.randint(0, d, (2,), generator=gen)).tolist()
        row = ((ys + oy) % d) < side
        col = ((xs + ox) % d) < side
        mask[i, 0] = (~(row[:, None] & col[None, :])).float()
    return mask.to(ink.device)
