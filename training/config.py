"""Training configuration: TOML files over long flag lists.

Every table maps to a dataclass below; unknown keys are errors (a typo must not silently
train something else), and so are values of another type than the default's or out of range.
Relative paths are relative to the working directory. ``override`` applies
``section.key=value`` strings (TOML values) on top, e.g. from the command line.
"""
from __future__ import annotations

import copy
import math
import re
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    """A training config that cannot be used (unknown key, bad value, unreadable file)."""


@dataclass
class ModelCfg:
    arch: str = "efficientnet_lite0"
    pretrained: str = "imagenet"     # "imagenet", "none", or a trunk weights file
    init_checkpoint: str = ""        # start from a patent-examiner checkpoint (of model.arch)
    seed: int = 0
    freeze_blocks: int = -1          # stem + first k trunk blocks frozen; -1 = train all
    init: str = ""                   # "whiten": projection from learned whitening (needs
    #                                  cached pooled features: features.split = blocks + 1)
    whiten_ridge: float = 1.0
    hflip_tta: bool = False          # embedding = f(x) + f(mirror image of x) (ModelSpec option)
    image_size: int = 0              # input size; 0 = the architecture's (224 for lite0)
    style_blocks: int = -1           # >= 0: style stream after that many trunk blocks (-1: none)
    style_dim: int = 128             # output dimensions the whitening start gives the style


@dataclass
class DataCfg:
    sources: list = field(default_factory=list)       # manifests, Red Book folders, folders
    deeppatent2: list = field(default_factory=list)   # DeepPatent2 JSON metadata files
    image_root: str = ""                              # where DeepPatent2 images lie
    synthetic: int = 0                                # synthetic patents from core.synthetic
    synthetic_seed: int = 0
    cache_dir: str = "runs/cache"                     # rendered crops (shards), feature banks
    corpus: str = ""           # use this prepared corpus folder as is (skip preparation)
    store: str = ""            # library folder or .sqlite for descriptions; "" = in cache_dir
    exclude_patents: list = field(default_factory=list)  # never trained on (held out)
    folds: int = 0             # >0: patent-level CV folds; train on all but ``fold``
    fold: int = -1
    fold_seed: int = 0
    workers: int = 2           # page-rendering processes
    loader_workers: int = 0    # DataLoader worker processes
    shard_size: int = 4096


@dataclass
class EnrichCfg:
    enrichers: list = field(default_factory=lambda: ["template"])   # used for training text
    per_figure: int = 20
    llm: dict = field(default_factory=dict)        # base_url, model, api_key, ...
    caption: dict = field(default_factory=dict)    # model_path


@dataclass
class LossCfg:
    losses: list = field(default_factory=lambda: ["clip", "cls", "cat"])  # + "design"
    weighting: str = "uncertainty"                 # or "fixed"
    fixed_weights: dict = field(default_factory=dict)
    init_log_var: float = 0.0
    weights_lr_mult: float = 10.0   # the log-variances learn this much faster than the net
    temperature: float = 0.1                       # of the supervised contrastive losses
    init_logit_scale: float = 0.0                  # > 0: set CLIP's logit scale (multiplier)


@dataclass
class OptimCfg:
    epochs: int = 10
    batch_size: int = 64
    accum_steps: int = 1
    lr: float = 3e-4
    trunk_lr_mult: float = 0.1
    weight_decay: float = 0.05
    warmup_steps: int = 50
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    amp: bool = True                     # on CUDA only
    sampler: str = "balanced"            # or "random"
    per_class: int = 4
    alpha: float = 0.5
    batches_per_epoch: int = 0           # 0 = corpus size / batch size


@dataclass
class FeatureCfg:
    enabled: bool = False      # cache the frozen prefix per augmented view (needs freeze_blocks)
    views: int = 8
    split: int = -1            # cache the prefix up to this block (-1: model.freeze_blocks);
    #                            blocks between split and freeze_blocks run frozen each step
    batch_size: int = 64


@dataclass
class RunCfg:
    out_dir: str = "runs/train"
    export_dir: str = ""       # "" = out_dir/model
    export_half: bool = True
    checkpoint_every: int = 200   # optimizer steps; also at each epoch's end
    log_every: int = 10
    resume: bool = True
    progress: bool = True
    device: str = "auto"
    max_steps: int = 0         # stop early (tests, throughput probes); 0 = all epochs
    fusion_text: float = 0.0   # > 0: the fused search's text weight the checkpoint carries
    #                            (pick it by cross-validation: bench/ablation.py); 0 = app default


