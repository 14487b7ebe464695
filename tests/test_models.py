"""Model runtime: registry, offline ImageNet weights, checkpoints that carry their config."""
import hashlib
import json
import os
import re
import time

import numpy as np
import pytest
import torch

from core.models import (ModelError, create_model, list_models, load_checkpoint, load_model,
                         save_checkpoint)


def test_registry_has_the_papers_backbones():
    names = set(list_models())
    assert {"efficientnet_lite0", "efficientnet_b0", "resnet50", "vit_base_patch32_224",
            "swinv2_base", "tiny_test"} <= names


def test_hub_is_offline():
    import core  # noqa: F401

    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_tiny_model_is_tiny_and_encodes(tiny_model):
    n = sum(p.numel() for p in tiny_model.clip.parameters())
    assert 100_000 < n < 1_000_000
    x = tiny_model.images_to_tensor([np.full((64, 64), 255, np.uint8)] * 3)
    e = tiny_model.encode_images(x)
    assert e.shape == (3, 32)
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    t = tiny_model.encode_text(["a drinking mug", "a table lamp"])
    assert t.shape == (2, 32)


def test_untrained_model_id_is_stable_and_content_addressed(tiny_model):
    again = create_model("tiny_test", pretrained=None)
    assert again.model_id == tiny_model.model_id
    other = create_model("tiny_test", pretrained=None, seed=1)
    assert other.model_id != tiny_model.model_id


def test_checkpoint_roundtrip(tmp_path, tiny_model):
    with torch.no_grad():
        tiny_model.clip.visual.head.proj.weight.mul_(1.5)   # "training"
    old = os.umask(0o022)
    try:
        save_checkpoint(tiny_model, tmp_path / "ck", training={"summary": "unit test"})
    finally:
        os.umask(old)
    side = json.loads((tmp_path / "ck" / "model.json").read_text())
    assert side["spec"]["preprocess"]["size"] == 64
    # colleagues can read a model shared from a group folder, as they can its sidecar
    assert {(tmp_path / "ck" / f).stat().st_mode & 0o777
            for f in ("model.json", "model.safetensors")} == {0o644}
    assert "drawing" in side["spec"] and side["embed_dim"] == 32
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.model_id == side["model_id"] != create_model("tiny_test", None).model_id
    x = tiny_model.images_to_tensor([np.random.default_rng(0).integers(0, 255, (64, 64),
                                                                        dtype=np.uint8)])
    assert torch.allclose(loaded.encode_images(x), tiny_model.encode_images(x), atol=1e-6)
    assert load_model(str(tmp_path / "ck")).model_id == loaded.model_id


def test_a_checkpoint_keeps_its_own_input_size(tmp_path):
    """A model made at another input size (a larger size for line detail) is rebuilt at that
    size from its sidecar, whatever the registered default (64 for tiny_test)."""
    model = create_model("tiny_test", pretrained=None, image_size=48)
    assert model.image_size == model.drawing_config.image_size == 48
    assert model.model_id != create_model("tiny_test", pretrained=None).model_id
    save_checkpoint(model, tmp_path / "ck")
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.image_size == loaded.drawing_config.image_size == 48
    assert tuple(loaded.clip.visual.image_size) == (48, 48)
    x = model.images_to_tensor([np.random.default_rng(0).integers(0, 255, (48, 48),
                                                                  dtype=np.uint8)])
    assert torch.allclose(loaded.encode_images(x), model.encode_images(x), atol=1e-6)


def test_a_checkpoint_of_another_configuration_is_refused_clearly(tmp_path, tiny_model):
    save_checkpoint(tiny_model, tmp_path / "ck")
    side_path = tmp_path / "ck" / "model.json"
    side = json.loads(side_path.read_text())
    side["spec"]["model_cfg"]["vision_cfg"]["timm_pool"] = "max"
    side_path.write_text(json.dumps(side))
    with pytest.raises(ModelError, match="configuration differs .* vision_cfg"):
        load_checkpoint(tmp_path / "ck")


