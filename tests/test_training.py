"""The training framework with the tiny model: config, folds, samplers, schedule, the encoder
split, the loop (export, exact resume, cached features), two-process DDP and the CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from training import encoder
from training.config import ConfigError, TrainConfig, load_config
from training.folds import assign_folds
from training.sampler import BalancedBatches, RandomBatches
from training.schedule import warmup_cosine

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "training" / "configs" / "tiny_test.toml"


def _cfg(tmp_path, manifest, *extra):
    return load_config(TINY, [f"data.sources=['{manifest}']",
                              f"data.cache_dir='{tmp_path / 'cache'}'",
                              f"run.out_dir='{tmp_path / 'run'}'", *extra])


# -- pieces -------------------------------------------------------------------------------------
def test_config_rejects_unknown_keys_and_applies_overrides(tmp_path):
    cfg = load_config(TINY, ["optim.lr=0.5", "loss.losses=['clip']",
                             "enrich.llm.base_url='http://127.0.0.1:8080/v1'"])
    assert cfg.optim.lr == 0.5 and cfg.loss.losses == ["clip"]
    assert cfg.enrich.llm["base_url"] == "http://127.0.0.1:8080/v1"
    with pytest.raises(ValueError, match="lrr"):
        TrainConfig.from_dict({"optim": {"lrr": 1}})
    with pytest.raises(ValueError, match="section"):
        TrainConfig.from_dict({"optimizer": {}})
    with pytest.raises(ConfigError, match=r"\[augment\]: hflipp"):
        TrainConfig.from_dict({"augment": {"hflipp": 0.5}})
    for name in ("default.toml", "gpu_full.toml"):
        load_config(REPO / "training" / "configs" / name)


@pytest.mark.parametrize("override, message", [
    ("optim.lr=abc", "optim.lr must be a number, not 'abc'"),
    ("optim.epochs=-1", "optim.epochs must be >= 0, not -1"),   # 0: whitening alone
    ("optim.batch_size=2.5", "optim.batch_size must be a whole number"),
    ("run.resume=1", "run.resume must be true or false"),
    ("data.sources='a.jsonl'", "data.sources must be a list"),
    ("model.freeze_blocks=-2", "model.freeze_blocks must be >= -1"),
    ("data.workers=-1", "data.workers must be >= 0"),
    ("optim.sampler='fancy'", "optim.sampler must be one of 'balanced', 'random'"),
    ("augment.hflip='often'", "augment.hflip must be a number"),
    ("augment.crop_scale=['a','b']", "augment.crop_scale must be a list of 2 numbers, not "
                                     "['a', 'b']"),
    ("augment.crop_scale=[0.5]", "augment.crop_scale must be a list of 2 numbers"),
    ("augment.crop_ratio=[0,1]", "augment.crop_ratio must be [low, high] with 0 < low <= high,"
                                 " not [0.0, 1.0]"),
    ("augment.erase_area=[0.2,0.1]", "augment.erase_area must be [low, high] with 0 <= low <= "
                                     "high <= 1"),
    ("augment.crop_scale=[0.5,2]", "augment.crop_scale must be [low, high] with 0 < low <= "
                                   "high <= 1"),
    ("augment.hflip=7", "augment.hflip must be <= 1, not 7.0"),
    ("augment.crop_scale=[nan,1]", "augment.crop_scale must be [low, high] with 0 < low"),
    ("augment.gridmask_ratio=5", "augment.gridmask_ratio must be <= 1"),
    ("model.image_size=100000", "model.image_size must be <= 1024, not 100000"),
    ("enrich.llm.timeout=3", "unknown option(s) in [enrich.llm]: timeout"),
    ("data.exclude_patents=['D0906013', 1]", "data.exclude_patents must be a list of strings"),
    ("enrich.per_figure=0", "enrich.per_figure must be > 0"),
    ("optim.lr=nan", "optim.lr must be a finite number"),
    ("optim.lr=inf", "optim.lr must be a finite number"),
    ("loss.losses=['clip','bogus']", "loss.losses must name some of clip, cls, cat, design"),
    ("loss.losses=[]", "loss.losses must name some of"),
    ("enrich.enrichers=['bogus']", "enrich.enrichers may name template, title, llm, caption"),
    ("run.device='gpu'", "run.device must be auto, cpu, cuda, cuda:N or mps"),
    ("optim.per_class=3", "optim.batch_size (8) must be a multiple of optim.per_class (3)"),
    ("data.fold=0", "data.fold (0) must be one of the data.folds (0) folds"),
    ("loss.fixed_weights={clss=1.0}", "loss.fixed_weights may name clip, cls, cat, design, "
                                      "not 'clss'"),
    ("loss.fixed_weights={cls=-1.0}", "loss.fixed_weights.cls must be a number >= 0, not -1.0"),
    ("loss.fixed_weights={cls='two'}", "loss.fixed_weights.cls must be a number >= 0, not 'two'"),
    ("loss.fixed_weights={cls=true}", "loss.fixed_weights.cls must be a number >= 0, not True"),
    ("loss.fixed_weights={cls=2.0}", "loss.fixed_weights is used only with loss.weighting = "
                                     "'fixed' (now 'uncertainty': the weights are learned)"),
])
def test_config_values_are_type_and_range_checked(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(TINY, [override])
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("overrides, message", [
    (["enrich.enrichers=['template','llm']", "enrich.llm={base_url='http://x/v1', model='m', "
      "temprature=0.5}"], "unknown option(s) in [enrich.llm]: temprature"),
    (["enrich.enrichers=['caption']", "enrich.caption={model='/x'}"],
     "[enrich.caption]: unknown option 'model'"),
    (["model.init='whiten'", "model.init_checkpoint='runs/m'"],
     "model.init = 'whiten' would replace the projection of model.init_checkpoint (runs/m)"),
])
def test_settings_that_would_fail_late_or_silently_are_refused_on_loading(overrides, message):
    """A misspelled enricher option is refused when the config loads, not after the corpus
    is rendered; whitening would silently replace a checkpoint's trained projection."""
    with pytest.raises(ConfigError) as info:
        load_config(TINY, overrides)
    assert str(info.value).startswith(message)


def test_a_device_that_is_not_here_is_refused_before_any_data_is_prepared(tmp_path,
                                                                          drawing_manifest):
    import torch

    from training.trainer import train

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="run.device: device 'cuda' is not available"):
        train(_cfg(tmp_path, drawing_manifest, "run.device='cuda'"))
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("folds, fold", [(3, 5), (1, 0), (3, 3)])
def test_a_held_out_fold_must_be_one_of_the_folds(folds, fold):
    with pytest.raises(ConfigError, match="must be one of the data.folds"):
        load_config(TINY, [f"data.folds={folds}", f"data.fold={fold}"])
    load_config(TINY, ["data.folds=3", "data.fold=2"])


