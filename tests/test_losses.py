"""The three losses and their weighting, on hand-made batches whose values are known."""
import math

import pytest
import torch

from training.losses import UNKNOWN, LossWeighting, clip_loss, supcon_loss


def _brute_supcon(z, labels, t):
    z = torch.nn.functional.normalize(z, dim=-1)
    total, count = 0.0, 0
    for i in range(len(z)):
        if labels[i] == UNKNOWN:
            continue
        pos = [p for p in range(len(z)) if p != i and labels[p] == labels[i]]
        if not pos:
            continue
        denom = sum(math.exp(float(z[i] @ z[a]) / t) for a in range(len(z)) if a != i)
        total += -sum(float(z[i] @ z[p]) / t - math.log(denom) for p in pos) / len(pos)
        count += 1
    return total / count if count else 0.0


def test_clip_loss_of_orthogonal_pairs():
    img = torch.eye(2)
    # logits [[1, 0], [0, 1]]: each row and column costs -log(e / (e + 1)) = log(1 + 1/e)
    assert clip_loss(img, img.clone(), 1.0).item() == pytest.approx(
        math.log(1 + math.exp(-1)), rel=1e-6)


def test_clip_loss_is_symmetric_and_scale_sharpens():
    torch.manual_seed(0)
    a, b = torch.randn(6, 8), torch.randn(6, 8)
    assert clip_loss(a, b, 10.0).item() == pytest.approx(clip_loss(b, a, 10.0).item(), rel=1e-6)
    aligned = clip_loss(a, a.clone(), 50.0).item()
    assert aligned < 1e-3 < clip_loss(a, b, 50.0).item()


def test_supcon_known_value_and_singleton_excluded():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # anchors 0 and 1: positive similarity 1, other 0 -> log(1 + e) - 1; anchor 2 has no
    # positive and is left out of the mean.
    loss = supcon_loss(z, torch.tensor([0, 0, 1]), temperature=1.0)
    assert loss.item() == pytest.approx(math.log(1 + math.e) - 1, rel=1e-6)


def test_supcon_batch_without_positives_is_zero_not_nan():
    z = torch.randn(4, 5, requires_grad=True)
    loss = supcon_loss(z, torch.tensor([0, 1, 2, UNKNOWN]))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(z.grad).all() and (z.grad == 0).all()


def test_supcon_unknown_labels_are_neither_anchor_nor_positive():
    torch.manual_seed(1)
    z = torch.randn(6, 4)
    labels = torch.tensor([0, 0, UNKNOWN, UNKNOWN, 1, 1])
    assert supcon_loss(z, labels, 0.5).item() == pytest.approx(
        _brute_supcon(z, labels.tolist(), 0.5), rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_supcon_matches_the_definition(seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(10, 6, generator=g)
    labels = torch.randint(0, 4, (10,), generator=g)
    assert supcon_loss(z, labels, 0.1).item() == pytest.approx(
        _brute_supcon(z, labels.tolist(), 0.1), rel=1e-4)


def test_uncertainty_weighting_value():
    w = LossWeighting(["a", "b"], "uncertainty")
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([0.0, math.log(2.0)]))
    total = w({"a": torch.tensor(3.0), "b": torch.tensor(4.0)})
    assert total.item() == pytest.approx(3.0 + 0.5 * 4.0 + math.log(2.0), rel=1e-6)
    assert w.weights() == pytest.approx({"a": 1.0, "b": 0.5})


def test_uncertainty_weights_settle_at_log_loss():
    """d/ds (exp(-s) L + s) = 0 at s = log L: a larger loss gets a smaller weight (1/L)."""
    w = LossWeighting(["big", "small"], "uncertainty")
    opt = torch.optim.SGD(w.parameters(), lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        w({"big": torch.tensor(4.0), "small": torch.tensor(0.5)}).backward()
        opt.step()
    assert w.log_vars.detach().tolist() == pytest.approx([math.log(4.0), math.log(0.5)],
                                                         abs=1e-3)


def test_fixed_weighting_learns_nothing():
    w = LossWeighting(["a", "b"], "fixed", weights={"a": 1.0, "b": 0.25})
    assert not any(p.requires_grad for p in w.parameters())
    total = w({"a": torch.tensor(2.0), "b": torch.tensor(4.0)})
    assert total.item() == pytest.approx(3.0)
    with pytest.raises(ValueError):
        LossWeighting(["a"], "learned")