def test_damaged_checkpoint_is_refused(tmp_path, tiny_model):
    save_checkpoint(tiny_model, tmp_path / "ck")
    w = tmp_path / "ck" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_checkpoint(tmp_path / "ck")
    sidecar = json.loads((tmp_path / "ck" / "model.json").read_text())
    cut = bytes(data[:len(data) // 3])      # cut off, then checksummed by hand: no traceback
    w.write_bytes(cut)
    (tmp_path / "ck" / "model.json").write_text(json.dumps(
        {**sidecar, "weights_sha256": hashlib.sha256(cut).hexdigest()}))
    with pytest.raises(ModelError, match=r"model\.safetensors: damaged, or not a safetensors "
                                         r"file \(.*\); export the model again"):
        load_checkpoint(tmp_path / "ck")
    (tmp_path / "ck" / "model.json").unlink()
    with pytest.raises(ModelError, match="not a patent-examiner checkpoint"):
        load_checkpoint(tmp_path / "ck")


def test_pickled_weights_are_not_executed(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    bad = tmp_path / "trunk.pth"
    with open(bad, "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(ModelError) as caught:
        create_model("tiny_test", pretrained=str(bad))
    assert not (tmp_path / "pwned").exists()
    said = str(caught.value)        # one line, not PyTorch's advice to switch the guard off
    assert "\n" not in said and "weights_only" not in said and "plain tensors" in said


def test_truncated_weights_are_said_to_be_so(tmp_path):
    """A weights file cut short (an interrupted copy): said in a whole sentence, not
    PyTorch's internal error cut off mid-word."""
    whole = tmp_path / "whole.pth"
    torch.save(create_model("tiny_test", pretrained=None).clip.visual.trunk.state_dict(), whole)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ModelError) as caught:
        create_model("tiny_test", pretrained=str(cut))
    assert str(caught.value) == (f"{cut}: not a plain tensor state dict (the file is "
                                 "truncated or damaged: not a whole PyTorch file)")


def test_unknown_model_name():
    with pytest.raises(ModelError, match="neither a registered architecture"):
        load_model("no_such_model")


@pytest.mark.slow
def test_offline_imagenet_lite0_classifies_photos_as_before():
    """The package's EfficientNet-Lite0 weights mapped by position onto timm still classify
    photos: a cat photo as a cat class, a coffee photo as espresso/cup."""
    import timm
    from skimage import data as skdata

    from core.models._imagenet import packaged_state_dict

    net = timm.create_model("efficientnet_lite0", pretrained=False)
    net.load_state_dict(packaged_state_dict("efficientnet_lite0"))
    net.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def top5(img):
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
        x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear",
                                            antialias=True)
        with torch.no_grad():
            return net((x - mean) / std).topk(5).indices[0].tolist()

    cats = set(range(281, 286))           # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert top5(skdata.chelsea())[0] in cats
    assert set(top5(skdata.coffee())[:3]) & {967, 968, 504}   # espresso, cup, coffee mug


def test_hflip_tta_makes_mirror_images_equal_and_survives_a_checkpoint(tmp_path):
    from core.embed import CpuEncoder

    plain = create_model("tiny_test", pretrained=None)
    flip = create_model("tiny_test", pretrained=None, hflip_tta=True)
    assert flip.model_id != plain.model_id and flip.spec.hflip_tta
    rng = np.random.default_rng(1)
    im = rng.integers(0, 255, (64, 64), dtype=np.uint8)
    x = flip.images_to_tensor([im, im[:, ::-1]])
    e = flip.encode_images(x)
    assert torch.allclose(e[0], e[1], atol=1e-5)
    p = plain.encode_images(plain.images_to_tensor([im, im[:, ::-1]]))
    assert not torch.allclose(p[0], p[1], atol=1e-3)      # the tower itself is not symmetric
    save_checkpoint(flip, tmp_path / "ck")
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.spec.hflip_tta and loaded.model_id == flip.model_id
    assert torch.allclose(loaded.encode_images(x), e, atol=1e-6)
    assert np.abs(CpuEncoder(loaded)([im, im[:, ::-1]]) - e.numpy()).max() < 1e-5


def test_minilm_text_drops_padding_without_changing_embeddings():
    """Short titles are encoded without the 128-column padding, to the same vectors."""
    import torch

    model = load_model("default")
    texts = ["Drinking cup", "FIG. 3 is a left side elevational view of the drinking cup"]
    trimmed = model.tokenize(texts)
    padded = model.tokenizer(texts)
    assert trimmed.shape[1] < padded.shape[1] == 128
    with torch.inference_mode():
        reference = torch.nn.functional.normalize(model.clip.encode_text(padded).float(), dim=-1)
    assert torch.allclose(model.encode_text(texts), reference, atol=1e-5)


#: Texts that exercise the cleaning and truncation the light tokenizer must reproduce.
AWKWARD_TEXTS = ["Drinking cup", "", "  FIG. 3 is a\tleft side\n view  ", "Cup &amp;amp; saucer",
                 "caf\u00c3\u00a9 chair", "Lampe \u00e0 poser \u2014 \u201cBauhaus\u201d",
                 "\u676f\u5b50 (cup)", "\u00bd-inch D-ring", " ".join(["handle"] * 300)]


def test_the_light_tokenizer_gives_open_clips_token_ids():
    """The tokenizer of the cached text graph runs without transformers; its ids must be the
    ones the network's own tokenizer gives (cleaning, special tokens, truncation at 128)."""
    import torch

    from core.models import _text_graph

    model = load_model("default")
    fast = _text_graph.FastTokenizer(_text_graph._folder(model.spec), 128)
    for texts in (AWKWARD_TEXTS, AWKWARD_TEXTS[:1], AWKWARD_TEXTS[-1:]):
        assert torch.equal(fast(texts), model.tokenize(texts)), texts
    assert fast(AWKWARD_TEXTS[-1:]).shape == (1, 128)


def test_a_seen_checkpoint_encodes_text_from_the_cached_tower_graph():
    """Text is encoded by the frozen tower's cached graph when the network is not built: same
    vectors, no open_clip network; a damaged graph file is replaced and costs only time."""
    import torch

    from core import _graph_cache
    from core.embed import CpuEncoder
    from core.models import _text_graph

    first = load_model("default")
    expected = first.encode_text(AWKWARD_TEXTS)
    path = _graph_cache.text_graph_path(_text_graph.tower_key(first.spec))
    assert path.is_file()                       # traced by the eager encoding
    CpuEncoder(first)([np.full((224, 224), 255, np.uint8)])     # drawings cached too

    second = load_model("default")
    assert not second.is_built
    assert torch.allclose(second.encode_text(AWKWARD_TEXTS), expected, atol=1e-6)
    assert torch.allclose(second.encode_text(AWKWARD_TEXTS[1:3]), expected[1:3], atol=1e-6)
    assert not second.is_built                  # the graph, not the network, encoded them

    path.write_bytes(path.read_bytes()[:5000])      # a truncated file
    third = load_model("default")
    assert torch.allclose(third.encode_text(AWKWARD_TEXTS), expected, atol=1e-6)
    assert third.is_built                       # the network stood in ...
    fourth = load_model("default")              # ... and traced the tower again
    assert torch.allclose(fourth.encode_text(AWKWARD_TEXTS), expected, atol=1e-6)
    assert not fourth.is_built


def test_a_tower_trained_with_the_model_is_not_cached_as_a_package_tower(tmp_path):
    """Only a frozen package tower has a graph of its own: a tower whose weights live in the
    checkpoint (tiny_test) keeps encoding text with the network."""
    from core import _graph_cache
    from core.models import _text_graph

    save_checkpoint(create_model("tiny_test", pretrained=None, seed=5), tmp_path / "ck")
    model = load_checkpoint(tmp_path / "ck")
    assert _text_graph.tower_key(model.spec) is None
    before = sorted((_graph_cache.cache_dir() / "text").glob("*.pt"))
    model.encode_text(["a drinking mug"])
    assert model.is_built
    assert sorted((_graph_cache.cache_dir() / "text").glob("*.pt")) == before


def test_a_checkpoint_seen_before_encodes_drawings_without_building_its_network(tmp_path):
    """The second load of a checkpoint defers open_clip and the text tower: drawings go through
    the frozen graph the first load cached, with the same vectors; text builds the network."""
    from core import _graph_cache
    from core.embed import CpuEncoder

    save_checkpoint(create_model("tiny_test", pretrained=None, seed=3), tmp_path / "ck")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(3)]
    first = load_checkpoint(tmp_path / "ck")
    assert first.is_built      # nothing cached yet: built and checked at once
    expected = CpuEncoder(first)(images)
    expected_text = first.encode_text(["a drinking mug"])
    assert _graph_cache.has_graph(first.model_id)

    second = load_checkpoint(tmp_path / "ck")
    assert not second.is_built and second.model_id == first.model_id
    assert second.embed_dim == first.embed_dim and second.image_size == first.image_size
    assert np.array_equal(CpuEncoder(second)(images), expected)
    assert not second.is_built
    assert torch.equal(second.encode_text(["a drinking mug"]), expected_text)
    assert second.is_built


def test_a_damaged_graph_cache_is_traced_again(tmp_path):
    from core import _graph_cache, embed
    from core.embed import CpuEncoder

    save_checkpoint(create_model("tiny_test", pretrained=None, seed=4), tmp_path / "ck")
    image = [np.full((64, 64), 255, np.uint8)]
    expected = CpuEncoder(load_checkpoint(tmp_path / "ck"))(image)
    model = load_checkpoint(tmp_path / "ck")
    path = _graph_cache.graph_path(model.model_id)
    path.write_bytes(path.read_bytes()[:1000])      # a truncated file
    embed._FROZEN.clear()                           # as in a new process
    assert np.array_equal(CpuEncoder(model)(image), expected)
    assert model.is_built and len(path.read_bytes()) > 1000    # rewritten whole


def test_models_in_memory_are_not_cached_and_the_cache_is_bounded(tmp_path):
    from core import _graph_cache
    from core.embed import CpuEncoder

    in_memory = create_model("tiny_test", pretrained=None, seed=987)    # (no other test's)
    CpuEncoder(in_memory)([np.full((64, 64), 255, np.uint8)])
    assert not _graph_cache.has_graph(in_memory.model_id)
    for seed in range(_graph_cache.KEEP + 2):
        save_checkpoint(create_model("tiny_test", pretrained=None, seed=10 + seed),
                        tmp_path / f"ck{seed}")
        CpuEncoder(load_checkpoint(tmp_path / f"ck{seed}"))([np.full((64, 64), 255, np.uint8)])
    assert len(list(_graph_cache.cache_dir().glob("*.pt"))) <= _graph_cache.KEEP
    assert _graph_cache.has_graph(load_checkpoint(tmp_path / f"ck{_graph_cache.KEEP + 1}")
                                  .model_id)


def test_what_a_killed_cache_write_left_behind_is_cleaned_up(tmp_path):
    """A process killed while writing a graph leaves its temporary file; the next write removes
    such files once they are old, and leaves a fresh one (another process may be writing it)."""
    from core import _graph_cache
    from core.embed import CpuEncoder

    folder = _graph_cache.cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / ".graph-stale", folder / ".graph-fresh"
    stale.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"x" * 1000)
    old = time.time() - _graph_cache.STALE_TMP_S - 60
    os.utime(stale, (old, old))
    save_checkpoint(create_model("tiny_test", pretrained=None, seed=21), tmp_path / "ck")
    CpuEncoder(load_checkpoint(tmp_path / "ck"))([np.full((64, 64), 255, np.uint8)])
    assert not stale.exists() and fresh.exists()
    fresh.unlink()


