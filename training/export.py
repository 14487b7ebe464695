"""Export a trained model as a core checkpoint (safetensors + model.json sidecar) that records
how it was made: data (sources, counts, folds), the full config and the git commit."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git_commit(repo: Path = REPO) -> str:
    """``git rev-parse HEAD`` of the code that trained, or "unknown" outside a repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def export(model, cfg, record: dict) -> Path:
    from core.models import save_checkpoint

    folder = Path(cfg.run.export_dir or Path(cfg.run.out_dir) / "model")
    model.clip.eval()
    save_checkpoint(model, folder, training=record, half=cfg.run.export_half)
    return folder
