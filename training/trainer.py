"""The training loop: AMP, gradient accumulation, warmup + cosine schedule, exact resume,
DDP, tqdm progress and JSON-lines logs; ends by exporting a core checkpoint.

``train(cfg)`` prepares the corpus when it is not given (rendered crops + descriptions), trains
the image tower against the frozen text tower with the configured losses, and writes
``out_dir/checkpoint.pt`` (everything needed to resume exactly: weights, optimizer,
scheduler, grad scaler, every RNG state, epoch and step) plus ``out_dir/log.jsonl``.
Launch several processes with ``torchrun --nproc_per_node N -m training --config FILE``.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from core._wording import first_few
from core.atomic import replacing, said_no_room
from core.library import DB_FILE, Library
from core.store import Store

from . import distributed, encoder, shards
from .augment import AugmentConfig, augment
from .config import ConfigError, TrainConfig, first_line, redacted
from .datacheck import check_class_labels, check_rows, check_sources
from .dataset import FALLBACK_TEXT, Corpus, FigureDataset, collate
from .enrich._llm import CONNECTION
from .losses import UNKNOWN, LossWeighting, clip_loss, supcon_loss
from .sampler import BalancedBatches, RandomBatches
from .schedule import warmup_cosine
from .textcache import TextCache

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"
RUN_LOCK = ".lock"          # held by the run writing the folder


def build_model(cfg: TrainConfig):
    from core.models import create_model, load_checkpoint

    m = cfg.model
    style = m.style_blocks if m.style_blocks >= 0 else None
    if m.init_checkpoint:
        model = load_checkpoint(m.init_checkpoint)
        if m.arch != model.spec.arch:
            raise ConfigError(f"model.arch = {m.arch!r}, but {m.init_checkpoint} is a "
                              f"{model.spec.arch!r} model; set model.arch = "
                              f"{model.spec.arch!r}")
        if m.image_size and m.image_size != model.image_size:
            raise ConfigError(f"model.image_size = {m.image_size}, but {m.init_checkpoint} was "
                             f"made at {model.image_size}; leave image_size at 0")
        if style is not None and style != model.spec.style_blocks:
            raise ConfigError(f"model.style_blocks = {style}, but {m.init_checkpoint} has "
                              f"{model.spec.style_blocks}; leave style_blocks at -1")
        return model.add_hflip_tta() if m.hflip_tta else model
    pretrained = None if m.pretrained in ("", "none", None) else m.pretrained
    return create_model(m.arch, pretrained=pretrained, seed=m.seed, hflip_tta=m.hflip_tta,
                        image_size=m.image_size or None, style_blocks=style)


class Objective(torch.nn.Module):
    """Image tower + loss heads; ``forward`` returns (total loss, {name: loss})."""

    def __init__(self, model, cfg: TrainConfig, split: int | None):
        super().__init__()
        self.visual = model.clip.visual
        self.logit_scale = model.clip.logit_scale
        self.weighting = LossWeighting(cfg.loss.losses, cfg.loss.weighting,
                                       cfg.loss.init_log_var, cfg.loss.fixed_weights)
        self.split = split         # inputs are prefix features up to this block (None: images)
        self.temperature = cfg.loss.temperature
        self.register_buffer("mean", torch.tensor(model.spec.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(model.spec.std).view(1, 3, 1, 1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.split is not None:
            return encoder.tail(self.visual, x, self.split)
        x = x.float().div(255.0).expand(-1, 3, -1, -1)
        return self.visual((x - self.mean) / self.std)

    def forward(self, x, text, design, subclass, main_class):
        img = self.embed(x).float()
        parts = {}
        for name in self.weighting.names:
            if name == "clip":
                parts[name] = clip_loss(img, text, self.logit_scale.exp().clamp(max=100))
            else:
                labels = {"cls": subclass, "cat": main_class, "design": design}[name]
                parts[name] = supcon_loss(img, labels, self.temperature)
        return self.weighting(parts), parts


@dataclass
class TrainResult:
    model: object
    out_dir: Path
    export_dir: Path | None
    steps: int
    history: list = field(default_factory=list)
    record: dict = field(default_factory=dict)


def param_groups(objective: Objective, cfg: TrainConfig) -> list[dict]:
    o = cfg.optim
    trunk, head, no_decay = [], [], []
    for name, p in objective.visual.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim <= 1:
            no_decay.append(p)
        elif name.startswith("trunk."):
            trunk.append(p)
        else:
            head.append(p)
    weights = [p for p in objective.weighting.parameters() if p.requires_grad]
    groups = [{"params": trunk, "lr": o.lr * o.trunk_lr_mult, "weight_decay": o.weight_decay},
              {"params": head, "lr": o.lr, "weight_decay": o.weight_decay},
              {"params": no_decay, "lr": o.lr * o.trunk_lr_mult, "weight_decay": 0.0},
              {"params": [objective.logit_scale], "lr": o.lr, "weight_decay": 0.0},
              {"params": weights, "lr": o.lr * cfg.loss.weights_lr_mult, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def sampler_groups(corpus: Corpus, rows: np.ndarray) -> np.ndarray:
    """Class of each row for balanced sampling: subclass, else main class, else the design."""
    sub, cls, des = corpus.subclass[rows], corpus.main_class[rows], corpus.design[rows]
    return np.where(sub != UNKNOWN, sub, np.where(cls != UNKNOWN, 100_000 + cls,
                                                  1_000_000 + des))


def _rng_state(aug_gen: torch.Generator) -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state(), "augment": aug_gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, aug_gen: torch.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    aug_gen.set_state(state["augment"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def prepare_data(cfg: TrainConfig, model, d: distributed.Dist,
                 enrichers: list[str] | None = None, failures: dict | None = None,
                 describe: bool = True) -> Corpus:
    """Render (unless ``data.corpus`` names a prepared one) and enrich the corpus with the
    configured enrichers, or ``enrichers``; the main process does it, the others wait.
    ``failures``: what the enrichers could not describe (training.prepare.enrich_corpus).
    ``describe=False`` (a resumed run) keeps the descriptions the corpus has: describing
    again would retry the drawings an enricher failed on and change what the run trains on."""
    from .prepare import build_corpus, enrich_corpus, fingerprint, texts_attached

    folder = Path(cfg.data.corpus) if cfg.data.corpus else None
    if d.main:
        if describe and cfg.data.store:     # a library another process writes: said now,
            target = _store_path(cfg, Path(cfg.data.cache_dir))   # not after the rendering
            if target.name == DB_FILE:
                with _describing_store(target):
                    pass
        if folder is None:
            with tqdm(desc="rendering figures", unit="figure",
                      disable=not cfg.run.progress) as bar:
                folder = build_corpus(cfg.data.__dict__, model.drawing_config,
                                      cfg.data.cache_dir, workers=cfg.data.workers,
                                      shard_size=cfg.data.shard_size,
                                      progress=lambda n: bar.update(n - bar.n))
        if describe or not texts_attached(folder):
            with _describing_store(_store_path(cfg, folder)) as store:
                names = {n: getattr(cfg.enrich, n, {})
                         for n in enrichers or cfg.enrich.enrichers}
                with tqdm(desc="describing", unit="drawing",
                          disable=not cfg.run.progress) as bar:
                    def described(done: int, total: int) -> None:
                        bar.total = total
                        bar.update(done - bar.n)
                    enrich_corpus(folder, store, names, cfg.enrich.per_figure,
                                  progress=described, failures=failures)
        else:
            log.info("resuming: the descriptions the run began with are kept (a fresh run, "
                     "--no-resume, retries drawings an enricher failed on)")
    distributed.barrier()
    if folder is None:
        key = fingerprint(cfg.data.__dict__, model.drawing_config)
        folder = Path(cfg.data.cache_dir) / f"corpus-{key}"
    return Corpus(folder, cfg.enrich.enrichers)


@contextlib.contextmanager
def _describing_store(path: Path) -> Iterator[Store]:
    """The store the descriptions are written to; a library's (``data.store``) under its
    writer's lock, as `patent-examiner enrich` writes it (a rebuild swapping a new database
    in meanwhile would drop them; a second writer would describe every drawing again)."""
    if path.name == DB_FILE:
        with Library(path.parent) as lib, lib.write_lock():
            yield lib.store
        return
    store = Store(path)
    try:
        yield store
    finally:
        store.close()


def _store_path(cfg: TrainConfig, corpus_folder: Path) -> Path:
    s = cfg.data.store
    if not s:
        return corpus_folder / "descriptions.sqlite"
    p = Path(s).expanduser()
    if p.is_dir() and (p / "library.sqlite").is_file():
        return p / "library.sqlite"
    if p.is_file():
        return p
    raise ConfigError(f"data.store {s}: no library there (a library folder or its "
                      "library.sqlite; leave it empty to keep descriptions with the corpus)")


def whiten_projection(model, bank, corpus: Corpus, rows: np.ndarray, ridge: float,
                      style_dim: int = 128) -> None:
    """Set the projection to the learned whitening of the training rows' pooled features
    (clean and two augmented views; views of one design are the matching pairs). A style
    stream gets its own whitening in the last ``style_dim`` output dimensions (the drawing's
    in the others), scaled so both parts weigh alike."""
    from core.models import style_blocks_of

    from .whitening import learned_whitening

    visual = model.clip.visual
    if bank.freeze_blocks != len(visual.trunk.blocks) + 1:
        raise ConfigError("model.init = 'whiten' needs pooled features: features.split = "
                          "number of trunk blocks + 1")
    rows = np.sort(rows)
    feats = np.concatenate([np.asarray(bank.clean[rows])] +
                           [np.asarray(bank.aug[rows, v], np.float32)
                            for v in range(min(2, bank.views))])
    groups = np.tile(corpus.design[rows], len(feats) // len(rows))
    proj = visual.head.proj
    dim = proj.weight.shape[0]
    if style_blocks_of(visual) is None:
        w = learned_whitening(feats, groups, dim, ridge)
        with torch.no_grad():
            proj.weight.copy_(torch.from_numpy(w))
        return
    if not 0 < style_dim < dim:
        raise ConfigError(f"model.style_dim must be between 1 and {dim - 1}")
    n = visual.trunk.num_features
    w_draw = learned_whitening(feats[:, :n], groups, dim - style_dim, ridge)
    w_style = learned_whitening(feats[:, n:], groups, style_dim, ridge)
    scale = (np.median(np.linalg.norm(feats[:, :n] @ w_draw.T, axis=1)) /
             max(float(np.median(np.linalg.norm(feats[:, n:] @ w_style.T, axis=1))), 1e-12))
    with torch.no_grad():
        proj.weight.zero_()
        proj.weight[:dim - style_dim] = torch.from_numpy(w_draw)
        visual.style_proj.weight.zero_()
        visual.style_proj.weight[dim - style_dim:] = torch.from_numpy(w_style * scale)


def held_out(cfg: TrainConfig, corpus: Corpus, warn: bool = True) -> set[str]:
    """Patents this run must not train on: the listed ones, read as the sources' ids are
    ("D906013" and "d0906013" are D0906013), and the held-out CV fold. Listed ids that name
    no patent of the corpus are told (a typo would otherwise train on what it meant)."""
    from core.sources import normalize_patent_id

    listed = {normalize_patent_id(p) or p.strip() for p in cfg.data.exclude_patents}
    out = listed & set(corpus.patent)
    absent = sorted(listed - out)
    if absent and warn:
        log.warning("data.exclude_patents: %d of the %d listed patent(s) are not in the "
                    "training data, nothing to hold out for them (%s)", len(absent),
                    len(listed), first_few(absent, 5))
    if cfg.data.folds > 0 and cfg.data.fold >= 0:
        from .folds import make_folds

        folds = make_folds(corpus, cfg.data.folds, cfg.data.fold_seed)
        out |= {p for p, f in folds.items() if f == cfg.data.fold}
    return out


def train(cfg: TrainConfig, *, corpus: Corpus | None = None, rows: np.ndarray | None = None,
          bank=None, model=None) -> TrainResult:
    """Train as configured; see the module docstring. ``corpus``/``rows``/``bank``/``model``
    let benchmarks reuse prepared data across folds."""
    if corpus is None:
        check_sources(cfg.data)
    d = distributed.setup(cfg.run.device)
    with _run_folder_lock(Path(cfg.run.out_dir), d):
        return _train(cfg, d, corpus=corpus, rows=rows, bank=bank, model=model)


def _resume_state(cfg: TrainConfig) -> dict | None:
    """The checkpoint state a run resumes from (None: it starts afresh); one that cannot be
    read, or was made with other settings, is refused."""
    ck = Path(cfg.run.out_dir) / CHECKPOINT
    if not (cfg.run.resume and ck.is_file()):
        return None
    again = start_over_hint(Path(cfg.run.export_dir or Path(cfg.run.out_dir) / "model"))
    try:
        state = torch.load(ck, map_location="cpu", weights_only=False)
    except Exception as exc:
        why = first_line(exc)[:200]
        raise ConfigError(f"{ck} cannot be read to resume from ({why}); {again}") from None
    changed = config_changes(state.get("config") or {}, cfg.to_dict())
    if changed:
        raise ConfigError(f"{ck} was made with other settings ({'; '.join(changed[:3])}"
                          f"{'; ...' if len(changed) > 3 else ''}): resuming would train "
                          f"with the old ones; {again}")
    return state


@contextlib.contextmanager
def _run_folder_lock(out: Path, d: distributed.Dist) -> Iterator[None]:
    """One run at a time in a run folder: a second would resume from the first's checkpoint
    while it is rewritten and both would write the log. A folder this made is removed again
    when the run fails before writing anything in it."""
    from core.library import try_lock

    made = fd = None
    busy = False
    if d.main:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise _not_a_folder(out.parent) from None
        try:
            out.mkdir()             # (one run of two started at once makes it, not both)
            made = True
        except FileExistsError:
            if not out.is_dir():
                raise _not_a_folder(out) from None
            made = False
        fd = os.open(out / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        busy = not try_lock(fd)
    if d.enabled:
        flag = [busy]
        torch.distributed.broadcast_object_list(flag, src=0)
        busy = flag[0]
    if busy:                        # (the folder is the other run's now, made or not)
        if fd is not None:
            os.close(fd)
        raise ConfigError(f"another training run is writing to {out}; wait for it to "
                          "finish, or give another --out")
    try:
        yield
    except BaseException:
        if made:
            (out / RUN_LOCK).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    finally:
        if fd is not None:
            os.close(fd)


def _train(cfg: TrainConfig, d: distributed.Dist, *, corpus: Corpus | None,
           rows: np.ndarray | None, bank, model) -> TrainResult:
    _seed_all(cfg.model.seed)
    # a checkpoint made with other settings is refused before the data is prepared
    state = _resume_state(cfg)
    model = model or build_model(cfg)
    undescribed: dict = {}
    if corpus is None:
        corpus = prepare_data(cfg, model, d, failures=undescribed, describe=state is None)
        if d.main:
            _warn_skipped(corpus)
    corpus = corpus.with_enrichers(cfg.enrich.enrichers)
    excluded = held_out(cfg, corpus, warn=d.main)
    if rows is None:
        rows = corpus.select(exclude=excluded)
    check_rows(corpus, rows)
    check_class_labels(corpus, rows, cfg.loss.losses, warn=d.main)
    out = Path(cfg.run.out_dir)
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
    k = cfg.model.freeze_blocks
    encoder.set_trainable(model.clip, k)
    aug_cfg = AugmentConfig.from_dict(cfg.augment)
    if cfg.features.enabled:
        from .features import FeatureBank, FeatureDataset

        split = k if cfg.features.split < 0 else cfg.features.split
        if k < 0 or split > k:
            raise ConfigError("features.enabled needs model.freeze_blocks >= 0 and "
                              "features.split <= model.freeze_blocks")
        if bank is None:
            if d.main:
                bank = FeatureBank.build(model, corpus, cfg.data.cache_dir, freeze_blocks=split,
                                         views=cfg.features.views, aug=aug_cfg,
                                         seed=cfg.model.seed,
                                         batch_size=cfg.features.batch_size,
                                         progress=cfg.run.progress)
            distributed.barrier()
            if bank is None:
                bank = FeatureBank.build(model, corpus, cfg.data.cache_dir, freeze_blocks=split,
                                         views=cfg.features.views, aug=aug_cfg,
                                         seed=cfg.model.seed, progress=False)
        dataset = FeatureDataset(bank, corpus, rows, seed=cfg.model.seed)
        if cfg.model.init == "whiten":
            whiten_projection(model, bank, corpus, rows, cfg.model.whiten_ridge,
                              cfg.model.style_dim)
    else:
        if cfg.model.init:
            raise ConfigError("model.init = 'whiten' needs features.enabled")
        dataset = FigureDataset(corpus, rows, seed=cfg.model.seed)
    model.to(d.device)
    o = cfg.optim
    if o.sampler == "balanced":
        sampler = BalancedBatches(sampler_groups(corpus, rows), o.batch_size, o.per_class,
                                  o.alpha, cfg.model.seed, d.rank, d.world,
                                  o.batches_per_epoch or None)
    elif o.sampler == "random":
        sampler = RandomBatches(len(rows), o.batch_size, cfg.model.seed, d.rank, d.world,
                                o.batches_per_epoch or None)
    else:
        raise ConfigError(f"optim.sampler must be 'balanced' or 'random', not {o.sampler!r}")
    objective = Objective(model, cfg, bank.freeze_blocks if cfg.features.enabled else None
                          ).to(d.device)
    if cfg.loss.init_logit_scale > 0:
        with torch.no_grad():
            objective.logit_scale.fill_(float(np.log(cfg.loss.init_logit_scale)))
    net = DDP(objective, device_ids=[d.device.index] if d.device.type == "cuda" else None) \
        if d.enabled else objective
    optimizer = torch.optim.AdamW(param_groups(objective, cfg), lr=o.lr)
    if len(sampler) < o.accum_steps:
        raise ConfigError(f"optim.accum_steps ({o.accum_steps}) is more than the {len(sampler)} "
                          "batches of an epoch: no optimizer step would run")
    steps_per_epoch = max(1, len(sampler) // o.accum_steps)
    total_steps = steps_per_epoch * o.epochs
    if cfg.run.max_steps:
        total_steps = min(total_steps, cfg.run.max_steps)
    scheduler = warmup_cosine(optimizer, steps_per_epoch * o.epochs, o.warmup_steps,
                              o.min_lr_ratio)
    cuda = d.device.type == "cuda"
    amp_dtype = (torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float16)
    use_amp = cuda and o.amp
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    aug_gen = torch.Generator().manual_seed(cfg.model.seed * 1000 + d.rank)
    texts = TextCache(model, d.device, cfg.data.cache_dir)
    all_texts = {t for i in range(len(corpus)) for t in (corpus.texts(i) or
                                                         [corpus.title[i] or FALLBACK_TEXT])}
    if d.main:
        texts.precompute(all_texts)
    distributed.barrier()
    if not d.main:
        texts = TextCache(model, d.device, cfg.data.cache_dir)
        texts.precompute(all_texts, save=False)

    epoch, step, batch_in_epoch = 0, 0, 0
    ck = out / CHECKPOINT
    data = data_identity(corpus, rows)
    resumed = state is not None
    finished = Path(cfg.run.export_dir or out / "model")
    if resumed:
        again = start_over_hint(finished)
        if _same_rows_of_an_older_corpus(state.get("data") or {}, corpus, rows):
            state["data"] = {**state["data"], "rows_sha256": data["rows_sha256"]}
        check_resumable(state, ck, data, d.world, again)
        try:
            objective.load_state_dict(state["objective"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
        except (RuntimeError, KeyError, ValueError) as exc:
            why = first_line(exc)[:200]
            raise ConfigError(f"{ck} does not fit this model ({why}); {again}") from None
        _set_rng_state(state["rng"][min(d.rank, len(state["rng"]) - 1)], aug_gen)
        epoch, step, batch_in_epoch = state["epoch"], state["step"], state["batch_in_epoch"]
        if d.main:
            log.info("resumed from %s at epoch %d step %d", ck, epoch, step)

    def save_checkpoint(epoch: int, batch_in_epoch: int) -> None:
        rng = [_rng_state(aug_gen)]
        if d.enabled:
            gathered = [None] * d.world
            torch.distributed.all_gather_object(gathered, rng[0])
            rng = gathered
        if d.main:
            with said_no_room(ck), replacing(ck, "wb") as f:
                torch.save({"objective": objective.state_dict(),
                            "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                            "rng": rng, "epoch": epoch, "step": step,
                            "batch_in_epoch": batch_in_epoch, "config": cfg.to_dict(),
                            "data": data, "world_size": d.world}, f)

    start_step = step
    if d.main and not resumed:
        _start_over(ck, finished)
    log_file, logged = _open_log(out / "log.jsonl", step if resumed else 0) if d.main else \
        (None, None)
    bar = tqdm(total=total_steps, initial=step, desc="training", unit="step",
               disable=not (d.main and cfg.run.progress), dynamic_ncols=True)
    history: list[dict] = []
    t_start, seen = time.perf_counter(), 0
    done = step >= total_steps
    while epoch < o.epochs and not done:
        sampler.set_epoch(epoch)
        dataset.set_epoch(epoch)
        # whole steps only: batches short of one at an epoch's end are not drawn (their
        # gradients would leak into the next epoch's first step, and a resume lose them)
        batches = itertools.islice(iter(sampler), batch_in_epoch * o.accum_steps,
                                   steps_per_epoch * o.accum_steps)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=list(batches),
                                             collate_fn=collate,
                                             num_workers=cfg.data.loader_workers)
        encoder.train_mode(model.clip, k)
        micro = 0
        for batch in loader:
            x = batch.pop("images")
            if not cfg.features.enabled:
                x = augment(x, aug_cfg, aug_gen)
            text = texts(batch["texts"])
            x = x.to(d.device, non_blocking=True)
            labels = [batch[n].to(d.device) for n in ("design", "subclass", "main_class")]
            micro += 1
            last = micro == o.accum_steps
            sync = net.no_sync() if (d.enabled and not last) else contextlib.nullcontext()
            with sync:
                with torch.autocast(d.device.type, dtype=amp_dtype, enabled=use_amp):
                    total, parts = net(x, text, *labels)
                if not torch.isfinite(total.detach()):
                    raise TrainingDiverged(
                        f"the loss became {float(total.detach())} at step {step + 1}: training "
                        "diverged (try a lower optim.lr); nothing was exported, "
                        + (f"the last checkpoint in {out} is from before" if ck.exists() else
                           "and no checkpoint was saved before it"))
                scaler.scale(total / o.accum_steps).backward()
            seen += len(x)
            if not last:
                continue
            micro = 0
            scaler.unscale_(optimizer)
            if o.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(
                    [p for g in optimizer.param_groups for p in g["params"]], o.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            step += 1
            batch_in_epoch += 1
            bar.update(1)
            if step % cfg.run.log_every == 0 or step == total_steps:
                rec = {"step": step, "epoch": epoch,
                       "loss": distributed.mean(float(total.detach()), d),
                       **{k_: distributed.mean(float(v.detach()), d) for k_, v in parts.items()},
                       "weights": objective.weighting.weights(),
                       "logit_scale": float(objective.logit_scale.detach().exp()),
                       "lr": o.lr * scheduler.get_last_lr()[0] / scheduler.base_lrs[0],
                       "images_per_s": seen * d.world / (time.perf_counter() - t_start)}
                history.append(rec)
                if log_file:
                    log_file.write(json.dumps(rec) + "\n")
                    log_file.flush()
                bar.set_postfix(loss=f"{rec['loss']:.3f}")
            if step % cfg.run.checkpoint_every == 0:
                save_checkpoint(epoch, batch_in_epoch)
            if step >= total_steps:
                done = True
                break
        if not done or batch_in_epoch >= len(sampler) // o.accum_steps:
            epoch, batch_in_epoch = epoch + 1, 0
        save_checkpoint(epoch, batch_in_epoch)
    bar.close()
    if log_file:
        log_file.close()
    distributed.sync_buffers(objective, d)
    model.clip.eval()
    # (a finished run started again logs nothing new: its record keeps the last logged step)
    record = training_record(cfg, corpus, rows, excluded, step,
                             history or ([logged] if logged else []), d, undescribed)
    export_dir = None
    if resumed and step == start_step and (finished / "model.json").is_file():
        export_dir = finished           # a finished run started again: its model stays as is
        if d.main:
            log.info("the run had already finished; its model is %s", finished)
    elif d.main:
        from .export import export

        export_dir = export(model, cfg, record, patents=set(corpus.patent[rows]))
    distributed.barrier()
    if undescribed and d.main:
        log.warning("trained without some descriptions (%s): those drawings had the other "
                    "enrichers' texts or their title; a fresh run (--no-resume) or "
                    "`patent-examiner enrich` retries them",
                    ", ".join(f"{n} failed on {c['failed']} of {c['of']}"
                              for n, c in undescribed.items()))
    model.to("cpu")
    if d.enabled:
        distributed.teardown()
    return TrainResult(model, out, export_dir, step, history, record)


class TrainingDiverged(ConfigError):
    """The loss became NaN or infinite: nothing is exported."""


#: Settings that may change between a run and its resumption (where and how it reports, how
#: the LLM is reached: its descriptions are cached, and resuming checks their texts).
_RESUMABLE = ("run.out_dir", "run.export_dir", "run.resume", "run.progress", "run.log_every",
              "run.checkpoint_every", "run.max_steps", "run.export_half", "run.device",
              "data.workers", "data.loader_workers", "data.cache_dir",
              *(f"enrich.llm.{k}" for k in CONNECTION))


def config_changes(old: dict, new: dict) -> list[str]:
    """"section.key old -> new" for each training setting that differs (secrets are never
    compared nor named). [augment] holds only the keys a config sets: both sides are
    compared with the defaults filled in; a table's keys ([enrich.llm]) one by one."""
    old, new = _augment_filled(redacted(old)), _augment_filled(redacted(new))
    out = []
    for section, values in new.items():
        for key, value in (values or {}).items():
            name = f"{section}.{key}"
            before = (old.get(section) or {}).get(key, value)
            if isinstance(value, dict) and isinstance(before, dict) and section != "augment":
                for sub in sorted(set(value) | set(before)):
                    a, b = before.get(sub, "(unset)"), value.get(sub, "(unset)")
                    if f"{name}.{sub}" not in _RESUMABLE and a != b:
                        out.append(f"{name}.{sub} {a!r} -> {b!r}")
            elif name not in _RESUMABLE and before != value:
                out.append(f"{name} {before!r} -> {value!r}")
    return out