def test_a_model_dropped_by_its_user_is_freed_with_its_encoder():
    import gc
    import weakref

    from core.embed import encoder_for

    model = create_model("tiny_test", pretrained=None, seed=6)
    encoder_for(model)([np.full((64, 64), 255, np.uint8)])
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_style_stream_starts_as_the_plain_tower_and_survives_a_checkpoint(tmp_path):
    """A style stream adds style_proj(Gram statistics of an early stage): zero at first (the
    plain tower's vectors), carried in the spec and id, saved and reloaded with its weights,
    and the same through the frozen CPU graph and under mirror-image TTA."""
    from core.embed import CpuEncoder
    from core.models import ModelError, enable_style_stream

    plain = create_model("tiny_test", pretrained=None)
    styled = create_model("tiny_test", pretrained=None, style_blocks=1)
    assert styled.model_id != plain.model_id and styled.spec.style_blocks == 1
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(3)]
    x = styled.images_to_tensor(images)
    assert torch.allclose(styled.encode_images(x), plain.encode_images(x), atol=1e-6)
    torch.nn.init.normal_(styled.clip.visual.style_proj.weight, std=0.1)
    e = styled.encode_images(x)
    assert not torch.allclose(e, plain.encode_images(x), atol=1e-3)
    save_checkpoint(styled, tmp_path / "ck")
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.spec.style_blocks == 1 and loaded.model_id != plain.model_id
    assert torch.allclose(loaded.encode_images(x), e, atol=1e-3)     # float16 weights
    assert np.abs(CpuEncoder(loaded)(images) - loaded.encode_images(x).numpy()).max() < 1e-5
    loaded.add_hflip_tta()
    m = loaded.encode_images(loaded.images_to_tensor([images[0], images[0][:, ::-1]]))
    assert torch.allclose(m[0], m[1], atol=1e-5)
    with pytest.raises(ModelError, match="before mirror-image TTA"):
        enable_style_stream(create_model("tiny_test", pretrained=None,
                                         hflip_tta=True).clip.visual, 1)
    with pytest.raises(ModelError, match="blocks"):
        create_model("tiny_test", pretrained=None, style_blocks=99)


