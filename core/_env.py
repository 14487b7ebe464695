"""Process settings that must be in place before open_clip / transformers are imported.

The app never downloads anything at run time: with the hub offline a missing file fails at
once with a clear error instead of hanging on the network.
"""
import os

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
