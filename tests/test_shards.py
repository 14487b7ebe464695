"""Sharded bulk embedding: two torchrun ranks (gloo, CPU) write exactly the vectors of a
single-process run, and merging the shards gives the library that ingesting directly gives."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.embed import CpuEncoder
from core.ingest import ingest
from core.library import Library
from core.models import create_model, load_model, save_checkpoint
from core.shards import (COMPLETE, RankShard, ShardError, ShardSet, add_shards,
                         embed_to_shards)

REPO = Path(__file__).resolve().parents[1]


def _by_page(folder: Path) -> dict:
    """(path, page) -> (boxes, vector bytes) over all shards of a folder."""
    out = {}
    for meta, vectors in ShardSet(folder).shards:
        start = 0
        for p in meta["pages"]:
            n = len(p["boxes"])
            out[(p["path"], p["page_index"])] = (p["boxes"], vectors[start:start + n].tobytes())
            start += n
    return out


def _library_vectors(lib: Library) -> dict:
    rows = lib.store.conn.execute("SELECT f.id, p.path, p.page_index, f.fig_index FROM figures "
                                  "f JOIN pages p ON p.id = f.page_id").fetchall()
    vecs = lib.index(verify="full").vectors_of([r[0] for r in rows])
    return {r[1:]: v.tobytes() for r, v in zip(rows, vecs)}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A saved tiny model: every process loads the same weights."""
    return save_checkpoint(create_model("tiny_test", pretrained=None),
                           tmp_path_factory.mktemp("model") / "tiny")


def test_two_ranks_write_the_vectors_of_one_process(sheets, checkpoint, tmp_path):
    model = load_model(str(checkpoint))
    embed_to_shards([sheets], tmp_path / "one", model, workers=0)
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "core.cli", "embed", str(sheets), "--out", str(tmp_path / "two"),
         "--model", str(checkpoint), "--workers", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "two" / COMPLETE).read_text())["world"] == 2
    one, two = _by_page(tmp_path / "one"), _by_page(tmp_path / "two")
    assert len(one) == len(sheets.read_text().splitlines())
    assert one == two

    with Library(tmp_path / "merged", create=True) as merged, \
            Library(tmp_path / "direct", create=True) as direct:
        report = add_shards(merged, tmp_path / "two", model)
        assert report.pages_added == len(one) and not report.errors
        again = add_shards(merged, tmp_path / "two", model)
        assert again.pages_added == 0 and again.pages_already_present == len(one)
        ingest(direct, [sheets], model, workers=0)
        assert _library_vectors(merged) == _library_vectors(direct)
        sql = "SELECT path, page_index, file_sha256 FROM pages ORDER BY path, page_index"
        hashes = merged.store.conn.execute(sql).fetchall()
        assert hashes == direct.store.conn.execute(sql).fetchall() and all(h for *_, h in hashes)
        segments = merged.manifest["segments"]
        assert all(a["max_date"] <= b["min_date"] for a, b in zip(segments, segments[1:]))


def test_shards_of_another_model_or_unfinished_are_refused(sheets, checkpoint, tmp_path):
    model = load_model(str(checkpoint))
    embed_to_shards([sheets], tmp_path / "s", model, workers=0)
    with Library(tmp_path / "lib", create=True) as lib:
        with pytest.raises(ShardError, match="model"):
            add_shards(lib, tmp_path / "s", create_model("tiny_test", pretrained=None, seed=3))
        (tmp_path / "s" / COMPLETE).unlink()
        with pytest.raises(ShardError, match="not finished"):
            add_shards(lib, tmp_path / "s", model)