def test_config_values_take_the_default_type():
    cfg = load_config(TINY, ["optim.lr=1", "optim.epochs=3.0", "model.freeze_blocks=-1",
                             "loss.init_log_var=-2.5"])
    assert (cfg.optim.lr, cfg.optim.epochs) == (1.0, 3)
    assert isinstance(cfg.optim.lr, float) and isinstance(cfg.optim.epochs, int)
    assert cfg.model.freeze_blocks == -1 and cfg.loss.init_log_var == -2.5


def test_folds_are_patent_level_stratified_and_seeded():
    patents = {f"D{i:03d}": ("06" if i < 12 else "07" if i < 20 else "") for i in range(22)}
    folds = assign_folds(patents, 4, seed=3)
    assert folds == assign_folds(patents, 4, seed=3) != assign_folds(patents, 4, seed=4)
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 1
    for cls in ("06", "07"):
        per = np.bincount([f for p, f in folds.items() if patents[p] == cls], minlength=4)
        assert per.max() - per.min() <= 1


def test_balanced_batches_meet_every_class_and_ranks_differ():
    groups = np.array([0] * 50 + [1] * 3 + [2] * 2 + [3])
    s = BalancedBatches(groups, batch_size=8, per_class=2, alpha=0.0, seed=0,
                        batches_per_epoch=40)
    seen = set()
    for batch in s:
        assert len(batch) == 8
        counts = np.bincount(groups[batch], minlength=4)
        assert all(c in (0, 2) for c in counts)
        seen |= set(groups[batch].tolist())
    assert seen == {0, 1, 2, 3}
    r0 = RandomBatches(40, 8, seed=1, rank=0, world=2)
    r1 = RandomBatches(40, 8, seed=1, rank=1, world=2)
    a, b = sum(list(r0), []), sum(list(r1), [])
    assert len(r0) == len(r1) == 2 and not set(a) & set(b)


def test_random_batches_honour_batches_per_epoch(tmp_path, drawing_manifest):
    """More batches than one pass over the data continue with the next shuffle; a run with
    the random sampler trains optim.batches_per_epoch batches an epoch, as the balanced one."""
    from training.trainer import train

    one_pass = list(RandomBatches(40, 8, seed=1))
    longer = list(RandomBatches(40, 8, seed=1, batches_per_epoch=7))
    assert len(longer) == 7 and longer[:5] == one_pass
    assert sorted(sum(longer[:5], [])) == list(range(40)) and len(set(sum(longer[5:], []))) == 16
    r0, r1 = (RandomBatches(40, 8, seed=1, rank=r, world=2, batches_per_epoch=3) for r in (0, 1))
    assert len(r0) == 3 and not set(sum(list(r0)[:2], [])) & set(sum(list(r1)[:2], []))
    result = train(_cfg(tmp_path, drawing_manifest, "optim.sampler='random'"))
    assert result.steps == 2 * 4        # tiny_test: 2 epochs of 4 batches (24 figures: 3 a pass)


def test_warmup_then_cosine():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, total_steps=10, warmup_steps=2, min_ratio=0.1)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:])) and lrs[-1] > 0.1


def test_prefix_and_tail_compose_to_the_image_tower(tiny_model):
    visual = tiny_model.clip.visual.eval()
    x = tiny_model.normalize_batch(torch.randint(0, 256, (3, 1, 64, 64), dtype=torch.uint8))
    with torch.no_grad():
        for k in range(len(visual.trunk.blocks) + 1):
            split = encoder.tail(visual, encoder.prefix(visual, x, k), k)
            assert torch.allclose(split, visual(x), atol=1e-5)


def test_prefix_and_tail_compose_with_a_style_stream():
    """A cached prefix keeps a style stream exact: at splits up to its stage, and at the pooled
    split, where the bank holds pooled features and style statistics side by side."""
    from core.models import create_model

    model = create_model("tiny_test", pretrained=None, style_blocks=1)
    visual = model.clip.visual.eval()
    torch.nn.init.normal_(visual.style_proj.weight, std=0.1)
    x = model.normalize_batch(torch.randint(0, 256, (3, 1, 64, 64), dtype=torch.uint8))
    n = len(visual.trunk.blocks)
    with torch.no_grad():
        for k in (0, 1, n + 1):
            split = encoder.tail(visual, encoder.prefix(visual, x, k), k)
            assert torch.allclose(split, visual(x), atol=1e-5)
        assert encoder.prefix(visual, x, n + 1).shape[1] == (visual.trunk.num_features +
                                                             visual.style_proj.in_features)
        with pytest.raises(ValueError, match="cache pooled features"):
            encoder.tail(visual, encoder.prefix(visual, x, 2), 2)


def test_text_tower_and_frozen_blocks_do_not_train(tiny_model):
    params = encoder.set_trainable(tiny_model.clip, 2)
    names = {n for n, p in tiny_model.clip.named_parameters() if p.requires_grad}
    assert names and all(n.startswith("visual.") or n == "logit_scale" for n in names)
    assert not any(n.startswith(("visual.trunk.blocks.0.", "visual.trunk.blocks.1.",
                                 "visual.trunk.conv_stem")) for n in names)
    assert len(params) == len([n for n in names if n.startswith("visual.")])


# -- the loop -----------------------------------------------------------------------------------
def test_model_options_from_the_config_mirror_tta_and_input_size(tmp_path, tiny_model):
    from core.models import save_checkpoint
    from training.trainer import build_model

    save_checkpoint(tiny_model, tmp_path / "ck")
    cfg = TrainConfig.from_dict({"model": {"init_checkpoint": str(tmp_path / "ck")}})
    with pytest.raises(ConfigError, match="model.arch = 'efficientnet_lite0', but .* is a "
                                          "'tiny_test' model; set model.arch = 'tiny_test'"):
        build_model(cfg)                                     # a checkpoint keeps its arch
    start = {"arch": "tiny_test", "init_checkpoint": str(tmp_path / "ck")}
    cfg = TrainConfig.from_dict({"model": start})
    assert not build_model(cfg).spec.hflip_tta
    cfg = TrainConfig.from_dict({"model": {**start, "hflip_tta": True}})
    model = build_model(cfg)
    im = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    e = model.encode_images(model.images_to_tensor([im, im[:, ::-1]]))
    assert model.spec.hflip_tta and torch.allclose(e[0], e[1], atol=1e-5)
    save_checkpoint(model, tmp_path / "tuned")
    assert json.loads((tmp_path / "tuned" / "model.json").read_text())["spec"]["hflip_tta"]
    cfg = TrainConfig.from_dict({"model": {**start, "image_size": 96}})
    with pytest.raises(ValueError, match="made at 64"):       # a checkpoint keeps its size
        build_model(cfg)
    cfg = TrainConfig.from_dict({"model": {**start, "style_blocks": 1}})
    with pytest.raises(ValueError, match="style_blocks"):      # and its streams
        build_model(cfg)
    assert build_model(TrainConfig.from_dict({"model": {"arch": "tiny_test", "pretrained": "none",
                                                        "style_blocks": 1}})).spec.style_blocks == 1
    fresh = build_model(TrainConfig.from_dict({"model": {"arch": "tiny_test", "pretrained": "none",
                                                         "image_size": 96}}))
    assert fresh.image_size == fresh.drawing_config.image_size == 96


