"""Train the default model the app ships (resources/models/default) with one command.

    python bench/train_default.py            # = patent-examiner train --config
                                             #   training/configs/default.toml, then install

Trains on every real patent at hand (no fold held out: the cross-validated numbers in
docs/results_training.md come from bench/ablation.py with the same recipe), exports a float16
core checkpoint and copies it into resources/models/default. Prints the training throughput.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._common import config_error, summary  # noqa: E402
from core.provenance import PATENTS_FILE  # noqa: E402
from training.config import ConfigError, load_config  # noqa: E402

MAX_MB = 25


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=summary(__doc__))
    p.add_argument("--config", default=str(REPO / "training/configs/default.toml"))
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--install", default=str(REPO / "resources/models/default"),
                   help="where the app looks for its default model ('' = do not install)")
    args = p.parse_args(argv)
    from training.trainer import train

    try:
        cfg = load_config(args.config, args.set + ["run.resume=false"])
        t = time.perf_counter()
        result = train(cfg)
    except ConfigError as exc:
        print(config_error("train_default", exc, argv), file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t
    last = result.history[-1] if result.history else {}
    print(json.dumps({"steps": result.steps, "seconds": round(seconds, 1),
                      "figures_per_s": last.get("images_per_s"),
                      "final_loss": last.get("loss"), "export": str(result.export_dir)}))
    if args.install:
        dest = Path(args.install)
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("model.json", "model.safetensors", PATENTS_FILE):
            shutil.copy2(result.export_dir / name, dest / name)
        size = (dest / "model.safetensors").stat().st_size / 2**20
        if size > MAX_MB:
            raise SystemExit(f"{dest}: {size:.1f} MB is over the {MAX_MB} MB budget")
        print(f"installed {dest} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