def test_style_statistics_ignore_where_the_strokes_are():
    """The Gram statistics describe how a drawing is drawn, not its layout: moving the same
    strokes around leaves them unchanged, other strokes change them."""
    from core.models._style import style_statistics

    rng = np.random.default_rng(0)
    maps = torch.from_numpy(rng.random((1, 4, 16, 16)).astype(np.float32))
    shuffled = maps.flatten(2)[:, :, torch.randperm(256)].view(1, 4, 16, 16)
    other = torch.from_numpy(rng.random((1, 4, 16, 16)).astype(np.float32) ** 3)
    s, t, o = style_statistics(maps), style_statistics(shuffled), style_statistics(other)
    assert s.shape == (1, 10)
    assert torch.allclose(s, t, atol=1e-5)
    assert (s - o).abs().max() > 0.1


def test_the_shipped_model_records_the_patents_it_was_trained_on():
    import json

    from core.provenance import training_patents
    from resources import MODELS_DIR

    meta = json.loads((MODELS_DIR / "default" / "model.json").read_text())
    seen = training_patents("default", meta["model_id"])
    assert seen is not None and len(seen) == meta["training"]["data"]["counts"]["patents"]
    assert all(p.startswith("D") for p in seen)


def test_an_edited_checkpoint_sidecar_is_refused_even_with_a_cached_graph(tmp_path):
    """The id stands for spec + weights: a model.json changed by hand (here the drawing
    preprocessing) is refused, also on the fast path that skips building the network."""
    from core.embed import CpuEncoder

    model = create_model("tiny_test", pretrained=None, seed=23)
    folder = save_checkpoint(model, tmp_path / "ck")
    CpuEncoder(load_checkpoint(folder))([np.full((64, 64), 255, np.uint8)])   # caches a graph
    side_path = folder / "model.json"
    side = json.loads(side_path.read_text())
    side["spec"]["drawing"]["margin"] = side["spec"]["drawing"].get("margin", 0) + 0.1
    side_path.write_text(json.dumps(side))
    with pytest.raises(ModelError, match="does not match its settings and weights"):
        load_checkpoint(folder)