def _weights(model):
    return {k: v.clone() for k, v in model.clip.visual.state_dict().items()}


def test_train_exports_a_core_checkpoint_with_its_record(tmp_path, drawing_manifest):
    from core.models import create_model, load_checkpoint
    from training.trainer import train

    result = train(_cfg(tmp_path, drawing_manifest, "data.folds=3", "data.fold=0",
                        "run.fusion_text=2.5"))
    side = json.loads((result.export_dir / "model.json").read_text())
    rec = side["training"]
    assert rec["config"]["optim"]["batch_size"] == 8
    assert rec["git_commit"] and rec["data"]["sources"] == [str(drawing_manifest)]
    assert rec["data"]["folds"] == {"k": 3, "held_out_fold": 0, "seed": 0}
    assert 0 < rec["data"]["counts"]["patents"] < 12 and rec["data"]["held_out_patents"]
    trained = (result.export_dir / rec["data"]["patents_file"]).read_text().split()
    assert len(trained) == rec["data"]["counts"]["patents"] and trained == sorted(trained)
    from core.provenance import patents_digest, training_patents

    assert rec["data"]["patents_sha256"] == patents_digest(trained)
    assert training_patents(str(result.export_dir), side["model_id"]) == frozenset(trained)
    assert not set(trained) & set(rec["data"]["held_out_patents"])
    assert set(rec["loss_weights"]) == {"clip", "cls", "cat"}
    assert side["dtype"] == "float16"
    loaded = load_checkpoint(result.export_dir)
    assert loaded.model_id != create_model("tiny_test", pretrained=None).model_id
    assert rec["fusion"] == {"text": 2.5}               # the fused search's weight travels along
    from core.library import Library
    from core.search import Searcher

    with Library(tmp_path / "lib", create=True) as lib:       # empty: any model may search
        assert Searcher(lib, loaded).fusion["text"] == 2.5
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert len(lines) == result.steps == 8
    assert {"loss", "clip", "cls", "cat", "lr", "images_per_s"} <= set(json.loads(lines[0]))


def test_excluded_patents_are_read_as_the_sources_ids_and_unknown_ones_told(
        tmp_path, drawing_manifest, caplog, monkeypatch):
    """"D900001" and "d0900002" hold out D0900001 and D0900002, as the record says; an id
    the corpus does not have is warned about, not recorded as held out. A source named
    relative to the working folder is recorded by its whole path (it was not)."""
    import logging

    from training.trainer import train

    monkeypatch.chdir(drawing_manifest.parent)     # (a relative source: recorded whole)
    with caplog.at_level(logging.WARNING, logger="training"):
        result = train(_cfg(tmp_path, drawing_manifest.name, "run.max_steps=1",
                            "data.exclude_patents=['D900001', ' d0900002', 'D0999999']"))
    rec = json.loads((result.export_dir / "model.json").read_text())["training"]["data"]
    assert rec["sources"] == [str(drawing_manifest)]
    assert rec["held_out_patents"] == ["D0900001", "D0900002"]
    trained = (result.export_dir / rec["patents_file"]).read_text().split()
    assert len(trained) == 10 and not {"D0900001", "D0900002"} & set(trained)
    assert "1 of the 3 listed patent(s) are not in the training data, nothing to hold out " \
           "for them (D0999999)" in caplog.text


def test_resume_is_exact(tmp_path, drawing_manifest):
    from training.trainer import train

    straight = train(_cfg(tmp_path / "a", drawing_manifest, "run.max_steps=6"))
    train(_cfg(tmp_path / "b", drawing_manifest, "run.max_steps=3"))
    resumed = train(_cfg(tmp_path / "b", drawing_manifest, "run.max_steps=6"))
    assert resumed.steps == straight.steps == 6
    a, b = _weights(straight.model), _weights(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_is_exact_with_accumulation_over_uneven_epochs(tmp_path, drawing_manifest):
    """5 batches per epoch in steps of 2: the fifth is not drawn, so no gradient leaks into
    the next epoch, and a run stopped at the epoch's end resumes to the same weights; its log
    holds each step once."""
    from training.trainer import train

    extra = ("optim.epochs=2", "optim.batches_per_epoch=5", "optim.accum_steps=2")
    straight = train(_cfg(tmp_path / "a", drawing_manifest, *extra))
    train(_cfg(tmp_path / "b", drawing_manifest, *extra, "run.max_steps=2"))
    resumed = train(_cfg(tmp_path / "b", drawing_manifest, *extra))
    assert resumed.steps == straight.steps == 4
    a, b = _weights(straight.model), _weights(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(x)["step"] for x in
             (tmp_path / "b" / "run" / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_resume_refuses_other_settings_and_a_damaged_checkpoint(tmp_path, drawing_manifest,
                                                                monkeypatch):
    """Resuming with other settings, or from a damaged checkpoint, is refused before the data
    is prepared (it built the feature bank first, then refused)."""
    from training import trainer
    from training.trainer import train

    train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))

    def prepare(*a, **kw):
        raise AssertionError("the data was prepared for a run that is refused")
    monkeypatch.setattr(trainer, "prepare_data", prepare)
    with pytest.raises(ConfigError, match=r"other settings \(optim.lr 0.003 -> 0.5\)"):
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4", "optim.lr=0.5"))
    # [augment] holds only the keys a config sets: one added or dropped is a change too
    with pytest.raises(ConfigError, match=r"other settings \(augment.hflip 0.5 -> 0.2\)"):
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4", "augment.hflip=0.2"))
    dropped = _cfg(tmp_path, drawing_manifest, "run.max_steps=4")
    dropped.augment = {}
    with pytest.raises(ConfigError, match=r"other settings \(augment.rotate_deg 4.0 -> 6.0\)"):
        train(dropped)
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(ConfigError, match="cannot be read to resume from"):
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4"))
    monkeypatch.undo()
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2",
                      "run.resume=false")).steps == 2


def test_a_run_of_an_older_version_resumes_onto_the_same_crops(tmp_path, drawing_manifest):
    """Versions before corpora recorded their contents named a run's rows by the corpus's
    fingerprint, which follows the code that cuts the crops: after an upgrade the run could
    not resume ("trained on other data") though the crops were the same. The older corpus,
    still in the cache, says whether they are."""
    import hashlib
    import shutil

    from training.dataset import Corpus
    from training.trainer import CHECKPOINT, data_identity, train

    train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))
    folder = next((tmp_path / "cache").glob("corpus-*"))
    corpus = Corpus(folder)
    rows = np.arange(len(corpus))
    ck = tmp_path / "run" / CHECKPOINT
    state = torch.load(ck, map_location="cpu", weights_only=False)
    assert state["data"]["rows_sha256"] == data_identity(corpus, rows)["rows_sha256"]
    old = tmp_path / "cache" / "corpus-0123456789abcdef"        # as the older version left it
    shutil.copytree(folder, old)
    index = json.loads((old / "index.json").read_text())
    del index["content_sha256"]
    index["fingerprint"] = old.name
    for shard in index["shards"]:
        shard.pop("sha256", None)
    (old / "index.json").write_text(json.dumps(index))
    state["data"] = {**state["data"], "corpus": old.name, "rows_sha256": hashlib.sha256(
        f"{old.name}:".encode() + rows.tobytes()).hexdigest()[:16]}
    torch.save(state, ck)
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=3")).steps == 3

    state["step"] = 2
    torch.save(state, ck)
    jsonl = next(old.glob("*.jsonl"))
    jsonl.write_text(jsonl.read_text().replace('"fig:1"', '"fig:9"', 1))   # other records
    with pytest.raises(ConfigError, match="was trained on other data"):
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4"))


