"""PatentModel: an open_clip model plus the settings that must travel with its weights."""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


@dataclass
class ModelSpec:
    """Everything besides the weights that defines what a model computes.

    ``drawing`` holds the drawing-preprocessing parameters (core.drawing.DrawingConfig) so that
    indexing and querying always prepare images the same way. ``hflip_tta``: the image
    embedding is f(x) + f(mirror image of x) (then normalised), so a drawing and its mirror
    image (a design's left and right views) get the same vector; off for older checkpoints.
    It is part of the spec (and so of the model id) and lives in the image tower itself
    (``enable_hflip_tta``), so every path that runs ``clip.visual`` computes the same vectors.
    ``style_blocks``: the tower adds style statistics taken after that many trunk blocks
    (core.models._style); None for towers without them.
    """

    arch: str
    model_cfg: dict
    image_size: int
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    drawing: dict = field(default_factory=dict)
    text_tower: dict = field(default_factory=dict)
    kind: str = "patent-clip"  # or "open_clip" for a user-supplied open_clip checkpoint
    hflip_tta: bool = False
    style_blocks: int | None = None

    def to_dict(self) -> dict:
        d = {
            "arch": self.arch,
            "kind": self.kind,
            "model_cfg": self.model_cfg,
            "preprocess": {"size": self.image_size, "mean": list(self.mean), "std": list(self.std)},
            "drawing": self.drawing,
            "text_tower": self.text_tower,
        }
        if self.hflip_tta:          # only when on: older specs (and their ids) stay as they were
            d["hflip_tta"] = True
        if self.style_blocks is not None:
            d["style_blocks"] = self.style_blocks
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        pre = d["preprocess"]
        return cls(
            arch=d["arch"],
            kind=d.get("kind", "patent-clip"),
            model_cfg=d["model_cfg"],
            image_size=int(pre["size"]),
            mean=tuple(pre["mean"]),
            std=tuple(pre["std"]),
            drawing=d.get("drawing", {}),
            text_tower=d.get("text_tower", {}),
            hflip_tta=bool(d.get("hflip_tta", False)),
            style_blocks=None if d.get("style_blocks") is None else int(d["style_blocks"]),
        )


def compute_model_id(spec: ModelSpec, weights_sha256: str) -> str:
    """A content hash of spec + weights: two models with the same id compute the same vectors."""
    h = hashlib.sha256()
    h.update(canonical_json(spec.to_dict()).encode())
    h.update(weights_sha256.encode())
    return f"{spec.arch}-{h.hexdigest()[:16]}"


class HFlipTTA(torch.nn.Module):
    """Marker base of image towers whose forward is tower(x) + tower(mirror image of x)."""


def enable_hflip_tta(visual: torch.nn.Module) -> torch.nn.Module:
    """Make ``visual`` compute ``forward(x) + forward(flip(x, width))`` in place.

    The module's class is swapped for a subclass that overrides ``forward`` only, so its
    parameters, state-dict keys, ``trunk``/``head`` and the traced graph of core.embed all stay
    those of the tower; the classes are module-level so the tower still pickles. For a linear
    head without bias (the patent-clip towers) this equals head(pool(x) + pool(flip(x))).
    """
    if isinstance(visual, HFlipTTA):
        return visual
    return swap_forward(visual, HFlipTTA, "HFlip", _hflip_forward, __name__)


def _hflip_forward(self, x: torch.Tensor) -> torch.Tensor:
    fwd = self._swapped_base.forward
    return fwd(self, x) + fwd(self, torch.flip(x, dims=[-1]))


def swap_forward(module: torch.nn.Module, marker: type, prefix: str, forward, where: str
                 ) -> torch.nn.Module:
    """Swap ``module``'s class, in place, for a subclass of it and ``marker`` with another
    ``forward`` (which finds the previous one as ``self._swapped_base.forward``). The subclass
    is made once per base and set on the module named ``where``, so towers still pickle."""
    import sys

    base = type(module)
    cls = _SWAPPED.get((marker, base))
    if cls is None:
        name = f"{prefix}{base.__name__}"
        cls = type(name, (marker, base), {"forward": forward, "_swapped_base": base,
                                          "__module__": where, "__qualname__": name})
        setattr(sys.modules[where], name, cls)      # picklable by reference
        _SWAPPED[(marker, base)] = cls
    module.__class__ = cls
    return module


