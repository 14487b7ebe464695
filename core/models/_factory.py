"""Build, save and load models: one ``create_model`` factory, checkpoints that carry their config.

Checkpoint = a folder with ``model.safetensors`` (weights) and ``model.json`` (the spec: model
config, preprocessing and drawing settings, embedding size, content-hash model id, training
record). Weights of a frozen text tower that ships in a pip package are not stored; the sidecar
names the package instead. Loading never unpickles arbitrary objects.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from resources import MODELS_DIR

from ..atomic import said_no_room
from .._hashing import sha256_file
from .._wording import counted, first_few
from .._model_ref import missing_file, open_clip_ref  # noqa: F401 (missing_file: API)
from ._model import ModelSpec, PatentModel, compute_model_id
from ._registry import (
    DEFAULT_ARCH,
    ModelError,
    get_model_config,
    register_with_open_clip,
    resolve_text_cfg,
    text_package_path,
)
from ._style import enable_style_stream

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "patent-examiner/checkpoint-v1"
WEIGHTS_FILE = "model.safetensors"
SIDECAR_FILE = "model.json"
DEFAULT_MODEL_DIR = MODELS_DIR / "default"


def _text_tower_info(model_cfg: dict) -> dict:
    """Identity of a frozen, package-shipped text tower (empty when the tower is trainable)."""
    name = model_cfg.get("text_cfg", {}).get("hf_model_name")
    if not name:
        return {}
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"package": name, "version": version, "frozen": True, "prefix": "text."}


def _build_clip(arch: str, model_cfg: dict, load_text_weights: bool = True,
                style_blocks: int | None = None):
    """The open_clip module of ``model_cfg`` (a registered architecture's config, with an
    input size of its own if it was trained at one), with a style stream if asked."""
    import open_clip
    from open_clip.tokenizer import HFTokenizer

    register_with_open_clip()
    size = _check_config(arch, model_cfg)
    text_cfg = resolve_text_cfg(model_cfg["text_cfg"])
    with _quiet():
        clip = open_clip.create_model(arch, pretrained=None, text_cfg=text_cfg,
                                      pretrained_text=load_text_weights, force_image_size=size)
    tok_name = text_cfg.get("hf_tokenizer_name")
    tokenizer = (HFTokenizer(tok_name, context_length=text_cfg.get("context_length", 77))
                 if tok_name else open_clip.get_tokenizer(arch))
    if _text_tower_info(model_cfg):
        for p in clip.text.parameters():
            p.requires_grad_(False)
    if style_blocks is not None:
        enable_style_stream(clip.visual, style_blocks)
    return clip, tokenizer


def _check_config(arch: str, model_cfg: dict) -> int | None:
    """The input size to force when ``model_cfg`` (e.g. a checkpoint's) differs from the
    registered config of ``arch`` in it; any other difference is an error, not a silently
    different network."""
    registered = get_model_config(arch)
    default = registered["vision_cfg"]["image_size"]
    size = registered["vision_cfg"]["image_size"] = model_cfg.get("vision_cfg", {}).get(
        "image_size")
    if registered != model_cfg:
        keys = sorted(k for k in set(registered) | set(model_cfg)
                      if registered.get(k) != model_cfg.get(k))
        raise ModelError(f"this model's {arch} configuration differs from the one this version "
                         f"registers (in {', '.join(keys)}); it needs the version it was "
                         f"trained with, or a retrained model")
    return None if size == default else int(size)


@contextlib.contextmanager
def _quiet():
    """Silence open_clip's and transformers' load chatter (we report what was loaded)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    try:
        yield
    finally:
        root.setLevel(level)


def _weights_digest(clip: torch.nn.Module, exclude_prefix: str | None) -> str:
    h = hashlib.sha256()
    for key, t in sorted(clip.state_dict().items()):
        if exclude_prefix and key.startswith(exclude_prefix):
            continue
        h.update(key.encode())
        h.update(t.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()


def _seeded_orthogonal(rows: int, cols: int, seed: int) -> torch.Tensor:
    """A (rows, cols) float32 matrix with orthonormal rows or columns from ``seed``, as
    ``torch.nn.init.orthogonal_`` makes one, but factored in float64: float32's QR differs in
    its last bits with the BLAS thread count (1 under torchrun, 2 in a shell), and so did the
    model id hashed from it; float64's differences vanish when it is rounded to float32."""
    g = torch.Generator().manual_seed(seed)
    a = torch.empty(rows, cols).normal_(0, 1, generator=g).double().numpy()
    a = a.T if rows < cols else a
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return torch.from_numpy(np.ascontiguousarray(q.T if rows < cols else q)).float()


def create_model(arch: str = DEFAULT_ARCH, pretrained: str | None = "imagenet",
                 drawing: dict | None = None, seed: int = 0, hflip_tta: bool = False,
                 image_size: int | None = None, style_blocks: int | None = None
                 ) -> PatentModel:
    """A new model of a registered architecture.

    ``pretrained``: ``"imagenet"`` loads offline ImageNet weights into the image trunk where a
    package ships them (efficientnet_lite0), ``None`` leaves it randomly initialised, or a path to
    a timm state dict (.safetensors, or .pth/.bin read with ``weights_only``) for the trunk. The
    image projection is initialised orthogonally from ``seed`` so an untrained model has a
    stable id. ``hflip_tta`` makes the embedding that of the drawing plus its mirror image
    (``ModelSpec.hflip_tta``). ``image_size`` replaces the architecture's input size (drawings
    are prepared at it; convolutional trunks take any size). ``style_blocks`` adds a style
    stream after that many trunk blocks (core.models._style; zero until trained or set).
    """
    from ._imagenet import IMAGENET_WEIGHTS

    named = (pretrained in ("imagenet", None) and drawing is None and seed == 0
             and not hflip_tta and image_size is None and style_blocks is None)
    model_cfg = get_model_config(arch)
    if image_size:
        model_cfg["vision_cfg"]["image_size"] = int(image_size)
    torch.manual_seed(seed)
    clip, tokenizer = _build_clip(arch, model_cfg, style_blocks=style_blocks)
    origin = "random init"
    trunk = getattr(clip.visual, "trunk", None)
    if pretrained and trunk is not None:
        timm_name = model_cfg["vision_cfg"]["timm_model_name"]
        if pretrained == "imagenet":
            loader = IMAGENET_WEIGHTS.get(timm_name)
            if loader is None:
                raise ModelError(
                    f"no offline ImageNet weights for {arch}: give a timm weights file "
                    f"instead (model.pretrained = \"PATH\" in a training config), or use a "
                    f"trained checkpoint (patent-examiner models lists them)")
            state = loader()
            origin = f"ImageNet ({timm_name}, offline package)"
        else:
            state = _read_state_dict(Path(pretrained))
            origin = f"trunk weights from {pretrained}"
        trunk_keys = set(trunk.state_dict())
        state = {k: v for k, v in state.items() if k in trunk_keys}
        missing = trunk_keys - set(state)
        if missing:
            raise ModelError(f"{pretrained}: {len(missing)} trunk weights missing, e.g. "
                             f"{sorted(missing)[:3]}")
        try:
            trunk.load_state_dict(state, strict=True)
        except RuntimeError as exc:     # tensors of another shape: another network's weights
            raise ModelError(f"{pretrained}: not trunk weights of {arch} "
                             f"({_torch_reason(exc)})") from None
    head = getattr(clip.visual, "head", None)
    proj = getattr(head, "proj", None) if head is not None else None
    if isinstance(proj, torch.nn.Linear):
        with torch.no_grad():
            proj.weight.copy_(_seeded_orthogonal(*proj.weight.shape, seed))
    from ..drawing import DrawingConfig

    image_size = int(model_cfg["vision_cfg"]["image_size"])
    # The full preprocessing config is frozen into the spec (and the model id), so a later
    # change of defaults can never silently alter what an existing model computes.
    drawing_cfg = DrawingConfig.from_dict({**(drawing or {}), "image_size": image_size}).to_dict()
    spec = ModelSpec(arch=arch, model_cfg=model_cfg, image_size=image_size,
                     drawing=drawing_cfg, text_tower=_text_tower_info(model_cfg),
                     hflip_tta=bool(hflip_tta), style_blocks=style_blocks)
    prefix = spec.text_tower.get("prefix")
    model_id = compute_model_id(spec, _weights_digest(clip, prefix))
    model = PatentModel(clip, tokenizer, spec, model_id, origin=f"{arch}: {origin}, untrained")
    if named:
        model.ref = arch if pretrained else f"{arch}:random"       # as load_model names it
    return model


def _read_state_dict(path: Path) -> dict:
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle with arbitrary objects, or not a torch file
        raise ModelError(f"{path}: not a plain tensor state dict ({_torch_reason(exc)})"
                         ) from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path}: expected a state dict of tensors")
    return state


def _tensor_digest(state: dict) -> str:
    """SHA-256 of a state dict's names and float32 values, the weights part of a model id."""
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].float().numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(model: PatentModel, directory: str | os.PathLike, *,
                    training: dict | None = None, half: bool = False) -> Path:
    """Write ``model.safetensors`` + ``model.json`` into ``directory`` (atomically); returns it.

    The frozen package text tower is left out; ``half`` stores float weights as float16
    (they are loaded back as float32).
    """
    from safetensors.torch import save_file

    if model.spec.kind != "patent-clip":
        raise ModelError("only patent-clip models can be saved as checkpoints")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    prefix = model.spec.text_tower.get("prefix")
    state = {}
    for key, t in model.clip.state_dict().items():
        if prefix and key.startswith(prefix):
            continue
        t = t.detach().cpu().contiguous()
        if half and t.is_floating_point():
            t = t.half()
        state[key] = t
    tmp_w = directory / (WEIGHTS_FILE + ".tmp")
    tmp_j = directory / (SIDECAR_FILE + ".tmp")
    try:
        with said_no_room(directory / WEIGHTS_FILE):
            save_file(state, str(tmp_w), metadata={"format": CHECKPOINT_FORMAT})
            # the id hashes the weights exactly as they will be loaded (after float16 rounding)
            from safetensors.torch import load_file

            model_id = compute_model_id(model.spec, _tensor_digest(load_file(str(tmp_w))))
            sidecar = {
                "format": CHECKPOINT_FORMAT,
                "model_id": model_id,
                "embed_dim": model.embed_dim,
                "spec": model.spec.to_dict(),
                "weights_file": WEIGHTS_FILE,
                "weights_sha256": sha256_file(tmp_w),
                "dtype": "float16" if half else "float32",
                "training": training or model.training_info,
            }
            tmp_j.write_text(json.dumps(sidecar, indent=2) + "\n")
            shutil.copymode(tmp_j, tmp_w)   # safetensors writes 0600; the user's umask decides
            os.replace(tmp_w, directory / WEIGHTS_FILE)
            os.replace(tmp_j, directory / SIDECAR_FILE)
    except BaseException:
        tmp_w.unlink(missing_ok=True)
        tmp_j.unlink(missing_ok=True)
        raise
    model.model_id = model_id
    return directory


