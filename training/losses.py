"""The three training losses of Lo et al. (2024) and their learned (or fixed) weighting.

- ``clip_loss``: symmetric InfoNCE between each drawing and its (enriched) description.
- ``supcon_loss``: supervised contrastive loss over drawings (Khosla et al. 2020); with Locarno
  subclass labels it is L_cls, with main-class labels L_cat. An anchor without any positive in
  the batch (a singleton class, or an unknown label) is left out; a batch with no valid anchor
  gives an exact zero that still carries a gradient path, never NaN.
- ``LossWeighting``: homoscedastic uncertainty weights (Kendall et al. 2018),
  total = sum_k exp(-s_k) * L_k + s_k, with learnable s_k; or fixed weights for the ablation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

#: Label of a drawing whose class is unknown: never an anchor, never a positive.
UNKNOWN = -1


def clip_loss(image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor | float
              ) -> torch.Tensor:
    """Symmetric cross entropy of the scaled cosine similarities; row i matches column i.

    ``image`` and ``text`` are (N, D) and are L2-normalised here; ``logit_scale`` is the
    multiplier (exp of CLIP's learnable log-temperature).
    """
    image = F.normalize(image.float(), dim=-1)
    text = F.normalize(text.float(), dim=-1)
    logits = logit_scale * image @ text.t()
    target = torch.arange(len(image), device=image.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def supcon_loss(features: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1
                ) -> torch.Tensor:
    """Mean over anchors with at least one positive of
    -1/|P(i)| * sum_{p in P(i)} log(exp(s_ip / t) / sum_{a != i} exp(s_ia / t)).

    Drawings labelled ``UNKNOWN`` stay in the denominators (they are other drawings) but are
    neither anchors nor positives.
    """
    z = F.normalize(features.float(), dim=-1)
    n = len(z)
    labels = labels.to(z.device).view(-1)
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    known = labels != UNKNOWN
    positive = (labels[:, None] == labels[None, :]) & ~eye & known[:, None] & known[None, :]
    logits = (z @ z.t()) / temperature
    logits = logits.masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    n_pos = positive.sum(1)
    valid = n_pos > 0
    if not valid.any():
        return z.sum() * 0.0
    pos_log_prob = torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(1)
    return -(pos_log_prob[valid] / n_pos[valid]).mean()


class LossWeighting(torch.nn.Module):
    """Combine named losses: learned uncertainty weights or fixed weights.

    ``mode="uncertainty"``: total = sum exp(-s_k) L_k + s_k with s_k learnable (init ``init``).
    ``mode="fixed"``: total = sum w_k L_k with the given weights (nothing learned).
    """

    def __init__(self, names: list[str], mode: str = "uncertainty", init: float = 0.0,
                 weights: dict[str, float] | None = None):
        super().__init__()
        if mode not in ("uncertainty", "fixed"):
            raise ValueError(f"loss weighting must be 'uncertainty' or 'fixed', not {mode!r}")
        self.names = list(names)
        self.mode = mode
        self.log_vars = torch.nn.Parameter(torch.full((len(names),), float(init)),
                                           requires_grad=mode == "uncertainty")
        w = weights or {}
        self.register_buffer("fixed", torch.tensor([float(w.get(k, 1.0)) for k in names]))

    def forward(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        total = 0.0
        for i, name in enumerate(self.names):
            if self.mode == "uncertainty":
                s = self.log_vars[i]
                total = total + torch.exp(-s) * losses[name] + s
            else:
                total = total + self.fixed[i] * losses[name]
        return total

    def weights(self) -> dict[str, float]:
        """The current effective weight of each loss (exp(-s_k), or the fixed weight)."""
        w = torch.exp(-self.log_vars.detach()) if self.mode == "uncertainty" else self.fixed
        return {k: float(v) for k, v in zip(self.names, w)}
