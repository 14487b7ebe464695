"""Data files shipped with the app: model configs, the default model, Locarno titles, icons."""
from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
MODEL_CONFIGS_DIR = RESOURCES_DIR / "model_configs"
MODELS_DIR = RESOURCES_DIR / "models"