def test_a_second_run_in_the_same_folder_is_refused_while_the_first_writes(
        tmp_path, drawing_manifest):
    """The run folder's lock: a second run would resume from the first's checkpoint while it
    is rewritten and both would write log.jsonl; refused, it leaves the folder as it was."""
    import fcntl

    from training.trainer import RUN_LOCK, train

    train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))
    run = tmp_path / "run"
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with open(run / RUN_LOCK, "w") as held:          # a run that is writing now
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match=f"another training run is writing to {run}; "
                                              "wait for it to finish, or give another --out"):
            train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4"))
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    # started over, the refusal said it removes the model a library may be using
    with pytest.raises(ConfigError, match=r"start over with --no-resume \(that removes the "
                                          f"model exported to {run / 'model'}: copy it"):
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4", "optim.lr=0.5"))
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4")).steps == 4


def test_a_run_refused_in_a_race_leaves_the_winners_folder(tmp_path, monkeypatch):
    """Two runs started at once into a new folder: both saw no folder, the other made it and
    took its lock first; the refused run removed "its" folder (and the winner's lock), and
    the winner crashed writing its checkpoint."""
    import fcntl

    from training import distributed
    from training.trainer import RUN_LOCK, _run_folder_lock

    run = tmp_path / "run"
    held = []
    real_mkdir = Path.mkdir

    def other_run_first(self, *args, **kwargs):
        if self == run and not held:            # the other run, a moment earlier
            real_mkdir(self)
            held.append(open(run / RUN_LOCK, "w"))
            fcntl.flock(held[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
        return real_mkdir(self, *args, **kwargs)
    monkeypatch.setattr(Path, "mkdir", other_run_first)
    with pytest.raises(ConfigError, match="another training run is writing"):
        with _run_folder_lock(run, distributed.Dist()):
            pytest.fail("the run went on in a busy folder")
    assert (run / RUN_LOCK).is_file()
    held[0].close()


def test_a_finished_run_exported_again_keeps_its_record(tmp_path, drawing_manifest):
    """A finished run whose exported model was lost is exported again by running it again:
    the record's last losses and learned loss weights were left empty (nothing new logged)."""
    import shutil

    from training.trainer import train

    first = train(_cfg(tmp_path, drawing_manifest, "run.max_steps=3"))
    rec = json.loads((first.export_dir / "model.json").read_text())["training"]
    shutil.rmtree(first.export_dir)
    again = train(_cfg(tmp_path, drawing_manifest, "run.max_steps=3"))
    side = json.loads((again.export_dir / "model.json").read_text())
    assert side["training"]["final"] == rec["final"] and rec["final"]["step"] == 3
    assert side["training"]["loss_weights"] == rec["loss_weights"] and rec["loss_weights"]


def test_an_out_folder_that_is_a_file_is_said_so(tmp_path, drawing_manifest):
    """`--out FILE` said "FILE: File exists", as if an existing folder were the trouble."""
    from training.trainer import train

    (tmp_path / "afile").write_text("notes")
    for out in ("afile", "afile/sub"):
        with pytest.raises(NotADirectoryError, match="is a file, not a folder") as err:
            train(_cfg(tmp_path, drawing_manifest, f"run.out_dir='{tmp_path / out}'"))
        assert err.value.filename == str(tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "notes"


def test_a_failed_run_leaves_no_empty_run_folder(tmp_path, drawing_manifest):
    from training.trainer import train

    with pytest.raises(ConfigError, match="accum_steps"):
        train(_cfg(tmp_path, drawing_manifest, "optim.accum_steps=100000"))
    assert not (tmp_path / "run").exists()


def test_pages_left_out_of_training_are_named_and_recorded(tmp_path, drawing_manifest, caplog):
    """A page that cannot be read is left out with a warning naming it (also when a later
    run reuses the rendered corpus) and the exported model's record lists it."""
    import logging
    import shutil

    from training.trainer import train

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    (src / "D0900011_2.png").write_bytes(b"not a picture")
    manifest = src / "manifest.jsonl"
    for attempt in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="training"):
            result = train(_cfg(tmp_path, manifest, "run.max_steps=1", "run.resume=false"))
        said = [r.getMessage() for r in caplog.records if "could not be used" in r.getMessage()]
        assert len(said) == 1, attempt
        assert said[0].startswith(f"1 page(s) or record(s) of the data could not be used and "
                                  f"are left out ({src / 'D0900011_2.png'}: not a readable "
                                  "image (")       # (the file named once, not three times)
    record = json.loads((result.export_dir / "model.json").read_text())["training"]
    assert record["data"]["skipped"]["count"] == 1
    assert record["data"]["skipped"]["first"][0][0] == str(src / "D0900011_2.png")


def test_a_deeppatent2_sheet_is_cut_once_whichever_records_name_it(tmp_path, shared_data):
    """Several records naming one sheet (no subfigure, no box) made one job each: every crop
    of the sheet went into the corpus once per record, each time with that record's number,
    view and captions. Now a sheet is cut once and its crops are numbered in reading order;
    a subfigure keeps its record's number, view and captions; and the JSON given among
    data.sources (where the captions were lost) makes the same rows as data.deeppatent2."""
    import shutil

    from PIL import Image

    from core.drawing import DrawingConfig, prepare_page
    from core.imageio import read_page
    from training import shards
    from training.prepare import build_corpus

    sheets = {n: shared_data / "deeppatent2_sheets" / "images" / f"{n}.png" for n in (
        "USD0871717-20200107-D00002", "USD0871717-20200107-D00003",
        "USD0871741-20200107-D00006")}
    (tmp_path / "dp2" / "images").mkdir(parents=True)
    for path in sheets.values():
        shutil.copy(path, tmp_path / "dp2" / "images" / path.name)
    sheet = Image.open(sheets["USD0871741-20200107-D00006"])
    sheet.crop((0, 0, sheet.width // 2, sheet.height)).save(
        tmp_path / "dp2" / "images" / "USD0871741-20200107-D00006_1.png")

    def rec(pid, name, fig, aspect, **more):
        return {"patentID": pid, "Figure_file": f"{name}.png", "figid": fig, "aspect": aspect,
                "object": "chair", "classification_locarno": "0601", **more}
    records = [rec("USD0871717-20200107", "USD0871717-20200107-D00002", 2, "front view"),
               rec("USD0871717-20200107", "USD0871717-20200107-D00002", 3, "side view"),
               rec("USD0871717-20200107", "USD0871717-20200107-D00003", 4, "top view"),
               rec("USD0871741-20200107", "USD0871741-20200107-D00006", 6, "rear view",
                   captions=["FIG. 6 is a rear view of a chair"]),
               rec("USD0871741-20200107", "USD0871741-20200107-D00006", 9, "bottom view",
                   subfigure_file="USD0871741-20200107-D00006_1.png",
                   captions=["FIG. 9 is a bottom view"])]
    (tmp_path / "dp2" / "meta.json").write_text(json.dumps(records))

    def rows(data: dict) -> list[dict]:
        folder = build_corpus(data, DrawingConfig(), tmp_path / "cache", workers=0)
        return [m for shard in shards.read_index(folder)["shards"]
                for m in shards.shard_meta(folder, shard["name"])]
    given = rows({"deeppatent2": [str(tmp_path / "dp2" / "meta.json")]})
    crops = {name: len(prepare_page(read_page(p).array, None, DrawingConfig(),
                                    dpi=read_page(p).sheet_dpi)) for name, p in sheets.items()}
    pages = [tuple(r["page"]) for r in given]
    assert len(pages) == len(set(pages)) == sum(crops.values()) + 1     # each crop once
    chair = [r for r in given if r["patent_id"] == "D0871717"]
    assert len({r["figure_key"] for r in chair}) == len(chair) == (
        crops["USD0871717-20200107-D00002"] + crops["USD0871717-20200107-D00003"])
    assert all(r["captions"] == [] for r in chair)
    on_sheet = [r for r in given if r["patent_id"] == "D0871741" and r["page"][0].endswith(
        "D00006.png")]
    assert crops["USD0871741-20200107-D00006"] > 1      # one record names it: not every crop
    assert all(r["captions"] == [] and r["view"] != "rear view" for r in on_sheet)
    sub = [r for r in given if r["page"][0].endswith("D00006_1.png")]
    assert [(r["figure_key"], r["view"], r["captions"]) for r in sub] == [
        ("fig:9", "bottom view", ["FIG. 9 is a bottom view"])]
    as_source = rows({"sources": [str(tmp_path / "dp2" / "meta.json")]})
    key = ("patent_id", "figure_key", "view", "captions", "description", "page")
    assert [[r[k] for k in key] for r in as_source] == [[r[k] for k in key] for r in given]


def test_an_unreadable_deeppatent2_file_is_named(tmp_path, drawing_manifest):
    from training.trainer import train

    good = tmp_path / "dp2.json"
    good.write_text(json.dumps([{"patentID": "USD0900000-20180101", "Figure_file":
                                 str(drawing_manifest.parent / "D0900000_1.png"),
                                 "classification_locarno": "06-01"}]))
    cut = tmp_path / "cut.json"
    cut.write_text(good.read_text()[:40])
    cfg = _cfg(tmp_path, drawing_manifest, f"data.deeppatent2=['{good}', '{cut}']")
    with pytest.raises(ConfigError, match=f"data.deeppatent2: {cut} is not readable "
                                          r"DeepPatent2 JSON \(Unterminated string"):
        train(cfg)


def test_the_llm_key_is_never_written_and_connection_settings_resume(tmp_path,
                                                                      drawing_manifest):
    """The API key is in neither the checkpoint, the sidecar nor a refusal; another key or
    request rate resumes (they do not change what is trained on), another LLM model does not."""
    from training.config import redacted
    from training.trainer import train

    assert redacted({"api_key": "k", "auth_token": "t", "max_tokens": 5, "apikey": "k"}) == \
        {"max_tokens": 5}                       # a setting merely about tokens is kept
    llm = ("enrich.llm.base_url='http://u:pw-in-url@127.0.0.1:9/v1'", "enrich.llm.model='m'")
    result = train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2", *llm,
                        "enrich.llm.api_key='sk-SECRET-123'"))
    for path in (result.export_dir / "model.json", tmp_path / "run" / "checkpoint.pt"):
        assert b"sk-SECRET-123" not in path.read_bytes() and b"pw-in-url" not in \
            path.read_bytes()
    record = json.loads((result.export_dir / "model.json").read_text())["training"]
    assert record["config"]["enrich"]["llm"] == {"base_url": "http://***@127.0.0.1:9/v1",
                                                 "model": "m"}
    other_key = (*llm, "enrich.llm.api_key='sk-OTHER-456'", "enrich.llm.requests_per_minute=5")
    with pytest.raises(ConfigError, match=r"other settings \(enrich.llm.model 'm' -> 'n'\)") \
            as info:
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4", *other_key,
                   "enrich.llm.model='n'"))
    assert "sk-" not in str(info.value)
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4", *other_key)).steps == 4
    assert b"sk-OTHER-456" not in (tmp_path / "run" / "checkpoint.pt").read_bytes()