def test_a_checkpoint_path_that_is_not_there_is_named(tmp_path):
    """A mistyped file inside a checkpoint folder used to load that folder's model."""
    folder = save_checkpoint(create_model("tiny_test", pretrained=None), tmp_path / "ck")
    with pytest.raises(ModelError, match="does_not_exist: no such checkpoint"):
        load_checkpoint(folder / "does_not_exist")
    with pytest.raises(ModelError, match="nowhere: no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere")


def test_an_installed_checkpoint_loads_by_the_name_models_lists(tmp_path, monkeypatch):
    from core.models import _factory

    monkeypatch.setattr(_factory, "MODELS_DIR", tmp_path)
    mine = save_checkpoint(create_model("tiny_test", pretrained=None, seed=3), tmp_path / "mine")
    assert load_model("mine").model_id == load_checkpoint(mine).model_id
    with pytest.raises(ModelError, match="an installed checkpoint"):
        load_model("theirs")
    (tmp_path / "work" / "mine").mkdir(parents=True)    # a folder of that name, no model
    monkeypatch.chdir(tmp_path / "work")
    assert load_model("mine").model_id == load_checkpoint(mine).model_id


def test_a_bare_model_name_does_not_change_with_the_working_folder(tmp_path, monkeypatch):
    """A library remembers an installed checkpoint or an architecture by name: a checkpoint
    folder of that name in the working folder does not replace it (a folder here is given
    as a path: ./NAME)."""
    from core.models import _factory

    monkeypatch.setattr(_factory, "MODELS_DIR", tmp_path / "installed")
    mine = save_checkpoint(create_model("tiny_test", pretrained=None, seed=3),
                           tmp_path / "installed" / "mine")
    arch = load_model("tiny_test:random").model_id
    other = create_model("tiny_test", pretrained=None, seed=7)
    work = tmp_path / "work"
    for name in ("mine", "tiny_test", "tiny_test:random", "here"):
        save_checkpoint(other, work / name)
    monkeypatch.chdir(work)
    assert load_model("mine").model_id == load_checkpoint(mine).model_id
    assert load_model("tiny_test:random").model_id == arch
    assert load_model("tiny_test").model_id == arch
    assert load_model("./mine").model_id == other.model_id
    assert load_model("here").model_id == other.model_id      # no other model of that name


