"""Device names the tool takes: cpu, cuda, cuda:N, mps, or auto (the best one present)."""
from __future__ import annotations


def is_device_name(text: str) -> bool:
    """Whether ``text`` is spelled as a device (whether this machine has it is another
    question, answered by ``core.embed.pick_device``)."""
    kind, colon, number = text.strip().lower().partition(":")
    return kind in ("auto", "cpu", "cuda", "mps") and \
        (not colon or (kind == "cuda" and number.isdigit()))
