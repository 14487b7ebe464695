"""What an installed user and an unpacked sdist get: the wheel carries the package data the
commands read (model, configs, Locarno titles) and the license; the sdist carries its tests."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[set[str], set[str]]:
    """(wheel file names, sdist file names) built from the tracked files of this checkout."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc}): the tracked files are unknown")
    src, dist = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    for hook in ("build_wheel", "build_sdist"):      # (setuptools' own backend, no network)
        code = f"import sys; from setuptools import build_meta as b; b.{hook}(sys.argv[1])"
        proc = subprocess.run([sys.executable, "-c", code, str(dist)], cwd=src,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel_file,), (sdist_file,) = dist.glob("*.whl"), dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel_file) as z:
        wheel = set(z.namelist())
    with tarfile.open(sdist_file) as t:
        sdist = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    return wheel, sdist


def test_the_wheel_carries_the_configs_model_and_license(built):
    """`patent-examiner train --config default` read a config only a git checkout had: the
    built-in training configs were not in the wheel; nor was the license's text."""
    wheel, _ = built
    for name in ("training/configs/default.toml", "training/configs/gpu_full.toml",
                 "resources/locarno.json", "resources/models/default/model.json",
                 "resources/model_configs/efficientnet_lite0.json"):
        assert name in wheel, name
    assert any(n.endswith(".safetensors") and n.startswith("resources/models/default/")
               for n in wheel)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel)
    assert not any(n.startswith(("tests/", "bench/", "docs/")) for n in wheel)


def test_the_sdist_carries_what_its_tests_import(built):
    """The sdist held tests/test_*.py but not tests/conftest.py, which they import, nor the
    constraints the test command installs with."""
    _, sdist = built
    for name in ("tests/conftest.py", "constraints.txt", "LICENSE", "README.md",
                 "training/configs/default.toml", ".ci/run"):
        assert name in sdist, name
    tests = {n for n in sdist if n.startswith("tests/test_")}
    assert tests and all(n in sdist for n in
                         (f"tests/{p.name}" for p in (REPO / "tests").glob("test_*.py")))