@dataclass
class TrainConfig:
    model: ModelCfg = field(default_factory=ModelCfg)
    data: DataCfg = field(default_factory=DataCfg)
    enrich: EnrichCfg = field(default_factory=EnrichCfg)
    augment: dict = field(default_factory=dict)     # training.augment.AugmentConfig fields
    loss: LossCfg = field(default_factory=LossCfg)
    optim: OptimCfg = field(default_factory=OptimCfg)
    features: FeatureCfg = field(default_factory=FeatureCfg)
    run: RunCfg = field(default_factory=RunCfg)

    def to_dict(self) -> dict:
        """The settings as plain data, as checkpoints, model sidecars and messages record
        them: without secrets (see ``redacted``)."""
        return redacted(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        kwargs = {}
        types = {f.name: f.default_factory for f in fields(cls)}
        for key, value in (d or {}).items():
            if key not in types:
                raise ConfigError(f"unknown config section [{key}] (known: {', '.join(types)})")
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table of settings, not {value!r}")
            if key == "augment":
                from .augment import AugmentConfig

                kwargs[key] = checked(key, value, asdict(AugmentConfig()))
                continue
            sub = types[key]()
            kwargs[key] = type(sub)(**{**asdict(sub), **checked(key, value, asdict(sub))})
        cfg = cls(**kwargs)
        cfg.check()
        return cfg

    def check(self) -> None:
        """The settings that only make sense together, and the names a list may hold."""
        unknown = [n for n in self.loss.losses if n not in LOSS_NAMES]
        if unknown or not self.loss.losses:
            raise ConfigError(f"loss.losses must name some of {', '.join(LOSS_NAMES)}, not "
                              f"{self.loss.losses!r}")
        unknown = [n for n in self.enrich.enrichers if n not in ENRICHER_NAMES]
        if unknown:
            raise ConfigError(f"enrich.enrichers may name {', '.join(ENRICHER_NAMES)}, not "
                              f"{unknown[0]!r}")
        self._check_fixed_weights()
        from .enrich._llm import check_options

        check_options(self.enrich.llm)      # (a typo there is one whether or not llm runs now)
        for name in self.enrich.enrichers:      # a misspelled option: now, not after rendering
            if name != "llm":
                from .enrich import make_enricher

                try:
                    make_enricher(name, getattr(self.enrich, name, {}))
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
        if self.model.init == "whiten" and self.model.init_checkpoint:
            raise ConfigError("model.init = 'whiten' would replace the projection of "
                              f"model.init_checkpoint ({self.model.init_checkpoint}) with a "
                              "new one; set model.init = '' to continue from the checkpoint's")
        from core._device import is_device_name

        if not is_device_name(self.run.device):
            raise ConfigError(f"run.device must be auto, cpu, cuda, cuda:N or mps, not "
                              f"{self.run.device!r}")
        if self.optim.batch_size % self.optim.per_class:
            raise ConfigError(f"optim.batch_size ({self.optim.batch_size}) must be a multiple "
                              f"of optim.per_class ({self.optim.per_class})")
        d = self.data
        if d.folds == 1 or (d.folds and d.fold >= d.folds) or (d.fold >= 0 and not d.folds):
            raise ConfigError(f"data.fold ({d.fold}) must be one of the data.folds ({d.folds}) "
                              "folds, 0 to folds - 1 (folds >= 2; fold -1 holds out none)")

    def _check_fixed_weights(self) -> None:
        weights = self.loss.fixed_weights
        unknown = [k for k in weights if k not in LOSS_NAMES]
        if unknown:
            raise ConfigError(f"loss.fixed_weights may name {', '.join(LOSS_NAMES)}, not "
                              f"{unknown[0]!r}")
        for name, w in weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) \
                    or w < 0:
                raise ConfigError(f"loss.fixed_weights.{name} must be a number >= 0, not {w!r}")
        if weights and self.loss.weighting != "fixed":
            raise ConfigError(f"loss.fixed_weights is used only with loss.weighting = 'fixed' "
                              f"(now {self.loss.weighting!r}: the weights are learned); set "
                              "weighting to 'fixed', or leave fixed_weights out")


_SECRET = re.compile(r"(?:^|_)(?:api_?key|token|secret|password|passwd)$", re.IGNORECASE)
_URL_LOGIN = re.compile(r"(?<=://)[^/@\s]+@")


def redacted(value):
    """``value`` (a config dict) without its secrets: settings named like a key, token or
    password are left out and a login in a URL is masked, so an API key never leaves
    memory (checkpoints, sidecars, logs and messages hold this)."""
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()
                if not (isinstance(k, str) and _SECRET.search(k))}
    if isinstance(value, (list, tuple)):
        return [redacted(v) for v in value]
    if isinstance(value, str):
        return _URL_LOGIN.sub("***@", value)
    return value