def test_resume_refuses_a_corpus_that_changed(tmp_path, drawing_manifest):
    """The same config over a manifest that lost two patents is other training data: the
    run does not resume onto it (it would record the wrong training patents)."""
    from training.trainer import train

    rows = drawing_manifest.read_text().splitlines()
    manifest = drawing_manifest.with_name(f"changing-{tmp_path.name}.jsonl")
    manifest.write_text("\n".join(rows) + "\n")
    train(_cfg(tmp_path, manifest, "run.max_steps=2"))
    manifest.write_text("\n".join(r for r in rows if json.loads(r)["patent_id"] not in
                                  ("D0900000", "D0900001")) + "\n")
    with pytest.raises(ConfigError, match=r"was trained on other data \(corpus-\w+: 24 figures "
                                          r"of 12 patents; now corpus-\w+: 20 figures of 10 "
                                          r"patents\): resuming would mix the two; start over "
                                          "with --no-resume"):
        train(_cfg(tmp_path, manifest, "run.max_steps=4"))
    result = train(_cfg(tmp_path, manifest, "run.max_steps=2", "run.resume=false"))
    assert result.record["data"]["counts"]["patents"] == 10


def test_a_corpus_rendered_again_to_the_same_crops_resumes(tmp_path, drawing_manifest,
                                                           monkeypatch):
    """A change to the code that cuts the drawings renders the corpus again (its cache key
    follows that code); when the crops come out the same, a run resumes onto them."""
    from training import prepare
    from training.trainer import train

    train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))
    keyed = prepare.fingerprint
    monkeypatch.setattr(prepare, "fingerprint", lambda *a, **k: "z" + keyed(*a, **k)[1:])
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4")).steps == 4
    assert len(list((tmp_path / "cache").glob("corpus-*"))) == 2      # (rendered again)