def test_shards_whose_records_name_another_model_are_refused_by_their_vectors(sheets, tmp_path):
    """Records edited to name the library's model over vectors of another size were merged,
    and every later search failed (the index of another width); their size gives them away."""
    import json

    small = create_model("tiny_test", pretrained=None, seed=3)
    embed_to_shards([sheets], tmp_path / "s", small, workers=0)
    wide = create_model("efficientnet_lite0", pretrained=None)
    assert wide.embed_dim != small.embed_dim
    for path in [tmp_path / "s" / COMPLETE, *(tmp_path / "s").glob("shard-*/records.json")]:
        path.write_text(path.read_text().replace(small.model_id, wide.model_id))
    with Library(tmp_path / "lib", create=True) as lib:
        with pytest.raises(ShardError, match=f"its vectors have {small.embed_dim} dimensions, "
                                             f"but model {wide.model_id} makes "
                                             f"{wide.embed_dim}"):
            add_shards(lib, tmp_path / "s", wide)
        assert lib.info()["figures"] == 0
    assert json.loads((tmp_path / "s" / COMPLETE).read_text())["model_id"] == wide.model_id


def test_a_shard_folder_of_another_job_is_not_passed_off_as_this_one(sheets, checkpoint,
                                                                      tmp_path):
    model = load_model(str(checkpoint))
    out = tmp_path / "s"
    first = embed_to_shards([sheets], out, model, workers=0).path
    written = (first / "vectors.npy").read_bytes()
    assert embed_to_shards([sheets], out, model, workers=0) == RankShard(first, kept=True)
    with pytest.raises(ShardError, match="another model"):
        embed_to_shards([sheets], out, create_model("tiny_test", pretrained=None, seed=3),
                        workers=0)
    with pytest.raises(ShardError, match="other sources"):
        embed_to_shards([sheets, sheets.parent], out, model, workers=0)
    assert (first / "vectors.npy").read_bytes() == written
    with pytest.raises(ShardError, match="nothing to embed.*1 skipped"):
        embed_to_shards([tmp_path / "missing"], tmp_path / "none", model, workers=0)


def test_a_rerun_embeds_the_pages_added_to_its_sources_since(sheets, checkpoint, tmp_path,
                                                             capsys):
    """New grants in the job's source (here: rows added to its manifest) are embedded by the
    re-run, which says whether it kept or wrote the shard; add-shards then finds them all."""
    import shutil

    from core.cli import main

    src = tmp_path / "src"
    shutil.copytree(sheets.parent, src)
    rows = (src / "manifest.jsonl").read_text().splitlines(keepends=True)
    (src / "manifest.jsonl").write_text("".join(rows[:8]))
    run = ["embed", str(src / "manifest.jsonl"), "--out", str(tmp_path / "s"), "--model",
           str(checkpoint), "--workers", "0"]
    shard = tmp_path / "s" / "shard-00000-of-00001"
    assert main(run) == 0
    assert f"wrote {shard}: 8 pages" in capsys.readouterr().err
    assert main(run) == 0
    assert f"kept (its pages and patents have not changed since it was written) {shard}: " \
        "8 pages" in capsys.readouterr().err
    (src / "manifest.jsonl").write_text("".join(rows))          # the next week's grants
    assert main(run) == 0
    assert f"wrote again (the sources' pages changed) {shard}: {len(rows)} pages" in \
        capsys.readouterr().err
    assert not (tmp_path / "s" / "shard-00000-of-00001.old").exists()
    with Library(tmp_path / "lib", create=True) as lib:
        report = add_shards(lib, tmp_path / "s", load_model(str(checkpoint)))
        assert report.pages_added == len(rows)