def _augment_filled(config: dict) -> dict:
    known = {f.name for f in fields(AugmentConfig)}
    given = {k: v for k, v in (config.get("augment") or {}).items() if k in known}
    return {**config, "augment": asdict(AugmentConfig.from_dict(given))}


def data_identity(corpus: Corpus, rows: np.ndarray) -> dict:
    """What a run trains on: the corpus (its fingerprint follows the sources' contents), the
    rows taken from it and their descriptions, with counts to tell a person what changed."""
    fp = corpus.index.get("fingerprint")
    rows = np.sort(np.asarray(rows, np.int64))
    # the rendered rows themselves where the corpus records them: a corpus rendered again
    # to the same crops (after a change to the code that cuts them) is the same data
    content = corpus.index.get("content_sha256") or fp
    texts = hashlib.sha256()
    for i in rows:
        texts.update(json.dumps(corpus.texts(int(i))).encode())
    return {"corpus": fp, "figures": int(len(rows)),
            "patents": len(set(corpus.patent[rows])), "rows_sha256": _rows_digest(content, rows),
            "texts_sha256": texts.hexdigest()[:16]}


def _rows_digest(content: str, rows: np.ndarray) -> str:
    """The rows (sorted) taken from a corpus named by ``content``."""
    return hashlib.sha256(f"{content}:".encode() + rows.tobytes()).hexdigest()[:16]


