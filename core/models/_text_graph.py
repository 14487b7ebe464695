"""A frozen package text tower as a cached TorchScript graph with a light tokenizer.

A process whose drawings run on the cached image graph (a command-line search with ``--text``,
the app's first titled search, ingestion's patent text vectors) then embeds text without
importing open_clip and transformers and building the network (~6 s on 2 CPU cores). The graph
is traced from the real tower the first time a checkpoint model encodes text eagerly; the
tokenizer is the tower's own ``tokenizer.json`` run by the ``tokenizers`` library, after the
same cleaning as open_clip's ``HFTokenizer`` (tests check the ids are identical).
"""
from __future__ import annotations

import functools
import html
import io
import json
import warnings
from pathlib import Path
from typing import Sequence

import torch

from .. import _graph_cache


def tower_key(spec) -> str | None:
    """Identity of a model's frozen, package-shipped text tower; None when it has none (its
    text weights are then part of the checkpoint and text is encoded by the network)."""
    info = spec.text_tower or {}
    text_cfg = (spec.model_cfg or {}).get("text_cfg") or {}
    if (not info.get("frozen") or not info.get("package")
            or info.get("version") in (None, "unknown") or not text_cfg.get("hf_model_name")):
        return None
    return json.dumps({"package": info["package"], "version": info["version"],
                       "text_cfg": text_cfg}, sort_keys=True)


def clean(text: str) -> str:
    """open_clip's ``whitespace`` cleaning: fix mojibake, unescape HTML twice, collapse spaces."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split())


class FastTokenizer:
    """Token ids as ``HFTokenizer`` gives them, padded only to the longest text of the batch
    (what ``PatentModel.tokenize`` trims the context-length padding to)."""

    def __init__(self, folder: Path, context_length: int):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        if tok.padding is None:
            raise ValueError(f"{folder}: tokenizer.json names no padding token")
        self.pad_id = int(tok.padding["pad_id"])
        tok.no_padding()
        tok.enable_truncation(context_length)
        self._tok = tok

    def words_read(self, text: str) -> int | None:
        """How many words of ``text`` (cleaned) the tower reads when it cuts the text at its
        context length; None when it reads all of it."""
        text = clean(text)
        enc = self._tok.encode(text)
        ends = [end for (_, end), special in zip(enc.offsets, enc.special_tokens_mask)
                if not special]
        read = max(ends, default=0)
        return len(text[:read].split()) if text[read:].strip() else None

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        ids = [e.ids for e in self._tok.encode_batch([clean(t) for t in texts])]
        width = max(len(i) for i in ids)
        out = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        for row, i in enumerate(ids):
            out[row, :len(i)] = torch.tensor(i, dtype=torch.long)
        return out


class TextGraph:
    """Texts in, L2-normalized float32 embeddings out: the traced tower after ``FastTokenizer``."""

    def __init__(self, graph, tokenizer: FastTokenizer):
        self._graph, self._tokenizer = graph, tokenizer

    @torch.inference_mode()
    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        feats = self._graph(self._tokenizer(texts))
        return torch.nn.functional.normalize(feats.float(), dim=-1)


def _folder(spec) -> Path:
    from ._registry import text_package_path

    return text_package_path(spec.model_cfg["text_cfg"]["hf_tokenizer_name"])


def _tokenizer(spec) -> FastTokenizer | None:
    try:
        return _read_tokenizer(_folder(spec), int(spec.model_cfg["text_cfg"]["context_length"]))
    except Exception:  # noqa: BLE001 - no tokenizer.json to run: the network's tokenizer it is
        return None


@functools.lru_cache(maxsize=4)
def _read_tokenizer(folder: Path, context_length: int) -> FastTokenizer:
    """One tokenizer per package (a search's text checks and its encoding share it)."""
    return FastTokenizer(folder, context_length)


def is_blank(spec, text: str) -> bool:
    """Whether ``text`` gives the text tower nothing to read (spaces, invisible characters,
    an HTML entity for a space)."""
    tokenizer = _tokenizer(spec)
    if tokenizer is None:
        return not clean(text)
    return not any(not special for special in
                   tokenizer._tok.encode(clean(text)).special_tokens_mask)


def knows_no_word(spec, text: str) -> bool:
    """Whether every word of ``text`` is one the tower's vocabulary lacks (emoji, a script
    it was not trained on): each reads as the unknown-word token, so all such texts are one
    and the same query to it."""
    tokenizer = _tokenizer(spec)
    unknown = tokenizer._tok.token_to_id("[UNK]") if tokenizer is not None else None
    if unknown is None:             # (a byte-level tokenizer has no unknown word)
        return False
    enc = tokenizer._tok.encode(clean(text))
    words = [i for i, special in zip(enc.ids, enc.special_tokens_mask) if not special]
    return bool(words) and all(i == unknown for i in words)


def words_read(spec, text: str) -> int | None:
    """How many words of ``text`` a model's text tower reads when it is too long for it
    (None: all of them, or a tower without a light tokenizer to tell)."""
    tokenizer = _tokenizer(spec)
    return tokenizer.words_read(text) if tokenizer is not None else None


def load(spec) -> TextGraph | None:
    """The cached graph of the model's text tower, or None (no frozen tower, no light
    tokenizer, not cached yet, or a file that does not load: that one is removed, to be traced
    again)."""
    key = tower_key(spec)
    tokenizer = _tokenizer(spec) if key is not None else None
    if tokenizer is None:
        return None
    path = _graph_cache.text_graph_path(key)
    data = _graph_cache.read_path(path)
    if data is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)      # TorchScript is deprecated
            graph = torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception:  # noqa: BLE001 - a damaged cache file only costs the trace it saved
        _graph_cache.drop_path(path)
        return None
    return TextGraph(graph.eval(), tokenizer)


def save(spec, clip: torch.nn.Module, tokens: torch.Tensor) -> bool:
    """Trace the text tower of ``clip`` (on CPU, in eval mode) on example ``tokens`` and cache
    it; False if there is none to cache, it cannot be traced or the cache cannot be written."""
    key = tower_key(spec)
    text_tower = getattr(clip, "text", None)
    if (key is None or text_tower is None or text_tower.training      # dropout would be traced
            or next(text_tower.parameters()).device.type != "cpu" or _tokenizer(spec) is None):
        return False
    path = _graph_cache.text_graph_path(key)
    if path.is_file():
        return True
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")             # tracer and deprecation warnings
            graph = torch.jit.trace(text_tower, tokens.cpu(), check_trace=False)
            buf = io.BytesIO()
            torch.jit.save(graph, buf)
    except Exception:  # noqa: BLE001 - an untraceable tower keeps running eagerly
        return False
    _graph_cache.write_path(path, buf.getvalue(), _graph_cache.KEEP_TEXT)
    return path.is_file()