@pytest.mark.parametrize("damage, said", [
    ("flip", "its vectors changed since they were written"),
    ("nan", "its vectors changed since they were written"),
    ("nan-unrecorded", "vectors that are not numbers"),
    ("empty", "unreadable shard"),
    ("complete-list", "COMPLETE.json is damaged"),
    ("complete-cut", "COMPLETE.json is damaged"),
    ("complete-fewer", "COMPLETE.json is damaged"),
])
def test_damaged_shards_are_refused_in_one_line(sheets, checkpoint, tmp_path, capsys, damage,
                                               said):
    """A vector changed on disk (one flipped bit put its figure first in every search), an
    empty vectors file, a COMPLETE.json of another shape: add-shards refuses in one line and
    writes nothing."""
    from core.cli import main

    shard = embed_to_shards([sheets], tmp_path / "s", load_model(str(checkpoint)),
                            workers=0).path
    vectors = shard / "vectors.npy"
    if damage == "flip":
        data = bytearray(vectors.read_bytes())
        data[128 + 5 * 4 + 3] ^= 0x40
        vectors.write_bytes(bytes(data))
    elif damage.startswith("nan"):
        array = np.load(vectors)
        array[2, 5] = np.nan
        np.save(vectors, array)
        if damage == "nan-unrecorded":          # a shard of a version without the checksum
            meta = json.loads((shard / "records.json").read_text())
            del meta["vectors_sha256"]
            (shard / "records.json").write_text(json.dumps(meta))
    elif damage == "empty":
        vectors.write_bytes(b"")
    elif damage == "complete-cut":              # (was called an unfinished job)
        complete = tmp_path / "s" / COMPLETE
        complete.write_text(complete.read_text()[:15])
    elif damage == "complete-fewer":            # (its shards were merged without a word)
        complete = tmp_path / "s" / COMPLETE
        complete.write_text(json.dumps({**json.loads(complete.read_text()), "world": 2}))
    else:
        (tmp_path / "s" / COMPLETE).write_text("[1]")
    assert main(["index", "add-shards", str(tmp_path / "s"), "--library", str(tmp_path / "lib"),
                 "--model", str(checkpoint)]) == 1
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "lib").exists()


def test_cpu_encoder_is_batch_and_process_independent(sheets):
    import pickle

    from core.drawing import prepare_page
    from core.imageio import read_page

    model = create_model("tiny_test", pretrained=None)
    rows = [json.loads(r) for r in sheets.read_text().splitlines()[:6]]
    images = [im for r in rows for _, im in
              prepare_page(read_page(sheets.parent / r["image"]).array, r["page_kind"],
                           model.drawing_config)]
    enc = CpuEncoder(model)
    together = enc(images)
    assert np.array_equal(together, np.concatenate([enc([im]) for im in images]))
    assert np.array_equal(together, pickle.loads(pickle.dumps(enc))(images))
    eager = model.encode_images(model.images_to_tensor(images)).numpy()
    assert np.abs(together - eager).max() < 1e-5


def test_cpu_encoder_vectors_do_not_depend_on_the_callers_threads(sheets):
    """An in-process encoder (queries, workers=0) gives the vectors of a worker process,
    which encodes with one intra-op thread, and leaves the caller's thread count as it was."""
    import torch

    from core.drawing import prepare_page
    from core.imageio import read_page

    model = create_model("tiny_test", pretrained=None)
    row = json.loads(sheets.read_text().splitlines()[0])
    images = [im for _, im in prepare_page(read_page(sheets.parent / row["image"]).array,
                                           row["page_kind"], model.drawing_config)]
    before = torch.get_num_threads()
    try:
        got = {}
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            got[n] = CpuEncoder(model)(images)
            assert torch.get_num_threads() == n
        assert np.array_equal(got[1], got[2]) and np.array_equal(got[1], got[3])
    finally:
        torch.set_num_threads(before)


def test_shards_carry_the_figure_finder_that_cut_them(sheets, checkpoint, tmp_path):
    """Merged pages keep the finder version of the machine that cut them: shards written
    before versions were recorded count as cut by an older finder."""
    from core.drawing import FINDER_VERSION

    model = load_model(str(checkpoint))
    shard = embed_to_shards([sheets], tmp_path / "s", model, workers=0).path
    assert json.loads((shard / "records.json").read_text())["finder"] == FINDER_VERSION
    assert ShardSet(tmp_path / "s").finder == FINDER_VERSION
    with Library(tmp_path / "lib", create=True) as lib:
        add_shards(lib, tmp_path / "s", model)
        assert lib.older_finder_pages() == 0
    meta = json.loads((shard / "records.json").read_text())
    del meta["finder"]                                  # a shard of an older version
    (shard / "records.json").write_text(json.dumps(meta))
    assert ShardSet(tmp_path / "s").finder is None
    with Library(tmp_path / "old", create=True) as lib:
        report = add_shards(lib, tmp_path / "s", model)
        assert lib.older_finder_pages() == report.pages_added > 0