def _same_rows_of_an_older_corpus(was: dict, corpus: Corpus, rows: np.ndarray) -> bool:
    """A checkpoint of a version that named its rows by the corpus's fingerprint (which
    follows the code that cuts the crops, so it changes with an upgrade): the same rows if
    that corpus, still in the cache, holds the same crops and records as this one."""
    from .shards import content_sha256

    old = was.get("corpus")
    if not old or old == corpus.index.get("fingerprint") or "/" in old or old.startswith("."):
        return False
    if _rows_digest(old, np.sort(np.asarray(rows, np.int64))) != was.get("rows_sha256"):
        return False
    try:
        return content_sha256(corpus.folder.parent / old) == content_sha256(corpus.folder)
    except (OSError, ValueError, KeyError, EOFError):
        return False


def start_over_hint(export_dir: Path) -> str:
    """What to do when a run cannot resume; starting over removes the model it exported."""
    from core.models._factory import WEIGHTS_FILE

    if (export_dir / WEIGHTS_FILE).is_file():
        return (f"start over with --no-resume (that removes the model exported to {export_dir}"
                ": copy it elsewhere first if a library uses it), or give another --out")
    return "start over with --no-resume, or give another --out"


def check_resumable(state: dict, ck: Path, data: dict, world: int,
                    again: str = "start over with --no-resume, or give another --out") -> None:
    """A checkpoint resumes only onto the same training rows and the same number of
    processes (each process draws its own batches): anything else is a ConfigError."""
    was = state.get("data")
    if was is not None and was.get("rows_sha256") != data["rows_sha256"]:
        def told(x: dict) -> str:
            return f"{x.get('corpus')}: {x.get('figures')} figures of {x.get('patents')} " \
                   "patents"
        raise ConfigError(f"{ck} was trained on other data ({told(was)}; now {told(data)}): "
                          f"resuming would mix the two; {again}")
    if was is not None and was.get("texts_sha256", data["texts_sha256"]) != data["texts_sha256"]:
        raise ConfigError(f"{ck} was trained on other descriptions of the same drawings (they "
                          "were enriched again since): resuming would mix the two; "
                          f"{again}")
    made_by = state.get("world_size", len(state.get("rng") or [None]))
    if made_by != world:
        raise ConfigError(f"{ck} was made by {made_by} process(es), this run has {world}: "
                          "the batches would not resume where they stopped; run it with "
                          f"torchrun --nproc_per_node {made_by}, or {again}")