#: Files a user's own (open_clip) weights come in, not a checkpoint folder of ours.
_WEIGHT_SUFFIXES = {".bin", ".pt", ".pth", ".safetensors", ".ckpt"}


def load_checkpoint(path: str | os.PathLike) -> PatentModel:
    """Load a checkpoint folder (or its model.json / model.safetensors)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such checkpoint folder or file")
    directory = path if path.is_dir() else path.parent
    sidecar_path = directory / SIDECAR_FILE
    if not sidecar_path.is_file():
        where = (f"{path}: not a checkpoint (its folder {directory} has no {SIDECAR_FILE})"
                 if path != directory else f"{directory}: no {SIDECAR_FILE}")
        hint = (f" (an open_clip weights file is named with its architecture: "
                f"open_clip:ARCH@{path})"
                if path.is_file() and path.suffix.lower() in _WEIGHT_SUFFIXES else "")
        raise ModelError(f"{where}; not a patent-examiner checkpoint{hint}")
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{sidecar_path}: unreadable checkpoint config ({exc})") from exc
    if not isinstance(sidecar, dict):
        raise ModelError(f"{sidecar_path}: not a checkpoint config (a JSON object)")
    if sidecar.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{sidecar_path}: unknown checkpoint format {sidecar.get('format')!r}")
    missing = [k for k in ("model_id", "spec", "weights_sha256") if not sidecar.get(k)]
    if missing:
        raise ModelError(f"{sidecar_path}: incomplete checkpoint config (no "
                         f"{', '.join(missing)}); export the model again")
    if not isinstance(sidecar.get("training") or {}, dict) or \
            not isinstance(sidecar.get("weights_file", WEIGHTS_FILE), str):
        raise ModelError(f"{sidecar_path}: malformed checkpoint config (training, "
                         "weights_file); export the model again")
    weights = directory / sidecar.get("weights_file", WEIGHTS_FILE)
    if not weights.is_file():
        raise ModelError(f"{weights}: weights file missing")
    if sha256_file(weights) != sidecar["weights_sha256"]:
        raise ModelError(f"{weights}: checksum mismatch, the file is damaged or was replaced")
    try:
        spec = ModelSpec.from_dict(sidecar["spec"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{sidecar_path}: malformed model settings (spec: "
                         f"{type(exc).__name__} {exc}); export the model again") from None
    model_id = sidecar["model_id"]
    _check_config(spec.arch, spec.model_cfg)
    try:
        tensors = load_file(str(weights))
    except Exception as exc:    # SafetensorError: a file checksummed after it was damaged
        raise ModelError(f"{weights}: damaged, or not a safetensors file ({_torch_reason(exc)})"
                         "; export the model again") from None
    if compute_model_id(spec, _tensor_digest(tensors)) != model_id:
        # an edited model.json: a cached graph or a library of this id would compute other
        # vectors than this spec describes
        raise ModelError(f"{sidecar_path}: its model id does not match its settings and "
                         f"weights (was the file edited?); export the model again")

    def build():
        nonlocal tensors
        clip, tokenizer = _build_clip(spec.arch, spec.model_cfg, style_blocks=spec.style_blocks)
        state = {k: v.float() if v.is_floating_point() else v
                 for k, v in (tensors or load_file(str(weights))).items()}
        tensors = None                  # read once; the network holds them from here on
        try:
            result = clip.load_state_dict(state, strict=False)
        except RuntimeError as exc:     # tensors of the wrong shape
            raise ModelError(f"{weights}: does not fit architecture {spec.arch} "
                             f"({_torch_reason(exc)})") from None
        prefix = spec.text_tower.get("prefix")
        missing = [k for k in result.missing_keys if not (prefix and k.startswith(prefix))]
        if missing or result.unexpected_keys:
            raise ModelError(f"{weights}: does not fit architecture {spec.arch} "
                             f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")
        return clip, tokenizer

    info = sidecar.get("training") or {}
    origin = info.get("summary") or f"checkpoint {directory}"
    from .._graph_cache import has_graph

    if has_graph(model_id, spec.hflip_tta):
        # These verified weights were built and traced before: drawings are encoded by the
        # cached graph, and the network (open_clip, the text tower) is built when first needed.
        model = PatentModel.deferred(build, spec, model_id, origin=origin, training_info=info)
    else:
        model = PatentModel(*build(), spec, model_id, origin=origin, training_info=info)
    model.checkpoint = directory
    model.ref = str(directory.resolve())
    return model


def load_open_clip_checkpoint(arch: str, path: str | os.PathLike) -> PatentModel:
    """A user's own open_clip checkpoint on disk (e.g. ViT-B-32 weights), used as is."""
    import open_clip

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"open_clip weights not found: {path}")
    if open_clip.get_model_config(arch) is None:
        raise ModelError(f"open_clip does not know architecture {arch!r}")
    try:
        clip = open_clip.create_model(arch, pretrained=str(path), weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: cannot load as open_clip {arch} ({_torch_reason(exc)})"
                         ) from exc
    pre = getattr(clip.visual, "preprocess_cfg", {}) or {}
    model_cfg = open_clip.get_model_config(arch)
    size = clip.visual.image_size
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    spec = ModelSpec(arch=arch, kind="open_clip", model_cfg=model_cfg, image_size=size,
                     mean=tuple(pre.get("mean", (0.48145466, 0.4578275, 0.40821073))),
                     std=tuple(pre.get("std", (0.26862954, 0.26130258, 0.27577711))))
    model_id = compute_model_id(spec, sha256_file(path))
    model = PatentModel(clip, open_clip.get_tokenizer(arch), spec, model_id,
                        origin=f"open_clip {arch} from {path}")
    model.ref = f"open_clip:{arch}@{path.resolve()}"
    return model