def test_a_resume_keeps_its_descriptions_and_refuses_others(tmp_path, drawing_manifest):
    """A resumed run does not describe the drawings again (an LLM enricher would retry the
    ones it failed on and change what the run trains on); the same drawings described anew
    and attached to the corpus by another run meanwhile are other training data."""
    import sqlite3

    from core.store import Store
    from training.prepare import attach_texts
    from training.trainer import train

    train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))
    [store] = (tmp_path / "cache").glob("corpus-*/descriptions.sqlite")
    with sqlite3.connect(store) as conn:        # what a retry of failed drawings would add
        changed = conn.execute("UPDATE descriptions SET text = text || ' (reworded)' "
                               "WHERE id % 3 = 0").rowcount
    assert changed
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=4")).steps == 4
    texts = (store.parent / "shard-00000.texts.json").read_text()
    assert "(reworded)" not in texts
    opened = Store(store)                       # another run's enrichment attached them
    attach_texts(store.parent, opened)
    opened.close()
    with pytest.raises(ConfigError, match="other descriptions of the same drawings"):
        train(_cfg(tmp_path, drawing_manifest, "run.max_steps=6"))
    assert train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2",
                      "run.resume=false")).steps == 2
    assert "(reworded)" in (store.parent / "shard-00000.texts.json").read_text()


def test_a_diverging_run_stops_and_exports_nothing(tmp_path, drawing_manifest):
    from training.trainer import TrainingDiverged, train

    with pytest.raises(TrainingDiverged, match="diverged"):
        train(_cfg(tmp_path, drawing_manifest, "optim.lr=1e30", "run.max_steps=8"))
    assert not (tmp_path / "run" / "model").exists()


def test_a_fresh_run_stopped_early_leaves_nothing_of_the_run_before(tmp_path, drawing_manifest):
    """--no-resume over a finished run that stops before its first checkpoint (diverged,
    interrupted) leaves neither the old checkpoint nor the old model beside its own log:
    the next run starts over instead of taking the old run up."""
    from training.trainer import TrainingDiverged, train

    train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))
    run = tmp_path / "run"
    assert (run / "checkpoint.pt").is_file() and (run / "model" / "model.json").is_file()
    with pytest.raises(TrainingDiverged, match="no checkpoint was saved before it"):
        train(_cfg(tmp_path, drawing_manifest, "optim.lr=1e30", "run.resume=false"))
    assert not (run / "checkpoint.pt").exists() and not (run / "model").exists()
    assert all(json.loads(x)["lr"] > 1 for x in (run / "log.jsonl").read_text().splitlines())
    again = train(_cfg(tmp_path, drawing_manifest, "run.max_steps=2"))
    assert again.steps == 2 and len((run / "log.jsonl").read_text().splitlines()) == 2


def test_cached_prefix_features_train_the_tail_only(tmp_path, drawing_manifest):
    from training.trainer import build_model, train

    cfg = _cfg(tmp_path, drawing_manifest, "model.freeze_blocks=2", "features.enabled=true",
               "features.views=2", "loss.losses=['clip','cls','cat','design']",
               "loss.weighting='fixed'")
    before = _weights(build_model(cfg))
    after = _weights(train(cfg).model)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("trunk.blocks.2.") for k in changed)
    assert not any(k.startswith(("trunk.blocks.0.", "trunk.blocks.1.", "trunk.conv_stem"))
                   for k in changed)
    assert list((tmp_path / "cache").glob("features-*/bank.json"))


def test_whitening_start_gives_the_style_stream_its_own_dimensions(tmp_path, drawing_manifest):
    """With a style stream the learned-whitening start puts the drawing's whitening in the
    first dimensions and the style statistics' in the last ``style_dim``, at equal weight."""
    from training.trainer import train

    cfg = _cfg(tmp_path, drawing_manifest, "model.freeze_blocks=6", "features.enabled=true",
               "features.split=6", "features.views=2", "model.init='whiten'",
               "model.style_blocks=1", "model.style_dim=8", "optim.epochs=0")
    model = train(cfg).model
    proj = model.clip.visual.head.proj.weight.detach()
    style = model.clip.visual.style_proj.weight.detach()
    assert model.spec.style_blocks == 1 and proj.shape[0] == style.shape[0] == 32
    assert proj[:24].abs().sum() > 0 and proj[24:].abs().sum() == 0
    assert style[:24].abs().sum() == 0 and style[24:].abs().sum() > 0
    from training.dataset import Corpus

    corpus = Corpus(next((tmp_path / "cache").glob("corpus-*")))
    crops = np.stack([corpus.image(i) for i in range(len(corpus))])[:, None]
    with torch.no_grad():
        v = model.clip.visual.eval()(model.normalize_batch(torch.from_numpy(crops)))
    ratio = float((v[:, :24].norm(dim=1) / v[:, 24:].norm(dim=1)).median())
    assert 0.5 < ratio < 2


