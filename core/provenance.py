"""Which patents a checkpoint was trained on, so that evaluation can tell held-out numbers from
in-sample ones. Training writes the ids beside the weights; nothing here imports torch."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from resources import MODEL_CONFIGS_DIR, MODELS_DIR

#: One patent id per line, sorted, in the checkpoint folder.
PATENTS_FILE = "training_patents.txt"


class ProvenanceError(ValueError):
    """A checkpoint's list of training patents is there but not the one it recorded."""


def _listed(patents) -> str:
    return "".join(f"{p}\n" for p in sorted(set(patents)))


def patents_digest(patents) -> str:
    """The SHA-256 of the list ``write_training_patents`` writes (kept in the sidecar)."""
    return hashlib.sha256(_listed(patents).encode("utf-8")).hexdigest()


def write_training_patents(folder: str | os.PathLike, patents) -> Path:
    """Write the ids of the patents a model was trained on into its checkpoint folder."""
    path = Path(folder) / PATENTS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(_listed(patents), encoding="utf-8")
    tmp.replace(path)
    return path


def checkpoint_folder(ref: str | None) -> Path | None:
    """The checkpoint folder a model reference names ("default" or a folder), else None."""
    if not ref:
        return None
    folder = Path(ref).expanduser()
    if Path(ref).name == ref and (ref == "default" or (MODELS_DIR / ref / "model.json").is_file()):
        folder = MODELS_DIR / ref       # "default", or a checkpoint installed by name
    if folder.is_file():                # model.json or model.safetensors named
        folder = folder.parent
    return folder if (folder / "model.json").is_file() else None


def training_patents(ref: str | None, model_id: str) -> frozenset[str] | None:
    """The patents model ``model_id`` (loaded as ``ref``) was trained on; an empty set for an
    untrained architecture (ImageNet weights at most); None when nobody recorded them.
    Raises ``ProvenanceError`` for a list that is not the one training wrote (emptied,
    cut short or edited: read as it is, it would call in-sample patents held out)."""
    arch = (ref or "").removesuffix(":random")
    if (MODEL_CONFIGS_DIR / f"{arch}.json").is_file() and Path(ref).name == ref:
        return frozenset()              # an architecture name: never trained here
    folder = checkpoint_folder(ref)
    if folder is None:
        return None
    try:
        sidecar = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if sidecar.get("model_id") != model_id:
        return None                     # the folder now holds another model
    data = (sidecar.get("training") or {}).get("data") or {}
    try:
        text = (folder / PATENTS_FILE).read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        if data.get("patents_file") or data.get("patents_sha256"):     # recorded, not there
            why = "is not there" if isinstance(exc, FileNotFoundError) else \
                f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
            raise ProvenanceError(
                f"{folder / PATENTS_FILE} {why}: it cannot tell which patents the model was "
                "trained on; put back the file the training run wrote") from None
        return None
    patents = frozenset(line.strip() for line in text.splitlines() if line.strip())
    digest, count = data.get("patents_sha256"), (data.get("counts") or {}).get("patents")
    if digest is not None and patents_digest(patents) != digest or \
            digest is None and isinstance(count, int) and len(patents) != count:
        told = f"{count} recorded, {len(patents)} listed" if isinstance(count, int) and \
            len(patents) != count else "not the list recorded"
        raise ProvenanceError(
            f"{folder / PATENTS_FILE} is damaged ({told}): it cannot tell which patents the "
            "model was trained on; put back the file the training run wrote")
    return patents