_SWAPPED: dict[tuple[type, type], type] = {}


class PatentModel:
    """A CLIP-style dual encoder for drawings and text.

    ``clip`` is the open_clip module; ``tokenizer`` its tokenizer. Images enter as square
    grayscale uint8 arrays of ``spec.image_size`` (core.drawing prepares them).
    A model can also be *deferred* (``PatentModel.deferred``): everything but the network is
    there at once, and the network is built on first use of ``clip`` or ``tokenizer``.
    """

    def __init__(self, clip: torch.nn.Module, tokenizer, spec: ModelSpec, model_id: str,
                 origin: str = "", training_info: dict | None = None):
        self.spec = spec
        self.model_id = model_id
        self.origin = origin
        self.training_info = training_info or {}
        self.device = torch.device("cpu")
        self.checkpoint = None          # the folder it was loaded from, if any
        # what ``load_model`` loads it again by (a name, a folder): a library built with it
        # records this; None for a model made in Python that no name reproduces
        self.ref: str | None = None
        self._mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(spec.std).view(1, 3, 1, 1)
        self._builder = None
        self._lock = threading.Lock()
        self._text_graph = None         # core.models._text_graph.TextGraph, once loaded
        self._text_graph_loaded = False     # a load from the cache was tried
        self._text_graph_saved = False      # a trace into the cache was tried
        self._set_network(clip, tokenizer)

    @classmethod
    def deferred(cls, builder: Callable[[], tuple[torch.nn.Module, Any]], spec: ModelSpec,
                 model_id: str, origin: str = "", training_info: dict | None = None
                 ) -> "PatentModel":
        """A model whose network ``builder()`` -> (clip, tokenizer) makes on first use: a
        query served by the cached frozen image graph (core.embed) never builds it."""
        model = cls(None, None, spec, model_id, origin, training_info)
        model._builder = builder
        return model

    def _set_network(self, clip, tokenizer) -> None:
        self._clip, self._tokenizer = clip, tokenizer
        if clip is None:
            return
        clip.eval()
        if self.spec.hflip_tta:
            enable_hflip_tta(clip.visual)
        if self.device.type != "cpu":
            clip.to(self.device)

    def _network(self) -> tuple[torch.nn.Module, Any]:
        if self._clip is None:
            with self._lock:
                if self._clip is None:
                    self._set_network(*self._builder())
                    self._builder = None
        return self._clip, self._tokenizer

    @property
    def clip(self) -> torch.nn.Module:
        return self._network()[0]

    @property
    def tokenizer(self):
        return self._network()[1]

    @property
    def is_built(self) -> bool:
        """False while a deferred model has not built its network yet."""
        return self._clip is not None

    # -- properties -------------------------------------------------------------------------
    @property
    def embed_dim(self) -> int:
        return int(self.spec.model_cfg["embed_dim"])

    @property
    def image_size(self) -> int:
        return self.spec.image_size

    @property
    def drawing_config(self):
        from ..drawing import DrawingConfig

        return DrawingConfig.from_dict({**self.spec.drawing, "image_size": self.image_size})

    def describe(self) -> dict:
        return {"model_id": self.model_id, "arch": self.spec.arch, "origin": self.origin,
                "embed_dim": self.embed_dim, "image_size": self.image_size,
                "training": self.training_info}

    # -- device -----------------------------------------------------------------------------
    def add_hflip_tta(self) -> "PatentModel":
        """Turn on mirror-image TTA (``ModelSpec.hflip_tta``) in place, e.g. before fine-tuning
        a checkpoint trained without it; the id changes when the model is saved."""
        if not self.spec.hflip_tta:
            clip = self.clip
            self.spec = replace(self.spec, hflip_tta=True)
            enable_hflip_tta(clip.visual)
        return self

    def to(self, device: str | torch.device) -> "PatentModel":
        self.device = torch.device(device)
        if self._clip is not None:      # a deferred network moves when it is built
            self._clip.to(self.device)
        self._mean = self._mean.to(self.device)
        self._std = self._std.to(self.device)
        return self

    # -- encoding ---------------------------------------------------------------------------
    def images_to_tensor(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """Stack square grayscale uint8 arrays into a (N, 1, S, S) uint8 tensor (CPU)."""
        arr = np.stack([np.asarray(im, dtype=np.uint8) for im in images])
        if arr.ndim != 3 or arr.shape[1:] != (self.image_size, self.image_size):
            raise ValueError(
                f"expected grayscale images of {self.image_size}x{self.image_size}, got {arr.shape}"
            )
        return torch.from_numpy(arr).unsqueeze(1)

    def normalize_batch(self, batch_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (N,1,S,S) or float [0,1] (N,C,S,S) -> normalized float (N,3,S,S) on the device."""
        x = batch_u8.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self._mean) / self._std

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16 if torch.cuda.is_bf16_supported()
                                  else torch.float16)
        import contextlib

        return contextlib.nullcontext()

    @torch.inference_mode()
    def encode_images(self, batch_u8: torch.Tensor) -> torch.Tensor:
        """L2-normalized image embeddings (float32, on CPU)."""
        with self._autocast():
            feats = self.clip.encode_image(self.normalize_batch(batch_u8))
        return torch.nn.functional.normalize(feats.float(), dim=-1).cpu()

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Token ids without all-padding columns: the tokenizer pads to the context length (128
        for MiniLM), but a Hugging Face tower masks padding, so short texts give the same
        embedding at a fraction of the cost. Other towers get the padded ids."""
        tokens = self.tokenizer(list(texts))
        pad = getattr(getattr(getattr(self.clip, "text", None), "config", None),
                      "pad_token_id", None)
        if pad is None:
            return tokens
        used = (tokens != pad).any(0).nonzero()
        return tokens[:, :int(used.max()) + 1] if len(used) else tokens

    def text_is_blank(self, text: str) -> bool:
        """Whether ``text`` gives the text tower nothing to read (spaces, invisible
        characters)."""
        from . import _text_graph

        return _text_graph.is_blank(self.spec, text)

    def text_knows_no_word(self, text: str) -> bool:
        """Whether no word of ``text`` is in the text tower's vocabulary (emoji, another
        script): it would be searched as the same meaningless query as any such text."""
        from . import _text_graph

        return _text_graph.knows_no_word(self.spec, text)

    def text_words_read(self, text: str) -> int | None:
        """How many words of a ``text`` too long for the text tower it reads (None: all)."""
        from . import _text_graph

        return _text_graph.words_read(self.spec, text)

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalized text embeddings (float32, on CPU).

        A checkpoint model whose network is not built yet (drawings run on the cached image
        graph) uses the cached graph of its frozen text tower when there is one; otherwise the
        network encodes, and a checkpoint model caches the tower's graph for later processes.
        """
        fast = self._cached_text_graph()
        if fast is not None:
            return fast(texts)
        tokens = self.tokenize(texts).to(self.device)
        with self._autocast():
            feats = self.clip.encode_text(tokens)
        if self.checkpoint is not None and not self._text_graph_saved:
            from . import _text_graph

            self._text_graph_saved = True
            _text_graph.save(self.spec, self.clip, tokens)
        return torch.nn.functional.normalize(feats.float(), dim=-1).cpu()

    def prepare_text(self) -> None:
        """Make the text encoder ready (the cached graph, else the network) ahead of a query."""
        self.encode_text(["drawing"])

    def _cached_text_graph(self):
        if self.is_built or self.device.type != "cpu" or self.checkpoint is None:
            return None
        if not self._text_graph_loaded:
            with self._lock:
                if not self._text_graph_loaded:
                    from . import _text_graph

                    self._text_graph = _text_graph.load(self.spec)
                    self._text_graph_loaded = True
        return self._text_graph