def _start_over(ck: Path, export_dir: Path) -> None:
    """A fresh run in a used run folder first removes the checkpoint, then the exported
    model, before it rewrites the log: stopped early, the folder never holds one run's
    checkpoint or model beside another run's log (a later resume would take the old run
    up with the new log)."""
    from core.models._factory import SIDECAR_FILE, WEIGHTS_FILE
    from core.provenance import PATENTS_FILE

    for path in (ck, ck.with_suffix(".tmp"), export_dir / SIDECAR_FILE,
                 export_dir / WEIGHTS_FILE, export_dir / PATENTS_FILE):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):      # kept when it holds other files
        export_dir.rmdir()


def _not_a_folder(path: Path) -> OSError:
    return NotADirectoryError(errno.ENOTDIR, "is a file, not a folder (--out names the run's "
                              "folder)", str(path))


def _open_log(path: Path, from_step: int) -> tuple:
    """The JSON-lines log, kept up to the step the run starts from (a fresh run starts it
    anew; a resumed one drops what was logged after its checkpoint), and the last record
    kept (None if none)."""
    kept, last = [], None
    if from_step and path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
                if isinstance(rec, dict) and rec.get("step", 0) <= from_step:
                    kept.append(line)
                    last = rec
            except ValueError:
                continue
    f = open(path, "w")
    f.write("".join(line + "\n" for line in kept))
    f.flush()
    return f, last