def test_a_page_without_a_drawing_keeps_its_reason_through_a_shard(checkpoint, tmp_path):
    """add-shards warns of a blank page with the reason `index add` gives, not "(None)"."""
    from PIL import Image

    Image.new("L", (800, 1000), 255).save(tmp_path / "blank.png")
    (tmp_path / "m.jsonl").write_text(json.dumps({"image": "blank.png", "patent_id": "D0900001",
                                                  "grant_date": "2019-01-01"}) + "\n")
    model = load_model(str(checkpoint))
    embed_to_shards([tmp_path / "m.jsonl"], tmp_path / "shards", model, workers=0)
    with Library(tmp_path / "a", create=True) as a, Library(tmp_path / "b", create=True) as b:
        via_shard = add_shards(a, tmp_path / "shards", model).warnings
        direct = ingest(b, [tmp_path / "m.jsonl"], model, workers=0).warnings
    assert via_shard == direct and "None" not in via_shard[0] and "blank" in via_shard[0]


def _ranks(world: int, *args) -> list[subprocess.CompletedProcess]:
    """``embed ARGS`` run as ``world`` ranks started by hand (as torchrun starts them)."""
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WORLD_SIZE": str(world), "LOCAL_WORLD_SIZE": str(world),
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    cmd = [sys.executable, "-m", "core.cli", "embed", *map(str, args), "--model", "tiny_test",
           "--workers", "0"]
    procs = [subprocess.Popen(cmd, cwd=REPO, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(world)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def test_a_rank_without_pages_or_figures_succeeds_and_rank_0_judges_the_job(sheets, tmp_path):
    """More ranks than pages: the rank that gets none writes an empty shard and exits 0 (it
    failed the whole torchrun job); a job that found no figure at all fails on rank 0 only."""
    from PIL import Image

    one = tmp_path / "one.jsonl"
    row = json.loads(sheets.read_text().splitlines()[0])
    one.write_text(json.dumps({**row, "image": str(sheets.parent / row["image"])}) + "\n")
    rank0, rank1 = _ranks(2, one, "--out", tmp_path / "s", "--allow-absolute")
    assert rank0.returncode == 0, rank0.stderr[-2000:]
    assert rank1.returncode == 0 and "an empty shard" in rank1.stderr, rank1.stderr[-2000:]
    assert [len(meta["pages"]) for meta, _ in ShardSet(tmp_path / "s").shards] == [1, 0]

    Image.new("L", (800, 1000), 255).save(tmp_path / "blank.png")
    blank = tmp_path / "blank.jsonl"
    blank.write_text(json.dumps({"image": "blank.png", "patent_id": "D0900001",
                                 "grant_date": "2019-01-01"}) + "\n")
    rank0, rank1 = _ranks(2, blank, "--out", tmp_path / "b")
    assert rank1.returncode == 0, rank1.stderr[-2000:]
    assert rank0.returncode == 1 and "found no figures" in rank0.stderr, rank0.stderr[-2000:]
    assert (tmp_path / "b" / COMPLETE).exists()


def test_embed_naming_a_missing_source_writes_the_others_and_exits_1(sheets, tmp_path):
    """As `index add`: a mistyped source is an error even though the others were embedded."""
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "embed", str(sheets), str(tmp_path / "missing"),
         "--out", str(tmp_path / "s"), "--model", "tiny_test", "--workers", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"no such source: {tmp_path / 'missing'}" in proc.stderr
    assert len(_by_page(tmp_path / "s")) == len(sheets.read_text().splitlines())


def test_shards_of_another_model_leave_no_new_library_and_no_progress_bar(sheets, checkpoint,
                                                                          tmp_path):
    """add-shards refused for the model makes no empty library folder (as `index add`) and
    says why before any "merging" bar."""
    embed_to_shards([sheets], tmp_path / "s", load_model(str(checkpoint)), workers=0)
    other = save_checkpoint(create_model("tiny_test", pretrained=None, seed=3),
                            tmp_path / "other")
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "index", "add-shards", str(tmp_path / "s"),
         "--library", str(tmp_path / "lib"), "--model", str(other)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "was embedded with model" in proc.stderr, proc.stderr
    assert "merging" not in proc.stderr
    assert not (tmp_path / "lib").exists()


def test_a_folder_without_shards_is_not_called_an_unfinished_job(sheets, checkpoint, tmp_path):
    with pytest.raises(ShardError, match="holds no shards of an `embed` job") as exc:
        ShardSet(sheets.parent)                     # the drawings, not the --out folder
    assert "not finished" not in str(exc.value)
    embed_to_shards([sheets], tmp_path / "s", load_model(str(checkpoint)), workers=0)
    (tmp_path / "s" / COMPLETE).unlink()            # shards, but the job did not finish
    with pytest.raises(ShardError, match="not finished"):
        ShardSet(tmp_path / "s")


def test_a_rerun_writes_a_corrected_patent_record_into_the_shard(sheets, checkpoint, tmp_path,
                                                                  capsys):
    """A grant date corrected in the source: the re-run kept the shard with the old date, so
    add-shards could not correct the library (and the patent fell out of date-cut searches).
    Now the shard's records are written again, its vectors kept as they were."""
    import shutil

    from core.cli import main

    src = tmp_path / "src"
    shutil.copytree(sheets.parent, src)
    rows = [json.loads(r) for r in (src / "manifest.jsonl").read_text().splitlines()]
    pid = rows[0]["patent_id"]
    run = ["embed", str(src / "manifest.jsonl"), "--out", str(tmp_path / "s"), "--model",
           str(checkpoint), "--workers", "0"]
    assert main(run) == 0
    shard = tmp_path / "s" / "shard-00000-of-00001"
    vectors = (shard / "vectors.npy").stat()
    model = load_model(str(checkpoint))
    with Library(tmp_path / "lib", create=True) as lib:
        add_shards(lib, tmp_path / "s", model)
    fixed = [{**r, "grant_date": "2001-02-06", "filing_date": "2000-01-04"}
             if r["patent_id"] == pid else r for r in rows]
    (src / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fixed))
    capsys.readouterr()
    assert main(run) == 0
    assert f"wrote again (the patents' records changed) {shard}" in capsys.readouterr().err
    after = (shard / "vectors.npy").stat()
    assert (after.st_ino, after.st_mtime_ns) == (vectors.st_ino, vectors.st_mtime_ns)
    assert json.loads((shard / "records.json").read_text())["patents"][pid]["grant_date"] == \
        "2001-02-06"
    with Library(tmp_path / "lib") as lib:
        report = add_shards(lib, tmp_path / "s", model)
        assert len(report.corrected) == 1 and lib.store.patent(pid)["grant_date"] == "2001-02-06"
    assert main(run) == 0
    assert "kept (its pages and patents have not changed" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["flip", "gone"])