def test_what_a_model_spec_needs_on_disk_is_named_when_gone(tmp_path):
    from core.models import missing_file

    weights = tmp_path / "oc.bin"
    weights.write_bytes(b"x")
    assert missing_file(f"open_clip:ViT-S-32@{weights}") is None
    assert missing_file(f"open_clip:ViT-S-32@{tmp_path / 'gone.bin'}") == str(tmp_path /
                                                                             "gone.bin")
    assert missing_file(str(tmp_path / "ck")) == str(tmp_path / "ck")
    assert [missing_file(s) for s in ("default", "tiny_test:random", "efficientnet_lite0",
                                      str(tmp_path))] == [None] * 4


def test_a_library_whose_model_folder_moved_says_so(tmp_path):
    """Built with a checkpoint by path, then the folder moved: the library names the folder
    it was built with and how to go on, not 'neither a registered architecture ...'."""
    from core.library import Library, LibraryError

    ck = save_checkpoint(create_model("tiny_test", pretrained=None, seed=3), tmp_path / "ck")
    model = load_checkpoint(ck)
    with Library(tmp_path / "lib", create=True) as lib:
        with lib.store.transaction() as conn:
            lib.bind_model(conn, model, str(ck))
    ck.rename(tmp_path / "moved")
    with Library(tmp_path / "lib") as lib:
        with pytest.raises(LibraryError, match=f"built with the model at {ck}, which is not "
                                               "there now: put it back, or give its new place once "
                                               "with --model"):
            lib.load_model()
        assert lib.load_model(str(tmp_path / "moved")).model_id == model.model_id
    with Library(tmp_path / "lib") as lib:          # told once, remembered
        assert lib.load_model().model_id == model.model_id