def _warn_skipped(corpus: Corpus) -> None:
    """Name the pages the data lists that could not be used (also for a corpus rendered by
    an earlier run): training goes on without them."""
    errors = corpus.index.get("errors") or []
    if errors:
        shown = first_few([f"{where}: {why}" for where, why in errors], sep="; ")
        log.warning("%d page(s) or record(s) of the data could not be used and are left out "
                    "(%s); all are listed under \"errors\" in %s", len(errors), shown,
                    corpus.folder / shards.INDEX_FILE)


def training_record(cfg: TrainConfig, corpus: Corpus, rows: np.ndarray, excluded: set[str],
                    steps: int, history: list, d: distributed.Dist,
                    undescribed: dict | None = None) -> dict:
    from .export import git_commit

    pids = set(corpus.patent[rows])
    sub = corpus.locarno[rows]
    last = history[-1] if history else {}
    return {
        "summary": f"{cfg.model.arch} trained with {'+'.join(cfg.loss.losses)} "
                   f"({cfg.loss.weighting} weights) on {len(rows)} figures of {len(pids)} "
                   f"patents, {steps} steps",
        "git_commit": git_commit(),
        "config": cfg.to_dict(),
        # (where the data lay: a relative path in the config was read from the working folder)
        "data": {"sources": [os.path.abspath(p) for p in cfg.data.sources],
                 "deeppatent2": [os.path.abspath(p) for p in cfg.data.deeppatent2],
                 "synthetic": cfg.data.synthetic, "corpus": corpus.index.get("fingerprint"),
                 "counts": {"figures": int(len(rows)), "patents": len(pids),
                            "synthetic_figures": int(sum(p.startswith("SYN-") for p in
                                                         corpus.patent[rows])),
                            "subclasses": len({s for s in sub if len(s) == 5}),
                            "classes": len({s[:2] for s in sub if s})},
                 "folds": {"k": cfg.data.folds, "held_out_fold": cfg.data.fold,
                           "seed": cfg.data.fold_seed},
                 "held_out_patents": sorted(excluded),
                 **({"enrich_failures": undescribed} if undescribed else {}),
                 **({"skipped": {"count": len(corpus.index["errors"]),
                                 "first": corpus.index["errors"][:50]}}
                    if corpus.index.get("errors") else {})},
        "steps": steps, "world_size": d.world, "device": d.device.type,
        "final": {k: v for k, v in last.items() if k != "weights"},
        "loss_weights": last.get("weights"),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **({"fusion": {"text": cfg.run.fusion_text}} if cfg.run.fusion_text > 0 else {}),
    }