def test_a_rerun_embeds_again_a_shard_whose_vectors_were_damaged(sheets, checkpoint, tmp_path,
                                                                damage):
    """add-shards says "run the `embed` job again" of damaged vectors: the re-run kept the
    damaged shard, and the advice went round in a loop."""
    model = load_model(str(checkpoint))
    shard = embed_to_shards([sheets], tmp_path / "s", model, workers=0).path
    good = (shard / "vectors.npy").read_bytes()
    if damage == "flip":
        data = bytearray(good)
        data[200] ^= 0x40
        (shard / "vectors.npy").write_bytes(bytes(data))
    else:
        (shard / "vectors.npy").unlink()
    again = embed_to_shards([sheets], tmp_path / "s", model, workers=0)
    assert again == RankShard(shard, kept=False, why="its vectors were damaged or missing")
    assert (shard / "vectors.npy").read_bytes() == good
    with Library(tmp_path / "lib", create=True) as lib:
        assert add_shards(lib, tmp_path / "s", model).pages_added > 0


def test_a_second_embed_job_into_a_shard_being_written_is_refused(sheets, checkpoint,
                                                                  tmp_path):
    """Two jobs of other sources into one --out at once both found no shard there, both said
    "wrote", and one's shard silently replaced the other's."""
    import fcntl

    out = tmp_path / "s"
    out.mkdir()
    with open(out / ".shard-00000-of-00001.lock", "w") as held:     # the other job
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ShardError, match="another `embed` job is writing"):
            embed_to_shards([sheets], out, load_model(str(checkpoint)), workers=0)
    assert not (out / "shard-00000-of-00001").exists()
    assert embed_to_shards([sheets], out, load_model(str(checkpoint)), workers=0).why == "new"


