"""Process settings that must be in place before open_clip / transformers are imported.

The app never downloads anything at run time: with the hub offline a missing file fails at
once with a clear error instead of hanging on the network.
"""
import os

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: on a small machine shared with page-decoding
# workers (or other users), spinning threads stall every parallel region (3x slower queries).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The same for OpenBLAS (numpy): exact search scans at most tens of thousands of vectors, which
# one thread streams at memory speed; two threads on a busy machine wait ~16 ms per call.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