def load_model(name_or_path: str | os.PathLike | None = None) -> PatentModel:
    """Resolve what a user typed: ``default``, an architecture name, a checkpoint path, or
    ``open_clip:ARCH@/path/to/weights``."""
    if isinstance(name_or_path, str) and not name_or_path.strip():
        raise ModelError("no model named: give 'default', an architecture name, a checkpoint "
                         "folder or open_clip:ARCH@/path (None means 'default')")
    spec = str(name_or_path or "default")
    if ref := open_clip_ref(spec):
        return load_open_clip_checkpoint(*ref)
    if spec == "default":
        if (DEFAULT_MODEL_DIR / SIDECAR_FILE).is_file():
            model = load_checkpoint(DEFAULT_MODEL_DIR)
        else:
            log.warning("no trained default model in %s; using ImageNet-initialised %s",
                        DEFAULT_MODEL_DIR, DEFAULT_ARCH)
            model = create_model(DEFAULT_ARCH, pretrained="imagenet")
        model.ref = "default"
        return model
    path = Path(spec).expanduser()
    bare = Path(spec).name == spec
    installed = MODELS_DIR / spec                   # a checkpoint `models` lists by name
    if bare and (installed / SIDECAR_FILE).is_file():
        model = load_checkpoint(installed)
        model.ref = spec
        return model
    from ._registry import list_models

    # a bare name is an installed checkpoint or an architecture before a folder here (a
    # library's remembered model must not change with the working folder: `--model NAME`
    # typed for a folder here is recorded as its absolute path)
    if path.exists() and not (bare and spec.removesuffix(":random") in list_models()):
        return load_checkpoint(path)
    if spec.endswith(":random"):
        return create_model(spec[: -len(":random")], pretrained=None)
    if spec in list_models():
        try:
            return create_model(spec, pretrained="imagenet")
        except ModelError:
            log.warning("%s has no offline pretrained weights: randomly initialised", spec)
            model = create_model(spec, pretrained=None)
            model.ref = spec
            return model
    if spec.startswith("open_clip:"):
        raise ModelError(f"model {spec!r}: an open_clip model is named with its architecture "
                         "and its weights file on disk, open_clip:ARCH@/path/to/weights "
                         "(e.g. open_clip:ViT-B-32@/models/clip.bin); nothing is downloaded")
    raise ModelError(f"model {spec!r} is neither a registered architecture "
                     f"({', '.join(list_models())}), an installed checkpoint (`patent-examiner "
                     f"models` lists them) nor an existing checkpoint path")