def test_two_process_ddp_on_cpu(tmp_path, drawing_manifest):
    """torchrun with gloo: both ranks end with identical weights and the loss goes down."""
    script = tmp_path / "ddp_run.py"
    script.write_text(f"""
import os, sys, torch
sys.path.insert(0, {str(REPO)!r})
from training.config import load_config
from training.trainer import train
cfg = load_config({str(TINY)!r}, ["data.sources=['{drawing_manifest}']",
    "data.cache_dir='{tmp_path / 'cache'}'", "run.out_dir='{tmp_path / 'run'}'",
    "optim.epochs=6", "optim.batches_per_epoch=4", "optim.lr=0.01",
    "loss.weighting='fixed'", "run.log_every=1"])
result = train(cfg)
torch.save(result.model.clip.visual.state_dict(),
           {str(tmp_path)!r} + f"/rank{{os.environ['RANK']}}.pt")
""")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                           "2", "--standalone", str(script)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    w0 = torch.load(tmp_path / "rank0.pt")
    w1 = torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    losses = [json.loads(ln)["loss"] for ln in
              (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 24
    assert np.mean(losses[-6:]) < np.mean(losses[:6])
    assert json.loads((tmp_path / "run" / "model" / "model.json").read_text()
                      )["training"]["world_size"] == 2
    from training.trainer import train        # one process draws other batches than two

    cfg = load_config(TINY, [f"data.sources=['{drawing_manifest}']",
                             f"data.cache_dir='{tmp_path / 'cache'}'",
                             f"run.out_dir='{tmp_path / 'run'}'", "optim.epochs=6",
                             "optim.batches_per_epoch=4", "optim.lr=0.01",
                             "loss.weighting='fixed'", "run.log_every=1"])
    with pytest.raises(ConfigError, match=r"made by 2 process\(es\), this run has 1: .* run "
                                          "it with torchrun --nproc_per_node 2, or start over"):
        train(cfg)


# -- command line -------------------------------------------------------------------------------
def test_cli_train_reports_a_bad_config_in_one_line(tmp_path, capsys):
    from core.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\narch = 'tiny_test'\nimage_sise = 96\n")
    assert main(["train", "--config", str(bad)]) == 1
    assert main(["train", "--config", str(tmp_path / "missing.toml")]) == 1
    bad.write_text("[model\n")
    assert main(["train", "--config", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "patent-examiner: error: unknown key(s) in [model]: image_sise"
    assert "cannot read the config" in err[1] and "not valid TOML" in err[2]
    assert not any("Traceback" in line for line in err)


def test_cli_train_names_missing_data_before_creating_anything(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.chdir(tmp_path)          # the config's ../shared/data is not found from here
    assert main(["train", "--config", str(REPO / "training" / "configs" / "default.toml"),
                 "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("patent-examiner: error: training data not found: data.sources "
                          "../shared/data/real_dev/manifest.jsonl, data.sources ")
    assert err.endswith(f"(relative paths are read from the working directory, {tmp_path})")
    assert list(tmp_path.iterdir()) == []            # neither the run nor runs/cache
    assert main(["train", "--config", str(TINY)]) == 1
    assert capsys.readouterr().err.strip() == "patent-examiner: error: no training data: " \
        "data.sources, data.deeppatent2 and data.synthetic are all empty"
    # an installed user has no training/configs/ folder: the built-in config by its name
    assert main(["train", "--config", "default", "--out", str(tmp_path / "run")]) == 1
    assert "training data not found: data.sources ../shared/data/real_dev" in \
        capsys.readouterr().err
    assert main(["train", "--config", "training/configs/default.toml"]) == 1
    assert "name a built-in config: default, gpu_full, tiny_test; e.g. --config default" \
        in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_train_reports_settings_that_do_not_fit_together(tmp_path, drawing_manifest,
                                                             capsys):
    from core.cli import main

    assert main(["train", "--config", str(TINY), "--out", str(tmp_path / "run"),
                 "--set", f"data.sources=['{drawing_manifest}']",
                 "--set", f"data.cache_dir='{tmp_path / 'cache'}'",
                 "--set", "features.enabled=true"]) == 1      # the tiny config trains all blocks
    assert capsys.readouterr().err.strip() == "patent-examiner: error: features.enabled needs " \
        "model.freeze_blocks >= 0 and features.split <= model.freeze_blocks"


def test_train_refuses_an_empty_corpus(tmp_path, drawing_manifest):
    from training.trainer import train

    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no training data: the sources gave no figures; "
                                          "first of 1 error"):
        train(_cfg(tmp_path, tmp_path / "empty"))
    assert not (tmp_path / "run").exists()
    everyone = [f"D09{i:05d}" for i in range(12)]
    with pytest.raises(ConfigError, match="all 24 figures belong to held-out patents"):
        train(_cfg(tmp_path, drawing_manifest, f"data.exclude_patents={everyone}"))


def test_class_losses_without_locarno_classes_are_refused_and_gaps_told(
        tmp_path, drawing_manifest, caplog):
    """L_cls/L_cat on data without a single Locarno class would silently be 0: refused, with
    the remedy; figures without a class among classified ones are counted in the log."""
    import json
    import logging

    from training.trainer import train

    rows = [json.loads(line) for line in drawing_manifest.read_text().splitlines()]
    bare = drawing_manifest.with_name("bare.jsonl")
    bare.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "locarno"}) + "\n"
                            for r in rows))
    with pytest.raises(ConfigError) as refused:
        train(_cfg(tmp_path, bare, "loss.losses=['clip', 'cls', 'cat']"))
    assert "none of the 24 training figures has a Locarno class" in str(refused.value)
    assert str(refused.value).endswith("""--set 'loss.losses=["clip"]'""")
    assert not (tmp_path / "run").exists()
    half = drawing_manifest.with_name("half.jsonl")
    kept = sorted({r["patent_id"] for r in rows})[::2]
    half.write_text("".join(json.dumps({k: v for k, v in r.items()
                                        if k != "locarno" or r["patent_id"] in kept}) + "\n"
                            for r in rows))
    with caplog.at_level(logging.WARNING, logger="training.datacheck"):
        train(_cfg(tmp_path, half, "loss.losses=['clip', 'cat']", "optim.epochs=1",
                   "run.max_steps=1"))
    assert "12 of 24 training figures have no Locarno class: L_cat learns from the other 12" \
        in caplog.text and "subclass" not in caplog.text


def test_cli_train_and_enrich(tmp_path, drawing_manifest, tiny_model):
    from core.cli import main
    from core.ingest import ingest
    from core.library import Library
    from core.models import save_checkpoint

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.read_text())
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run"),
                 "--set", f"data.sources=['{drawing_manifest}']",
                 "--set", f"data.cache_dir='{tmp_path / 'cache'}'",
                 "--set", "run.max_steps=2"]) == 0
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()

    save_checkpoint(tiny_model, tmp_path / "tiny_ck")
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [drawing_manifest], tiny_model, model_ref=str(tmp_path / "tiny_ck"),
               workers=0)
    assert main(["enrich", "--library", str(tmp_path / "lib"), "--per-figure", "5",
                 "--json"]) == 0
    with Library(tmp_path / "lib") as lib:
        keys = {r[0] for r in lib.store.conn.execute("SELECT figure_key FROM descriptions")}
        n = lib.store.conn.execute("SELECT COUNT(*) FROM descriptions").fetchone()[0]
    assert keys == {"", "fig:1", "fig:2"} and n == 12 * 3 * 5


def test_cross_validation_scoring_ranks_by_image_then_fuses_text(tmp_path, drawing_manifest):
    """training.evaluate (the ablation's protocol): perfect image vectors give perfect
    same-design ranks; uninformative image vectors plus a text match on the title give
    perfect prior-art ranks only once the text weight is on."""
    from training import distributed
    from training.evaluate import eval_set, patent_texts, score
    from training.trainer import build_model, prepare_data

    cfg = _cfg(tmp_path, drawing_manifest)
    corpus = prepare_data(cfg, build_model(cfg), distributed.Dist())
    es = eval_set(corpus, cfg.data.sources)
    patents = sorted(set(corpus.patent[es.rows]))
    assert len(patents) == 12 and len(es.queries) == 24      # every drawing sheet queries

    one_hot = np.eye(len(patents), dtype=np.float32)
    by_patent = one_hot[[patents.index(p) for p in corpus.patent[es.rows]]]
    res = score(es, by_patent, set(patents))
    assert res.metrics["same_design"]["patent"]["MRR@10"] == pytest.approx(1.0)

    words = ["chair", "lamp", "mug", "kettle"]

    def texts(batch):       # a stand-in text tower: which object the text names
        return torch.tensor([[float(w in t.lower()) for w in words] + [0.1] for t in batch])

    blank = np.ones((len(es.rows), 4), np.float32) / 2
    held = set(patents)
    image_only = score(es, blank, held).metrics["prior_art_subclass"]["patent"]["mAP"]
    fused = score(es, blank, held, text=(patent_texts(es, texts), texts), weight=1.0)
    assert fused.metrics["prior_art_subclass"]["patent"]["mAP"] == pytest.approx(1.0)
    assert image_only < 0.9, image_only


