"""Export a trained model as a core checkpoint (safetensors + model.json sidecar) that records
how it was made: data (sources, counts, folds), the full config and the git commit."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git_commit(repo: Path = REPO) -> str:
    """``git rev-parse HEAD`` of the code that trained ("+dirty" when tracked files had
    changes not committed), or "unknown" outside a repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, timeout=10)
        if out.returncode != 0 or not out.stdout.strip():
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def export(model, cfg, record: dict, patents=()) -> Path:
    """Write the checkpoint, with the ids of the patents it was trained on beside it
    (core.provenance: eval tells held-out numbers from in-sample ones by them)."""
    from core.models import save_checkpoint
    from core.provenance import PATENTS_FILE, patents_digest, write_training_patents

    folder = Path(cfg.run.export_dir or Path(cfg.run.out_dir) / "model")
    model.clip.eval()
    record = {**record, "data": {**record.get("data", {}), "patents_file": PATENTS_FILE,
                                 "patents_sha256": patents_digest(patents)}}
    save_checkpoint(model, folder, training=record, half=cfg.run.export_half)
    write_training_patents(folder, patents)
    return folder