def test_an_open_clip_file_is_recorded_where_it_is_and_said_how_to_find_again(
        tmp_path, monkeypatch):
    """``--model open_clip:ARCH@PATH`` given relative (or with ~) is recorded as the absolute
    path, as a checkpoint folder is (the library lost it in any other folder); gone, the
    message says to name the new place in the same form (a bare path is not an open_clip
    file)."""
    from core import cli
    from core.library import Library, LibraryError
    from core.models._factory import load_open_clip_checkpoint

    seen = []
    monkeypatch.setattr(cli, "cmd_search", lambda args: seen.append(args.model) or 0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for given, kept in (("open_clip:ViT-S-32@oc dir/w.bin", tmp_path / "oc dir" / "w.bin"),
                        ("open_clip:ViT-S-32@~/w.bin", tmp_path / "home" / "w.bin")):
        assert cli.main(["search", "--text", "chair", "--library", str(tmp_path / "lib"),
                         "--model", given, "--no-log"]) == 0
        assert seen[-1] == f"open_clip:ViT-S-32@{kept}"
    with pytest.raises(ModelError, match=f"open_clip weights not found: {tmp_path}/home/w.bin"):
        load_open_clip_checkpoint("ViT-S-32", "~/w.bin")
    (tmp_path / "home").mkdir()
    for text in ("hello world, not weights", "not weights at all"):    # (said as such)
        (tmp_path / "home" / "w.bin").write_text(text)
        with pytest.raises(ModelError, match=r"cannot load as open_clip ViT-S-32 \(not a "
                                             r"PyTorch (weights )?file"):
            load_open_clip_checkpoint("ViT-S-32", "~/w.bin")
    with Library(tmp_path / "lib", create=True) as lib:
        with lib.store.transaction() as conn:
            lib.bind_model(conn, create_model("tiny_test", pretrained=None),
                           f"open_clip:ViT-S-32@{tmp_path / 'w.bin'}")
        with pytest.raises(LibraryError, match=re.escape(
                "give its new place once with --model open_clip:ViT-S-32@NEW-PATH (")):
            lib.load_model()
    with Library(tmp_path / "lib2", create=True) as lib:    # an "@" in the file's own name
        with lib.store.transaction() as conn:
            lib.bind_model(conn, create_model("tiny_test", pretrained=None),
                           f"open_clip:ViT-S-32@{tmp_path / 'dir with space' / 'w@1.bin'}")
        with pytest.raises(LibraryError) as caught:
            lib.load_model()
    assert caught.value.moved_to(tmp_path / "moved.bin") == \
        f"open_clip:ViT-S-32@{tmp_path / 'moved.bin'}"


def test_a_near_miss_open_clip_name_says_the_form_it_takes(tmp_path):
    """open_clip models come from a weights file on disk: a name without one, or the file
    given alone, is told the open_clip:ARCH@PATH form rather than "not a model"."""
    form = re.escape("open_clip:ARCH@/path/to/weights")
    for spec in ("open_clip:ViT-S-32", "open_clip:ViT-S-32@", "open_clip:@w.bin"):
        with pytest.raises(ModelError, match=form):
            load_model(spec)
    weights = tmp_path / "open_clip_pytorch_model.bin"
    torch.save({"w": torch.zeros(1)}, weights)
    with pytest.raises(ModelError, match=re.escape(f"open_clip:ARCH@{weights})")):
        load_model(str(weights))


def test_weights_that_do_not_fit_are_counted_by_kind(tmp_path):
    """PyTorch's refusal is paragraphs of key names, and its first line alone ("Error(s) in
    loading state_dict for CLIP:") gave no reason: the message counts the weights missing,
    extra and of another shape, and names the first of each."""
    from core.models._factory import _torch_reason

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    state = net.state_dict()
    state.pop("1.bias")
    state.update({"0.weight": torch.zeros(5, 3), "extra.a": torch.zeros(1),
                  "extra.b": torch.zeros(1), "extra.c": torch.zeros(1)})
    with pytest.raises(RuntimeError) as caught:
        net.load_state_dict(state)
    assert _torch_reason(caught.value) == (
        "the weights do not fit the architecture: 1 weight missing from the file (1.bias); "
        "3 weights not in the architecture (extra.a, extra.b ...); 1 weight of another shape "
        "(0.weight)")
    trunk = create_model("tiny_test", pretrained=None).clip.visual.trunk.state_dict()
    trunk["conv_stem.weight"] = torch.zeros(3)
    torch.save(trunk, tmp_path / "other.pth")
    with pytest.raises(ModelError, match=re.escape(
            "not trunk weights of tiny_test (the weights do not fit the architecture: 1 weight "
            "of another shape (conv_stem.weight))")):
        create_model("tiny_test", pretrained=str(tmp_path / "other.pth"))


@pytest.mark.parametrize("edit, said", [
    (lambda d: d.pop("model_id"), "incomplete checkpoint config (no model_id)"),
    (lambda d: d.pop("weights_sha256"), "incomplete checkpoint config (no weights_sha256)"),
    (lambda d: d["spec"].pop("arch"), "malformed model settings"),
    (lambda d: d["spec"].pop("preprocess"), "malformed model settings"),
    (lambda d: d.update(training="yes"), "malformed checkpoint config"),
])
def test_a_damaged_model_json_is_one_clear_error(tmp_path, edit, said):
    """A model.json with a field missing or of the wrong kind is a ModelError naming the
    file, not a KeyError or AttributeError out of the loader; ``training: null`` is none."""
    folder = save_checkpoint(create_model("tiny_test", pretrained=None), tmp_path / "ck")
    sidecar = json.loads((folder / "model.json").read_text())
    edit(sidecar)
    (folder / "model.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match=re.escape(f"model.json: {said}")):
        load_checkpoint(folder)


def test_a_model_json_that_is_not_an_object_or_has_no_training_info(tmp_path):
    folder = save_checkpoint(create_model("tiny_test", pretrained=None), tmp_path / "ck")
    sidecar = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**sidecar, "training": None}))
    assert load_checkpoint(folder).training_info == {}
    (folder / "model.json").write_text(json.dumps([sidecar]))
    with pytest.raises(ModelError, match="not a checkpoint config"):
        load_checkpoint(folder)


def test_an_untrained_models_id_does_not_follow_the_thread_count(tmp_path):
    """The seeded projection's QR differs in its last bits with the BLAS thread count, and the
    id hashed it: a library built in a shell (2 threads) refused the same model under torchrun
    or OMP_NUM_THREADS=1 ("the model it names is now ..."), and rebuilding did not help. A
    checkpoint saved of it keeps its id (the library it built opens with that checkpoint)."""
    threads = torch.get_num_threads()
    ids = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            ids.append(create_model("tiny_test", pretrained=None).model_id)
    finally:
        torch.set_num_threads(threads)
    assert ids[0] == ids[1]
    assert create_model("tiny_test", pretrained=None, seed=1).model_id != ids[0]
    proj = create_model("tiny_test", pretrained=None).clip.visual.head.proj.weight.detach()
    rows, cols = proj.shape
    assert torch.allclose(proj @ proj.T if rows <= cols else proj.T @ proj,
                          torch.eye(min(rows, cols)), atol=1e-5)       # orthonormal still
    saved = save_checkpoint(create_model("tiny_test", pretrained=None, seed=17), tmp_path / "c")
    assert load_checkpoint(saved).model_id == create_model("tiny_test", pretrained=None,
                                                           seed=17).model_id
