"""Line-drawing augmentations: white stays white, nothing is padded black, runs reproduce."""
import pytest
import torch

from training.augment import AugmentConfig, augment


def _drawing(n=4, size=32):
    x = torch.full((n, 1, size, size), 255, dtype=torch.uint8)
    x[:, :, 8:24, 15:17] = 0       # a vertical stroke
    x[:, :, 15:17, 8:24] = 0       # a horizontal stroke
    return x


def test_blank_paper_stays_blank_under_every_augmentation():
    heavy = AugmentConfig(hflip=1, vflip=1, crop_p=1, crop_scale=(0.3, 0.5), zoom_out=1,
                          rotate_deg=30, erase_p=1, gridmask_p=1, stroke_p=1)
    blank = torch.full((6, 1, 32, 32), 255, dtype=torch.uint8)
    out = augment(blank, heavy, torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == blank.shape
    assert (out == 255).all()


def test_zoom_out_and_rotation_pad_with_white():
    cfg = AugmentConfig.none()
    cfg.zoom_out, cfg.rotate_deg = 1.0, 20.0
    black = torch.zeros((3, 1, 32, 32), dtype=torch.uint8)
    out = augment(black, cfg, torch.Generator().manual_seed(1))
    assert (out[:, :, 0, 0] == 255).all() and (out[:, :, -1, -1] == 255).all()
    assert (out[:, :, 16, 16] < 50).all()   # the drawing itself is still there


def test_erasing_and_gridmask_only_remove_ink():
    cfg = AugmentConfig.none()
    cfg.erase_p, cfg.gridmask_p = 1.0, 1.0
    x = _drawing()
    out = augment(x, cfg, torch.Generator().manual_seed(2))
    assert (out >= x).all() and (out > x).any()


def test_stroke_jitter_thickens_or_thins():
    cfg = AugmentConfig.none()
    cfg.stroke_p = 1.0
    x = _drawing(n=16)
    out = augment(x, cfg, torch.Generator().manual_seed(3))
    ink_before = (255 - x.float()).sum((1, 2, 3))
    ink_after = (255 - out.float()).sum((1, 2, 3))
    assert (ink_after > ink_before).any() and (ink_after < ink_before).any()


def test_flip_is_exact_and_seeded_runs_repeat():
    cfg = AugmentConfig.none()
    cfg.hflip = 1.0
    x = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    out = augment(x, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(out, x.flip(-1))
    full = AugmentConfig()
    a = augment(_drawing(), full, torch.Generator().manual_seed(5))
    b = augment(_drawing(), full, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_rejects_float_or_rgb_batches():
    with pytest.raises(ValueError):
        augment(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), AugmentConfig(),
                torch.Generator())