def first_line(exc: BaseException) -> str:
    """An exception's message in one line, for a one-line error."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


LOSS_NAMES = ("clip", "cls", "cat", "design")
ENRICHER_NAMES = ("template", "title", "llm", "caption")

#: Numbers are >= 0 unless listed here: keys that may be -1 ("none"/"all") or any number.
_FROM_MINUS_ONE = {"model.freeze_blocks", "model.style_blocks", "features.split", "data.fold"}
_ANY_SIGN = {"loss.init_log_var"}
_POSITIVE = {"optim.batch_size", "optim.accum_steps", "optim.lr",
             "optim.per_class", "features.views", "features.batch_size", "data.shard_size",
             "run.checkpoint_every", "run.log_every", "enrich.per_figure", "loss.temperature",
             "model.style_dim"}
#: Upper bounds: probabilities and shares, and an input size past any GPU's memory.
_AT_MOST = {**{f"augment.{k}": 1 for k in ("hflip", "vflip", "crop_p", "zoom_out", "erase_p",
                                             "gridmask_p", "stroke_p", "gridmask_ratio")},
            "augment.rotate_deg": 180, "model.image_size": 1024}
#: [augment] ranges (low <= high): the most either end may be, and whether it may be 0.
_RANGES = {"augment.crop_scale": (1.0, False), "augment.crop_ratio": (None, False),
           "augment.erase_area": (1.0, True)}
_LISTS_OF_STRINGS = {"data.sources", "data.deeppatent2", "data.exclude_patents",
                     "enrich.enrichers", "loss.losses"}
_CHOICES = {"optim.sampler": ("balanced", "random"), "loss.weighting": ("uncertainty", "fixed"),
            "model.init": ("", "whiten")}


def checked(section: str, values: dict, defaults: dict) -> dict:
    """``values`` of one table, checked against the type of each key's default."""
    unknown = set(values) - set(defaults)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    return {k: _checked(f"{section}.{k}", v, defaults[k]) for k, v in values.items()}


def _checked(key: str, value, default):
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        kind = "a number"
        if isinstance(default, int):
            ok, kind = ok and float(value).is_integer(), "a whole number"
            value = int(value) if ok else value
        elif ok:
            value = float(value)
    elif isinstance(default, tuple) and default:        # [augment] ranges: (low, high)
        ok = isinstance(value, (list, tuple)) and len(value) == len(default) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        kind = f"a list of {len(default)} numbers"
        value = tuple(float(v) for v in value) if ok else value
    elif isinstance(default, (list, tuple)):
        ok, kind = isinstance(value, (list, tuple)), "a list"
        if ok and key in _LISTS_OF_STRINGS:
            ok, kind = all(isinstance(v, str) for v in value), "a list of strings"
    elif isinstance(default, dict):
        ok, kind = isinstance(value, dict), "a table"
    else:
        ok, kind = isinstance(value, str), "a string"
    if not ok:
        raise ConfigError(f"{key} must be {kind}, not {value!r}")
    if kind in ("a number", "a whole number") and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, not {value!r}")
    if kind in ("a number", "a whole number") and key not in _ANY_SIGN:
        low = -1 if key in _FROM_MINUS_ONE else 0
        if value < low or (key in _POSITIVE and value <= 0):
            bound = "> 0" if key in _POSITIVE else f">= {low}"
            raise ConfigError(f"{key} must be {bound}, not {value!r}")
    if key in _AT_MOST and value > _AT_MOST[key]:
        raise ConfigError(f"{key} must be <= {_AT_MOST[key]}, not {value!r}")
    if key in _RANGES:
        most, zero = _RANGES[key]
        low, high = value
        if not (math.isfinite(low) and math.isfinite(high)) or low > high or \
                (low < 0 if zero else low <= 0) or (most is not None and high > most):
            bounds = f"{'0 <=' if zero else '0 <'} low <= high" + (
                f" <= {most:g}" if most is not None else "")
            raise ConfigError(f"{key} must be [low, high] with {bounds}, not "
                              f"{list(value)!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{key} must be one of {', '.join(map(repr, _CHOICES[key]))}, "
                          f"not {value!r}")
    return value


#: the configs that ship with the package (``--config default`` names one)
BUILTIN_DIR = Path(__file__).parent / "configs"


def builtin_configs() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def config_path(path: str | Path) -> Path:
    """``path``, or the built-in config of that name ("default") when no such file is here."""
    given = Path(path)
    if not given.exists() and given.name == str(path) and not given.suffix \
            and (BUILTIN_DIR / f"{given.name}.toml").is_file():
        return BUILTIN_DIR / f"{given.name}.toml"
    return given


def read_toml(path: str | Path) -> dict:
    file = config_path(path)
    try:
        with open(file, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        names = ", ".join(builtin_configs())
        raise ConfigError(f"cannot read the config {path}: {exc.strerror or exc} (or name a "
                          f"built-in config: {names}; e.g. --config default)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    return TrainConfig.from_dict(apply_overrides(read_toml(path), overrides or []))


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """``["optim.lr=1e-4", "data.sources=['a.jsonl']"]`` applied to a config dict."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"override {item!r} is not SECTION.KEY=VALUE")
        section, *path = key.strip().split(".")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        table = data.setdefault(section, {})
        for name in path[:-1]:              # enrich.llm.base_url: a key of a table's table
            table = table.setdefault(name, {})
            if not isinstance(table, dict):
                raise ConfigError(f"override {item!r}: {name} is not a table")
        table[path[-1]] = value
    return data