__all__ = ["create_model", "load_model", "missing_file", "load_checkpoint", "save_checkpoint",
           "load_open_clip_checkpoint", "text_package_path"]


def _torch_reason(exc: BaseException) -> str:
    """Why a weights file did not load, in a line: PyTorch's own refusal of a file that is not
    plain tensors runs to paragraphs and advises switching the weights-only safeguard off."""
    text = str(exc).strip()
    if "Weights only load failed" in text:
        return "not a PyTorch file of plain tensors; pickled code is never loaded"
    if "failed finding central directory" in text or "failed reading zip archive" in text:
        return "the file is truncated or damaged: not a whole PyTorch file"
    if text.startswith("Error(s) in loading state_dict"):
        return _state_dict_reason(text)
    line = (text.splitlines() or [type(exc).__name__])[0]
    if len(line) < 12 and " " not in line:      # (a KeyError of 101: a file of other bytes)
        return f"not a PyTorch weights file ({type(exc).__name__}: {line})"
    if len(line) <= 200:
        return line
    end = line.rfind(". ", 0, 200)      # whole sentences, not a sentence cut off
    return line[:end + 1] if end > 0 else line[:200].rsplit(" ", 1)[0] + "\u2026"


def _state_dict_reason(text: str) -> str:
    """PyTorch's refusal of weights that do not fit a network, counted in a line: which
    weights the network lacks, which it does not have, which have another shape."""
    found = {"missing": [], "unexpected": [], "shape": []}
    for line in text.splitlines()[1:]:
        line = line.strip()
        if line.startswith(("Missing key(s)", "Unexpected key(s)")):
            kind = "missing" if line.startswith("Missing") else "unexpected"
            found[kind] += re.findall(r'"([^"]+)"', line)
        elif m := re.match(r"size mismatch for ([^:]+):", line):
            found["shape"].append(m.group(1))
    words = {"missing": "missing from the file", "unexpected": "not in the architecture",
             "shape": "of another shape"}
    parts = [f"{counted(len(keys), 'weight')} {words[kind]} ({first_few(keys, 2)})"
             for kind, keys in found.items() if keys]
    return ("the weights do not fit the architecture: " + "; ".join(parts) if parts
            else "the weights do not fit the architecture")