@pytest.mark.parametrize("records", ["[]", "{}"])
def test_a_shard_with_records_of_another_shape_is_called_damaged(sheets, checkpoint, tmp_path,
                                                                 records):
    """``[]`` was a traceback, ``{}`` "embedded with another model"."""
    model = load_model(str(checkpoint))
    shard = embed_to_shards([sheets], tmp_path / "s", model, workers=0).path
    (shard / "records.json").write_text(records)
    with pytest.raises(ShardError, match="is damaged .*delete it and run again"):
        embed_to_shards([sheets], tmp_path / "s", model, workers=0)


def test_a_rerun_after_pages_were_filed_under_another_patent_embeds_them_again(
        sheets, checkpoint, tmp_path):
    """A patent id fixed in the manifest: the records-only rewrite kept the pages under the
    old id while the patents had the new one, and add-shards failed with a KeyError."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(sheets.parent, src)
    rows = [json.loads(r) for r in (src / "manifest.jsonl").read_text().splitlines()]
    pid = rows[0]["patent_id"]
    model = load_model(str(checkpoint))
    embed_to_shards([src / "manifest.jsonl"], tmp_path / "s", model, workers=0)
    fixed = [{**r, "patent_id": "D0999999"} if r["patent_id"] == pid else r for r in rows]
    (src / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fixed))
    again = embed_to_shards([src / "manifest.jsonl"], tmp_path / "s", model, workers=0)
    assert again.why == "the sources' pages changed"
    with Library(tmp_path / "lib", create=True) as lib:
        add_shards(lib, tmp_path / "s", model)
        assert lib.store.patent(pid) is None and lib.store.patent("D0999999") is not None


def test_a_job_of_other_sources_or_another_world_size_is_refused(sheets, checkpoint, tmp_path):
    """A job with another world size writes shards of other names: it was neither locked out
    while the first job wrote, nor told the folder held another job's shards (add-shards then
    merged only the last job's)."""
    import fcntl

    model = load_model(str(checkpoint))
    out = tmp_path / "s"
    out.mkdir()
    with open(out / ".embed.lock", "w") as held:            # a job's rank 0, writing
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ShardError, match=f"another `embed` job is writing {out}"):
            embed_to_shards([sheets], out, model, workers=0)
    embed_to_shards([sheets], out, model, workers=0)
    with pytest.raises(ShardError, match="already holds shards embedded with other sources"):
        embed_to_shards([sheets.parent], out, model, workers=0)
    assert embed_to_shards([sheets], out, model, workers=0).kept


def test_a_shard_folder_whose_name_is_not_utf8_is_refused_in_one_line(sheets, checkpoint,
                                                                       tmp_path):
    model = load_model(str(checkpoint))
    bad = tmp_path / "shards\udcff"
    with pytest.raises(ShardError, match="not valid UTF-8"):
        embed_to_shards([sheets], bad, model, workers=0)
    with pytest.raises(ShardError, match="not valid UTF-8.*rename it"):
        ShardSet(bad)