def test_ablation_runs_a_recipe_that_trains_the_whole_trunk(tmp_path, drawing_manifest,
                                                            capsys):
    """bench/ablation.py with tiny_test.toml (freeze_blocks = -1, no cached features) scores
    on the crops; unknown variants and settings that do not fit are one-line errors."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ablation", REPO / "bench" / "ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    with pytest.raises(SystemExit) as info:
        ablation.main(["--variants", "untrained,bogus"])
    assert info.value.code == 2
    assert "--variants: unknown variant 'bogus' (variants: untrained,whiten_only," in \
        capsys.readouterr().err
    run = ["--config", str(TINY), "--set", f"data.sources=['{drawing_manifest}']",
           "--set", f"data.cache_dir='{tmp_path / 'cache'}'", "--set", "run.max_steps=2",
           "--folds", "2", "--variants", "clip_only", "--text", "", "--out", str(tmp_path / "out")]
    assert ablation.main(run) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["clip_only"]["deployed:prior_art_subclass/mAP"] is not None
    assert ablation.main(run + ["--set", "features.enabled=true"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "ablation: error: " \
        "features.enabled needs model.freeze_blocks >= 0 and features.split <= " \
        "model.freeze_blocks"


def test_ablation_refuses_bad_arguments_in_one_line_and_scores_folds_without_queries(
        tmp_path, drawing_manifest, capsys):
    """No variant, fewer than 2 folds and missing sources are one-line errors before any data
    is prepared; a fold with no prior-art query prints "–" for its mAP."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ablation", REPO / "bench" / "ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    base = ["--config", str(TINY), "--set", f"data.cache_dir='{tmp_path / 'cache'}'",
            "--variants", "untrained", "--out", str(tmp_path / "out")]
    for bad, said in ((["--variants", ""], "--variants: name at least one variant"),
                      (["--folds", "1"], "--folds: must be a whole number >= 2, not '1'"),
                      (["--folds", "-2"], "--folds: must be a whole number >= 2")):
        with pytest.raises(SystemExit) as info:
            ablation.main(base + bad)
        assert info.value.code == 2 and said in capsys.readouterr().err
    assert ablation.main(base + ["--set", "data.sources=['/nonexist.jsonl']"]) == 1
    assert capsys.readouterr().err.strip() == "ablation: error: training data not found: " \
        "data.sources /nonexist.jsonl"
    assert not (tmp_path / "cache").exists()
    # one patent a fold: the first of each subclass has no earlier patent to find
    assert ablation.main(base + ["--set", f"data.sources=['{drawing_manifest}']",
                                 "--folds", "12", "--text", "none"]) == 0   # (as documented)
    assert ": prior-art mAP – same-design MRR@10 " in capsys.readouterr().out


def test_a_worker_crash_costs_one_group_not_the_corpus_build():
    """training.prepare.ordered_map: a group that kills its worker process gets the crash
    stand-in; every other group still yields its result, in order."""
    import functools
    import operator

    from training.prepare import ordered_map

    groups = [functools.partial(abs, -k) for k in range(6)]
    groups[2] = functools.partial(os._exit, 3)          # the worker dies on this one
    out = list(ordered_map(operator.call, groups, workers=2, ahead=2,
                           crashed=lambda g: "crashed"))
    assert out == [0, 1, "crashed", 3, 4, 5]
    with pytest.raises(Exception, match="terminated abruptly"):
        list(ordered_map(operator.call, groups, workers=1))
    dead = [functools.partial(os._exit, 3)] * 4             # a setup where no worker survives
    with pytest.raises(Exception, match="terminated abruptly"):
        list(ordered_map(operator.call, dead, workers=2, crashed=lambda g: "crashed"))


def test_corpus_cache_key_follows_contents_not_timestamps(tmp_path, drawing_manifest):
    """A re-laid copy of the data (new mtimes) reuses the rendered corpus; an edited manifest,
    a changed page image or a file added to a source folder renders it again."""
    import shutil

    from core.drawing import DrawingConfig
    from training.prepare import fingerprint

    root = tmp_path / "data"
    shutil.copytree(drawing_manifest.parent, root)
    extra = tmp_path / "grants"
    extra.mkdir()
    (extra / "a.xml").write_text("<grant/>")
    data = {"sources": [str(root / "manifest.jsonl"), str(extra)]}
    key = fingerprint(data, DrawingConfig())

    for f in [*root.iterdir(), *extra.iterdir()]:
        os.utime(f, (1_000_000_000, 1_000_000_000))
    assert fingerprint(data, DrawingConfig()) == key

    manifest = root / "manifest.jsonl"
    text = manifest.read_text()
    manifest.write_text(text.replace("D0900000", "D0900009", 1))   # same size, new content
    assert fingerprint(data, DrawingConfig()) != key
    manifest.write_text(text)
    assert fingerprint(data, DrawingConfig()) == key

    page = root / "D0900001_1.png"
    page.write_bytes(page.read_bytes() + b"\0")
    assert fingerprint(data, DrawingConfig()) != key
    page.write_bytes(page.read_bytes()[:-1])
    (extra / "b.xml").write_text("<grant/>")
    assert fingerprint(data, DrawingConfig()) != key
    (extra / "b.xml").unlink()
    assert fingerprint(data, DrawingConfig()) == key
    assert fingerprint(data, DrawingConfig(image_size=160)) != key


def test_a_description_store_that_is_not_there_is_refused(tmp_path, drawing_manifest):
    from training.trainer import train

    with pytest.raises(ConfigError, match="data.store .*: no library there"):
        train(_cfg(tmp_path, drawing_manifest, f"data.store='{tmp_path / 'nonexist_lib'}'"))
    assert not (tmp_path / "nonexist_lib").exists()


def test_descriptions_for_a_library_are_written_under_its_writers_lock(
        tmp_path, drawing_manifest, tiny_model, capsys):
    """data.store naming a library: training describes into it as `patent-examiner enrich`
    does, so not while another process writes it (a rebuild's swap would drop them)."""
    from core.ingest import ingest
    from core.library import Library, LibraryBusyError
    from training.trainer import train

    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [drawing_manifest], tiny_model, workers=0)
    cfg = _cfg(tmp_path, drawing_manifest, f"data.store='{tmp_path / 'lib'}'")
    with Library(tmp_path / "lib") as other, other.write_lock():
        with pytest.raises(LibraryBusyError, match="another process is writing"):
            train(cfg)
        assert not list((tmp_path / "cache").glob("corpus-*"))    # refused before rendering
        from training.cli import main                   # python -m training: one line
        assert main(["--config", str(TINY), "--set", f"data.sources=['{drawing_manifest}']",
                     "--set", f"data.cache_dir='{tmp_path / 'cache'}'", "--set",
                     f"data.store='{tmp_path / 'lib'}'", "--out", str(tmp_path / "r2")]) == 1
        err = capsys.readouterr().err
        assert "error: another process is writing to the library" in err
        assert "Traceback" not in err
    count = "SELECT COUNT(*) FROM descriptions"
    with Library(tmp_path / "lib") as lib:
        assert lib.store.conn.execute(count).fetchone()[0] == 0
    assert train(cfg).steps > 0
    with Library(tmp_path / "lib") as lib:
        assert lib.store.conn.execute(count).fetchone()[0] > 0


def test_the_recorded_commit_says_when_the_code_had_uncommitted_changes(tmp_path):
    import subprocess

    from training.export import git_commit

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "a")
    clean = git_commit(tmp_path)
    assert len(clean) == 40 and "+" not in clean
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == clean + "+dirty"
