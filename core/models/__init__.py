"""Model runtime: architecture registry, checkpoints, the PatentModel dual encoder."""
from ._factory import (
    DEFAULT_MODEL_DIR,
    create_model,
    load_checkpoint,
    load_model,
    load_open_clip_checkpoint,
    missing_file,
    save_checkpoint,
    sha256_file,
)
from ._model import ModelSpec, PatentModel, compute_model_id
from ._registry import DEFAULT_ARCH, ModelError, get_model_config, list_models
from ._style import enable_style_stream, style_blocks_of, style_head, trunk_features

__all__ = [
    "DEFAULT_ARCH", "DEFAULT_MODEL_DIR", "ModelError", "ModelSpec", "PatentModel",
    "compute_model_id", "create_model", "get_model_config", "list_models", "load_checkpoint",
    "load_model", "load_open_clip_checkpoint", "missing_file", "save_checkpoint", "sha256_file",
    "enable_style_stream",
    "style_blocks_of", "style_head", "trunk_features",
]
